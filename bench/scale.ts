#!/usr/bin/env bun
/**
 * How the cost of `GET /api/data/shots/with-tasks?project_id=...` grows with the production (issue
 * 13, item 6): 2,000, 20,000 and 50,000 shots x 10 task types (see bench/README.md).
 *
 * For each size: the production is written into a temporary SQLite file (bench/with-tasks-data.ts),
 * `bun run src/cli.ts serve --workers 1` is spawned on it (127.0.0.1), and the list is timed
 *  - cold: after a commit by another connection (this script's own; the server drops its caches),
 *  - after a one-task write through the API (`PUT /api/data/tasks/{id}`),
 *  - warm: the same request again;
 * with `Accept-Encoding: identity`, next to the floor measured in the same run (a minimal
 * bun:sqlite + JSON.stringify script reading the same rows, in this process). Reports the answer
 * size and the server's peak RSS (VmHWM). Loopback only; bounded by `--runs` and a time limit.
 *
 *   node_modules/.bin/bun bench/scale.ts [--sizes 2000,20000,50000] [--runs 3] [--no-readme]
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Database } from "bun:sqlite";
import { signToken } from "../src/lib/jwt";
import { createBenchDatabase, minimalShotsWithTasks, TASK_TYPES } from "./with-tasks-data";

const argument = (name: string) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
};
const SIZES = (argument("--sizes") ?? "2000,20000,50000").split(",").map(Number).filter((n) => n > 0 && n <= 100_000);
const RUNS = Math.max(1, Math.min(Number(argument("--runs") ?? 3), 20));
const WRITE_README = !process.argv.includes("--no-readme");
const ROOT = resolve(import.meta.dir, "..");
const SECRET = "bench-secret-key-bench-secret-key-0123456789";
const TIME_LIMIT_MS = 40 * 60 * 1000;
const began = performance.now();

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const status = (pid: number, field: string) => {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) / 1024 : NaN;
};

async function spawnServer(file: string, dir: string, port: number) {
  const proc = Bun.spawn([process.execPath, "run", "src/cli.ts", "serve", "--workers", "1", "--host", "127.0.0.1", "--port", String(port)], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: `sqlite://${file}`, SECRET_KEY: SECRET, PREVIEW_FOLDER: join(dir, "previews"), TMP_DIR: join(dir, "tmp") },
    stdout: "ignore",
    stderr: "inherit",
  });
  const deadline = performance.now() + 60_000;
  while (performance.now() < deadline) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/api`)).status === 200) return proc;
    } catch {
      /* not listening yet */
    }
    await Bun.sleep(20);
  }
  proc.kill();
  throw new Error("the server did not answer within 60 s");
}

interface SizeResult {
  shots: number;
  tasks: number;
  mib: number;
  floor: number;
  cold: number;
  afterWrite: number;
  warm: number;
  peakRss: number;
  idleRss: number;
}

