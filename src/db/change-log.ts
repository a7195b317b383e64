/**
 * The change log: what each committed transaction wrote, stored in the database by that very
 * transaction, so that the other processes on the same database (`serve --workers` siblings, the
 * CLI, other PostgreSQL instances) can tell which rows changed instead of dropping every cache.
 *
 * Writing (a wrapper of the Kysely driver, `loggingDialect`): the write records the tracker plugin
 * made for each statement (src/db/write-tracker.ts `issuedRecords`) are kept per connection while
 * its transaction runs, stored as one row of CHANGE_LOG_TABLE (origin, JSON of the records, time)
 * just before COMMIT, and dropped on ROLLBACK. A write outside a transaction runs as a short
 * transaction with its row. Statements run without the plugin (`withoutPlugins`) are not logged.
 * Ids follow the commit order: SQLite transactions take the write lock when they begin; PostgreSQL
 * ones take a transaction-level advisory lock before inserting their row, held until they commit.
 * Every PRUNE_EVERY rows the writer deletes the rows older than the last CHANGE_LOG_KEEP.
 *
 * Reading (`apply`, called by the change signal, src/lib/change-signal*.ts, when it moved): the
 * rows after the last id read, other origins' records added to the in-process write log
 * (`recordWrites`), own rows skipped. A gap in the ids (rows pruned before this process read them,
 * a PostgreSQL id lost by a failed commit) or an unreadable row cannot be explained: the signal
 * then reports a change and the caches start over.
 */
import { CompiledQuery, type DatabaseConnection, type DatabaseIntrospector, type Dialect, type DialectAdapter, type Driver, type Kysely, type QueryCompiler, type QueryResult, type TransactionSettings } from "kysely";
import { decodeRecords, encodeRecords, issuedRecords, recordWrites, type WriteRecord } from "./write-tracker";

export const CHANGE_LOG_TABLE = "zou_bun_change_log";
/** Rows kept: a process that read none of the last CHANGE_LOG_KEEP commits starts over. */
export const CHANGE_LOG_KEEP = 10_000;
/** The writer of every PRUNE_EVERY-th row deletes the old ones (a cheap range delete). */
const PRUNE_EVERY = 256;
/**
 * Most records one row carries: a bigger transaction (an import, a copy) is stored as one raw
 * record (any table may have changed), which makes the readers start over instead of reading
 * megabytes of JSON.
 */
const MAX_RECORDS = 2000;
const ANYTHING: WriteRecord[] = [{ table: null, kind: "raw", match: new Map(), sets: new Map() }];

/** `pending` with `records` added, or ANYTHING when that makes too many. */
function withRecords(pending: WriteRecord[] | null, records: WriteRecord[]): WriteRecord[] {
  if (pending === ANYTHING) return pending;
  if (!pending) return records.length > MAX_RECORDS ? ANYTHING : [...records];
  if (pending.length + records.length > MAX_RECORDS) return ANYTHING;
  pending.push(...records);
  return pending;
}

/** PostgreSQL advisory lock key that orders the log rows of concurrent commits. */
const POSTGRES_LOCK_KEY = 7_402_113_901;

export type Engine = "sqlite" | "postgres";

/** One row of the log as read back. */
export interface ChangeLogRow {
  id: number | string;
  origin: string;
  records: string;
}

export class ChangeLog {
  /** This database handle's origin (one per process and database). */
  readonly origin: string = crypto.randomUUID();
  /** The table is known to exist (checked until it does: migrations create it). */
  private ready = false;
  /** Id of the last row read, null before the first read. */
  private lastId: number | null = null;

  /**
   * @param recordAtCommit add this process's records to its write log again when they commit
   *   (PostgreSQL: a cache filled by another connection between a statement and its commit holds
   *   the rows from before it; SQLite's one connection cannot be read meanwhile).
   */
  constructor(
    readonly engine: Engine,
    readonly recordAtCommit: boolean,
  ) {}

  /** Called once the migrations ran: the table exists. */
  markReady(): void {
    this.ready = true;
  }

  async isReady(connection: DatabaseConnection): Promise<boolean> {
    if (this.ready) return true;
    const query =
      this.engine === "postgres"
        ? `select to_regclass('${CHANGE_LOG_TABLE}') is not null as present`
        : `select count(*) as present from sqlite_master where type = 'table' and name = '${CHANGE_LOG_TABLE}'`;
    const { rows } = await connection.executeQuery<{ present: unknown }>(CompiledQuery.raw(query));
    const present = rows[0]?.present;
    this.ready = present === true || Number(present) > 0;
    return this.ready;
  }

