/**
 * The change signal on PostgreSQL (see ./change-signal.ts for the interface): several zou-bun
 * instances on one database see each other's commits on their next request.
 *
 * Commits made through zou-bun carry their write records in the change log (src/db/change-log.ts):
 * `refresh()` reads the rows after the last one read (one cheap statement, coalesced between
 * concurrent requests), awaited by the authentication step before any cache is trusted, so a
 * logout, a deactivation or a task update committed through another instance is seen by the very
 * next request, and only the caches those writes concern are dropped. The instance's own rows are
 * skipped: its own commits do not drop its caches.
 *
 * Writes not made through zou-bun (psql, an older build): each zou-bun connection sets
 * `zou_bun.origin` (the pool's connection options); migration 0003/0004 put a statement-level
 * trigger on every table (`installChangeTriggers`) that, for a statement on a connection without
 * it, moves the sequence CHANGE_SEQUENCE and sends a notification on CHANGE_CHANNEL (delivered on
 * commit to the instances' links, ./postgres-link.ts). The version is the sequence value read with
 * the log plus the notifications, reconnections, failed reads and log gaps: such writes drop every
 * cache, as before the change log. (The sequence moves when the statement runs, before its commit:
 * an entry cached between the two is dropped by the commit's notification.)
 */
import { sql, type Kysely } from "kysely";
import type { ChangeSignal } from "./change-signal";
import { CHANGE_LOG_TABLE, type ChangeLog, type ChangeLogRow } from "../db/change-log";

export const CHANGE_SEQUENCE = "zou_bun_change_seq";
export const CHANGE_CHANNEL = "zou_bun_changes";
const CHANGE_FUNCTION = "zou_bun_signal_change";
/** The connection setting that names the zou-bun process a write comes from. */
export const ORIGIN_SETTING = "zou_bun.origin";
const CHANGE_TRIGGER = "zou_bun_change";

/**
 * Creates the sequence, the trigger function and the trigger on every table of the current schema
 * that has none (Kysely's migration tables and zou-bun's own `zou_bun_*` tables excepted).
 * Idempotent: a migration that adds tables calls it again.
 */
export async function installChangeTriggers(db: Kysely<any>): Promise<void> {
  await sql.raw(`CREATE SEQUENCE IF NOT EXISTS ${CHANGE_SEQUENCE}`).execute(db);
  await sql
    .raw(
      `CREATE OR REPLACE FUNCTION ${CHANGE_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Writes through zou-bun set the origin and are told by the change log.
  IF coalesce(current_setting('${ORIGIN_SETTING}', true), '') = '' THEN
    PERFORM nextval('${CHANGE_SEQUENCE}');
    PERFORM pg_notify('${CHANGE_CHANNEL}', '');
  END IF;
  RETURN NULL;
END
$$`,
    )
    .execute(db);
  const { rows } = await sql<{ table_name: string }>`
    SELECT c.relname AS table_name
    FROM pg_class c
    WHERE c.relkind IN ('r', 'p') AND c.relnamespace = current_schema()::regnamespace
      AND c.relname NOT LIKE 'kysely\\_%' AND c.relname NOT LIKE 'zou\\_bun\\_%'
      AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = ${CHANGE_TRIGGER})
    ORDER BY c.relname`.execute(db);
  for (const { table_name } of rows) {
    await sql
      .raw(
        `CREATE TRIGGER ${CHANGE_TRIGGER} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "${table_name.replace(/"/g, '""')}" ` +
          `FOR EACH STATEMENT EXECUTE FUNCTION ${CHANGE_FUNCTION}()`,
      )
      .execute(db);
  }
}

/** Removes what `installChangeTriggers` created. */
export async function removeChangeTriggers(db: Kysely<any>): Promise<void> {
  const { rows } = await sql<{ table_name: string }>`
    SELECT c.relname AS table_name FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE t.tgname = ${CHANGE_TRIGGER} AND c.relnamespace = current_schema()::regnamespace`.execute(db);
  for (const { table_name } of rows) {
    await sql.raw(`DROP TRIGGER IF EXISTS ${CHANGE_TRIGGER} ON "${table_name.replace(/"/g, '""')}"`).execute(db);
  }
  await sql.raw(`DROP FUNCTION IF EXISTS ${CHANGE_FUNCTION}()`).execute(db);
  await sql.raw(`DROP SEQUENCE IF EXISTS ${CHANGE_SEQUENCE}`).execute(db);
}

