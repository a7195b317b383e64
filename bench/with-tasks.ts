#!/usr/bin/env bun
/**
 * Benchmark of `GET /api/data/shots/with-tasks?project_id=...` (see bench/README.md).
 *
 * Builds a production of 2,000 shots in 20 sequences with 10 shot task types (20,000 tasks, five
 * assignees spread over them) in a temporary SQLite file, serves the real app with Bun.serve on
 * 127.0.0.1 and times the full HTTP answer (median of N runs). The reference is a minimal Bun
 * script on the same file: bun:sqlite queries of the same rows and JSON.stringify of the same
 * shape (no HTTP, no permission check). Both answers are checked to be equal.
 *
 *   node_modules/.bin/bun bench/with-tasks.ts [--runs 15] [--no-readme]
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Database } from "bun:sqlite";
import { createApp } from "../src/app";
import { testConfig } from "../src/config";
import { openDatabase, migrateToLatest } from "../src/db/database";
import { initData } from "../src/services/init-data";
import { signToken } from "../src/lib/jwt";
import { ASSIGNEES, buildProduction, minimalShotsWithTasks, TASK_TYPES } from "./with-tasks-data";

const RUNS = Math.max(3, Math.min(Number(process.argv[process.argv.indexOf("--runs") + 1]) || 15, 100));
const WRITE_README = !process.argv.includes("--no-readme");
const SHOTS = 2000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Replaces (or appends) this benchmark's section of bench/README.md, leaving other sections alone. */
function writeReadme(section: string): void {
  const path = resolve(import.meta.dir, "README.md");
  const start = "<!-- with-tasks bench: start -->";
  const end = "<!-- with-tasks bench: end -->";
  const block = `${start}\n${section.trim()}\n${end}`;
  const current = existsSync(path) ? readFileSync(path, "utf8") : "# Benchmarks\n";
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  const next = from !== -1 && to > from ? current.slice(0, from) + block + current.slice(to + end.length) : `${current.trimEnd()}\n\n${block}\n`;
  writeFileSync(path, next);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "zou-bun-with-tasks-"));
  const file = join(dir, "bench.db");
  let server: ReturnType<typeof Bun.serve> | null = null;
  try {
    const db = openDatabase(`sqlite://${file}`);
    await migrateToLatest(db);
    await initData(db, "3d");
    const started = performance.now();
    const production = buildProduction(file, SHOTS);
    const { projectId, adminId, shotTypeId, tasks: taskCount, links: linkCount } = production;
    console.log(`production: ${SHOTS} shots, ${taskCount} tasks, ${linkCount} assignations (${round(performance.now() - started, 0)} ms to build)`);

    const config = testConfig({ databaseUrl: `sqlite://${file}` });
    const app = createApp({ db, config });
    server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
    const { token } = await signToken(config.secretKey, adminId, { type: "access", identityType: "person", lifetime: 3600 });
    const url = `http://127.0.0.1:${server.port}/api/data/shots/with-tasks?project_id=${projectId}`;

    /** Bun's fetch asks for gzip/br/zstd by default; `identity` asks for the plain body. */
    const fetchText = async (query = "", identity = true) => {
      const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
      if (identity) headers["Accept-Encoding"] = "identity";
      const response = await fetch(url + query, { headers });
      if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`);
      return response.text();
    };
    /** CPU time of this process (server and client, all threads), per measure: steadier than wall time on a busy machine. */
    const cpu: Record<string, number[]> = {};
    const cpuOf = (into: number[]) => {
      const name = Object.keys(times).find((k) => times[k as keyof typeof times] === into)!;
      return (cpu[name] ??= []);
    };
    const cpuMs = (start: NodeJS.CpuUsage) => {
      const used = process.cpuUsage(start);
      return (used.user + used.system) / 1000;
    };
    const timed = async (into: number[], query = "", identity = true) => {
      const c0 = process.cpuUsage();
      const t = performance.now();
      const text = await fetchText(query, identity);
      into.push(performance.now() - t);
      cpuOf(into).push(cpuMs(c0));
      return text;
    };
    const reference = new Database(file, { readonly: true });
    const minimal = () => minimalShotsWithTasks(reference, projectId, shotTypeId, adminId);
    // Writes: one task of the project (through the server's Kysely, as a route would), one task of
    // the other project, and a commit by another connection (what the CLI or another worker does:
    // every cache of the server is dropped).
    let priority = 0;
    const writeTask = (taskId: string) => db.updateTable("task").set({ priority: ++priority % 5 }).where("id", "=", taskId).execute();
    const external = new Database(file);
    const externalCommit = () => external.query("insert or replace into kv_store (key, value) values ('bench-external', ?)").run(String(++priority));

    const same = (served: string, label: string) => {
      const expected = JSON.parse(minimal());
      const got = JSON.parse(served);
      if (got.length !== expected.length || !Bun.deepEquals(got, expected)) {
        const i = got.findIndex((shot: unknown, k: number) => !Bun.deepEquals(shot, expected[k]));
        throw new Error(`${label}: answers differ (first difference at row ${i}): ${JSON.stringify(got[i]).slice(0, 400)} vs ${JSON.stringify(expected[i]).slice(0, 400)}`);
      }
    };
    same(await fetchText(), "first answer");
    const bytes = Buffer.byteLength(await fetchText());
    for (let i = 0; i < 3; i++) {
      await writeTask(production.taskId);
      await fetchText();
      minimal();
    }
    await writeTask(production.taskId);
    same(await fetchText(), "after a one-task write");
    same(await fetchText("", false), "compressed, after a one-task write");

    const times = {
      cold: [] as number[], sameProject: [] as number[], otherProject: [] as number[], warm: [] as number[],
      sameProjectEncoded: [] as number[], warmEncoded: [] as number[], ndjson: [] as number[], floor: [] as number[],
    };
    for (let i = 0; i < RUNS; i++) {
      externalCommit();
      await timed(times.cold);
      // The compact form has its own fragments: build them again after the commit (not timed).
      await fetchText("&stream=true&compact=true");
      await writeTask(production.taskId);
      await timed(times.sameProject);
      await timed(times.warm);
      await writeTask(production.otherTaskId);
      await timed(times.otherProject);
      // Compressed: as Kitsu asks every time, so the answer before the write was compressed too.
      await fetchText("", false);
      await writeTask(production.taskId);
      await timed(times.sameProjectEncoded, "", false);
      await timed(times.warmEncoded, "", false);
      await writeTask(production.taskId);
      await timed(times.ndjson, "&stream=true&compact=true");
      const c0 = process.cpuUsage();
      const t = performance.now();
      minimal();
      times.floor.push(performance.now() - t);
      cpuOf(times.floor).push(cpuMs(c0));
      await Bun.sleep(10);
    }
    reference.close();
    external.close();
    const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])) as Record<keyof typeof times, number>;
    const x = (value: number) => `${round(value / m.floor, 2)}x`;
    const mc = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, median(v)])) as Record<keyof typeof times, number>;
    const cpuRows: [string, keyof typeof times][] = [
      ["cold", "cold"], ["after a one-task write", "sameProject"], ["after a write in another project", "otherProject"], ["warm", "warm"],
      ["after a one-task write, NDJSON compact", "ndjson"], ["after a one-task write, compressed", "sameProjectEncoded"], ["warm, compressed", "warmEncoded"],
    ];
    const rowsOut: [string, number][] = [
      ["cold: after a commit by another process (everything rebuilt)", m.cold],
      ["**after a one-task write in the same project**", m.sameProject],
      ["after a write in another project", m.otherProject],
      ["warm: the same request again, no write in between", m.warm],
      ["after a one-task write, NDJSON compact (`stream=true&compact=true`)", m.ndjson],
      ["after a one-task write, compressed (Bun fetch's default Accept-Encoding)", m.sameProjectEncoded],
      ["warm, compressed (Bun fetch's default Accept-Encoding)", m.warmEncoded],
    ];
    console.log(`answer: ${round(bytes / 1048576, 2)} MiB JSON array; floor (minimal bun:sqlite + JSON.stringify): median ${round(m.floor)} ms`);
    for (const [label, value] of rowsOut) console.log(`${label.replaceAll("*", "")}: median ${round(value)} ms (${x(value)} floor)`);
    console.log(`CPU time (server + client, all threads), median: floor ${round(mc.floor)} ms; ${cpuRows.map(([label, k]) => `${label} ${round(mc[k])} ms (${round(mc[k] / mc.floor, 2)}x)`).join("; ")}; load average ${loadavg().map((v) => v.toFixed(2)).join(" ")}`);

    if (WRITE_README) {
      writeReadme(`## with-tasks list (bench/with-tasks.ts)

\`node_modules/.bin/bun bench/with-tasks.ts\` builds a production of ${SHOTS} shots in ${SHOTS / 100} sequences with
${TASK_TYPES} shot task types (${taskCount} tasks, ${ASSIGNEES} assignees, ${linkCount} assignations) and a second project of 10 shots
in a temporary SQLite file, serves the app with Bun.serve on 127.0.0.1 and times \`GET /api/data/shots/with-tasks?project_id=...\`
(full HTTP answer read by fetch, \`Accept-Encoding: identity\` unless said, median of ${RUNS} interleaved runs). The floor is a
minimal Bun script on the same file: bun:sqlite queries of the same rows and JSON.stringify of the same shape, without HTTP
nor permission checks. Answers after a write are checked equal to the floor's.

| measure (answer: ${round(bytes / 1048576, 2)} MiB) | median | vs floor |
|---|---|---|
| floor: minimal bun:sqlite + JSON.stringify | ${round(m.floor)} ms | 1x |
${rowsOut.map(([label, value]) => `| ${label} | ${round(value)} ms | ${x(value)} |`).join("\n")}

Last run: ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, Bun ${Bun.version}, ${navigator.hardwareConcurrency} CPUs
(a shared machine: single runs vary by ±30 %; the floor is measured in the same runs).`);
      console.log("bench/README.md updated");
    }
  } finally {
    server?.stop(true);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
