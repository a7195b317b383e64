#!/usr/bin/env bun
/**
 * Benchmark of the other big lists Kitsu loads on every screen (see bench/README.md, "Kept
 * lists"): sequences with-tasks, the project task lists, a todo list, persons and the user
 * context, on the production of bench/with-tasks-data.ts (2,000 shots x 10 task types = 20,000
 * tasks, and a second project of 10 shots).
 *
 * Each list is timed (full HTTP answer, `Accept-Encoding: identity`, median of N interleaved
 * runs) in four states: cold (after a commit by another process: every cache dropped), after a
 * one-task write in the same project, after a one-task write in the other project, and warm.
 *
 *   node_modules/.bin/bun bench/lists.ts [--runs 9]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { createApp } from "../src/app";
import { testConfig } from "../src/config";
import { openDatabase } from "../src/db/database";
import { signToken } from "../src/lib/jwt";
import { createBenchDatabase } from "./with-tasks-data";

const RUNS = Math.max(3, Math.min(Number(process.argv[process.argv.indexOf("--runs") + 1]) || 9, 50));
const SHOTS = 2000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "zou-bun-lists-"));
  const file = join(dir, "bench.db");
  let server: ReturnType<typeof Bun.serve> | null = null;
  try {
    const production = await createBenchDatabase(file, SHOTS);
    const { projectId, adminId, taskId, otherTaskId } = production;
    const db = openDatabase(`sqlite://${file}`);
    const artist = (await db.selectFrom("person").select("id").where("email", "=", "artist0@example.com").executeTakeFirstOrThrow()).id;
    const config = testConfig({ databaseUrl: `sqlite://${file}` });
    const app = createApp({ db, config });
    server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
    const { token } = await signToken(config.secretKey, adminId, { type: "access", identityType: "person", lifetime: 3600 });
    const base = `http://127.0.0.1:${server.port}/api`;
    const lists: [string, string][] = [
      ["sequences with-tasks", `/data/sequences/with-tasks?project_id=${projectId}`],
      ["project tasks (`/data/projects/{id}/tasks`)", `/data/projects/${projectId}/tasks`],
      ["project tasks (`/data/tasks?project_id=`)", `/data/tasks?project_id=${projectId}`],
      ["todo list of an artist (`/data/persons/{id}/tasks`)", `/data/persons/${artist}/tasks`],
      ["persons (`/data/persons`)", `/data/persons`],
      ["user context", `/data/user/context`],
    ];
    const fetchText = async (path: string) => {
      const response = await fetch(base + path, { headers: { Authorization: `Bearer ${token}`, "Accept-Encoding": "identity" } });
      if (response.status !== 200) throw new Error(`${path}: HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`);
      return response.text();
    };
    const timed = async (into: number[], path: string) => {
      const t = performance.now();
      await fetchText(path);
      into.push(performance.now() - t);
    };
    let priority = 0;
    // Through the server's Kysely, as a route would write.
    const writeTask = (id: string) => db.updateTable("task").set({ priority: ++priority % 5 }).where("id", "=", id).execute();
    const external = new Database(file);
    const externalCommit = () => external.query("insert or replace into kv_store (key, value) values ('bench-external', ?)").run(String(++priority));

    const sizes = new Map<string, number>();
    for (const [, path] of lists) sizes.set(path, Buffer.byteLength(await fetchText(path)));
    const times = new Map(lists.map(([, path]) => [path, { cold: [] as number[], sameProject: [] as number[], otherProject: [] as number[], warm: [] as number[] }]));
    for (let i = 0; i < RUNS; i++) {
      for (const [, path] of lists) {
        const t = times.get(path)!;
        externalCommit();
        await timed(t.cold, path);
        await writeTask(taskId);
        await timed(t.sameProject, path);
        await writeTask(otherTaskId);
        await timed(t.otherProject, path);
        await timed(t.warm, path);
      }
      await Bun.sleep(10);
    }
    external.close();
    console.log(`production: ${SHOTS} shots, ${production.tasks} tasks; ${RUNS} runs; load average ${(await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ")}`);
    console.log("| list (answer size) | cold | after a one-task write, same project | after a write in another project | warm |");
    console.log("|---|---|---|---|---|");
    for (const [label, path] of lists) {
      const t = times.get(path)!;
      const size = sizes.get(path)!;
      const kib = size > 1048576 ? `${round(size / 1048576, 2)} MiB` : `${round(size / 1024)} KiB`;
      console.log(`| ${label} (${kib}) | ${round(median(t.cold))} ms | ${round(median(t.sameProject))} ms | ${round(median(t.otherProject))} ms | ${round(median(t.warm))} ms |`);
    }
  } finally {
    server?.stop(true);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
