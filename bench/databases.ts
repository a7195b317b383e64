#!/usr/bin/env bun
/**
 * SQLite against PostgreSQL (issue 15), on the deployed path: spawned `serve` processes.
 *
 * One production (bench/with-tasks-data.ts: 2,000 shots x 10 task types by default) is written to a
 * temporary SQLite file, then copied by `copy-db` into a fresh PostgreSQL database. For each
 * database and each `--workers` count (PostgreSQL with 2 = two instances on one database) it reports:
 *   - `GET /api/data/persons/{id}`: requests/s, p50 and p99 (wrk, 1 thread, `--connections`);
 *   - shots with-tasks of the big project (JSON, `Accept-Encoding: identity`): the median of 7 calls
 *     each right after a one-task write in the same project, and the median of 7 warm calls.
 * The mixed read/write load is `bench/load.ts --mixed --database-url ...`.
 *
 *   node_modules/.bin/bun bench/databases.ts --postgres postgres://user@127.0.0.1:5432/postgres
 *        [--shots 2000] [--seconds 10] [--connections 32] [--workers 1,2]
 *
 * The PostgreSQL URL names a database to connect to for CREATE DATABASE / DROP DATABASE; the
 * benchmark's own database is created beside it and dropped at the end. 127.0.0.1 only.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Database } from "bun:sqlite";
import pg from "pg";
import { copyBetween } from "../src/services/db-copy";
import { signToken } from "../src/lib/jwt";
import { createBenchDatabase } from "./with-tasks-data";

const ROOT = resolve(import.meta.dir, "..");
const SECRET = "bench-secret-key-bench-secret-key-0123456789";
const argument = (name: string) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
};
const postgresUrl = argument("--postgres");
if (!postgresUrl || !/^postgres(ql)?:\/\/[^/]*@?(127\.0\.0\.1|localhost)[:/]/.test(postgresUrl)) {
  console.error("usage: bun bench/databases.ts --postgres postgres://user@127.0.0.1:PORT/postgres [--shots 2000] [--seconds 10] [--connections 32] [--workers 1,2]");
  process.exit(2);
}
const shots = Math.min(Number(argument("--shots") ?? 2000), 20_000);
const seconds = Math.min(Number(argument("--seconds") ?? 10), 60);
const connections = Math.min(Number(argument("--connections") ?? 32), 256);
const workerCounts = (argument("--workers") ?? "1,2").split(",").map(Number).filter((n) => n >= 1 && n <= 8);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function parseWrk(output: string) {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? 0);
  const toMs = (text: string | undefined) => {
    const match = /([\d.]+)(us|ms|s)/.exec(text ?? "");
    if (!match) return 0;
    const value = Number(match[1]);
    return match[2] === "us" ? value / 1000 : match[2] === "s" ? value * 1000 : value;
  };
  return { rps, p50: toMs(/\s50%\s+(\S+)/.exec(output)?.[1]), p99: toMs(/\s99%\s+(\S+)/.exec(output)?.[1]) };
}

async function waitForServer(base: string): Promise<void> {
  const deadline = performance.now() + 120_000;
  for (;;) {
    try {
      if ((await fetch(base)).status === 200) return;
    } catch {
      /* not listening yet */
    }
    if (performance.now() > deadline) throw new Error("the server did not answer within 120 s");
    await Bun.sleep(50);
  }
}

