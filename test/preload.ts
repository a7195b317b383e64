/**
 * Runs before the test files: on PostgreSQL (TEST_DATABASE_URL=postgres://...) the migrated template
 * every test server copies is made once here, so no file's first hook pays for the migrations.
 */
import { migratedTemplate, onPostgres } from "./helpers";

if (onPostgres) await migratedTemplate();
