/**
 * Full-text search inside the database itself: the one module that holds search SQL, for both the
 * schema (indexes kept in step by triggers, so every write updates them in its own transaction,
 * whatever code path made it) and the queries. No search server runs beside the API.
 *
 * Dialects:
 * - `sqlite` (served today): two FTS5 virtual tables, `search_entity` (assets, shots and every other
 *   entity: name with its type and parents' names, description, metadata values) and
 *   `search_person` (full name), tokenized with `unicode61 remove_diacritics 2` so case and
 *   accents do not matter; AFTER INSERT/UPDATE/DELETE triggers on `entity` and `person` keep them.
 * - `postgres`: the same two tables as plain tables with a `tsvector` document
 *   (`to_tsvector('simple', unaccent(...))`, name weighted above description and metadata) and a
 *   GIN index, kept by plpgsql triggers, queried with `to_tsquery('simple', 'word:* & ...')`.
 *
 * Changing the DDL means a new migration that calls `dropSearchIndex` then `createSearchIndex`
 * (the backfill rebuilds the index from the rows).
 */
import { PostgresAdapter, sql, type Kysely } from "kysely";

export type SearchDialect = "sqlite" | "postgres";

export function searchDialect(db: Kysely<any>): SearchDialect {
  return db.getExecutor().adapter instanceof PostgresAdapter ? "postgres" : "sqlite";
}

/** True when this database answers full-text searches (`indexer_configured`). */
export function searchIndexAvailable(_db: Kysely<any>): boolean {
  return true;
}

// ---------------------------------------------------------------------------------------------
// Schema (SQLite FTS5)
// ---------------------------------------------------------------------------------------------

/** Entity type names whose own name is not indexed with the entity (only asset types are). */
const NON_ASSET_TYPES = "'Shot', 'Sequence', 'Episode', 'Scene', 'Edit', 'Concept'";
/** Shot data keys that are numbers of the cut, not words worth finding (as Zou's shot index). */
const SKIPPED_DATA_KEYS = "'frame_in', 'frame_out', 'fps', 'handle_in', 'handle_out'";

/** The indexed name of entity `row` (NEW or OLD): asset type name, grand-parent and parent names, own name. */
function entityNameSql(row: string): string {
  return `trim(
    coalesce((SELECT t.name FROM entity_type t WHERE t.id = ${row}.entity_type_id AND t.name NOT IN (${NON_ASSET_TYPES})), '')
    || ' ' || coalesce((SELECT coalesce((SELECT g.name FROM entity g WHERE g.id = p.parent_id), '') || ' ' || p.name
                        FROM entity p WHERE p.id = ${row}.parent_id), '')
    || ' ' || coalesce(${row}.name, ''))`;
}

/** The metadata values of `row.data` (jsonb) as words, on PostgreSQL. */
function entityMetadataPgSql(row: string): string {
  return `coalesce(CASE WHEN jsonb_typeof(${row}.data) = 'object' THEN
    (SELECT string_agg(j.value, ' ') FROM jsonb_each_text(${row}.data) j WHERE j.key NOT IN (${SKIPPED_DATA_KEYS})) END, '')`;
}

/** The weighted search document of entity `row` on PostgreSQL: name, then description, then metadata. */
function entityDocumentPgSql(row: string): string {
  return `setweight(to_tsvector('simple', unaccent(${entityNameSql(row)})), 'A')
    || setweight(to_tsvector('simple', unaccent(coalesce(${row}.description, ''))), 'B')
    || setweight(to_tsvector('simple', unaccent(${entityMetadataPgSql(row)})), 'C')`;
}

function personDocumentPgSql(row: string): string {
  return `to_tsvector('simple', unaccent(trim(coalesce(${row}.first_name, '') || ' ' || coalesce(${row}.last_name, ''))))`;
}

/** The metadata values of `row.data` as words ('' when the column is not valid JSON: a write never fails on it). */
function entityMetadataSql(row: string): string {
  return `coalesce(CASE WHEN json_valid(${row}.data) THEN
    (SELECT group_concat(j.value, ' ') FROM json_each(${row}.data) j WHERE j.key NOT IN (${SKIPPED_DATA_KEYS})) END, '')`;
}

/** FTS5 query selecting the index row of one id (ids are UUIDs: a phrase of their five parts). */
function idPhrase(column: string, value: string): string {
  return `'${column} : "' || ${value} || '"'`;
}

