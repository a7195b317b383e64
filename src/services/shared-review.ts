/**
 * The account-less review a playlist share link opens (the `shared` area of routes.tsv): the
 * enriched playlist and project context of the share page, guest comments with their authors,
 * guest comment edits and attachments. Link checks and guests are in services/shared-links.ts.
 */
import type { AppContext, PersonRow } from "../context";
import type { Db } from "../db/database";
import { isTrue, parseJson } from "../db/serialize";
import { transact } from "../db/transaction";
import type { Row } from "../db/rows";
import { isUuid, normalizeId, utcNow } from "../lib/ids";
import { storeAttachment, type UploadedFile } from "./attachments";
import { afterCommentEdit, presentComment, type CommentRow } from "./comments";
import { guestStatus, sharedComments } from "./shared-links";
import { playlistWithPreviews, type PlaylistRow } from "./playlists";
import type { Dict } from "./tasks";

/** The shared playlist: entries with names, task type and status colour (Zou's enrich_shots_with_entity_info). */
export async function enrichedPlaylist(db: Db, playlist: PlaylistRow): Promise<Dict> {
  const dict = await playlistWithPreviews(db, playlist, { annotations: true });
  const project = await db.selectFrom("project").select(["name", "fps"]).where("id", "=", playlist.project_id).executeTakeFirst();
  dict.project_fps = project?.fps ?? null;
  dict.project_name = project?.name ?? null;
  const shots = dict.shots as Dict[];
  const entityIds = shots.map((shot) => shot.id).filter((id): id is string => typeof id === "string");
  if (entityIds.length === 0) return dict;
  const entities = await db
    .selectFrom("entity")
    .innerJoin("entity_type", "entity_type.id", "entity.entity_type_id")
    .leftJoin("entity as parent", "parent.id", "entity.parent_id")
    .select(["entity.id", "entity.name", "entity_type.name as type_name", "parent.name as parent_name"])
    .where("entity.id", "in", entityIds)
    .execute();
  const byId = new Map(entities.map((entity) => [entity.id, entity]));
  const taskIds = shots.map((shot) => shot.preview_file_task_id).filter((id): id is string => typeof id === "string");
  const tasks = taskIds.length
    ? await db
      .selectFrom("task")
      .innerJoin("task_type", "task_type.id", "task.task_type_id")
      .innerJoin("task_status", "task_status.id", "task.task_status_id")
      .select(["task.id", "task_type.id as tt_id", "task_type.name as tt_name", "task_type.color as tt_color", "task_type.for_entity as tt_for_entity", "task_status.color as status_color"])
      .where("task.id", "in", taskIds)
      .execute()
    : [];
  const taskById = new Map(tasks.map((task) => [task.id, task]));
  const shotLike = new Set(["Shot", "Sequence", "Episode", "Edit", "Concept"]);
  for (const shot of shots) {
    const entity = byId.get(String(shot.id));
    if (!entity) continue;
    shot.name = entity.name;
    shot.parent_name = shotLike.has(entity.type_name) ? entity.parent_name ?? "" : entity.type_name;
    const task = taskById.get(String(shot.preview_file_task_id));
    if (!task) continue;
    shot.preview_file_task_type = { id: task.tt_id, name: task.tt_name, color: task.tt_color, for_entity: task.tt_for_entity };
    shot.preview_file_task_type_name = task.tt_name;
    if (task.status_color) shot.task_status_color = task.status_color;
  }
  return dict;
}

/** The minimal project context of the share page (Zou's get_shared_playlist_context). */
export async function sharedContext(db: Db, playlist: PlaylistRow): Promise<Dict> {
  const project = await db.selectFrom("project").selectAll().where("id", "=", playlist.project_id).executeTakeFirstOrThrow();
  const taskTypes = await db
    .selectFrom("task_type")
    .innerJoin("project_task_type_link", "project_task_type_link.task_type_id", "task_type.id")
    .select(["task_type.id", "task_type.name", "task_type.color", "task_type.for_entity"])
    .where("project_task_type_link.project_id", "=", project.id)
    .orderBy("task_type.priority")
    .orderBy("task_type.name")
    .execute();
  const statuses = await db
    .selectFrom("task_status")
    .innerJoin("project_task_status_link", "project_task_status_link.task_status_id", "task_status.id")
    .select(["task_status.id", "task_status.name", "task_status.short_name", "task_status.color", "task_status.is_client_allowed", "task_status.is_default", "task_status.for_concept"])
    .where("project_task_status_link.project_id", "=", project.id)
    .orderBy("task_status.name")
    .execute();
  const shots = (parseJson(playlist.shots) as Dict[] | null) ?? [];
  const entityIds = [...new Set(shots.map((shot) => shot?.entity_id).filter((id): id is string => typeof id === "string" && isUuid(id)))];
  const entities = entityIds.length
    ? await db.selectFrom("entity").select(["id", "name", "preview_file_id"]).where("id", "in", entityIds).execute()
    : [];
  const byId = new Map(entities.map((entity) => [entity.id, entity]));
  return {
    project: { id: project.id, name: project.name, fps: project.fps, ratio: project.ratio, resolution: project.resolution, team: [] },
    task_types: taskTypes,
    task_statuses: statuses.map((status) => ({
      ...status,
      is_client_allowed: isTrue(status.is_client_allowed),
      is_default: isTrue(status.is_default),
      for_concept: isTrue(status.for_concept),
    })),
    entities: entityIds.filter((id) => byId.has(id)).map((id) => {
      const entity = byId.get(id)!;
      return { id: entity.id, name: entity.name, preview_file_id: entity.preview_file_id ?? null };
    }),
  };
}