  /** Stores `records` as this transaction's row (called on its connection just before COMMIT). */
  async append(connection: DatabaseConnection, records: readonly WriteRecord[]): Promise<void> {
    const postgres = this.engine === "postgres";
    // PostgreSQL: the lock is taken (in the subquery) before the row gets its id, and held until
    // the transaction ends, so ids follow the commit order.
    const insert = postgres
      ? `insert into ${CHANGE_LOG_TABLE} (origin, records, created_at) select $1, $2, $3 from (select pg_advisory_xact_lock(${POSTGRES_LOCK_KEY})) as serialized returning id`
      : `insert into ${CHANGE_LOG_TABLE} (origin, records, created_at) values (?, ?, ?) returning id`;
    const { rows } = await connection.executeQuery<{ id: number | string }>(CompiledQuery.raw(insert, [this.origin, encodeRecords(records), Date.now()]));
    const id = Number(rows[0]?.id);
    if (id > CHANGE_LOG_KEEP && id % PRUNE_EVERY === 0) {
      const prune = `delete from ${CHANGE_LOG_TABLE} where id <= ${postgres ? "$1" : "?"}`;
      await connection.executeQuery(CompiledQuery.raw(prune, [id - CHANGE_LOG_KEEP]));
    }
  }

  /** False until the first read, which starts the reader at the newest row (`start`). */
  get started(): boolean {
    return this.lastId !== null;
  }

  /** The reader starts after `lastId` (the newest row when the process first looks). */
  start(lastId: number): void {
    this.lastId = lastId;
  }

  /** The id after which rows are still to read. */
  get position(): number {
    return this.lastId ?? 0;
  }

  /**
   * Applies the rows read after `position` (in id order): other origins' records join the write
   * log. Returns how many rows of other origins it applied, or null when the rows cannot explain
   * what happened (a gap in the ids, an unreadable row): the caller then reports a change.
   */
  apply(rows: readonly ChangeLogRow[]): number | null {
    let others = 0;
    let explained = true;
    for (const row of rows) {
      const id = Number(row.id);
      if (this.lastId !== null && id !== this.lastId + 1) explained = false;
      this.lastId = id;
      if (row.origin === this.origin) continue;
      others += 1;
      if (!explained) continue;
      try {
        recordWrites(decodeRecords(row.records));
      } catch {
        explained = false;
      }
    }
    return explained ? others : null;
  }
}

const logs = new WeakMap<object, ChangeLog>();

/** The change log of a database instance (none: SQLite in memory). */
export function changeLogOf(db: object): ChangeLog | undefined {
  return logs.get(db);
}

export function attachChangeLog(db: object, log: ChangeLog): void {
  logs.set(db, log);
}

// ---------------------------------------------------------------------------------------------
// The driver wrapper
// ---------------------------------------------------------------------------------------------

class LoggingConnection implements DatabaseConnection {
  inTransaction = false;
  /** Records of the statements of the running transaction. */
  pending: WriteRecord[] | null = null;

  constructor(
    readonly inner: DatabaseConnection,
    private readonly driver: LoggingDriver,
  ) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const records = issuedRecords(query.query);
    if (!records) return this.inner.executeQuery<R>(query);
    if (this.inTransaction) {
      this.pending = withRecords(this.pending, records);
      return this.inner.executeQuery<R>(query);
    }
    return this.driver.autocommit<R>(this, query, records);
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

type CompileQuery = QueryCompiler["compileQuery"];

class LoggingDriver implements Driver {
  private readonly connections = new WeakMap<DatabaseConnection, LoggingConnection>();

  constructor(
    private readonly inner: Driver,
    private readonly log: ChangeLog,
  ) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await this.inner.acquireConnection();
    let wrapped = this.connections.get(connection);
    if (!wrapped) {
      wrapped = new LoggingConnection(connection, this);
      this.connections.set(connection, wrapped);
    }
    return wrapped;
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const wrapped = connection as LoggingConnection;
    wrapped.pending = null;
    await this.inner.beginTransaction(wrapped.inner, settings);
    wrapped.inTransaction = true;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const wrapped = connection as LoggingConnection;
    const records = wrapped.pending;
    // A failure here makes Kysely roll back (which forgets the records).
    if (records && (await this.log.isReady(wrapped.inner))) await this.log.append(wrapped.inner, records);
    await this.inner.commitTransaction(wrapped.inner);
    wrapped.inTransaction = false;
    wrapped.pending = null;
    if (records && this.log.recordAtCommit) recordWrites(records);
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const wrapped = connection as LoggingConnection;
    wrapped.inTransaction = false;
    wrapped.pending = null;
    await this.inner.rollbackTransaction(wrapped.inner);
  }

