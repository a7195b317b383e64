/**
 * Where uploads land and how they become stored files.
 *
 * Uploads stream into `<PREVIEW_FOLDER>/.uploads/` (folders 0700, files 0600): the same filesystem
 * as the file store, so putting one in place is a rename, never a copy, and nothing slow runs
 * inside a database transaction. A stored file is put in place before its row is committed; if
 * the transaction then fails, it is removed again (`onRollback`). Partial uploads left by a crash
 * or a shutdown are removed at start-up and at shutdown (`cleanPartialUploads`).
 */
import { copyFile, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Config } from "../config";
import { isPostgresUrl, type Db } from "../db/database";
import { onRollback } from "../db/transaction";
import { newId } from "./ids";
import type Busboy from "busboy";

export const PRIVATE_FOLDER_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** The multipart parser (busboy), loaded by the first upload: it weighs on the start-up. */
let busboy: Promise<typeof Busboy> | undefined;
export const loadBusboy = (): Promise<typeof Busboy> => (busboy ??= import("busboy").then((module) => module.default));

export function uploadStagingFolder(config: Config): string {
  return join(config.previewFolder, ".uploads");
}

/** The staging folder, created when missing. */
export async function ensureStagingFolder(config: Config): Promise<string> {
  const folder = uploadStagingFolder(config);
  await mkdir(folder, { recursive: true, mode: PRIVATE_FOLDER_MODE });
  return folder;
}

/** A fresh path for one upload in a staging folder. */
export function stagingPath(folder: string): string {
  return join(folder, `upload-${newId()}`);
}

/**
 * Moves a finished upload to its stored path (a rename within the file store; a copy only if the
 * staging file lives elsewhere). Inside a transaction, the stored file is removed if the
 * transaction rolls back, so no file outlives a row that was never committed.
 */
export async function placeStoredFile(db: Db, from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true, mode: PRIVATE_FOLDER_MODE });
  try {
    await rename(from, to);
  } catch {
    await copyFile(from, to);
    await rm(from, { force: true });
  }
  if (db.isTransaction) onRollback(db, () => rm(to, { force: true }).then(() => undefined));
}

/**
 * Untouched this long, a staged file is no upload in progress (the server's idle timeout is 120 s):
 * on PostgreSQL, where other instances may share PREVIEW_FOLDER, only such files are removed.
 */
const SHARED_STAGING_MIN_AGE_MS = 15 * 60 * 1000;

/** Removes partial uploads: the staging folder's files, and those older builds left in TMP_DIR. */
export async function cleanPartialUploads(config: Config): Promise<number> {
  let removed = 0;
  const shared = isPostgresUrl(config.databaseUrl);
  const sweep = async (folder: string, matches: (name: string) => boolean) => {
    const names = await readdir(folder).catch(() => [] as string[]);
    for (const name of names) {
      if (!matches(name)) continue;
      if (shared) {
        const modified = await stat(join(folder, name)).then((info) => info.mtimeMs, () => 0);
        if (Date.now() - modified < SHARED_STAGING_MIN_AGE_MS) continue;
      }
      await rm(join(folder, name), { force: true, recursive: true }).catch(() => undefined);
      removed += 1;
    }
  };
  await sweep(uploadStagingFolder(config), () => true);
  await sweep(config.tmpFolder, (name) => name.startsWith("upload-"));
  return removed;
}
