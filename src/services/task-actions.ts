/**
 * Task writes of the tasks routes: bulk unassignment, priority, assignment to a person and
 * deletion, setting a task's last preview as its entity's thumbnail, and the to-review action.
 * Callers run them in a transaction (`transact`).
 */
import type { AppContext, PersonRow } from "../context";
import type { Db } from "../db/database";
import { serialize } from "../db/serialize";
import { chunks } from "../lib/chunks";
import { buildFilePath, FileTreeError, getProjectTree } from "../lib/file-tree";
import { utcNow } from "../lib/ids";
import {
  assignTask,
  canAssign,
  canPlanTask,
  canUnassign,
  clearAssignation,
  emit,
  entityKind,
  personIsAssignable,
  presentTask,
  removeTask,
  updateTaskValues,
  type Dict,
  type TaskRow,
} from "./tasks";
import { findTask, lastTaskPreview } from "./task-reads";

/** Removes `personId` (or everyone) from the listed tasks the caller may unassign; the ids done. */
export async function clearAssignations(c: AppContext, taskIds: string[], personId: string | null): Promise<string[]> {
  const done: string[] = [];
  for (const taskId of taskIds) {
    const task = await findTask(c.get("db"), taskId);
    if (!task || !(await canUnassign(c, task, personId))) continue;
    await clearAssignation(c, task, personId);
    done.push(task.id);
  }
  return done;
}

/** Sets the priority of the listed tasks the caller may plan; the updated tasks. */
export async function setTasksPriority(c: AppContext, taskIds: string[], priority: number): Promise<Dict[]> {
  const updated: Dict[] = [];
  for (const taskId of taskIds) {
    const task = await findTask(c.get("db"), taskId);
    if (!task || !(await canPlanTask(c, task))) continue;
    updated.push(presentTask(await updateTaskValues(c, task, { priority })));
  }
  return updated;
}

/**
 * Assigns the person to the listed tasks the caller may assign. `refusedBot` tells that a task
 * was skipped because the person (a bot) may not work on its project.
 */
export async function assignTasksToPerson(c: AppContext, person: PersonRow, taskIds: string[]): Promise<{ assigned: TaskRow[]; refusedBot: boolean }> {
  const assigned: TaskRow[] = [];
  let refusedBot = false;
  for (const taskId of taskIds) {
    const db = c.get("db");
    const task = await findTask(db, taskId);
    if (!task) continue;
    if (!(await personIsAssignable(db, person, task.project_id))) {
      refusedBot = true;
      continue;
    }
    if (!(await canAssign(c, task, person.id))) continue;
    assigned.push(await assignTask(c, task, person.id));
  }
  return { assigned, refusedBot };
}

/** Makes the task's last preview the thumbnail of its entity; returns the entity dict (null without preview). */
export async function setTaskMainPreview(c: AppContext, task: TaskRow): Promise<Dict | null> {
  const db = c.get("db");
  const preview = await lastTaskPreview(db, task.id);
  if (!preview) return null;
  const entity = await db
    .updateTable("entity")
    .set({ preview_file_id: preview.id, updated_at: utcNow() })
    .where("id", "=", task.entity_id!)
    .returningAll()
    .executeTakeFirstOrThrow();
  const type = await db.selectFrom("entity_type").select("name").where("id", "=", entity.entity_type_id).executeTakeFirst();
  const kind = entityKind(type?.name);
  await emit(c, "preview-file:set-main", { entity_id: entity.id, preview_file_id: preview.id }, entity.project_id);
  await emit(c, `${kind.toLowerCase()}:update`, { [`${kind.toLowerCase()}_id`]: entity.id }, entity.project_id);
  return serialize("entity", entity, { typeName: kind });
}

/** Deletes the listed tasks of a project (others skipped), with their data; the ids deleted. */
export async function deleteProjectTasks(c: AppContext, projectId: string, taskIds: string[]): Promise<string[]> {
  const deleted: string[] = [];
  for (const chunk of chunks(taskIds)) {
    const tasks = await c.get("db").selectFrom("task").selectAll().where("id", "in", chunk).where("project_id", "=", projectId).execute();
    for (const task of tasks) {
      await removeTask(c, task, true);
      deleted.push(task.id);
    }
  }
  return deleted;
}

