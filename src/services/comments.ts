/**
 * Comments on tasks: who may read and write them (permissions.md §3, §4.4, §5), creation with the
 * status change and its side effects (events.md §9), replies, acknowledgements, edits, deletion,
 * moves, status automations, and the JSON shapes Kitsu reads (kitsu-client.md §3).
 */
import type { Selectable } from "kysely";
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import type { CommentTable } from "../db/tables.generated";
import { isTrue, serialize, parseJson } from "../db/serialize";
import { loadServiceRow } from "../db/rows";
import { badRequest, forbidden, notFound } from "../lib/errors";
import { chunks } from "../lib/chunks";
import { newId, parseDateTimeInput, preciseNow, serviceId, utcNow } from "../lib/ids";
import {
  checkProjectAccess,
  checkTaskAccess,
  checkTaskActionAccess,
  effectiveRole,
  isAdmin,
  isMember,
  userDepartmentIds,
  type Role,
} from "./permissions";
import {
  assigneesByTask,
  emit,
  entityKind,
  getTask,
  removeCommentRow,
  removePreviewFile,
  resetTaskData,
  statusChangeValues,
  updateTaskValues,
  type Dict,
  type TaskRow,
  type TaskStatusRow,
} from "./tasks";
import {
  createNewsForComment,
  deleteCommentNews,
  deleteCommentNotifications,
  deleteReplyNotifications,
  findMentions,
  notifyComment,
  notifyReply,
  resetMentionNotifications,
  type Reply,
} from "./notifications";
import { presentAttachment, storeAttachment, removeAttachmentFile, type UploadedFile } from "./attachments";
import { ascNullsLast } from "../db/order";
import { presentPersonById, presentPersonsById } from "./persons";

export type CommentRow = Selectable<CommentTable>;

// ---------------------------------------------------------------------------------------------
// Loading

export async function getComment(c: AppContext, rawId: string | undefined): Promise<CommentRow> {
  return (await loadServiceRow(c.get("db"), "comment", rawId)) as CommentRow;
}

/** A comment that must be on the task of the path (404 otherwise). */
export async function getTaskComment(c: AppContext, task: TaskRow, rawId: string | undefined): Promise<CommentRow> {
  const comment = await getComment(c, rawId);
  if (comment.object_id !== task.id) throw notFound();
  return comment;
}

export function commentReplies(comment: Pick<CommentRow, "replies">): Reply[] {
  const replies = parseJson(comment.replies);
  return Array.isArray(replies) ? (replies as Reply[]) : [];
}

// ---------------------------------------------------------------------------------------------
// Roles

/** Effective project roles of persons on a project (link role, else global role). */
export async function projectRolesOf(db: Db, projectId: string | null, personIds: string[]): Promise<Map<string, string>> {
  const roles = new Map<string, string>();
  const ids = [...new Set(personIds)];
  for (const chunk of chunks(ids)) {
    const rows = await db.selectFrom("person").select(["id", "role"]).where("id", "in", chunk).execute();
    for (const row of rows) roles.set(row.id, row.role);
    if (projectId) {
      const links = await db
        .selectFrom("project_person_link")
        .select(["person_id", "role"])
        .where("project_id", "=", projectId)
        .where("person_id", "in", chunk)
        .execute();
      for (const link of links) {
        if (link.role && link.role !== "admin" && roles.get(link.person_id) !== "admin") roles.set(link.person_id, link.role);
      }
    }
  }
  return roles;
}

async function isClientsIsolated(db: Db, projectId: string | null): Promise<boolean> {
  if (!projectId) return false;
  const project = await db.selectFrom("project").select("is_clients_isolated").where("id", "=", projectId).executeTakeFirst();
  return isTrue(project?.is_clients_isolated);
}

/**
 * `check_comment_access(C)`: admin; else task access, then supervisor/manager yes; client only
 * client-authored or for_client comments (own or for_client when clients are isolated); others
 * never client-authored comments. Returns the caller's effective role.
 */
export async function checkCommentAccess(c: AppContext, comment: CommentRow, task: TaskRow): Promise<Role> {
  if (isAdmin(c.get("user"))) return "admin";
  const role = await checkTaskAccess(c, { project_id: task.project_id!, entity_id: task.entity_id! });
  if (role === "manager" || role === "supervisor") return role;
  const db = c.get("db");
  const authorRole = (await projectRolesOf(db, task.project_id, [comment.person_id])).get(comment.person_id);
  const forClient = isTrue(comment.for_client);
  if (role === "client") {
    if ((await isClientsIsolated(db, task.project_id)) && !(comment.person_id === c.get("user").id || forClient)) throw forbidden();
    if (!(authorRole === "client" || forClient)) throw forbidden();
    return role;
  }
  if (authorRole === "client") throw forbidden();
  return role;
}

/**
 * `check_task_mention_access(T)`: member, not vendor, and mentioned in the task's conversation
 * (by name or department, in a comment or a reply).
 */
