/**
 * Issue 16 item 4: login rate limit per client address (socket peer, X-Forwarded-For only from
 * TRUSTED_PROXIES), security headers and HSTS, passwords read from standard input by the CLI, and
 * the start-up warning on a short SECRET_KEY.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { makeServer, type TestServer } from "./helpers";

/** Bun's server as Hono's env: `requestIP` answers the given socket address. */
const peer = (address: string) => ({ requestIP: () => ({ address, family: "IPv4", port: 1234 }) });

function login(s: TestServer, address: string, password: string, headers: Record<string, string> = {}) {
  return s.app.request(
    "/api/auth/login",
    { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify({ email: "nobody@example.com", password }) },
    peer(address),
  );
}

describe("login rate limit per client address", async () => {
  const s = await makeServer({ loginRateLimit: 3, loginRateWindow: 60, trustedProxies: "10.0.0.0/8" });

  test("the attempt over the limit gets a 429 with Retry-After; another address is not affected", async () => {
    for (let i = 0; i < 3; i += 1) expect((await login(s, "192.0.2.1", "wrong")).status).toBe(400);
    const refused = await login(s, "192.0.2.1", "wrong");
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const body = (await refused.json()) as any;
    expect(body.error).toBe(true);
    expect(body.message).toContain("Too many login attempts");
    expect(refused.headers.get("x-content-type-options")).toBe("nosniff");
    expect((await login(s, "192.0.2.2", "wrong")).status).toBe(400);
  });

  test("X-Forwarded-For is ignored from an untrusted peer, used from a trusted proxy", async () => {
    for (let i = 0; i < 3; i += 1) await login(s, "192.0.2.3", "wrong", { "X-Forwarded-For": `198.51.100.${i}` });
    expect((await login(s, "192.0.2.3", "wrong", { "X-Forwarded-For": "198.51.100.99" })).status).toBe(429);
    // Behind the proxy 10.1.2.3 the client is the forwarded address, whatever it prepends itself.
    for (let i = 0; i < 3; i += 1) expect((await login(s, "10.1.2.3", "wrong", { "X-Forwarded-For": "203.0.113.7" })).status).toBe(400);
    expect((await login(s, "10.1.2.3", "wrong", { "X-Forwarded-For": "1.1.1.1, 203.0.113.7" })).status).toBe(429);
    expect((await login(s, "10.1.2.3", "wrong", { "X-Forwarded-For": "203.0.113.8" })).status).toBe(400);
  });

  test("successful logins do not use up the allowance", async () => {
    const admin = () =>
      s.app.request(
        "/api/auth/login",
        { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email: s.admin.email, password: s.admin.password }) },
        peer("192.0.2.50"),
      );
    for (let i = 0; i < 5; i += 1) expect((await admin()).status).toBe(200);
  });

  test("LOGIN_RATE_LIMIT=0 turns it off", async () => {
    const open = await makeServer({ loginRateLimit: 0 });
    for (let i = 0; i < 25; i += 1) expect((await login(open, "192.0.2.9", "wrong")).status).not.toBe(429);
  });
});

describe("security headers", async () => {
  const s = await makeServer({ domainProtocol: "https", trustedProxies: "127.0.0.1" });
  const get = (url: string, address: string, headers: Record<string, string> = {}) => s.app.request(url, { headers }, peer(address));

  test("every answer has nosniff and a referrer policy", async () => {
    for (const response of [await get("http://h/api", "192.0.2.1"), await get("http://h/api/data/persons", "192.0.2.1"), await get("http://h/api/nothing-here", "192.0.2.1")]) {
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("referrer-policy")).toBe("strict-origin-when-cross-origin");
    }
  });

  test("HSTS only over https: TLS, or a trusted proxy's X-Forwarded-Proto", async () => {
    expect((await get("http://h/api", "192.0.2.1")).headers.get("strict-transport-security")).toBeNull();
    expect((await get("http://h/api", "192.0.2.1", { "X-Forwarded-Proto": "https" })).headers.get("strict-transport-security")).toBeNull();
    expect((await get("http://h/api", "127.0.0.1", { "X-Forwarded-Proto": "https" })).headers.get("strict-transport-security")).toBe("max-age=31536000");
    expect((await get("https://h/api", "192.0.2.1")).headers.get("strict-transport-security")).toBe("max-age=31536000");
    const plain = await makeServer({ domainProtocol: "http" });
    expect((await plain.app.request("https://h/api")).headers.get("strict-transport-security")).toBeNull();
  });
});

