#!/usr/bin/env bun
/** The zou-bun command line: serve, database set-up, accounts, route listing. */
import { loadConfig, VERSION, type Config } from "./config";
import { openDatabase, migrateToLatest, type Db } from "./db/database";
import { fail, option } from "./lib/args";
import { describeError } from "./lib/log";
import { initData } from "./services/init-data";
import { createAdmin, changePassword } from "./services/accounts";
import { serveWithWorkers } from "./workers";
// The other commands' modules (CSV, clean-files, backup, LDAP, copy-db, import-zou), the server
// itself (./serve.ts: the app, the realtime stream) and what only PostgreSQL or LDAP need are
// imported when used: the supervisor of `serve --workers N` starts its workers without loading
// the app, and the other commands start without loading the server.

/** The help text; the command modules give their own lines. */
async function helpText(): Promise<string> {
  const [csv, clean, backup, ldap, copy, importZou] = await Promise.all([
    import("./cli-csv"),
    import("./cli-clean"),
    import("./cli-backup"),
    import("./cli-ldap"),
    import("./cli-copy"),
    import("./cli-import-zou"),
  ]);
  return `zou-bun ${VERSION}: a Zou-compatible production tracking server

Usage: zou-bun <command> [options]

Commands:
  serve [--host H] [--port N] [--ui DIR] [--workers N]
                                   start the server (default 0.0.0.0:8080, one process per
                                   core, or WORKERS); migrates the database and creates a first admin on
                                   an empty one; --ui (or KITSU_DIST) serves a Kitsu build at /
  init-db                          create or upgrade the database schema
  init-data [--domain 3d|2d|vfx|games]
                                   add the default statuses, types and departments (idempotent)
  create-admin EMAIL --password PW create an admin account
  change-password EMAIL --password PW
                                   set a person's password; "--password -" (or no --password
                                   with a pipe on standard input) reads it from standard input
  routes                           print every served route, one "METHOD /api/path" per line
${csv.CSV_HELP}
${clean.CLEAN_HELP}
${backup.BACKUP_HELP}
${ldap.LDAP_HELP}
${copy.COPY_HELP}
${importZou.IMPORT_ZOU_HELP}
  --help, --version

Configuration comes from environment variables (see README.md): DATABASE_URL (default
sqlite://./zou.db), SECRET_KEY, PREVIEW_FOLDER, ZOU_ADMIN_EMAIL, ZOU_ADMIN_PASSWORD, ...`;
}

const COMMANDS = new Set(["serve", "init-db", "init-data", "create-admin", "change-password", "routes", "clean-files", "import-csv", "export-csv", "sync-ldap", "backup", "restore", "copy-db", "import-zou"]);

async function openMigrated(config: Config): Promise<Db> {
  const db = openDatabase(config.databaseUrl);
  await migrateToLatest(db);
  return db;
}