async function measure(shots: number, port: number): Promise<SizeResult> {
  const dir = mkdtempSync(join(tmpdir(), "zou-bun-scale-"));
  const file = join(dir, "bench.db");
  let proc: ReturnType<typeof Bun.spawn> | null = null;
  try {
    const production = await createBenchDatabase(file, shots);
    // Fold the write-ahead log into the file, so the server does not start by recovering it.
    const checkpoint = new Database(file);
    checkpoint.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    checkpoint.close();
    proc = await spawnServer(file, dir, port);
    const idleRss = status(proc.pid, "VmRSS");
    const { token } = await signToken(SECRET, production.adminId, { type: "access", identityType: "person", lifetime: 3600 });
    const base = `http://127.0.0.1:${port}/api`;
    const headers = { Authorization: `Bearer ${token}`, "Accept-Encoding": "identity" };
    const get = async () => {
      const t = performance.now();
      const response = await fetch(`${base}/data/shots/with-tasks?project_id=${production.projectId}`, { headers });
      const bytes = await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
      return { ms: performance.now() - t, bytes };
    };
    let priority = 0;
    const writeTask = async () => {
      const response = await fetch(`${base}/data/tasks/${production.taskId}`, { method: "PUT", headers: { ...headers, "Content-Type": "application/json" }, body: JSON.stringify({ priority: ++priority % 5 }) });
      if (response.status !== 200) throw new Error(`PUT task: HTTP ${response.status}`);
      await response.arrayBuffer();
    };
    const external = new Database(file);
    const externalCommit = () => external.query("insert or replace into kv_store (key, value) values ('bench-external', ?)").run(String(++priority));
    const reference = new Database(file, { readonly: true });

    const first = await get();
    const mib = first.bytes.byteLength / 1048576;
    if (shots <= 2000) {
      await writeTask();
      const served = JSON.parse(new TextDecoder().decode((await get()).bytes));
      if (!Bun.deepEquals(served, JSON.parse(minimalShotsWithTasks(reference, production.projectId, production.shotTypeId, production.adminId)))) {
        throw new Error("the server's answer differs from the floor's");
      }
    }
    const times = { cold: [] as number[], afterWrite: [] as number[], warm: [] as number[], floor: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      externalCommit();
      times.cold.push((await get()).ms);
      await writeTask();
      times.afterWrite.push((await get()).ms);
      times.warm.push((await get()).ms);
      const t = performance.now();
      minimalShotsWithTasks(reference, production.projectId, production.shotTypeId, production.adminId);
      times.floor.push(performance.now() - t);
      if (performance.now() - began > TIME_LIMIT_MS) break;
    }
    const peakRss = status(proc.pid, "VmHWM");
    external.close();
    reference.close();
    return {
      shots, tasks: production.tasks, mib, idleRss, peakRss,
      floor: median(times.floor), cold: median(times.cold), afterWrite: median(times.afterWrite), warm: median(times.warm),
    };
  } finally {
    proc?.kill();
    await proc?.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

function writeReadme(section: string): void {
  const path = resolve(import.meta.dir, "README.md");
  const start = "<!-- scale bench: start -->";
  const end = "<!-- scale bench: end -->";
  const block = `${start}\n${section.trim()}\n${end}`;
  const current = existsSync(path) ? readFileSync(path, "utf8") : "# Benchmarks\n";
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  writeFileSync(path, from !== -1 && to > from ? current.slice(0, from) + block + current.slice(to + end.length) : `${current.trimEnd()}\n\n${block}\n`);
}

const results: SizeResult[] = [];
const port = 20000 + Math.floor(Math.random() * 20000);
const loadBefore = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
for (const shots of SIZES) {
  if (performance.now() - began > TIME_LIMIT_MS) break;
  const result = await measure(shots, port);
  results.push(result);
  console.log(JSON.stringify(result));
}
const loadAfter = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const x = (value: number, floor: number) => `${round(value / floor, 2)}x`;
const table = [
  "| shots | tasks | answer | floor | cold | after a one-task write | warm | per 1,000 tasks (cold / after write) | server RSS idle → peak |",
  "|---|---|---|---|---|---|---|---|---|",
  ...results.map((r) =>
    `| ${r.shots.toLocaleString("en")} | ${r.tasks.toLocaleString("en")} | ${round(r.mib)} MiB | ${round(r.floor)} ms | ${round(r.cold)} ms (${x(r.cold, r.floor)}) | ${round(r.afterWrite)} ms (${x(r.afterWrite, r.floor)}) | ${round(r.warm)} ms | ${round((r.cold / r.tasks) * 1000, 2)} / ${round((r.afterWrite / r.tasks) * 1000, 2)} ms | ${round(r.idleRss)} → ${round(r.peakRss)} MiB |`,
  ),
].join("\n");
console.log(table);
if (WRITE_README && results.length > 0) {
  writeReadme(`## Scale curve (bench/scale.ts)

\`node_modules/.bin/bun bench/scale.ts\` writes productions of ${SIZES.map((n) => n.toLocaleString("en")).join(", ")} shots x ${TASK_TYPES} task types
(bench/with-tasks-data.ts) into a temporary SQLite file, spawns \`bun run src/cli.ts serve --workers 1\` on it and times
\`GET /api/data/shots/with-tasks?project_id=...\` (\`Accept-Encoding: identity\`, median of ${RUNS} runs): cold (after a commit by
another connection: every cache dropped), after a one-task write through the API (\`PUT /api/data/tasks/{id}\`), and warm.
The floor is the minimal bun:sqlite + JSON.stringify script on the same rows, measured in the same runs. Peak RSS is the
server's VmHWM at the end of its size.

${table}

Last run: ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, Bun ${Bun.version}, ${navigator.hardwareConcurrency} CPUs shared with other
work (load average ${loadBefore} before, ${loadAfter} after): absolute times are inflated, the ratios to the floor are the figures to read.`);
  console.log("bench/README.md updated");
}
