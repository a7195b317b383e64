/**
 * Health and counters of the `index` area: the services Zou runs beside the API, the main model
 * counts of `GET /stats` and the organisation's public settings of `GET /config`.
 */
import { sql } from "kysely";
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import { searchIndexAvailable } from "../db/search-index";
import { streamOf } from "../lib/broadcast";

export interface Health {
  database: boolean;
  keyValueStore: boolean;
  eventStream: boolean;
  /** Clients connected to the realtime stream. */
  connections: number;
  jobQueue: boolean;
  indexer: boolean;
}

async function reachable(check: () => Promise<unknown>): Promise<boolean> {
  try {
    await check();
    return true;
  } catch {
    return false;
  }
}

/**
 * Health of the services Zou runs beside the API. Here the key-value store is a database table,
 * the event stream (up when the server runs one, see services/live-events.ts) and the job queue
 * live in this process, and the indexer is the database's own
 * full-text index (src/db/search-index.ts).
 */
export async function health(c: AppContext): Promise<Health> {
  const db = c.get("db");
  const database = await reachable(() => db.selectFrom("project_status").select("id").limit(1).execute());
  const keyValueStore = await reachable(() => db.selectFrom("kv_store").select("key").limit(1).execute());
  const stream = streamOf(c.get("events"));
  return { database, keyValueStore, eventStream: stream !== undefined, connections: stream?.connections() ?? 0, jobQueue: database, indexer: database && searchIndexAvailable(db) };
}

async function count(db: Db, build: (db: Db) => any): Promise<number> {
  const row = (await build(db).select(sql<number>`count(*)`.as("total")).executeTakeFirst()) as { total: number } | undefined;
  return Number(row?.total ?? 0);
}

/** `GET /stats`: Zou's four counters (previews by kind, comments). */
export async function mainStats(db: Db): Promise<Record<string, number>> {
  return {
    number_of_video_previews: await count(db, (d) => d.selectFrom("preview_file").where("extension", "=", "mp4")),
    number_of_picture_previews: await count(db, (d) => d.selectFrom("preview_file").where("extension", "=", "png")),
    number_of_model_previews: await count(db, (d) => d.selectFrom("preview_file").where("extension", "=", "obj")),
    number_of_comments: await count(db, (d) => d.selectFrom("comment")),
  };
}

/** The organisation's `dark_theme_by_default` (false when there is none or the database cannot answer). */
export async function darkThemeByDefault(db: Db): Promise<boolean> {
  const organisation = await db
    .selectFrom("organisation")
    .select("dark_theme_by_default")
    .orderBy("created_at")
    .executeTakeFirst()
    .catch(() => undefined);
  return Boolean(organisation?.dark_theme_by_default);
}
