/**
 * Routes of the `events` area of routes.tsv (events.md §4): the latest events of the event log
 * with filters, the distinct event names, and the latest login logs.
 */
import type { Hono } from "hono";
import { sql } from "kysely";
import type { AppContext, AppEnv } from "../context";
import { serialize } from "../db/serialize";
import { badRequest, forbidden } from "../lib/errors";
import { isUuid, normalizeId, queryId } from "../lib/ids";
import { checkAdmin, checkManager, effectiveRole, isAdmin, isManagerGlobally, memberProjectIds, projectLink } from "../services/permissions";

type Row = Record<string, any>;

const FILE_EVENTS = ["preview-file:add-file", "organisation:set-thumbnail", "person:set-thumbnail", "project:set-thumbnail"];
const NAME_PART = /^[a-z0-9-]+$/;

/** `after`/`before`: `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS`; 400 otherwise. */
function boundArg(c: AppContext, name: string): string | null {
  const value = c.req.query(name);
  if (value === undefined || value === "") return null;
  const match = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}:\d{2}))?$/.exec(value);
  const date = match ? new Date(`${match[1]}T${match[2] ?? "00:00:00"}Z`) : null;
  if (!match || !date || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== match[1]) {
    throw badRequest(`Wrong date format for ${name}: ${value}`);
  }
  return `${match[1]}T${match[2] ?? "00:00:00"}`;
}

function limitArg(c: AppContext): number {
  const value = c.req.query("limit");
  if (value === undefined || value === "") return 100;
  if (!/^\d+$/.test(value)) throw badRequest("limit must be a positive integer.");
  return Math.min(Math.max(Number(value), 1), 1000);
}

function personIdsArg(c: AppContext): string[] {
  const values = c.req.queries("person_ids") ?? [];
  return values.filter((v) => v !== "").map((value) => {
    if (!isUuid(value)) throw badRequest(`Invalid person id: ${value}`);
    return normalizeId(value);
  });
}

function namePartsArg(c: AppContext, name: string): string[] {
  const values = (c.req.queries(name) ?? []).filter((v) => v !== "");
  for (const value of values) if (!NAME_PART.test(value)) throw badRequest(`Invalid value for ${name}: ${value}`);
  return values;
}

/**
 * Who may read the event log and which projects: admins everything; with `project_id`, a member
 * whose effective role there is manager (unknown or foreign project: 403); without, global
 * managers get their projects' events.
 */
async function eventScope(c: AppContext, projectId: string | null): Promise<string[] | null> {
  const user = c.get("user");
  if (isAdmin(user)) return projectId ? [projectId] : null;
  if (projectId) {
    let link: string | null | undefined;
    try {
      link = await projectLink(c, projectId);
    } catch {
      throw forbidden();
    }
    if (link === undefined || (await effectiveRole(c, projectId)) !== "manager") throw forbidden();
    return [projectId];
  }
  if (!isManagerGlobally(user)) throw forbidden();
  return memberProjectIds(c);
}

export function registerEvents(app: Hono<AppEnv>): void {
  app.get("/data/events/last", async (c) => {
    const rawProject = c.req.query("project_id");
    const projectId = rawProject ? queryId(rawProject) : null;
    const after = boundArg(c, "after");
    const before = boundArg(c, "before");
    const limit = limitArg(c);
    const personIds = personIdsArg(c);
    const prefixes = namePartsArg(c, "name_prefixes");
    const suffixes = namePartsArg(c, "name_suffixes");
    const scope = await eventScope(c, projectId);
    const db = c.get("db");
    let query = db.selectFrom("api_event").selectAll();
    if (scope) query = scope.length ? query.where("project_id", "in", scope) : query.where(sql<boolean>`1 = 0`);
    if (after) query = query.where("created_at", ">", after);
    if (before) query = query.where("created_at", "<", before);
    const cursor = c.req.query("cursor_event_id");
    if (cursor) {
      const event = isUuid(cursor) ? await db.selectFrom("api_event").select("created_at").where("id", "=", normalizeId(cursor)).executeTakeFirst() : undefined;
      if (!event) throw badRequest(`Invalid cursor_event_id: ${cursor}`);
      query = query.where("created_at", "<", event.created_at);
    }
    if ((c.req.query("only_files") ?? "").toLowerCase() === "true") query = query.where("name", "in", FILE_EVENTS);
    const name = c.req.query("name");
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
    const rows = (await query.orderBy("created_at", "desc").orderBy("id", "desc").limit(limit).execute()) as Row[];
    return c.json(
      rows.map((row) => {
        const event = serialize("api_event", row);
        return { id: event.id, created_at: event.created_at, name: event.name, user_id: event.user_id, project_id: event.project_id, data: event.data };
      }),
    );
  });

  app.get("/data/events/names", async (c) => {
    checkManager(c);
    const rows = await c.get("db").selectFrom("api_event").select("name").distinct().orderBy("name").execute();
    return c.json(rows.map((r) => r.name));
  });

  app.get("/data/events/login-logs/last", async (c) => {
    checkAdmin(c);
    const after = boundArg(c, "after");
    const before = boundArg(c, "before");
    const limit = limitArg(c);
    const personIds = personIdsArg(c);
    const db = c.get("db");
    let query = db.selectFrom("login_log").selectAll();
    if (after) query = query.where("created_at", ">", after);
    if (before) query = query.where("created_at", "<", before);
    const cursor = c.req.query("cursor_login_log_id");
    if (cursor) {
      const log = isUuid(cursor) ? await db.selectFrom("login_log").select("created_at").where("id", "=", normalizeId(cursor)).executeTakeFirst() : undefined;
      if (!log) throw badRequest(`Invalid cursor_login_log_id: ${cursor}`);
      query = query.where("created_at", "<", log.created_at);
    }
    if (personIds.length) query = query.where("person_id", "in", personIds);
    const rows = (await query.orderBy("created_at", "desc").orderBy("id", "desc").limit(limit).execute()) as Row[];
    return c.json(
      rows.map((row) => {
        const log = serialize("login_log", row);
        return { id: log.id, created_at: log.created_at, ip_address: log.ip_address, person_id: log.person_id, origin: log.origin };
      }),
    );
  });
}
