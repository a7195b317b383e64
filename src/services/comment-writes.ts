/**
 * Comment writes of the comments routes that sit beside services/comments.ts: the comments of a
 * `comment-many` call, created in one transaction, and files attached to a comment or its reply.
 */
import type { AppContext } from "../context";
import { transact } from "../db/transaction";
import { storeAttachment, type UploadedFile } from "./attachments";
import { commentReplies, createComment, type CommentRow } from "./comments";
import type { Dict, TaskRow } from "./tasks";

/** One comment of a `comment-many` call, checked: its index in the list, task, status and content. */
export interface PlannedComment {
  index: number;
  task: TaskRow;
  status: any;
  text: string;
  checklist: unknown[];
  links?: unknown[];
}

/**
 * Creates the planned comments in one transaction, each on its task as it is then, by the caller,
 * with the files sent as `attachment_file-<index>-*`. Returns the created comments.
 */
export async function createPlannedComments(c: AppContext, planned: PlannedComment[], files: UploadedFile[]): Promise<Dict[]> {
  return transact(c, async () => {
    const result: Dict[] = [];
    for (const entry of planned) {
      const current = await c.get("db").selectFrom("task").selectAll().where("id", "=", entry.task.id).executeTakeFirstOrThrow();
      const own = files.filter((file) => file.field.startsWith(`attachment_file-${entry.index}-`));
      result.push(await createComment(c, {
        task: current, status: entry.status, text: entry.text, personId: c.get("user").id, checklist: entry.checklist,
        links: entry.links, files: own, authorWithDepartments: true,
      }));
    }
    return result;
  });
}

/**
 * Stores files as attachments of a comment, or of one of its replies (listed in that reply's
 * `attachment_files` too), in one transaction. No event: Zou's route announces nothing (the
 * attachments are in its answer). Returns the attachments.
 */
export async function attachFilesToComment(c: AppContext, comment: CommentRow, replyId: string | null, files: UploadedFile[]) {
  return transact(c, async () => {
    const stored: Awaited<ReturnType<typeof storeAttachment>>[] = [];
    for (const file of files) stored.push(await storeAttachment(c, { commentId: comment.id, replyId }, file));
    if (replyId && stored.length > 0) {
      const replies = commentReplies(comment).map((reply) =>
        reply.id === replyId ? { ...reply, attachment_files: [...(reply.attachment_files ?? []), ...stored] } : reply);
      await c.get("db").updateTable("comment").set({ replies: JSON.stringify(replies) }).where("id", "=", comment.id).execute();
    }
    return stored;
  });
}
