/** A small key/value store with expiry in the database (Zou keeps these keys in Redis). */
import type { Db } from "../db/database";
import { sql } from "kysely";

export async function kvGet(db: Db, key: string): Promise<string | null> {
  const row = await db.selectFrom("kv_store").select(["value", "expires_at"]).where("key", "=", key).executeTakeFirst();
  if (!row) return null;
  if (row.expires_at !== null && Number(row.expires_at) < Date.now()) {
    await db.deleteFrom("kv_store").where("key", "=", key).execute();
    return null;
  }
  return row.value;
}

export async function kvSet(db: Db, key: string, value: string, ttlSeconds: number | null): Promise<void> {
  const expiresAt = ttlSeconds === null ? null : Date.now() + ttlSeconds * 1000;
  await db
    .insertInto("kv_store")
    .values({ key, value, expires_at: expiresAt })
    .onConflict((oc) => oc.column("key").doUpdateSet({ value, expires_at: expiresAt }))
    .execute();
}

export async function kvDelete(db: Db, key: string): Promise<void> {
  await db.deleteFrom("kv_store").where("key", "=", key).execute();
}

/** Removes expired keys (called from time to time by the server). */
export async function kvPurge(db: Db): Promise<void> {
  await db.deleteFrom("kv_store").where("expires_at", "<", Date.now()).execute();
}

/**
 * Adds one to the counter `key` in one statement (so that processes sharing the database count
 * together) and answers the new count and when it expires. An expired counter starts again from 1
 * with `ttlMs`; a live one keeps its expiry, or with `slide` gets `ttlMs` from now.
 */
export async function kvIncrement(db: Db, key: string, ttlMs: number, options: { slide: boolean }, now = Date.now()): Promise<{ count: number; expiresAt: number }> {
  const expiresAt = now + ttlMs;
  const expired = sql<boolean>`(kv_store.expires_at IS NULL OR kv_store.expires_at <= ${now})`;
  const row = await db
    .insertInto("kv_store")
    .values({ key, value: "1", expires_at: expiresAt })
    .onConflict((oc) =>
      oc.column("key").doUpdateSet({
        value: sql<string>`CASE WHEN ${expired} THEN '1' ELSE CAST(CAST(kv_store.value AS INTEGER) + 1 AS VARCHAR(20)) END`,
        expires_at: options.slide ? expiresAt : sql<number>`CASE WHEN ${expired} THEN ${expiresAt} ELSE kv_store.expires_at END`,
      }),
    )
    .returning(["value", "expires_at"])
    .executeTakeFirstOrThrow();
  return { count: Number(row.value), expiresAt: Number(row.expires_at) };
}

/** The live count of the counter `key` (0 when absent or expired). */
export async function kvCount(db: Db, key: string, now = Date.now()): Promise<{ count: number; expiresAt: number }> {
  const row = await db.selectFrom("kv_store").select(["value", "expires_at"]).where("key", "=", key).executeTakeFirst();
  if (!row || row.expires_at === null || Number(row.expires_at) <= now) return { count: 0, expiresAt: 0 };
  return { count: Number(row.value) || 0, expiresAt: Number(row.expires_at) };
}

/** Takes one from the live counter `key` (not below 0). */
export async function kvDecrement(db: Db, key: string, now = Date.now()): Promise<void> {
  await db
    .updateTable("kv_store")
    .set({ value: sql<string>`CAST(CAST(value AS INTEGER) - 1 AS VARCHAR(20))` })
    .where("key", "=", key)
    .where("expires_at", ">", now)
    .where(sql<boolean>`CAST(value AS INTEGER) > 0`)
    .execute();
}
