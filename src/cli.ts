#!/usr/bin/env bun
/** The zou-bun command line: serve, database set-up, accounts, route listing. */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadConfig, VERSION, type Config } from "./config";
import { openDatabase, migrateToLatest, type Db } from "./db/database";
import { createApp, listRoutes } from "./app";
import { EventBus, pruneExpiredData } from "./lib/events";
import { describeError } from "./lib/log";
import { cleanPartialUploads } from "./lib/uploads";
import { initData } from "./services/init-data";
import { createAdmin, changePassword } from "./services/accounts";
import { serveRealtime } from "./services/live-forward";
import { IpcReceivingBroadcaster, IpcSendingBroadcaster } from "./lib/broadcast-ipc";
import { prepareDatabase } from "./services/database-setup";
import { isPostgres } from "./db/dialect";
import { startPreviewProcessing } from "./services/preview-processing";
import { finishShutdown, holdStopSignals, isLeadProcess, isWorkerProcess, serveWithWorkers, socketRole, workerListening } from "./workers";
// The other commands' modules (CSV, clean-files, backup, LDAP, copy-db, import-zou) and what only
// PostgreSQL or LDAP need are imported when used: `serve` starts without loading them.

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
const DAY_MS = 86_400_000;
/** When `serve` first prunes old events and expired keys (ms after listening). */
const HOUSEKEEPING_DELAY_MS = 10_000;

function option(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  if (index !== -1) return args[index + 1];
  const inline = args.find((a) => a.startsWith(`${name}=`));
  return inline?.slice(name.length + 1);
}

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

function fail(message: string): never {
  console.error(`zou-bun: ${message}`);
  process.exit(2);
}

/**
 * SIGTERM/SIGINT: stop accepting connections, let in-flight requests finish for up to
 * SHUTDOWN_GRACE_SECONDS, then cut the rest, remove partial uploads, write the WAL back into the
 * database file, and exit 0.
 */
function stopGracefully(server: Bun.Server<any>, live: { close(): void }, db: Db, config: Config, daily: ReturnType<typeof setInterval>, signals: ReturnType<typeof holdStopSignals>): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(daily);
    console.log(`${signal}: finishing in-flight requests (up to ${config.shutdownGraceSeconds} s), then stopping.`);
    live.close(); // socket.io clients are told to go, its timers stop
    const finished = server.stop(false).then(() => true);
    const inTime = await Promise.race([finished, Bun.sleep(config.shutdownGraceSeconds * 1000).then(() => false)]);
    if (!inTime) {
      console.log("Grace period over: closing the remaining connections.");
      await server.stop(true);
    }
    await finishShutdown(config, db, { code: 0 });
  };
  signals.release((signal) => void stop(signal));
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
      const signals = holdStopSignals();
      const started = performance.now();
      const host = option(args, "--host") ?? config.host;
      const ui = option(args, "--ui");
      if (ui) config.uiDir = resolve(ui);
      if (config.uiDir && !existsSync(join(config.uiDir, "index.html"))) fail(`${config.uiDir} is not a Kitsu build folder (no index.html)`);
      if (config.secretKey.length < 32) {
        console.warn(`Warning: SECRET_KEY is ${config.secretKey.length} characters long; use at least 32 random characters (tokens signed with a short key can be forged).`);
      }
      const port = Number(option(args, "--port") ?? config.port);
      // Workers leave partial uploads to their supervisor (another worker may be receiving one).
      const partials = isWorkerProcess() ? 0 : await cleanPartialUploads(config);
      if (partials > 0) console.log(`Removed ${partials} partial upload(s) left by a previous run.`);
      const db = openDatabase(config.databaseUrl);
      const admin = await prepareDatabase(db, config);
      if (admin) {
        console.log(`Created the first admin account: ${admin.email}` + (admin.generatedPassword ? ` with password ${admin.generatedPassword}` : ""));
      }
      const events = new EventBus();
      // PostgreSQL: other instances' commits, events and job claims (README, several instances).
      const instance = isPostgres(db) ? await (await import("./lib/postgres-instance")).startPostgresInstance(db, config.databaseUrl, events) : null;
      const app = createApp({ db, config, events });
      const role = socketRole();
      const broadcaster = instance?.broadcaster ?? (role.role === "owner" ? new IpcReceivingBroadcaster(events) : role.role === "forward" ? new IpcSendingBroadcaster(events) : undefined);
      const { server, live } = await serveRealtime(app, { db, config, events, broadcaster }, {
        hostname: host,
        port,
        maxRequestBodySize: 4 * 1024 * 1024 * 1024,
        idleTimeout: 120,
        reusePort: isWorkerProcess(),
      }, role);
      console.log(`zou-bun ${VERSION} listening on http://${server.hostname}:${server.port}/api${config.uiDir ? `, Kitsu from ${config.uiDir} at /` : ""} (ready in ${Math.round(performance.now() - started)} ms)`);
      workerListening(server.port!);
      // After listening: the ffmpeg check and the previews a stop left processing (re-queued or
      // marked broken) do not hold the first answers back.
      await startPreviewProcessing({ db, config, events });
      const housekeeping = async () => {
        try {
          const pruned = await pruneExpiredData(db, config.eventRetentionDays);
          if (pruned.events + pruned.expiredKeys > 0) {
            console.log(`Pruned ${pruned.events} event(s) older than ${config.eventRetentionDays} days and ${pruned.expiredKeys} expired key(s).`);
          }
        } catch (error) {
          console.error(`Pruning old events failed: ${describeError(error)}`);
        }
      };
      // The first pass a little after the start: on a large event log it would hold the first
      // answers back.
      setTimeout(() => void housekeeping(), HOUSEKEEPING_DELAY_MS).unref();
      const daily = setInterval(() => void housekeeping(), DAY_MS);
      // One process writes the scheduled backups and syncs the directory: the single server, or worker 0.
      if (isLeadProcess()) {
        if (config.backupDir && config.backupIntervalHours > 0) (await import("./services/backup")).startScheduledBackups(db, config);
        if (config.ldap.syncIntervalSeconds) (await import("./services/ldap-sync")).startScheduledLdapSync(db, config, events);
      }
      stopGracefully(server, live, db, config, daily, signals);
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

if (import.meta.main) {
  main(process.argv.slice(2)).catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