const dir = mkdtempSync(join(tmpdir(), "zou-bun-databases-"));
const file = join(dir, "bench.db");
const benchDatabase = `zou_bun_bench_${process.pid}`;
const admin = new pg.Client({ connectionString: postgresUrl });
await admin.connect();
const results: Record<string, unknown>[] = [];
try {
  const production = await createBenchDatabase(file, shots);
  const sqlite = new Database(file, { readonly: true });
  const personId = (sqlite.query("select id from person where id = ?").get(production.adminId) as { id: string }).id;
  sqlite.close();

  await admin.query(`CREATE DATABASE "${benchDatabase}"`);
  const pgUrl = new URL(postgresUrl);
  pgUrl.pathname = `/${benchDatabase}`;
  const copyStarted = performance.now();
  await copyBetween(`sqlite://${file}`, pgUrl.toString());
  console.error(`copied the production into PostgreSQL in ${((performance.now() - copyStarted) / 1000).toFixed(1)} s`);

  const { token } = await signToken(SECRET, production.adminId, { type: "access", identityType: "person", lifetime: 3600 });
  const headers = { Authorization: `Bearer ${token}`, "Accept-Encoding": "identity" };
  const targets = [
    { database: "SQLite", url: `sqlite://${file}` },
    { database: "PostgreSQL", url: pgUrl.toString() },
  ];
  for (const target of targets) {
    for (const workers of workerCounts) {
      const port = 20000 + Math.floor(Math.random() * 20000);
      const proc = Bun.spawn([process.execPath, "run", "src/cli.ts", "serve", "--workers", String(workers), "--host", "127.0.0.1", "--port", String(port)], {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: target.url, SECRET_KEY: SECRET, PREVIEW_FOLDER: join(dir, "previews"), TMP_DIR: join(dir, "tmp"), LOG_FORMAT: "off" },
        stdout: "ignore",
        stderr: "inherit",
      });
      try {
        const base = `http://127.0.0.1:${port}/api`;
        await waitForServer(base);
        const withTasks = `${base}/data/shots/with-tasks?project_id=${production.projectId}`;
        const timed = async (url: string) => {
          const started = performance.now();
          const response = await fetch(url, { headers });
          const bytes = (await response.arrayBuffer()).byteLength;
          if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
          return { ms: performance.now() - started, bytes };
        };
        // Warm-up: every worker builds its lists once.
        for (let i = 0; i < workers * 2; i++) await timed(withTasks);
        const afterWrite: number[] = [];
        let size = 0;
        for (let i = 0; i < 7; i++) {
          const write = await fetch(`${base}/data/tasks/${production.taskId}`, { method: "PUT", headers: { ...headers, "Content-Type": "application/json" }, body: JSON.stringify({ priority: i % 3 }) });
          if (write.status !== 200) throw new Error(`write: ${write.status}`);
          const call = await timed(withTasks);
          afterWrite.push(call.ms);
          size = call.bytes;
        }
        const warm: number[] = [];
        for (let i = 0; i < 7; i++) warm.push((await timed(withTasks)).ms);

        const wrk = Bun.spawnSync(["wrk", "-t1", `-c${connections}`, `-d${seconds}s`, "--latency", "--timeout", "5s", "-H", `Authorization: Bearer ${token}`, `${base}/data/persons/${personId}`]);
        const byId = wrk.exitCode === 0 ? parseWrk(wrk.stdout.toString()) : { rps: 0, p50: 0, p99: 0 };
        const row = {
          database: target.database,
          workers,
          persons_by_id_rps: Math.round(byId.rps),
          persons_by_id_p50_ms: byId.p50,
          persons_by_id_p99_ms: byId.p99,
          with_tasks_after_write_median_ms: Math.round(median(afterWrite)),
          with_tasks_warm_median_ms: Math.round(median(warm)),
          with_tasks_bytes: size,
        };
        results.push(row);
        console.log(JSON.stringify(row));
      } finally {
        proc.kill("SIGTERM");
        await Promise.race([proc.exited, Bun.sleep(15_000)]);
        proc.kill("SIGKILL");
      }
    }
  }
} finally {
  await admin.query(`DROP DATABASE IF EXISTS "${benchDatabase}" WITH (FORCE)`).catch(() => undefined);
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
}

console.log("\n| database | processes | persons/{id} req/s | p50 / p99 ms | with-tasks after a write (median) | warm (median) | size |");
console.log("|---|---|---|---|---|---|---|");
for (const r of results as any[]) {
  console.log(`| ${r.database} | ${r.workers} | ${r.persons_by_id_rps} | ${r.persons_by_id_p50_ms.toFixed(2)} / ${r.persons_by_id_p99_ms.toFixed(2)} | ${r.with_tasks_after_write_median_ms} ms | ${r.with_tasks_warm_median_ms} ms | ${(r.with_tasks_bytes / 1e6).toFixed(1)} MB |`);
}
