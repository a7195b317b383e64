#!/usr/bin/env bun
/**
 * Realtime stream benchmark: spawns `bun run src/cli.ts serve` on 127.0.0.1 (temporary SQLite
 * file), connects CLIENTS socket.io clients to namespace /events (websocket, admin token), reads
 * the server's RSS with them connected, then makes WRITES API writes one after the other
 * (`POST /api/data/projects/{id}/sequences`) and measures, for each, the time from sending the
 * request to the `sequence:new` event having arrived at every client.
 *
 *   bun bench/live.ts [--clients 1000] [--writes 50]
 *
 * Bounded: at most 2,000 clients, 500 writes, 120 s overall; only 127.0.0.1. Prints one JSON line.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { io, type Socket } from "socket.io-client";

const ROOT = resolve(import.meta.dir, "..");
const BUN = process.execPath;
const arg = (name: string, fallback: number) => {
  const index = process.argv.indexOf(name);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
};
const CLIENTS = Math.min(arg("--clients", 1000), 2000);
const WRITES = Math.min(arg("--writes", 50), 500);
const PASSWORD = "bench-password";

const overall = setTimeout(() => {
  console.error("bench/live.ts: gave up after 120 s");
  cleanup();
  process.exit(1);
}, 120_000);

const workdir = mkdtempSync(join(tmpdir(), "zou-bun-live-"));
const port = 20000 + Math.floor(Math.random() * 20000);
const base = `http://127.0.0.1:${port}`;
const server = Bun.spawn([BUN, "run", "src/cli.ts", "serve", "--host", "127.0.0.1", "--port", String(port)], {
  cwd: ROOT,
  env: {
    ...process.env,
    DATABASE_URL: `sqlite://${join(workdir, "zou.db")}`,
    SECRET_KEY: "bench-secret-key-bench-secret-key",
    ZOU_ADMIN_EMAIL: "admin@example.com",
    ZOU_ADMIN_PASSWORD: PASSWORD,
    PREVIEW_FOLDER: join(workdir, "previews"),
    TMP_DIR: join(workdir, "tmp"),
  },
  stdout: "ignore",
  stderr: "inherit",
});
const sockets: Socket[] = [];

function cleanup(): void {
  for (const socket of sockets) socket.close();
  server.kill();
  rmSync(workdir, { recursive: true, force: true });
}

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))!;
  return Math.round(Number(line.split(/\s+/)[1]) / 1024);
}

async function waitForServer(): Promise<void> {
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline) {
    try {
      if ((await fetch(`${base}/api`)).status === 200) return;
    } catch {
      /* not listening yet */
    }
    await Bun.sleep(20);
  }
  throw new Error("the server did not answer within 30 s");
}

async function api(method: string, path: string, token: string | null, body?: unknown): Promise<any> {
  const response = await fetch(`${base}/api${path}`, {
    method,
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const round = (n: number) => Math.round(n * 10) / 10;

try {
  await waitForServer();
  const idleRss = rssMb(server.pid);
  const login = await api("POST", "/auth/login", null, { email: "admin@example.com", password: PASSWORD });
  const token: string = login.access_token;
  const project = await api("POST", "/data/projects", token, { name: "Live bench" });

  // Connect in batches of 100.
  const connectStarted = performance.now();
  for (let i = 0; i < CLIENTS; i += 100) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(CLIENTS, i + 100); j++) {
      const socket = io(`${base}/events`, { transports: ["websocket"], extraHeaders: { Authorization: `Bearer ${token}` }, reconnection: false, forceNew: true });
      sockets.push(socket);
      batch.push(new Promise((ok, fail) => {
        socket.once("connect", () => ok());
        socket.once("connect_error", (error) => fail(error));
      }));
    }
    await Promise.all(batch);
  }
  const connectSeconds = (performance.now() - connectStarted) / 1000;
  await Bun.sleep(2000);
  const status = await api("GET", "/status", null);
  const connectedRss = rssMb(server.pid);

  // Writes, one at a time: time until every client has the event of that write.
  const pending = new Map<string, { started: number; remaining: number; done: (ms: number) => void }>();
  const arrivalMs: number[] = [];
  let key = "";
  for (const socket of sockets) {
    socket.on("sequence:new", (data: { sequence_id: string }) => {
      const wait = pending.get(data.sequence_id) ?? pending.get(key);
      if (!wait) return;
      const elapsed = performance.now() - wait.started;
      arrivalMs.push(elapsed);
      if (--wait.remaining === 0) wait.done(elapsed);
    });
  }
  const allArrived: number[] = [];
  for (let n = 0; n < WRITES; n++) {
    key = `write-${n}`;
    const finished = new Promise<number>((done) => pending.set(key, { started: performance.now(), remaining: sockets.length, done }));
    const created = await api("POST", `/data/projects/${project.id}/sequences`, token, { name: `SQ${String(n).padStart(4, "0")}` });
    pending.set(created.id, pending.get(key)!);
    allArrived.push(await finished);
    pending.delete(key);
    pending.delete(created.id);
  }
  allArrived.sort((a, b) => a - b);
  arrivalMs.sort((a, b) => a - b);
  console.log(JSON.stringify({
    clients: sockets.length,
    status_connections: status["event-stream-connections"],
    connect_seconds: round(connectSeconds),
    server_rss_mb_idle: idleRss,
    server_rss_mb_connected: connectedRss,
    writes: WRITES,
    all_clients_ms_p50: round(percentile(allArrived, 50)),
    all_clients_ms_p99: round(percentile(allArrived, 99)),
    each_client_ms_p50: round(percentile(arrivalMs, 50)),
    each_client_ms_p99: round(percentile(arrivalMs, 99)),
    load_average: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "),
  }));
} finally {
  clearTimeout(overall);
  cleanup();
}
