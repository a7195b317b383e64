#!/usr/bin/env bun
/**
 * Benchmark of the server (see bench/README.md):
 *  (a) start-up time of a spawned `bun run src/cli.ts serve` to its first answer (fresh database,
 *      then existing database);
 *  (b) resident memory (RSS) of that process when idle, and after the load test;
 *  (c) requests/s and p50/p99 latency of `GET /api/data/persons/{id}` with a valid token, against
 *      the real app served in this process (Bun.serve on 127.0.0.1, temporary SQLite file) next to a
 *      bare Hono route in the same process, and against the spawned CLI server.
 *
 * Load comes from `wrk` (another process) when installed, else from bench/load.ts in a second Bun
 * process. Everything is bounded: 127.0.0.1 only, fixed durations, capped request counts.
 *
 *   node_modules/.bin/bun bench/persons.ts [--seconds 10] [--connections 32] [--binary dist/zou-bun]
 *
 * With --binary, the start-up and idle RSS of the compiled executable are measured as well.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Database } from "bun:sqlite";
import { Hono } from "hono";
import { createApp } from "../src/app";
import { loadConfig } from "../src/config";
import { openDatabase, migrateToLatest } from "../src/db/database";
import { initData } from "../src/services/init-data";
import { ensureFirstAdmin } from "../src/services/accounts";
import { signToken } from "../src/lib/jwt";
import { accessLogSink } from "../src/lib/access-log";

const ROOT = resolve(import.meta.dir, "..");
const BUN = process.execPath;
const SECRET = "bench-secret-key-bench-secret-key-0123456789";

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}
const SECONDS = Math.min(option("--seconds", 10), 60);
const CONNECTIONS = Math.min(option("--connections", 32), 256);
const WARMUP_SECONDS = 5;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort(): number {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
  const port = server.port!;
  server.stop(true);
  return port;
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round((kib / 1024) * 10) / 10;
}

async function token(databaseFile: string): Promise<{ personId: string; token: string }> {
  const sqlite = new Database(databaseFile, { readonly: true });
  const admin = sqlite.query("select id from person where role = 'admin' limit 1").get() as { id: string };
  sqlite.close();
  const signed = await signToken(SECRET, admin.id, { type: "access", identityType: "person", lifetime: 3600 });
  return { personId: admin.id, token: signed.token };
}

interface LoadResult {
  /** Server CPU time (user + system) per answered request, in µs: robust to other load on the machine. */
  server_cpu_us_per_request?: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  requests: number;
  errors: number;
  tool: string;
}

/** Parses wrk's `--latency` output. */
function parseWrk(output: string): LoadResult {
  const toMs = (value: string, unit: string) => Number(value) * (unit === "us" ? 0.001 : unit === "s" ? 1000 : 1);
  const percentile = (p: string) => {
    const match = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(output);
    return match ? toMs(match[1]!, match[2]!) : NaN;
  };
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? NaN);
  const requests = Number(/(\d+) requests in/.exec(output)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0);
  return { rps, p50_ms: percentile("50"), p99_ms: percentile("99"), requests, errors, tool: "wrk" };
}

/** Runs the load generator on `url` for `seconds` (another process: wrk, else bench/load.ts). */
async function load(url: string, seconds: number, bearer?: string): Promise<LoadResult> {
  if (!url.startsWith("http://127.0.0.1:")) throw new Error("benchmarks only target 127.0.0.1");
  const wrk = Bun.which("wrk");
  if (wrk) {
    const args = [wrk, "-t1", `-c${CONNECTIONS}`, `-d${seconds}s`, "--latency", "--timeout", "5s"];
    if (bearer) args.push("-H", `Authorization: Bearer ${bearer}`);
    const proc = Bun.spawn([...args, url], { stdout: "pipe", stderr: "pipe" });
    const output = await new Response(proc.stdout).text();
    await proc.exited;
    return parseWrk(output);
  }
  const args = [BUN, join(ROOT, "bench/load.ts"), url, String(seconds), String(CONNECTIONS), "2000000"];
  if (bearer) args.push(bearer);
  const proc = Bun.spawn(args, { stdout: "pipe", stderr: "inherit" });
  const output = await new Response(proc.stdout).text();
  await proc.exited;
  return { ...(JSON.parse(output.trim().split("\n").at(-1)!) as LoadResult), tool: "bench/load.ts" };
}

