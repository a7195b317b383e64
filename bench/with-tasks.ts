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
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Database } from "bun:sqlite";
import { createApp } from "../src/app";
import { testConfig } from "../src/config";
import { openDatabase, migrateToLatest } from "../src/db/database";
import { initData } from "../src/services/init-data";
import { signToken } from "../src/lib/jwt";

const RUNS = Math.max(3, Math.min(Number(process.argv[process.argv.indexOf("--runs") + 1]) || 15, 100));
const WRITE_README = !process.argv.includes("--no-readme");
const SEQUENCES = 20;
const SHOTS_PER_SEQUENCE = 100;
const TASK_TYPES = 10;
const ASSIGNEES = 5;

const uuid = () => crypto.randomUUID();
const now = "2026-01-01T10:00:00";

/** Writes the production straight into the SQLite file (one transaction). */
function buildProduction(file: string): { projectId: string; adminId: string; shotTypeId: string } {
  const sqlite = new Database(file);
  const adminId = uuid();
  const projectId = uuid();
  const one = (sql: string, ...args: any[]) => sqlite.query(sql).get(...args) as any;
  sqlite.transaction(() => {
    sqlite.query("insert into person (id, created_at, updated_at, first_name, last_name, email, role, active) values (?, ?, ?, 'Bench', 'Admin', 'bench@example.com', 'admin', 1)").run(adminId, now, now);
    const open = one("select id from project_status where name = 'Open'");
    sqlite.query("insert into project (id, created_at, updated_at, name, project_status_id, fps) values (?, ?, ?, 'Bench', ?, '25')").run(projectId, now, now, open.id);
    const shotType = one("select id from entity_type where name = 'Shot'");
    const sequenceType = one("select id from entity_type where name = 'Sequence'");
    const status = one("select id from task_status where short_name = 'todo'");
    const taskTypes = (sqlite.query("select id from task_type where for_entity = 'Shot'").all() as { id: string }[]).map((r) => r.id);
    for (let i = taskTypes.length; i < TASK_TYPES; i++) {
      const id = uuid();
      sqlite.query("insert into task_type (id, created_at, updated_at, name, short_name, color, priority, for_entity, allow_timelog, archived) values (?, ?, ?, ?, '', '#999999', ?, 'Shot', 1, 0)").run(id, now, now, `Bench ${i}`, i + 1);
      taskTypes.push(id);
    }
    const people: string[] = [];
    for (let i = 0; i < ASSIGNEES; i++) {
      const id = uuid();
      sqlite.query("insert into person (id, created_at, updated_at, first_name, last_name, email, role, active) values (?, ?, ?, 'Artist', ?, ?, 'user', 1)").run(id, now, now, String(i), `artist${i}@example.com`);
      people.push(id);
    }
    const insertEntity = sqlite.query(
      "insert into entity (id, created_at, updated_at, name, description, data, project_id, entity_type_id, parent_id, nb_frames, nb_entities_out, is_casting_standby, is_shared, canceled, status) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 'running')",
    );
    const insertTask = sqlite.query(
      "insert into task (id, created_at, updated_at, name, project_id, entity_id, task_type_id, task_status_id, priority, difficulty, duration, estimation, retake_count, nb_assets_ready, nb_drawings, start_date, due_date, data) values (?, ?, ?, 'main', ?, ?, ?, ?, 0, 3, ?, ?, ?, 0, 0, ?, ?, ?)",
    );
    const insertLink = sqlite.query("insert into task_person_link (task_id, person_id) values (?, ?)");
    let n = 0;
    for (let s = 0; s < SEQUENCES; s++) {
      const sequenceId = uuid();
      insertEntity.run(sequenceId, now, now, `SQ${String(s + 1).padStart(3, "0")}`, null, "{}", projectId, sequenceType.id, null, null);
      for (let k = 0; k < SHOTS_PER_SEQUENCE; k++) {
        const shotId = uuid();
        const frameIn = 1001;
        const frames = 24 + ((s * SHOTS_PER_SEQUENCE + k) % 200);
        insertEntity.run(shotId, now, now, `SH${String(k + 1).padStart(4, "0")}`, `Shot ${k} of sequence ${s}`,
          JSON.stringify({ frame_in: frameIn, frame_out: frameIn + frames - 1, fps: 25, camera: `cam_${k % 7}` }), projectId, shotType.id, sequenceId, frames);
        for (const taskTypeId of taskTypes) {
          const taskId = uuid();
          n++;
          insertTask.run(taskId, now, now, projectId, shotId, taskTypeId, status.id, n % 5 === 0 ? 2.5 : 0, n % 3, n % 4,
            n % 2 ? "2026-02-01T09:00:00" : null, n % 2 ? "2026-03-01T18:00:00" : null, n % 10 === 0 ? JSON.stringify({ note: n }) : null);
          if (n % 3 !== 0) insertLink.run(taskId, people[n % ASSIGNEES]!);
          if (n % 7 === 0) insertLink.run(taskId, people[(n + 1) % ASSIGNEES]!);
        }
      }
    }
  })();
  const shotTypeId = (one("select id from entity_type where name = 'Shot'") as { id: string }).id;
  sqlite.close();
  return { projectId, adminId, shotTypeId };
}

