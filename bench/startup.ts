#!/usr/bin/env bun
/**
 * Start-up to the first answer (issue 13 item 5b): spawns the server N times and measures, for each
 * run, the time from spawn to its first `200` on `GET /api`; prints the median, min and max, for a
 * fresh database (a new file each run: migrations, initial data, first admin) and for an existing
 * one (the same file again).
 *
 *   node_modules/.bin/bun bench/startup.ts [--runs 10] [--binary dist/zou-bun] [--fresh-runs 5]
 *
 * Without --binary it runs `bun run src/cli.ts serve`. The server is one process (`--workers 1`;
 * `--workers N` for a supervisor and N workers, 0 for serve's default of one per core),
 * 127.0.0.1 on a free port, killed after each answer. Polls every 2 ms (the figures include up to
 * that much polling delay). Also prints the server's CPU time (all threads) at its first answer,
 * steadier than the wall time on a busy machine.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const BUN = process.execPath;

function option(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
}
const RUNS = Math.min(Number(option("--runs") ?? 10), 100);
const FRESH_RUNS = Math.min(Number(option("--fresh-runs") ?? 5), 100);
const WORKERS = option("--workers") ?? "1";
const BINARY = option("--binary") ? resolve(option("--binary")!) : null;

function freePort(): number {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = server.port!;
  server.stop(true);
  return port;
}

/** CPU time of a process so far, all its threads (ms; /proc/PID/task/N/schedstat, Linux). */
function cpuMs(pid: number): number {
  let ns = 0;
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
      } catch {
        /* thread gone */
      }
    }
  } catch {
    return Number.NaN;
  }
  return ns / 1e6;
}

/** One start: wall time from spawn to the first 200 on GET /api, and the server's CPU time by then. */
async function startOnce(databaseFile: string): Promise<{ wall: number; cpu: number }> {
  const port = freePort();
  const env = {
    ...process.env,
    DATABASE_URL: `sqlite://${databaseFile}`,
    SECRET_KEY: "bench-secret-key-bench-secret-key-0123456789",
    ZOU_ADMIN_EMAIL: "admin@example.com",
    ZOU_ADMIN_PASSWORD: "bench-password",
    PREVIEW_FOLDER: join(databaseFile, "..", "previews"),
    TMP_DIR: join(databaseFile, "..", "tmp"),
  };
  const command = BINARY ? [BINARY, "serve"] : [BUN, "run", "src/cli.ts", "serve"];
  const started = performance.now();
  const proc = Bun.spawn([...command, ...(WORKERS === "0" ? [] : ["--workers", WORKERS]), "--host", "127.0.0.1", "--port", String(port)], {
    cwd: ROOT,
    env,
    stdout: process.env.ZOU_STARTUP_TRACE ? "inherit" : "ignore",
    stderr: "inherit",
  });
  try {
    const deadline = started + 30_000;
    while (performance.now() < deadline) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/api`);
        if (response.status === 200) {
          const wall = performance.now() - started;
          const cpu = cpuMs(proc.pid);
          if (process.env.ZOU_STARTUP_TRACE) console.log(`[bench] first 200 after ${wall.toFixed(1)} ms (server CPU ${cpu.toFixed(1)} ms)`);
          return { wall, cpu };
        }
      } catch {
        /* not listening yet */
      }
      await Bun.sleep(2);
    }
    throw new Error("the server did not answer within 30 s");
  } finally {
    proc.kill();
    await proc.exited;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
}

function summary(runs: { wall: number; cpu: number }[]): string {
  const walls = runs.map((r) => r.wall);
  return `median ${Math.round(median(walls))} ms (min ${Math.round(Math.min(...walls))}, max ${Math.round(Math.max(...walls))}, ${runs.length} runs), server CPU median ${Math.round(median(runs.map((r) => r.cpu)))} ms`;
}

const loadAverage = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const workdir = mkdtempSync(join(tmpdir(), "zou-bun-startup-"));
try {
  const before = loadAverage();
  const fresh: { wall: number; cpu: number }[] = [];
  for (let i = 0; i < FRESH_RUNS; i += 1) fresh.push(await startOnce(join(workdir, `fresh-${i}.db`)));
  const existingFile = join(workdir, "existing.db");
  await startOnce(existingFile);
  const existing: { wall: number; cpu: number }[] = [];
  for (let i = 0; i < RUNS; i += 1) existing.push(await startOnce(existingFile));
  console.log(`${BINARY ? `binary ${BINARY}` : "bun run src/cli.ts serve"}; load average ${before} -> ${loadAverage()}`);
  console.log(`existing database: ${summary(existing)}`);
  if (fresh.length > 0) console.log(`fresh database:    ${summary(fresh)}`);
} finally {
  rmSync(workdir, { recursive: true, force: true });
}
