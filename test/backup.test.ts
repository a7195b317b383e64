/**
 * Issue 16 item 1: `zou-bun backup DIR` / `restore DIR`, through the spawned CLI in temporary
 * folders: a backup taken while a write load runs against a spawned server restores into a
 * database that passes `PRAGMA integrity_check` and holds every write acknowledged before the
 * backup began; restore refuses to replace a database without --force; a tampered file fails the
 * manifest check. Scheduled backups keep the BACKUP_KEEP newest.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { testConfig } from "../src/config";
import { migrateToLatest, openDatabase } from "../src/db/database";
import { pruneBackups, scheduledBackup, verifyBackup } from "../src/services/backup";

const root = resolve(import.meta.dir, "..");
const bun = join(root, "node_modules/.bin/bun");
const cli = join(root, "src/cli.ts");
const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

function tempFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), "zou-bun-backup-"));
  folders.push(folder);
  return folder;
}

const env = { PATH: process.env.PATH ?? "", ZOU_ADMIN_PASSWORD: "admin-password", SECRET_KEY: "backup-test-secret-key-0123456789abcdef", LOG_FORMAT: "off" };

async function run(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([bun, "run", cli, ...args], { cwd, env, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

async function startServer(folder: string) {
  const port = 20000 + Math.floor(Math.random() * 30000);
  const proc = Bun.spawn([bun, "run", cli, "serve", "--host", "127.0.0.1", "--port", String(port)], { cwd: folder, env, stdout: "ignore", stderr: "pipe" });
  const base = `http://127.0.0.1:${port}/api`;
  for (let i = 0; ; i++) {
    if (i > 600) throw new Error("the server did not start");
    if (await fetch(base).then((r) => r.ok, () => false)) break;
    await Bun.sleep(50);
  }
  const login = await fetch(`${base}/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: "admin@example.com", password: "admin-password" }),
  });
  const token = ((await login.json()) as any).access_token as string;
  return { proc, base, token };
}

describe("backup and restore through the CLI", () => {
  test("a backup under write load restores consistent, with every write acknowledged before it", async () => {
    const live = tempFolder();
    const { proc, base, token } = await startServer(live);
    try {
      // A stored file, as the server keeps them.
      mkdirSync(join(live, "previews/pictures/ab/cd"), { recursive: true });
      writeFileSync(join(live, "previews/pictures/ab/cd/abcd-picture.png"), "not really a png");

      const acknowledged: { name: string; at: number }[] = [];
      let stop = false;
      let counter = 0;
      const worker = async () => {
        while (!stop) {
          const name = `Load ${++counter}`;
          const response = await fetch(`${base}/data/projects`, {
            method: "POST",
            headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
            body: JSON.stringify({ name }),
          });
          if (response.status === 201) acknowledged.push({ name, at: performance.now() });
          else throw new Error(`write failed: ${response.status} ${await response.text()}`);
        }
      };
      const load = Promise.all([worker(), worker(), worker()]);
      while (acknowledged.length < 10) await Bun.sleep(20);

      const backupDir = join(tempFolder(), "backup-1");
      const began = performance.now();
      const before = acknowledged.filter((a) => a.at <= began).map((a) => a.name);
      const backup = await run(live, "backup", backupDir);
      const writesDuringBackup = acknowledged.length - before.length;
      stop = true;
      await load;
      expect(backup.stderr).toBe("");
      expect(backup.code).toBe(0);
      expect(writesDuringBackup).toBeGreaterThan(0); // the load really ran while the backup did

      const manifest = JSON.parse(readFileSync(join(backupDir, "manifest.json"), "utf8"));
      expect(manifest.database).toMatchObject({ path: "database.sqlite", size: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
      expect(manifest.files).toEqual([{ path: "files/pictures/ab/cd/abcd-picture.png", size: 16, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);

      // Restore into a fresh folder.
      const restored = tempFolder();
      const restore = await run(restored, "restore", backupDir);
      expect(restore.stderr).toBe("");
      expect(restore.code).toBe(0);
      const db = new Database(join(restored, "zou.db"), { readonly: true });
      try {
        expect(db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
        const names = new Set((db.query("SELECT name FROM project").all() as { name: string }[]).map((r) => r.name));
        const missing = before.filter((name) => !names.has(name));
        expect(missing).toEqual([]);
        expect(names.size).toBeGreaterThanOrEqual(before.length);
      } finally {
        db.close();
      }
      expect(readFileSync(join(restored, "previews/pictures/ab/cd/abcd-picture.png"), "utf8")).toBe("not really a png");

      // An existing database is not replaced without --force (nor one a server has open).
      const again = await run(restored, "restore", backupDir);
      expect(again.code).toBe(2);
      expect(again.stderr).toContain("--force");
      const busy = await run(live, "restore", backupDir);
      expect(busy.code).toBe(2);
      expect(busy.stderr).toContain("running server");
      const forced = await run(restored, "restore", backupDir, "--force");
      expect(forced.code).toBe(0);

      // A folder that already holds a backup is not written over.
      const twice = await run(live, "backup", backupDir);
      expect(twice.code).toBe(2);
      expect(twice.stderr).toContain("already holds a backup");

      // A tampered file fails the manifest check and nothing is restored.
      writeFileSync(join(backupDir, "files/pictures/ab/cd/abcd-picture.png"), "not really a pnG");
      const target = tempFolder();
      const tampered = await run(target, "restore", backupDir);
      expect(tampered.code).toBe(2);
      expect(tampered.stderr).toContain("files/pictures/ab/cd/abcd-picture.png: checksum differs from the manifest");
      expect(existsSync(join(target, "zou.db"))).toBe(false);
      rmSync(join(backupDir, "database.sqlite"));
      const missing = await run(target, "restore", backupDir);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain("database.sqlite: missing");
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
    }
  }, 120_000);
});

describe("scheduled backups", () => {
  test("each goes into its own folder of BACKUP_DIR and only the BACKUP_KEEP newest stay", async () => {
    const folder = tempFolder();
    const config = testConfig({ backupDir: join(folder, "backups"), backupKeep: 2, previewFolder: join(folder, "previews") });
    mkdirSync(config.previewFolder, { recursive: true });
    writeFileSync(join(config.previewFolder, "one.bin"), "1");
    const db = openDatabase("sqlite://:memory:");
    await migrateToLatest(db);
    const made: string[] = [];
    for (let hour = 1; hour <= 3; hour++) made.push(await scheduledBackup(db, config, new Date(Date.UTC(2026, 0, 2, hour))));
    await db.destroy();
    expect(readdirSync(config.backupDir).sort()).toEqual(["zou-backup-20260102T020000Z", "zou-backup-20260102T030000Z"]);
    const { manifest, problems } = await verifyBackup(made[2]!);
    expect(problems).toEqual([]);
    expect(manifest.files.map((f) => f.path)).toEqual(["files/one.bin"]);
    // Other folders in BACKUP_DIR are never pruned.
    mkdirSync(join(config.backupDir, "keep-me"));
    expect(await pruneBackups(config.backupDir, 1)).toEqual(["zou-backup-20260102T020000Z"]);
    expect(existsSync(join(config.backupDir, "keep-me"))).toBe(true);
  });
});
