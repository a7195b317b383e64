/**
 * `zou-bun clean-files [--delete]`: lists the stored files (preview buckets and working-file
 * contents under PREVIEW_FOLDER) that no row refers to; a dry run unless `--delete`, which removes
 * them. Folders in progress (`.uploads`, database backups) are left alone.
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Config } from "./config";
import type { Db } from "./db/database";
import { referencedStoredPaths } from "./services/stored-files";

export const CLEAN_HELP = `  clean-files [--delete]           list stored files no row refers to (dry run); --delete removes them`;

/** Folders of the preview folder that hold row-owned files. */
const STORED_ROOTS = ["pictures", "movies", "files", "working-files"];

async function listFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "dbbackup") files.push(...(await listFiles(path)));
    } else if (entry.isFile()) files.push(path);
  }
  return files;
}

/** Stored files no row refers to, sorted. */
export async function orphanStoredFiles(db: Db, config: Config): Promise<string[]> {
  const referenced = await referencedStoredPaths(db, config);
  const orphans: string[] = [];
  for (const root of STORED_ROOTS) {
    for (const path of await listFiles(join(config.previewFolder, root))) if (!referenced.has(path)) orphans.push(path);
  }
  return orphans.sort();
}

/** The command body: prints one orphan per line, then a summary; removes them with `--delete`. */
export async function cleanFilesCommand(db: Db, config: Config, args: string[], print: (line: string) => void = console.log): Promise<string[]> {
  const remove = args.includes("--delete");
  const orphans = await orphanStoredFiles(db, config);
  for (const path of orphans) {
    if (remove) await rm(path, { force: true });
    print(path);
  }
  const verb = remove ? "removed" : "not referenced by any row (dry run: --delete removes them)";
  print(`${orphans.length} stored file${orphans.length === 1 ? "" : "s"} ${verb}.`);
  return orphans;
}