const root = resolve(import.meta.dir, "..");
const bun = join(root, "node_modules/.bin/bun");
const cli = join(root, "src/cli.ts");
const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

async function run(folder: string, args: string[], stdin: string | null, env: Record<string, string> = {}) {
  const proc = Bun.spawn([bun, "run", cli, ...args], {
    cwd: folder,
    env: { PATH: process.env.PATH ?? "", BCRYPT_LOG_ROUNDS: "4", ...env },
    stdin: stdin === null ? "ignore" : new TextEncoder().encode(stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = [await new Response(proc.stdout).text(), await new Response(proc.stderr).text(), await proc.exited];
  return { stdout, stderr, code };
}

describe("the command line", () => {
  test("create-admin and change-password read the password from standard input", async () => {
    const folder = mkdtempSync(join(tmpdir(), "zou-bun-stdin-"));
    folders.push(folder);
    const created = await run(folder, ["create-admin", "td@example.com", "--password", "-"], "from-stdin-1\n");
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    const changed = await run(folder, ["change-password", "td@example.com"], "from-stdin-2\n");
    expect(changed.code).toBe(0);
    expect(changed.stdout).toContain("Password of td@example.com changed");
    const empty = await run(folder, ["change-password", "td@example.com", "--password", "-"], "");
    expect(empty.code).toBe(2);
    // The password piped in is the one that logs in.
    const { openDatabase } = await import("../src/db/database");
    const { verifyPassword } = await import("../src/lib/passwords");
    const db = openDatabase(`sqlite://${join(folder, "zou.db")}`);
    const row = await db.selectFrom("person").select("password").where("email", "=", "td@example.com").executeTakeFirstOrThrow();
    expect(await verifyPassword("from-stdin-2", row.password as any)).toBe(true);
    expect(await verifyPassword("from-stdin-1", row.password as any)).toBe(false);
    await db.destroy();
  }, 30_000);

  test("serve warns at start-up when SECRET_KEY is short", async () => {
    const folder = mkdtempSync(join(tmpdir(), "zou-bun-key-"));
    folders.push(folder);
    const port = 20000 + Math.floor(Math.random() * 30000);
    const proc = Bun.spawn([bun, "run", cli, "serve", "--host", "127.0.0.1", "--port", String(port)], {
      cwd: folder,
      env: { PATH: process.env.PATH ?? "", SECRET_KEY: "short-key", ZOU_ADMIN_PASSWORD: "admin-password" },
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      for (let i = 0; ; i++) {
        if (i > 600) throw new Error("the server did not start");
        if (await fetch(`http://127.0.0.1:${port}/api`).then((r) => r.ok, () => false)) break;
        await Bun.sleep(50);
      }
    } finally {
      proc.kill("SIGTERM");
    }
    const stderr = await new Response(proc.stderr).text();
    await proc.exited;
    expect(stderr).toContain("SECRET_KEY is 9 characters long");
  }, 60_000);
});

describe("login logs", async () => {
  const s = await makeServer({ trustedProxies: "10.0.0.0/8" });
  test("X-Real-IP is believed from a trusted proxy only", async () => {
    const body = JSON.stringify({ email: s.admin.email, password: s.admin.password });
    const headers = { "Content-Type": "application/json", "X-Real-IP": "6.6.6.6" };
    expect((await s.app.request("/api/auth/login", { method: "POST", headers, body }, peer("192.0.2.7"))).status).toBe(200);
    expect((await s.app.request("/api/auth/login", { method: "POST", headers, body }, peer("10.0.0.2"))).status).toBe(200);
    const logs = await s.db.selectFrom("login_log").select("ip_address").orderBy("created_at").execute();
    expect(logs.map((log) => log.ip_address).sort()).toEqual(["192.0.2.7", "6.6.6.6"]);
  });
});
