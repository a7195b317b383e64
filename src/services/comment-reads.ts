/**
 * Row reads of the comments routes: the task status and the author a new comment names, attachment
 * files by id, and the attachments of the comments of a project's tasks or of one task.
 */
import type { Db } from "../db/database";
import { isUuid, normalizeId } from "../lib/ids";

/** A task status by a raw id, if it is an id and exists. */
export async function findTaskStatus(db: Db, rawId: unknown) {
  if (!isUuid(rawId)) return undefined;
  return db.selectFrom("task_status").selectAll().where("id", "=", normalizeId(String(rawId))).executeTakeFirst();
}

/** The id of a person by a raw id, if it is an id and exists. */
export async function findPersonId(db: Db, rawId: unknown): Promise<string | undefined> {
  if (!isUuid(rawId)) return undefined;
  return (await db.selectFrom("person").select("id").where("id", "=", normalizeId(String(rawId))).executeTakeFirst())?.id;
}

/** An attachment file by a (normalized) id, if any. */
export async function findAttachmentFile(db: Db, attachmentId: string) {
  return db.selectFrom("attachment_file").selectAll().where("id", "=", attachmentId).executeTakeFirst();
}

/** Attachment rows of the comments of a project's tasks or of one task, oldest first. */
export async function commentAttachmentRows(db: Db, scope: { projectId: string } | { taskId: string }) {
  return db
    .selectFrom("attachment_file")
    .innerJoin("comment", "comment.id", "attachment_file.comment_id")
    .innerJoin("task", "task.id", "comment.object_id")
    .selectAll("attachment_file")
    .where("projectId" in scope ? "task.project_id" : "task.id", "=", "projectId" in scope ? scope.projectId : scope.taskId)
    .orderBy("attachment_file.created_at")
    .execute();
}
