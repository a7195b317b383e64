/**
 * Stored files follow their rows: which stored files (previews.md §7 layout, plus working-file
 * contents) belong to a row of each table, and their removal once the deleting transaction has
 * committed, when REMOVE_FILES is on (a rolled-back delete keeps them). Every delete path (CRUD
 * engine, forced deletes of projects/entities/tasks/comments, preview, attachment and build
 * deletes) hands the ids it deleted to `forgetStoredFiles`; `zou-bun clean-files` uses the same
 * table to find stored files no row refers to.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { AppContext } from "../context";
import type { Config } from "../config";
import type { Db } from "../db/database";
import { afterCommit } from "../db/transaction";
import { chunks } from "../lib/chunks";
import { storedFilePath } from "./attachments";

type StoredKey = { bucket: string; prefix: string };

const PREVIEW_KEYS: StoredKey[] = [
  ...["previews", "lowdef", "source"].map((prefix) => ({ bucket: "movies", prefix })),
  ...["original", "previews", "thumbnails", "thumbnails-square", "tiles"].map((prefix) => ({ bucket: "pictures", prefix })),
  { bucket: "files", prefix: "previews" },
];

/** Stored objects of each table's rows, by key `<bucket>/<prefix>-<id>`. */
const STORED_KEYS = {
  preview_file: PREVIEW_KEYS,
  attachment_file: [{ bucket: "files", prefix: "attachments" }, { bucket: "pictures", prefix: "thumbnails" }],
  build_job: [{ bucket: "movies", prefix: "playlists" }],
  preview_background_file: [{ bucket: "pictures", prefix: "preview-backgrounds" }, { bucket: "pictures", prefix: "thumbnails" }],
  person: [{ bucket: "pictures", prefix: "thumbnails" }],
  project: [{ bucket: "pictures", prefix: "thumbnails" }],
  organisation: [{ bucket: "pictures", prefix: "thumbnails" }],
} as const satisfies Record<string, StoredKey[]>;

/** Tables whose rows own stored files. */
export type StoredTable = keyof typeof STORED_KEYS | "working_file";
export const STORED_TABLES: StoredTable[] = [...(Object.keys(STORED_KEYS) as StoredTable[]), "working_file"];

/** Where the content of a working file is stored: `<previewFolder>/working-files/<id[0:3]>/<id>`. */
export function workingFileContentPath(config: Config, workingFileId: string): string {
  return join(config.previewFolder, "working-files", workingFileId.slice(0, 3), workingFileId);
}

/** Every stored path a row of `table` with id `id` may own (whether or not it exists). */
export function storedPathsOf(config: Config, table: string, id: string): string[] {
  if (table === "working_file") return [workingFileContentPath(config, id)];
  const keys: readonly StoredKey[] = STORED_KEYS[table as keyof typeof STORED_KEYS] ?? [];
  return keys.map((key) => storedFilePath(config.previewFolder, key.bucket, key.prefix, id));
}

export function ownsStoredFiles(table: string): table is StoredTable {
  return (STORED_TABLES as string[]).includes(table);
}

/**
 * Called with the ids of rows just deleted (or about to be, in the same transaction): their
 * stored files are removed once the transaction commits, when REMOVE_FILES is on or `force`
 * (a delete the API asks to purge). Outside a transaction they go right away.
 */
export async function forgetStoredFiles(c: AppContext, table: string, ids: Iterable<string>, options: { force?: boolean } = {}): Promise<void> {
  const config = c.get("config");
  if (!ownsStoredFiles(table) || !(options.force || config.removeFiles)) return;
  const paths = [...ids].flatMap((id) => storedPathsOf(config, table, id));
  if (paths.length === 0) return;
  await afterCommit(c.get("db"), async () => {
    for (const path of paths) await rm(path, { force: true }).catch(() => undefined);
  });
}

/** `forgetStoredFiles` for each table of a map of deleted ids (e.g. a forced project deletion). */
export async function forgetStoredFilesOfRows(c: AppContext, deleted: Map<string, Iterable<string>>): Promise<void> {
  for (const [table, ids] of deleted) await forgetStoredFiles(c, table, ids);
}

/** The ids of `table` rows matching `column IN values` (to collect before a bulk delete). */
export async function idsWhere(db: Db, table: StoredTable, column: string, values: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const part of chunks(values)) {
    const rows = (await db.selectFrom(table).select("id" as any).where(column as any, "in", part).execute()) as { id: string }[];
    for (const row of rows) ids.push(row.id);
  }
  return ids;
}

/** Every stored path some row refers to (for `clean-files`). */
export async function referencedStoredPaths(db: Db, config: Config): Promise<Set<string>> {
  const paths = new Set<string>();
  for (const table of STORED_TABLES) {
    const rows = (await db.selectFrom(table).select("id" as any).execute()) as { id: string }[];
    for (const row of rows) for (const path of storedPathsOf(config, table, row.id)) paths.add(path);
  }
  return paths;
}
