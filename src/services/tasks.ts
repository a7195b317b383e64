/**
 * Tasks: loading, presenting, creation (one by one and in bulk), assignment, task data
 * recomputation, deletion, the task dicts of entity routes, full task and task dates. Permission
 * checks specific to tasks live here, built on permissions.ts. The to-do lists are in
 * todo-lists.ts, the open tasks page in open-tasks.ts.
 */
import type { Selectable } from "kysely";
import { sql } from "kysely";
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import type { EntityTable, ProjectTable, TaskStatusTable, TaskTable, TaskTypeTable } from "../db/tables.generated";
import { loadServiceRow, type AnySelect } from "../db/rows";
import { isTrue, serialize, parseJson } from "../db/serialize";
import { emitEvent } from "../lib/events";
import { badRequest, forbidden } from "../lib/errors";
import { chunks } from "../lib/chunks";
import { entityKind, RESERVED_ENTITY_TYPES } from "../lib/entity-kinds";
import { newId, utcNow } from "../lib/ids";
import {
  checkProjectAccess,
  effectiveRole,
  isAdmin,
  isMember,
  memberProjectIds,
  openMemberProjectIds,
  userDepartmentIds,
  type Role,
} from "./permissions";
import { deleteCommentNews, deleteCommentNotifications, isSubscribedToTask, notifyAssignation } from "./notifications";
import { removeAttachmentFile } from "./attachments";
import { forgetStoredFiles } from "./stored-files";
import { presentPerson, presentPersonById } from "./persons";
import { descNullsFirst } from "../db/order";

export { personTasks, tasksToCheck } from "./todo-lists";

export type TaskRow = Selectable<TaskTable>;
export type TaskTypeRow = Selectable<TaskTypeTable>;
export type TaskStatusRow = Selectable<TaskStatusTable>;
export type EntityRow = Selectable<EntityTable>;
export type Dict = Record<string, unknown>;

export { entityKind, RESERVED_ENTITY_TYPES };

function userId(c: AppContext): string | null {
  return c.get("user")?.id ?? null;
}

/** Emits an event for a project as the caller. */
export async function emit(c: AppContext, name: string, data: Dict, projectId: string | null): Promise<void> {
  await emitEvent(c.get("db"), c.get("events"), name, data, { projectId, userId: userId(c) });
}

// ---------------------------------------------------------------------------------------------
// Loading

/** A task by the id of a service route: 404 when malformed or missing. */
export async function getTask(c: AppContext, rawId: string | undefined): Promise<TaskRow> {
  return (await loadServiceRow(c.get("db"), "task", rawId)) as TaskRow;
}

export async function getTaskType(c: AppContext, rawId: string | undefined): Promise<TaskTypeRow> {
  return (await loadServiceRow(c.get("db"), "task_type", rawId)) as TaskTypeRow;
}

export async function getTaskStatus(c: AppContext, rawId: string | undefined): Promise<TaskStatusRow> {
  return (await loadServiceRow(c.get("db"), "task_status", rawId)) as TaskStatusRow;
}

export async function getProject(c: AppContext, rawId: string | undefined): Promise<Selectable<ProjectTable>> {
  return (await loadServiceRow(c.get("db"), "project", rawId)) as Selectable<ProjectTable>;
}

/** Assignee ids per task id. */
export async function assigneesByTask(db: Db, taskIds: string[]): Promise<Map<string, string[]>> {
  const map = new Map<string, string[]>();
  for (const id of taskIds) map.set(id, []);
  for (const chunk of chunks(taskIds)) {
    const links = await db.selectFrom("task_person_link").select(["task_id", "person_id"]).where("task_id", "in", chunk).execute();
    for (const link of links) map.get(link.task_id)?.push(link.person_id);
  }
  return map;
}

/** A task serialized; with `assignees` when given (relations form). */
export function presentTask(row: TaskRow, assignees?: string[]): Dict {
  const dict = serialize("task", row);
  if (assignees) dict.assignees = assignees;
  return dict;
}

/** Tasks serialized with their assignees. */
export async function presentTasks(db: Db, rows: TaskRow[]): Promise<Dict[]> {
  const assignees = await assigneesByTask(db, rows.map((r) => r.id));
  return rows.map((row) => presentTask(row, assignees.get(row.id) ?? []));
}