const SQLITE_DDL: string[] = [
  `CREATE VIRTUAL TABLE search_entity USING fts5(
     entity_id, name, description, metadata,
     tokenize = "unicode61 remove_diacritics 2")`,
  `CREATE VIRTUAL TABLE search_person USING fts5(
     person_id, name,
     tokenize = "unicode61 remove_diacritics 2")`,
  `CREATE TRIGGER search_entity_after_insert AFTER INSERT ON entity BEGIN
     INSERT INTO search_entity (entity_id, name, description, metadata)
     VALUES (NEW.id, ${entityNameSql("NEW")}, coalesce(NEW.description, ''), ${entityMetadataSql("NEW")});
   END`,
  `CREATE TRIGGER search_entity_after_update AFTER UPDATE OF name, description, data, entity_type_id, parent_id ON entity BEGIN
     DELETE FROM search_entity WHERE rowid IN (SELECT rowid FROM search_entity WHERE search_entity MATCH ${idPhrase("entity_id", "OLD.id")});
     INSERT INTO search_entity (entity_id, name, description, metadata)
     VALUES (NEW.id, ${entityNameSql("NEW")}, coalesce(NEW.description, ''), ${entityMetadataSql("NEW")});
   END`,
  `CREATE TRIGGER search_entity_after_delete AFTER DELETE ON entity BEGIN
     DELETE FROM search_entity WHERE rowid IN (SELECT rowid FROM search_entity WHERE search_entity MATCH ${idPhrase("entity_id", "OLD.id")});
   END`,
  `CREATE TRIGGER search_person_after_insert AFTER INSERT ON person BEGIN
     INSERT INTO search_person (person_id, name) VALUES (NEW.id, trim(coalesce(NEW.first_name, '') || ' ' || coalesce(NEW.last_name, '')));
   END`,
  `CREATE TRIGGER search_person_after_update AFTER UPDATE OF first_name, last_name ON person BEGIN
     DELETE FROM search_person WHERE rowid IN (SELECT rowid FROM search_person WHERE search_person MATCH ${idPhrase("person_id", "OLD.id")});
     INSERT INTO search_person (person_id, name) VALUES (NEW.id, trim(coalesce(NEW.first_name, '') || ' ' || coalesce(NEW.last_name, '')));
   END`,
  `CREATE TRIGGER search_person_after_delete AFTER DELETE ON person BEGIN
     DELETE FROM search_person WHERE rowid IN (SELECT rowid FROM search_person WHERE search_person MATCH ${idPhrase("person_id", "OLD.id")});
   END`,
  // Backfill: the rows written before the index existed.
  `INSERT INTO search_entity (entity_id, name, description, metadata)
   SELECT e.id, ${entityNameSql("e")}, coalesce(e.description, ''), ${entityMetadataSql("e")} FROM entity e`,
  `INSERT INTO search_person (person_id, name)
   SELECT p.id, trim(coalesce(p.first_name, '') || ' ' || coalesce(p.last_name, '')) FROM person p`,
];

const SQLITE_DROP: string[] = [
  "DROP TRIGGER IF EXISTS search_entity_after_insert",
  "DROP TRIGGER IF EXISTS search_entity_after_update",
  "DROP TRIGGER IF EXISTS search_entity_after_delete",
  "DROP TRIGGER IF EXISTS search_person_after_insert",
  "DROP TRIGGER IF EXISTS search_person_after_update",
  "DROP TRIGGER IF EXISTS search_person_after_delete",
  "DROP TABLE IF EXISTS search_entity",
  "DROP TABLE IF EXISTS search_person",
];

// ---------------------------------------------------------------------------------------------
// Schema (PostgreSQL tsvector)
// ---------------------------------------------------------------------------------------------

/** One plpgsql trigger function per indexed table: upsert the document, or remove it on delete. */
function pgRefreshFunction(name: string, key: string, document: string): string {
  return `CREATE OR REPLACE FUNCTION ${name}_refresh() RETURNS trigger LANGUAGE plpgsql AS $body$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        DELETE FROM ${name} WHERE ${key} = OLD.id;
        RETURN OLD;
      END IF;
      INSERT INTO ${name} (${key}, document) VALUES (NEW.id, ${document})
        ON CONFLICT (${key}) DO UPDATE SET document = EXCLUDED.document;
      RETURN NEW;
    END $body$`;
}

const POSTGRES_DDL: string[] = [
  "CREATE EXTENSION IF NOT EXISTS unaccent",
  "CREATE TABLE search_entity (entity_id uuid PRIMARY KEY, document tsvector NOT NULL)",
  "CREATE INDEX search_entity_document ON search_entity USING gin (document)",
  "CREATE TABLE search_person (person_id uuid PRIMARY KEY, document tsvector NOT NULL)",
  "CREATE INDEX search_person_document ON search_person USING gin (document)",
  pgRefreshFunction("search_entity", "entity_id", entityDocumentPgSql("NEW")),
  pgRefreshFunction("search_person", "person_id", personDocumentPgSql("NEW")),
  `CREATE TRIGGER search_entity_refresh AFTER INSERT OR DELETE OR UPDATE OF name, description, data, entity_type_id, parent_id
     ON entity FOR EACH ROW EXECUTE FUNCTION search_entity_refresh()`,
  `CREATE TRIGGER search_person_refresh AFTER INSERT OR DELETE OR UPDATE OF first_name, last_name
     ON person FOR EACH ROW EXECUTE FUNCTION search_person_refresh()`,
  `INSERT INTO search_entity (entity_id, document) SELECT e.id, ${entityDocumentPgSql("e")} FROM entity e`,
  `INSERT INTO search_person (person_id, document) SELECT p.id, ${personDocumentPgSql("p")} FROM person p`,
];

