/**
 * Full-text search indexes inside the database (issue 14): FTS5 tables on SQLite, kept in step
 * with `entity` and `person` by triggers, filled from the existing rows. The SQL and its dialect
 * switch live in src/db/search-index.ts.
 */
import type { Kysely } from "kysely";
import { createSearchIndex, dropSearchIndex } from "../../src/db/search-index";

export async function up(db: Kysely<any>): Promise<void> {
  await createSearchIndex(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await dropSearchIndex(db);
}
