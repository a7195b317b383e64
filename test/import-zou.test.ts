/**
 * `zou-bun import-zou postgres://...` (issue 16 item 2): a PostgreSQL database made to look like
 * Zou's (our migration gives Zou's table and column names; then `person.password` becomes bytea
 * holding the bcrypt text, the array columns become PostgreSQL arrays, a Zou-only column is added,
 * one of ours is dropped, no kv_store), filled with SQL as Zou writes it, is imported by the CLI
 * into a fresh SQLite file with its preview folder; the API then answers with the same ids and
 * the Zou password logs in. A second import upserts. Skipped without TEST_DATABASE_URL=postgres://...
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
import { createApp } from "../src/app";
import { testConfig } from "../src/config";
import { openDatabase } from "../src/db/database";
import { newId } from "../src/lib/ids";
import { closeTarget, openTarget } from "../src/services/db-copy";
import { emptyPostgresDatabase, onPostgres, tokenFor } from "./helpers";

const root = resolve(import.meta.dir, "..");
let zouDatabase: { url: string; drop(): Promise<void> } | null = null;
const folder = mkdtempSync(join(tmpdir(), "zou-bun-import-zou-"));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

function zouUrl(): string {
  return zouDatabase!.url;
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const ids = {
  projectStatus: newId(), project: newId(), admin: newId(), artist: newId(), assetType: newId(), asset: newId(),
  taskType: newId(), taskStatus: newId(), task: newId(), comment: newId(), department: newId(),
};
const ARTIST_PASSWORD = "zou-artist-password";
const PREVIEW_FILE = "pictures/previews/ab/cde/fgh/abcdefgh-1234";

describe.skipIf(!onPostgres)("import-zou", () => {
  beforeAll(async () => {
    zouDatabase = await emptyPostgresDatabase();
    const db = await openTarget(zouUrl());
    await db.destroy();
    const hash = await Bun.password.hash(ARTIST_PASSWORD, { algorithm: "bcrypt", cost: 4 });
    await withClient(zouUrl(), async (c) => {
      // Zou's column types where ours differ, and a schema that is not quite ours.
      await c.query(`ALTER TABLE person ALTER COLUMN password TYPE bytea USING convert_to(password, 'UTF8')`);
      await c.query(`ALTER TABLE person ALTER COLUMN otp_recovery_codes TYPE bytea[] USING NULL`);
      await c.query(`ALTER TABLE person ALTER COLUMN fido_credentials TYPE jsonb[] USING NULL`);
      await c.query(`ALTER TABLE comment ALTER COLUMN links TYPE varchar[] USING NULL`);
      await c.query(`ALTER TABLE project_task_status_link ALTER COLUMN roles_for_board DROP DEFAULT`);
      await c.query(`ALTER TABLE project_task_status_link ALTER COLUMN roles_for_board TYPE varchar[] USING NULL`);
      await c.query(`ALTER TABLE project ADD COLUMN only_in_zou text DEFAULT 'ignored'`);
      await c.query(`ALTER TABLE person DROP COLUMN is_bot`);
      await c.query(`DROP TABLE kv_store`);
      await c.query(`DROP TABLE kysely_migration, kysely_migration_lock`);
      await c.query(`CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)`);
      await c.query(`INSERT INTO alembic_version VALUES ('feedcafe1234')`);

      const now = "2024-03-01 10:20:30.123456";
      await c.query(`INSERT INTO department (id, created_at, updated_at, name, color) VALUES ($1, $2, $2, 'Animation', '#00ff00')`, [ids.department, now]);
      await c.query(`INSERT INTO project_status (id, created_at, updated_at, name, color) VALUES ($1, $2, $2, 'Open', '#000000')`, [ids.projectStatus, now]);
      await c.query(
        `INSERT INTO project (id, created_at, updated_at, name, project_status_id, fps, data, production_type) VALUES ($1, $2, $2, 'Big Buck', $3, '25', '{"zou": true}', 'tvshow')`,
        [ids.project, now, ids.projectStatus],
      );
      await c.query(
        `INSERT INTO person (id, created_at, updated_at, first_name, last_name, email, password, role, active, otp_recovery_codes, fido_credentials, data)
         VALUES ($1, $2, $2, 'Ada', 'Admin', 'ada@zou.example.com', NULL, 'admin', true, NULL, NULL, NULL),
                ($3, $2, $2, 'Art', 'Ist', 'art@zou.example.com', convert_to($4, 'UTF8'), 'user', true,
                 ARRAY[convert_to('$2b$04$recoveryhash', 'UTF8')], ARRAY['{"credential_id": "abc"}'::jsonb], '{"nickname": "arty"}')`,
        [ids.admin, now, ids.artist, hash],
      );
      await c.query(`INSERT INTO department_link (person_id, department_id) VALUES ($1, $2)`, [ids.artist, ids.department]);
      await c.query(`INSERT INTO project_person_link (project_id, person_id) VALUES ($1, $2)`, [ids.project, ids.artist]);
      await c.query(`INSERT INTO entity_type (id, created_at, updated_at, name) VALUES ($1, $2, $2, 'Character')`, [ids.assetType, now]);
      await c.query(
        `INSERT INTO entity (id, created_at, updated_at, name, project_id, entity_type_id, description, data) VALUES ($1, $2, $2, 'Rabbit', $3, $4, 'The hero', '{"size": "big"}')`,
        [ids.asset, now, ids.project, ids.assetType],
      );
      await c.query(`INSERT INTO task_type (id, created_at, updated_at, name, for_entity) VALUES ($1, $2, $2, 'Modeling', 'Asset')`, [ids.taskType, now]);
      await c.query(`INSERT INTO task_status (id, created_at, updated_at, name, short_name, color, is_default) VALUES ($1, $2, $2, 'Todo', 'todo', '#f5f5f5', true)`, [ids.taskStatus, now]);
      await c.query(
        `INSERT INTO project_task_status_link (id, project_id, task_status_id, roles_for_board) VALUES ($1, $2, $3, ARRAY['user', 'admin'])`,
        [newId(), ids.project, ids.taskStatus],
      );
      await c.query(
        `INSERT INTO task (id, created_at, updated_at, name, project_id, task_type_id, task_status_id, entity_id, assigner_id, start_date) VALUES ($1, $2, $2, 'main', $3, $4, $5, $6, $7, $2)`,
        [ids.task, now, ids.project, ids.taskType, ids.taskStatus, ids.asset, ids.admin],
      );
      await c.query(`INSERT INTO task_person_link (task_id, person_id) VALUES ($1, $2)`, [ids.task, ids.artist]);
      await c.query(
        `INSERT INTO comment (id, created_at, updated_at, object_id, object_type, person_id, task_status_id, text, links, checklist)
         VALUES ($1, $2, $2, $3, 'Task', $4, $5, 'Looks good', ARRAY['https://example.com/ref'], '[{"text": "ears", "checked": true}]')`,
        [ids.comment, now, ids.task, ids.artist, ids.taskStatus],
      );
    });
    mkdirSync(join(folder, "zou-previews", PREVIEW_FILE, ".."), { recursive: true });
    writeFileSync(join(folder, "zou-previews", PREVIEW_FILE), "a Zou preview");
  }, 120_000);

  afterAll(async () => {
    await zouDatabase?.drop();
  });

  async function importZou(): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = {
      PATH: process.env.PATH ?? "",
      DATABASE_URL: `sqlite://${join(folder, "zou-bun.db")}`,
      PREVIEW_FOLDER: join(folder, "previews"),
      SECRET_KEY: "import-zou-test-secret-key-0123456789",
    };
    const proc = Bun.spawn([join(root, "node_modules/.bin/bun"), "run", join(root, "src/cli.ts"), "import-zou", zouUrl(), "--previews", join(folder, "zou-previews")], {
      cwd: folder, env, stdout: "pipe", stderr: "pipe",
    });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, stdout, stderr };
  }

  test("every row arrives with its id; the API answers; the Zou password logs in; a second import upserts", async () => {
    const first = await importZou();
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^\s+person\s+2$/m);
    expect(first.stdout).toMatch(/^\s+comment\s+1$/m);
    expect(first.stdout).toContain("Preview files: 1 copied");
    expect(readFileSync(join(folder, "previews", PREVIEW_FILE), "utf8")).toBe("a Zou preview");

    const url = `sqlite://${join(folder, "zou-bun.db")}`;
    const db = openDatabase(url);
    try {
      const config = testConfig({ databaseUrl: url, previewFolder: join(folder, "previews") });
      const app = createApp({ db, config });
      const login = await app.request("/api/auth/login", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ email: "art@zou.example.com", password: ARTIST_PASSWORD }),
      });
      expect(login.status).toBe(200);
      const session = (await login.json()) as any;
      expect(session.user.id).toBe(ids.artist);
      expect(session.user.data).toEqual({ nickname: "arty" });
      const wrong = await app.request("/api/auth/login", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ email: "art@zou.example.com", password: "not-the-password" }),
      });
      expect(wrong.status).not.toBe(200);

      const token = await tokenFor(config, ids.admin);
      const get = async (path: string) => {
        const response = await app.request(path, { headers: { Authorization: `Bearer ${token}` } });
        expect(response.status).toBe(200);
        return (await response.json()) as any;
      };
      const project = await get(`/api/data/projects/${ids.project}`);
      expect(project).toMatchObject({ id: ids.project, name: "Big Buck", fps: "25", data: { zou: true }, production_type: "tvshow", created_at: "2024-03-01T10:20:30" });
      expect(project.only_in_zou).toBeUndefined();
      expect(project.team).toEqual([ids.artist]);
      const asset = await get(`/api/data/assets/${ids.asset}`);
      expect(asset).toMatchObject({ id: ids.asset, name: "Rabbit", entity_type_id: ids.assetType, description: "The hero", data: { size: "big" } });
      const task = await get(`/api/data/tasks/${ids.task}`);
      expect(task).toMatchObject({ id: ids.task, entity_id: ids.asset, task_status_id: ids.taskStatus, assignees: [ids.artist] });
      const comments = await get(`/api/data/tasks/${ids.task}/comments`);
      expect(comments).toHaveLength(1);
      expect(comments[0]).toMatchObject({ id: ids.comment, text: "Looks good", links: ["https://example.com/ref"], checklist: [{ text: "ears", checked: true }] });
      const artist = await get(`/api/data/persons/${ids.artist}`);
      expect(artist).toMatchObject({ id: ids.artist, departments: [ids.department], is_bot: false, active: true });
      const links = await db.selectFrom("project_task_status_link").select("roles_for_board").execute();
      expect(JSON.parse(String(links[0]!.roles_for_board))).toEqual(["user", "admin"]);
      const person = await db.selectFrom("person").select(["otp_recovery_codes", "fido_credentials"]).where("id", "=", ids.artist).executeTakeFirstOrThrow();
      expect(JSON.parse(String(person.otp_recovery_codes))).toEqual(["$2b$04$recoveryhash"]);
      expect(JSON.parse(String(person.fido_credentials))).toEqual([{ credential_id: "abc" }]);
    } finally {
      await closeTarget(db);
    }

    // Runnable again: the same rows are upserted, the previews already there are kept.
    await withClient(zouUrl(), (c) => c.query(`UPDATE entity SET description = 'Changed in Zou' WHERE id = $1`, [ids.asset]));
    const second = await importZou();
    expect(second.stderr).toBe("");
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("Preview files: 0 copied, 1 already");
    const again = openDatabase(url);
    try {
      const asset = await again.selectFrom("entity").select("description").where("id", "=", ids.asset).executeTakeFirstOrThrow();
      expect(asset.description).toBe("Changed in Zou");
      expect((await again.selectFrom("person").select("id").execute()).length).toBe(2);
    } finally {
      await closeTarget(again);
    }
    expect(existsSync(join(folder, "zou-bun.db"))).toBe(true);
  }, 180_000);
});
