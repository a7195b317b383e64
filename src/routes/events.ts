/**
 * Routes of the `events` area of routes.tsv (events.md §4): the latest events of the event log
 * with filters, the distinct event names, and the latest login logs.
 */
import type { Hono } from "hono";
import type { AppContext, AppEnv } from "../context";
import { badRequest, forbidden } from "../lib/errors";
import { isUuid, normalizeId, queryId } from "../lib/ids";
import { checkAdmin, checkManager, effectiveRole, isAdmin, isManagerGlobally, memberProjectIds, projectLink } from "../services/permissions";
import { eventNames, lastEvents, lastLoginLogs } from "../services/event-log";

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
    return c.json(
      await lastEvents(c.get("db"), {
        scope, after, before, limit, personIds, prefixes, suffixes,
        cursor: c.req.query("cursor_event_id"),
        onlyFiles: (c.req.query("only_files") ?? "").toLowerCase() === "true",
        name: c.req.query("name"),
      }),
    );
  });

  app.get("/data/events/names", async (c) => {
    checkManager(c);
    return c.json(await eventNames(c.get("db")));
  });

  app.get("/data/events/login-logs/last", async (c) => {
    checkAdmin(c);
    const after = boundArg(c, "after");
    const before = boundArg(c, "before");
    const limit = limitArg(c);
    const personIds = personIdsArg(c);
    return c.json(await lastLoginLogs(c.get("db"), { after, before, limit, personIds, cursor: c.req.query("cursor_login_log_id") }));
  });
}
