/** HS256 JSON Web Tokens with Zou's claims (auth.md §1), signed and verified with jose. */
import { SignJWT, jwtVerify, errors } from "jose";
import { newId } from "./ids";

export const ACCESS_TOKEN_SECONDS = 7 * 24 * 3600;
export const REFRESH_TOKEN_SECONDS = 15 * 24 * 3600;

export interface TokenClaims {
  sub: string;
  type: "access" | "refresh";
  jti: string;
  fresh: boolean;
  iat: number;
  nbf: number;
  exp?: number;
  identity_type: "person" | "bot" | "person_api";
  refresh_jti?: string;
  requires_2fa_setup?: boolean;
  [key: string]: unknown;
}

const keys = new Map<string, Uint8Array>();
function keyFor(secret: string): Uint8Array {
  let key = keys.get(secret);
  if (!key) {
    key = new TextEncoder().encode(secret);
    keys.set(secret, key);
  }
  return key;
}

export interface SignOptions {
  type: "access" | "refresh";
  identityType: TokenClaims["identity_type"];
  /** Lifetime in seconds, or an absolute expiry (epoch seconds) via `expiresAt`, or neither for no expiry. */
  lifetime?: number;
  expiresAt?: number;
  extra?: Record<string, unknown>;
}

export async function signToken(secret: string, subject: string, options: SignOptions): Promise<{ token: string; jti: string }> {
  const now = Math.floor(Date.now() / 1000);
  const jti = newId();
  const payload: Record<string, unknown> = {
    fresh: false,
    type: options.type,
    identity_type: options.identityType,
    ...options.extra,
  };
  let builder = new SignJWT(payload)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(subject)
    .setJti(jti)
    .setIssuedAt(now)
    .setNotBefore(now);
  const exp = options.expiresAt ?? (options.lifetime !== undefined ? now + options.lifetime : undefined);
  if (exp !== undefined) builder = builder.setExpirationTime(exp);
  return { token: await builder.sign(keyFor(secret)), jti };
}

export class TokenError extends Error {
  constructor(
    readonly status: 401 | 422,
    message: string,
    readonly expired = false,
  ) {
    super(message);
  }
}

/** Verifies signature and time claims; maps failures to flask-jwt-extended's status codes and messages. */
export async function verifyToken(secret: string, token: string): Promise<TokenClaims> {
  if (token.split(".").length !== 3) throw new TokenError(422, "Not enough segments");
  try {
    const { payload } = await jwtVerify(token, keyFor(secret), { algorithms: ["HS256"] });
    return payload as TokenClaims;
  } catch (error) {
    if (error instanceof errors.JWTExpired) throw new TokenError(401, "Signature has expired", true);
    if (error instanceof errors.JWSSignatureVerificationFailed) throw new TokenError(422, "Signature verification failed");
    if (error instanceof errors.JWTClaimValidationFailed) throw new TokenError(422, "The token is not yet valid (nbf)");
    throw new TokenError(422, "Invalid token");
  }
}
