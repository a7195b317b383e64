/**
 * OpenID Connect single sign-on (auth.md §2.8) against a small provider started on a loopback port:
 * discovery, authorization (PKCE, state, nonce), code exchange with a signed ID token, userinfo.
 */
import { describe, expect, test, beforeAll, afterAll } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { makeServer, type TestServer } from "./helpers";

const CLIENT_ID = "kitsu";
const CLIENT_SECRET = "kitsu-secret";

interface Grant { nonce: string; challenge: string; redirectUri: string; claims: Record<string, unknown> }

/** A tiny OpenID provider: the next authorization answers for `nextUser`. */
async function startProvider() {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  const grants = new Map<string, Grant>();
  const tokens = new Map<string, Record<string, unknown>>();
  const state = { nextUser: {} as Record<string, unknown>, idTokenClaims: [] as string[] | null };
  let issuer = "";
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request): Promise<Response> {
      const url = new URL(request.url);
      if (url.pathname === "/.well-known/openid-configuration") {
        return Response.json({
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          userinfo_endpoint: `${issuer}/userinfo`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ["code"],
          subject_types_supported: ["public"],
          id_token_signing_alg_values_supported: ["RS256"],
          code_challenge_methods_supported: ["S256"],
          token_endpoint_auth_methods_supported: ["client_secret_post", "client_secret_basic"],
        });
      }
      if (url.pathname === "/jwks") return Response.json({ keys: [jwk] });
      if (url.pathname === "/authorize") {
        const params = url.searchParams;
        if (params.get("client_id") !== CLIENT_ID || params.get("code_challenge_method") !== "S256") return new Response("bad request", { status: 400 });
        const code = randomBytes(12).toString("hex");
        grants.set(code, { nonce: params.get("nonce")!, challenge: params.get("code_challenge")!, redirectUri: params.get("redirect_uri")!, claims: state.nextUser });
        const target = new URL(params.get("redirect_uri")!);
        target.searchParams.set("code", code);
        target.searchParams.set("state", params.get("state")!);
        return Response.redirect(target.href, 302);
      }
      if (url.pathname === "/token" && request.method === "POST") {
        const form = new URLSearchParams(await request.text());
        const basic = request.headers.get("authorization");
        const secret = form.get("client_secret") ?? (basic ? Buffer.from(basic.slice(6), "base64").toString().split(":")[1] : null);
        const grant = grants.get(form.get("code") ?? "");
        grants.delete(form.get("code") ?? "");
        const verifier = form.get("code_verifier") ?? "";
        if (!grant || secret !== CLIENT_SECRET || form.get("redirect_uri") !== grant.redirectUri || createHash("sha256").update(verifier).digest("base64url") !== grant.challenge) {
          return Response.json({ error: "invalid_grant" }, { status: 400 });
        }
        const accessToken = randomBytes(16).toString("hex");
        tokens.set(accessToken, grant.claims);
        const inToken = Object.fromEntries(Object.entries(grant.claims).filter(([key]) => state.idTokenClaims === null || state.idTokenClaims.includes(key)));
        const idToken = await new SignJWT({ ...inToken, nonce: grant.nonce })
          .setProtectedHeader({ alg: "RS256", kid: "k1" })
          .setIssuer(issuer).setAudience(CLIENT_ID).setSubject(String(grant.claims.sub)).setIssuedAt().setExpirationTime("5m")
          .sign(privateKey);
        return Response.json({ access_token: accessToken, token_type: "Bearer", expires_in: 300, id_token: idToken });
      }
      if (url.pathname === "/userinfo") {
        const claims = tokens.get((request.headers.get("authorization") ?? "").replace(/^Bearer /, ""));
        return claims ? Response.json(claims) : new Response("", { status: 401 });
      }
      return new Response("not found", { status: 404 });
    },
  });
  issuer = `http://127.0.0.1:${server.port}`;
  return { server, state, issuer };
}

let provider: Awaited<ReturnType<typeof startProvider>>;
let server: TestServer;

beforeAll(async () => {
  provider = await startProvider();
  server = await makeServer({
    domainName: "kitsu.test",
    domainProtocol: "https",
    oidc: {
      idpName: "Studio SSO", discoveryUrl: provider.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET,
      scopes: "openid email profile", emailClaim: "email", givenNameClaim: "given_name", familyNameClaim: "family_name",
      requireEmailVerified: true, skip2fa: false,
    },
  });
});

