/**
 * Routes of crud-area actions (routes.tsv area `crud`, models.md §4.2): the global task type
 * reorder, the project workflow links (`POST /data/task-type-links`, `/data/task-status-links`,
 * upserts) and their per-project reorders.
 */
import type { Hono } from "hono";
import * as v from "valibot";
import type { AppContext, AppEnv } from "../context";
import { serialize } from "../db/serialize";
import { transact } from "../db/transaction";
import type { Db } from "../db/database";
import { parseBody } from "../lib/body";
import { numberSchema } from "../lib/validation";
import { chunks } from "../lib/chunks";
import { badRequest, notFound } from "../lib/errors";
import { emitEvent } from "../lib/events";
import { isUuid, newId, normalizeId, serviceId, utcNow } from "../lib/ids";

const WRONG_ID_FORMAT_MESSAGE = "One of the ID sent in parameter is not properly formatted.";
import { checkAdmin, checkManagerProjectAccess } from "../services/permissions";

const ROLES = ["user", "admin", "supervisor", "manager", "client", "vendor"] as const;

const uuidString = v.pipe(
  v.string(),
  v.check((value) => isUuid(value), WRONG_ID_FORMAT_MESSAGE),
  v.transform((value) => normalizeId(value)),
);
const priority = v.optional(numberSchema({ min: 0, max: 2_147_483_647, integer: true }), 1);
const idList = v.array(uuidString);

/** The workflow link tables of a project and what varies between them. */
interface LinkKind {
  table: "project_task_type_link" | "project_task_status_link";
  target: "task_type" | "task_status";
  column: "task_type_id" | "task_status_id";
  label: string;
}
const TASK_TYPE_LINKS: LinkKind = { table: "project_task_type_link", target: "task_type", column: "task_type_id", label: "task type" };
const TASK_STATUS_LINKS: LinkKind = { table: "project_task_status_link", target: "task_status", column: "task_status_id", label: "task status" };

/** 400 when one of `ids` is not a row of `kind.target`. */
async function checkTargetsExist(db: Db, kind: LinkKind, ids: string[]): Promise<void> {
  const found = new Set<string>();
  for (const part of chunks(ids)) {
    const rows = await db.selectFrom(kind.target).select("id").where("id", "in", part).execute();
    for (const row of rows) found.add(row.id);
  }
  const missing = ids.find((id) => !found.has(id));
  if (missing) throw badRequest(`The ${kind.label} ${missing} does not exist.`);
}

/** Creates the project link or updates its priority (and board roles when given); returns the row. */
async function upsertLink(
  db: Db,
  kind: LinkKind,
  projectId: string,
  targetId: string,
  fields: { priority: number; roles_for_board?: string[] },
): Promise<Record<string, unknown>> {
  const now = utcNow();
  const changes: Record<string, unknown> = { priority: fields.priority, updated_at: now };
  if (fields.roles_for_board !== undefined) changes.roles_for_board = JSON.stringify(fields.roles_for_board);
  const existing = await db
    .selectFrom(kind.table)
    .select("id")
    .where("project_id", "=", projectId)
    .where(kind.column as "task_type_id", "=", targetId)
    .executeTakeFirst();
  if (existing) {
    return (await db.updateTable(kind.table).set(changes as never).where("id", "=", existing.id).returningAll().executeTakeFirstOrThrow()) as Record<string, unknown>;
  }
  const row: Record<string, unknown> = { id: newId(), created_at: now, project_id: projectId, [kind.column]: targetId, ...changes };
  return (await db.insertInto(kind.table).values(row as never).returningAll().executeTakeFirstOrThrow()) as Record<string, unknown>;
}

/** The project of a project route: 404 when malformed or unknown, then manager access (403). */
async function managedProject(c: AppContext, rawId: string | undefined): Promise<string> {
  const projectId = serviceId(rawId);
  const project = await c.get("db").selectFrom("project").select("id").where("id", "=", projectId).executeTakeFirst();
  if (!project) throw notFound();
  await checkManagerProjectAccess(c, projectId);
  return projectId;
}