/** The status given to new tasks (a separate one for concept tasks). */
export async function defaultTaskStatus(db: Db, forConcept = false): Promise<TaskStatusRow> {
  const found = await db
    .selectFrom("task_status")
    .selectAll()
    .where("is_default", "=", true)
    .where((eb) => (forConcept ? eb("for_concept", "=", true) : eb.or([eb("for_concept", "=", false), eb("for_concept", "is", null)])))
    .orderBy("created_at")
    .executeTakeFirst();
  if (found) return found;
  const todo = await db.selectFrom("task_status").selectAll().where("short_name", "=", forConcept ? "neutral" : "todo").executeTakeFirst();
  if (todo) return todo;
  const now = utcNow();
  const row = {
    id: newId(), created_at: now, updated_at: now, name: forConcept ? "Neutral" : "Todo", short_name: forConcept ? "neutral" : "todo",
    color: forConcept ? "#CCCCCC" : "#f5f5f5", is_default: true, for_concept: forConcept,
  };
  await db.insertInto("task_status").values(row).execute();
  return (await db.selectFrom("task_status").selectAll().where("id", "=", row.id).executeTakeFirstOrThrow());
}

// ---------------------------------------------------------------------------------------------
// Team

/** Adds a person to a project team when missing (the assignment routes do it); emits project:update. */
export async function ensureTeamMember(c: AppContext, projectId: string, personId: string): Promise<void> {
  const db = c.get("db");
  const link = await db
    .selectFrom("project_person_link")
    .select("person_id")
    .where("project_id", "=", projectId)
    .where("person_id", "=", personId)
    .executeTakeFirst();
  if (link) return;
  await db.insertInto("project_person_link").values({ project_id: projectId, person_id: personId, role: null } as any).execute();
  if (personId === c.get("user")?.id) c.get("projectRoles").delete(projectId);
  await emit(c, "project:update", {}, projectId);
}

// ---------------------------------------------------------------------------------------------
// Creation

export interface EntityForTask {
  id: string;
  project_id: string;
  type_name?: string;
}

function creationDict(row: TaskRow, taskType: TaskTypeRow, status: TaskStatusRow | undefined): Dict {
  return {
    ...presentTask(row, []),
    task_status_id: row.task_status_id,
    task_status_name: status?.name ?? "",
    task_status_short_name: status?.short_name ?? "",
    task_status_color: status?.color ?? "",
    task_type_id: taskType.id,
    task_type_name: taskType.name ?? "",
    task_type_color: taskType.color ?? "",
    task_type_priority: taskType.priority ?? "",
  };
}

/**
 * Creates a task of `taskType` named "main" for each entity that has none of that type yet
 * (default status, the caller as assigner) and emits `task:new` for each. Returns the created
 * tasks with their status and type details (Zou's create-tasks answer).
 */
export async function createTasksForEntities(c: AppContext, taskType: TaskTypeRow, entities: EntityForTask[]): Promise<Dict[]> {
  const db = c.get("db");
  if (entities.length === 0) return [];
  const existing = new Set<string>();
  for (const chunk of chunks(entities.map((e) => e.id))) {
    const rows = await db.selectFrom("task").select("entity_id").where("task_type_id", "=", taskType.id).where("entity_id", "in", chunk).execute();
    for (const row of rows) if (row.entity_id) existing.add(row.entity_id);
  }
  const statuses = new Map<boolean, TaskStatusRow>();
  const created: Dict[] = [];
  const seen = new Set<string>();
  for (const entity of entities) {
    if (existing.has(entity.id) || seen.has(entity.id)) continue;
    seen.add(entity.id);
    const forConcept = entity.type_name === "Concept";
    if (!statuses.has(forConcept)) statuses.set(forConcept, await defaultTaskStatus(db, forConcept));
    const status = statuses.get(forConcept)!;
    const now = utcNow();
    const row = (await db
      .insertInto("task")
      .values({
        id: newId(), created_at: now, updated_at: now, name: "main", duration: 0, estimation: 0, completion_rate: 0,
        project_id: entity.project_id, task_type_id: taskType.id, task_status_id: status.id, entity_id: entity.id,
        assigner_id: userId(c),
      } as any)
      .returningAll()
      .executeTakeFirstOrThrow()) as TaskRow;
    await emit(c, "task:new", { task_id: row.id }, row.project_id);
    created.push(creationDict(row, taskType, status));
  }
  return created;
}

// ---------------------------------------------------------------------------------------------
// Permission checks specific to tasks (permissions.md §3)

