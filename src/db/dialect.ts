/**
 * The one place that tells the two database engines apart. Services ask `isPostgres(db)` only
 * through helpers here; everything else is the same Kysely query on both.
 */
import { PostgresAdapter, type Kysely } from "kysely";

/** True when `db` (the root instance or a transaction) talks to PostgreSQL. */
export function isPostgres(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}