export async function isMentionedOnTask(c: AppContext, task: TaskRow): Promise<boolean> {
  if (!task.project_id || !(await isMember(c, task.project_id))) return false;
  if ((await effectiveRole(c, task.project_id)) === "vendor") return false;
  const db = c.get("db");
  const user = c.get("user");
  const departments = await userDepartmentIds(c);
  const byName = await db
    .selectFrom("comment_mentions")
    .innerJoin("comment", "comment.id", "comment_mentions.comment")
    .select("comment.id")
    .where("comment.object_id", "=", task.id)
    .where("comment_mentions.person", "=", user.id)
    .executeTakeFirst();
  if (byName) return true;
  if (departments.length > 0) {
    const byDepartment = await db
      .selectFrom("comment_department_mentions")
      .innerJoin("comment", "comment.id", "comment_department_mentions.comment")
      .select("comment.id")
      .where("comment.object_id", "=", task.id)
      .where("comment_department_mentions.department", "in", departments)
      .executeTakeFirst();
    if (byDepartment) return true;
  }
  const withReplies = await db.selectFrom("comment").select("replies").where("object_id", "=", task.id).execute();
  for (const row of withReplies) {
    for (const reply of commentReplies(row)) {
      if ((reply.mentions ?? []).includes(user.id)) return true;
      if ((reply.department_mentions ?? []).some((d) => departments.includes(d))) return true;
    }
  }
  return false;
}

/** `check_task_status_access(S)`: artists only `is_artist_allowed`, clients only `is_client_allowed`. */
export function checkStatusAccess(role: Role, status: TaskStatusRow): void {
  if (role === "user" && status.is_artist_allowed !== null && !isTrue(status.is_artist_allowed)) throw forbidden();
  if (role === "client" && status.is_client_allowed !== null && !isTrue(status.is_client_allowed)) throw forbidden();
}

/**
 * May the caller comment the task with that status? Task action rights, or (mentioned in the
 * conversation) a comment keeping the current status; then the status must be allowed for the role.
 */
export async function checkCanComment(c: AppContext, task: TaskRow, status: TaskStatusRow): Promise<Role> {
  const taskRef = { id: task.id, project_id: task.project_id!, entity_id: task.entity_id!, task_type_id: task.task_type_id! };
  let role: Role;
  try {
    role = await checkTaskActionAccess(c, taskRef);
  } catch (error) {
    if (status.id !== task.task_status_id || !(await isMentionedOnTask(c, task))) throw error;
    role = await effectiveRole(c, task.project_id);
  }
  checkStatusAccess(role, status);
  return role;
}

// ---------------------------------------------------------------------------------------------
// Presenting

interface PreviewSummary {
  id: string;
  task_id: string | null;
  revision: number | null;
  extension: string | null;
  status: string;
  validation_status: string;
  original_name: string | null;
  position: number | null;
  annotations: unknown;
  width: number | null;
  height: number | null;
  duration: number | null;
}

const numberOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

async function commentLinks(db: Db, commentIds: string[]) {
  const acknowledgements = new Map<string, string[]>();
  const mentions = new Map<string, string[]>();
  const departmentMentions = new Map<string, string[]>();
  const previews = new Map<string, PreviewSummary[]>();
  const attachments = new Map<string, ReturnType<typeof presentAttachment>[]>();
  const push = <T>(map: Map<string, T[]>, key: string, value: T) => map.set(key, [...(map.get(key) ?? []), value]);
  for (const chunk of chunks(commentIds)) {
    for (const row of await db.selectFrom("comment_acknoledgments").selectAll().where("comment", "in", chunk).execute()) push(acknowledgements, row.comment, row.person);
    for (const row of await db.selectFrom("comment_mentions").selectAll().where("comment", "in", chunk).execute()) push(mentions, row.comment, row.person);
    for (const row of await db.selectFrom("comment_department_mentions").selectAll().where("comment", "in", chunk).execute()) push(departmentMentions, row.comment, row.department);
    const previewRows = await db
      .selectFrom("comment_preview_link")
      .innerJoin("preview_file", "preview_file.id", "comment_preview_link.preview_file")
      .select([
        "comment_preview_link.comment", "preview_file.id", "preview_file.task_id", "preview_file.revision", "preview_file.extension",
        "preview_file.status", "preview_file.validation_status", "preview_file.original_name", "preview_file.position", "preview_file.annotations",
        "preview_file.width", "preview_file.height", "preview_file.duration",
      ])
      .where("comment_preview_link.comment", "in", chunk)
      .orderBy("preview_file.position", ascNullsLast)
      .execute();
    for (const row of previewRows) {
      push(previews, row.comment, {
        id: row.id, task_id: row.task_id, revision: row.revision === null ? null : Number(row.revision), extension: row.extension,
        status: row.status ?? "ready", validation_status: row.validation_status ?? "neutral", original_name: row.original_name,
        position: row.position === null ? null : Number(row.position), annotations: parseJson(row.annotations) ?? null,
        width: numberOrNull(row.width), height: numberOrNull(row.height), duration: numberOrNull(row.duration),
      });
    }
    const attachmentRows = await db
      .selectFrom("attachment_file")
      .select(["id", "name", "extension", "size", "comment_id"])
      .where("comment_id", "in", chunk)
      .orderBy("created_at")
      .execute();
    for (const row of attachmentRows) push(attachments, row.comment_id!, presentAttachment(row));
  }
  return { acknowledgements, mentions, departmentMentions, previews, attachments };
}

