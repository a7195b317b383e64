/**
 * The Kysely instance: embedded SQLite by default (`sqlite://PATH`), PostgreSQL for studios that run
 * several instances (`postgres://user:pass@host:port/db`), through the same queries.
 */
import { Database as SqliteDatabase } from "bun:sqlite";
import { chmodSync, existsSync } from "node:fs";
import { Kysely, Migrator, ParseJSONResultsPlugin, PostgresDialect, sql } from "kysely";
// The package's ES module build: its default entry (`main`) is CommonJS, which would load a second,
// CommonJS copy of the whole of Kysely at start-up (a third of the start-up time).
import { BunSqliteDialect } from "kysely-bun-sqlite/dist/index.js";
import type PgModule from "pg";
import type { DB } from "./tables.generated";
import { migrationProvider, migrations } from "../../db/migrations/index";
import { writeTracker } from "./write-tracker";
import { isPostgres } from "./dialect";
import { attachChangeSignal, NO_OTHER_WRITERS, sqliteChangeSignal } from "../lib/change-signal";
import { ORIGIN_SETTING, postgresChangeSignal } from "../lib/change-signal-postgres";
import { attachChangeLog, ChangeLog, changeLogOf, loggingDialect, sqliteChangeLogReader } from "./change-log";

export type Db = Kysely<DB>;

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

export function sqlitePathFromUrl(url: string): string {
  if (!url.startsWith("sqlite:")) {
    throw new Error(`Unsupported DATABASE_URL "${redactUrl(url)}": use sqlite://PATH, sqlite://:memory: or postgres://user:pass@host:port/db.`);
  }
  const path = url.replace(/^sqlite:(\/\/)?/, "");
  return path === "" ? ":memory:" : path;
}

/**
 * The database file and its -wal/-shm hold password hashes, TOTP secrets and reset tokens: owner
 * only (0600), also when an older build (or a wider umask) created them readable by others.
 * SQLite gives new -wal/-shm files the mode of the database file.
 */
function restrictDatabaseFiles(path: string): void {
  if (path === ":memory:" || path.startsWith("file:")) return;
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      if (existsSync(file)) chmodSync(file, 0o600);
    } catch {
      /* not ours to change: left as it is */
    }
  }
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@]*@/, "//$1:***@");
}

/**
 * PostgreSQL answers in the same string forms as SQLite rows hold: timestamps `YYYY-MM-DDTHH:MM:SS[.f]`
 * (the form written by utcNow/utcNowPrecise), dates `YYYY-MM-DD`, JSON as its text (parsed where
 * SQLite's text is parsed), 64-bit integers and numerics as numbers.
 */
/** `2026-01-02 03:04:05.12` → `2026-01-02T03:04:05.120000` (PostgreSQL drops trailing zeros of the fraction). */
function pgTimestamp(value: string): string {
  const text = value.replace(" ", "T").replace(/\+00(:00)?$/, "");
  const dot = text.indexOf(".", 19);
  return dot === -1 ? text : text.slice(0, dot + 1) + text.slice(dot + 1).padEnd(6, "0");
}
const PG_TEXT_TYPES = new Set([1082 /* date */, 114 /* json */, 3802 /* jsonb */]);
function pgTypeParser(pg: typeof PgModule, oid: number, format?: string): (value: string) => unknown {
  if (oid === 1114 || oid === 1184) return pgTimestamp;
  if (PG_TEXT_TYPES.has(oid)) return (value) => value;
  if (oid === 20 || oid === 1700) return (value) => Number(value);
  return pg.types.getTypeParser(oid, format as "text");
}

