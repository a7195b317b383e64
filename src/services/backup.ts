/**
 * Backups: a consistent online copy of the database, the stored files (PREVIEW_FOLDER) and a
 * manifest (manifest.json) of every copied file with its size and SHA-256 checksum; restore
 * verifies that manifest before putting anything back. `startScheduledBackups` makes one every
 * BACKUP_INTERVAL hours into BACKUP_DIR and keeps the BACKUP_KEEP newest.
 *
 * The database copy is the only dialect-specific part (`snapshotDatabase`, `restoreDatabase`):
 * the copy is always a SQLite file. SQLite writes a transactionally consistent copy with
 * `VACUUM INTO` while other connections keep writing; PostgreSQL is copied into a new SQLite
 * file by the generic copier (src/services/db-copy.ts), its rows read in one repeatable-read
 * transaction, and a restore into PostgreSQL copies that file's rows back in one transaction.
 * So a backup of either restores into either.
 */
import { createHash } from "node:crypto";
import { constants, createReadStream, existsSync } from "node:fs";
import { access, copyFile, mkdir, readdir, readFile, rename, rm, stat, statfs, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { sql } from "kysely";
import type { Config } from "../config";
import { VERSION } from "../config";
import { isPostgresUrl, sqlitePathFromUrl, type Db } from "../db/database";
import { closeTarget, copyDatabase, openSource, openTarget } from "./db-copy";
import { describeError } from "../lib/log";

export const MANIFEST_FILE = "manifest.json";
/** The database copy inside a backup folder. */
export const DATABASE_FILE = "database.sqlite";
/** The stored files inside a backup folder. */
export const FILES_FOLDER = "files";

export interface ManifestEntry {
  /** Path relative to the backup folder, with `/` separators. */
  path: string;
  size: number;
  sha256: string;
}

export interface Manifest {
  format: "zou-bun-backup";
  version: string;
  created_at: string;
  /** The format of the database copy (always a SQLite file). */
  dialect: "sqlite";
  /** The database the backup was taken from. */
  source?: "sqlite" | "postgres";
  database: ManifestEntry;
  files: ManifestEntry[];
}

export class BackupError extends Error {}

/** Writes a consistent copy of the live database to `target` (which must not exist). */
export async function snapshotDatabase(db: Db, databaseUrl: string, target: string): Promise<void> {
  if (!isPostgresUrl(databaseUrl)) {
    await sql`VACUUM INTO ${target}`.execute(db);
    return;
  }
  const copy = await openTarget(`sqlite://${target}`);
  try {
    await copyDatabase(db, copy);
  } finally {
    await closeTarget(copy);
  }
}

/**
 * Copies the rows of a backup's SQLite file into the PostgreSQL database of DATABASE_URL (migrated
 * first), in one transaction. A database that holds rows is refused unless `force`, which empties
 * it in the same transaction first: afterwards it holds exactly the backup's rows.
 */
async function restoreIntoPostgres(file: string, databaseUrl: string, force: boolean): Promise<void> {
  const source = openSource(`sqlite://${file}`);
  try {
    const target = await openTarget(databaseUrl);
    try {
      await copyDatabase(source, target, { existing: force ? "replace" : "refuse" });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new BackupError(/not empty/.test(message) ? "the PostgreSQL database of DATABASE_URL holds rows: use --force to replace them (stop the servers first)." : message);
    } finally {
      await target.destroy();
    }
  } finally {
    await source.destroy();
  }
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function entryOf(root: string, path: string): Promise<ManifestEntry> {
  const info = await stat(path);
  return { path: relative(root, path).split(sep).join("/"), size: info.size, sha256: await sha256File(path) };
}

/** Every regular file under `folder` (none when it does not exist). */
async function filesUnder(folder: string): Promise<string[]> {
  if (!existsSync(folder)) return [];
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort();
}

/**
 * Backs up the database and the stored files into `dir` (created; it must not hold a backup
 * already). Stored files are written once and never changed in place, so a plain copy is
 * consistent; a file removed during the copy is skipped.
 */
export async function createBackup(db: Db, config: Config, dir: string): Promise<Manifest> {
  const root = resolve(dir);
  if (existsSync(join(root, MANIFEST_FILE)) || existsSync(join(root, DATABASE_FILE))) {
    throw new BackupError(`${root} already holds a backup: choose an empty or new folder.`);
  }
  await mkdir(root, { recursive: true });
  const databaseCopy = join(root, DATABASE_FILE);
  await snapshotDatabase(db, config.databaseUrl, databaseCopy);
  const database = await entryOf(root, databaseCopy);
  const files: ManifestEntry[] = [];
  for (const source of await filesUnder(config.previewFolder)) {
    const target = join(root, FILES_FOLDER, relative(config.previewFolder, source));
    await mkdir(dirname(target), { recursive: true });
    try {
      await copyFile(source, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue; // deleted meanwhile
      throw error;
    }
    files.push(await entryOf(root, target));
  }
  const manifest: Manifest = { format: "zou-bun-backup", version: VERSION, created_at: new Date().toISOString(), dialect: "sqlite", source: isPostgresUrl(config.databaseUrl) ? "postgres" : "sqlite", database, files };
  // The manifest is written last: a folder without one is an unfinished backup.
  await writeFile(join(root, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + "\n");
  return manifest;
}

/** Reads the manifest of `dir` and checks every file's size and checksum; lists the problems. */
export async function verifyBackup(dir: string): Promise<{ manifest: Manifest; problems: string[] }> {
  const root = resolve(dir);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(root, MANIFEST_FILE), "utf8")) as Manifest;
  } catch (error) {
    throw new BackupError(`${join(root, MANIFEST_FILE)} cannot be read: ${describeError(error, 0)}`);
  }
  if (manifest?.format !== "zou-bun-backup" || !manifest.database || !Array.isArray(manifest.files)) {
    throw new BackupError(`${join(root, MANIFEST_FILE)} is not a zou-bun backup manifest.`);
  }
  const problems: string[] = [];
  for (const entry of [manifest.database, ...manifest.files]) {
    const path = resolve(root, entry.path);
    const folder = entry === manifest.database ? root : join(root, FILES_FOLDER);
    if (!path.startsWith(folder + sep)) {
      problems.push(`${entry.path}: outside the backup folder`);
      continue;
    }
    if (!existsSync(path)) {
      problems.push(`${entry.path}: missing`);
      continue;
    }
    const size = (await stat(path)).size;
    if (size !== entry.size) problems.push(`${entry.path}: ${size} bytes, the manifest says ${entry.size}`);
    else if ((await sha256File(path)) !== entry.sha256) problems.push(`${entry.path}: checksum differs from the manifest`);
  }
  return { manifest, problems };
}

/**
 * Puts a verified backup back: the database file (replacing the configured one only with
 * `force`; on PostgreSQL its rows, see `restoreIntoPostgres`) and the stored files (copied over PREVIEW_FOLDER; files absent from the backup are
 * left). A database whose `-shm` file exists is open in a server (or one was killed): refused
 * without `force`; stop the server before restoring.
 */
export async function restoreBackup(config: Config, dir: string, options: { force: boolean }): Promise<Manifest> {
  const { manifest, problems } = await verifyBackup(dir);
  if (problems.length > 0) throw new BackupError(`the backup does not match its manifest:\n  ${problems.join("\n  ")}`);
  const root = resolve(dir);
  if (isPostgresUrl(config.databaseUrl)) {
    await restoreIntoPostgres(resolve(root, manifest.database.path), config.databaseUrl, options.force);
    await restoreFiles(config, root, manifest);
    return manifest;
  }
  const databasePath = sqlitePathFromUrl(config.databaseUrl);
  if (databasePath === ":memory:") throw new BackupError("DATABASE_URL is an in-memory database: nothing to restore into.");
  const target = resolve(databasePath);
  if (!options.force) {
    if (existsSync(`${target}-shm`)) {
      throw new BackupError(`${target} looks open by a running server (${target}-shm exists): stop it first, or use --force.`);
    }
    if (existsSync(target)) throw new BackupError(`${target} exists: use --force to replace it.`);
  }
  await mkdir(dirname(target), { recursive: true });
  const partial = `${target}.restoring`;
  await copyFile(resolve(root, manifest.database.path), partial);
  for (const suffix of ["-wal", "-shm"]) await rm(`${target}${suffix}`, { force: true });
  await rename(partial, target);
  await restoreFiles(config, root, manifest);
  return manifest;
}

/** Copies the backup's stored files over PREVIEW_FOLDER. */
async function restoreFiles(config: Config, root: string, manifest: Manifest): Promise<void> {
  for (const entry of manifest.files) {
    const destination = join(config.previewFolder, relative(join(root, FILES_FOLDER), resolve(root, entry.path)));
    await mkdir(dirname(destination), { recursive: true });
    await copyFile(resolve(root, entry.path), destination);
  }
}

/** A folder name per scheduled backup, sortable by time: `zou-backup-20260102T030405Z`. */
function scheduledName(date: Date): string {
  return `zou-backup-${date.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}`;
}

/** Removes scheduled backups past the `keep` newest (only folders named by `scheduledName`). */
export async function pruneBackups(folder: string, keep: number): Promise<string[]> {
  if (keep <= 0 || !existsSync(folder)) return [];
  const names = (await readdir(folder, { withFileTypes: true }))
    .filter((e) => e.isDirectory() && /^zou-backup-\d{8}T\d{6}Z(-\d+)?$/.test(e.name))
    .map((e) => e.name)
    .sort()
    .reverse();
  const removed = names.slice(keep);
  for (const name of removed) await rm(join(folder, name), { recursive: true, force: true });
  return removed;
}

/** One scheduled backup into BACKUP_DIR, then pruning; returns its folder. */
export async function scheduledBackup(db: Db, config: Config, now = new Date()): Promise<string> {
  const base = join(resolve(config.backupDir), scheduledName(now));
  let dir = base;
  for (let i = 1; existsSync(dir); i++) dir = `${base}-${i}`;
  await createBackup(db, config, dir);
  await pruneBackups(resolve(config.backupDir), config.backupKeep);
  return dir;
}

/** Starts the BACKUP_INTERVAL timer when BACKUP_DIR is set; returns a function that stops it. */
export function startScheduledBackups(db: Db, config: Config): () => void {
  if (!config.backupDir || config.backupIntervalHours <= 0) return () => {};
  let running = false;
  const timer = setInterval(async () => {
    if (running) return;
    running = true;
    try {
      const dir = await scheduledBackup(db, config);
      console.log(`Backup written to ${dir}.`);
    } catch (error) {
      console.error(`Scheduled backup failed: ${describeError(error)}`);
    } finally {
      running = false;
    }
  }, config.backupIntervalHours * 3_600_000);
  timer.unref?.();
  return () => clearInterval(timer);
}

/** Nearest existing folder of `path` (itself when it exists). */
function existingAncestor(path: string): string {
  let current = resolve(path);
  while (!existsSync(current) && dirname(current) !== current) current = dirname(current);
  return current;
}

/**
 * What `GET /status` adds about storage: the database file's size (null in memory), whether the
 * stored files' folder can be written and the free space on its disk.
 */
export async function storageStatus(config: Config): Promise<Record<string, number | boolean | null>> {
  let databaseBytes: number | null = null;
  try {
    const path = sqlitePathFromUrl(config.databaseUrl);
    if (path !== ":memory:" && existsSync(path)) {
      databaseBytes = (await stat(path)).size;
      if (existsSync(`${path}-wal`)) databaseBytes += (await stat(`${path}-wal`)).size;
    }
  } catch {
    /* another database kind: size unknown */
  }
  const folder = existingAncestor(config.previewFolder);
  let writable = false;
  let freeBytes: number | null = null;
  try {
    await access(folder, constants.W_OK);
    writable = true;
  } catch {
    /* not writable */
  }
  try {
    const info = await statfs(folder);
    freeBytes = Number(info.bavail) * Number(info.bsize);
  } catch {
    /* unknown */
  }
  return { "database-bytes": databaseBytes, "stored-files-up": writable, "stored-files-free-bytes": freeBytes };
}
