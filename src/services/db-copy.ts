/**
 * One generic copier between databases of the zou-bun schema (which is Zou's): SQLite → PostgreSQL,
 * PostgreSQL → SQLite, SQLite → SQLite, and an existing Zou database (PostgreSQL) → zou-bun. Used by
 * `copy-db`, `import-zou`, and backups/restores on PostgreSQL.
 *
 * - The source is read in one transaction (REPEATABLE READ, read only, on PostgreSQL; one SQLite
 *   read transaction, opened read-only so the source file is never changed), so the copy is one
 *   consistent picture of it even while a server keeps writing.
 * - The target is migrated to the latest schema first, then written in one transaction: all of it
 *   or nothing. Rows are upserted by primary key, so a copy can run again.
 * - Tables go in foreign-key order; the few references that run backwards (the cycles project ↔
 *   production_schedule_version and entity → preview_file → task → entity) are written NULL
 *   first and set once every row exists; a row whose parent row (same table) is not written yet
 *   waits until it is.
 * - Values are converted by column kind (tables.generated.ts): booleans 0/1 ↔ true/false, JSON
 *   text ↔ jsonb (and Zou's native arrays ↔ JSON arrays), bytea (Zou's password hashes) → text.
 * - Only columns both sides have are copied: a source column the target lacks is ignored, a target
 *   column the source lacks takes its default. Tables the source lacks are skipped. The search
 *   index tables are not copied: their triggers rebuild them from the copied rows.
 */
import { Database as SqliteDatabase } from "bun:sqlite";
import { existsSync } from "node:fs";
import { Kysely, sql } from "kysely";
import { BunSqliteDialect } from "kysely-bun-sqlite/dist/index.js";
import { TABLES } from "../db/tables.generated";
import type { ColumnKind, TableDef } from "../db/table-def";
import { isPostgres } from "../db/dialect";
import { isPostgresUrl, migrateToLatest, openDatabase, redactUrl, sqlitePathFromUrl } from "../db/database";

type AnyDb = Kysely<any>;
type Row = Record<string, unknown>;

export class CopyError extends Error {}

/** One table to copy, in the order tables are copied. */
export interface CopyTable {
  name: string;
  /** The conflict target of the upsert (Zou's `id`, or the link columns of link tables). */
  primaryKey: string[];
  columns: Record<string, ColumnKind>;
  /** Foreign-key columns written NULL with the rows, then set once every table is copied. */
  deferred: string[];
  /** Foreign-key columns to the table itself (among `deferred`). */
  selfReferences: string[];
}

export interface TableCount {
  table: string;
  rows: number;
  /** True when the source has no such table (nothing copied). */
  absent?: boolean;
}

export interface CopyProgress {
  table: string;
  /** Position of the table in the copy (1-based) and the number of tables. */
  index: number;
  tables: number;
  done: number;
  total: number;
}

export interface CopyOptions {
  /** What to do when the target already holds rows: refuse (the default), upsert over them, or empty the copied tables first. */
  existing?: "refuse" | "upsert" | "replace";
  onProgress?: (progress: CopyProgress) => void;
  /** Rows per INSERT (bounded by the number of bound parameters per statement). */
  batchRows?: number;
}

/** The key/value store (token blocklist, reset tokens) is zou-bun's own table, outside Zou's model. */
const KV_STORE: CopyTable = { name: "kv_store", primaryKey: ["key"], columns: { key: "string", value: "text", expires_at: "bigint" }, deferred: [], selfReferences: [] };

let plan: CopyTable[] | null = null;

/**
 * Every table in an order where each row's references already exist, with the backward references
 * to defer. Kahn's order; when only cycles are left, the table that can wait for the fewest
 * (nullable) references goes next, preferring the one the others depend on most.
 */
