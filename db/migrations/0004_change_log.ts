/**
 * The change log (src/db/change-log.ts): each committed transaction's write records, so the other
 * processes on the database (workers, the CLI, other PostgreSQL instances) drop only the caches
 * those writes concern. On PostgreSQL the change triggers are re-created so that writes made
 * through zou-bun (which carry their origin) no longer move the shared change sequence
 * (src/lib/change-signal-postgres.ts).
 */
import { type Kysely } from "kysely";
import { CHANGE_LOG_TABLE } from "../../src/db/change-log";
import { installChangeTriggers } from "../../src/lib/change-signal-postgres";
import { isPostgres } from "../../src/db/dialect";

export async function up(db: Kysely<any>): Promise<void> {
  const postgres = isPostgres(db);
  await db.schema
    .createTable(CHANGE_LOG_TABLE)
    .ifNotExists()
    .addColumn("id", postgres ? "bigserial" : "integer", (column) => (postgres ? column.primaryKey() : column.primaryKey().autoIncrement()))
    .addColumn("origin", "text", (column) => column.notNull())
    .addColumn("records", "text", (column) => column.notNull())
    .addColumn("created_at", "bigint", (column) => column.notNull())
    .execute();
  if (postgres) await installChangeTriggers(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable(CHANGE_LOG_TABLE).ifExists().execute();
}