/** CPU seconds (user + system) used so far by a process: this one, or another one from /proc. */
function cpuSeconds(pid?: number): number {
  if (pid === undefined) {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1e6;
  }
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** Warm-up, then the measured run; `serverPid` is the server process (default: this one). */
async function measured(url: string, bearer?: string, serverPid?: number): Promise<LoadResult> {
  await load(url, WARMUP_SECONDS, bearer);
  const before = cpuSeconds(serverPid);
  const result = await load(url, SECONDS, bearer);
  const cpu = cpuSeconds(serverPid) - before;
  return { ...result, server_cpu_us_per_request: Math.round((cpu / result.requests) * 1e6 * 10) / 10 };
}

const binaryIndex = process.argv.indexOf("--binary");
const BINARY = binaryIndex === -1 ? null : resolve(process.argv[binaryIndex + 1]!);

/**
 * Spawns `bun run src/cli.ts serve` (or `<binary> serve`) and waits for its first answer; returns
 * the process and the delay.
 */
async function spawnServer(databaseFile: string, port: number, binary: string | null = null) {
  const env = {
    ...process.env,
    DATABASE_URL: `sqlite://${databaseFile}`,
    SECRET_KEY: SECRET,
    ZOU_ADMIN_EMAIL: "admin@example.com",
    ZOU_ADMIN_PASSWORD: "bench-password",
    PREVIEW_FOLDER: join(databaseFile, "..", "previews"),
    TMP_DIR: join(databaseFile, "..", "tmp"),
  };
  const started = performance.now();
  const command = binary ? [binary, "serve", "--workers", "1"] : [BUN, "run", "src/cli.ts", "serve", "--workers", "1"];
  const proc = Bun.spawn([...command, "--host", "127.0.0.1", "--port", String(port)], {
    cwd: ROOT,
    env,
    stdout: "ignore",
    stderr: "inherit",
  });
  const deadline = started + 30_000;
  while (performance.now() < deadline) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/api`);
      if (response.status === 200) return { proc, startupMs: Math.round(performance.now() - started) };
    } catch {
      /* not listening yet */
    }
    await sleep(2);
  }
  proc.kill();
  throw new Error("the server did not answer within 30 s");
}

const workdir = mkdtempSync(join(tmpdir(), "zou-bun-bench-"));
const results: Record<string, unknown> = {};
const loadAverage = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
results.load_average_before = loadAverage();
try {
  // (a) + (b): the spawned CLI server.
  const cliDatabase = join(workdir, "cli.db");
  const port = freePort();
  const fresh = await spawnServer(cliDatabase, port);
  fresh.proc.kill();
  await fresh.proc.exited;
  const existing = await spawnServer(cliDatabase, port);
  await sleep(2000);
  const idleRss = rssMiB(existing.proc.pid);
  const cliAuth = await token(cliDatabase);
  const cliPersons = await measured(`http://127.0.0.1:${port}/api/data/persons/${cliAuth.personId}`, cliAuth.token, existing.proc.pid);
  const loadedRss = rssMiB(existing.proc.pid);
  existing.proc.kill();
  await existing.proc.exited;
  if (BINARY) {
    const binaryDatabase = join(workdir, "binary.db");
    const first = await spawnServer(binaryDatabase, port, BINARY);
    first.proc.kill();
    await first.proc.exited;
    const again = await spawnServer(binaryDatabase, port, BINARY);
    await sleep(2000);
    results.binary = { startup_fresh_db_ms: first.startupMs, startup_existing_db_ms: again.startupMs, idle_rss_mib: rssMiB(again.proc.pid) };
    again.proc.kill();
    await again.proc.exited;
  }
  results.startup_fresh_db_ms = fresh.startupMs;
  results.startup_existing_db_ms = existing.startupMs;
  results.idle_rss_mib = idleRss;
  results.rss_after_load_mib = loadedRss;

  // (c): the real app and a bare Hono route served by this process.
  const databaseFile = join(workdir, "inprocess.db");
  const config = { ...loadConfig({ SECRET_KEY: SECRET, DATABASE_URL: `sqlite://${databaseFile}` }), previewFolder: join(workdir, "previews"), tmpFolder: join(workdir, "tmp") };
  const db = openDatabase(config.databaseUrl);
  await migrateToLatest(db);
  await initData(db, "3d");
  await ensureFirstAdmin(db, config, { ZOU_ADMIN_EMAIL: "admin@example.com", ZOU_ADMIN_PASSWORD: "bench-password" });
  const app = createApp({ db, config });
  // Access log lines are formatted as in production but dropped, not printed by the hundred thousand.
  accessLogSink.write = () => {};
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
  const bare = new Hono();
  bare.get("/bare", (c) => c.json({ ok: true }));
  const bareServer = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: bare.fetch });
  const auth = await token(databaseFile);
  const check = await fetch(`http://127.0.0.1:${server.port}/api/data/persons/${auth.personId}`, { headers: { Authorization: `Bearer ${auth.token}` } });
  if (check.status !== 200) throw new Error(`GET /api/data/persons/{id} answered ${check.status}: ${await check.text()}`);
  const bareResult = await measured(`http://127.0.0.1:${bareServer.port}/bare`);
  const personsResult = await measured(`http://127.0.0.1:${server.port}/api/data/persons/${auth.personId}`, auth.token);
  server.stop(true);
  bareServer.stop(true);
  await db.destroy();
  results.load = {
    bare_hono_in_process: bareResult,
    persons_id_in_process: personsResult,
    persons_id_cli_server: cliPersons,
  };
  results.load_average_after = loadAverage();
  results.settings = { seconds: SECONDS, warmup_seconds: WARMUP_SECONDS, connections: CONNECTIONS, bun: Bun.version, cpus: navigator.hardwareConcurrency };
} finally {
  rmSync(workdir, { recursive: true, force: true });
}

