#!/usr/bin/env bun
/**
 * What a write committed by ANOTHER process costs this process's with-tasks answer (issue 13, the
 * change log of src/db/change-log.ts; see bench/README.md).
 *
 * Builds the 2,000 shots x 10 task types production (bench/with-tasks-data.ts) in a temporary
 * SQLite file, serves the real app in this process (`app.request`, no HTTP) and keeps a second
 * Bun process open on the same file that commits, on command:
 *  - `logged`: a one-task write through zou-bun's Kysely (openDatabase), in the listed project or
 *    in the other project: its change log row tells this process what changed;
 *  - `raw`: a write through bun:sqlite alone (the sqlite3 shell, or any write before the change
 *    log): the change signal moves with nothing to explain it, every cache is dropped.
 * For each case, the CPU time (user + system of this process, `process.cpuUsage`) and the wall
 * time of the next `GET /api/data/shots/with-tasks?project_id=...` (JSON), median of N runs, next
 * to warm reads and to the floor (a minimal bun:sqlite + JSON.stringify script reading the same
 * rows). CPU time is the figure to read on a loaded machine.
 *
 *   node_modules/.bin/bun bench/change-log.ts [--runs 9]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Database } from "bun:sqlite";
import { createApp } from "../src/app";
import { testConfig } from "../src/config";
import { openDatabase, migrateToLatest } from "../src/db/database";
import { signToken } from "../src/lib/jwt";
import { createBenchDatabase, minimalShotsWithTasks } from "./with-tasks-data";

const RUNS = Math.max(3, Math.min(Number(process.argv[process.argv.indexOf("--runs") + 1]) || 9, 50));

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

const WRITER = `
import { Database } from "bun:sqlite";
import { openDatabase } from ${JSON.stringify(resolve(import.meta.dir, "../src/db/database.ts"))};
const db = openDatabase("sqlite://" + process.env.FILE, 1);
const raw = new Database(process.env.FILE);
raw.exec("PRAGMA busy_timeout = 5000");
let priority = 0;
for await (const chunk of Bun.stdin.stream()) {
  for (const line of new TextDecoder().decode(chunk).split("\\n").filter(Boolean)) {
    const [kind, id] = line.split(" ");
    priority += 1;
    if (kind === "logged") await db.updateTable("task").set({ priority: priority % 5 }).where("id", "=", id).execute();
    else raw.query("update task set priority = ? where id = ?").run(priority % 5, id);
    process.stdout.write("ok\\n");
  }
}
`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "zou-bun-change-log-"));
  const file = join(dir, "bench.db");
  let writer: ReturnType<typeof Bun.spawn> | null = null;
  try {
    const production = await createBenchDatabase(file);
    const db = openDatabase(`sqlite://${file}`);
    await migrateToLatest(db);
    const config = testConfig({ databaseUrl: `sqlite://${file}` });
    const app = createApp({ db, config });
    const { token } = await signToken(config.secretKey, production.adminId, { type: "access", identityType: "person", lifetime: 3600 });
    const path = `/api/data/shots/with-tasks?project_id=${production.projectId}`;

    writeFileSync(join(dir, "writer.ts"), WRITER);
    writer = Bun.spawn([process.execPath, "run", join(dir, "writer.ts")], { env: { ...process.env, FILE: file }, stdin: "pipe", stdout: "pipe", stderr: "inherit" });
    const replies = (writer.stdout as ReadableStream<Uint8Array>).getReader();
    const stdin = writer.stdin as import("bun").FileSink;
    /** Has the other process commit one write, and waits until it has. */
    const commitElsewhere = async (kind: "logged" | "raw", taskId: string) => {
      stdin.write(`${kind} ${taskId}\n`);
      stdin.flush();
      const { value } = await replies.read();
      if (!value || !new TextDecoder().decode(value).includes("ok")) throw new Error("the writer stopped");
      await new Promise((done) => setImmediate(done)); // a new event-loop turn, as a new request is
    };
    const read = async () => {
      const response = await app.request(path, { headers: { Authorization: `Bearer ${token}`, "Accept-Encoding": "identity" } });
      if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
      return response.arrayBuffer(); // bytes, as a server sends them (no decoding to a string)
    };
    const timed = async (into: { cpu: number[]; wall: number[] }) => {
      Bun.gc(true); // the garbage of the previous case is not this one's cost
      const cpu = process.cpuUsage();
      const wall = performance.now();
      await read();
      into.wall.push(performance.now() - wall);
      const used = process.cpuUsage(cpu);
      into.cpu.push((used.user + used.system) / 1000);
    };
    const reference = new Database(file, { readonly: true });
    const floorText = () => minimalShotsWithTasks(reference, production.projectId, production.shotTypeId, production.adminId);

    // Warm-up (JIT), and a check that the answer after another process's write is the rebuilt one.
    for (let i = 0; i < 3; i++) {
      await commitElsewhere("logged", production.taskId);
      await read();
    }
    await commitElsewhere("logged", production.taskId);
    if (!Bun.deepEquals(JSON.parse(new TextDecoder().decode(await read())), JSON.parse(floorText()))) throw new Error("the answer after another process's write differs from the floor's");

    const cases = { warm: { cpu: [] as number[], wall: [] as number[] }, sameProject: { cpu: [] as number[], wall: [] as number[] }, otherProject: { cpu: [] as number[], wall: [] as number[] }, unexplained: { cpu: [] as number[], wall: [] as number[] }, floor: { cpu: [] as number[], wall: [] as number[] } };
    for (let i = 0; i < RUNS; i++) {
      await commitElsewhere("logged", production.taskId);
      await timed(cases.sameProject);
      await commitElsewhere("logged", production.otherTaskId);
      await timed(cases.otherProject);
      await timed(cases.warm);
      await commitElsewhere("raw", production.taskId);
      await timed(cases.unexplained);
      Bun.gc(true);
      const cpu = process.cpuUsage();
      const wall = performance.now();
      floorText();
      cases.floor.wall.push(performance.now() - wall);
      const used = process.cpuUsage(cpu);
      cases.floor.cpu.push((used.user + used.system) / 1000);
    }
    reference.close();
    const floorCpu = median(cases.floor.cpu);
    const labels: Record<keyof typeof cases, string> = {
      warm: "warm (no write since)",
      sameProject: "after a one-task write by another process, same project (logged)",
      otherProject: "after a one-task write by another process, other project (logged)",
      unexplained: "after a write by another process outside zou-bun (raw: every cache dropped, as any other-process write before the change log)",
      floor: "floor: bun:sqlite + JSON.stringify of the same rows",
    };
    const lines = ["| case | CPU ms (median) | x floor CPU | wall ms (median) |", "|---|---|---|---|"];
    for (const [key, values] of Object.entries(cases) as [keyof typeof cases, { cpu: number[]; wall: number[] }][]) {
      lines.push(`| ${labels[key]} | ${round(median(values.cpu))} | ${round(median(values.cpu) / floorCpu, 2)}x | ${round(median(values.wall))} |`);
    }
    const load = (await Bun.file("/proc/loadavg").text().catch(() => "")).split(" ").slice(0, 3).join(" ");
    console.log(lines.join("\n"));
    console.log(`runs: ${RUNS}, load average ${load}, Bun ${Bun.version}`);
    console.log(JSON.stringify(Object.fromEntries(Object.entries(cases).map(([k, v]) => [k, { cpu_ms: round(median(v.cpu), 2), wall_ms: round(median(v.wall), 2) }]))));
    await db.destroy();
  } finally {
    writer?.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