async function taskTypeDepartment(db: Db, taskTypeId: string | null): Promise<string | null> {
  if (!taskTypeId) return null;
  const row = await db.selectFrom("task_type").select("department_id").where("id", "=", taskTypeId).executeTakeFirst();
  return row?.department_id ?? null;
}

/** The caller's effective role if they are a member (or admin), else null. */
async function memberRole(c: AppContext, projectId: string | null): Promise<Role | null> {
  if (isAdmin(c.get("user"))) return "admin";
  if (!projectId || !(await isMember(c, projectId))) return null;
  return effectiveRole(c, projectId);
}

/** Supervisor whose departments are empty or contain the task type's department. */
async function isDepartmentSupervisor(c: AppContext, role: Role | null, taskTypeId: string | null): Promise<boolean> {
  if (role !== "supervisor") return false;
  const departments = await userDepartmentIds(c);
  if (departments.length === 0) return true;
  const department = await taskTypeDepartment(c.get("db"), taskTypeId);
  return Boolean(department && departments.includes(department));
}

/** `check_task_department_access(T, person)`: may the caller assign `personId` to the task? */
export async function canAssign(c: AppContext, task: TaskRow, personId: string): Promise<boolean> {
  const role = await memberRole(c, task.project_id);
  if (role === "admin" || role === "manager") return true;
  if (!role) return false;
  const user = c.get("user");
  const departments = await userDepartmentIds(c);
  const department = await taskTypeDepartment(c.get("db"), task.task_type_id);
  if (role === "supervisor") {
    if (departments.length === 0) return true;
    if (department && departments.includes(department)) {
      const targetDepartments = await userDepartmentIds(c, personId);
      if (targetDepartments.some((d) => departments.includes(d))) return true;
    }
  }
  return personId === user.id && Boolean(department && departments.includes(department));
}

/** `check_task_department_access_for_unassign(T, person)`; `personId` null = clear everyone. */
export async function canUnassign(c: AppContext, task: TaskRow, personId: string | null): Promise<boolean> {
  const role = await memberRole(c, task.project_id);
  if (role === "admin" || role === "manager") return true;
  if (!role) return false;
  if (await isDepartmentSupervisor(c, role, task.task_type_id)) return true;
  const user = c.get("user");
  return personId === user.id && (await isAssignedTo(c.get("db"), task.id, user.id));
}

/** Manager of the task's project, or supervisor of the task type's department there. */
export async function canPlanTask(c: AppContext, task: TaskRow): Promise<boolean> {
  const role = await memberRole(c, task.project_id);
  if (role === "admin" || role === "manager") return true;
  return isDepartmentSupervisor(c, role, task.task_type_id);
}

export async function isAssignedTo(db: Db, taskId: string, personId: string): Promise<boolean> {
  const row = await db.selectFrom("task_person_link").select("task_id").where("task_id", "=", taskId).where("person_id", "=", personId).executeTakeFirst();
  return Boolean(row);
}

/** `check_person_is_not_bot(person, project)`: bots only on projects with bot collaboration. */
export async function personIsAssignable(db: Db, person: { is_bot: unknown }, projectId: string | null): Promise<boolean> {
  if (!person.is_bot) return true;
  if (!projectId) return false;
  const project = await db.selectFrom("project").select("is_bot_collaboration_enabled").where("id", "=", projectId).executeTakeFirst();
  return Boolean(project?.is_bot_collaboration_enabled);
}

// ---------------------------------------------------------------------------------------------
// Assignment

/**
 * Adds `personId` to the task's assignees (no-op when already there): assigner set, events
 * `task:assign` then `task:update`, an assignation notification, and the assignee joins the team.
 */
export async function assignTask(c: AppContext, task: TaskRow, personId: string): Promise<TaskRow> {
  const db = c.get("db");
  const already = await isAssignedTo(db, task.id, personId);
  let updated = task;
  if (!already) {
    await db.insertInto("task_person_link").values({ task_id: task.id, person_id: personId }).execute();
    updated = (await db
      .updateTable("task")
      .set({ assigner_id: userId(c) ?? task.assigner_id, updated_at: utcNow() })
      .where("id", "=", task.id)
      .returningAll()
      .executeTakeFirstOrThrow()) as TaskRow;
    await emit(c, "task:assign", { task_id: task.id, person_id: personId }, task.project_id);
    await emit(c, "task:update", { task_id: task.id }, task.project_id);
    await notifyAssignation(c, updated, personId, userId(c));
  }
  if (task.project_id) await ensureTeamMember(c, task.project_id, personId);
  return updated;
}

