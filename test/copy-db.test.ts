/**
 * `copy-db` (issue 15 item 5): the generic copier of src/services/db-copy.ts. A studio built
 * through the API (on the test database: SQLite in memory, or PostgreSQL with TEST_DATABASE_URL)
 * is copied into a SQLite file: every row of every table arrives with the same values, the
 * backward references (entity parents, entity → preview file) included; a non-empty target is
 * refused without upsert and an upsert runs again; the copy answers the API as the source did.
 * With PostgreSQL reachable, SQLite → PostgreSQL → SQLite gives back the same rows.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
import { createApp } from "../src/app";
import { testConfig } from "../src/config";
import { isPostgres } from "../src/db/dialect";
import { TABLES } from "../src/db/tables.generated";
import { newId, utcNow } from "../src/lib/ids";
import { closeTarget, convertValue, copyDatabase, copyPlan, CopyError, openSource, openTarget, summaryLines, terminalProgress } from "../src/services/db-copy";
import { emptyPostgresDatabase, makeServer, onPostgres, tokenFor, type TestServer } from "./helpers";
import { buildStudio, type Studio } from "./seed-fixtures";

const root = resolve(import.meta.dir, "..");
const folder = mkdtempSync(join(tmpdir(), "zou-bun-copydb-"));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Every row of every copied table, values in SQLite's stored form, JSON parsed, sorted: comparable across databases. */
async function snapshot(db: any): Promise<Record<string, Record<string, unknown>[]>> {
  const out: Record<string, Record<string, unknown>[]> = {};
  for (const table of copyPlan()) {
    const rows = (await db.selectFrom(table.name).selectAll().execute()) as Record<string, unknown>[];
    out[table.name] = rows
      .map((row) => {
        const normal: Record<string, unknown> = {};
        for (const [column, kind] of Object.entries(table.columns)) {
          let value = convertValue(kind, row[column], false);
          if ((kind === "json" || kind === "array") && typeof value === "string") value = JSON.parse(value);
          if (kind === "datetime" && typeof value === "string") value = value.replace(" ", "T").replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
          normal[column] = value;
        }
        return normal;
      })
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  }
  return out;
}

/** Lists of rows sorted by id, lists of ids sorted: the API leaves the order of rows with equal sort keys to the database. */
function sortedById(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(sortedById);
    if (items.every((i) => typeof i === "string")) return items.sort();
    return items.every((i) => i && typeof i === "object" && "id" in (i as object)) ? items.sort((a: any, b: any) => String(a.id).localeCompare(String(b.id))) : items;
  }
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, sortedById(v)]));
  return value;
}

let server: TestServer;
let studio: Studio;
let previewId: string;

beforeAll(async () => {
  server = await makeServer();
  studio = await buildStudio(server);
  // A preview file shown as the shot's thumbnail: the entity → preview_file → task → entity cycle.
  previewId = newId();
  const now = utcNow();
  await server.db.insertInto("preview_file").values({
    id: previewId, created_at: now, updated_at: now, name: "sh010_v1", revision: 1, extension: "mp4",
    task_id: studio.tasks.animSh010.id, person_id: studio.artist.id, status: "ready", annotations: JSON.stringify([{ time: 0, drawing: { objects: [] } }]),
  } as any).execute();
  await server.db.updateTable("entity").set({ preview_file_id: previewId } as any).where("id", "=", studio.shots.sh010.id).execute();
  // A shot whose id sorts before its sequence's (it waits for its parent, whose name the search
  // index takes), and two assets pointing at each other (a cycle of rows, set after they exist).
  const sequence = { id: "ffffffff-0000-4000-8000-000000000001", name: "Zzparent", project_id: studio.project.id, entity_type_id: studio.sequence.entity_type_id, created_at: now, updated_at: now };
  await server.db.insertInto("entity").values(sequence as any).execute();
  await server.db.insertInto("entity").values({ ...sequence, id: "00000000-0000-4000-8000-000000000002", name: "Early", entity_type_id: studio.shots.sh010.entity_type_id, parent_id: sequence.id } as any).execute();
  await server.db.updateTable("entity").set({ source_id: studio.assets.tree.id } as any).where("id", "=", studio.assets.rabbit.id).execute();
  await server.db.updateTable("entity").set({ source_id: studio.assets.rabbit.id } as any).where("id", "=", studio.assets.tree.id).execute();
  await server.db.insertInto("kv_store").values({ key: "blocked-jti-test", value: "1", expires_at: Date.now() + 3_600_000 } as any).execute();
}, 60_000);