export function openDatabase(url: string, poolSize = Number(process.env.DATABASE_POOL_SIZE) || 10): Db {
  if (isPostgresUrl(url)) {
    // Loaded only for PostgreSQL: a SQLite start-up does not pay for the driver.
    const pg = require("pg") as typeof PgModule;
    // Every write committed through this handle stores its records in the change log (other
    // instances read them) and its connections carry the handle's origin (the change triggers
    // leave such writes to the log: src/lib/change-signal-postgres.ts).
    const log = new ChangeLog("postgres", true);
    const pool = new pg.Pool({
      connectionString: url,
      max: poolSize,
      options: `-c ${ORIGIN_SETTING}=${log.origin}`,
      types: { getTypeParser: ((oid: number, format?: string) => pgTypeParser(pg, oid, format)) as never },
    });
    // An idle connection dropped by the server (restart, network) must not crash the process.
    pool.on("error", (error) => console.error(`zou-bun: PostgreSQL connection error: ${error.message}`));
    const db = new Kysely<DB>({ dialect: loggingDialect(new PostgresDialect({ pool }), log), plugins: [writeTracker] });
    attachChangeLog(db, log);
    // Commits of other instances: their change log rows, a trigger-moved sequence for writes made
    // outside zou-bun, and notifications (see that file).
    attachChangeSignal(db, postgresChangeSignal(db, log));
    return db;
  }
  const path = sqlitePathFromUrl(url);
  let database: SqliteDatabase;
  try {
    database = new SqliteDatabase(path, { create: true, strict: false });
  } catch (error) {
    throw new Error(`cannot open the SQLite database ${path}: ${error instanceof Error ? error.message : String(error)} (DATABASE_URL)`);
  }
  restrictDatabaseFiles(path);
  if (!("reader" in database.prepare("select 1"))) {
    throw new Error("zou-bun needs Bun >= 1.4.4 (bun:sqlite Statement.reader).");
  }
  database.exec("PRAGMA journal_mode = WAL");
  database.exec("PRAGMA synchronous = NORMAL");
  database.exec("PRAGMA foreign_keys = ON");
  database.exec("PRAGMA busy_timeout = 5000");
  // bun:sqlite caches statements compiled by query(); the driver calls prepare() on every query and
  // reads `columnNames` only to choose all() or run(): bun:sqlite rebuilds that array on each read,
  // so it is read once per statement (its length does not change with the schema).
  const statements = new Map<string, unknown>();
  const prepare = (sqlText: string) => {
    let statement = statements.get(sqlText);
    if (!statement) {
      // Transactions take the write lock when they begin: two processes on one file (workers, the
      // CLI) then wait for each other (busy_timeout) instead of failing to upgrade a read lock.
      const stmt = database.query(sqlText === "begin" ? "begin immediate" : sqlText);
      statement = {
        columnNames: stmt.columnNames,
        all: (parameters: never) => stmt.all(parameters),
        run: (parameters: never) => stmt.run(parameters),
        iterate: (parameters: never) => stmt.iterate(parameters),
        iterator: true, // the driver's streaming support test
      };
      if (statements.size >= 5000) statements.clear();
      statements.set(sqlText, statement);
    }
    return statement;
  };
  const cached = { prepare, close: () => database.close() } as unknown as SqliteDatabase;
  // writeTracker lets in-process caches (the session cache) notice writes to the tables they copy.
  const dialect = new BunSqliteDialect({ database: cached });
  if (path === ":memory:") {
    const db = new Kysely<DB>({ dialect, plugins: [writeTracker] });
    attachChangeSignal(db, NO_OTHER_WRITERS);
    return db;
  }
  // Commits by other processes on the same file (CLI, other workers): their change log rows tell
  // what they wrote (src/db/change-log.ts), the signal when to read them (src/lib/change-signal.ts).
  const log = new ChangeLog("sqlite", false);
  const db = new Kysely<DB>({ dialect: loggingDialect(dialect, log), plugins: [writeTracker] });
  attachChangeLog(db, log);
  attachChangeSignal(db, sqliteChangeSignal(database, sqliteChangeLogReader(database, log)));
  return db;
}

/**
 * True when exactly this build's migrations are recorded as applied: the usual start-up on an
 * existing database, answered by one query, where Kysely's Migrator would first introspect every
 * table (tens of ms).
 */
async function isUpToDate(db: Db): Promise<boolean> {
  let applied: Set<string>;
  try {
    const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
    applied = new Set(rows.map((row) => row.name));
  } catch {
    return false; // a new database: no migration table yet
  }
  const known = Object.keys(migrations);
  return applied.size === known.length && known.every((name) => applied.has(name));
}

export async function migrateToLatest(db: Db): Promise<void> {
  if (await isUpToDate(db)) {
    changeLogOf(db)?.markReady();
    return;
  }
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error");
    throw new Error(`Migration ${failed?.migrationName ?? ""} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  changeLogOf(db)?.markReady();
}

/** Closes the database after writing the WAL back into the main file (a clean shutdown). */
export async function closeDatabase(db: Db): Promise<void> {
  try {
    if (!isPostgres(db)) await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(db);
  } finally {
    await db.destroy();
  }
}

export { ParseJSONResultsPlugin };