/** What one read of the database says. */
export interface ChangeReading {
  /** CHANGE_SEQUENCE's value (moved by writes not made through zou-bun). */
  sequence: number;
  /** False when the change log could not explain what other instances committed (a gap). */
  explained: boolean;
}

/** The PostgreSQL change signal of one database instance (one per process and database). */
export class PostgresChangeSignal implements ChangeSignal {
  /** The highest value of the sequence read so far. */
  private sequence = 0;
  /** Notifications received, reconnections, failed reads and unexplained log rows. */
  private moves = 0;
  private inFlight: Promise<void> | null = null;
  private queued: Promise<void> | null = null;

  constructor(private readonly readChanges: () => Promise<ChangeReading>) {}

  /** Both parts only grow: the sum moves whenever either does. */
  version(): number {
    return this.sequence + this.moves;
  }

  /** A commit may have been missed (reconnection of the link). */
  moved(): void {
    this.moves += 1;
  }

  /** A notification of CHANGE_CHANNEL: sent only for writes not made through zou-bun. */
  notified(payload: string): void {
    if (payload === "") this.moves += 1;
  }

  /**
   * Reads the change log and the sequence. A read already running may have started before a
   * commit the caller must see: callers arriving meanwhile share one read started after it ends.
   */
  refresh(): Promise<void> {
    if (!this.inFlight) {
      this.inFlight = this.read();
      return this.inFlight;
    }
    this.queued ??= this.inFlight.then(() => {
      this.queued = null;
      this.inFlight ??= this.read();
      return this.inFlight;
    });
    return this.queued;
  }

  private async read(): Promise<void> {
    try {
      const { sequence, explained } = await this.readChanges();
      if (sequence > this.sequence) this.sequence = sequence;
      if (!explained) this.moves += 1;
    } catch {
      this.moves += 1;
    } finally {
      this.inFlight = null;
    }
  }
}

const signalsByDb = new WeakMap<object, PostgresChangeSignal>();

/** The signal of `db`, reading the sequence and `log`'s new rows through its pool. */
export function postgresChangeSignal(db: Kysely<any>, log: ChangeLog): PostgresChangeSignal {
  const signal = new PostgresChangeSignal(async () => {
    if (!log.started) {
      const { rows } = await sql<{ sequence: number | string; id: number | string | null }>`
        SELECT CASE WHEN s.is_called THEN s.last_value ELSE 0 END AS sequence, (SELECT max(id) FROM ${sql.table(CHANGE_LOG_TABLE)}) AS id FROM ${sql.table(CHANGE_SEQUENCE)} s`.execute(db);
      log.start(Number(rows[0]?.id ?? 0));
      return { sequence: Number(rows[0]?.sequence ?? 0), explained: true };
    }
    const { rows } = await sql<ChangeLogRow & { sequence: number | string }>`
      SELECT CASE WHEN s.is_called THEN s.last_value ELSE 0 END AS sequence, l.id, l.origin, l.records
      FROM ${sql.table(CHANGE_SEQUENCE)} s LEFT JOIN ${sql.table(CHANGE_LOG_TABLE)} l ON l.id > ${log.position}
      ORDER BY l.id`.execute(db);
    const sequence = Number(rows[0]?.sequence ?? 0);
    const logged = rows.filter((row) => row.id !== null);
    return { sequence, explained: logged.length === 0 || log.apply(logged) !== null };
  });
  signalsByDb.set(db, signal);
  return signal;
}

/** The signal `postgresChangeSignal` made for `db` (the link moves it on notifications). */
export function postgresSignalOf(db: object): PostgresChangeSignal | undefined {
  return signalsByDb.get(db);
}
