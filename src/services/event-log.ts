/**
 * The event log and login log reads of the `events` area of routes.tsv (events.md §4): latest
 * rows with filters and a cursor, and the distinct event names.
 */
import { sql } from "kysely";
import type { Db } from "../db/database";
import { serialize } from "../db/serialize";
import { badRequest } from "../lib/errors";
import { isUuid, normalizeId } from "../lib/ids";

type Row = Record<string, any>;
export type Dict = Record<string, unknown>;

const FILE_EVENTS = ["preview-file:add-file", "organisation:set-thumbnail", "person:set-thumbnail", "project:set-thumbnail"];

/** Filters shared by the two logs: bounds (exclusive), newest-first limit, people, the raw cursor id. */
export interface LogFilters {
  after: string | null;
  before: string | null;
  limit: number;
  personIds: string[];
  cursor: string | undefined;
}

export interface EventFilters extends LogFilters {
  /** Project ids readable by the caller; null: every project. */
  scope: string[] | null;
  onlyFiles: boolean;
  name: string | undefined;
  prefixes: string[];
  suffixes: string[];
}

/** The creation date of the cursor row (rows strictly older follow it); undefined without a cursor, 400 when unknown. */
async function cursorDate(db: Db, table: "api_event" | "login_log", cursor: string | undefined, argName: string): Promise<string | null | undefined> {
  if (!cursor) return undefined;
  const row = isUuid(cursor) ? await db.selectFrom(table).select("created_at").where("id", "=", normalizeId(cursor)).executeTakeFirst() : undefined;
  if (!row) throw badRequest(`Invalid ${argName}: ${cursor}`);
  return row.created_at;
}

/** `/data/events/last`: the latest events, newest first; an unknown cursor is a 400. */
export async function lastEvents(db: Db, filters: EventFilters): Promise<Dict[]> {
  const { scope, after, before, cursor, name, prefixes, suffixes, personIds } = filters;
  let query = db.selectFrom("api_event").selectAll();
  if (scope) query = scope.length ? query.where("project_id", "in", scope) : query.where(sql<boolean>`1 = 0`);
  if (after) query = query.where("created_at", ">", after);
  if (before) query = query.where("created_at", "<", before);
  const cursorAt = await cursorDate(db, "api_event", cursor, "cursor_event_id");
  if (cursorAt !== undefined) query = query.where("created_at", "<", cursorAt);
  if (filters.onlyFiles) query = query.where("name", "in", FILE_EVENTS);
  if (name) query = query.where("name", "=", name);
  if (prefixes.length || suffixes.length) {
    // Case-insensitive on every engine (SQLite's LIKE is, PostgreSQL's is not).
    const lowerName = sql<string>`lower(name)`;
    query = query.where((eb) =>
      eb.or([
        ...prefixes.map((prefix) => eb(lowerName, "like", `${prefix.toLowerCase()}:%`)),
        ...suffixes.map((suffix) => eb(lowerName, "like", `%:${suffix.toLowerCase()}`)),
      ]),
    );
  }
  if (personIds.length) query = query.where("user_id", "in", personIds);
  const rows = (await query.orderBy("created_at", "desc").orderBy("id", "desc").limit(filters.limit).execute()) as Row[];
  return rows.map((row) => {
    const event = serialize("api_event", row);
    return { id: event.id, created_at: event.created_at, name: event.name, user_id: event.user_id, project_id: event.project_id, data: event.data };
  });
}

/** The distinct event names of the log, sorted. */
export async function eventNames(db: Db): Promise<string[]> {
  const rows = await db.selectFrom("api_event").select("name").distinct().orderBy("name").execute();
  return rows.map((r) => r.name);
}

/** `/data/events/login-logs/last`: the latest login logs, newest first; an unknown cursor is a 400. */
export async function lastLoginLogs(db: Db, filters: LogFilters): Promise<Dict[]> {
  const { after, before, cursor, personIds } = filters;
  let query = db.selectFrom("login_log").selectAll();
  if (after) query = query.where("created_at", ">", after);
  if (before) query = query.where("created_at", "<", before);
  const cursorAt = await cursorDate(db, "login_log", cursor, "cursor_login_log_id");
  if (cursorAt !== undefined) query = query.where("created_at", "<", cursorAt);
  if (personIds.length) query = query.where("person_id", "in", personIds);
  const rows = (await query.orderBy("created_at", "desc").orderBy("id", "desc").limit(filters.limit).execute()) as Row[];
  return rows.map((row) => {
    const log = serialize("login_log", row);
    return { id: log.id, created_at: log.created_at, ip_address: log.ip_address, person_id: log.person_id, origin: log.origin };
  });
}