/** Removes one assignee (or all when `personId` is null); `task:unassign` each, then `task:update`. */
export async function clearAssignation(c: AppContext, task: TaskRow, personId: string | null): Promise<void> {
  const db = c.get("db");
  let query = db.selectFrom("task_person_link").select("person_id").where("task_id", "=", task.id);
  if (personId) query = query.where("person_id", "=", personId);
  const removed = (await query.execute()).map((row) => row.person_id);
  let del = db.deleteFrom("task_person_link").where("task_id", "=", task.id);
  if (personId) del = del.where("person_id", "=", personId);
  await del.execute();
  await db.updateTable("task").set({ updated_at: utcNow() }).where("id", "=", task.id).execute();
  for (const id of personId && removed.length === 0 ? [personId] : removed) {
    await emit(c, "task:unassign", { person_id: id, task_id: task.id }, task.project_id);
  }
  await emit(c, "task:update", { task_id: task.id }, task.project_id);
}

/** Applies an assignee list change made through `PUT /data/tasks/<id>` (events + notifications). */
export async function applyAssigneesDiff(c: AppContext, task: TaskRow, before: string[], after: string[]): Promise<void> {
  for (const personId of after.filter((id) => !before.includes(id))) {
    await emit(c, "task:assign", { task_id: task.id, person_id: personId }, task.project_id);
    await notifyAssignation(c, task, personId, userId(c));
  }
  for (const personId of before.filter((id) => !after.includes(id))) {
    await emit(c, "task:unassign", { task_id: task.id, person_id: personId }, task.project_id);
  }
}

// ---------------------------------------------------------------------------------------------
// Status bookkeeping

/** Does a status start the work (sets real_start_date)? */
export function isWipStatus(status: Pick<TaskStatusRow, "is_wip" | "short_name">): boolean {
  return isTrue(status.is_wip) || (status.short_name ?? "").toLowerCase() === "wip";
}

/**
 * Task fields after a comment set `status` on `task` at `date` (Zou's status change handling):
 * status, last comment date, and when the status changed: retake count, end date (feedback
 * request), real start date (first WIP), done date.
 */
export function statusChangeValues(task: TaskRow, status: TaskStatusRow, date: string): { values: Dict; changed: boolean } {
  const changed = status.id !== task.task_status_id;
  const values: Dict = { task_status_id: status.id, last_comment_date: date };
  if (changed) {
    if (isTrue(status.is_retake)) values.retake_count = Number(task.retake_count ?? 0) + 1;
    values.end_date = isTrue(status.is_feedback_request) ? date : null;
    if (isWipStatus(status) && !task.real_start_date) values.real_start_date = date;
    values.done_date = isTrue(status.is_done) ? date : null;
  }
  return { values, changed };
}

/** Updates a task row and emits `task:update`. */
export async function updateTaskValues(c: AppContext, task: TaskRow, values: Dict): Promise<TaskRow> {
  const updated = (await c
    .get("db")
    .updateTable("task")
    .set({ ...values, updated_at: utcNow() } as any)
    .where("id", "=", task.id)
    .returningAll()
    .executeTakeFirstOrThrow()) as TaskRow;
  await emit(c, "task:update", { task_id: task.id }, task.project_id);
  return updated;
}

/**
 * Recomputes a task's status and dates from its comments (after a comment deletion, move or
 * status edit): status of the last comment (default status if none), retake count, real start
 * date, end date, done date, last comment date and duration. Emits `task:update`.
 */
