/**
 * Start-up work that must run once when several instances start together on one PostgreSQL
 * database (migrations, initial data, the first admin): done under a session advisory lock, so
 * the second instance waits for the first and then finds everything in place. On SQLite the
 * supervisor of `--workers` does it alone: nothing to lock.
 */
import { sql } from "kysely";
import type { Db } from "./database";
import { isPostgres } from "./dialect";

/** An arbitrary 64-bit key: "zoubun:s" in ASCII. */
const STARTUP_LOCK_KEY = "8822399260779494003";

/** Runs `fn` with the lock held, on the locking connection (`locked`), so a pool of one suffices. */
export async function withStartupLock<T>(db: Db, fn: (locked: Db) => Promise<T>): Promise<T> {
  if (!isPostgres(db)) return fn(db);
  return db.connection().execute(async (locked) => {
    await sql`SELECT pg_advisory_lock(${STARTUP_LOCK_KEY}::bigint)`.execute(locked);
    try {
      return await fn(locked);
    } finally {
      await sql`SELECT pg_advisory_unlock(${STARTUP_LOCK_KEY}::bigint)`.execute(locked);
    }
  });
}