/** Deletes every task of a type in a project, with their data. */
export async function deleteTasksOfType(c: AppContext, projectId: string, taskTypeId: string): Promise<void> {
  const tasks = await c.get("db").selectFrom("task").selectAll().where("project_id", "=", projectId).where("task_type_id", "=", taskTypeId).execute();
  for (const task of tasks) await removeTask(c, task, true);
}

// ---------------------------------------------------------------------------------------------
// To review

/** The rows around a task the to-review action answers with, and the preview path it builds. */
export interface ToReviewContext {
  project: Awaited<ReturnType<typeof loadProject>>;
  entity: Awaited<ReturnType<typeof loadEntity>>;
  entityType: Awaited<ReturnType<typeof loadEntityType>>;
  previewPath: { folder_path: string; file_name: string };
}

const loadProject = (db: Db, id: string) => db.selectFrom("project").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
const loadEntity = (db: Db, id: string) => db.selectFrom("entity").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
const loadEntityType = (db: Db, id: string) => db.selectFrom("entity_type").selectAll().where("id", "=", id).executeTakeFirstOrThrow();

/** Loads the task's project, entity and type, and builds the preview path of `name`/`revision` (empty when the file tree cannot). */
export async function toReviewContext(db: Db, task: TaskRow, name: string, revision: number): Promise<ToReviewContext> {
  const project = await loadProject(db, task.project_id!);
  const entity = await loadEntity(db, task.entity_id!);
  const entityType = await loadEntityType(db, entity.entity_type_id);
  const taskType = await db.selectFrom("task_type").selectAll().where("id", "=", task.task_type_id!).executeTakeFirst();
  let previewPath = { folder_path: "", file_name: "" };
  try {
    const parent = entity.parent_id ? await db.selectFrom("entity").selectAll().where("id", "=", entity.parent_id).executeTakeFirst() : undefined;
    const parentType = parent ? await db.selectFrom("entity_type").select("name").where("id", "=", parent.entity_type_id).executeTakeFirst() : undefined;
    const built = buildFilePath(getProjectTree(project), {
      project,
      entity: { ...entity, entity_type: { name: entityType.name }, parent: parent ? { ...parent, entity_type: { name: parentType?.name ?? "" } } : null },
      task: { ...task, task_type: taskType ?? null },
      task_type: taskType ?? null,
      name,
      revision,
    }, { mode: "preview" });
    previewPath = { folder_path: built.folder_path, file_name: built.file_name };
  } catch (error) {
    if (!(error instanceof FileTreeError)) throw error;
  }
  return { project, entity, entityType, previewPath };
}

/**
 * Zou's to-review: optionally moves the task to the feedback-request status (the status alone, no
 * end date, unlike a comment), and emits the publish payload. Returns the task as it now is.
 */
export async function sendTaskToReview(
  c: AppContext,
  task: TaskRow,
  context: ToReviewContext,
  request: { person: PersonRow; comment: string; changeStatus: boolean | null },
): Promise<TaskRow> {
  const db = c.get("db");
  let updated = task;
  if (request.changeStatus) {
    const status = (await db.selectFrom("task_status").selectAll().where("short_name", "=", "pndng").executeTakeFirst())
      ?? (await db.selectFrom("task_status").selectAll().where("name", "=", "To review").executeTakeFirst())
      ?? (await db.selectFrom("task_status").selectAll().where("is_feedback_request", "=", true).orderBy("created_at").executeTakeFirst());
    if (status && status.id !== task.task_status_id) updated = await updateTaskValues(c, task, { task_status_id: status.id });
  }
  // Zou's publish payload (ShotGrid ids for sync scripts), emitted without a project.
  await emit(c, "task:to-review", {
    task_id: task.id, task_shotgun_id: task.shotgun_id ?? null, entity_type_name: context.entityType.name,
    previous_task_status_id: task.task_status_id, entity_shotgun_id: context.entity.shotgun_id ?? null,
    project_shotgun_id: context.project.shotgun_id ?? null, person_shotgun_id: (request.person as { shotgun_id?: number | null }).shotgun_id ?? null,
    comment: request.comment, preview_path: context.previewPath, change_status: request.changeStatus,
  }, null);
  return updated;
}
