/**
 * The change log (src/db/change-log.ts): writes committed by another process reach this process's
 * caches as write records, so only what they concern is rebuilt, on the very next read; rolled
 * back writes leave no row; old rows are pruned and a reader left behind them starts over.
 *
 * The other process is a real one (a Bun script writing through openDatabase), on the test
 * server's database: a SQLite file, or its PostgreSQL database with TEST_DATABASE_URL.
 * "Hidden" writes go through Kysely without its plugins: no cache and no change log sees them, so
 * they show whether an answer was rebuilt (they appear) or served as kept (they do not).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { sql } from "kysely";
import { makeServer, onPostgres, type TestServer } from "./helpers";
import { addTask, createSequence, createShot, production, type Production } from "./entities-fixtures";
import { forgetCachedAnswers } from "../src/lib/response-cache";
import { forgetListStates } from "../src/services/with-tasks-fragments";
import { CHANGE_LOG_KEEP, CHANGE_LOG_TABLE } from "../src/db/change-log";
import { openDatabase, type Db } from "../src/db/database";
import { externalVersion, refreshChangeSignal } from "../src/lib/change-signal";
import { writeLogPosition, writesSince } from "../src/db/write-tracker";

const folder = mkdtempSync(join(tmpdir(), "zou-change-log-"));
let server: TestServer;
let prod: Production;
let other: Production;
let shots: any[];
let tasks: string[];
let otherShot: any;

beforeAll(async () => {
  server = await makeServer(onPostgres ? {} : { databaseUrl: `sqlite://${join(folder, "zou.db")}` });
  prod = await production(server);
  const seq = await createSequence(server, prod.project.id, "SQ01");
  shots = [await createShot(server, prod.project.id, seq.id, "SH01"), await createShot(server, prod.project.id, seq.id, "SH02")];
  tasks = [await addTask(server, shots[0], "Animation", { assignees: [prod.artist] }), await addTask(server, shots[1], "Layout")];
  other = await production(server);
  otherShot = await createShot(server, other.project.id, (await createSequence(server, other.project.id, "OSQ")).id, "OSH01");
  await addTask(server, otherShot, "Animation");
}, 60_000);

afterAll(async () => {
  rmSync(folder, { recursive: true, force: true });
});

/** Runs `body` in another Bun process with `db` open on the server's database. */
async function inAnotherProcess(body: string): Promise<void> {
  const script = join(folder, `script-${Date.now()}-${Math.random().toString(36).slice(2)}.ts`);
  const database = resolve(import.meta.dir, "../src/db/database.ts");
  writeFileSync(script, `import { openDatabase } from ${JSON.stringify(database)};\nconst db = openDatabase(process.env.URL!, 1);\n${body}\nawait db.destroy();\n`);
  const child = Bun.spawn([process.execPath, "run", script], { env: { ...process.env, URL: server.config.databaseUrl }, stdout: "pipe", stderr: "pipe" });
  const code = await child.exited;
  if (code !== 0) throw new Error(`the other process failed: ${await new Response(child.stderr).text()}`);
}

const listOf = (projectId: string) => `/api/data/shots/with-tasks?project_id=${projectId}`;
async function read(projectId: string): Promise<any[]> {
  const answer = await server.json("GET", listOf(projectId));
  expect(answer.status).toBe(200);
  return answer.body;
}
const hidden = () => server.db.withoutPlugins();
/** Reads `db`'s change signal afresh (SQLite reads it at most once per event-loop turn). */
async function catchUp(db: Db): Promise<void> {
  await new Promise((done) => setImmediate(done));
  await refreshChangeSignal(db);
}
async function logRows(db: Db = server.db): Promise<number> {
  const row = await db.selectFrom(CHANGE_LOG_TABLE as never).select(sql<number>`count(*)`.as("n")).executeTakeFirstOrThrow();
  return Number((row as { n: number }).n);
}