  /** A write outside a transaction: run as a short transaction that also stores its log row. */
  async autocommit<R>(connection: LoggingConnection, query: CompiledQuery, records: WriteRecord[]): Promise<QueryResult<R>> {
    if (!(await this.log.isReady(connection.inner))) return connection.inner.executeQuery<R>(query);
    await this.inner.beginTransaction(connection.inner, {});
    let result: QueryResult<R>;
    try {
      result = await connection.inner.executeQuery<R>(query);
      await this.log.append(connection.inner, withRecords(null, records));
      await this.inner.commitTransaction(connection.inner);
    } catch (error) {
      await this.inner.rollbackTransaction(connection.inner).catch(() => undefined);
      throw error;
    }
    if (this.log.recordAtCommit) recordWrites(records);
    return result;
  }

  savepoint(connection: DatabaseConnection, name: string, compileQuery: CompileQuery): Promise<void> {
    if (!this.inner.savepoint) throw new Error("The `savepoint` method is not supported by this driver");
    return this.inner.savepoint((connection as LoggingConnection).inner, name, compileQuery);
  }

  rollbackToSavepoint(connection: DatabaseConnection, name: string, compileQuery: CompileQuery): Promise<void> {
    // The records of the statements undone stay pending: a reader may only drop too much.
    if (!this.inner.rollbackToSavepoint) throw new Error("The `rollbackToSavepoint` method is not supported by this driver");
    return this.inner.rollbackToSavepoint((connection as LoggingConnection).inner, name, compileQuery);
  }

  releaseSavepoint(connection: DatabaseConnection, name: string, compileQuery: CompileQuery): Promise<void> {
    if (!this.inner.releaseSavepoint) throw new Error("The `releaseSavepoint` method is not supported by this driver");
    return this.inner.releaseSavepoint((connection as LoggingConnection).inner, name, compileQuery);
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection((connection as LoggingConnection).inner);
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

/** `inner` with every committed write stored in `log` (see the top of this file). */
export function loggingDialect(inner: Dialect, log: ChangeLog): Dialect {
  return {
    createAdapter: (): DialectAdapter => inner.createAdapter(),
    createDriver: (): Driver => new LoggingDriver(inner.createDriver(), log),
    createQueryCompiler: (): QueryCompiler => inner.createQueryCompiler(),
    createIntrospector: (db: Kysely<any>): DatabaseIntrospector => inner.createIntrospector(db),
  };
}

/** Minimal shape of bun:sqlite's Database the SQLite reader needs. */
interface SqliteConnection {
  query(sql: string): { all(...params: unknown[]): unknown[]; get(...params: unknown[]): unknown };
}

/**
 * The SQLite reader, run synchronously by the change signal on the server's own connection:
 * `start` sets the position at the newest row; `catchUp` applies the rows after it and tells
 * whether they explain the commits the signal saw (rows of another origin, no gap).
 */
export function sqliteChangeLogReader(connection: SqliteConnection, log: ChangeLog): { start(): void; catchUp(): boolean } {
  let rowsAfter: ReturnType<SqliteConnection["query"]> | null = null;
  const start = () => {
    try {
      const row = connection.query(`select max(id) as id from ${CHANGE_LOG_TABLE}`).get() as { id: number | null } | null;
      log.start(Number(row?.id ?? 0));
    } catch {
      /* no table yet: started by the first catch-up that finds it */
    }
  };
  return {
    start,
    catchUp() {
      try {
        if (!log.started) {
          start();
          return false;
        }
        rowsAfter ??= connection.query(`select id, origin, records from ${CHANGE_LOG_TABLE} where id > ? order by id`);
        const applied = log.apply(rowsAfter.all(log.position) as ChangeLogRow[]);
        return applied !== null && applied > 0;
      } catch {
        return false;
      }
    },
  };
}
