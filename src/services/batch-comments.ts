/**
 * Batch comments with previews (`/actions/tasks[/{task_id}]/batch-comment`, previews.md): each
 * item's task and status checked first, then one comment per item, each in its own transaction,
 * with its preview files uploaded to new preview slots.
 */
import type { AppContext } from "../context";
import { getRowById } from "../db/rows";
import { transact } from "../db/transaction";
import { badRequest, notFound } from "../lib/errors";
import { isUuid, normalizeId } from "../lib/ids";
import type { UploadedFile } from "./attachments";
import { addPreviewToComment, checkCanComment, commentDate, createComment } from "./comments";
import { checkTaskAccess, effectiveRole } from "./permissions";
import { getPreview } from "./preview-files";
import { processUpload } from "./preview-processing";
import type { Dict, TaskRow } from "./tasks";

export interface PlannedComment {
  index: number;
  task: TaskRow;
  status: Dict;
  item: Dict;
}

/**
 * Checks every item in order (an object; its task, the fixed one or `object_id`/`task_id`; its
 * `task_status_id`: 404 when unknown; task access; the right to comment with that status).
 */
export async function planBatchComments(c: AppContext, items: unknown[], fixedTask: TaskRow | null): Promise<PlannedComment[]> {
  const db = c.get("db");
  const planned: PlannedComment[] = [];
  for (const [index, raw] of items.entries()) {
    if (!raw || typeof raw !== "object") throw badRequest("Each comment must be an object.");
    const item = raw as Dict;
    const taskId = fixedTask ? fixedTask.id : item.object_id ?? item.task_id;
    const task = fixedTask ?? (isUuid(taskId) ? await db.selectFrom("task").selectAll().where("id", "=", normalizeId(String(taskId))).executeTakeFirst() : undefined);
    if (!task) throw notFound();
    const status = isUuid(item.task_status_id) ? await getRowById(db, "task_status", normalizeId(String(item.task_status_id))) : undefined;
    if (!status) throw notFound();
    await checkTaskAccess(c, { project_id: task.project_id!, entity_id: task.entity_id! });
    await checkCanComment(c, task as TaskRow, status as never);
    planned.push({ index, task: task as TaskRow, status, item });
  }
  return planned;
}

/**
 * Creates the planned comments with their files (`attachment_file-<i>`, `file-<i>` attach;
 * `preview_file-<i>` become previews; a refused preview is left out). Managers may set the author
 * and the date.
 */
export async function createBatchComments(c: AppContext, planned: PlannedComment[], files: UploadedFile[]): Promise<Dict[]> {
  const db = c.get("db");
  const ofComment = (prefix: string, index: number) =>
    files.filter((file) => file.field === `${prefix}-${index}` || file.field.startsWith(`${prefix}-${index}-`));
  const created: Dict[] = [];
  for (const { index, task, status, item } of planned) {
    const role = await effectiveRole(c, task.project_id);
    const manager = role === "admin" || role === "manager";
    const comment = await transact(c, async (trx) => {
      const current = await trx.selectFrom("task").selectAll().where("id", "=", task.id).executeTakeFirstOrThrow();
      return createComment(c, {
        task: current,
        status: status as never,
        text: item.comment === undefined || item.comment === null ? "" : String(item.comment),
        personId: manager && isUuid(item.person_id) ? normalizeId(String(item.person_id)) : c.get("user").id,
        checklist: Array.isArray(item.checklist) ? item.checklist : [],
        links: Array.isArray(item.links) ? item.links : undefined,
        createdAt: manager ? commentDate(item.created_at) : null,
        files: [...ofComment("attachment_file", index), ...ofComment("file", index)],
      });
    });
    const previews: Dict[] = [];
    for (const file of ofComment("preview_file", index)) {
      try {
        const slot = await transact(c, async (trx) => {
          const commentRow = await trx.selectFrom("comment").selectAll().where("id", "=", String(comment.id)).executeTakeFirstOrThrow();
          return addPreviewToComment(c, commentRow, task, null);
        });
        previews.push(await processUpload(c, await getPreview(db, String(slot.id)), file, { normalize: true, noJob: false }));
      } catch (error) {
        // Failed files are left out of the comment's previews (Zou tolerates them).
        console.error(`batch comment ${comment.id}: preview ${file.filename} refused: ${error instanceof Error ? error.message : error}`);
      }
    }
    created.push({ ...comment, previews, preview_files: previews });
  }
  return created;
}