/** Guest comments answer with their author (flagged guest) and attachments as objects. */
export async function presentGuestComment(c: AppContext, row: CommentRow): Promise<Dict> {
  return presentComment(c, row, { withPreviews: true });
}

/** The comments a share link shows, presented, their author flagged `is_guest`. */
export async function presentedSharedComments(c: AppContext, playlist: PlaylistRow): Promise<Dict[]> {
  const db = c.get("db");
  const rows = await sharedComments(db, playlist);
  const result: Dict[] = [];
  for (const row of rows) {
    const dict = await presentGuestComment(c, row as CommentRow);
    if (dict.person && typeof dict.person === "object") {
      const author = await db.selectFrom("person").select("is_guest").where("id", "=", row.person_id).executeTakeFirst();
      (dict.person as Dict).is_guest = isTrue(author?.is_guest);
    }
    result.push(dict);
  }
  return result;
}

/** The task a guest comments on (it exists: its id is one of the shared playlist's tasks). */
export async function sharedTask(db: Db, taskId: string) {
  return db.selectFrom("task").selectAll().where("id", "=", taskId).executeTakeFirstOrThrow();
}

/**
 * Edits a guest's comment: its text and checklist when given, its status when a different one
 * is asked (403 unless the status is client-allowed); runs the after-edit rules. Returns the row.
 */
export async function updateGuestComment(
  c: AppContext,
  guest: PersonRow,
  comment: Row,
  changes: { text?: string; checklist?: unknown[]; taskStatusId?: unknown },
): Promise<CommentRow> {
  const values: Dict = { editor_id: guest.id, updated_at: utcNow() };
  if (changes.text !== undefined) values.text = changes.text;
  if (changes.checklist !== undefined) values.checklist = JSON.stringify(changes.checklist);
  if (changes.taskStatusId !== undefined && changes.taskStatusId !== null && changes.taskStatusId !== comment.task_status_id) {
    values.task_status_id = (await guestStatus(c.get("db"), changes.taskStatusId)).id;
  }
  return transact(c, async (tx) => {
    const row = (await tx.updateTable("comment").set(values as any).where("id", "=", comment.id).returningAll().executeTakeFirstOrThrow()) as CommentRow;
    await afterCommentEdit(c, row, comment as CommentRow);
    return row;
  });
}

/** Stores uploaded files as attachments of a comment (one transaction); returns the comment row. */
export async function attachToGuestComment(c: AppContext, commentId: string, files: UploadedFile[]): Promise<CommentRow> {
  await transact(c, async () => {
    for (const file of files) await storeAttachment(c, { commentId }, file);
  });
  return (await c.get("db").selectFrom("comment").selectAll().where("id", "=", commentId).executeTakeFirstOrThrow()) as CommentRow;
}

/** An attachment file's id and comment, or undefined. */
export async function attachmentOfComment(db: Db, attachmentId: string): Promise<{ id: string; comment_id: string | null } | undefined> {
  return db.selectFrom("attachment_file").select(["id", "comment_id"]).where("id", "=", normalizeId(attachmentId)).executeTakeFirst();
}

/** An attachment file with its comment's task (`object_id`), `for_client` and whether its author is a guest. */
export async function attachmentWithCommentAuthor(db: Db, attachmentId: string) {
  return db
    .selectFrom("attachment_file")
    .innerJoin("comment", "comment.id", "attachment_file.comment_id")
    .innerJoin("person", "person.id", "comment.person_id")
    .selectAll("attachment_file")
    .select(["comment.object_id", "comment.for_client", "person.is_guest"])
    .where("attachment_file.id", "=", normalizeId(attachmentId))
    .executeTakeFirst();
}
