/**
 * Backups on PostgreSQL (issue 16 item 1): `backup DIR` with DATABASE_URL=postgres://... writes the
 * database as a SQLite file (rows read in one repeatable-read transaction) with the stored files
 * and the manifest; a backup taken under a write load holds every write acknowledged before it
 * began; `restore` into PostgreSQL refuses a database that holds rows unless forced, and a forced
 * restore leaves exactly the backup's rows; the same backup restores into SQLite. Skipped without
 * TEST_DATABASE_URL=postgres://...
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { testConfig } from "../src/config";
import { openDatabase } from "../src/db/database";
import { newId } from "../src/lib/ids";
import { createBackup, restoreBackup, verifyBackup } from "../src/services/backup";
import { emptyPostgresDatabase, makeServer, onPostgres } from "./helpers";

const root = resolve(import.meta.dir, "..");
const folder = mkdtempSync(join(tmpdir(), "zou-bun-backup-pg-"));
let restoreDatabase: { url: string; drop(): Promise<void> } | null = null;
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe.skipIf(!onPostgres)("backup and restore on PostgreSQL", () => {
  afterAll(async () => {
    await restoreDatabase?.drop();
  });

  test("a backup under write load holds every acknowledged write and restores into PostgreSQL and SQLite", async () => {
    const previews = join(folder, "previews");
    const server = await makeServer({ previewFolder: previews });
    mkdirSync(join(previews, "pictures/ab/cd"), { recursive: true });
    writeFileSync(join(previews, "pictures/ab/cd/abcd-picture.png"), "not really a png");

    const acknowledged: { name: string; at: number }[] = [];
    let stop = false;
    let counter = 0;
    const worker = async () => {
      while (!stop) {
        const name = `Load ${++counter}`;
        const answer = await server.json("POST", "/api/data/projects", { body: { name } });
        if (answer.status !== 201) throw new Error(`write failed: ${answer.status} ${JSON.stringify(answer.body)}`);
        acknowledged.push({ name, at: performance.now() });
      }
    };
    const load = Promise.all([worker(), worker()]);
    while (acknowledged.length < 5) await Bun.sleep(10);
    const backupDir = join(folder, "backup");
    const began = performance.now();
    const before = acknowledged.filter((a) => a.at <= began).map((a) => a.name);
    const manifest = await createBackup(server.db, server.config, backupDir);
    stop = true;
    await load;
    expect(manifest.source).toBe("postgres");
    expect(manifest.dialect).toBe("sqlite");
    expect(manifest.files.map((f) => f.path)).toEqual(["files/pictures/ab/cd/abcd-picture.png"]);
    expect((await verifyBackup(backupDir)).problems).toEqual([]);

    const file = new Database(join(backupDir, "database.sqlite"), { readonly: true });
    let backedUp: string[];
    try {
      expect(file.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
      expect(file.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "delete" });
      backedUp = (file.query("SELECT name FROM project").all() as { name: string }[]).map((r) => r.name).sort();
      expect(before.filter((name) => !backedUp.includes(name))).toEqual([]);
      expect((file.query("SELECT count(*) AS n FROM person").get() as { n: number }).n).toBeGreaterThan(0);
    } finally {
      file.close();
    }
    await server.db.destroy();

    // Into a new PostgreSQL database: migrated, filled with exactly the backup's rows.
    const restoreTarget = await emptyPostgresDatabase();
    restoreDatabase = restoreTarget;
    const restoredPreviews = join(folder, "restored-previews");
    const config = testConfig({ databaseUrl: restoreTarget.url, previewFolder: restoredPreviews });
    await restoreBackup(config, backupDir, { force: false });
    expect(readFileSync(join(restoredPreviews, "pictures/ab/cd/abcd-picture.png"), "utf8")).toBe("not really a png");
    const projectNames = async () => {
      const db = openDatabase(config.databaseUrl, 1);
      try {
        return (await db.selectFrom("project").select("name").execute()).map((r) => r.name).sort();
      } finally {
        await db.destroy();
      }
    };
    expect(await projectNames()).toEqual(backedUp);

    // A database that holds rows is refused; --force replaces its rows in one transaction.
    await expect(restoreBackup(config, backupDir, { force: false })).rejects.toThrow(/holds rows: use --force/);
    const db = openDatabase(config.databaseUrl, 1);
    const open = await db.selectFrom("project_status").select("id").executeTakeFirstOrThrow();
    await db.insertInto("project").values({ id: newId(), name: "Written after the backup", project_status_id: open.id } as any).execute();
    await db.destroy();
    expect(await projectNames()).toContain("Written after the backup");
    await restoreBackup(config, backupDir, { force: true });
    expect(await projectNames()).toEqual(backedUp);

    // The same backup restores into SQLite.
    const sqliteConfig = testConfig({ databaseUrl: `sqlite://${join(folder, "restored.db")}`, previewFolder: restoredPreviews });
    await restoreBackup(sqliteConfig, backupDir, { force: false });
    const restored = new Database(join(folder, "restored.db"), { readonly: true });
    try {
      expect((restored.query("SELECT name FROM project").all() as { name: string }[]).map((r) => r.name).sort()).toEqual(backedUp);
    } finally {
      restored.close();
    }
  }, 180_000);

  test("the backup command writes a PostgreSQL database into a backup folder", async () => {
    const server = await makeServer();
    await server.project("Through the CLI");
    const url = server.config.databaseUrl;
    await server.db.destroy();
    const dir = join(folder, "cli-backup");
    const proc = Bun.spawn([join(root, "node_modules/.bin/bun"), "run", join(root, "src/cli.ts"), "backup", dir], {
      cwd: folder,
      env: { PATH: process.env.PATH ?? "", DATABASE_URL: url, PREVIEW_FOLDER: join(folder, "none"), SECRET_KEY: "backup-pg-test-secret-key-0123456789" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toContain(`Backup written to ${dir}`);
    const file = new Database(join(dir, "database.sqlite"), { readonly: true });
    try {
      expect(file.query("SELECT name FROM project").all()).toEqual([{ name: "Through the CLI" }]);
    } finally {
      file.close();
    }
  }, 120_000);
});
