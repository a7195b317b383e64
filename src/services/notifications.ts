/**
 * Notifications, subscriptions and news (events.md §6, §7, §8): who is notified of a comment, a
 * mention, a reply or an assignment, the news feed rows of comments, and readers used by the
 * `/data/user/...` routes. Writers take the context so they join the caller's transaction.
 */
import type { Selectable } from "kysely";
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import type { CommentTable, NotificationTable, SubscriptionTable, TaskTable } from "../db/tables.generated";
import { isTrue, serialize, parseJson } from "../db/serialize";
import { emitEvent } from "../lib/events";
import { chunks } from "../lib/chunks";
import { fullEntityNames } from "./entity-names";
import { newId, preciseNow, utcNow } from "../lib/ids";
import { notFound } from "../lib/errors";
import { mailConfigured, sendMail } from "../lib/mail";
import { ascNullsLast } from "../db/order";
import { queueChatNotification } from "./chat-notifications";

export type TaskRow = Selectable<TaskTable>;
export type CommentRow = Selectable<CommentTable>;
export type NotificationRow = Selectable<NotificationTable>;
export type SubscriptionRow = Selectable<SubscriptionTable>;
export type NotificationType = "comment" | "mention" | "assignation" | "reply" | "reply-mention" | "playlist-ready";