/** Comments serialized with relations as id lists (Zou's `serialize(relations=True)`), batched. */
export async function serializeCommentsWithRelations(db: Db, rows: CommentRow[]): Promise<Dict[]> {
  const links = await commentLinks(db, rows.map((row) => row.id));
  return rows.map((row) => ({
    ...serialize("comment", row),
    previews: (links.previews.get(row.id) ?? []).map((p) => p.id),
    mentions: links.mentions.get(row.id) ?? [],
    department_mentions: links.departmentMentions.get(row.id) ?? [],
    acknowledgements: links.acknowledgements.get(row.id) ?? [],
    attachment_files: (links.attachments.get(row.id) ?? []).map((a) => a.id),
  }));
}

/** After a change of a task's comments: its data recomputed, `task:status-changed` when the status moved. */
async function resetTaskAfterCommentChange(c: AppContext, task: TaskRow, personId: string): Promise<void> {
  const updated = await resetTaskData(c, task.id);
  if (updated.task_status_id !== task.task_status_id) {
    await emit(c, "task:status-changed", {
      task_id: task.id, new_task_status_id: updated.task_status_id, previous_task_status_id: task.task_status_id, person_id: personId,
    }, task.project_id);
  }
}

/**
 * `GET /data/tasks/<id>/comments`: newest first, each with `person`, `task_status`,
 * acknowledgements, previews, mentions, department mentions and attachments, filtered for the
 * caller's role (permissions.md §5).
 */
export async function listTaskComments(c: AppContext, task: TaskRow, role: Role): Promise<Dict[]> {
  const db = c.get("db");
  const rows = await db
    .selectFrom("comment")
    .leftJoin("task_status", "task_status.id", "comment.task_status_id")
    .selectAll("comment")
    .select(["task_status.name as ts_name", "task_status.short_name as ts_short_name", "task_status.color as ts_color"])
    .where("comment.object_id", "=", task.id)
    .orderBy("comment.created_at", "desc")
    .execute();
  if (rows.length === 0) return [];
  const isClient = role === "client";
  const seesAll = role === "admin" || role === "manager" || role === "supervisor";
  const authorIds = rows.flatMap((row) => [row.person_id, ...commentReplies(row).map((r) => r.person_id)]);
  const roles = await projectRolesOf(db, task.project_id, authorIds);
  const persons = await presentPersonsById(db, authorIds, "author");
  const links = await commentLinks(db, rows.map((r) => r.id));
  const isolated = isClient && (await isClientsIsolated(db, task.project_id));
  const userId = c.get("user").id;
  const result: Dict[] = [];
  for (const row of rows) {
    const authorIsClient = roles.get(row.person_id) === "client";
    const forClient = isTrue(row.for_client);
    if (!seesAll && !isClient && authorIsClient) continue;
    const { ts_name, ts_short_name, ts_color, ...commentRow } = row;
    const dict = serialize("comment", commentRow);
    const person = persons.get(row.person_id);
    dict.person = person ?? null;
    dict.task_status = { name: ts_name, short_name: ts_short_name, color: ts_color, id: row.task_status_id };
    dict.acknowledgements = links.acknowledgements.get(row.id) ?? [];
    dict.mentions = links.mentions.get(row.id) ?? [];
    dict.department_mentions = links.departmentMentions.get(row.id) ?? [];
    let previews = links.previews.get(row.id) ?? [];
    if (isClient) previews = previews.filter((p) => p.validation_status !== "rejected");
    dict.previews = previews;
    dict.attachment_files = links.attachments.get(row.id) ?? [];
    dict.replies = commentReplies(row);
    if (isClient) {
      const allowed = forClient || (isolated ? row.person_id === userId : authorIsClient);
      const hasPreviews = (links.previews.get(row.id) ?? []).length > 0;
      if (!allowed && !(hasPreviews && !authorIsClient)) continue;
      if (!allowed) {
        dict.text = "";
        dict.attachment_files = [];
        dict.checklist = [];
        dict.replies = [];
      }
      hideStudioPeople(dict, roles);
    }
    result.push(dict);
  }
  return result;
}

/** For client readers: studio authors, editors and reply authors become null. */
function hideStudioPeople(dict: Dict, roles: Map<string, string>): void {
  if (roles.get(String(dict.person_id)) !== "client") dict.person = null;
  if (dict.editor_id && roles.get(String(dict.editor_id)) !== "client") {
    dict.editor_id = null;
    if ("editor" in dict) dict.editor = null;
  }
  if (Array.isArray(dict.replies)) {
    dict.replies = (dict.replies as Dict[]).map((reply) =>
      roles.get(String(reply.person_id)) === "client" ? reply : { ...reply, person_id: null, person: null },
    );
  }
}