describe("copy-db", () => {
  test("the plan puts every referenced table first and defers only the backward references", () => {
    const plan = copyPlan();
    const position = new Map(plan.map((t, i) => [t.name, i]));
    expect(plan.at(-1)!.name).toBe("kv_store");
    expect(plan.find((t) => t.name === "entity")!.deferred.sort()).toEqual(["parent_id", "preview_file_id", "source_id"]);
    expect(plan.find((t) => t.name === "project")!.deferred).toEqual(["from_schedule_version_id"]);
    expect(plan.find((t) => t.name === "task")!.deferred).toEqual([]);
    for (const table of plan) {
      for (const [column, def] of Object.entries((TABLES as Record<string, { columns: object }>)[table.name]?.columns ?? {})) {
        const fk = (def as any).fk as string | undefined;
        if (!fk || table.deferred.includes(column)) continue;
        expect(position.get(fk.split(".")[0]!)!).toBeLessThan(position.get(table.name)!);
      }
    }
  });

  test("a studio copied into a SQLite file holds the same rows and answers the API the same", async () => {
    const url = `sqlite://${join(folder, "copy.db")}`;
    const target = await openTarget(url);
    try {
      const counts = await copyDatabase(server.db, target);
      expect(counts.find((c) => c.table === "entity")!.rows).toBeGreaterThanOrEqual(6);
      expect(counts.find((c) => c.table === "comment")!.rows).toBeGreaterThanOrEqual(2);
      expect(counts.find((c) => c.table === "kv_store")!.rows).toBe(1);
      expect(await snapshot(target)).toEqual(await snapshot(server.db));

      // The copy answers as the source: same ids, same JSON.
      const config = testConfig({ databaseUrl: url, secretKey: server.config.secretKey });
      const app = createApp({ db: target as any, config });
      const token = await tokenFor(config, server.admin.id);
      for (const path of [
        `/api/data/projects/${studio.project.id}`,
        `/api/data/shots/${studio.shots.sh010.id}`,
        `/api/data/assets/${studio.assets.rabbit.id}`,
        `/api/data/tasks/${studio.tasks.animSh010.id}/comments`,
        `/api/data/persons/${studio.artist.id}`,
      ]) {
        const copied = await app.request(path, { headers: { Authorization: `Bearer ${token}` } });
        const original = await server.request("GET", path);
        expect(copied.status).toBe(200);
        expect(sortedById(await copied.json())).toEqual(sortedById(await original.json()));
      }
      const shot = await (await app.request(`/api/data/entities/${studio.shots.sh010.id}`, { headers: { Authorization: `Bearer ${token}` } })).json();
      expect(shot.preview_file_id).toBe(previewId);
      expect(shot.parent_id).toBe(studio.sequence.id);
      // A target that holds rows is refused; an upsert runs again and changes nothing.
      await expect(copyDatabase(server.db, target)).rejects.toThrow(CopyError);
      await expect(copyDatabase(server.db, target)).rejects.toThrow(/not empty/);
      await copyDatabase(server.db, target, { existing: "upsert" });
      expect(await snapshot(target)).toEqual(await snapshot(server.db));
      // People log in with the same password on the copy.
      const login = await app.request("/api/auth/login", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ email: studio.artist.email, password: studio.artist.password }),
      });
      expect(login.status).toBe(200);
      // The search index was rebuilt by its triggers.
      const search = await app.request("/api/data/search", {
        method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ query: studio.assets.rabbit.name }),
      });
      expect(JSON.stringify(await search.json())).toContain(studio.assets.rabbit.id);
      const byParent = await app.request("/api/data/search", {
        method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ query: "zzparent early" }),
      });
      expect(JSON.stringify(await byParent.json())).toContain("00000000-0000-4000-8000-000000000002");

    } finally {
      await closeTarget(target);
    }
  }, 60_000);

  test("upsert brings changed rows over; replace also drops rows the source lacks", async () => {
    const url = `sqlite://${join(folder, "again.db")}`;
    const target = await openTarget(url);
    try {
      await copyDatabase(server.db, target);
      await target.updateTable("project").set({ description: "changed on the target" }).where("id", "=", studio.project.id).execute();
      const extra = newId();
      await target.insertInto("department").values({ id: extra, name: "Only here", color: "#000000" } as any).execute();
      await copyDatabase(server.db, target, { existing: "upsert" });
      const project = await target.selectFrom("project").select("description").where("id", "=", studio.project.id).executeTakeFirstOrThrow();
      expect(project.description).toBe(studio.project.description ?? null);
      expect(await target.selectFrom("department").select("id").where("id", "=", extra).executeTakeFirst()).toBeDefined();
      await copyDatabase(server.db, target, { existing: "replace" });
      expect(await target.selectFrom("department").select("id").where("id", "=", extra).executeTakeFirst()).toBeUndefined();
      expect(await snapshot(target)).toEqual(await snapshot(server.db));
    } finally {
      await closeTarget(target);
    }
  }, 60_000);

  test("progress is reported per batch, ending at each table's total", async () => {
    const target = await openTarget(`sqlite://${join(folder, "progress.db")}`);
    try {
      const seen: { table: string; done: number; total: number }[] = [];
      await copyDatabase(server.db, target, { batchRows: 2, onProgress: (p) => seen.push(p) });
      const entity = seen.filter((p) => p.table === "entity");
      expect(entity.length).toBeGreaterThan(2);
      expect(entity.at(-1)!.done).toBe(entity.at(-1)!.total);
      expect(await snapshot(target)).toEqual(await snapshot(server.db));
    } finally {
      await closeTarget(target);
    }
  }, 60_000);

  test("the CLI copies one SQLite file into another, refuses to write over it, and --force upserts", async () => {
    const bun = join(root, "node_modules/.bin/bun");
    const source = join(folder, "copy.db");
    const run = async (...args: string[]) => {
      const proc = Bun.spawn([bun, "run", join(root, "src/cli.ts"), ...args], { cwd: folder, env: { PATH: process.env.PATH ?? "" }, stdout: "pipe", stderr: "pipe" });
      const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      return { stdout, stderr, code };
    };
    const first = await run("copy-db", "--from", `sqlite://${source}`, "--to", `sqlite://${join(folder, "cli.db")}`);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^\s+entity\s+\d+$/m);
    expect(first.stdout).toMatch(/total\s+\d+ row\(s\)/);
    const again = await run("copy-db", "--from", `sqlite://${source}`, "--to", `sqlite://${join(folder, "cli.db")}`);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("not empty");
    const forced = await run("copy-db", "--from", `sqlite://${source}`, "--to", `sqlite://${join(folder, "cli.db")}`, "--force");
    expect(forced.code).toBe(0);
    expect(() => openSource(`sqlite://${join(folder, "nothing.db")}`)).toThrow(/no such database file/);
  }, 150_000);

  test("a progress bar is drawn on a terminal only, and ends its line after the last table", () => {
    expect(terminalProgress({ isTTY: false, write: () => true } as any)).toBeUndefined();
    let drawn = "";
    const draw = terminalProgress({ isTTY: true, write: (text: string) => ((drawn += text), true) } as any)!;
    draw({ table: "entity", index: 1, tables: 2, done: 5, total: 10 });
    draw({ table: "kv_store", index: 2, tables: 2, done: 3, total: 3 });
    expect(drawn).toContain("[" + "#".repeat(30) + "] 2/2 kv_store 3/3\n");
    expect(summaryLines([{ table: "entity", rows: 3 }, { table: "task", rows: 0 }, { table: "kv_store", rows: 0, absent: true }])).toEqual([
      "  entity  3",
      "  total   3 row(s) in 1 table(s)",
      "  not in the source (left as they were): kv_store",
    ]);
  });
});