export async function resetTaskData(c: AppContext, taskId: string): Promise<TaskRow> {
  const db = c.get("db");
  const task = await db.selectFrom("task").selectAll().where("id", "=", taskId).executeTakeFirstOrThrow();
  const entityType = task.entity_id
    ? await db
        .selectFrom("entity")
        .innerJoin("entity_type", "entity_type.id", "entity.entity_type_id")
        .select("entity_type.name")
        .where("entity.id", "=", task.entity_id)
        .executeTakeFirst()
    : undefined;
  const comments = await db
    .selectFrom("comment")
    .innerJoin("task_status", "task_status.id", "comment.task_status_id")
    .select([
      "comment.created_at", "comment.task_status_id", "task_status.is_retake", "task_status.is_feedback_request",
      "task_status.is_done", "task_status.is_wip", "task_status.short_name",
    ])
    .where("comment.object_id", "=", taskId)
    .orderBy("comment.created_at")
    .execute();
  let retakeCount = 0;
  let previousIsRetake = false;
  let realStartDate: string | null = null;
  let lastCommentDate: string | null = null;
  let endDate: string | null = null;
  let doneDate: string | null = null;
  let statusId = (await defaultTaskStatus(db, entityType?.name === "Concept")).id;
  let previousIsDone = false;
  for (const comment of comments) {
    const retake = isTrue(comment.is_retake);
    if (retake && !previousIsRetake) retakeCount += 1;
    previousIsRetake = retake;
    if (!realStartDate && isWipStatus({ is_wip: comment.is_wip, short_name: comment.short_name } as TaskStatusRow)) {
      realStartDate = comment.created_at;
    }
    endDate = isTrue(comment.is_feedback_request) ? comment.created_at : null;
    const done = isTrue(comment.is_done);
    if (!done) doneDate = null;
    else if (!previousIsDone) doneDate = comment.created_at;
    previousIsDone = done;
    statusId = comment.task_status_id!;
    lastCommentDate = comment.created_at;
  }
  const duration = await db
    .selectFrom("time_spent")
    .select((eb) => eb.fn.sum<number>("duration").as("total"))
    .where("task_id", "=", taskId)
    .executeTakeFirst();
  const seconds = (value: string | null) => (value ? value.slice(0, 19) : null);
  return updateTaskValues(c, task, {
    duration: Number(duration?.total ?? 0),
    retake_count: retakeCount,
    real_start_date: seconds(realStartDate),
    last_comment_date: seconds(lastCommentDate),
    end_date: seconds(endDate),
    done_date: seconds(doneDate),
    task_status_id: statusId,
  });
}

// ---------------------------------------------------------------------------------------------
// Deletion

/**
 * Deletes a preview file row: entity thumbnails and news pointing at it are cleared, its comment
 * links removed, the task's last preview moves to the newest remaining one; stored files are
 * removed when REMOVE_FILES is on or `force`. Emits `preview-file:delete`.
 */
export async function removePreviewFile(c: AppContext, previewId: string, force = false): Promise<void> {
  const db = c.get("db");
  const preview = await db.selectFrom("preview_file").selectAll().where("id", "=", previewId).executeTakeFirst();
  if (!preview) return;
  const task = preview.task_id ? await db.selectFrom("task").selectAll().where("id", "=", preview.task_id).executeTakeFirst() : undefined;
  const entities = await db.selectFrom("entity").select(["id", "entity_type_id"]).where("preview_file_id", "=", previewId).execute();
  if (entities.length > 0) await db.updateTable("entity").set({ preview_file_id: null }).where("preview_file_id", "=", previewId).execute();
  await db.updateTable("news").set({ preview_file_id: null }).where("preview_file_id", "=", previewId).execute();
  await db.updateTable("comment").set({ preview_file_id: null }).where("preview_file_id", "=", previewId).execute();
  await db.deleteFrom("comment_preview_link").where("preview_file", "=", previewId).execute();
  await db.deleteFrom("preview_file").where("id", "=", previewId).execute();
  if (task && task.last_preview_file_id === previewId) {
    const next = await db
      .selectFrom("preview_file")
      .select("id")
      .where("task_id", "=", task.id)
      .orderBy("revision", descNullsFirst)
      .orderBy("created_at", "desc")
      .executeTakeFirst();
    await db.updateTable("task").set({ last_preview_file_id: next?.id ?? null }).where("id", "=", task.id).execute();
  }
  await forgetStoredFiles(c, "preview_file", [previewId], { force });
  await emit(c, "preview-file:delete", { preview_file_id: previewId }, task?.project_id ?? null);
}

/** Deletes a comment with its notifications, news, attachments and previews; emits `comment:delete`. */
export async function removeCommentRow(c: AppContext, comment: { id: string; object_id: string }, projectId: string | null): Promise<void> {
  const db = c.get("db");
  await deleteCommentNotifications(c, comment.id);
  await deleteCommentNews(c, comment.id, projectId);
  const attachments = await db.selectFrom("attachment_file").select("id").where("comment_id", "=", comment.id).execute();
  for (const attachment of attachments) await removeAttachmentFile(c, attachment.id);
  const previews = await db.selectFrom("comment_preview_link").select("preview_file").where("comment", "=", comment.id).execute();
  for (const link of previews) await removePreviewFile(c, link.preview_file);
  for (const table of ["comment_mentions", "comment_department_mentions", "comment_acknoledgments", "comment_preview_link"] as const) {
    await db.deleteFrom(table).where("comment", "=", comment.id).execute();
  }
  await db.deleteFrom("comment").where("id", "=", comment.id).execute();
  await emit(c, "comment:delete", { comment_id: comment.id }, projectId);
}