const POSTGRES_DROP: string[] = [
  "DROP TRIGGER IF EXISTS search_entity_refresh ON entity",
  "DROP TRIGGER IF EXISTS search_person_refresh ON person",
  "DROP FUNCTION IF EXISTS search_entity_refresh()",
  "DROP FUNCTION IF EXISTS search_person_refresh()",
  "DROP TABLE IF EXISTS search_entity",
  "DROP TABLE IF EXISTS search_person",
];

/** Creates the search tables and their triggers and indexes the existing rows. */
export async function createSearchIndex(db: Kysely<any>): Promise<void> {
  const statements = searchDialect(db) === "postgres" ? POSTGRES_DDL : SQLITE_DDL;
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function dropSearchIndex(db: Kysely<any>): Promise<void> {
  const statements = searchDialect(db) === "postgres" ? POSTGRES_DROP : SQLITE_DROP;
  for (const statement of statements) await sql.raw(statement).execute(db);
}

// ---------------------------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------------------------

/**
 * The words of a user query (letters, digits and their marks), at most 16: every one must match,
 * as a prefix. Each is quoted in the match expression, so FTS5 operators typed in a query are
 * plain words; a word the tokenizer splits further becomes a phrase.
 */
export function queryWords(text: string): string[] {
  return (text.normalize("NFC").match(/[\p{L}\p{N}][\p{L}\p{N}\p{M}]*/gu) ?? []).slice(0, 16);
}

/** PostgreSQL tsquery text: each word as a quoted prefix term, all required (unaccented by the query). */
function tsQuery(words: string[]): string {
  return words.map((word) => `'${word.replace(/'/g, "")}':*`).join(" & ");
}

/** FTS5 match expression: each word as a quoted prefix term, all required, in the given columns. */
function ftsMatch(columns: string[], words: string[]): string {
  return `{${columns.join(" ")}} : (${words.map((word) => `"${word}"*`).join(" ")})`;
}

export interface EntitySearch {
  words: string[];
  projectIds: string[];
  /** `include`: only these entity types; `exclude`: every type but these. */
  entityTypes: { include: string[] } | { exclude: string[] };
  limit: number;
  offset: number;
}

/**
 * Ids of the entities matching every word, best first (bm25), within the given projects. Ordered
 * by `rank` alone: FTS5 sorts that itself, where any second key makes SQLite compute and sort the
 * rank of every match again (about three times slower when a word matches every row).
 */
export async function searchEntityIds(db: Kysely<any>, search: EntitySearch): Promise<string[]> {
  if (search.words.length === 0 || search.projectIds.length === 0) return [];
  const types = search.entityTypes;
  const typeFilter =
    "include" in types
      ? types.include.length === 0
        ? sql`0 = 1`
        : sql`e.entity_type_id IN (${sql.join(types.include)})`
      : types.exclude.length === 0
        ? sql`1 = 1`
        : sql`e.entity_type_id NOT IN (${sql.join(types.exclude)})`;
  if (searchDialect(db) === "postgres") {
    const result = await sql<{ id: string }>`
      SELECT e.id AS id
      FROM to_tsquery('simple', unaccent(${tsQuery(search.words)})) q
      JOIN search_entity s ON s.document @@ q
      JOIN entity e ON e.id = s.entity_id
      WHERE e.project_id IN (${sql.join(search.projectIds)})
        AND ${typeFilter}
      ORDER BY ts_rank(s.document, q) DESC, e.name
      LIMIT ${search.limit} OFFSET ${search.offset}`.execute(db);
    return result.rows.map((row) => row.id);
  }
  const result = await sql<{ id: string }>`
    SELECT e.id AS id
    FROM search_entity s
    JOIN entity e ON e.id = s.entity_id
    WHERE search_entity MATCH ${ftsMatch(["name", "description", "metadata"], search.words)}
      AND e.project_id IN (${sql.join(search.projectIds)})
      AND ${typeFilter}
    ORDER BY s.rank
    LIMIT ${search.limit} OFFSET ${search.offset}`.execute(db);
  return result.rows.map((row) => row.id);
}

/** Ids of the active persons whose full name matches every word, best first. */
export async function searchPersonIds(db: Kysely<any>, words: string[], limit: number, offset: number): Promise<string[]> {
  if (words.length === 0) return [];
  if (searchDialect(db) === "postgres") {
    const result = await sql<{ id: string }>`
      SELECT p.id AS id
      FROM to_tsquery('simple', unaccent(${tsQuery(words)})) q
      JOIN search_person s ON s.document @@ q
      JOIN person p ON p.id = s.person_id
      WHERE p.active = ${true}
      ORDER BY ts_rank(s.document, q) DESC, p.first_name, p.last_name
      LIMIT ${limit} OFFSET ${offset}`.execute(db);
    return result.rows.map((row) => row.id);
  }
  const result = await sql<{ id: string }>`
    SELECT p.id AS id
    FROM search_person s
    JOIN person p ON p.id = s.person_id
    WHERE search_person MATCH ${ftsMatch(["name"], words)}
      AND p.active = ${true}
    ORDER BY s.rank
    LIMIT ${limit} OFFSET ${offset}`.execute(db);
  return result.rows.map((row) => row.id);
}