/** --password PW; `--password -`, or none with stdin not a terminal: the first line of stdin. */
async function passwordArgument(args: string[]): Promise<string | undefined> {
  const given = option(args, "--password");
  if (given !== undefined && given !== "-") return given;
  if (given === undefined && process.stdin.isTTY) return undefined;
  const text = await Bun.stdin.text();
  return text.split(/\r?\n/)[0] || undefined;
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  if (!command || command === "--help" || command === "-h" || command === "help") {
    console.log(await helpText());
    return;
  }
  if (command === "--version" || command === "-v" || command === "version") {
    console.log(VERSION);
    return;
  }
  if (!COMMANDS.has(command)) fail(`unknown command "${command}" (see --help)`);
  // Everything the server writes (database, -wal/-shm, stored files, their folders, the secret
  // key) is for its owner only: files 0600, folders 0700.
  process.umask(0o077);
  const config = loadConfig();
  switch (command) {
    case "serve": {
      if (await serveWithWorkers(args, config)) return;
      await (await import("./serve")).serveAlone(args, config);
      return;
    }
    case "init-db": {
      const db = await openMigrated(config);
      await db.destroy();
      console.log("Database schema is up to date.");
      return;
    }
    case "init-data": {
      const domain = option(args, "--domain") ?? "3d";
      if (!["3d", "2d", "vfx", "games"].includes(domain)) fail(`unknown domain ${domain} (3d, 2d, vfx or games)`);
      const db = await openMigrated(config);
      await initData(db, domain as "3d");
      await db.destroy();
      console.log(`Initial data (${domain}) are in place.`);
      return;
    }
    case "create-admin": {
      const email = args.find((a) => !a.startsWith("--") && a !== option(args, "--password"));
      const password = await passwordArgument(args);
      if (!email || !password) fail("usage: create-admin EMAIL --password PW (or - to read it from standard input)");
      const db = await openMigrated(config);
      try {
        await createAdmin(db, config, email, password);
      } catch (error) {
        fail(error instanceof Error ? error.message : String(error));
      }
      await db.destroy();
      console.log(`Admin ${email} created.`);
      return;
    }
    case "change-password": {
      const email = args.find((a) => !a.startsWith("--") && a !== option(args, "--password"));
      const password = await passwordArgument(args);
      if (!email || !password) fail("usage: change-password EMAIL --password PW (or - to read it from standard input)");
      const db = await openMigrated(config);
      try {
        await changePassword(db, email, password);
      } catch (error) {
        fail(error instanceof Error ? error.message : String(error));
      }
      await db.destroy();
      console.log(`Password of ${email} changed.`);
      return;
    }
    case "routes": {
      const { createApp, listRoutes } = await import("./app");
      const db = openDatabase("sqlite://:memory:");
      const app = createApp({ db, config: { ...config } });
      for (const line of listRoutes(app)) console.log(line);
      await db.destroy();
      return;
    }
    case "import-csv":
    case "export-csv": {
      const db = await openMigrated(config);
      let failure: string | null = null;
      try {
        const { importCsvCommand, exportCsvCommand } = await import("./cli-csv");
        await (command === "import-csv" ? importCsvCommand : exportCsvCommand)(db, config, args, (name) => option(args, name));
      } catch (error) {
        failure = error instanceof Error ? error.message : String(error);
      }
      await db.destroy();
      if (failure) fail(failure);
      return;
    }
    case "clean-files": {
      const db = await openMigrated(config);
      const { cleanFilesCommand } = await import("./cli-clean");
      await cleanFilesCommand(db, config, args).finally(() => db.destroy());
      return;
    }
    case "sync-ldap": {
      const db = await openMigrated(config);
      let failure: string | null = null;
      try {
        await (await import("./cli-ldap")).syncLdapCommand(db, config);
      } catch (error) {
        failure = error instanceof Error ? error.message : String(error);
      }
      await db.destroy();
      if (failure) fail(failure);
      return;
    }
    case "backup":
    case "restore":
      await (await import("./cli-backup")).backupCommand(command, config, args).catch((error) => fail(error instanceof Error ? error.message : String(error)));
      return;
    case "copy-db":
      await (await import("./cli-copy")).copyDbCommand(args).catch((error) => fail(error instanceof Error ? error.message : String(error)));
      return;
    case "import-zou":
      await (await import("./cli-import-zou")).importZouCommand(config, args).catch((error) => fail(error instanceof Error ? error.message : String(error)));
      return;
    default:
      fail(`unknown command "${command}" (see --help)`);
  }
}

/** Runs a command; an error ends the process with one line (ZOU_BUN_DEBUG=1: the whole error). */
export function runCommandLine(argv: string[]): void {
  main(argv).catch((error) => {
    // The binary's minified source lines would fill the terminal.
    console.error(process.env.ZOU_BUN_DEBUG ? error : `zou-bun: ${describeError(error, 0)}`);
    process.exit(1);
  });
}

if (import.meta.main) runCommandLine(process.argv.slice(2));