/**
 * `GET /data/tasks/<task>/comments/<comment>`: the comment row alone with its stored replies (Zou
 * serializes it without relations); `?with_previews=true` gives the related form with previews.
 */
export async function presentTaskComment(c: AppContext, row: CommentRow, options: { withPreviews: boolean; role: Role }): Promise<Dict> {
  if (options.withPreviews) return presentComment(c, row, options);
  const dict = serialize("comment", row);
  dict.replies = commentReplies(row);
  if (options.role === "client") {
    const task = await c.get("db").selectFrom("task").select("project_id").where("id", "=", row.object_id).executeTakeFirst();
    const ids = [row.person_id, row.editor_id, ...commentReplies(row).map((reply) => reply.person_id)].filter((id): id is string => Boolean(id));
    hideStudioPeople(dict, await projectRolesOf(c.get("db"), task?.project_id ?? null, ids));
    delete dict.person;
  }
  return dict;
}

/**
 * A single comment as the crud and task routes answer it: relations as id lists (default),
 * `person` (short author), attachment dicts, reply authors; `?with_previews=true` expands previews.
 */
export async function presentComment(
  c: AppContext,
  row: CommentRow,
  options: { relations?: boolean; withPreviews?: boolean; role?: Role } = {},
): Promise<Dict> {
  const db = c.get("db");
  const dict = serialize("comment", row);
  const links = await commentLinks(db, [row.id]);
  const replies = commentReplies(row);
  const persons = await presentPersonsById(db, [row.person_id, ...replies.map((r) => r.person_id), row.editor_id], "author");
  if (options.relations !== false) {
    dict.acknowledgements = links.acknowledgements.get(row.id) ?? [];
    dict.mentions = links.mentions.get(row.id) ?? [];
    dict.department_mentions = links.departmentMentions.get(row.id) ?? [];
    const previews = links.previews.get(row.id) ?? [];
    dict.previews = options.withPreviews ? previews : previews.map((p) => p.id);
    dict.attachment_files = links.attachments.get(row.id) ?? [];
  }
  dict.person = persons.get(row.person_id) ?? null;
  dict.replies = replies.map((reply) => ({ ...reply, person: persons.get(reply.person_id) ?? null }));
  if (options.role === "client") {
    const task = await db.selectFrom("task").select("project_id").where("id", "=", row.object_id).executeTakeFirst();
    const roles = await projectRolesOf(db, task?.project_id ?? null, [...persons.keys()]);
    hideStudioPeople(dict, roles);
  }
  return dict;
}

// ---------------------------------------------------------------------------------------------
// Creating comments

export interface NewComment {
  task: TaskRow;
  status: TaskStatusRow;
  text: string;
  personId: string;
  checklist?: unknown;
  links?: unknown;
  forClient?: boolean;
  createdAt?: string | null;
  files?: UploadedFile[];
  /** The returned `person` carries its department ids (comment-many answers so, a single comment does not). */
  authorWithDepartments?: boolean;
  /** Copy onto sibling tasks named by `#<task type>` / `#all` (only for comments typed by people). */
  hashtags?: boolean;
}

const MAX_AUTOMATION_DEPTH = 8;


/** `created_at` sent by managers: `YYYY-MM-DD HH:MM:SS` or ISO; unparsable → now. */
export function commentDate(value: unknown): string | null {
  if (typeof value !== "string" || value.trim() === "") return null;
  return parseDateTimeInput(value.trim());
}

/** 400 when the status is a retake and the task reached the project's (or entity's) max retakes. */
async function checkRetakeCapping(db: Db, task: TaskRow, status: TaskStatusRow): Promise<void> {
  if (!isTrue(status.is_retake) || !task.project_id) return;
  const project = await db.selectFrom("project").select("max_retakes").where("id", "=", task.project_id).executeTakeFirst();
  const projectMax = Number(project?.max_retakes ?? 0);
  if (projectMax <= 0) return;
  const entity = task.entity_id ? await db.selectFrom("entity").select("data").where("id", "=", task.entity_id).executeTakeFirst() : undefined;
  const data = (parseJson(entity?.data) as Record<string, unknown> | null) ?? {};
  const maxRetakes = Number(data.max_retakes || projectMax);
  if (maxRetakes > 0 && Number(task.retake_count ?? 0) >= maxRetakes) throw badRequest("No more retakes allowed on this task");
}

async function setMentionLinks(db: Db, commentId: string, mentions: { personIds: string[]; departmentIds: string[] }): Promise<void> {
  await db.deleteFrom("comment_mentions").where("comment", "=", commentId).execute();
  await db.deleteFrom("comment_department_mentions").where("comment", "=", commentId).execute();
  if (mentions.personIds.length > 0) {
    await db.insertInto("comment_mentions").values(mentions.personIds.map((person) => ({ comment: commentId, person }))).execute();
  }
  if (mentions.departmentIds.length > 0) {
    await db.insertInto("comment_department_mentions").values(mentions.departmentIds.map((department) => ({ comment: commentId, department }))).execute();
  }
}

