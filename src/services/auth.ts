/**
 * Token verification on protected routes (auth.md §1.3, in Zou's order), token issuing and the
 * auth middleware. Routes read the caller with `c.get("user")`.
 */
import { getCookie } from "hono/cookie";
import type { MiddlewareHandler } from "hono";
import type { AppContext, AppEnv, IdentityType, PersonRow } from "../context";
import { ApiError, forbidden } from "../lib/errors";
import { ACCESS_TOKEN_SECONDS, REFRESH_TOKEN_SECONDS, signToken, TokenError, verifyToken, type TokenClaims } from "../lib/jwt";
import { kvGet, kvSet } from "../lib/kv";
import { refreshChangeSignal } from "../lib/change-signal";
import { cachedSession, rememberSession, sessionGeneration } from "./session-cache";

export const ACCESS_COOKIE = "access_token_cookie";
export const REFRESH_COOKIE = "refresh_token_cookie";
const MISSING_TOKEN = 'Missing JWT in cookies or headers (Missing cookie "access_token_cookie"; Missing Authorization Header)';
const UNAUTHORIZED_MESSAGE =
  "The server could not verify that you are authorized to access the URL requested. You either supplied the wrong credentials (e.g. a bad password), or your browser doesn't understand how to supply the credentials required.";
const TWO_FA_ALLOWED = new Set(["/auth/totp", "/auth/email-otp", "/auth/fido", "/auth/recovery-codes", "/auth/login", "/auth/logout", "/auth/authenticated", "/auth/refresh-token"]);

const SIMPLE_BEARER = /^Bearer [^\s,]+$/;

/** Finds the raw token: the cookie first, then `Authorization: Bearer`. */
export function findToken(c: AppContext, kind: "access" | "refresh"): string | null {
  const headers = c.req.raw.headers;
  const cookieName = kind === "access" ? ACCESS_COOKIE : REFRESH_COOKIE;
  // The Cookie header is parsed only when it may hold the token (API clients send none).
  if (headers.get("cookie")?.includes(cookieName)) {
    const cookie = getCookie(c, cookieName);
    if (cookie) return cookie;
  }
  const header = headers.get("authorization");
  if (!header) return null;
  // The usual `Bearer <token>`: the same token the general parsing below finds.
  if (SIMPLE_BEARER.test(header)) return header.slice(7);
  const bearer = header.split(",").map((part) => part.trim()).filter((part) => part.split(/\s+/)[0] === "Bearer");
  if (bearer.length === 0) return null;
  const parts = bearer[0]!.split(/\s+/);
  if (parts.length !== 2) throw new ApiError(422, { msg: "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'" });
  return parts[1]!;
}

export async function isTokenRevoked(c: AppContext, claims: TokenClaims): Promise<boolean> {
  if (!claims.jti) return true;
  if (claims.identity_type === "person") return (await kvGet(c.get("db"), claims.jti)) === "true";
  if (claims.identity_type === "bot" || claims.identity_type === "person_api") {
    const row = await c.get("db").selectFrom("person").select("id").where("jti", "=", claims.jti).executeTakeFirst();
    return !row;
  }
  return true;
}

export async function revokeSession(c: AppContext, claims: TokenClaims): Promise<void> {
  const db = c.get("db");
  if (claims.jti) await kvSet(db, claims.jti, "true", ACCESS_TOKEN_SECONDS);
  if (claims.refresh_jti) await kvSet(db, claims.refresh_jti, "true", REFRESH_TOKEN_SECONDS);
}

/**
 * Verifies the request's token of `kind` and loads the caller into the context.
 * Throws the same statuses and bodies as Zou (401/422/403).
 */
export async function authenticate(c: AppContext, kind: "access" | "refresh" = "access"): Promise<PersonRow> {
  const token = findToken(c, kind);
  if (!token) throw new ApiError(401, { msg: MISSING_TOKEN });
  const refreshing = refreshChangeSignal(c.get("db")); // PostgreSQL: other instances' commits
  if (refreshing) await refreshing;
  const cached = kind === "access" ? cachedSession(c.get("db"), token) : null;
  if (cached) return acceptSession(c, cached.claims, cached.user);
  const generation = sessionGeneration(c.get("db"));
  let claims: TokenClaims;
  try {
    claims = await verifyToken(c.get("config").secretKey, token);
  } catch (error) {
    if (error instanceof TokenError) {
      if (error.expired) throw new ApiError(401, { error: true, message: "Signature has expired" });
      throw new ApiError(error.status, { msg: error.message });
    }
    throw error;
  }
  if (kind === "access" && claims.type === "refresh") throw new ApiError(422, { msg: "Only non-refresh tokens are allowed" });
  if (kind === "refresh" && claims.type !== "refresh") throw new ApiError(422, { msg: "Only refresh tokens are allowed" });
  if (await isTokenRevoked(c, claims)) throw new ApiError(401, { msg: "Token has been revoked" });
  const user = await c.get("db").selectFrom("person").selectAll().where("id", "=", String(claims.sub)).executeTakeFirst();
  if (!user) {
    // flask-jwt-extended's own user-loader error on the logout route, Zou's generic 401 elsewhere.
    if (c.req.path === "/auth/logout") throw new ApiError(401, { msg: `Error loading the user ${String(claims.sub)}` });
    throw new ApiError(401, { error: true, message: UNAUTHORIZED_MESSAGE });
  }
  if (!user.active) {
    if (claims.identity_type === "person") await revokeSession(c, claims);
    throw new ApiError(401, { error: true, message: UNAUTHORIZED_MESSAGE });
  }
  if (kind === "access") rememberSession(c.get("db"), token, claims, user, generation);
  return acceptSession(c, claims, user);
}

