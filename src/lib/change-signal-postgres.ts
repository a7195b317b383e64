/**
 * The change signal on PostgreSQL (see ./change-signal.ts for the interface): several zou-bun
 * instances on one database see each other's commits on their next request.
 *
 * Migration 0003 puts a statement-level trigger on every table (`installChangeTriggers`): each
 * write statement moves the sequence CHANGE_SEQUENCE (`nextval`) and sends a notification on
 * CHANGE_CHANNEL, which PostgreSQL delivers to the listeners when the transaction commits.
 *
 * An instance's version is the last value of the sequence it read plus the notifications it got:
 *  - `refresh()` reads the sequence (one cheap statement, coalesced between concurrent requests);
 *    the authentication step awaits it before trusting a cached session, so a logout or a
 *    deactivation committed through another instance is seen by the very next request;
 *  - the sequence moves when the statement runs, before its commit: an entry cached between the
 *    two would hold the old rows under the new version. The commit's notification (delivered by
 *    the instance's link, ./postgres-link.ts) moves the version once more and drops such entries.
 * A failed read moves the version too: caches miss rather than serve what may be stale.
 */
import { sql, type Kysely } from "kysely";
import type { ChangeSignal } from "./change-signal";

export const CHANGE_SEQUENCE = "zou_bun_change_seq";
export const CHANGE_CHANNEL = "zou_bun_changes";
const CHANGE_FUNCTION = "zou_bun_signal_change";
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
  PERFORM nextval('${CHANGE_SEQUENCE}');
  PERFORM pg_notify('${CHANGE_CHANNEL}', '');
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

/** The PostgreSQL change signal of one database instance (one per process and database). */
export class PostgresChangeSignal implements ChangeSignal {
  /** The highest value of the sequence read so far. */
  private sequence = 0;
  /** Notifications received, reconnections and failed reads: each may hide a commit. */
  private moves = 0;
  private inFlight: Promise<void> | null = null;
  private queued: Promise<void> | null = null;

  constructor(private readonly readSequence: () => Promise<number>) {}

  /** Both parts only grow: the sum moves whenever either does. */
  version(): number {
    return this.sequence + this.moves;
  }

  /** A commit became visible (its notification arrived) or may have been missed (reconnection). */
  moved(): void {
    this.moves += 1;
  }

  /**
   * Reads the sequence. A read already running may have started before a commit the caller must
   * see: callers arriving meanwhile share one read started after it ends.
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
      const value = await this.readSequence();
      if (value > this.sequence) this.sequence = value;
    } catch {
      this.moves += 1;
    } finally {
      this.inFlight = null;
    }
  }
}

const signalsByDb = new WeakMap<object, PostgresChangeSignal>();

/** The signal of `db`, reading the sequence through its pool. */
export function postgresChangeSignal(db: Kysely<any>): PostgresChangeSignal {
  const signal = new PostgresChangeSignal(async () => {
    const { rows } = await sql<{ last_value: number | string }>`SELECT last_value FROM zou_bun_change_seq`.execute(db);
    return Number(rows[0]?.last_value ?? 0);
  });
  signalsByDb.set(db, signal);
  return signal;
}

/** The signal `postgresChangeSignal` made for `db` (the link moves it on notifications). */
export function postgresSignalOf(db: object): PostgresChangeSignal | undefined {
  return signalsByDb.get(db);
}
