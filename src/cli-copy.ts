/** The `copy-db` command (body; src/cli.ts dispatches to it): one database into another, e.g. SQLite into PostgreSQL. */
import { redactUrl } from "./db/database";
import { copyBetween, summaryLines, terminalProgress } from "./services/db-copy";
import { option } from "./lib/args";

export const COPY_HELP = `  copy-db --from URL --to URL [--force]
                                   copy every row of one zou-bun database into another
                                   (sqlite://PATH or postgres://...; the target is migrated
                                   first; one transaction); --force writes over (upserts into)
                                   a target that already holds rows`;

/** Runs `copy-db`; throws an Error whose message is for the user. */
export async function copyDbCommand(args: string[]): Promise<void> {
  const from = option(args, "--from");
  const to = option(args, "--to");
  if (!from || !to) throw new Error("usage: copy-db --from URL --to URL [--force]");
  const started = performance.now();
  const counts = await copyBetween(from, to, { existing: args.includes("--force") ? "upsert" : "refuse", onProgress: terminalProgress() });
  console.log(`Copied ${redactUrl(from)} into ${redactUrl(to)} in ${((performance.now() - started) / 1000).toFixed(1)} s:`);
  for (const line of summaryLines(counts)) console.log(line);
}
