import { describe, expect, test, beforeAll } from "bun:test";
import { makeServer, type TestServer, type Person } from "./helpers";
import { outbox } from "../src/lib/mail";
import { signToken } from "../src/lib/jwt";
import { hotp, totp, base32Encode, verifyTotp } from "../src/services/two-factor";
import { isBrowser } from "../src/services/login";
import { newId, utcNow } from "../src/lib/ids";

const BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
const UNKNOWN_BODY = { login: false };

let server: TestServer;
beforeAll(async () => {
  server = await makeServer();
});

async function login(s: TestServer, email: string, password: string | undefined, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const body: Record<string, unknown> = { email, ...extra };
  if (password !== undefined) body.password = password;
  return s.json("POST", "/api/auth/login", { token: null, body, headers });
}

async function loginOk(s: TestServer, person: Person) {
  const answer = await login(s, person.email, person.password);
  expect(answer.status).toBe(200);
  return answer.body as { access_token: string; refresh_token: string; user: any; organisation: any };
}

function cookieHeader(response: Response): string {
  return response.headers
    .getSetCookie()
    .map((cookie) => cookie.split(";")[0]!)
    .filter((pair) => !pair.endsWith("="))
    .join("; ");
}

describe("POST /auth/login", () => {
  test("vector 1: correct credentials give tokens usable on /auth/authenticated", async () => {
    const artist = await server.person("user");
    const { status, body } = await login(server, artist.email, artist.password);
    expect(status).toBe(200);
    expect(body.login).toBe(true);
    expect(typeof body.access_token).toBe("string");
    expect(typeof body.refresh_token).toBe("string");
    expect(body.user.id).toBe(artist.id);
    expect(body.user.type).toBe("Person");
    expect(body.user.password).toBeUndefined();
    expect(body.user.jti).toBeUndefined();
    expect(body.user.login_failed_attemps).toBeUndefined();
    expect(body.user.totp_secret).toBeUndefined();
    expect(body).not.toHaveProperty("ldap");
    expect(body.organisation.name).toBe("Kitsu");
    expect(body.organisation.type).toBe("Organisation");
    expect(body.organisation.chat_token_slack).toBeUndefined();

    const check = await server.json("GET", "/api/auth/authenticated", { token: body.access_token });
    expect(check.status).toBe(200);
    expect(check.body.authenticated).toBe(true);
    expect(check.body.user.id).toBe(artist.id);
    expect(check.body.user.fido_devices).toEqual([]);
    expect(check.body.user.departments).toEqual([]);
    expect(check.body.organisation.name).toBe("Kitsu");
  });

  test("admins get the organisation chat tokens", async () => {
    const { body } = await login(server, server.admin.email, server.admin.password);
    expect(body.organisation).toHaveProperty("chat_token_slack");
    expect(body.organisation).toHaveProperty("chat_webhook_mattermost");
    expect(body.organisation).toHaveProperty("chat_token_discord");
  });

  test("vector 2: user.departments holds the person's departments", async () => {
    const artist = await server.person("user");
    const department = await server.db.selectFrom("department").select("id").executeTakeFirstOrThrow();
    await server.db.insertInto("department_link").values({ person_id: artist.id, department_id: department.id }).execute();
    const body = await loginOk(server, artist);
    expect(body.user.departments).toEqual([department.id]);
  });

  test("vector 3: credentials in the query string", async () => {
    const artist = await server.person("user");
    const path = `/api/auth/login?email=${encodeURIComponent(artist.email)}&password=${artist.password}`;
    const { status, body } = await server.json("POST", path, { token: null });
    expect(status).toBe(200);
    expect(body.login).toBe(true);
  });

  test("form-encoded credentials", async () => {
    const artist = await server.person("user");
    const form = new URLSearchParams({ email: artist.email, password: artist.password }).toString();
    const { status } = await server.json("POST", "/api/auth/login", {
      token: null,
      body: form,
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    expect(status).toBe(200);
  });

  test("e-mail matching is case-insensitive", async () => {
    const artist = await server.person("user");
    expect((await login(server, artist.email.toUpperCase(), artist.password)).status).toBe(200);
  });

  test("vector 4: inactive user is 401 unactive; with a wrong password, the unknown-user body", async () => {
    const inactive = await server.person("user", { active: false });
    const right = await login(server, inactive.email, inactive.password);
    expect(right.status).toBe(401);
    expect(right.body).toEqual({ error: true, login: false, unactive: true, message: "User is unactive, he cannot log in." });
    const wrong = await login(server, inactive.email, "not-the-password");
    const unknown = await login(server, "nobody@example.com", "whatever");
    expect(wrong.status).toBe(400);
    expect(unknown.status).toBe(400);
    expect(wrong.body).toEqual(UNKNOWN_BODY);
    expect(unknown.body).toEqual(UNKNOWN_BODY);
  });

  test("vector 5: desktop_login in the email field", async () => {
    const artist = await server.person("user", { desktop_login: "jdoe" });
    const { status, body } = await login(server, "jdoe", artist.password);
    expect(status).toBe(200);
    expect(body.user.id).toBe(artist.id);
  });

  test("bots cannot log in with a password", async () => {
    const bot = await server.person("user", { is_bot: true, email: "bot-login@example.com" });
    expect((await login(server, bot.email, bot.password)).body).toEqual(UNKNOWN_BODY);
  });

  test("vector 6: empty body is a validation 400; Bearer None is a 422", async () => {
    const empty = await server.json("POST", "/api/auth/login", { token: null, body: {} });
    expect(empty.status).toBe(400);
    expect(empty.body.message).toBe("Validation error.");
    expect(empty.body.data.errors[0].field).toBe("email");
    const noBody = await server.json("POST", "/api/auth/login", { token: null });
    expect(noBody.status).toBe(400);
    const none = await server.json("GET", "/api/auth/authenticated", { token: null, headers: { Authorization: "Bearer None" } });
    expect(none.status).toBe(422);
    expect(typeof none.body.msg).toBe("string");
  });

  test("vector 7: lockout after 5 failures, for one minute", async () => {
    const artist = await server.person("user");
    for (let i = 0; i < 5; i += 1) {
      const wrong = await login(server, artist.email, "wrong-password");
      expect(wrong.status).toBe(400);
      expect(wrong.body).toEqual(UNKNOWN_BODY);
    }
    const locked = await login(server, artist.email, artist.password);
    expect(locked.status).toBe(400);
    expect(locked.body).toEqual({ error: true, login: false, too_many_failed_login_attemps: true });
    const row = await server.db.selectFrom("person").select(["login_failed_attemps", "last_login_failed"]).where("id", "=", artist.id).executeTakeFirstOrThrow();
    expect(row.login_failed_attemps).toBe(5);

    // The window elapses: one wrong password does not re-lock, the right one logs in.
    const past = new Date(Date.now() - 120_000).toISOString().slice(0, 19);
    await server.db.updateTable("person").set({ last_login_failed: past }).where("id", "=", artist.id).execute();
    expect((await login(server, artist.email, "wrong-password")).body).toEqual(UNKNOWN_BODY);
    expect((await login(server, artist.email, artist.password)).status).toBe(200);
    const reset = await server.db.selectFrom("person").select("login_failed_attemps").where("id", "=", artist.id).executeTakeFirstOrThrow();
    expect(reset.login_failed_attemps).toBe(0);

    // A fresh burst re-locks.
    for (let i = 0; i < 5; i += 1) await login(server, artist.email, "wrong-password");
    expect((await login(server, artist.email, artist.password)).body.too_many_failed_login_attemps).toBe(true);
  });

  test("vector 13: the password 'default' asks for a reset, which then works", async () => {
    const hash = await Bun.password.hash("default", { algorithm: "bcrypt", cost: 4 });
    const newcomer = await server.person("user", { password: hash });
    const first = await login(server, newcomer.email, "default");
    expect(first.status).toBe(400);
    expect(first.body.login).toBe(false);
    expect(first.body.default_password).toBe(true);
    expect(first.body.token).toMatch(/^[A-Z0-9]{64}$/);
    // An absent password means "default".
    const absent = await login(server, newcomer.email, undefined);
    expect(absent.body.default_password).toBe(true);
    const reset = await server.json("PUT", "/api/auth/reset-password", {
      token: null,
      body: { email: newcomer.email, token: absent.body.token, password: "brand-new-pass", password2: "brand-new-pass" },
    });
    expect(reset.status).toBe(200);
    expect(reset.body).toEqual({ success: true });
    expect((await login(server, newcomer.email, "brand-new-pass")).status).toBe(200);
  });

  test("a login log row records origin and address", async () => {
    const artist = await server.person("user");
    await login(server, artist.email, artist.password, {}, { "X-Real-IP": "10.1.2.3" });
    await login(server, artist.email, artist.password, {}, { "User-Agent": BROWSER_UA });
    const logs = await server.db.selectFrom("login_log").selectAll().where("person_id", "=", artist.id).orderBy("origin").execute();
    expect(logs.map((log) => log.origin)).toEqual(["script", "web"]);
    expect(logs.find((log) => log.origin === "script")!.ip_address).toBe("10.1.2.3");
  });
});

describe("login failures of the server", () => {
  test("an unreachable database is Zou's 500 login body", async () => {
    const broken = await makeServer();
    await broken.db.destroy();
    const { status, body } = await login(broken, "someone@example.com", "whatever");
    expect(status).toBe(500);
    expect(body).toEqual({ error: true, login: false, message: "Database doesn't seem reachable." });
  });
});

describe("cookies (vector 10)", () => {
  test("browsers get cookies and can call the API with them alone", async () => {
    const artist = await server.person("user");
    const response = await server.request("POST", "/api/auth/login", {
      token: null,
      body: { email: artist.email, password: artist.password },
      headers: { "User-Agent": BROWSER_UA },
    });
    expect(response.status).toBe(200);
    const cookies = response.headers.getSetCookie();
    const access = cookies.find((cookie) => cookie.startsWith("access_token_cookie="))!;
    const refresh = cookies.find((cookie) => cookie.startsWith("refresh_token_cookie="))!;
    expect(access).toContain("Path=/;");
    expect(access).toContain("HttpOnly");
    expect(access).toContain("SameSite=Lax");
    expect(access).toContain("Max-Age=31540000");
    expect(access).not.toContain("Secure");
    expect(refresh).toContain("Path=/api/auth/refresh-token");

    const withCookie = await server.json("GET", "/api/data/persons", { token: null, headers: { Cookie: cookieHeader(response) } });
    expect(withCookie.status).toBe(200);
    expect(Array.isArray(withCookie.body)).toBe(true);
    const without = await server.json("GET", "/api/data/persons", { token: null });
    expect(without.status).toBe(401);
  });

  test("scripts get no cookies; bare paths get a bare refresh cookie path", async () => {
    const artist = await server.person("user");
    const script = await server.request("POST", "/api/auth/login", { token: null, body: { email: artist.email, password: artist.password } });
    expect(script.headers.getSetCookie()).toEqual([]);
    const bare = await server.request("POST", "/auth/login", {
      token: null,
      body: { email: artist.email, password: artist.password },
      headers: { "User-Agent": BROWSER_UA },
    });
    expect(bare.headers.getSetCookie().find((c) => c.startsWith("refresh_token_cookie="))).toContain("Path=/auth/refresh-token;");
  });

  test("browser refresh uses the refresh cookie and answers {refresh: true}", async () => {
    const artist = await server.person("user");
    const response = await server.request("POST", "/api/auth/login", {
      token: null,
      body: { email: artist.email, password: artist.password },
      headers: { "User-Agent": BROWSER_UA },
    });
    const refreshed = await server.request("GET", "/api/auth/refresh-token", {
      token: null,
      headers: { "User-Agent": BROWSER_UA, Cookie: cookieHeader(response) },
    });
    expect(refreshed.status).toBe(200);
    expect(await refreshed.json()).toEqual({ refresh: true });
    expect(refreshed.headers.getSetCookie().some((cookie) => cookie.startsWith("access_token_cookie=ey"))).toBe(true);
  });

  test("browser logout clears both cookies", async () => {
    const artist = await server.person("user");
    const response = await server.request("POST", "/api/auth/login", {
      token: null,
      body: { email: artist.email, password: artist.password },
      headers: { "User-Agent": BROWSER_UA },
    });
    const cookie = cookieHeader(response);
    const out = await server.request("GET", "/api/auth/logout", { token: null, headers: { "User-Agent": BROWSER_UA, Cookie: cookie } });
    expect(out.status).toBe(200);
    const cleared = out.headers.getSetCookie();
    expect(cleared.some((c) => c.startsWith("access_token_cookie=;") && c.includes("Expires=Thu, 01 Jan 1970"))).toBe(true);
    expect(cleared.some((c) => c.startsWith("refresh_token_cookie=;") && c.includes("Path=/api/auth/refresh-token"))).toBe(true);
    expect((await server.json("GET", "/api/data/persons", { token: null, headers: { Cookie: cookie } })).status).toBe(401);
  });

  test("user agents", () => {
    expect(isBrowser(BROWSER_UA)).toBe(true);
    expect(isBrowser("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15")).toBe(true);
    expect(isBrowser("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")).toBe(true);
    expect(isBrowser("python-requests/2.31.0")).toBe(false);
    expect(isBrowser("curl/8.5.0")).toBe(false);
    expect(isBrowser("Kitsu publisher 0.5.0")).toBe(false);
    expect(isBrowser("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) kitsu-publisher/0.5 Chrome/120 Electron/28.0 Safari/537.36")).toBe(false);
    expect(isBrowser(undefined)).toBe(false);
  });
});

describe("logout and refresh", () => {
  test("vector 8: logout revokes the access token and the session's refresh token", async () => {
    const artist = await server.person("user");
    const session = await loginOk(server, artist);
    const out = await server.json("GET", "/api/auth/logout", { token: session.access_token });
    expect(out.status).toBe(200);
    expect(out.body).toEqual({ logout: true });
    const after = await server.json("GET", "/api/auth/authenticated", { token: session.access_token });
    expect(after.status).toBe(401);
    expect(after.body).toEqual({ msg: "Token has been revoked" });
    const refresh = await server.json("GET", "/api/auth/refresh-token", { token: session.refresh_token });
    expect(refresh.status).toBe(401);
  });

  test("vector 8: logging out a refreshed access token revokes the original refresh token", async () => {
    const artist = await server.person("user");
    const session = await loginOk(server, artist);
    const refreshed = await server.json("GET", "/api/auth/refresh-token", { token: session.refresh_token });
    expect(refreshed.status).toBe(200);
    expect((await server.json("GET", "/api/auth/logout", { token: refreshed.body.access_token })).status).toBe(200);
    expect((await server.json("GET", "/api/auth/refresh-token", { token: session.refresh_token })).status).toBe(401);
  });

  test("other sessions of the same user survive a logout", async () => {
    const artist = await server.person("user");
    const one = await loginOk(server, artist);
    const two = await loginOk(server, artist);
    await server.json("GET", "/api/auth/logout", { token: one.access_token });
    expect((await server.json("GET", "/api/auth/authenticated", { token: two.access_token })).status).toBe(200);
  });

  test("vector 9: refresh gives an access token usable on /auth/authenticated", async () => {
    const artist = await server.person("user");
    const session = await loginOk(server, artist);
    const refreshed = await server.json("GET", "/api/auth/refresh-token", { token: session.refresh_token });
    expect(refreshed.status).toBe(200);
    expect(Object.keys(refreshed.body)).toEqual(["access_token"]);
    const check = await server.json("GET", "/api/auth/authenticated", { token: refreshed.body.access_token });
    expect(check.status).toBe(200);
    expect(check.body.user.id).toBe(artist.id);
  });

  test("token type checks: refresh token on an access route, access token on the refresh route", async () => {
    const artist = await server.person("user");
    const session = await loginOk(server, artist);
    const wrongType = await server.json("GET", "/api/data/persons", { token: session.refresh_token });
    expect(wrongType.status).toBe(422);
    expect(wrongType.body).toEqual({ msg: "Only non-refresh tokens are allowed" });
    const access = await server.json("GET", "/api/auth/refresh-token", { token: session.access_token });
    expect(access.status).toBe(422);
    expect(access.body).toEqual({ msg: "Only refresh tokens are allowed" });
    const missing = await server.json("GET", "/api/auth/refresh-token", { token: null });
    expect(missing.status).toBe(401);
  });

  test("only GET is served on /auth/refresh-token", async () => {
    const artist = await server.person("user");
    const session = await loginOk(server, artist);
    const post = await server.json("POST", "/api/auth/refresh-token", { token: session.refresh_token });
    expect(post.status).toBe(405); // werkzeug: the path exists, not for this method
  });

  test("expired token is 401 with Zou's body; deleted user on logout is the library's 401", async () => {
    const artist = await server.person("user");
    const now = Math.floor(Date.now() / 1000);
    const { token: expired } = await signToken(server.config.secretKey, artist.id, { type: "access", identityType: "person", expiresAt: now - 10 });
    const answer = await server.json("GET", "/api/auth/authenticated", { token: expired });
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({ error: true, message: "Signature has expired" });
    const ghostId = newId();
    const { token: ghost } = await signToken(server.config.secretKey, ghostId, { type: "access", identityType: "person", lifetime: 3600 });
    const out = await server.json("GET", "/api/auth/logout", { token: ghost });
    expect(out.status).toBe(401);
    expect(out.body).toEqual({ msg: `Error loading the user ${ghostId}` });
    const elsewhere = await server.json("GET", "/api/auth/authenticated", { token: ghost });
    expect(elsewhere.status).toBe(401);
    expect(elsewhere.body.error).toBe(true);
  });

  test("vector 12: deactivating a logged-in user rejects their token", async () => {
    const artist = await server.person("user");
    const session = await loginOk(server, artist);
    const update = await server.json("PUT", `/api/data/persons/${artist.id}`, { body: { active: false } });
    expect(update.status).toBe(200);
    expect(update.body.active).toBe(false);
    const after = await server.json("GET", "/api/auth/authenticated", { token: session.access_token });
    expect(after.status).toBe(401);
    expect(after.body.error).toBe(true);
  });
});

describe("bots", () => {
  test("bot tokens: /auth/authenticated yes, person-only auth routes no", async () => {
    const created = await server.json("POST", "/api/data/persons", { body: { first_name: "Render", last_name: "Bot", is_bot: true, role: "user" } });
    expect(created.status).toBe(201);
    const token = created.body.access_token as string;
    expect(typeof token).toBe("string");
    const check = await server.json("GET", "/api/auth/authenticated", { token });
    expect(check.status).toBe(200);
    expect(check.body.user.is_bot).toBe(true);
    expect((await server.json("GET", "/api/auth/logout", { token })).status).toBe(403);
    const change = await server.json("POST", "/api/auth/change-password", { token, body: { old_password: "a", password: "b", password_2: "b" } });
    expect(change.status).toBe(403);
    expect((await server.json("PUT", "/api/auth/totp", { token })).status).toBe(403);
  });
});

describe("strategies", () => {
  test("unknown AUTH_STRATEGY is a 409", async () => {
    const other = await makeServer({ authStrategy: "auth_magic" });
    const { status, body } = await login(other, other.admin.email, other.admin.password);
    expect(status).toBe(409);
    expect(body).toEqual({ login: false });
  });

  test("auth_local_no_password accepts any password and skips the default-password step", async () => {
    const other = await makeServer({ authStrategy: "auth_local_no_password" });
    expect((await login(other, other.admin.email, "anything")).status).toBe(200);
    const answer = await login(other, other.admin.email, undefined);
    expect(answer.status).toBe(200);
    expect(answer.body.login).toBe(true);
  });

  test("auth_remote_ldap without an LDAP server refuses", async () => {
    const other = await makeServer({ authStrategy: "auth_remote_ldap" });
    const { status, body } = await login(other, other.admin.email, other.admin.password);
    expect(status).toBe(400);
    expect(body).toEqual(UNKNOWN_BODY);
  });
});

describe("POST /auth/change-password", () => {
  test("errors and success", async () => {
    const artist = await server.person("user");
    const session = await loginOk(server, artist);
    const send = (body: unknown) => server.json("POST", "/api/auth/change-password", { token: session.access_token, body });

    const invalid = await send({ old_password: artist.password });
    expect(invalid.status).toBe(400);
    expect(invalid.body.message).toBe("Validation error.");

    const wrong = await send({ old_password: "nope", password: "new-password-1", password_2: "new-password-1" });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toEqual({ error: true, message: "Old password is wrong." });
    const counter = await server.db.selectFrom("person").select("login_failed_attemps").where("id", "=", artist.id).executeTakeFirstOrThrow();
    expect(counter.login_failed_attemps).toBe(1);

    const short = await send({ old_password: artist.password, password: "short", password_2: "short" });
    expect(short.body).toEqual({ error: true, message: "Password is too short." });
    const mismatch = await send({ old_password: artist.password, password: "new-password-1", password_2: "new-password-2" });
    expect(mismatch.body).toEqual({ error: true, message: "Confirmation password doesn't match." });

    const before = outbox.length;
    const ok = await send({ old_password: artist.password, password: "new-password-1", password_2: "new-password-1" });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ success: true });
    expect(outbox.slice(before).some((mail) => mail.to === artist.email)).toBe(true);
    // Sessions are not revoked; the new password logs in, the old one does not.
    expect((await server.json("GET", "/api/auth/authenticated", { token: session.access_token })).status).toBe(200);
    expect((await login(server, artist.email, "new-password-1")).status).toBe(200);
    expect((await login(server, artist.email, artist.password)).status).toBe(400);
  });

  test("lockout applies to the old password check", async () => {
    const artist = await server.person("user", { login_failed_attemps: 5, last_login_failed: utcNow() });
    const answer = await server.json("POST", "/api/auth/change-password", {
      token: artist.token,
      body: { old_password: artist.password, password: "new-password-1", password_2: "new-password-1" },
    });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: true, message: "Too many failed login attempts.", too_many_failed_login_attemps: true });
  });
});

