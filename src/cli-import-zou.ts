/**
 * The `import-zou` command (body; src/cli.ts dispatches to it): every row of an existing Zou
 * database (PostgreSQL), with its id, into zou-bun's database (DATABASE_URL), through the generic
 * copier (src/services/db-copy.ts): upserts, so it can run again. Zou's password hashes (bytea)
 * become the same bcrypt text, so people log in with their Zou password. With --previews, Zou's
 * preview folder (the same layout as ours) is copied, or hard-linked with --link, into PREVIEW_FOLDER.
 */
import { existsSync } from "node:fs";
import { copyFile, link, mkdir, readdir, stat } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import type { Config } from "./config";
import { isPostgresUrl, redactUrl } from "./db/database";
import { closeTarget, copyDatabase, openSource, openTarget, summaryLines, terminalProgress } from "./services/db-copy";
import { option } from "./lib/args";

export const IMPORT_ZOU_HELP = `  import-zou postgres://... [--previews PATH [--link]]
                                   copy an existing Zou database (every row, same ids, bcrypt
                                   passwords kept) into DATABASE_URL, upserting (runnable again);
                                   --previews copies Zou's preview folder into PREVIEW_FOLDER
                                   (--link: hard links instead of copies)`;

/**
 * Copies every file under `from` to the same relative path under `to`; a file already there with
 * the same size is kept (a second import does not copy again). Returns the files copied and kept.
 */
export async function copyPreviewFolder(from: string, to: string, options: { link?: boolean } = {}): Promise<{ copied: number; kept: number }> {
  const source = resolve(from);
  if (!existsSync(source)) throw new Error(`${source}: no such preview folder.`);
  const entries = await readdir(source, { recursive: true, withFileTypes: true });
  let copied = 0;
  let kept = 0;
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const destination = join(to, relative(source, path));
    const [here, there] = await Promise.all([stat(path), stat(destination).catch(() => null)]);
    if (there && there.size === here.size) {
      kept += 1;
      continue;
    }
    await mkdir(dirname(destination), { recursive: true });
    let linked = false;
    if (options.link && !there) linked = await link(path, destination).then(() => true, () => false); // another disk: copied
    if (!linked) await copyFile(path, destination);
    copied += 1;
  }
  return { copied, kept };
}

/** Runs `import-zou`; throws an Error whose message is for the user. */
export async function importZouCommand(config: Config, args: string[]): Promise<void> {
  const valued = new Set(["--previews"].map((name) => option(args, name)));
  const url = args.find((a) => !a.startsWith("--") && !valued.has(a));
  if (!url || !isPostgresUrl(url)) throw new Error("usage: import-zou postgres://user:pass@host:port/zou [--previews PATH [--link]]");
  const previews = option(args, "--previews");
  if (previews !== undefined && !existsSync(previews)) throw new Error(`${previews}: no such preview folder.`);
  const started = performance.now();
  const source = openSource(url);
  let counts;
  try {
    const target = await openTarget(config.databaseUrl);
    try {
      counts = await copyDatabase(source, target, { existing: "upsert", onProgress: terminalProgress() });
    } finally {
      await closeTarget(target);
    }
  } finally {
    await source.destroy();
  }
  console.log(`Imported ${redactUrl(url)} into ${redactUrl(config.databaseUrl)} in ${((performance.now() - started) / 1000).toFixed(1)} s:`);
  for (const line of summaryLines(counts.filter((c) => !c.absent || c.table !== "kv_store"))) console.log(line);
  if (previews !== undefined) {
    const { copied, kept } = await copyPreviewFolder(previews, config.previewFolder, { link: args.includes("--link") });
    console.log(`Preview files: ${copied} ${args.includes("--link") ? "linked or copied" : "copied"}, ${kept} already in ${config.previewFolder}.`);
  }
}
