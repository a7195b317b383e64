#!/usr/bin/env bun
/**
 * Start-up to the first answer (issue 13 item 5b): spawns the server N times and measures, for each
 * run, the time from spawn to its first `200` on `GET /api`; prints the median, min and max, for a
 * fresh database (a new file each run: migrations, initial data, first admin) and for an existing
 * one (the same file again).
 *
 *   node_modules/.bin/bun bench/startup.ts [--runs 10] [--binary dist/zou-bun] [--fresh-runs 5]
 *
 * Without --binary it runs `bun run src/cli.ts serve`. The server is one process (`--workers 1`),
 * 127.0.0.1 on a free port, killed after each answer. Polls every 2 ms (the figures include up to
 * that much polling delay).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
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
const BINARY = option("--binary") ? resolve(option("--binary")!) : null;

function freePort(): number {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = server.port!;
  server.stop(true);
  return port;
}

async function startOnce(databaseFile: string): Promise<number> {
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
  const proc = Bun.spawn([...command, "--workers", "1", "--host", "127.0.0.1", "--port", String(port)], {
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
          const ms = performance.now() - started;
          if (process.env.ZOU_STARTUP_TRACE) console.log(`[bench] first 200 after ${ms.toFixed(1)} ms`);
          return ms;
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

function summary(times: number[]): string {
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  return `median ${Math.round(median)} ms (min ${Math.round(sorted[0]!)}, max ${Math.round(sorted.at(-1)!)}, ${sorted.length} runs)`;
}

const loadAverage = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const workdir = mkdtempSync(join(tmpdir(), "zou-bun-startup-"));
try {
  const before = loadAverage();
  const fresh: number[] = [];
  for (let i = 0; i < FRESH_RUNS; i += 1) fresh.push(await startOnce(join(workdir, `fresh-${i}.db`)));
  const existingFile = join(workdir, "existing.db");
  await startOnce(existingFile);
  const existing: number[] = [];
  for (let i = 0; i < RUNS; i += 1) existing.push(await startOnce(existingFile));
  console.log(`${BINARY ? `binary ${BINARY}` : "bun run src/cli.ts serve"}; load average ${before} -> ${loadAverage()}`);
  console.log(`existing database: ${summary(existing)}`);
  if (fresh.length > 0) console.log(`fresh database:    ${summary(fresh)}`);
} finally {
  rmSync(workdir, { recursive: true, force: true });
}