/**
 * Creates a comment and everything that follows (events.md §9): row and mentions, attachments,
 * `comment:new`, hashtag copies, the task status change when it is the latest comment
 * (`task:update`, `task:status-changed`, `task:to-review`), notifications, news, and the
 * project's status automations. Returns the comment dict of `POST /actions/tasks/<id>/comment`.
 */
export async function createComment(c: AppContext, input: NewComment, depth = 0): Promise<Dict> {
  const db = c.get("db");
  const { task, status } = input;
  await checkRetakeCapping(db, task, status);
  const now = utcNow();
  const createdAt = input.createdAt ?? preciseNow();
  const mentions = await findMentions(db, task.project_id!, input.text);
  const row = {
    id: newId(),
    created_at: createdAt,
    updated_at: now,
    object_id: task.id,
    object_type: "Task",
    text: input.text,
    replies: "[]",
    checklist: JSON.stringify(Array.isArray(input.checklist) ? input.checklist : []),
    for_client: Boolean(input.forClient),
    links: JSON.stringify(Array.isArray(input.links) ? input.links.map(String) : []),
    task_status_id: status.id,
    person_id: input.personId,
  };
  await db.insertInto("comment").values(row as any).execute();
  await setMentionLinks(db, row.id, mentions);
  const attachments = [];
  for (const file of input.files ?? []) attachments.push(await storeAttachment(c, { commentId: row.id }, file));
  await emit(c, "comment:new", { comment_id: row.id, task_id: task.id, task_status_id: status.id }, task.project_id);

  if (input.hashtags) await copyToHashtaggedTasks(c, input, depth);

  const later = await db
    .selectFrom("comment")
    .select("id")
    .where("object_id", "=", task.id)
    .where("created_at", ">", createdAt)
    .executeTakeFirst();
  let changed = false;
  let updatedTask = task;
  if (!later) {
    const change = statusChangeValues(task, status, createdAt.slice(0, 19));
    changed = change.changed;
    updatedTask = await updateTaskValues(c, task, change.values);
    if (changed) {
      const payload = {
        task_id: task.id, new_task_status_id: status.id, previous_task_status_id: task.task_status_id, person_id: input.personId,
      };
      await emit(c, "task:status-changed", payload, task.project_id);
      if (isTrue(status.is_feedback_request)) await emit(c, "task:to-review", { ...payload, comment_id: row.id }, task.project_id);
    }
  }
  await notifyComment(c, updatedTask, row, mentions, changed);
  await createNewsForComment(c, updatedTask, row, changed);
  if (changed && depth < MAX_AUTOMATION_DEPTH) await runStatusAutomations(c, updatedTask, input.personId, depth);

  const stored = await db.selectFrom("comment").selectAll().where("id", "=", row.id).executeTakeFirstOrThrow();
  const dict = await presentComment(c, stored);
  dict.attachment_files = attachments;
  dict.task_status = serialize("task_status", status);
  dict.person = await presentPersonById(db, input.personId, "full", { withDepartments: input.authorWithDepartments });
  return dict;
}

