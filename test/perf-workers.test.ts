/**
 * `serve --workers 2`: two processes on one port over one SQLite file. A write answered by one
 * worker is seen by the next request whichever worker answers it; a killed worker is restarted.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ADMIN_EMAIL, ADMIN_PASSWORD, login, spawnServer, type SpawnedServer } from "./perf-server";

let server: SpawnedServer;
let token: string;
let adminId: string;

/** A request on a new connection (no keep-alive): the kernel picks the worker. */
async function fresh(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    keepalive: false,
    headers: { Authorization: `Bearer ${token}`, Connection: "close", ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

function workerPids(pattern: RegExp): Map<string, number> {
  const pids = new Map<string, number>();
  for (const match of server.output().matchAll(pattern)) pids.set(match[1]!, Number(match[2]));
  return pids;
}

/** Times the main thread of `pid` went to sleep (each request wakes a worker up at least once). */
function wakeUps(pid: number): number {
  try {
    return Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

beforeAll(async () => {
  server = await spawnServer(["--workers", "2"], /listening on (http:\/\/127\.0\.0\.1:\d+)\/api with 2 workers/);
  const admin = await login(server.url, ADMIN_EMAIL, ADMIN_PASSWORD);
  expect(admin.status).toBe(200);
  token = admin.token!;
  adminId = (await fresh("GET", "/api/auth/authenticated")).body.user.id;
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

describe("serve --workers 2", () => {
  test("two workers listen on one port; each write is seen by the next request, whichever worker answers", async () => {
    const pids = workerPids(/Worker (\d+) started \(pid (\d+)\)/g);
    expect(pids.size).toBe(2);
    const before = [...pids.values()].map(wakeUps);
    for (let i = 0; i < 20; i += 1) {
      const written = await fresh("PUT", `/api/data/persons/${adminId}`, { first_name: `Name${i}` });
      expect(written.status).toBe(200);
      // The session cache of both workers holds the admin row: the next answer shows the write.
      const seen = await fresh("GET", "/api/auth/authenticated");
      expect(seen.body.user.first_name).toBe(`Name${i}`);
      const listed = await fresh("GET", `/api/data/persons/${adminId}`);
      expect(listed.body.first_name).toBe(`Name${i}`);
    }
    const after = [...pids.values()].map(wakeUps);
    // Both workers answered some of the 60 connections (the kernel spreads them).
    if (before.every((n) => n > 0)) for (let i = 0; i < 2; i += 1) expect(after[i]! - before[i]!).toBeGreaterThan(2);
  }, 60_000);

  test("a killed worker is restarted and the port keeps answering", async () => {
    const pids = workerPids(/Worker (\d+) started \(pid (\d+)\)/g);
    const victim = pids.get("0")!;
    process.kill(victim, "SIGKILL");
    // Connections already queued on the killed worker's socket are reset by the kernel (as with any
    // SO_REUSEPORT server): wait until the supervisor saw it die, then the other worker answers.
    const died = Date.now() + 10_000;
    while (!server.output().includes(`Worker 0 (pid ${victim}) exited`) && Date.now() < died) await Bun.sleep(20);
    for (let i = 0; i < 10; i += 1) expect((await fresh("GET", "/api/auth/authenticated")).status).toBe(200);
    const deadline = Date.now() + 20_000;
    let restarted: number | undefined;
    while (!restarted && Date.now() < deadline) {
      restarted = workerPids(/Worker (\d+) restarted \(pid (\d+)\)/g).get("0");
      await Bun.sleep(50);
    }
    expect(restarted).toBeDefined();
    expect(restarted).not.toBe(victim);
    // Wait until the new worker listens (its own "listening" line), then write and read again.
    while (Date.now() < deadline && (server.output().match(/\/api \(ready in/g) ?? []).length < 3) await Bun.sleep(50);
    expect((server.output().match(/\/api \(ready in/g) ?? []).length).toBe(3);
    for (let i = 0; i < 10; i += 1) {
      expect((await fresh("PUT", `/api/data/persons/${adminId}`, { first_name: `After${i}` })).status).toBe(200);
      expect((await fresh("GET", "/api/auth/authenticated")).body.user.first_name).toBe(`After${i}`);
    }
  }, 60_000);

  test("SIGTERM stops the workers and the supervisor cleanly", async () => {
    server.process.kill("SIGTERM");
    expect(await server.process.exited).toBe(0);
    expect(server.output()).toContain("Stopped.");
  }, 30_000);
});

describe("serve --workers 2: a database that cannot be prepared", () => {
  test("the supervisor stops its waiting workers and exits 1 with the reason on one line", async () => {
    const folder = mkdtempSync(join(tmpdir(), "zou-workers-bad-"));
    try {
      const child = Bun.spawn([process.execPath, "run", "src/cli.ts", "serve", "--workers", "2", "--host", "127.0.0.1", "--port", "0"], {
        cwd: join(import.meta.dir, ".."),
        env: { PATH: process.env.PATH ?? "", HOME: folder, DATABASE_URL: `sqlite://${join(folder, "missing", "zou.db")}`, SECRET_KEY: "perf-test-secret-perf-test-secret-0123456789" },
        stdout: "pipe",
        stderr: "pipe",
      });
      expect(await child.exited).toBe(1);
      const stdout = await new Response(child.stdout).text();
      const stderr = await new Response(child.stderr).text();
      const pids = [...stdout.matchAll(/Worker \d+ started \(pid (\d+)\)/g)].map((m) => Number(m[1]));
      expect(pids.length).toBe(2);
      expect(stderr.trim().split("\n")).toEqual([expect.stringContaining(`zou-bun: Error: cannot open the SQLite database ${join(folder, "missing", "zou.db")}`)]);
      // No worker left behind (gone, or a zombie waiting to be reaped by init).
      const running = (pid: number) => {
        try {
          return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
        } catch {
          return false;
        }
      };
      const deadline = Date.now() + 5000;
      while (pids.some(running) && Date.now() < deadline) await Bun.sleep(50);
      expect(pids.filter(running)).toEqual([]);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  }, 30_000);
});