/**
 * Deletes a task. With `force`, everything tied to it goes first (working/output files, comments
 * with their news and notifications, subscriptions, previews, time spents, notifications, news,
 * schedule links); without it, remaining references make it a 400. Emits `task:delete`.
 */
export async function removeTask(c: AppContext, task: TaskRow, force: boolean): Promise<void> {
  const db = c.get("db");
  if (force) {
    const workingFiles = await db.selectFrom("working_file").select("id").where("task_id", "=", task.id).execute();
    for (const chunk of chunks(workingFiles.map((w) => w.id))) {
      await db.updateTable("preview_file").set({ source_file_id: null }).where("source_file_id", "in",
        db.selectFrom("output_file").select("id").where("source_file_id", "in", chunk)).execute();
      await db.deleteFrom("output_file").where("source_file_id", "in", chunk).execute();
    }
    await db.deleteFrom("working_file").where("task_id", "=", task.id).execute();
    await forgetStoredFiles(c, "working_file", workingFiles.map((w) => w.id));
    const comments = await db.selectFrom("comment").select(["id", "object_id"]).where("object_id", "=", task.id).execute();
    for (const comment of comments) await removeCommentRow(c, comment, task.project_id);
    await db.deleteFrom("subscription").where("task_id", "=", task.id).execute();
    const previews = await db.selectFrom("preview_file").select("id").where("task_id", "=", task.id).execute();
    for (const preview of previews) await removePreviewFile(c, preview.id);
    await db.deleteFrom("time_spent").where("task_id", "=", task.id).execute();
    await db.deleteFrom("notification").where("task_id", "=", task.id).execute();
    await db.deleteFrom("news").where("task_id", "=", task.id).execute();
  }
  await db.deleteFrom("task_person_link").where("task_id", "=", task.id).execute();
  await db.deleteFrom("task").where("id", "=", task.id).execute();
  await emit(c, "task:delete", { task_id: task.id, entity_id: task.entity_id, task_type_id: task.task_type_id }, task.project_id);
}

// ---------------------------------------------------------------------------------------------
// Task dicts of entity routes (detailed listings: todo-lists.ts, open-tasks.ts)

/** Tasks joined with their project, task type, task status, entity and entity type. */
export function joinedTaskQuery(db: Db) {
  return db
    .selectFrom("task")
    .innerJoin("project", "project.id", "task.project_id")
    .innerJoin("task_type", "task_type.id", "task.task_type_id")
    .innerJoin("task_status", "task_status.id", "task.task_status_id")
    .innerJoin("entity", "entity.id", "task.entity_id")
    .innerJoin("entity_type", "entity_type.id", "entity.entity_type_id");
}

/**
 * Zou's task dicts of entity routes (task + project_name, task_type_name, task_status_name,
 * entity_type_name, entity_name) for the tasks `scope` selects on joinedTaskQuery, sorted by
 * those names case-insensitively; with `relations`, the assignee ids; with `assignedTo`, only
 * that person's tasks.
 */
export async function taskDicts(
  c: AppContext,
  scope: (q: AnySelect) => AnySelect,
  options: { relations?: boolean; assignedTo?: string } = {},
): Promise<Dict[]> {
  const db = c.get("db");
  let q = scope(
    joinedTaskQuery(db)
      .selectAll("task")
      .select([
        "project.name as __project_name",
        "task_type.name as __task_type_name",
        "task_status.name as __task_status_name",
        "entity_type.name as __entity_type_name",
        "entity.name as __entity_name",
      ]) as AnySelect,
  );
  const assignedTo = options.assignedTo;
  if (assignedTo) q = q.where("task.id", "in", (eb: any) => eb.selectFrom("task_person_link").select("task_id").where("person_id", "=", assignedTo));
  const rows = (await q.execute()) as Dict[];
  const dicts = rows.map((row) => ({
    ...serialize("task", row),
    project_name: row.__project_name,
    task_type_name: row.__task_type_name,
    task_status_name: row.__task_status_name,
    entity_type_name: row.__entity_type_name,
    entity_name: row.__entity_name,
  })) as Dict[];
  const fold = (value: unknown) => String(value ?? "").toLowerCase();
  dicts.sort((a, b) => {
    for (const key of ["name", "project_name", "task_type_name", "entity_type_name", "entity_name"]) {
      const left = fold(a[key]);
      const right = fold(b[key]);
      if (left !== right) return left < right ? -1 : 1;
    }
    return 0;
  });
  if (options.relations && dicts.length > 0) {
    const assignees = await assigneesByTask(db, dicts.map((d) => d.id as string));
    for (const dict of dicts) dict.assignees = assignees.get(dict.id as string) ?? [];
  }
  return dicts;
}

