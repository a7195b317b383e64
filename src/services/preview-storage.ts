/**
 * Where preview media live (previews.md §7, Zou's local layout, so an existing Zou preview folder
 * can be reused): `<PREVIEW_FOLDER>/<bucket>/<A>/<B[0:3]>/<B[3:6]>/<B>` for key `<prefix>-<id>`;
 * plus the work folder of uploads waiting for processing (`<TMP_DIR>/previews-pending`).
 */
import { copyFile, mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Config } from "../config";
import { storedFilePath } from "./attachments";

export type Bucket = "pictures" | "movies" | "files";

export function storePath(config: Config, bucket: Bucket, prefix: string, id: string): string {
  return storedFilePath(config.previewFolder, bucket, prefix, id);
}

/** Moves (or copies, across file systems) `from` into the store. `keep` copies and leaves `from`. */
export async function storeFile(from: string, config: Config, bucket: Bucket, prefix: string, id: string, keep = false): Promise<string> {
  const to = storePath(config, bucket, prefix, id);
  await mkdir(dirname(to), { recursive: true });
  if (keep) {
    await copyFile(from, to);
    return to;
  }
  try {
    await rename(from, to);
  } catch {
    await copyFile(from, to);
    await rm(from, { force: true });
  }
  return to;
}

export async function removeStored(config: Config, bucket: Bucket, prefix: string, id: string): Promise<void> {
  await rm(storePath(config, bucket, prefix, id), { force: true }).catch(() => undefined);
}

/** Size of a stored file, or null when it is missing or empty ("not found", §7). */
export async function storedSize(path: string): Promise<number | null> {
  const info = await stat(path).catch(() => null);
  return info && info.isFile() && info.size > 0 ? info.size : null;
}

/** The first stored file of `prefixes` that exists and is not empty. */
export async function firstStored(config: Config, bucket: Bucket, prefixes: string[], id: string): Promise<string | null> {
  for (const prefix of prefixes) {
    const path = storePath(config, bucket, prefix, id);
    if ((await storedSize(path)) !== null) return path;
  }
  return null;
}

/** Folder of uploaded movies waiting for (or in) processing, and of their work files. */
export function pendingFolder(config: Config): string {
  return join(config.tmpFolder, "previews-pending");
}

/** The kept upload of a preview: `<id>.<n|r>.<ext>` (n: normalize, r: raw), found again after a restart. */
export function pendingUploadPath(config: Config, id: string, normalize: boolean, extension: string): string {
  return join(pendingFolder(config), `${id}.${normalize ? "n" : "r"}.${extension}`);
}

/** A work file of a preview's processing (`<id>.work-<name>`). */
export function workPath(config: Config, id: string, name: string): string {
  return join(pendingFolder(config), `${id}.work-${name}`);
}