describe("/auth/reset-password (vector 11)", () => {
  test("POST answers the same for known and unknown addresses; PUT with the mailed token sets the password", async () => {
    const artist = await server.person("user");
    const before = outbox.length;
    const known = await server.json("POST", "/api/auth/reset-password", { token: null, body: { email: artist.email } });
    const unknown = await server.json("POST", "/api/auth/reset-password", { token: null, body: { email: "ghost@example.com" } });
    expect(known.status).toBe(200);
    expect(unknown.status).toBe(200);
    expect(known.body).toEqual({ success: "Reset token sent" });
    expect(unknown.body).toEqual(known.body);
    const mails = outbox.slice(before);
    expect(mails.map((mail) => mail.to)).toEqual([artist.email]);
    const match = /token=([A-Z0-9]{64})/.exec(mails[0]!.text)!;
    expect(mails[0]!.text).toContain(`https://localhost:8080/reset-change-password?email=${encodeURIComponent(artist.email)}&token=`);

    const wrong = await server.json("PUT", "/api/auth/reset-password", {
      token: null,
      body: { email: artist.email, token: "X".repeat(64), password: "another-pass", password2: "another-pass" },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toEqual({ error: true, message: "Wrong or expired token." });
    const mismatch = await server.json("PUT", "/api/auth/reset-password", {
      token: null,
      body: { email: artist.email, token: match[1], password: "another-pass", password2: "another-pazz" },
    });
    expect(mismatch.body).toEqual({ error: true, message: "Confirmation password doesn't match." });
    const ok = await server.json("PUT", "/api/auth/reset-password", {
      token: null,
      body: { email: artist.email, token: match[1], password: "another-pass", password2: "another-pass" },
    });
    expect(ok.status).toBe(200);
    expect((await login(server, artist.email, "another-pass")).status).toBe(200);
    // The token is single use.
    const again = await server.json("PUT", "/api/auth/reset-password", {
      token: null,
      body: { email: artist.email, token: match[1], password: "third-pass-1", password2: "third-pass-1" },
    });
    expect(again.status).toBe(400);
  });

  test("inactive accounts get no mail; a missing email is a validation error", async () => {
    const inactive = await server.person("user", { active: false });
    const before = outbox.length;
    expect((await server.json("POST", "/api/auth/reset-password", { token: null, body: { email: inactive.email } })).status).toBe(200);
    expect(outbox.length).toBe(before);
    const invalid = await server.json("POST", "/api/auth/reset-password", { token: null, body: {} });
    expect(invalid.status).toBe(400);
    expect(invalid.body.message).toBe("Validation error.");
  });
});

describe("two-factor authentication", () => {
  test("HOTP/TOTP match RFC 4226 / 6238 vectors", () => {
    const secret = base32Encode(new TextEncoder().encode("12345678901234567890"));
    expect(secret).toBe("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    expect(hotp(secret, 0)).toBe("755224");
    expect(hotp(secret, 1)).toBe("287082");
    expect(hotp(secret, 9)).toBe("520489");
    expect(totp(secret, 59_000)).toBe("287082"); // RFC 6238 T=59 (8-digit 94287082)
    expect(verifyTotp(secret, "287082", 59_000 + 30_000)).toBe(true);
    expect(verifyTotp(secret, "287082", 59_000 + 90_000)).toBe(false);
  });

  test("TOTP setup, login with the code, recovery codes, disabling with a recovery code (vector 15)", async () => {
    const artist = await server.person("user");
    const session = await loginOk(server, artist);
    const token = session.access_token;

    const setup = await server.json("PUT", "/api/auth/totp", { token });
    expect(setup.status).toBe(200);
    const secret = setup.body.otp_secret as string;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(setup.body.totp_provisionning_uri).toBe(`otpauth://totp/Kitsu%20Kitsu:${artist.email}?secret=${secret}&issuer=Kitsu%20Kitsu`);

    const wrong = await server.json("POST", "/api/auth/totp", { token, body: { totp: "000000" === totp(secret) ? "111111" : "000000" } });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toEqual({ error: true, message: "TOTP verification failed.", wrong_OTP: true });

    const enabled = await server.json("POST", "/api/auth/totp", { token, body: { totp: totp(secret) } });
    expect(enabled.status).toBe(200);
    const codes = enabled.body.otp_recovery_codes as string[];
    expect(codes).toHaveLength(16);
    for (const code of codes) expect(code).toMatch(/^[A-Z0-9]{10}$/);
    expect(typeof enabled.body.access_token).toBe("string");
    expect((await server.json("PUT", "/api/auth/totp", { token })).body).toEqual({ error: true, message: "TOTP already enabled." });

    const missing = await login(server, artist.email, artist.password);
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({
      error: true,
      login: false,
      missing_OTP: true,
      preferred_two_factor_authentication: "totp",
      two_factor_authentication_enabled: ["recovery_code", "totp"],
    });
    const badCode = await login(server, artist.email, artist.password, { totp: "12345" });
    expect(badCode.body).toEqual({ error: true, login: false, wrong_OTP: true });
    expect((await login(server, artist.email, artist.password, { totp: totp(secret) })).status).toBe(200);
    expect((await login(server, artist.email, artist.password, { recovery_code: codes[0] })).status).toBe(200);
    // A recovery code is single use.
    expect((await login(server, artist.email, artist.password, { recovery_code: codes[0] })).body.wrong_OTP).toBe(true);

    const regenerated = await server.json("PUT", "/api/auth/recovery-codes", { token, body: { totp: totp(secret) } });
    expect(regenerated.status).toBe(200);
    expect(regenerated.body.otp_recovery_codes).toHaveLength(16);
    const noProof = await server.json("PUT", "/api/auth/recovery-codes", { token, body: {} });
    expect(noProof.body).toEqual({ error: true, message: "OTP verification failed.", wrong_OTP: true });

    const badDisable = await server.json("DELETE", "/api/auth/totp", { token, body: { recovery_code: codes[1] } });
    expect(badDisable.status).toBe(400);
    const disabled = await server.json("DELETE", "/api/auth/totp", { token, body: { recovery_code: regenerated.body.otp_recovery_codes[0] } });
    expect(disabled.status).toBe(200);
    expect(disabled.body).toEqual({ success: true });
    const row = await server.db.selectFrom("person").selectAll().where("id", "=", artist.id).executeTakeFirstOrThrow();
    expect(Boolean(row.totp_enabled)).toBe(false);
    expect(row.totp_secret).toBeNull();
    expect(row.preferred_two_factor_authentication).toBeNull();
    expect(row.otp_recovery_codes).toBeNull();
    expect((await login(server, artist.email, artist.password)).status).toBe(200);
    expect((await server.json("DELETE", "/api/auth/totp", { token, body: {} })).body).toEqual({ error: true, message: "TOTP not enabled." });
    expect((await server.json("PUT", "/api/auth/recovery-codes", { token, body: {} })).body).toEqual({
      error: true,
      message: "No two factor authentication enabled.",
    });
  });

  test("e-mail OTP: setup, login code by mail, disable", async () => {
    const artist = await server.person("user");
    const token = (await loginOk(server, artist)).access_token;
    const lastCode = () => {
      const mail = outbox.filter((m) => m.to === artist.email).at(-1)!;
      return /(\d{6})/.exec(mail.text)![1]!;
    };
    const noToken = await server.json("PUT", "/api/auth/email-otp", { token: null });
    expect(noToken.status).toBe(401);
    const start = await server.json("PUT", "/api/auth/email-otp", { token });
    expect(start.status).toBe(200);
    expect(start.body).toEqual({ success: true });
    const wrongCode = lastCode() === "000000" ? "111111" : "000000";
    const wrong = await server.json("POST", "/api/auth/email-otp", { token, body: { email_otp: wrongCode } });
    expect(wrong.body).toEqual({ error: true, message: "OTP by email verification failed.", wrong_OTP: true });
    const enabled = await server.json("POST", "/api/auth/email-otp", { token, body: { email_otp: lastCode() } });
    expect(enabled.status).toBe(200);
    expect(enabled.body.otp_recovery_codes).toHaveLength(16);
    expect((await server.json("PUT", "/api/auth/email-otp", { token })).body.message).toBe("OTP by email already enabled.");

    const missing = await login(server, artist.email, artist.password);
    expect(missing.body.preferred_two_factor_authentication).toBe("email_otp");
    expect(missing.body.two_factor_authentication_enabled).toEqual(["recovery_code", "email_otp"]);
    const sent = await server.json("GET", `/api/auth/email-otp?email=${encodeURIComponent(artist.email)}`, { token: null });
    expect(sent.body).toEqual({ success: true });
    const unknown = await server.json("GET", "/api/auth/email-otp?email=ghost@example.com", { token: null });
    expect(unknown.status).toBe(200);
    const code = lastCode();
    expect((await login(server, artist.email, artist.password, { email_otp: code })).status).toBe(200);
    expect((await login(server, artist.email, artist.password, { email_otp: code })).body.wrong_OTP).toBe(true);

    await server.json("GET", `/api/auth/email-otp?email=${encodeURIComponent(artist.email)}`, { token: null });
    const disabled = await server.json("DELETE", "/api/auth/email-otp", { token, body: { email_otp: lastCode() } });
    expect(disabled.status).toBe(200);
    expect((await server.json("DELETE", "/api/auth/email-otp", { token, body: {} })).body.message).toBe("OTP by email not enabled.");
  });

  test("vector 14: ENFORCE_2FA restricts sessions until 2FA is set up", async () => {
    const enforced = await makeServer({ enforce2fa: true, twoFactorExemptUsers: ["exempt@example.com"] } as any);
    const artist = await enforced.person("user");
    const session = await login(enforced, artist.email, artist.password);
    expect(session.status).toBe(200);
    expect(session.body.two_factor_authentication_required).toBe(true);
    const token = session.body.access_token as string;

    const blocked = await enforced.json("GET", "/api/data/persons", { token });
    expect(blocked.status).toBe(403);
    expect(blocked.body.two_factor_authentication_required).toBe(true);
    expect((await enforced.json("GET", "/api/auth/authenticated", { token })).status).toBe(200);
    const change = await enforced.json("POST", "/api/auth/change-password", { token, body: { old_password: "x", password: "y", password_2: "y" } });
    expect(change.status).toBe(403);
    expect((await enforced.json("GET", "/api/config", { token: null })).body.enforce_2fa).toBe(true);

    const setup = await enforced.json("PUT", "/api/auth/totp", { token });
    expect(setup.status).toBe(200);
    const registered = await enforced.json("POST", "/api/auth/totp", { token, body: { totp: totp(setup.body.otp_secret) } });
    expect(registered.status).toBe(200);
    expect((await enforced.json("GET", "/api/data/persons", { token: registered.body.access_token })).status).toBe(200);
    const refreshed = await enforced.json("GET", "/api/auth/refresh-token", { token: session.body.refresh_token });
    expect(refreshed.status).toBe(200);
    expect((await enforced.json("GET", "/api/data/persons", { token: refreshed.body.access_token })).status).toBe(200);
    expect((await enforced.json("GET", "/api/auth/logout", { token })).status).toBe(200);

    const exempt = await enforced.person("user", { email: "exempt@example.com" });
    const free = await login(enforced, exempt.email, exempt.password);
    expect(free.body.two_factor_authentication_required).toBeUndefined();
    expect((await enforced.json("GET", "/api/data/persons", { token: free.body.access_token })).status).toBe(200);
  });

  test("SAML: Zou's 400 while disabled (the enabled flow is in saml.test.ts)", async () => {
    for (const [method, path] of [["GET", "/api/auth/saml/login"], ["POST", "/api/auth/saml/sso"]] as const) {
      expect(await server.json(method, path, { token: null })).toEqual({ status: 400, body: { error: "SAML is not enabled." } });
    }
  });
});

describe("API tokens of humans (person_api)", () => {
  test("a person sets their own expiration_date and gets a token; a new one revokes the old", async () => {
    const artist = await server.person("user");
    const first = await server.json("PUT", `/api/data/persons/${artist.id}`, { token: artist.token, body: { expiration_date: null } });
    expect(first.status).toBe(200);
    const apiToken = first.body.access_token as string;
    const payload = JSON.parse(Buffer.from(apiToken.split(".")[1]!, "base64url").toString());
    expect(payload.identity_type).toBe("person_api");
    expect(payload.exp).toBeUndefined();
    expect((await server.json("GET", "/api/data/persons", { token: apiToken })).status).toBe(200);
    expect((await server.json("GET", "/api/auth/authenticated", { token: apiToken })).status).toBe(200);
    // Logout has no effect on person_api tokens.
    expect((await server.json("GET", "/api/auth/logout", { token: apiToken })).status).toBe(200);
    expect((await server.json("GET", "/api/auth/authenticated", { token: apiToken })).status).toBe(200);

    const nextYear = `${new Date().getUTCFullYear() + 1}-06-30`;
    const second = await server.json("PUT", `/api/data/persons/${artist.id}`, { token: artist.token, body: { expiration_date: nextYear } });
    const secondPayload = JSON.parse(Buffer.from(second.body.access_token.split(".")[1]!, "base64url").toString());
    expect(secondPayload.exp).toBe(Math.floor(Date.parse(`${nextYear}T23:59:59Z`) / 1000));
    expect((await server.json("GET", "/api/auth/authenticated", { token: apiToken })).status).toBe(401);
    expect((await server.json("GET", "/api/auth/authenticated", { token: second.body.access_token })).status).toBe(200);

    const past = await server.json("PUT", `/api/data/persons/${artist.id}`, { token: artist.token, body: { expiration_date: "2001-01-01" } });
    expect(past.status).toBe(200);
    expect(past.body.access_token).toBeUndefined();
  });
});
