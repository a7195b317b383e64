/**
 * Writes committed by OTHER processes on the same database (the CLI, another `serve` worker): a
 * cheap number per database instance that changes whenever someone else committed. In-process
 * caches compare it (next to the in-process write counters of src/db/write-tracker.ts) instead of
 * expiring entries after a few seconds, so such writes are seen by the very next request.
 *
 * The database layer attaches the signal of its engine when it opens the database:
 *  - SQLite: `PRAGMA data_version` of the server's own connection (a few µs; SQLite changes it
 *    exactly when another connection committed, never for this connection's own writes);
 *  - PostgreSQL: a sequence moved by a trigger on every write plus the notifications sent on
 *    commit (./change-signal-postgres.ts); its `refresh` reads the sequence, awaited by the
 *    authentication step before any cache is trusted.
 * A database without a signal (none attached) reports 0: caches then rely on the in-process
 * counters only.
 */

/**
 * Something that tells whether other connections committed since it was last read. With a change
 * log (src/db/change-log.ts), the other processes' commits it explains join the in-process write
 * log (read it AFTER `externalVersion`: reading the version is what brings them in) and the
 * version moves only for the others (a write by the sqlite3 shell, rows pruned before they were
 * read).
 */
export interface ChangeSignal {
  /** A value that never goes back and moves whenever another connection committed unexplained. */
  version(): number;
  /** Brings `version` up to date when reading it costs a round trip (PostgreSQL). */
  refresh?(): Promise<void>;
}

const signals = new WeakMap<object, ChangeSignal>();

/** Binds `signal` to a database instance (the object services receive as `db`). */
export function attachChangeSignal(db: object, signal: ChangeSignal): void {
  signals.set(db, signal);
}

/** The current version of `db`'s signal (0 when it has none). */
export function externalVersion(db: object): number {
  const signal = signals.get(db);
  return signal ? signal.version() : 0;
}

/**
 * Brings `db`'s signal up to date; undefined (nothing to await) when its version is always current
 * (SQLite, no signal), so the common path costs no promise.
 */
export function refreshChangeSignal(db: object): Promise<void> | undefined {
  return signals.get(db)?.refresh?.();
}

/** Minimal shape of a SQLite connection able to run a prepared pragma (bun:sqlite's Database). */
interface SqliteConnection {
  query(sql: string): { get(): unknown };
}

/** For a database no other connection can reach (SQLite in memory). */
export const NO_OTHER_WRITERS: ChangeSignal = { version: () => 0 };

/**
 * The SQLite signal: `PRAGMA data_version` read on the connection the server queries through
 * (one statement: a few µs, most of it the WAL read-lock system calls), at most once per turn of
 * the event loop.
 *
 * Why once per turn is enough: the requests a turn handles were received by that turn's poll for
 * network events, and the first of them reads the value after that poll; so a commit made before a
 * request was sent (the CLI's change-password, a write answered by another worker) is seen by that
 * request. Only a commit made while the turn runs, concurrently with requests already received, may
 * be seen one turn later. Checked with wrk on Bun 1.4.4: over 90,000 requests on 32 connections, a
 * request sent after the answer to the previous one was never handled in the same turn. Under load
 * one turn serves about 20 requests here, so all but one statement are saved. The value is
 * forgotten by a `setImmediate` callback, which Bun runs before it polls again.
 *
 * When the value moved, `changeLog.catchUp` reads the change log's new rows (src/db/change-log.ts):
 * rows of other origins explain the commits, their records join the write log and the version
 * stays. Without such a row (a write by the sqlite3 shell or an older build) or after a gap, the
 * version moves and the caches start over. (A shell write and a logged one between two reads
 * are taken for the logged one alone: writes outside zou-bun are not expected while it serves.)
 */
export function sqliteChangeSignal(connection: SqliteConnection, changeLog?: { start(): void; catchUp(): boolean }): ChangeSignal {
  const statement = connection.query("PRAGMA data_version");
  let dataVersion: number | undefined;
  /** Commits of other connections the change log did not explain. */
  let unexplained = 0;
  let known = false;
  const forget = () => {
    known = false;
  };
  return {
    version() {
      if (known) return unexplained;
      const row = statement.get() as { data_version: number } | null;
      const current = row ? Number(row.data_version) : 0;
      if (dataVersion === undefined) changeLog?.start();
      else if (current !== dataVersion && !changeLog?.catchUp()) unexplained += 1;
      dataVersion = current;
      known = true;
      setImmediate(forget);
      return unexplained;
    },
  };
}