/** Last step of `authenticate` (also for cached sessions): the 2FA gate, then the caller in the context. */
function acceptSession(c: AppContext, claims: TokenClaims, user: PersonRow): PersonRow {
  if (claims.requires_2fa_setup && !TWO_FA_ALLOWED.has(c.req.path)) {
    throw new ApiError(403, {
      error: true,
      two_factor_authentication_required: true,
      message: "Two-factor authentication setup is required. Please configure 2FA before accessing the API.",
    });
  }
  c.set("user", user);
  c.set("identityType", (claims.identity_type ?? "person") as IdentityType);
  c.set("claims", claims);
  return user;
}

/** Paths served without a token (normalised: no /api prefix, no trailing slash). */
const PUBLIC_PATHS = new Set(["/", "/config", "/status", "/status/influx", "/status/resources", "/status.txt", "/status/test-event", "/auth/login", "/auth/reset-password", "/auth/refresh-token", "/auth/email-otp", "/auth/fido", "/auth/saml/login", "/auth/saml/sso", "/auth/oidc/login", "/auth/oidc/callback", "/openapi.json", "/openapi-raw.json", "/apidocs", "/admin/config/check"]);
const PUBLIC_PREFIXES = ["/shared/", "/socket.io", "/apidocs/"];

export function isPublicPath(path: string): boolean {
  if (PUBLIC_PATHS.has(path)) return true;
  for (const prefix of PUBLIC_PREFIXES) if (path.startsWith(prefix)) return true;
  return false;
}

/**
 * Authenticates every request except public paths (some of which authenticate themselves) and
 * OPTIONS (answered without a token, as CORS preflights carry none). `isServedPath` lets a request
 * for a path no route serves fall through to the 404, with or without a token, as Zou answers.
 */
export function authMiddleware(isServedPath: (path: string) => boolean): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set("projectRoles", new Map());
    if (c.req.method !== "OPTIONS" && !isPublicPath(c.req.path)) {
      try {
        await authenticate(c);
      } catch (error) {
        if (!isServedPath(c.req.path)) return next();
        throw error;
      }
    }
    await next();
  };
}

/** `require_person`: bots get 403 (auth.md §1.3 step 7). */
export function requirePerson(c: AppContext): void {
  if (c.get("identityType") === "bot") throw forbidden();
}

/** The logged person of a request: authenticates when the path is public (2FA routes share paths with public GETs). */
export async function currentPerson(c: AppContext): Promise<PersonRow> {
  if (!c.get("user")) await authenticate(c);
  requirePerson(c);
  // Fresh row: the middleware's copy may predate an earlier write of this request.
  return (await c.get("db").selectFrom("person").selectAll().where("id", "=", c.get("user").id).executeTakeFirstOrThrow()) as PersonRow;
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
}

/** Issues an interactive session's tokens: the refresh token first, then the access token pointing at it. */
export async function issueTokenPair(c: AppContext, personId: string, extra: Record<string, unknown> = {}): Promise<TokenPair> {
  const secret = c.get("config").secretKey;
  const refresh = await signToken(secret, personId, { type: "refresh", identityType: "person", lifetime: REFRESH_TOKEN_SECONDS, extra });
  const access = await signToken(secret, personId, {
    type: "access",
    identityType: "person",
    lifetime: ACCESS_TOKEN_SECONDS,
    extra: { ...extra, refresh_jti: refresh.jti },
  });
  return { access_token: access.token, refresh_token: refresh.token };
}

/**
 * Issues an API token (bot, or person_api for a human) that lives until the end of `expirationDate`
 * (or forever); returns the token and its jti, which the caller stores in person.jti.
 */
export async function issueApiToken(
  secret: string,
  person: { id: string; is_bot: unknown },
  expirationDate: string | null,
): Promise<{ token: string; jti: string }> {
  const identityType = person.is_bot ? "bot" : "person_api";
  const expiresAt = expirationDate ? Math.floor(Date.parse(`${expirationDate.slice(0, 10)}T23:59:59.999Z`) / 1000) : undefined;
  return signToken(secret, person.id, { type: "access", identityType, expiresAt });
}