async function projectUpdated(c: AppContext, projectId: string): Promise<void> {
  await emitEvent(c.get("db"), c.get("events"), "project:update", {}, { projectId, userId: c.get("user").id });
}

/** POST /data/task-type-links and /data/task-status-links: upsert one link (manager of the project). */
function linkUpsertRoute(app: Hono<AppEnv>, path: string, kind: LinkKind): void {
  const schema =
    kind === TASK_STATUS_LINKS
      ? v.object({ project_id: uuidString, task_status_id: uuidString, priority, roles_for_board: v.optional(v.nullable(v.array(v.picklist(ROLES)))) })
      : v.object({ project_id: uuidString, task_type_id: uuidString, priority });
  app.post(path, async (c) => {
    const body = (await parseBody(c, schema)) as Record<string, unknown> & { project_id: string; priority: number };
    await checkManagerProjectAccess(c, body.project_id);
    const targetId = body[kind.column] as string;
    const link = await transact(c, async (db) => {
      const project = await db.selectFrom("project").select("id").where("id", "=", body.project_id).executeTakeFirst();
      if (!project) throw badRequest(`The project ${body.project_id} does not exist.`);
      await checkTargetsExist(db, kind, [targetId]);
      const roles = body.roles_for_board as string[] | null | undefined;
      const row = await upsertLink(db, kind, body.project_id, targetId, { priority: body.priority, roles_for_board: roles ?? undefined });
      await projectUpdated(c, body.project_id);
      return row;
    });
    return c.json(serialize(kind.table, link), 201);
  });
}

/** POST /actions/projects/{project_id}/<links>/reorder: priorities 1..n from an ordered id list. */
function linkReorderRoute(app: Hono<AppEnv>, path: string, kind: LinkKind, listKey: "task_type_ids" | "task_status_ids"): void {
  const schema = v.object({ [listKey]: idList });
  app.post(path, async (c) => {
    const projectId = await managedProject(c, c.req.param("project_id"));
    const ids = [...new Set((await parseBody(c, schema))[listKey] as string[])];
    const links = await transact(c, async (db) => {
      await checkTargetsExist(db, kind, ids);
      const rows = [];
      for (const [index, targetId] of ids.entries()) rows.push(await upsertLink(db, kind, projectId, targetId, { priority: index + 1 }));
      await projectUpdated(c, projectId);
      return rows;
    });
    return c.json(links.map((link) => serialize(kind.table, link)));
  });
}

export function registerCrudActions(app: Hono<AppEnv>): void {
  app.post("/actions/task-types/reorder", async (c) => {
    checkAdmin(c);
    const { task_type_ids } = await parseBody(c, v.object({ task_type_ids: idList }));
    const ids = [...new Set(task_type_ids)];
    const taskTypes = await transact(c, async (db) => {
      await checkTargetsExist(db, TASK_TYPE_LINKS, ids);
      const rows = [];
      const now = utcNow();
      for (const [index, id] of ids.entries()) {
        rows.push(await db.updateTable("task_type").set({ priority: index + 1, updated_at: now }).where("id", "=", id).returningAll().executeTakeFirstOrThrow());
        await emitEvent(db, c.get("events"), "task-type:update", { task_type_id: id }, { userId: c.get("user").id });
      }
      return rows;
    });
    return c.json(taskTypes.map((row) => serialize("task_type", row)));
  });

  linkUpsertRoute(app, "/data/task-type-links", TASK_TYPE_LINKS);
  linkUpsertRoute(app, "/data/task-status-links", TASK_STATUS_LINKS);
  linkReorderRoute(app, "/actions/projects/:project_id/task-type-links/reorder", TASK_TYPE_LINKS, "task_type_ids");
  linkReorderRoute(app, "/actions/projects/:project_id/task-status-links/reorder", TASK_STATUS_LINKS, "task_status_ids");
}