/** `#<task type name>` / `#all` in a comment copy it onto sibling tasks of the same entity. */
async function copyToHashtaggedTasks(c: AppContext, input: NewComment, depth: number): Promise<void> {
  const tags = [...input.text.matchAll(/(?:^|\s)#([^\s#]+)/g)].map((match) => match[1]!.toLowerCase());
  if (tags.length === 0 || !input.task.entity_id) return;
  const db = c.get("db");
  const siblings = await db
    .selectFrom("task")
    .innerJoin("task_type", "task_type.id", "task.task_type_id")
    .innerJoin("task_status", "task_status.id", "task.task_status_id")
    .selectAll("task")
    .select("task_type.name as task_type_name")
    .where("task.entity_id", "=", input.task.entity_id)
    .where("task.id", "!=", input.task.id)
    .execute();
  for (const sibling of siblings) {
    const { task_type_name, ...taskRow } = sibling;
    if (!tags.includes("all") && !tags.includes(String(task_type_name).toLowerCase())) continue;
    const status = await db.selectFrom("task_status").selectAll().where("id", "=", taskRow.task_status_id!).executeTakeFirstOrThrow();
    await createComment(c, { ...input, task: taskRow as TaskRow, status, files: [], hashtags: false }, depth + 1);
  }
}

/**
 * Project status automations (models.md `status_automation`): when a task of type IN reaches
 * status IN, the entity's task of type OUT gets a comment with status OUT, or the asset becomes
 * ready for OUT. Rollbacks (IN after OUT in the project's task type order) are not applied.
 */
async function runStatusAutomations(c: AppContext, task: TaskRow, personId: string, depth: number): Promise<void> {
  const db = c.get("db");
  if (!task.project_id || !task.entity_id) return;
  const automations = await db
    .selectFrom("status_automation")
    .innerJoin("project_status_automation_link", "project_status_automation_link.status_automation_id", "status_automation.id")
    .selectAll("status_automation")
    .where("project_status_automation_link.project_id", "=", task.project_id)
    .where("status_automation.in_task_type_id", "=", task.task_type_id)
    .where("status_automation.in_task_status_id", "=", task.task_status_id)
    .execute();
  if (automations.length === 0) return;
  const entity = await db
    .selectFrom("entity")
    .innerJoin("entity_type", "entity_type.id", "entity.entity_type_id")
    .select(["entity.id", "entity_type.name as type_name"])
    .where("entity.id", "=", task.entity_id)
    .executeTakeFirstOrThrow();
  const kind = entityKind(entity.type_name).toLowerCase();
  const priorities = new Map<string, number>();
  const links = await db.selectFrom("project_task_type_link").select(["task_type_id", "priority"]).where("project_id", "=", task.project_id).execute();
  for (const link of links) priorities.set(link.task_type_id, Number(link.priority ?? 0));
  for (const automation of automations) {
    if (isTrue(automation.archived)) continue;
    if ((automation.entity_type ?? "asset").toLowerCase() !== kind) continue;
    if (automation.out_field_type === "ready_for") {
      if (kind !== "asset") continue;
      await db.updateTable("entity").set({ ready_for: automation.out_task_type_id, updated_at: utcNow() }).where("id", "=", entity.id).execute();
      await emit(c, "asset:update", { asset_id: entity.id, data: { ready_for: automation.out_task_type_id } }, task.project_id);
      continue;
    }
    const inPriority = priorities.get(automation.in_task_type_id ?? "") ?? 0;
    const outPriority = priorities.get(automation.out_task_type_id ?? "") ?? 0;
    if (inPriority > outPriority) continue;
    const target = await db
      .selectFrom("task")
      .selectAll()
      .where("entity_id", "=", entity.id)
      .where("task_type_id", "=", automation.out_task_type_id)
      .orderBy("name")
      .executeTakeFirst();
    const outStatus = automation.out_task_status_id
      ? await db.selectFrom("task_status").selectAll().where("id", "=", automation.out_task_status_id).executeTakeFirst()
      : undefined;
    if (!target || !outStatus) continue;
    const inType = await db.selectFrom("task_type").select("name").where("id", "=", automation.in_task_type_id!).executeTakeFirst();
    const inStatus = await db.selectFrom("task_status").select("name").where("id", "=", automation.in_task_status_id!).executeTakeFirst();
    await createComment(c, {
      task: target, status: outStatus, personId, text: `Change triggered by ${inType?.name ?? ""} set to ${inStatus?.name ?? ""}`,
    }, depth + 1);
  }
}

// ---------------------------------------------------------------------------------------------
// Editing, deleting, moving

/**
 * After `PUT /data/comments/<id>`: mentions recomputed from the text (mention notifications
 * recreated), the task data recomputed when the status changed (`task:status-changed`), and the
 * specific `comment:update` with the task id.
 */
export async function afterCommentEdit(c: AppContext, comment: CommentRow, previous: CommentRow): Promise<void> {
  const db = c.get("db");
  const task = await db.selectFrom("task").selectAll().where("id", "=", comment.object_id).executeTakeFirst();
  if (!task) return;
  const mentions = await findMentions(db, task.project_id!, comment.text);
  await setMentionLinks(db, comment.id, mentions);
  await resetMentionNotifications(c, task, comment, mentions);
  if (comment.task_status_id !== previous.task_status_id) await resetTaskAfterCommentChange(c, task, comment.person_id);
  await emit(c, "comment:update", { comment_id: comment.id, task_id: task.id }, task.project_id);
}

/** May the caller delete the comment? Manager (member) any; others only their own. */
export async function checkCommentDelete(c: AppContext, comment: CommentRow, task: TaskRow | undefined): Promise<void> {
  const user = c.get("user");
  if (isAdmin(user)) return;
  if (task?.project_id) {
    const member = await isMember(c, task.project_id);
    const role = member ? await effectiveRole(c, task.project_id) : user.role;
    if (role === "manager") {
      await checkProjectAccess(c, task.project_id);
      return;
    }
  }
  if (comment.person_id !== user.id) throw forbidden();
}

/** Deletes a comment and recomputes its task (status-changed when the status moved). */
export async function deleteComment(c: AppContext, comment: CommentRow): Promise<void> {
  const db = c.get("db");
  const task = await db.selectFrom("task").selectAll().where("id", "=", comment.object_id).executeTakeFirst();
  await removeCommentRow(c, comment, task?.project_id ?? null);
  if (task) await resetTaskAfterCommentChange(c, task, comment.person_id);
}

/**
 * Moves a comment onto a sibling task of the same entity: its previews follow, its notifications
 * and news are regenerated on the target (no status change), both tasks are recomputed.
 */
export async function moveComment(c: AppContext, comment: CommentRow, from: TaskRow, to: TaskRow): Promise<Dict> {
  const db = c.get("db");
  if (from.entity_id !== to.entity_id || from.id === to.id) throw badRequest("The target task must be another task of the same entity.");
  await db.updateTable("comment").set({ object_id: to.id, updated_at: utcNow() }).where("id", "=", comment.id).execute();
  const previews = await db.selectFrom("comment_preview_link").select("preview_file").where("comment", "=", comment.id).execute();
  if (previews.length > 0) {
    await db.updateTable("preview_file").set({ task_id: to.id }).where("id", "in", previews.map((p) => p.preview_file)).execute();
  }
  await deleteCommentNotifications(c, comment.id);
  await deleteCommentNews(c, comment.id, from.project_id);
  const moved = await db.selectFrom("comment").selectAll().where("id", "=", comment.id).executeTakeFirstOrThrow();
  await resetTaskData(c, from.id);
  const target = await resetTaskData(c, to.id);
  const mentions = await findMentions(db, to.project_id!, moved.text);
  await notifyComment(c, target, moved, mentions, false);
  await createNewsForComment(c, target, moved, false, previews[0]?.preview_file ?? null);
  await emit(c, "comment:update", { comment_id: comment.id, task_id: to.id }, to.project_id);
  return presentComment(c, moved);
}

// ---------------------------------------------------------------------------------------------
// Acknowledgements and replies

/** Toggles the caller's acknowledgement; returns the comment with relations. */
export async function toggleAcknowledgement(c: AppContext, comment: CommentRow, task: TaskRow): Promise<Dict> {
  const db = c.get("db");
  const userId = c.get("user").id;
  const existing = await db
    .selectFrom("comment_acknoledgments")
    .select("person")
    .where("comment", "=", comment.id)
    .where("person", "=", userId)
    .executeTakeFirst();
  if (existing) {
    await db.deleteFrom("comment_acknoledgments").where("comment", "=", comment.id).where("person", "=", userId).execute();
  } else {
    await db.insertInto("comment_acknoledgments").values({ comment: comment.id, person: userId }).execute();
  }
  await emit(c, existing ? "comment:unacknowledge" : "comment:acknowledge", { comment_id: comment.id, person_id: userId }, task.project_id);
  return (await serializeCommentsWithRelations(db, [comment]))[0]!;
}

/**
 * May the caller reply? The comment's author (member); else task action rights or a mention in
 * the conversation; clients must be allowed to read the comment and may not answer another
 * studio's client.
 */
export async function checkCanReply(c: AppContext, comment: CommentRow, task: TaskRow): Promise<void> {
  const user = c.get("user");
  if (isAdmin(user)) return;
  const role = await checkCommentAccess(c, comment, task);
  if (comment.person_id === user.id) return;
  if (role === "client") {
    const author = await c.get("db").selectFrom("person").select(["role", "studio_id"]).where("id", "=", comment.person_id).executeTakeFirst();
    if (author?.role === "client" && author.studio_id !== user.studio_id) throw forbidden();
    return;
  }
  try {
    await checkTaskActionAccess(c, { id: task.id, project_id: task.project_id!, entity_id: task.entity_id!, task_type_id: task.task_type_id! });
  } catch (error) {
    if (!(await isMentionedOnTask(c, task))) throw error;
  }
}

/** Appends a reply (with optional attachments), emits `comment:reply`, notifies. Returns the reply. */
export async function replyToComment(c: AppContext, comment: CommentRow, task: TaskRow, text: string, files: UploadedFile[] = []): Promise<Dict> {
  const db = c.get("db");
  const user = c.get("user");
  const mentions = await findMentions(db, task.project_id!, text);
  const now = utcNow();
  const stamp = preciseNow();
  const reply: Reply = {
    id: newId(), date: now, created_at: stamp.slice(0, 19), person_id: user.id, text,
    mentions: mentions.personIds, department_mentions: mentions.departmentIds,
  };
  const attachments = [];
  for (const file of files) attachments.push(await storeAttachment(c, { commentId: comment.id, replyId: reply.id }, file));
  if (attachments.length > 0) reply.attachment_files = attachments;
  const replies = [...commentReplies(comment), reply];
  await db.updateTable("comment").set({ replies: JSON.stringify(replies), updated_at: now }).where("id", "=", comment.id).execute();
  await emit(c, "comment:reply", { task_id: task.id, comment_id: comment.id, reply_id: reply.id }, task.project_id);
  await notifyReply(c, task, { id: comment.id, person_id: comment.person_id, replies }, reply, mentions);
  return { ...reply, person: await presentPersonById(db, user.id, "author") };
}

/** Removes a reply (author or admin), its notifications and attachments. Returns the comment. */
export async function deleteReply(c: AppContext, comment: CommentRow, task: TaskRow, replyId: string): Promise<Dict> {
  const db = c.get("db");
  const user = c.get("user");
  const replies = commentReplies(comment);
  const reply = replies.find((r) => r.id === replyId);
  if (!reply) throw notFound();
  if (reply.person_id !== user.id && !isAdmin(user)) throw forbidden();
  const remaining = replies.filter((r) => r.id !== replyId);
  const now = utcNow();
  await db.updateTable("comment").set({ replies: JSON.stringify(remaining), updated_at: now }).where("id", "=", comment.id).execute();
  await deleteReplyNotifications(c, replyId);
  const attachments = await db.selectFrom("attachment_file").select("id").where("reply_id", "=", replyId).execute();
  for (const attachment of attachments) await removeAttachmentFile(c, attachment.id);
  await emit(c, "comment:delete-reply", { task_id: task.id, comment_id: comment.id, reply_id: replyId }, task.project_id);
  const stored = await db.selectFrom("comment").selectAll().where("id", "=", comment.id).executeTakeFirstOrThrow();
  return serialize("comment", stored);
}

// ---------------------------------------------------------------------------------------------
// Previews on comments (rows only; the media upload is the previews area)

/** Next revision of a task's previews (max + 1, 1 when none). */
async function nextRevision(db: Db, taskId: string): Promise<number> {
  const row = await db
    .selectFrom("preview_file")
    .select((eb) => eb.fn.max("revision").as("max"))
    .where("task_id", "=", taskId)
    .executeTakeFirst();
  return Number(row?.max ?? 0) + 1;
}

async function countAtRevision(db: Db, taskId: string, revision: number): Promise<number> {
  const row = await db
    .selectFrom("preview_file")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .where("task_id", "=", taskId)
    .where("revision", "=", revision)
    .executeTakeFirst();
  return Number(row?.count ?? 0);
}

/**
 * Creates a preview file slot on a comment (previews.md §2): revision auto-numbered (or given),
 * position after the existing previews of that revision; news row of the comment points at it;
 * `preview-file:new` then `comment:update`. Returns the preview file with relations.
 */
export async function addPreviewToComment(c: AppContext, comment: CommentRow, task: TaskRow, requested: number | null): Promise<Dict> {
  const db = c.get("db");
  const user = c.get("user");
  const existing = await db
    .selectFrom("comment_preview_link")
    .innerJoin("preview_file", "preview_file.id", "comment_preview_link.preview_file")
    .select(["preview_file.id", "preview_file.revision"])
    .where("comment_preview_link.comment", "=", comment.id)
    .orderBy("preview_file.created_at")
    .execute();
  let revision: number;
  let position = 1;
  if (!requested) {
    if (existing.length === 0) revision = await nextRevision(db, task.id);
    else {
      revision = Number(existing[0]!.revision ?? 1);
      position = (await countAtRevision(db, task.id, revision)) + 1;
    }
  } else {
    revision = requested;
    if (existing.length === 0) {
      const taken = await db
        .selectFrom("preview_file")
        .select("id")
        .where("task_id", "=", task.id)
        .where("revision", "=", revision)
        .where("position", "=", 1)
        .executeTakeFirst();
      if (taken) throw badRequest(`Revision ${revision} already exists for this task. Please choose another revision number.`);
    }
    position = (await countAtRevision(db, task.id, revision)) + 1;
  }
  if (position > 1 && task.project_id) {
    const project = await db.selectFrom("project").select("is_single_preview_per_revision").where("id", "=", task.project_id).executeTakeFirst();
    if (isTrue(project?.is_single_preview_per_revision)) throw badRequest("Only one preview file is allowed per revision for this project.");
  }
  const now = utcNow();
  const preview = {
    id: newId(), created_at: now, updated_at: now, name: newId().slice(0, 13), revision, position, extension: "mp4",
    status: "processing", validation_status: "neutral", source: "webgui", task_id: task.id, person_id: user.id,
  };
  await db.insertInto("preview_file").values(preview as any).execute();
  await emit(c, "preview-file:new", { preview_file_id: preview.id, comment_id: comment.id }, task.project_id);
  await db.insertInto("comment_preview_link").values({ comment: comment.id, preview_file: preview.id }).execute();
  await db.updateTable("news").set({ preview_file_id: preview.id, updated_at: preciseNow() }).where("comment_id", "=", comment.id).execute();
  await emit(c, "comment:update", { comment_id: comment.id }, task.project_id);
  const stored = await db.selectFrom("preview_file").selectAll().where("id", "=", preview.id).executeTakeFirstOrThrow();
  return { ...serialize("preview_file", stored), comments: [comment.id] };
}

/** Removes a preview from a comment: it must be on that comment and on the task of the path. */
export async function removeCommentPreview(c: AppContext, comment: CommentRow, task: TaskRow, rawPreviewId: string, force: boolean): Promise<void> {
  const db = c.get("db");
  const previewId = serviceId(rawPreviewId);
  const link = await db
    .selectFrom("comment_preview_link")
    .innerJoin("preview_file", "preview_file.id", "comment_preview_link.preview_file")
    .select("preview_file.task_id")
    .where("comment_preview_link.comment", "=", comment.id)
    .where("comment_preview_link.preview_file", "=", previewId)
    .executeTakeFirst();
  if (!link || link.task_id !== task.id) throw notFound();
  await removePreviewFile(c, previewId, force);
  await emit(c, "comment:update", { comment_id: comment.id }, task.project_id);
}

export { getTask, assigneesByTask };