const fmt = (r: LoadResult) =>
  `${Math.round(r.rps)} req/s, p50 ${r.p50_ms.toFixed(2)} ms, p99 ${r.p99_ms.toFixed(2)} ms, server CPU ${r.server_cpu_us_per_request} µs/request (${r.requests} requests, ${r.errors} errors, ${r.tool})`;
console.log(`load average: ${results.load_average_before} before, ${results.load_average_after} after`);
const loadResults = results.load as Record<string, LoadResult>;
console.log(`start-up to first answer: ${results.startup_fresh_db_ms} ms (fresh database), ${results.startup_existing_db_ms} ms (existing database)`);
console.log(`RSS of the CLI server: ${results.idle_rss_mib} MiB idle, ${results.rss_after_load_mib} MiB after the load test`);
if (results.binary) console.log(`compiled binary: ${JSON.stringify(results.binary)}`);
console.log(`bare Hono route (in process):            ${fmt(loadResults.bare_hono_in_process!)}`);
console.log(`GET /api/data/persons/{id} (in process): ${fmt(loadResults.persons_id_in_process!)}`);
console.log(`GET /api/data/persons/{id} (CLI server): ${fmt(loadResults.persons_id_cli_server!)}`);
const bareRun = loadResults.bare_hono_in_process!;
const personsRun = loadResults.persons_id_in_process!;
console.log(
  `persons/{id} against the bare route (same process): ${(personsRun.rps / bareRun.rps).toFixed(2)} of its throughput, ` +
    `${(personsRun.server_cpu_us_per_request! / bareRun.server_cpu_us_per_request!).toFixed(2)}x its server CPU per request`,
);
console.log(JSON.stringify(results));