describe("writes by another process, told by the change log", () => {
  test("a task written elsewhere: its entity is rebuilt at the next read, another project's list is kept", async () => {
    await read(prod.project.id);
    await read(other.project.id);
    await read(prod.project.id);
    await read(other.project.id);
    await hidden().updateTable("entity").set({ description: "hidden-other" }).where("id", "=", otherShot.id).execute();
    await hidden().updateTable("entity").set({ description: "hidden-same" }).where("id", "=", shots[0].id).execute();

    await inAnotherProcess(`await db.updateTable("task").set({ priority: 7 }).where("id", "=", ${JSON.stringify(tasks[1])}).execute();`);

    const otherList = await read(other.project.id);
    expect(JSON.stringify(otherList)).not.toContain("hidden-other"); // kept as it was
    const list = await read(prod.project.id);
    expect(list.flatMap((s: any) => s.tasks).find((t: any) => t.id === tasks[1]).priority).toBe(7);
    expect(JSON.stringify(list)).not.toContain("hidden-same"); // only SH02 was rebuilt

    await hidden().updateTable("entity").set({ description: null }).where("id", "in", [otherShot.id, shots[0].id]).execute();
    forgetCachedAnswers(server.db);
    forgetListStates(server.db);
    expect(await read(prod.project.id)).toEqual(list);
    expect(await read(other.project.id)).toEqual(otherList);
  }, 60_000);

  test("a person deactivated elsewhere is refused at the next request", async () => {
    const person = await server.person("user");
    for (let i = 0; i < 2; i++) expect((await server.json("GET", "/api/auth/authenticated", { token: person.token })).status).toBe(200);
    await inAnotherProcess(`await db.updateTable("person").set({ active: false }).where("id", "=", ${JSON.stringify(person.id)}).execute();`);
    expect((await server.json("GET", "/api/auth/authenticated", { token: person.token })).status).toBe(401);
  }, 60_000);

  test("this process's own commits leave its change signal as it was", async () => {
    await catchUp(server.db);
    const before = externalVersion(server.db);
    expect((await server.json("PUT", `/api/data/tasks/${tasks[0]}`, { body: { priority: 3 } })).status).toBe(200);
    await catchUp(server.db);
    expect(externalVersion(server.db)).toBe(before);
  });
});

describe("the rows of the change log", () => {
  test("a committed transaction stores one row with its records; a rolled back one none", async () => {
    const before = await logRows();
    await server.db.transaction().execute(async (trx) => {
      await trx.updateTable("task").set({ priority: 4 }).where("id", "=", tasks[0]!).execute();
      await trx.updateTable("task").set({ priority: 5 }).where("id", "=", tasks[1]!).execute();
    });
    expect(await logRows()).toBe(before + 1);
    const last = (await server.db.selectFrom(CHANGE_LOG_TABLE as never).select(["records" as never]).orderBy("id" as never, "desc").limit(1).executeTakeFirstOrThrow()) as { records: string };
    expect(JSON.parse(last.records)).toEqual([
      ["task", "update", [["id", [tasks[0]]]], [["priority", [4]]]],
      ["task", "update", [["id", [tasks[1]]]], [["priority", [5]]]],
    ]);
    await expect(
      server.db.transaction().execute(async (trx) => {
        await trx.updateTable("task").set({ priority: 6 }).where("id", "=", tasks[0]!).execute();
        throw new Error("changed my mind");
      }),
    ).rejects.toThrow("changed my mind");
    expect(await logRows()).toBe(before + 1);
    // A write outside a transaction gets its own row too.
    await server.db.updateTable("task").set({ priority: 1 }).where("id", "=", tasks[0]!).execute();
    expect(await logRows()).toBe(before + 2);
  });

  test("a transaction of thousands of writes is stored as one 'anything may have changed' record", async () => {
    await server.db.transaction().execute(async (trx) => {
      for (let i = 0; i < 2001; i++) await trx.updateTable("task").set({ priority: i }).where("id", "=", tasks[0]!).execute();
    });
    const last = (await server.db.selectFrom(CHANGE_LOG_TABLE as never).select(["records" as never]).orderBy("id" as never, "desc").limit(1).executeTakeFirstOrThrow()) as { records: string };
    expect(JSON.parse(last.records)).toEqual([[null, "raw", [], []]]);
  }, 60_000);

  test("old rows are pruned; a reader left behind the pruned rows starts over", async () => {
    const reader = openDatabase(server.config.databaseUrl, 1);
    try {
      await catchUp(reader);
      const before = externalVersion(reader);
      // Explained: a row of another origin right after the last one read.
      await server.db.updateTable("task").set({ priority: 2 }).where("id", "=", tasks[0]!).execute();
      const position = writeLogPosition();
      await catchUp(reader);
      expect(externalVersion(reader)).toBe(before);
      expect(writesSince(position)!.map((r) => r.table)).toEqual(["task"]);

      // Jump the ids to just before a pruning row, far past what the reader read.
      const jump = 256 * Math.ceil((CHANGE_LOG_KEEP * 2) / 256) - 1;
      if (onPostgres) await sql`SELECT setval(pg_get_serial_sequence(${CHANGE_LOG_TABLE}, 'id'), ${jump})`.execute(hidden());
      else await sql`INSERT INTO zou_bun_change_log (id, origin, records, created_at) VALUES (${jump}, 'elsewhere', '[]', 0)`.execute(hidden());
      await server.db.updateTable("task").set({ priority: 3 }).where("id", "=", tasks[0]!).execute();
      const ids = (await hidden().selectFrom(CHANGE_LOG_TABLE as never).select(["id" as never]).orderBy("id" as never).execute()).map((r) => Number((r as { id: number }).id));
      expect(ids.at(-1)).toBe(jump + 1);
      expect(ids[0]!).toBeGreaterThan(jump + 1 - CHANGE_LOG_KEEP);

      await catchUp(reader);
      expect(externalVersion(reader)).toBeGreaterThan(before);
    } finally {
      await reader.destroy();
    }
  });
});