/** A reply stored in `comment.replies`. */
export interface Reply {
  id: string;
  date: string;
  created_at?: string;
  person_id: string;
  text: string;
  mentions?: string[];
  department_mentions?: string[];
  attachment_files?: unknown[];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** `@<name>` followed by a space or the end of the text. */
export function isMentioned(text: string, name: string): boolean {
  if (!name) return false;
  return new RegExp(`@${escapeRegExp(name)}( |$)`, "m").test(text);
}

/**
 * Persons (project team members, by full name) and departments (any, by name) mentioned in a text.
 */
export async function findMentions(db: Db, projectId: string, text: string | null | undefined): Promise<{ personIds: string[]; departmentIds: string[] }> {
  if (!text || !text.includes("@")) return { personIds: [], departmentIds: [] };
  const team = await db
    .selectFrom("project_person_link")
    .innerJoin("person", "person.id", "project_person_link.person_id")
    .select(["person.id", "person.first_name", "person.last_name"])
    .where("project_person_link.project_id", "=", projectId)
    .execute();
  const personIds = team.filter((person) => isMentioned(text, personFullName(person))).map((person) => person.id);
  const departments = await db.selectFrom("department").select(["id", "name"]).execute();
  const departmentIds = departments.filter((department) => isMentioned(text, department.name)).map((d) => d.id);
  return { personIds, departmentIds };
}

/** Team members of a project who belong to one of the departments. */
export async function departmentTeamMembers(db: Db, projectId: string, departmentIds: string[]): Promise<string[]> {
  if (departmentIds.length === 0) return [];
  const rows = await db
    .selectFrom("project_person_link")
    .innerJoin("department_link", "department_link.person_id", "project_person_link.person_id")
    .select("project_person_link.person_id")
    .where("project_person_link.project_id", "=", projectId)
    .where("department_link.department_id", "in", departmentIds)
    .execute();
  return [...new Set(rows.map((row) => row.person_id))];
}

/** Persons mentioned by name or through one of their departments. */
export async function mentionedPersonIds(db: Db, projectId: string, personIds: string[], departmentIds: string[]): Promise<string[]> {
  return [...new Set([...personIds, ...(await departmentTeamMembers(db, projectId, departmentIds))])];
}

export interface NewNotification {
  personId: string;
  authorId: string;
  type: NotificationType;
  projectId: string | null;
  commentId?: string | null;
  taskId?: string | null;
  replyId?: string | null;
  playlistId?: string | null;
  change?: boolean;
  createdAt?: string | null;
}

/** Inserts one notification and broadcasts `notification:new` (not persisted). */
export async function createNotification(c: AppContext, input: NewNotification): Promise<NotificationRow> {
  const db = c.get("db");
  const now = utcNow();
  const row = {
    id: newId(),
    created_at: input.createdAt ?? preciseNow(),
    updated_at: now,
    read: false,
    change: Boolean(input.change),
    type: input.type,
    person_id: input.personId,
    author_id: input.authorId,
    comment_id: input.commentId ?? null,
    task_id: input.taskId ?? null,
    playlist_id: input.playlistId ?? null,
    reply_id: input.replyId ?? null,
  };
  const inserted = (await db.insertInto("notification").values(row as any).returningAll().executeTakeFirstOrThrow()) as NotificationRow;
  await emitEvent(db, c.get("events"), "notification:new", { notification_id: row.id, person_id: row.person_id }, {
    projectId: input.projectId,
    userId: c.get("user")?.id ?? null,
  });
  await mailNotification(c, input);
  await queueChatNotification(c, input);
  return inserted;
}

const MAIL_SUBJECTS: Record<NotificationType, string> = {
  comment: "commented on",
  mention: "mentioned you on",
  assignation: "assigned you to",
  reply: "replied on",
  "reply-mention": "mentioned you in a reply on",
  "playlist-ready": "shared a playlist of",
};

/**
 * E-mails a notification to recipients who enabled e-mail notifications, when SMTP is configured.
 * Sent after the response path (never blocks nor fails the write that created it).
 */
async function mailNotification(c: AppContext, input: NewNotification): Promise<void> {
  const config = c.get("config");
  if (!mailConfigured(config)) return;
  const db = c.get("db");
  const recipient = await db.selectFrom("person").select(["email", "notifications_enabled"]).where("id", "=", input.personId).executeTakeFirst();
  if (!recipient?.email || !(recipient.notifications_enabled === true || recipient.notifications_enabled === 1)) return;
  const author = await db.selectFrom("person").select(["first_name", "last_name"]).where("id", "=", input.authorId).executeTakeFirst();
  const task = input.taskId
    ? await db
        .selectFrom("task")
        .innerJoin("project", "project.id", "task.project_id")
        .innerJoin("entity", "entity.id", "task.entity_id")
        .leftJoin("task_type", "task_type.id", "task.task_type_id")
        .select(["project.name as project_name", "entity.name as entity_name", "task_type.name as task_type_name"])
        .where("task.id", "=", input.taskId)
        .executeTakeFirst()
    : undefined;
  const comment = input.commentId ? await db.selectFrom("comment").select(["text", "replies"]).where("id", "=", input.commentId).executeTakeFirst() : undefined;
  const reply = input.replyId ? ((parseJson(comment?.replies) as Reply[] | null) ?? []).find((r) => r.id === input.replyId) : undefined;
  const authorName = author ? personFullName(author) : "Someone";
  const target = task ? `${task.project_name} / ${task.entity_name} / ${task.task_type_name ?? ""}` : "a playlist";
  const subject = `[Kitsu] ${authorName} ${MAIL_SUBJECTS[input.type]} ${target}`;
  const body = reply?.text ?? comment?.text ?? "";
  const link = `${config.domainProtocol}://${config.domainName}/`;
  setTimeout(() => {
    sendMail(config, { to: recipient.email!, subject, text: `${subject}\n\n${body}\n\n${link}` }).catch((error) => {
      console.error("notification e-mail failed:", error instanceof Error ? error.message : error);
    });
  }, 0);
}

/** Persons subscribed to the task, or to its sequence for its task type (events.md §8). */
export async function subscriberIds(db: Db, task: Pick<TaskRow, "id" | "entity_id" | "task_type_id">): Promise<string[]> {
  const ids = new Set<string>();
  const direct = await db.selectFrom("subscription").select("person_id").where("task_id", "=", task.id).execute();
  for (const row of direct) ids.add(row.person_id);
  if (task.entity_id && task.task_type_id) {
    const entity = await db.selectFrom("entity").select("parent_id").where("id", "=", task.entity_id).executeTakeFirst();
    if (entity?.parent_id) {
      const sequence = await db
        .selectFrom("subscription")
        .select("person_id")
        .where("entity_id", "=", entity.parent_id)
        .where("task_type_id", "=", task.task_type_id)
        .execute();
      for (const row of sequence) ids.add(row.person_id);
    }
  }
  return [...ids];
}

async function assigneeIds(db: Db, taskId: string): Promise<string[]> {
  const rows = await db.selectFrom("task_person_link").select("person_id").where("task_id", "=", taskId).execute();
  return rows.map((row) => row.person_id);
}

/** One notification per person (authors excluded with `except`), each as `createNotification`. */
async function notifyPersons(c: AppContext, personIds: Iterable<string>, notification: Omit<NewNotification, "personId">, except?: string): Promise<void> {
  for (const personId of personIds) {
    if (personId !== except) await createNotification(c, { ...notification, personId });
  }
}

/**
 * Notifications of a new comment (events.md §6.1): `comment` for assignees and subscribers, `mention`
 * for mentioned persons; never the author.
 */
export async function notifyComment(
  c: AppContext,
  task: TaskRow,
  comment: { id: string; person_id: string; created_at?: string | null },
  mentions: { personIds: string[]; departmentIds: string[] },
  change: boolean,
): Promise<void> {
  const db = c.get("db");
  const recipients = new Set([...(await assigneeIds(db, task.id)), ...(await subscriberIds(db, task))]);
  const base = { authorId: comment.person_id, projectId: task.project_id, commentId: comment.id, taskId: task.id };
  await notifyPersons(c, recipients, { ...base, type: "comment", change }, comment.person_id);
  const mentioned = await mentionedPersonIds(db, task.project_id!, mentions.personIds, mentions.departmentIds);
  await notifyPersons(c, mentioned, { ...base, type: "mention" }, comment.person_id);
}

/**
 * After a comment edit: its mention notifications are deleted and recreated from the new text
 * (the author is not excluded on this path, as in Zou).
 */
export async function resetMentionNotifications(
  c: AppContext,
  task: TaskRow,
  comment: { id: string; person_id: string; created_at?: string | null },
  mentions: { personIds: string[]; departmentIds: string[] },
): Promise<void> {
  const db = c.get("db");
  await db.deleteFrom("notification").where("comment_id", "=", comment.id).where("type", "=", "mention").execute();
  const mentioned = await mentionedPersonIds(db, task.project_id!, mentions.personIds, mentions.departmentIds);
  await notifyPersons(c, mentioned, {
    authorId: comment.person_id, type: "mention", projectId: task.project_id, commentId: comment.id, taskId: task.id, createdAt: comment.created_at,
  });
}

/** Notifications of a reply (events.md §6.2). */
export async function notifyReply(
  c: AppContext,
  task: TaskRow,
  comment: { id: string; person_id: string; replies: Reply[] },
  reply: Reply,
  mentions: { personIds: string[]; departmentIds: string[] },
): Promise<void> {
  const db = c.get("db");
  const recipients = new Set([
    ...(await assigneeIds(db, task.id)),
    ...(await subscriberIds(db, task)),
    ...comment.replies.filter((r) => r.id !== reply.id).map((r) => r.person_id),
    comment.person_id,
  ]);
  const base = {
    authorId: reply.person_id, projectId: task.project_id, commentId: comment.id, taskId: task.id, replyId: reply.id,
    createdAt: reply.created_at ?? reply.date,
  };
  await notifyPersons(c, recipients, { ...base, type: "reply" }, reply.person_id);
  const mentioned = await mentionedPersonIds(db, task.project_id!, mentions.personIds, mentions.departmentIds);
  await notifyPersons(c, mentioned, { ...base, type: "reply-mention" }, reply.person_id);
}

/** `assignation` notification for X assigned to T, unless the assigner is X (events.md §6.3). */
export async function notifyAssignation(c: AppContext, task: TaskRow, personId: string, authorId: string | null): Promise<void> {
  const author = authorId ?? task.assigner_id;
  if (!author || author === personId) return;
  await createNotification(c, { personId, authorId: author, type: "assignation", projectId: task.project_id, taskId: task.id });
}

export async function deleteCommentNotifications(c: AppContext, commentId: string): Promise<void> {
  await c.get("db").deleteFrom("notification").where("comment_id", "=", commentId).execute();
}

export async function deleteReplyNotifications(c: AppContext, replyId: string): Promise<void> {
  await c.get("db").deleteFrom("notification").where("reply_id", "=", replyId).execute();
}

// ---------------------------------------------------------------------------------------------
// News (events.md §7)

/** Creates the news row of a comment (not for concept tasks) and emits `news:new`. */
export async function createNewsForComment(
  c: AppContext,
  task: TaskRow,
  comment: { id: string; person_id: string; created_at: string | null; task_status_id: string | null },
  change: boolean,
  previewFileId: string | null = null,
): Promise<void> {
  const db = c.get("db");
  const entity = await db
    .selectFrom("entity")
    .innerJoin("entity_type", "entity_type.id", "entity.entity_type_id")
    .select("entity_type.name")
    .where("entity.id", "=", task.entity_id!)
    .executeTakeFirst();
  if (entity?.name === "Concept") return;
  const now = utcNow();
  const id = newId();
  await db
    .insertInto("news")
    .values({
      // Zou stores the comment date as serialized (whole seconds): news of one second tie on it.
      id, created_at: (comment.created_at ?? now).slice(0, 19), updated_at: preciseNow(), change, author_id: comment.person_id,
      comment_id: comment.id, task_id: task.id, preview_file_id: previewFileId,
    } as any)
    .execute();
  await emitEvent(db, c.get("events"), "news:new", { news_id: id, task_status_id: comment.task_status_id, task_type_id: task.task_type_id }, {
    projectId: task.project_id,
    userId: c.get("user")?.id ?? null,
  });
}

/** Deletes the news of a comment, emitting `news:delete` for each. */
export async function deleteCommentNews(c: AppContext, commentId: string, projectId: string | null): Promise<void> {
  const db = c.get("db");
  const rows = await db.selectFrom("news").select("id").where("comment_id", "=", commentId).execute();
  if (rows.length === 0) return;
  await db.deleteFrom("news").where("comment_id", "=", commentId).execute();
  for (const row of rows) {
    await emitEvent(db, c.get("events"), "news:delete", { news_id: row.id }, { projectId, userId: c.get("user")?.id ?? null });
  }
}

// ---------------------------------------------------------------------------------------------
// Subscriptions (events.md §8). Always the caller's own; idempotent.

export async function getTaskSubscription(db: Db, personId: string, taskId: string): Promise<SubscriptionRow | undefined> {
  return db.selectFrom("subscription").selectAll().where("person_id", "=", personId).where("task_id", "=", taskId).executeTakeFirst();
}

export async function isSubscribedToTask(db: Db, personId: string, taskId: string): Promise<boolean> {
  return Boolean(await getTaskSubscription(db, personId, taskId));
}

/** Subscribes a person to a task (existing row returned as is). Returns the serialized row. */
export async function subscribeToTask(c: AppContext, personId: string, taskId: string): Promise<Record<string, unknown>> {
  const db = c.get("db");
  const existing = await getTaskSubscription(db, personId, taskId);
  if (existing) return serialize("subscription", existing);
  const now = utcNow();
  const row = { id: newId(), created_at: now, updated_at: now, person_id: personId, task_id: taskId, entity_id: null, task_type_id: null };
  await db.insertInto("subscription").values(row).execute();
  return serialize("subscription", row);
}

export async function unsubscribeFromTask(c: AppContext, personId: string, taskId: string): Promise<void> {
  await c.get("db").deleteFrom("subscription").where("person_id", "=", personId).where("task_id", "=", taskId).execute();
}

export async function getSequenceSubscription(db: Db, personId: string, sequenceId: string, taskTypeId: string): Promise<SubscriptionRow | undefined> {
  return db
    .selectFrom("subscription")
    .selectAll()
    .where("person_id", "=", personId)
    .where("entity_id", "=", sequenceId)
    .where("task_type_id", "=", taskTypeId)
    .executeTakeFirst();
}

export async function subscribeToSequence(c: AppContext, personId: string, sequenceId: string, taskTypeId: string): Promise<Record<string, unknown>> {
  const db = c.get("db");
  const existing = await getSequenceSubscription(db, personId, sequenceId, taskTypeId);
  if (existing) return serialize("subscription", existing);
  const now = utcNow();
  const row = { id: newId(), created_at: now, updated_at: now, person_id: personId, task_id: null, entity_id: sequenceId, task_type_id: taskTypeId };
  await db.insertInto("subscription").values(row).execute();
  return serialize("subscription", row);
}

export async function unsubscribeFromSequence(c: AppContext, personId: string, sequenceId: string, taskTypeId: string): Promise<void> {
  await c
    .get("db")
    .deleteFrom("subscription")
    .where("person_id", "=", personId)
    .where("entity_id", "=", sequenceId)
    .where("task_type_id", "=", taskTypeId)
    .execute();
}

/** Sequence ids of a project the person subscribed to for a task type. */
export async function sequenceSubscriptionIds(db: Db, personId: string, projectId: string, taskTypeId: string): Promise<string[]> {
  const rows = await db
    .selectFrom("subscription")
    .innerJoin("entity", "entity.id", "subscription.entity_id")
    .select("subscription.entity_id")
    .where("subscription.person_id", "=", personId)
    .where("subscription.task_type_id", "=", taskTypeId)
    .where("entity.project_id", "=", projectId)
    .execute();
  return rows.map((row) => row.entity_id!);
}

/** Task subscriptions of a project (admin dump). */
export async function projectSubscriptions(db: Db, projectId: string): Promise<Record<string, unknown>[]> {
  const rows = await db
    .selectFrom("subscription")
    .innerJoin("task", "task.id", "subscription.task_id")
    .selectAll("subscription")
    .where("task.project_id", "=", projectId)
    .execute();
  return rows.map((row) => serialize("subscription", row));
}

// ---------------------------------------------------------------------------------------------
// Reading notifications (events.md §6.5), for `/data/user/notifications*`.

export interface NotificationFilters {
  after?: string | null;
  before?: string | null;
  taskTypeId?: string | null;
  taskStatusId?: string | null;
  type?: string | null;
  read?: boolean | null;
  watching?: boolean | null;
  notificationId?: string | null;
  limit?: number;
}

function personFullName(row: { first_name: string | null; last_name: string | null }): string {
  const first = row.first_name ?? "";
  const last = row.last_name ?? "";
  return first && last ? `${first} ${last}` : first || last;
}

/**
 * The caller's notifications, newest first (100 by default), in the reader shape of events.md
 * §6.5. `reader` is the person reading (client-authored text is blanked for global artists).
 */
export async function listNotifications(
  db: Db,
  reader: { id: string; role: string },
  filters: NotificationFilters = {},
): Promise<Record<string, unknown>[]> {
  let query = db
    .selectFrom("notification")
    .leftJoin("task", "task.id", "notification.task_id")
    .leftJoin("entity", "entity.id", "task.entity_id")
    .leftJoin("playlist", "playlist.id", "notification.playlist_id")
    .selectAll("notification")
    .select([
      "task.task_type_id as t_task_type_id", "task.task_status_id as t_task_status_id", "task.entity_id as t_entity_id",
      "entity.preview_file_id as e_preview_file_id",
      "task.project_id as t_project_id", "playlist.name as p_name", "playlist.project_id as p_project_id",
      "playlist.for_entity as p_for_entity", "playlist.is_for_all as p_is_for_all", "playlist.episode_id as p_episode_id",
    ])
    .where("notification.person_id", "=", reader.id);
  if (filters.notificationId) query = query.where("notification.id", "=", filters.notificationId);
  if (filters.after) query = query.where("notification.created_at", ">", filters.after);
  if (filters.before) query = query.where("notification.created_at", "<", filters.before);
  if (filters.taskTypeId) query = query.where("task.task_type_id", "=", filters.taskTypeId);
  if (filters.taskStatusId) query = query.where("task.task_status_id", "=", filters.taskStatusId);
  if (filters.type) query = query.where("notification.type", "=", filters.type);
  if (filters.read !== undefined && filters.read !== null) query = query.where("notification.read", "=", filters.read);
  if (filters.watching !== undefined && filters.watching !== null) {
    const watched = (eb: any) => eb.selectFrom("subscription").select("subscription.task_id").where("subscription.person_id", "=", reader.id);
    query = filters.watching ? query.where("notification.task_id", "in", watched) : query.where((eb) =>
      eb.or([eb("notification.task_id", "is", null), eb("notification.task_id", "not in", watched)]),
    );
  }
  const rows = await query.orderBy("notification.created_at", "desc").limit(filters.limit ?? 100).execute();
  if (rows.length === 0) return [];

  const commentIds = [...new Set(rows.map((r) => r.comment_id).filter((id): id is string => Boolean(id)))];
  const entityIds = [...new Set(rows.map((r) => r.t_entity_id).filter((id): id is string => Boolean(id)))];
  const projectIds = [...new Set(rows.map((r) => r.t_project_id ?? r.p_project_id).filter((id): id is string => Boolean(id)))];
  const taskIds = [...new Set(rows.map((r) => r.task_id).filter((id): id is string => Boolean(id)))];
  const authorIds = [...new Set(rows.map((r) => r.author_id))];

  const comments = new Map<string, CommentRow>();
  const mentions = new Map<string, string[]>();
  const departmentMentions = new Map<string, string[]>();
  const previews = new Map<string, string>();
  for (const chunk of chunks(commentIds)) {
    for (const row of await db.selectFrom("comment").selectAll().where("id", "in", chunk).execute()) comments.set(row.id, row);
    for (const row of await db.selectFrom("comment_mentions").selectAll().where("comment", "in", chunk).execute()) {
      mentions.set(row.comment, [...(mentions.get(row.comment) ?? []), row.person]);
    }
    for (const row of await db.selectFrom("comment_department_mentions").selectAll().where("comment", "in", chunk).execute()) {
      departmentMentions.set(row.comment, [...(departmentMentions.get(row.comment) ?? []), row.department]);
    }
    const links = await db
      .selectFrom("comment_preview_link")
      .innerJoin("preview_file", "preview_file.id", "comment_preview_link.preview_file")
      .select(["comment_preview_link.comment", "preview_file.id", "preview_file.position"])
      .where("comment_preview_link.comment", "in", chunk)
      .orderBy("preview_file.position", ascNullsLast)
      .execute();
    for (const link of links) if (!previews.has(link.comment)) previews.set(link.comment, link.id);
  }
  const entityNames = await fullEntityNames(db, entityIds);
  const projects = new Map<string, string>();
  for (const chunk of chunks(projectIds)) {
    for (const row of await db.selectFrom("project").select(["id", "name"]).where("id", "in", chunk).execute()) projects.set(row.id, row.name);
  }
  const subscriptions = new Map<string, string>();
  for (const chunk of chunks(taskIds)) {
    const found = await db.selectFrom("subscription").select(["id", "task_id"]).where("person_id", "=", reader.id).where("task_id", "in", chunk).execute();
    for (const row of found) subscriptions.set(row.task_id!, row.id);
  }
  const authorRoles = new Map<string, string>();
  for (const chunk of chunks(authorIds)) {
    for (const row of await db.selectFrom("person").select(["id", "role"]).where("id", "in", chunk).execute()) authorRoles.set(row.id, row.role);
  }

  return rows.map((row) => {
    const comment = row.comment_id ? comments.get(row.comment_id) : undefined;
    const entityName = row.t_entity_id ? entityNames.get(row.t_entity_id) : undefined;
    const replies = (parseJson(comment?.replies) as Reply[] | null) ?? [];
    const reply = row.reply_id ? replies.find((r) => r.id === row.reply_id) : undefined;
    const hideText = authorRoles.get(row.author_id) === "client" && reader.role === "user";
    const projectId = row.t_project_id ?? row.p_project_id ?? null;
    return {
      id: row.id,
      type: "Notification",
      notification_type: row.type,
      author_id: row.author_id,
      comment_id: row.comment_id,
      task_id: row.task_id,
      task_type_id: row.t_task_type_id ?? null,
      task_status_id: comment ? comment.task_status_id : null,
      mentions: row.comment_id ? mentions.get(row.comment_id) ?? [] : [],
      department_mentions: row.comment_id ? departmentMentions.get(row.comment_id) ?? [] : [],
      reply_mentions: reply?.mentions ?? [],
      reply_department_mentions: reply?.department_mentions ?? [],
      preview_file_id: row.comment_id ? previews.get(row.comment_id) ?? null : null,
      project_id: projectId,
      project_name: projectId ? projects.get(projectId) ?? null : null,
      comment_text: !comment ? null : hideText ? "" : comment.text ?? "",
      reply_text: hideText ? "" : reply?.text ?? "",
      created_at: serialize("notification", row).created_at,
      read: Boolean(row.read),
      change: Boolean(row.change),
      full_entity_name: entityName?.name ?? "",
      episode_id: row.playlist_id ? row.p_episode_id ?? null : entityName?.episodeId ?? null,
      entity_preview_file_id: row.e_preview_file_id ?? null,
      subscription_id: row.task_id ? subscriptions.get(row.task_id) ?? null : null,
      playlist_id: row.playlist_id,
      // Without a playlist Zou answers empty strings and false, not nulls.
      playlist_name: row.p_name ?? "",
      playlist_for_entity: row.p_for_entity ?? "",
      playlist_is_for_all: isTrue(row.p_is_for_all),
    };
  });
}

/** One notification of the reader (404 when it is not theirs). */
export async function getNotification(db: Db, reader: { id: string; role: string }, notificationId: string): Promise<Record<string, unknown>> {
  const [item] = await listNotifications(db, reader, { notificationId, limit: 1 });
  if (!item) throw notFound();
  return item;
}

/** Marks one of the reader's notifications read or unread; emits `notification:read|unread`. */
export async function setNotificationRead(c: AppContext, personId: string, notificationId: string, read: boolean): Promise<Record<string, unknown>> {
  const db = c.get("db");
  const row = await db.selectFrom("notification").selectAll().where("id", "=", notificationId).where("person_id", "=", personId).executeTakeFirst();
  if (!row) throw notFound();
  const updated = await db
    .updateTable("notification")
    .set({ read, updated_at: utcNow() })
    .where("id", "=", notificationId)
    .returningAll()
    .executeTakeFirstOrThrow();
  await emitEvent(db, c.get("events"), read ? "notification:read" : "notification:unread", { person_id: personId, notification_id: notificationId }, {
    userId: c.get("user")?.id ?? null,
  });
  return serialize("notification", updated);
}

/** Marks every notification of the person read; emits `notification:all-read`. */
export async function markAllNotificationsRead(c: AppContext, personId: string): Promise<void> {
  const db = c.get("db");
  await db.updateTable("notification").set({ read: true, updated_at: utcNow() }).where("person_id", "=", personId).where("read", "=", false).execute();
  await emitEvent(db, c.get("events"), "notification:all-read", { person_id: personId }, { userId: c.get("user")?.id ?? null });
}

/** Unread notifications of a person (`notification_count` of the user context). */
export async function unreadNotificationCount(db: Db, personId: string): Promise<number> {
  const row = await db
    .selectFrom("notification")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .where("person_id", "=", personId)
    .where("read", "=", false)
    .executeTakeFirst();
  return Number(row?.count ?? 0);
}

export { personFullName };
