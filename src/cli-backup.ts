/** The `backup` and `restore` commands (bodies; src/cli.ts dispatches to them). */
import type { Config } from "./config";
import { openDatabase, migrateToLatest } from "./db/database";
import { createBackup, restoreBackup } from "./services/backup";

export const BACKUP_HELP = `  backup DIR                       copy the database (consistent, also while the server runs;
                                   a SQLite file, also from PostgreSQL), the stored files and a
                                   manifest with their SHA-256 into DIR
  restore DIR [--force]            verify DIR's manifest, then put the database and stored files
                                   back (into SQLite or PostgreSQL); --force replaces an existing
                                   database, or a PostgreSQL one's rows (stop the server first)`;

export const BACKUP_COMMANDS = ["backup", "restore"];

function folderArgument(args: string[], usage: string): string {
  const dir = args.find((a) => !a.startsWith("--"));
  if (!dir) throw new Error(`usage: ${usage}`);
  return dir;
}

/** Runs `backup` or `restore`; throws an Error whose message is for the user. */
export async function backupCommand(command: string, config: Config, args: string[]): Promise<void> {
  if (command === "backup") {
    const dir = folderArgument(args, "backup DIR");
    const db = openDatabase(config.databaseUrl);
    try {
      await migrateToLatest(db);
      const manifest = await createBackup(db, config, dir);
      const bytes = manifest.files.reduce((sum, f) => sum + f.size, manifest.database.size);
      console.log(`Backup written to ${dir}: database and ${manifest.files.length} stored file(s), ${bytes} bytes.`);
    } finally {
      await db.destroy();
    }
    return;
  }
  const dir = folderArgument(args, "restore DIR [--force]");
  const manifest = await restoreBackup(config, dir, { force: args.includes("--force") });
  console.log(`Restored the backup of ${manifest.created_at}: database and ${manifest.files.length} stored file(s).`);
}