describe.skipIf(!onPostgres)("copy-db with PostgreSQL", () => {
  let database: { url: string; drop(): Promise<void> } | null = null;
  const pgUrl = () => database!.url;
  afterAll(async () => {
    await database?.drop();
  });

  test("SQLite → PostgreSQL → SQLite gives back the same rows, with PostgreSQL's own types", async () => {
    database = await emptyPostgresDatabase();
    const sqliteSource = openSource(`sqlite://${join(folder, "copy.db")}`);
    const postgres = await openTarget(pgUrl());
    const back = await openTarget(`sqlite://${join(folder, "back.db")}`);
    try {
      expect(isPostgres(postgres)).toBe(true);
      await copyDatabase(sqliteSource, postgres);
      const expected = await snapshot(sqliteSource);
      expect(await snapshot(postgres)).toEqual(expected);
      const types = await client_query(pgUrl(), "SELECT data_type FROM information_schema.columns WHERE table_name = 'person' AND column_name IN ('active', 'data', 'created_at') ORDER BY column_name");
      expect(types).toEqual(["boolean", "timestamp without time zone", "jsonb"]);
      await copyDatabase(postgres, back);
      expect(await snapshot(back)).toEqual(expected);
    } finally {
      await sqliteSource.destroy();
      await postgres.destroy();
      await closeTarget(back);
    }
  }, 120_000);
});

async function client_query(url: string, text: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(text);
    return rows.map((r) => Object.values(r)[0]);
  } finally {
    await client.end();
  }
}
