/**
 * The release binary of this platform (`build.ts --all --only <platform>`, the linux-x64 build on
 * a Linux x64 machine), copied alone into an empty folder, prints its help, starts on a free
 * loopback port, creates the first admin, and serves a login plus authenticated reads and a CRUD
 * round trip (issues "Foundation" and 16 item 5).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { io } from "socket.io-client";
import { emptyPostgresDatabase, onPostgres } from "./helpers";

const root = resolve(import.meta.dir, "..");
const bun = join(root, "node_modules/.bin/bun");
let folder = "";
let binary = "";
let server: ReturnType<typeof Bun.spawn> | null = null;

/** The release build that runs on this machine (build.ts RELEASE_TARGETS), if there is one. */
function hostRelease(): string | undefined {
  if (process.platform === "linux" && process.arch === "x64") {
    // The modern build needs AVX2 (Haswell, 2013, and later); older CPUs run the baseline one.
    const cpu = (() => {
      try {
        return readFileSync("/proc/cpuinfo", "utf8");
      } catch {
        return "";
      }
    })();
    return /\bavx2\b/.test(cpu) ? "linux-x64" : "linux-x64-baseline";
  }
  if (process.platform === "linux" && process.arch === "arm64") return "linux-arm64";
  if (process.platform === "darwin" && process.arch === "arm64") return "darwin-arm64";
  if (process.platform === "win32" && process.arch === "x64") return "windows-x64";
  return undefined;
}

