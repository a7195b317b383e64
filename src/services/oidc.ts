/**
 * OpenID Connect single sign-on (auth.md §2.8) with openid-client: authorization code flow with
 * PKCE, state and nonce. The pending login (code verifier and nonce) is kept server side in the kv
 * store under `oidc-state-<state>` for ten minutes and is single use. The person is matched by
 * e-mail (OIDC_EMAIL_CLAIM) or created with the given/family name claims (the userinfo endpoint
 * fills in what the ID token lacks).
 */
import { randomBytes } from "node:crypto";
import type * as OpenIdClient from "openid-client";
import type { AppContext } from "../context";
import type { Config, OidcConfig } from "../config";
import type { Db } from "../db/database";
import { transact } from "../db/transaction";
import { ApiError } from "../lib/errors";
import { newId, utcNow } from "../lib/ids";
import { kvDelete, kvGet, kvSet } from "../lib/kv";
import { hashPassword } from "../lib/passwords";

type Row = Record<string, any>;

const STATE_SECONDS = 10 * 60;

function fail(status: 400 | 502, message: string): ApiError {
  return new ApiError(status, { error: true, message });
}

/** The OIDC settings, or Zou's 400 when single sign-on is off. */
export function requireOidc(config: Config): OidcConfig {
  if (!config.oidc) throw new ApiError(400, { error: "OIDC is not enabled." });
  return config.oidc;
}

export function oidcRedirectUri(config: Config): string {
  return `${config.domainProtocol}://${config.domainName}/api/auth/oidc/callback`;
}

/** openid-client, loaded on first use (single sign-on is rare; the module weighs on the start-up). */
let openIdClient: Promise<typeof OpenIdClient> | undefined;
const loadClient = (): Promise<typeof OpenIdClient> => (openIdClient ??= import("openid-client"));

const discovered = new Map<string, OpenIdClient.Configuration>();

/** The provider's configuration (discovered once per issuer, client id and secret). */
async function providerConfiguration(oidc: OidcConfig): Promise<OpenIdClient.Configuration> {
  const client = await loadClient();
  const cacheKey = `${oidc.discoveryUrl}\n${oidc.clientId}\n${oidc.clientSecret}`;
  const cached = discovered.get(cacheKey);
  if (cached) return cached;
  let issuer: URL;
  try {
    issuer = new URL(oidc.discoveryUrl.replace(/\/\.well-known\/openid-configuration\/?$/, ""));
  } catch {
    throw fail(502, "OIDC_DISCOVERY_URL is not a valid URL.");
  }
  try {
    const insecure = issuer.protocol === "http:";
    const configuration = await client.discovery(issuer, oidc.clientId, oidc.clientSecret || undefined, undefined, insecure ? { execute: [client.allowInsecureRequests] } : undefined);
    discovered.set(cacheKey, configuration);
    return configuration;
  } catch {
    throw fail(502, "The OpenID Connect provider cannot be reached.");
  }
}

function stateKey(state: string): string {
  return `oidc-state-${state}`;
}

/** The provider's authorization URL for a new login; remembers its verifier and nonce. */
export async function startOidcLogin(db: Db, config: Config): Promise<string> {
  const client = await loadClient();
  const oidc = requireOidc(config);
  const configuration = await providerConfiguration(oidc);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  await kvSet(db, stateKey(state), JSON.stringify({ verifier, nonce }), STATE_SECONDS);
  const url = client.buildAuthorizationUrl(configuration, {
    redirect_uri: oidcRedirectUri(config),
    scope: oidc.scopes,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
  });
  return url.href;
}

function claimText(claims: Row, name: string): string | null {
  const value = claims[name];
  return typeof value === "string" && value.trim() !== "" ? value.trim() : null;
}

/**
 * Exchanges the callback's code and returns the person it names (matched by e-mail, or created).
 * 400 for an unknown state, a failed exchange, a missing or unverified e-mail.
 */
export async function finishOidcLogin(c: AppContext, query: URLSearchParams): Promise<Row> {
  const client = await loadClient();
  const config = c.get("config");
  const oidc = requireOidc(config);
  const db = c.get("db");
  const state = query.get("state");
  const pending = state ? await kvGet(db, stateKey(state)) : null;
  if (!state || pending === null) throw fail(400, "Unknown or expired OIDC login state.");
  await kvDelete(db, stateKey(state));
  const { verifier, nonce } = JSON.parse(pending) as { verifier: string; nonce: string };
  const configuration = await providerConfiguration(oidc);

  let claims: Row;
  try {
    const callbackUrl = new URL(oidcRedirectUri(config));
    callbackUrl.search = query.toString();
    const tokens = await client.authorizationCodeGrant(configuration, callbackUrl, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    claims = { ...(tokens.claims() ?? {}) };
    const wanted = [oidc.emailClaim, oidc.givenNameClaim, oidc.familyNameClaim];
    if (wanted.some((name) => claimText(claims, name) === null) && configuration.serverMetadata().userinfo_endpoint) {
      const info = await client.fetchUserInfo(configuration, tokens.access_token, String(claims.sub));
      claims = { ...info, ...claims };
      for (const name of wanted) if (claimText(claims, name) === null && typeof info[name] === "string") claims[name] = info[name];
      if (claims.email_verified === undefined && info.email_verified !== undefined) claims.email_verified = info.email_verified;
    }
  } catch {
    throw fail(400, "OIDC login failed.");
  }

  const email = claimText(claims, oidc.emailClaim)?.toLowerCase();
  if (!email) throw fail(400, "The OIDC provider did not give an email address.");
  if (oidc.requireEmailVerified && claims.email_verified !== true) throw fail(400, "The OIDC provider did not verify this email address.");

  const existing = await db.selectFrom("person").selectAll().where("email", "=", email).where("is_bot", "=", false).executeTakeFirst();
  if (existing) return existing as Row;
  const now = utcNow();
  const id = newId();
  const password = await hashPassword(randomBytes(24).toString("base64url"), config.bcryptCost);
  await transact(c, async (tx) => {
    await tx
      .insertInto("person")
      .values({
        id, created_at: now, updated_at: now, email, password, role: "user", active: true,
        first_name: claimText(claims, oidc.givenNameClaim) ?? email.split("@")[0]!,
        last_name: claimText(claims, oidc.familyNameClaim) ?? "",
        phone: "", desktop_login: "", locale: config.defaultLocale, timezone: config.defaultTimezone,
      } as any)
      .execute();
  });
  return (await db.selectFrom("person").selectAll().where("id", "=", id).executeTakeFirstOrThrow()) as Row;
}
