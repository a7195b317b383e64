/**
 * Answers of the crud engine's by-id reads (`GET /data/<plural>/<id>`), kept as their JSON text so
 * that reading the same row again costs a lookup instead of queries, permission checks and
 * serialization.
 *
 * An answer is kept per caller and URL (see `byIdAnswerKey`): the caller's id, role and identity
 * type, the id as written in the path and the query string. Only 200 answers are kept; a 403, 404
 * or 400 is built again each time.
 *
 * An answer serves while its version is unchanged: the write counters of the tables it was built
 * from (src/db/write-tracker.ts) plus the commits of other processes (src/lib/change-signal.ts:
 * the CLI, another worker, another connection). The tables are the model's own, the link tables of
 * its relations (e.g. a person's departments) and what the model declares its `read` and `present`
 * hooks read (`readDependsOn`); a model with such hooks that declares nothing depends on every
 * write. The caller's own row is not a dependency: the role is in the key, and the session cache
 * checks the rest before the route runs.
 *
 * Bounded: at most MAX_ENTRIES answers and MAX_CHARS characters per database, least recently used
 * dropped first; an answer larger than MAX_ENTRY_CHARS is not kept.
 */
import { writesVersion } from "../db/write-version";
import { PerDatabase, SizedCache } from "../lib/sized-cache";

const MAX_ENTRIES = 20_000;
const MAX_CHARS = 32 * 1024 * 1024;
const MAX_ENTRY_CHARS = 256 * 1024;
export const ANSWER_CACHE_LIMITS = { entries: MAX_ENTRIES, chars: MAX_CHARS, entryChars: MAX_ENTRY_CHARS } as const;

interface Entry {
  text: string;
  version: number;
}

const caches = new PerDatabase(
  () => new SizedCache<Entry>({ maxEntries: MAX_ENTRIES, maxTotal: MAX_CHARS, maxEntrySize: MAX_ENTRY_CHARS, sizeOf: (entry) => entry.text.length }),
);

/**
 * The version of answers that depend on `tables` (null: on any table). Both terms only grow, so
 * an unchanged sum means no write to these tables and no commit by another process.
 */
export function answerVersion(db: object, tables: readonly string[] | null): number {
  return writesVersion(db, tables);
}

/** Who asks and what: the parts of a by-id read's answer that do not come from the database. */
export function byIdAnswerKey(route: string, rawId: string, query: string, user: { id: string; role?: unknown }, identityType: unknown): string {
  return `${route}/${rawId}${query}\n${user.id} ${String(user.role)} ${String(identityType)}`;
}

/** The kept answer for `key` when it was built at `version`, else undefined (and it is dropped). */
export function cachedAnswer(db: object, key: string, version: number): string | undefined {
  const cache = caches.existing(db);
  // Most recently used last, so eviction drops the oldest.
  const entry = cache?.get(key);
  if (!entry) return undefined;
  if (entry.version !== version) {
    cache!.delete(key);
    return undefined;
  }
  return entry.text;
}

/** Keeps `text` as the answer for `key`, built from the database at `version`. */
export function keepAnswer(db: object, key: string, version: number, text: string): void {
  // Too large: the previous answer (if any) stays.
  if (text.length > MAX_ENTRY_CHARS) return;
  caches.of(db).set(key, { text, version });
}

/** How many answers are kept for `db` (tests). */
export function keptAnswerCount(db: object): number {
  return caches.existing(db)?.size ?? 0;
}

/** Drops every answer kept for `db`. */
export function forgetByIdAnswers(db: object): void {
  caches.forget(db);
}