/** Ids of open projects (status "Open"). */
export async function openProjectIds(db: Db): Promise<string[]> {
  const rows = await db
    .selectFrom("project")
    .innerJoin("project_status", "project_status.id", "project.project_status_id")
    .select("project.id")
    .where("project_status.name", "=", "Open")
    .execute();
  return rows.map((r) => r.id);
}

/** Among `projectIds`, those where the caller's effective role is vendor (one query). */
export async function vendorProjectIds(c: AppContext, projectIds: string[]): Promise<string[]> {
  const user = c.get("user");
  if (isAdmin(user) || projectIds.length === 0) return [];
  const links = await c
    .get("db")
    .selectFrom("project_person_link")
    .select(["project_id", "role"])
    .where("person_id", "=", user.id)
    .where("project_id", "in", projectIds)
    .execute();
  return links.filter((link) => (link.role && link.role !== "admin" ? link.role : user.role) === "vendor").map((link) => link.project_id);
}

/** Open projects visible to the caller: all for admins, else the open ones they belong to. */
export async function visibleOpenProjectIds(c: AppContext): Promise<string[]> {
  return isAdmin(c.get("user")) ? openProjectIds(c.get("db")) : openMemberProjectIds(c);
}

/** `YYYY-MM-DD HH:MM:SS` (Python's str() of a datetime), null for no date. */
function spacedDate(value: string | null | undefined): string | null {
  if (!value) return null;
  const text = String(value);
  return text.length >= 19 ? `${text.slice(0, 10)} ${text.slice(11, 19)}` : text.length === 10 ? `${text} 00:00:00` : text;
}

/**
 * For each active person with assigned tasks: first start date and last due date of their tasks in
 * the projects the caller may see, plus anonymous merged busy periods for work elsewhere.
 */
export async function personsTaskDates(c: AppContext, projectId: string | null): Promise<Dict[]> {
  const db = c.get("db");
  const user = c.get("user");
  const admin = isAdmin(user);
  let visible: string[];
  if (projectId) {
    if (!admin) {
      const role = await checkProjectAccess(c, projectId);
      if (role !== "manager" && role !== "supervisor") throw forbidden();
    } else {
      await getProject(c, projectId);
    }
    visible = [projectId];
  } else {
    if (!admin && user.role !== "manager" && user.role !== "supervisor") throw forbidden();
    const open = await openProjectIds(db);
    visible = admin ? open : (await memberProjectIds(c)).filter((id) => open.includes(id));
  }
  const openIds = await openProjectIds(db);
  const scope = [...new Set([...visible, ...(admin && !projectId ? [] : openIds)])];
  if (scope.length === 0) return [];
  const rows = await db
    .selectFrom("task")
    .innerJoin("task_person_link", "task_person_link.task_id", "task.id")
    .innerJoin("person", "person.id", "task_person_link.person_id")
    .select(["task_person_link.person_id", "task.project_id", "task.start_date", "task.due_date", "task.end_date"])
    .where("person.active", "=", true)
    .where("task.project_id", "in", scope)
    .execute();
  const byPerson = new Map<string, { min: string | null; max: string | null; visible: boolean; busy: [string, string][] }>();
  for (const row of rows) {
    const entry = byPerson.get(row.person_id) ?? { min: null, max: null, visible: false, busy: [] };
    byPerson.set(row.person_id, entry);
    // Zou takes the last due date only (max(Task.due_date)); end_date is not a planned date.
    const end = row.due_date;
    if (visible.includes(row.project_id!)) {
      entry.visible = true;
      if (row.start_date && (!entry.min || row.start_date < entry.min)) entry.min = row.start_date;
      if (end && (!entry.max || end > entry.max)) entry.max = end;
    } else if (!admin && row.start_date && end) {
      entry.busy.push([row.start_date, end]);
    }
  }
  const result: Dict[] = [];
  for (const [personId, entry] of byPerson) {
    if (!entry.visible && entry.busy.length === 0) continue;
    const periods = entry.busy.sort((a, b) => a[0].localeCompare(b[0]));
    const merged: [string, string][] = [];
    for (const period of periods) {
      const last = merged[merged.length - 1];
      if (last && period[0] <= last[1]) {
        if (period[1] > last[1]) last[1] = period[1];
      } else merged.push([period[0], period[1]]);
    }
    result.push({
      person_id: personId,
      // Zou writes str(date) for a person with visible tasks: the text "None" when no task has that date.
      min_date: entry.visible ? (spacedDate(entry.min) ?? "None") : null,
      max_date: entry.visible ? (spacedDate(entry.max) ?? "None") : null,
      busy_periods: merged.map(([start, end]) => ({ start_date: spacedDate(start), end_date: spacedDate(end) })),
    });
  }
  return result;
}

