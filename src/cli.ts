#!/usr/bin/env bun
/** The zou-bun command line: serve, database set-up, accounts, route listing. */
import { loadConfig, VERSION, type Config } from "./config";
import { openDatabase, migrateToLatest, type Db } from "./db/database";
import { createApp, listRoutes } from "./app";
import { initData } from "./services/init-data";
import { createAdmin, changePassword, ensureFirstAdmin } from "./services/accounts";
import { CSV_HELP, exportCsvCommand, importCsvCommand } from "./cli-csv";

const HELP = `zou-bun ${VERSION}: a Zou-compatible production tracking server

Usage: zou-bun <command> [options]

Commands:
  serve [--host H] [--port N]      start the server (default 0.0.0.0:8080); migrates the database
                                   and creates a first admin on an empty one
  init-db                          create or upgrade the database schema
  init-data [--domain 3d|2d|vfx|games]
                                   add the default statuses, types and departments (idempotent)
  create-admin EMAIL --password PW create an admin account
  change-password EMAIL --password PW
                                   set a person's password
  routes                           print every served route, one "METHOD /api/path" per line
${CSV_HELP}
  --help, --version

Configuration comes from environment variables (see README.md): DATABASE_URL (default
sqlite://./zou.db), SECRET_KEY, PREVIEW_FOLDER, ZOU_ADMIN_EMAIL, ZOU_ADMIN_PASSWORD, ...`;

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

function fail(message: string): never {
  console.error(`zou-bun: ${message}`);
  process.exit(2);
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  if (!command || command === "--help" || command === "-h" || command === "help") {
    console.log(HELP);
    return;
  }
  if (command === "--version" || command === "-v" || command === "version") {
    console.log(VERSION);
    return;
  }
  const config = loadConfig();
  switch (command) {
    case "serve": {
      const started = performance.now();
      const host = option(args, "--host") ?? config.host;
      const port = Number(option(args, "--port") ?? config.port);
      const db = await openMigrated(config);
      await initData(db, "3d", { onlyIfEmpty: true });
      const admin = await ensureFirstAdmin(db, config);
      if (admin) {
        console.log(`Created the first admin account: ${admin.email}` + (admin.generatedPassword ? ` with password ${admin.generatedPassword}` : ""));
      }
      const app = createApp({ db, config });
      const server = Bun.serve({
        hostname: host,
        port,
        fetch: app.fetch,
        maxRequestBodySize: 4 * 1024 * 1024 * 1024,
        idleTimeout: 120,
      });
      console.log(`zou-bun ${VERSION} listening on http://${server.hostname}:${server.port}/api (ready in ${Math.round(performance.now() - started)} ms)`);
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
      const password = option(args, "--password");
      if (!email || !password) fail("usage: create-admin EMAIL --password PW");
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
      const password = option(args, "--password");
      if (!email || !password) fail("usage: change-password EMAIL --password PW");
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
        await (command === "import-csv" ? importCsvCommand : exportCsvCommand)(db, config, args, (name) => option(args, name));
      } catch (error) {
        failure = error instanceof Error ? error.message : String(error);
      }
      await db.destroy();
      if (failure) fail(failure);
      return;
    }
    default:
      fail(`unknown command "${command}" (see --help)`);
  }
}

if (import.meta.main) {
  await main(process.argv.slice(2));
}