afterAll(() => {
  provider.server.stop(true);
});

/** Runs the browser's round trip: our login redirect, the provider's authorization, our callback. */
async function ssoLogin(user: Record<string, unknown>) {
  provider.state.nextUser = user;
  const login = await server.request("GET", "/api/auth/oidc/login", { token: null });
  expect(login.status).toBe(302);
  const authorize = new URL(login.headers.get("location")!);
  expect(authorize.origin).toBe(provider.issuer);
  expect(authorize.searchParams.get("redirect_uri")).toBe("https://kitsu.test/api/auth/oidc/callback");
  const answer = await fetch(authorize, { redirect: "manual" });
  const callback = new URL(answer.headers.get("location")!);
  return server.request("GET", `${callback.pathname}${callback.search}`, { token: null });
}

function accessCookie(response: Response): string | null {
  const cookie = response.headers.getSetCookie().find((line) => line.startsWith("access_token_cookie="));
  return cookie ? cookie.split(";")[0]!.slice("access_token_cookie=".length) : null;
}

describe("OpenID Connect", () => {
  test("/config advertises the provider", async () => {
    const config = await server.json("GET", "/api/config", { token: null });
    expect(config.body.oidc_enabled).toBe(true);
    expect(config.body.oidc_idp_name).toBe("Studio SSO");
  });

  test("an existing person is matched by e-mail and logged in with cookies", async () => {
    const artist = await server.person("user", { email: "artist.sso@example.com" });
    const response = await ssoLogin({ sub: "u1", email: "Artist.SSO@example.com", email_verified: true, given_name: "Ada", family_name: "Lovelace" });
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("https://kitsu.test");
    const token = accessCookie(response);
    expect(token).not.toBeNull();
    const check = await server.json("GET", "/api/auth/authenticated", { token });
    expect(check.status).toBe(200);
    expect(check.body.user.id).toBe(artist.id);
    expect(check.body.user.first_name).toBe("user");
  });

  test("an unknown e-mail creates the person, names from the userinfo endpoint", async () => {
    provider.state.idTokenClaims = ["email", "email_verified"];
    try {
      const response = await ssoLogin({ sub: "u2", email: "new.person@example.com", email_verified: true, given_name: "Grace", family_name: "Hopper" });
      expect(response.status).toBe(302);
      const check = await server.json("GET", "/api/auth/authenticated", { token: accessCookie(response) });
      expect(check.body.user).toMatchObject({ email: "new.person@example.com", first_name: "Grace", last_name: "Hopper", role: "user", active: true });
    } finally {
      provider.state.idTokenClaims = null;
    }
  });

  test("an unverified e-mail is refused, and so is an unknown state", async () => {
    const unverified = await ssoLogin({ sub: "u3", email: "someone@example.com", email_verified: false });
    expect(unverified.status).toBe(400);
    expect(await unverified.json()).toEqual({ error: true, message: "The OIDC provider did not verify this email address." });
    expect(await server.db.selectFrom("person").select("id").where("email", "=", "someone@example.com").executeTakeFirst()).toBeUndefined();

    const unknown = await server.json("GET", "/api/auth/oidc/callback?code=abc&state=forged", { token: null });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({ error: true, message: "Unknown or expired OIDC login state." });
  });

  test("a code the provider refuses is a 400", async () => {
    provider.state.nextUser = { sub: "u4", email: "x@example.com", email_verified: true };
    const login = await server.request("GET", "/api/auth/oidc/login", { token: null });
    const state = new URL(login.headers.get("location")!).searchParams.get("state")!;
    const answer = await server.json("GET", `/api/auth/oidc/callback?code=wrong&state=${state}`, { token: null });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: true, message: "OIDC login failed." });
  });

  test("disabled OIDC answers 400", async () => {
    const plain = await makeServer();
    for (const path of ["/api/auth/oidc/login", "/api/auth/oidc/callback"]) {
      const answer = await plain.json("GET", path, { token: null });
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({ error: "OIDC is not enabled." });
    }
    expect((await plain.json("GET", "/api/config", { token: null })).body.oidc_enabled).toBe(false);
  });
});
