/**
 * Row reads of the comments routes: the task status and the author a new comment names, attachment
 * files by id, and the attachments of the comments of a project's tasks or of one task.
 */
import type { Db } from "../db/database";
import type { Selectable } from "kysely";
import { getRowById } from "../db/rows";
import type { AttachmentFileTable } from "../db/tables.generated";
import type { TaskStatusRow } from "./tasks";
import { isUuid, normalizeId } from "../lib/ids";

/** A task status by a raw id, if it is an id and exists. */
export async function findTaskStatus(db: Db, rawId: unknown) {
  if (!isUuid(rawId)) return undefined;
  return (await getRowById(db, "task_status", normalizeId(String(rawId)))) as TaskStatusRow | undefined;
}

/** The id of a person by a raw id, if it is an id and exists. */
export async function findPersonId(db: Db, rawId: unknown): Promise<string | undefined> {
  if (!isUuid(rawId)) return undefined;
  return (await getRowById(db, "person", normalizeId(String(rawId))))?.id as string | undefined;
}

/** An attachment file by a (normalized) id, if any. */
export async function findAttachmentFile(db: Db, attachmentId: string) {
  return (await getRowById(db, "attachment_file", attachmentId)) as Selectable<AttachmentFileTable> | undefined;
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