/**
 * The reference: a minimal script reading the same rows with bun:sqlite and serialising the
 * same JSON shape (Zou's plain with-tasks array).
 */
function minimalShotsWithTasks(sqlite: Database, projectId: string, shotTypeId: string, personId: string): string {
  const shots = sqlite
    .query(
      `select e.id, e.name, e.description, e.data, e.canceled, e.entity_type_id, e.parent_id, e.preview_file_id, e.source_id,
              e.nb_frames, e.nb_entities_out, e.is_casting_standby, e.project_id, ep.id as episode_id, ep.name as episode_name,
              s.id as sequence_id, s.name as sequence_name, p.name as project_name
         from entity e join entity s on s.id = e.parent_id join project p on p.id = e.project_id left join entity ep on ep.id = s.parent_id
        where e.entity_type_id = ? and e.project_id = ? order by s.name, e.name`,
    )
    .all(shotTypeId, projectId) as any[];
  const tasks = sqlite
    .query(
      `select t.id, t.entity_id, t.task_type_id, t.task_status_id, t.priority, t.estimation, t.duration, t.retake_count,
              t.real_start_date, t.end_date, t.start_date, t.due_date, t.done_date, t.last_comment_date, t.last_preview_file_id,
              t.nb_assets_ready, t.difficulty, t.nb_drawings, t.data
         from task t join entity e on e.id = t.entity_id join entity s on s.id = e.parent_id
        where e.entity_type_id = ? and e.project_id = ?`,
    )
    .all(shotTypeId, projectId) as any[];
  const links = sqlite
    .query(
      `select l.task_id, l.person_id from task_person_link l join task t on t.id = l.task_id join entity e on e.id = t.entity_id
         join entity s on s.id = e.parent_id where e.entity_type_id = ? and e.project_id = ?`,
    )
    .all(shotTypeId, projectId) as any[];
  const subscribed = new Set(
    (sqlite.query("select s.task_id from subscription s join task t on t.id = s.task_id where s.person_id = ? and t.project_id = ?").all(personId, projectId) as any[]).map((r) => r.task_id),
  );
  const assignees = new Map<string, string[]>();
  for (const link of links) {
    const list = assignees.get(link.task_id);
    if (list) list.push(link.person_id);
    else assignees.set(link.task_id, [link.person_id]);
  }
  const byShot = new Map<string, any[]>();
  for (const t of tasks) {
    const task = {
      id: t.id, duration: t.duration, due_date: t.due_date, end_date: t.end_date, done_date: t.done_date, entity_id: t.entity_id,
      estimation: t.estimation, is_subscribed: subscribed.has(t.id), last_comment_date: t.last_comment_date,
      last_preview_file_id: t.last_preview_file_id, nb_assets_ready: t.nb_assets_ready, priority: t.priority ?? 0,
      real_start_date: t.real_start_date, retake_count: t.retake_count, start_date: t.start_date, difficulty: t.difficulty,
      nb_drawings: t.nb_drawings, task_status_id: t.task_status_id, task_type_id: t.task_type_id,
      assignees: assignees.get(t.id) ?? [], data: t.data === null ? null : JSON.parse(t.data),
    };
    const list = byShot.get(t.entity_id);
    if (list) list.push(task);
    else byShot.set(t.entity_id, [task]);
  }
  const out = shots.map((row) => {
    const data = row.data ? JSON.parse(row.data) : {};
    return {
      canceled: Boolean(row.canceled), data, description: row.description, entity_type_id: row.entity_type_id,
      episode_id: row.episode_id, episode_name: row.episode_name ?? "", fps: data.fps ?? null, frame_in: data.frame_in ?? null,
      frame_out: data.frame_out ?? null, id: row.id, name: row.name, nb_frames: row.nb_frames, parent_id: row.parent_id,
      preview_file_id: row.preview_file_id, project_id: row.project_id, project_name: row.project_name, sequence_id: row.sequence_id,
      sequence_name: row.sequence_name, source_id: row.source_id, nb_entities_out: row.nb_entities_out,
      is_casting_standby: Boolean(row.is_casting_standby), tasks: byShot.get(row.id) ?? [], type: "Shot",
    };
  });
  return JSON.stringify(out);
}

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
    const { projectId, adminId, shotTypeId } = buildProduction(file);
    const counts = new Database(file, { readonly: true });
    const taskCount = (counts.query("select count(*) as n from task").get() as { n: number }).n;
    const linkCount = (counts.query("select count(*) as n from task_person_link").get() as { n: number }).n;
    counts.close();
    console.log(`production: ${SEQUENCES * SHOTS_PER_SEQUENCE} shots, ${taskCount} tasks, ${linkCount} assignations (${round(performance.now() - started, 0)} ms to build)`);

    const config = testConfig({ databaseUrl: `sqlite://${file}` });
    const app = createApp({ db, config });
    server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
    const { token } = await signToken(config.secretKey, adminId, { type: "access", identityType: "person", lifetime: 3600 });
    const url = `http://127.0.0.1:${server.port}/api/data/shots/with-tasks?project_id=${projectId}`;
    const headers = { Authorization: `Bearer ${token}` };

    const fetchText = async (query = "") => {
      const response = await fetch(url + query, { headers });
      if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`);
      return response.text();
    };
    const reference = new Database(file, { readonly: true });
    const minimal = () => minimalShotsWithTasks(reference, projectId, shotTypeId, adminId);

    // Same answer: parse both and compare.
    const served = JSON.parse(await fetchText());
    const expected = JSON.parse(minimal());
    if (served.length !== expected.length || !Bun.deepEquals(served, expected)) {
      const i = served.findIndex((shot: unknown, k: number) => !Bun.deepEquals(shot, expected[k]));
      throw new Error(`answers differ (first difference at row ${i}): ${JSON.stringify(served[i]).slice(0, 400)} vs ${JSON.stringify(expected[i]).slice(0, 400)}`);
    }
    const bytes = Buffer.byteLength(await fetchText());

    for (let i = 0; i < 3; i++) {
      await fetchText();
      minimal();
    }
    // Any write invalidates the server's answer cache: measure cold answers after one, and
    // warm ones (the same caller asking again on an unchanged database) separately.
    const invalidate = () => db.deleteFrom("kv_store").where("key", "=", "bench-invalidate").execute();
    const serverTimes: number[] = [];
    const warmTimes: number[] = [];
    const minimalTimes: number[] = [];
    const ndjsonTimes: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      await invalidate();
      let t = performance.now();
      await fetchText();
      serverTimes.push(performance.now() - t);
      await Bun.sleep(20);
      t = performance.now();
      await fetchText();
      warmTimes.push(performance.now() - t);
      t = performance.now();
      minimal();
      minimalTimes.push(performance.now() - t);
      await invalidate();
      t = performance.now();
      await fetchText("&stream=true&compact=true");
      ndjsonTimes.push(performance.now() - t);
    }
    reference.close();
    const serverMedian = median(serverTimes);
    const minimalMedian = median(minimalTimes);
    const ndjsonMedian = median(ndjsonTimes);
    const warmMedian = median(warmTimes);
    const ratio = serverMedian / minimalMedian;
    console.log(`answer: ${round(bytes / 1048576, 2)} MiB JSON array`);
    console.log(`server  GET /api/data/shots/with-tasks (HTTP, 127.0.0.1): median ${round(serverMedian)} ms over ${RUNS} runs`);
    console.log(`minimal bun:sqlite + JSON.stringify, same rows and shape:  median ${round(minimalMedian)} ms`);
    console.log(`ratio server / minimal: ${round(ratio, 2)} (goal: within 2x)`);
    console.log(`server  same list as NDJSON (stream=true&compact=true):     median ${round(ndjsonMedian)} ms`);
    console.log(`server  same request again, database unchanged (cached):   median ${round(warmMedian)} ms`);

    if (WRITE_README) {
      writeReadme(`## with-tasks list (bench/with-tasks.ts)

\`node_modules/.bin/bun bench/with-tasks.ts\` builds a production of ${SEQUENCES * SHOTS_PER_SEQUENCE} shots in ${SEQUENCES} sequences with
${TASK_TYPES} shot task types (${taskCount} tasks, ${ASSIGNEES} assignees, ${linkCount} assignations) in a temporary SQLite file,
serves the app with Bun.serve on 127.0.0.1 and times \`GET /api/data/shots/with-tasks?project_id=...\` (full HTTP answer
read by fetch, median of ${RUNS} runs). The reference is a minimal Bun script on the same file: bun:sqlite queries of the
same rows and JSON.stringify of the same shape, without HTTP nor permission checks. Both answers are checked equal.

| measure | median |
|---|---|
| server, plain JSON array (${round(bytes / 1048576, 2)} MiB), after a write (cold) | ${round(serverMedian)} ms |
| minimal bun:sqlite + JSON.stringify | ${round(minimalMedian)} ms |
| **ratio server / minimal** (goal ≤ 2) | **${round(ratio, 2)}** |
| server, NDJSON compact (\`stream=true&compact=true\`, what Kitsu asks), cold | ${round(ndjsonMedian)} ms |
| server, the same request again with no write in between (answer cache) | ${round(warmMedian)} ms |

Last run: ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, Bun ${Bun.version}, ${navigator.hardwareConcurrency} CPUs
(a shared machine: single runs vary by ±30 %, the ratio is measured with both sides interleaved).
How the server stays close: three flat queries (shots, tasks, the project's assignee links) plus the caller's
subscriptions, grouped in memory; rows built as plain objects (positional arrays when compact) by per-field getters
and serialised by the native JSON.stringify. A first version writing JSON text by string concatenation measured
1.8-2.0x: JavaScriptCore's ropes make that 5-8x slower than JSON.stringify on 20,000 tasks. The plain array goes out
as one body; NDJSON is streamed line by line in 1 MB chunks. Answers are kept per caller and URL
(\`src/lib/response-cache.ts\`) until the next write of any kind, at most 30 s.`);
      console.log("bench/README.md updated");
    }
  } finally {
    server?.stop(true);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