/**
 * `GET /data/tasks/<id>/full`: the task with its assignees (`persons`), type, status, entity,
 * project, whether the caller is subscribed to it, its assigner (with department ids), and the
 * entity's sequence and episode.
 */
export async function fullTask(c: AppContext, task: TaskRow): Promise<Dict> {
  const db = c.get("db");
  const assignees = (await assigneesByTask(db, [task.id])).get(task.id) ?? [];
  const dict = presentTask(task, assignees);
  const taskType = task.task_type_id ? await db.selectFrom("task_type").selectAll().where("id", "=", task.task_type_id).executeTakeFirst() : undefined;
  const taskStatus = task.task_status_id ? await db.selectFrom("task_status").selectAll().where("id", "=", task.task_status_id).executeTakeFirst() : undefined;
  const project = task.project_id ? await db.selectFrom("project").selectAll().where("id", "=", task.project_id).executeTakeFirst() : undefined;
  const entity = task.entity_id ? await db.selectFrom("entity").selectAll().where("id", "=", task.entity_id).executeTakeFirst() : undefined;
  const entityType = entity ? await db.selectFrom("entity_type").selectAll().where("id", "=", entity.entity_type_id).executeTakeFirst() : undefined;
  const persons = assignees.length > 0 ? await db.selectFrom("person").selectAll().where("id", "in", assignees).execute() : [];
  Object.assign(dict, {
    entity: entity ? serialize("entity", entity, { typeName: entityKind(entityType?.name) }) : null,
    task_type: taskType ? serialize("task_type", taskType) : null,
    task_status: taskStatus ? serialize("task_status", taskStatus) : null,
    project: project ? serialize("project", project) : null,
    entity_type: entityType ? serialize("entity_type", entityType) : null,
    persons: persons.map((person) => presentPerson(c, person, "full")),
    type: "Task",
  });
  dict.is_subscribed = await isSubscribedToTask(db, c.get("user").id, task.id);
  if (task.assigner_id) {
    const assigner = await presentPersonById(db, task.assigner_id, "full", { withDepartments: true });
    if (assigner) dict.assigner = assigner;
  }
  if (entity?.parent_id) {
    let episodeId: string | null;
    const kind = entityKind(entityType?.name);
    if (kind === "Shot" || kind === "Scene") {
      const sequence = await db.selectFrom("entity").selectAll().where("id", "=", entity.parent_id).executeTakeFirst();
      if (sequence) dict.sequence = serialize("entity", sequence, { typeName: "Sequence" });
      episodeId = sequence?.parent_id ?? null;
    } else {
      // A sequence is its own sequence; other kinds (edits) hang directly under an episode.
      if (kind === "Sequence") dict.sequence = serialize("entity", entity, { typeName: "Sequence" });
      episodeId = entity.parent_id;
    }
    if (episodeId) {
      const episode = await db.selectFrom("entity").selectAll().where("id", "=", episodeId).executeTakeFirst();
      if (episode) dict.episode = serialize("entity", episode, { typeName: "Episode" });
    }
  }
  return dict;
}

/** Parses a positive integer query parameter (400 otherwise). */
export function intParam(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const number = Number(value);
  if (!Number.isInteger(number)) throw badRequest(`${name} must be an integer.`);
  return number;
}