async function run(cmd: string[], cwd: string, env: Record<string, string> = {}) {
  const proc = Bun.spawn(cmd, { cwd, env: { PATH: process.env.PATH ?? "", ...env }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code: await proc.exited, stdout, stderr };
}

async function sha256(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  hasher.update(await Bun.file(path).arrayBuffer());
  return hasher.digest("hex");
}

beforeAll(async () => {
  const buildDir = mkdtempSync(join(tmpdir(), "zou-bun-build-"));
  try {
    const release = hostRelease();
    const build = await run([bun, "run", join(root, "build.ts"), ...(release ? ["--all", "--only", release] : []), "--outdir", buildDir], root);
    if (build.code !== 0) throw new Error(`build.ts failed:\n${build.stdout}${build.stderr}`);
    binary = release ? `zou-bun-${release}${release.startsWith("windows") ? ".exe" : ""}` : "zou-bun";
    if (release) {
      // The checksum file of the release set names this binary with its digest.
      const sums = readFileSync(join(buildDir, "SHA256SUMS"), "utf8");
      expect(sums).toBe(`${await sha256(join(buildDir, binary))}  ${binary}\n`);
    }
    folder = mkdtempSync(join(tmpdir(), "zou-bun-empty-"));
    copyFileSync(join(buildDir, binary), join(folder, binary));
    Bun.spawnSync(["chmod", "+x", join(folder, binary)]);
  } finally {
    rmSync(buildDir, { recursive: true, force: true });
  }
}, 180_000);

afterAll(async () => {
  if (server) {
    server.kill("SIGTERM");
    await Promise.race([server.exited, Bun.sleep(10_000)]);
    server.kill("SIGKILL");
  }
  if (folder) rmSync(folder, { recursive: true, force: true });
});

describe("the single binary", () => {
  test("prints its version and help from an empty folder", async () => {
    expect(readdirSync(folder)).toEqual([binary]);
    const version = await run([`./${binary}`, "--version"], folder);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = await run([`./${binary}`, "--help"], folder);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("create-admin");
    expect(help.stdout).toContain("serve");
  });

  test("lists its routes", async () => {
    const routes = await run([`./${binary}`, "routes"], folder);
    expect(routes.code).toBe(0);
    const lines = routes.stdout.trim().split("\n");
    expect(lines).toContain("POST /api/auth/login");
    expect(lines).toContain("GET /api/data/persons/{instance_id}");
  });

  test("serves on a free loopback port: login as the first admin, authenticated reads, a CRUD round trip", async () => {
    // On a PostgreSQL run the binary serves a fresh PostgreSQL database (its bundled pg driver).
    const database: Record<string, string> = {};
    if (onPostgres) database.DATABASE_URL = (await emptyPostgresDatabase()).url;
    server = Bun.spawn([`./${binary}`, "serve", "--host", "127.0.0.1", "--port", "0"], {
      cwd: folder,
      env: { PATH: process.env.PATH ?? "", ...database, ZOU_ADMIN_EMAIL: "boss@studio.test", ZOU_ADMIN_PASSWORD: "a-long-password", BCRYPT_LOG_ROUNDS: "4", LOG_FORMAT: "off" },
      stdout: "pipe",
      stderr: "pipe",
    });
    // Port 0: the server picks a free port and prints it.
    let output = "";
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      const reader = stream.getReader();
      for (let part = await reader.read(); !part.done; part = await reader.read()) output += decoder.decode(part.value, { stream: true });
    };
    void pump(server.stdout as ReadableStream<Uint8Array>);
    void pump(server.stderr as ReadableStream<Uint8Array>);
    let base = "";
    for (const deadline = Date.now() + 60_000; !base; ) {
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+\/api)/.exec(output);
      if (match) base = match[1]!;
      else if (server.exitCode !== null || Date.now() > deadline) throw new Error(`the binary did not start:\n${output}`);
      else await Bun.sleep(50);
    }
    expect(output).toContain("Created the first admin account: boss@studio.test");
    // socket.io is loaded after the start (src/services/live-events-deferred.ts): a client that
    // comes first waits for it and is answered by it (refused here: no token).
    const origin = base.replace(/\/api$/, "");
    const early = io(`${origin}/events`, { transports: ["websocket"], reconnection: false, forceNew: true });
    const refusal = await new Promise<string>((resolve) => {
      early.once("connect", () => resolve("connected"));
      early.once("connect_error", (error) => resolve(error.message));
    });
    early.close();
    expect(refusal).toBe("Unauthorized");
    expect((await fetch(base)).status).toBe(200);

    const login = await fetch(`${base}/auth/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: "boss@studio.test", password: "a-long-password" }),
    });
    expect(login.status).toBe(200);
    const { access_token: token, user } = (await login.json()) as { access_token: string; user: { role: string } };
    expect(user.role).toBe("admin");
    const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };

    const authenticated = await fetch(`${base}/auth/authenticated`, { headers });
    expect(authenticated.status).toBe(200);
    expect(((await authenticated.json()) as { user: { email: string } }).user.email).toBe("boss@studio.test");
    expect((await fetch(`${base}/auth/authenticated`)).status).toBe(401);

    const created = await fetch(`${base}/data/studios`, { method: "POST", headers, body: JSON.stringify({ name: "North", color: "#112233" }) });
    expect(created.status).toBe(201);
    const studio = (await created.json()) as { id: string; name: string };
    const updated = await fetch(`${base}/data/studios/${studio.id}`, { method: "PUT", headers, body: JSON.stringify({ name: "South" }) });
    expect(((await updated.json()) as { name: string }).name).toBe("South");
    const deleted = await fetch(`${base}/data/studios/${studio.id}`, { method: "DELETE", headers });
    expect(deleted.status).toBe(204);
    expect((await fetch(`${base}/data/studios/${studio.id}`, { headers })).status).toBe(404);

    const live = io(`${origin}/events`, { extraHeaders: { Authorization: `Bearer ${token}` }, transports: ["polling", "websocket"], reconnection: false, forceNew: true });
    const connected = await new Promise<string>((resolve) => {
      live.once("connect", () => resolve("connected"));
      live.once("connect_error", (error) => resolve(error.message));
    });
    const event = new Promise<unknown>((resolve) => live.once("main:test", resolve));
    expect((await fetch(`${base}/status/test-event`, { headers })).status).toBe(200);
    expect(connected).toBe("connected");
    expect(await Promise.race([event, Bun.sleep(5000).then(() => "timeout")])).not.toBe("timeout");
    live.close();
    // Modules loaded at their first use: the API description (route docs, JSON schemas).
    const openapi = await fetch(`${base}/openapi.json`);
    expect(openapi.status).toBe(200);
    expect(((await openapi.json()) as { openapi: string }).openapi).toStartWith("3.");

    const taskStatuses = (await (await fetch(`${base}/data/task-status`, { headers })).json()) as { short_name: string }[];
    expect(taskStatuses.map((s) => s.short_name)).toContain("wip");
    // The default database is a file beside the binary (a PostgreSQL run keeps it in PostgreSQL).
    if (onPostgres) expect(readdirSync(folder)).not.toContain("zou.db");
    else expect(readdirSync(folder).sort()).toContain("zou.db");
  }, 90_000); // a supervisor and a worker per core start from the binary: slow on a loaded machine
});
