/**
 * Project workflow links (models.md §4.2): the project task type and task status links (upserts
 * and per-project reorders) and the global task type reorder.
 */
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import { serialize } from "../db/serialize";
import { transact } from "../db/transaction";
import { chunks } from "../lib/chunks";
import { badRequest } from "../lib/errors";
import { emitEvent } from "../lib/events";
import { newId, utcNow } from "../lib/ids";

type Dict = Record<string, unknown>;

/** The workflow link tables of a project and what varies between them. */
export interface LinkKind {
  table: "project_task_type_link" | "project_task_status_link";
  target: "task_type" | "task_status";
  column: "task_type_id" | "task_status_id";
  label: string;
}
export const TASK_TYPE_LINKS: LinkKind = { table: "project_task_type_link", target: "task_type", column: "task_type_id", label: "task type" };
export const TASK_STATUS_LINKS: LinkKind = { table: "project_task_status_link", target: "task_status", column: "task_status_id", label: "task status" };

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

async function projectUpdated(c: AppContext, projectId: string): Promise<void> {
  await emitEvent(c.get("db"), c.get("events"), "project:update", {}, { projectId, userId: c.get("user").id });
}

/** Upserts one link of the project (400 when the project or the target is unknown), emits `project:update`. */
export async function upsertProjectLink(
  c: AppContext,
  kind: LinkKind,
  projectId: string,
  targetId: string,
  fields: { priority: number; roles_for_board?: string[] },
): Promise<Dict> {
  const link = await transact(c, async (db) => {
    const project = await db.selectFrom("project").select("id").where("id", "=", projectId).executeTakeFirst();
    if (!project) throw badRequest(`The project ${projectId} does not exist.`);
    await checkTargetsExist(db, kind, [targetId]);
    const row = await upsertLink(db, kind, projectId, targetId, fields);
    await projectUpdated(c, projectId);
    return row;
  });
  return serialize(kind.table, link);
}

/** Priorities 1..n of the project's links from an ordered target id list (links created as needed). */
export async function reorderProjectLinks(c: AppContext, kind: LinkKind, projectId: string, ids: string[]): Promise<Dict[]> {
  const links = await transact(c, async (db) => {
    await checkTargetsExist(db, kind, ids);
    const rows = [];
    for (const [index, targetId] of ids.entries()) rows.push(await upsertLink(db, kind, projectId, targetId, { priority: index + 1 }));
    await projectUpdated(c, projectId);
    return rows;
  });
  return links.map((link) => serialize(kind.table, link));
}

/** The global task type priorities 1..n from an ordered id list, one `task-type:update` each. */
export async function reorderTaskTypes(c: AppContext, ids: string[]): Promise<Dict[]> {
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
  return taskTypes.map((row) => serialize("task_type", row));
}
