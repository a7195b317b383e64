/** A small key/value store with expiry in the database (Zou keeps these keys in Redis). */
import type { Db } from "../db/database";

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