export function copyPlan(): CopyTable[] {
  if (plan) return plan;
  const defs = new Map((Object.values(TABLES) as TableDef[]).map((def) => [def.name, def]));
  const targetOf = (fk: string) => fk.split(".")[0]!;
  const deferred = new Map<string, string[]>();
  for (const def of defs.values()) {
    deferred.set(def.name, Object.entries(def.columns).filter(([, col]) => col.fk && targetOf(col.fk) === def.name).map(([name]) => name));
  }
  const pending = new Set(defs.keys());
  const unresolved = (def: TableDef) =>
    Object.entries(def.columns)
      .filter(([name, col]) => col.fk && pending.has(targetOf(col.fk)) && targetOf(col.fk) !== def.name && !deferred.get(def.name)!.includes(name))
      .map(([name]) => name);
  const ordered: string[] = [];
  while (pending.size > 0) {
    const ready = [...pending].filter((name) => unresolved(defs.get(name)!).length === 0).sort();
    if (ready.length === 0) {
      const dependents = (name: string) =>
        [...pending].reduce((n, other) => n + Object.values(defs.get(other)!.columns).filter((c) => c.fk && targetOf(c.fk) === name).length, 0);
      const candidates = [...pending]
        .map((name) => ({ name, columns: unresolved(defs.get(name)!) }))
        .filter(({ name, columns }) => columns.every((c) => defs.get(name)!.columns[c]!.nullable !== false))
        .sort((a, b) => a.columns.length - b.columns.length || dependents(b.name) - dependents(a.name) || a.name.localeCompare(b.name));
      const chosen = candidates[0];
      if (!chosen) throw new CopyError(`the foreign keys of ${[...pending].join(", ")} form a cycle of required columns`);
      deferred.get(chosen.name)!.push(...chosen.columns);
      ready.push(chosen.name);
    }
    for (const name of ready) {
      pending.delete(name);
      ordered.push(name);
    }
  }
  plan = ordered.map((name) => {
    const def = defs.get(name)!;
    const primaryKey = def.primaryKey.includes("id") ? ["id"] : def.primaryKey;
    const late = deferred.get(name)!;
    if (late.length > 0 && primaryKey.join() !== "id") throw new CopyError(`${name} has backward references but no id to set them by`);
    const selfReferences = Object.entries(def.columns).filter(([, col]) => col.fk && targetOf(col.fk) === name).map(([c]) => c);
    return { name, primaryKey, columns: Object.fromEntries(Object.entries(def.columns).map(([c, col]) => [c, col.type])), deferred: late, selfReferences };
  });
  plan.push(KV_STORE);
  return plan;
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

const decoder = new TextDecoder();

/** Zou's bytea values (password hashes, recovery code hashes) are the bytes of ASCII text. */
function withTextBytes(value: unknown): unknown {
  if (value instanceof Uint8Array) return decoder.decode(value);
  if (Array.isArray(value)) return value.map(withTextBytes);
  return value;
}

function isJsonText(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** A value read from either database, as the target database stores that column kind. */
export function convertValue(kind: ColumnKind, value: unknown, toPostgres: boolean): unknown {
  if (value === null || value === undefined) return null;
  switch (kind) {
    case "bool": {
      const truth = value === true || value === 1 || value === "1" || value === "true" || value === "t" || value === 1n;
      return toPostgres ? truth : truth ? 1 : 0;
    }
    case "json":
    case "array": {
      if (value instanceof Uint8Array) return decoder.decode(value);
      // JSON text (SQLite, and jsonb as our PostgreSQL connections read it); text that is not
      // JSON (an old hand-written row) is kept as a JSON string so jsonb accepts it.
      if (typeof value === "string") return !toPostgres || isJsonText(value) ? value : JSON.stringify(value);
      // Zou's native arrays (varchar[], jsonb[], bytea[]) and parsed JSON.
      return JSON.stringify(withTextBytes(value));
    }
    case "binary":
      return value instanceof Uint8Array ? decoder.decode(value) : value;
    case "int":
    case "bigint":
    case "float":
      return typeof value === "number" ? value : Number(value);
    case "datetime":
      return value instanceof Date ? value.toISOString().replace("Z", "") : value;
    case "date":
      return value instanceof Date ? value.toISOString().slice(0, 10) : value;
    default:
      return value;
  }
}

// ---------------------------------------------------------------------------------------------
// Databases
// ---------------------------------------------------------------------------------------------

/**
 * Opens a database to copy from: PostgreSQL through the usual pool (one connection is enough),
 * SQLite read-only, so neither its journal mode nor its bytes change (a backup's file keeps its checksum).
 */
export function openSource(url: string): AnyDb {
  if (isPostgresUrl(url)) return openDatabase(url, 1);
  const path = sqlitePathFromUrl(url);
  if (path === ":memory:" || !existsSync(path)) throw new CopyError(`${redactUrl(url)}: no such database file.`);
  const database = new SqliteDatabase(path, { readonly: true });
  return new Kysely<any>({ dialect: new BunSqliteDialect({ database }) });
}

/** Opens (creating a SQLite file when needed) and migrates a database to copy into. */
export async function openTarget(url: string): Promise<AnyDb> {
  const db = openDatabase(url, 2);
  try {
    await migrateToLatest(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return db;
}

/** The columns of every table of `db`'s own schema (`public` on PostgreSQL). */
async function columnsByTable(db: AnyDb): Promise<Map<string, Set<string>>> {
  const tables = await db.introspection.getTables();
  const postgres = isPostgres(db);
  return new Map(
    tables
      .filter((t) => !postgres || t.schema === "public")
      .map((t) => [t.name, new Set(t.columns.map((c) => c.name))]),
  );
}

async function countRows(db: AnyDb, table: string): Promise<number> {
  const row = await db.selectFrom(table).select(sql<number>`count(*)`.as("n")).executeTakeFirst();
  return Number(row?.n ?? 0);
}

// ---------------------------------------------------------------------------------------------
// The copy
// ---------------------------------------------------------------------------------------------

interface TableWork {
  table: CopyTable;
  columns: string[];
  total: number;
}

/** Reads `work.table` from `source` in primary-key order, `size` rows at a time. */
async function* readBatches(source: AnyDb, work: TableWork, size: number): AsyncGenerator<Row[]> {
  const key = work.table.primaryKey;
  let last: Row | null = null;
  for (;;) {
    let query = source.selectFrom(work.table.name).select(work.columns.map((c) => sql.ref(c).as(c)));
    if (last) {
      const after: Row = last;
      query = key.length === 1
        ? query.where(sql.ref(key[0]!), ">", after[key[0]!])
        : query.where(sql<boolean>`(${sql.join(key.map((c) => sql.ref(c)))}) > (${sql.join(key.map((c) => after[c]))})`);
    }
    for (const column of key) query = query.orderBy(sql.ref(column));
    const rows = (await query.limit(size).execute()) as Row[];
    if (rows.length > 0) yield rows;
    if (rows.length < size) return;
    last = rows[rows.length - 1]!;
  }
}

async function writeBatch(target: AnyDb, work: TableWork, rows: Row[]): Promise<void> {
  const { name, primaryKey } = work.table;
  const others = work.columns.filter((c) => !primaryKey.includes(c));
  try {
    await target
      .insertInto(name)
      .values(rows)
      .onConflict((conflict) => {
        const on = conflict.columns(primaryKey as never[]);
        if (others.length === 0) return on.doNothing();
        return on.doUpdateSet(Object.fromEntries(others.map((c) => [c, (eb: any) => eb.ref(`excluded.${c}`)])) as never);
      })
      .execute();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new CopyError(`copying ${name} failed: ${message}${/unique|duplicate/i.test(message) ? " (the target holds another row with the same unique values: copy into an empty database)" : ""}`);
  }
}

interface LateReference {
  table: CopyTable;
  column: string;
  /** Ids of the rows to set, by the value to set. */
  values: Map<unknown, unknown[]>;
}

/**
 * Copies one table in batches. Backward references to other tables are written NULL and noted in
 * `late`. A table's references to itself (an entity's parent) are kept: a row whose parent is not
 * written yet waits in memory until it is, so rows arrive parent first and the search index
 * triggers see the parent's name; only a cycle of rows (none in Zou's data) falls back to `late`.
 */
async function copyTable(
  reader: AnyDb,
  trx: AnyDb,
  entry: TableWork,
  context: { toPostgres: boolean; late: LateReference[]; report: (done: number) => void; batchRows: number },
): Promise<void> {
  const { table } = entry;
  const deferred = table.deferred.filter((c) => entry.columns.includes(c));
  const own = deferred.filter((c) => table.selfReferences.includes(c));
  const others = deferred.filter((c) => !own.includes(c)).map((column) => ({ table, column, values: new Map<unknown, unknown[]>() }));
  context.late.push(...others);
  const note = (reference: LateReference, row: Row) => {
    const value = row[reference.column];
    if (value === null) return;
    const ids = reference.values.get(value);
    if (ids) ids.push(row.id);
    else reference.values.set(value, [row.id]);
    row[reference.column] = null;
  };
  const size = Math.max(1, Math.min(context.batchRows, Math.floor(16000 / entry.columns.length)));
  const written = new Set<unknown>();
  const ready = (row: Row) => own.every((c) => row[c] === null || row[c] === row.id || written.has(row[c]));
  let waiting: Row[] = [];
  let done = 0;
  const write = async (rows: Row[]) => {
    for (let i = 0; i < rows.length; i += size) {
      const batch = rows.slice(i, i + size);
      await writeBatch(trx, entry, batch);
      if (own.length > 0) for (const row of batch) written.add(row.id);
      done += batch.length;
      context.report(done);
    }
  };
  context.report(0);
  for await (const rows of readBatches(reader, entry, size)) {
    const now: Row[] = [];
    for (const row of rows) {
      const out: Row = {};
      for (const column of entry.columns) out[column] = convertValue(table.columns[column]!, row[column], context.toPostgres);
      for (const reference of others) note(reference, out);
      (ready(out) ? now : waiting).push(out);
    }
    await write(now);
  }
  while (waiting.length > 0) {
    const now = waiting.filter(ready);
    if (now.length === 0) break;
    waiting = waiting.filter((row) => !ready(row));
    await write(now);
  }
  if (waiting.length > 0) {
    const cycle = own.map((column) => ({ table, column, values: new Map<unknown, unknown[]>() }));
    context.late.push(...cycle);
    for (const row of waiting) for (const reference of cycle) note(reference, row);
    await write(waiting);
  }
}

/**
 * Copies every table of `source` into `target` (both open; the target migrated). Returns the rows
 * copied per table, in copy order.
 */
export async function copyDatabase(source: AnyDb, target: AnyDb, options: CopyOptions = {}): Promise<TableCount[]> {
  const existing = options.existing ?? "refuse";
  const toPostgres = isPostgres(target);
  const run = async (reader: AnyDb): Promise<TableCount[]> => {
    const sourceColumns = await columnsByTable(reader);
    const targetColumns = await columnsByTable(target);
    const work: TableWork[] = [];
    const counts: TableCount[] = [];
    for (const table of copyPlan()) {
      const here = sourceColumns.get(table.name);
      const there = targetColumns.get(table.name);
      if (!there) throw new CopyError(`the target has no table ${table.name}: is it a zou-bun database?`);
      if (!here) {
        counts.push({ table: table.name, rows: 0, absent: true });
        continue;
      }
      const missingKey = table.primaryKey.filter((c) => !here.has(c));
      if (missingKey.length > 0) throw new CopyError(`the source's ${table.name} has no ${missingKey.join(", ")} column`);
      const columns = Object.keys(table.columns).filter((c) => here.has(c) && there.has(c));
      const entry = { table, columns, total: await countRows(reader, table.name) };
      work.push(entry);
      counts.push({ table: table.name, rows: entry.total });
    }
    await target.transaction().execute(async (trx) => {
      if (existing !== "upsert") {
        const filled: string[] = [];
        for (const table of copyPlan()) if ((await countRows(trx, table.name)) > 0) filled.push(table.name);
        if (filled.length > 0 && existing === "refuse") {
          throw new CopyError(`the target database is not empty (${filled.slice(0, 5).join(", ")}${filled.length > 5 ? ", ..." : ""} hold rows): use --force to write over it.`);
        }
        if (filled.length > 0) await emptyTables(trx);
      }
      const late: LateReference[] = [];
      for (const [position, entry] of work.entries()) {
        const report = (done: number) => options.onProgress?.({ table: entry.table.name, index: position + 1, tables: work.length, done, total: entry.total });
        await copyTable(reader, trx, entry, { toPostgres, late, report, batchRows: options.batchRows ?? 1000 });
      }
      // The backward references, now that every row they point at exists: one UPDATE per value
      // (the shots of one sequence share their parent), ids in bounded lists.
      for (const { table, column, values } of late) {
        for (const [value, ids] of values) {
          for (let i = 0; i < ids.length; i += 500) {
            await trx.updateTable(table.name).set({ [column]: value }).where("id", "in", ids.slice(i, i + 500)).execute();
          }
        }
      }
    });
    return counts;
  };
  if (isPostgres(source)) {
    return source.transaction().setIsolationLevel("repeatable read").setAccessMode("read only").execute(run);
  }
  return source.transaction().execute(run);
}

/** Deletes every copied table's rows (inside the caller's transaction): backward references first, then children before parents. */
async function emptyTables(trx: AnyDb): Promise<void> {
  const tables = copyPlan();
  for (const table of tables) {
    if (table.deferred.length === 0) continue;
    await trx.updateTable(table.name).set(Object.fromEntries(table.deferred.map((c) => [c, null]))).execute();
  }
  for (const table of [...tables].reverse()) await trx.deleteFrom(table.name).execute();
}

/** Opens both databases, migrates the target, copies, closes both. */
export async function copyBetween(fromUrl: string, toUrl: string, options: CopyOptions = {}): Promise<TableCount[]> {
  if (fromUrl === toUrl) throw new CopyError("the source and the target are the same database.");
  const source = openSource(fromUrl);
  try {
    const target = await openTarget(toUrl);
    try {
      return await copyDatabase(source, target, options);
    } finally {
      await closeTarget(target);
    }
  } finally {
    await source.destroy();
  }
}

/**
 * Closes a target; a SQLite file is checkpointed and left in rollback-journal mode: one
 * self-contained file (a backup's copy opens read-only; a server turns WAL on again).
 */
export async function closeTarget(target: AnyDb): Promise<void> {
  try {
    if (!isPostgres(target)) {
      await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(target);
      await sql`PRAGMA journal_mode = DELETE`.execute(target);
    }
  } finally {
    await target.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Reporting
// ---------------------------------------------------------------------------------------------

/** A progress line on a terminal (standard error), redrawn in place; nothing when not a terminal. */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): ((progress: CopyProgress) => void) | undefined {
  if (!stream.isTTY) return undefined;
  let lastDraw = 0;
  return (p) => {
    const now = Date.now();
    const finished = p.done === p.total;
    if (!finished && now - lastDraw < 100) return;
    lastDraw = now;
    const width = 30;
    const filled = p.total === 0 ? width : Math.round((p.done / p.total) * width);
    const bar = "#".repeat(filled) + "-".repeat(width - filled);
    stream.write(`\r\x1b[K[${bar}] ${p.index}/${p.tables} ${p.table} ${p.done}/${p.total}`);
    if (finished && p.index === p.tables) stream.write("\n");
  };
}

/** The summary printed after a copy: one `table  rows` line per table that had rows. */
export function summaryLines(counts: TableCount[]): string[] {
  const shown = counts.filter((c) => c.rows > 0);
  const width = Math.max(5, ...shown.map((c) => c.table.length));
  const lines = shown.map((c) => `  ${c.table.padEnd(width)}  ${c.rows}`);
  const total = counts.reduce((n, c) => n + c.rows, 0);
  lines.push(`  ${"total".padEnd(width)}  ${total} row(s) in ${shown.length} table(s)`);
  const absent = counts.filter((c) => c.absent).map((c) => c.table);
  if (absent.length > 0) lines.push(`  not in the source (left as they were): ${absent.join(", ")}`);
  return lines;
}
