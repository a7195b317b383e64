/**
 * In-process cache of authenticated access tokens: token → verified claims and person row.
 * A hit skips the signature check, the revocation lookup and the person lookup.
 *
 * Revocation semantics are kept: an entry is only used while no write touched the `person` or
 * `kv_store` tables since it was filled (logout/revocation writes kv_store; deactivation, role
 * changes and API-token renewal write person; other processes' writes to them reach the write log
 * through the change log, src/db/change-log.ts), while no other process committed to the database
 * unexplained (src/lib/change-signal.ts), and never past the token's own expiry.
 */
import type { PersonRow } from "../context";
import type { TokenClaims } from "../lib/jwt";
import { writesVersion } from "../db/write-version";
import { PerDatabase } from "../lib/sized-cache";

const SESSION_TABLES = ["person", "kv_store"] as const;
const MAX_ENTRIES = 10_000;

interface Entry {
  claims: TokenClaims;
  user: PersonRow;
  generation: number;
  expiresAt: number;
}
/**
 * Entries per database instance (tests run several servers in one process). Not a SizedCache: a
 * full cache first drops expired and outdated sessions, and a read does not count as a use.
 */
const caches = new PerDatabase(() => new Map<string, Entry>());

/**
 * The generation to read before loading what `rememberSession` will store: in-process writes to
 * the session tables plus the version of other processes' commits (both only grow, so the sum
 * moves whenever either does).
 */
export function sessionGeneration(db: object): number {
  return writesVersion(db, SESSION_TABLES);
}

/** The cached claims and a copy of the person row of `token`, or null. */
export function cachedSession(db: object, token: string, now = Date.now()): { claims: TokenClaims; user: PersonRow } | null {
  const entries = caches.of(db);
  const entry = entries.get(token);
  if (!entry) return null;
  if (entry.expiresAt <= now || entry.generation !== sessionGeneration(db)) {
    entries.delete(token);
    return null;
  }
  return { claims: entry.claims, user: { ...entry.user } };
}

/** Stores a session checked from `generation` on (read before the revocation and person lookups). */
export function rememberSession(db: object, token: string, claims: TokenClaims, user: PersonRow, generation: number, now = Date.now()): void {
  if (generation !== sessionGeneration(db)) return;
  const entries = caches.of(db);
  const expiresAt = typeof claims.exp === "number" ? claims.exp * 1000 : Infinity;
  if (entries.size >= MAX_ENTRIES) {
    for (const [key, entry] of entries) {
      if (entry.expiresAt <= now || entry.generation !== generation) entries.delete(key);
    }
    if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!);
  }
  entries.set(token, { claims, user: { ...user }, generation, expiresAt });
}

export function clearSessionCache(db: object): void {
  caches.forget(db);
}
