/** The Kysely instance: embedded SQLite by default (PostgreSQL later, through the same queries). */
import { Database as SqliteDatabase } from "bun:sqlite";
import { Kysely, Migrator, ParseJSONResultsPlugin } from "kysely";
import { BunSqliteDialect } from "kysely-bun-sqlite";
import type { DB } from "./tables.generated";
import { migrationProvider } from "../../db/migrations/index";
import { writeTracker } from "./write-tracker";

export type Db = Kysely<DB>;

export function sqlitePathFromUrl(url: string): string {
  if (!url.startsWith("sqlite:")) {
    throw new Error(`Unsupported DATABASE_URL "${url}": this build serves SQLite (sqlite://PATH or sqlite://:memory:).`);
  }
  const path = url.replace(/^sqlite:(\/\/)?/, "");
  return path === "" ? ":memory:" : path;
}

export function openDatabase(url: string): Db {
  const database = new SqliteDatabase(sqlitePathFromUrl(url), { create: true, strict: false });
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
      const stmt = database.query(sqlText);
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
  return new Kysely<DB>({ dialect: new BunSqliteDialect({ database: cached }), plugins: [writeTracker] });
}

export async function migrateToLatest(db: Db): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error");
    throw new Error(`Migration ${failed?.migrationName ?? ""} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export { ParseJSONResultsPlugin };
