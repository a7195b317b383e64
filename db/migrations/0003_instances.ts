/**
 * Several instances on one PostgreSQL database (issue 15): the change triggers and sequence of the
 * change signal (src/lib/change-signal-postgres.ts) and the relay table of realtime events too
 * large for a notification (src/lib/broadcast-postgres.ts). Nothing on SQLite, where the other
 * processes are seen through `PRAGMA data_version` and events stay in one process.
 */
import { sql, type Kysely } from "kysely";
import { installChangeTriggers, removeChangeTriggers } from "../../src/lib/change-signal-postgres";
import { RELAY_TABLE } from "../../src/lib/broadcast-postgres";
import { isPostgres } from "../../src/db/dialect";

export async function up(db: Kysely<any>): Promise<void> {
  if (!isPostgres(db)) return;
  await sql
    .raw(`CREATE TABLE IF NOT EXISTS ${RELAY_TABLE} (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(), payload text NOT NULL)`)
    .execute(db);
  await installChangeTriggers(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (!isPostgres(db)) return;
  await removeChangeTriggers(db);
  await sql.raw(`DROP TABLE IF EXISTS ${RELAY_TABLE}`).execute(db);
}
