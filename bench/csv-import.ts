#!/usr/bin/env bun
/**
 * Benchmark of the CSV import (see bench/README.md), run through the command line
 * (`bun run src/cli.ts import-csv shots FILE --project P`) on a temporary SQLite file:
 *  (a) rows/s importing N shots (default 10,000) with 10 task-type status columns (every cell
 *      filled: `todo`, and `wip` on one row in ten, which posts a comment per task);
 *  (b) peak RSS (VmHWM of the import process) importing M shots (default 100,000) without task
 *      columns into a project without task types.
 *
 *   node_modules/.bin/bun bench/csv-import.ts [--shots 10000] [--big 100000]
 *
 * The last line of the output is the result as JSON.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { openDatabase, migrateToLatest } from "../src/db/database";
import { initData } from "../src/services/init-data";
import { newId, utcNow } from "../src/lib/ids";

const ROOT = resolve(import.meta.dir, "..");
const BUN = process.execPath;

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}
const SHOTS = Math.min(option("--shots", 10_000), 200_000);
const BIG = Math.min(option("--big", 100_000), 500_000);

const dir = mkdtempSync(join(tmpdir(), "zou-bun-csv-bench-"));
const env = { ...process.env, DATABASE_URL: `sqlite://${join(dir, "bench.db")}`, SECRET_KEY: "bench-secret", TMP_DIR: join(dir, "tmp"), PREVIEW_FOLDER: join(dir, "previews") };

async function setUp(): Promise<string[]> {
  const db = openDatabase(env.DATABASE_URL);
  await migrateToLatest(db);
  await initData(db, "3d");
  const now = utcNow();
  const open = await db.selectFrom("project_status").select("id").where("name", "=", "Open").executeTakeFirstOrThrow();
  await db.insertInto("person").values({ id: newId(), created_at: now, updated_at: now, first_name: "Bench", last_name: "Admin", email: "bench@example.com", role: "admin", active: true } as any).execute();
  const projects: string[] = [];
  for (const name of ["Bench Tasks", "Bench Big"]) {
    const id = newId();
    await db.insertInto("project").values({ id, created_at: now, updated_at: now, name, project_status_id: open.id } as any).execute();
    projects.push(id);
  }
  const names: string[] = [];
  for (let i = 1; i <= 10; i++) {
    const id = newId();
    const name = `Step ${i}`;
    names.push(name);
    await db.insertInto("task_type").values({ id, created_at: now, updated_at: now, name, short_name: `s${i}`, color: "#000000", priority: i, for_entity: "Shot" } as any).execute();
    await db.insertInto("project_task_type_link").values({ id: newId(), project_id: projects[0]!, task_type_id: id, priority: i } as any).execute();
  }
  await db.destroy();
  return names;
}

function shotsCsv(count: number, taskTypes: string[]): string {
  const lines = [["Sequence", "Name", "Frame In", "Frame Out", "FPS", ...taskTypes].join(",")];
  for (let i = 0; i < count; i++) {
    const status = i % 10 === 0 ? "wip" : "todo";
    lines.push([`SQ${String(Math.floor(i / 100)).padStart(4, "0")}`, `SH${String(i).padStart(6, "0")}`, 1001, 1100, 25, ...taskTypes.map(() => status)].join(","));
  }
  return lines.join("\n") + "\n";
}

async function runImport(file: string, project: string): Promise<{ seconds: number; peakRssMiB: number; stderr: string }> {
  const started = performance.now();
  const child = Bun.spawn([BUN, "run", "src/cli.ts", "import-csv", "shots", file, "--project", project], { cwd: ROOT, env, stdout: "ignore", stderr: "pipe" });
  let peakKiB = 0;
  const poll = setInterval(() => {
    try {
      const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
      const hwm = /VmHWM:\s+(\d+)/.exec(status);
      if (hwm) peakKiB = Math.max(peakKiB, Number(hwm[1]));
    } catch {
      /* exited */
    }
  }, 50);
  const stderr = await new Response(child.stderr).text();
  await child.exited;
  clearInterval(poll);
  if (child.exitCode !== 0) throw new Error(`import failed: ${stderr}`);
  return { seconds: (performance.now() - started) / 1000, peakRssMiB: peakKiB / 1024, stderr: stderr.trim() };
}

try {
  const taskTypes = await setUp();
  const small = join(dir, "shots-tasks.csv");
  writeFileSync(small, shotsCsv(SHOTS, taskTypes));
  const a = await runImport(small, "Bench Tasks");
  console.log(`(a) ${SHOTS} shots x 10 task-type columns: ${a.seconds.toFixed(1)} s, ${Math.round(SHOTS / a.seconds)} rows/s, peak RSS ${a.peakRssMiB.toFixed(1)} MiB`);
  const big = join(dir, "shots-big.csv");
  writeFileSync(big, shotsCsv(BIG, []));
  const b = await runImport(big, "Bench Big");
  console.log(`(b) ${BIG} shots, no task columns: ${b.seconds.toFixed(1)} s, ${Math.round(BIG / b.seconds)} rows/s, peak RSS ${b.peakRssMiB.toFixed(1)} MiB`);
  console.log(JSON.stringify({ shots: SHOTS, rowsPerSecond: Math.round(SHOTS / a.seconds), peakRssTasksMiB: Math.round(a.peakRssMiB), big: BIG, bigRowsPerSecond: Math.round(BIG / b.seconds), peakRssBigMiB: Math.round(b.peakRssMiB) }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
