/**
 * Routes of the `comments` area of routes.tsv: commenting a task (JSON or multipart with
 * attachments), comments on many tasks, acknowledgements, replies, attachments, moving a comment.
 */
import type { Hono } from "hono";
import type { AppContext, AppEnv } from "../context";
import { transact } from "../db/transaction";
import { readBodyValue, readLooseBody, validate } from "../lib/body";
import { boolWordSchema } from "../lib/validation";
import { badRequest, forbidden, notFound } from "../lib/errors";
import { isUuid, normalizeId, serviceId } from "../lib/ids";
import { sendStoredFile } from "../lib/file-response";
import { isTrueWord } from "../crud/values";
import * as v from "valibot";
import {
  checkAdmin,
  checkManagerProjectAccess,
  checkProjectAccess,
  checkTaskAccess,
  checkTaskActionAccess,
  effectiveRole,
  isManagerGlobally,
} from "../services/permissions";
import { emit, getProject, getTask, type Dict, type TaskRow } from "../services/tasks";
import {
  checkCanComment,
  checkCanReply,
  checkStatusAccess,
  commentDate,
  commentReplies,
  createComment,
  deleteReply,
  getTaskComment,
  moveComment,
  toggleAcknowledgement,
  replyToComment,
} from "../services/comments";
import {
  attachmentFileAccess,
  attachmentPath,
  presentAttachmentRows,
  discardUploads,
  isMultipart,
  readMultipart,
  removeAttachmentFile,
  type UploadedFile,
} from "../services/attachments";
import { findTask } from "../services/task-reads";
import { commentAttachmentRows, findAttachmentFile, findPersonId, findTaskStatus } from "../services/comment-reads";
import { attachFilesToComment, createPlannedComments, type PlannedComment } from "../services/comment-writes";

/** Reads a comment-like body: multipart (text fields + `file-N` files) or JSON/form. */
async function readCommentBody(c: AppContext, fileField: (name: string) => boolean = (name) => name.startsWith("file")) {
  if (isMultipart(c)) {
    const { fields, files } = await readMultipart(c, fileField);
    return { body: fields as Dict, files, multipart: true };
  }
  return { body: (await readLooseBody(c)) as Dict, files: [] as UploadedFile[], multipart: false };
}

/** A JSON list given as a list or as JSON text (multipart fields); 400 otherwise. */
function jsonList(value: unknown, name: string): unknown[] {
  if (value === undefined || value === null || value === "") return [];
  if (Array.isArray(value)) return value;
  if (typeof value === "string") {
    try {
      const parsed = JSON.parse(value);
      if (Array.isArray(parsed)) return parsed;
    } catch {
      /* fall through */
    }
  }
  throw badRequest(`${name} must be a list.`);
}

const commentSchema = v.object({
  task_status_id: v.pipe(v.string("Task Status ID is missing"), v.nonEmpty("Task Status ID is missing")),
  comment: v.optional(v.nullable(v.string("must be a string"))),
  person_id: v.optional(v.nullable(v.string("must be an id"))),
  created_at: v.optional(v.nullable(v.string("must be a date time"))),
  for_client: v.optional(v.nullable(boolWordSchema)),
  checklist: v.optional(v.nullable(v.union([v.array(v.unknown()), v.string()], "must be a list"))),
  links: v.optional(v.nullable(v.union([v.array(v.string()), v.string()], "must be a list"))),
});

/** The list of comment-many: objects whose `comment` is a text. */
const CommentManyBody = v.array(
  v.looseObject({ comment: v.optional(v.nullable(v.string("must be a string"))) }, "must be an object"),
);

/** Author of the comment, else manager of its project (attachments). */
async function checkAuthorOrManager(c: AppContext, comment: { person_id: string }, task: TaskRow): Promise<void> {
  if (comment.person_id === c.get("user").id) {
    await checkProjectAccess(c, task.project_id);
    return;
  }
  await checkManagerProjectAccess(c, task.project_id);
}

export function registerComments(app: Hono<AppEnv>): void {
  app.post("/actions/tasks/:task_id/comment", async (c) => {
    const task = await getTask(c, c.req.param("task_id"));
    // Members only, before any upload is written to disk; the status-specific checks follow.
    await checkTaskAccess(c, { project_id: task.project_id!, entity_id: task.entity_id! });
    const { body, files } = await readCommentBody(c);
    try {
      validate(commentSchema, body);
      const db = c.get("db");
      const statusId = String(body.task_status_id);
      const status = await findTaskStatus(db, statusId);
      if (!status) throw notFound();
      const role = await checkCanComment(c, task, status);
      const checklist = jsonList(body.checklist, "checklist");
      const links = body.links === undefined ? undefined : jsonList(body.links, "links");
      const text = body.comment === undefined || body.comment === null ? "" : String(body.comment);
      let personId = c.get("user").id;
      let createdAt: string | null = null;
      let forClient = false;
      if (role === "admin" || role === "manager") {
        if (body.person_id) {
          const authorId = await findPersonId(db, body.person_id);
          if (!authorId) throw notFound();
          personId = authorId;
        }
        createdAt = commentDate(body.created_at);
        forClient = isTrueWord(body.for_client);
      }
      const comment = await transact(c, () =>
        createComment(c, { task, status, text, personId, checklist, links, forClient, createdAt, files, hashtags: true }));
      return c.json(comment, 201);
    } finally {
      await discardUploads(files);
    }
  });

  app.post("/actions/projects/:project_id/tasks/comment-many", async (c) => {
    const project = await getProject(c, c.req.param("project_id"));
    await checkProjectAccess(c, project.id);
    let items: unknown;
    let files: UploadedFile[] = [];
    if (isMultipart(c)) {
      const parsed = await readMultipart(c, (name) => name.startsWith("attachment_file-"));
      files = parsed.files;
      items = parsed.fields.comments ? jsonList(parsed.fields.comments, "comments") : [];
    } else {
      items = await readBodyValue(c);
    }
    try {
      if (!Array.isArray(items)) throw badRequest("A list of comments is required.");
      validate(CommentManyBody, items);
      const db = c.get("db");
      const role = await effectiveRole(c, project.id);
      const manager = role === "admin" || role === "manager";
      const planned: PlannedComment[] = [];
      for (const [index, raw] of items.entries()) {
        if (!raw || typeof raw !== "object") continue;
        const item = raw as Dict;
        const taskId = item.object_id ?? item.task_id;
        if (!isUuid(taskId) || !isUuid(item.task_status_id)) continue;
        const task = await findTask(db, normalizeId(String(taskId)));
        const status = await findTaskStatus(db, item.task_status_id);
        if (!task || !status || task.project_id !== project.id) continue;
        if (!manager) {
          try {
            await checkTaskActionAccess(c, { id: task.id, project_id: task.project_id!, entity_id: task.entity_id!, task_type_id: task.task_type_id! });
          } catch {
            continue;
          }
          checkStatusAccess(role, status);
        }
        planned.push({
          index, task, status, text: item.comment === undefined || item.comment === null ? "" : String(item.comment),
          checklist: jsonList(item.checklist, "checklist"), links: item.links === undefined ? undefined : jsonList(item.links, "links"),
        });
      }
      return c.json(await createPlannedComments(c, planned, files), 201);
    } finally {
      await discardUploads(files);
    }
  });

  app.post("/data/tasks/:task_id/comments/:comment_id/ack", async (c) => {
    const task = await getTask(c, c.req.param("task_id"));
    await checkTaskAccess(c, { project_id: task.project_id!, entity_id: task.entity_id! });
    const comment = await getTaskComment(c, task, c.req.param("comment_id"));
    return c.json(await transact(c, () => toggleAcknowledgement(c, comment, task)));
  });

  app.post("/data/tasks/:task_id/comments/:comment_id/reply", async (c) => {
    const task = await getTask(c, c.req.param("task_id"));
    const comment = await getTaskComment(c, task, c.req.param("comment_id"));
    await checkCanReply(c, comment, task);
    const { body, files } = await readCommentBody(c);
    try {
      if (body.text !== undefined && body.text !== null && typeof body.text !== "string") throw badRequest("text must be a string.");
      const text = typeof body.text === "string" ? body.text : "";
      const reply = await transact(c, () => replyToComment(c, comment, task, text, files));
      return c.json(reply);
    } finally {
      await discardUploads(files);
    }
  });

  app.delete("/data/tasks/:task_id/comments/:comment_id/reply/:reply_id", async (c) => {
    const task = await getTask(c, c.req.param("task_id"));
    await checkTaskAccess(c, { project_id: task.project_id!, entity_id: task.entity_id! });
    const comment = await getTaskComment(c, task, c.req.param("comment_id"));
    const replyId = c.req.param("reply_id");
    return c.json(await transact(c, () => deleteReply(c, comment, task, replyId)));
  });

  app.delete("/data/tasks/:task_id/comments/:comment_id/attachments/:attachment_file_id", async (c) => {
    const task = await getTask(c, c.req.param("task_id"));
    const comment = await getTaskComment(c, task, c.req.param("comment_id"));
    const attachmentId = serviceId(c.req.param("attachment_file_id"));
    const attachment = await findAttachmentFile(c.get("db"), attachmentId);
    if (!attachment || attachment.comment_id !== comment.id) throw notFound();
    await checkAuthorOrManager(c, comment, task);
    await transact(c, async () => {
      await removeAttachmentFile(c, attachment.id);
      await emit(c, "comment:update", { comment_id: comment.id }, task.project_id);
    });
    return c.body(null, 204);
  });

  app.post("/actions/tasks/:task_id/comments/:comment_id/add-attachment", async (c) => {
    const task = await getTask(c, c.req.param("task_id"));
    const comment = await getTaskComment(c, task, c.req.param("comment_id"));
    await checkAuthorOrManager(c, comment, task);
    if (!isMultipart(c)) throw badRequest("No file provided.");
    const { fields, files } = await readMultipart(c, (name) => name.startsWith("file"));
    try {
      const replyId = fields.reply_id || null;
      if (replyId && !commentReplies(comment).some((reply) => reply.id === replyId)) throw notFound();
      return c.json(await attachFilesToComment(c, comment, replyId, files), 201);
    } finally {
      await discardUploads(files);
    }
  });

  app.post("/actions/tasks/:task_id/comments/:comment_id/move", async (c) => {
    if (!isManagerGlobally(c.get("user"))) throw forbidden();
    const task = await getTask(c, c.req.param("task_id"));
    await checkTaskAccess(c, { project_id: task.project_id!, entity_id: task.entity_id! });
    const comment = await getTaskComment(c, task, c.req.param("comment_id"));
    const body = await readLooseBody(c);
    if (!body.task_id) throw badRequest("task_id is required.");
    const target = await getTask(c, validate(v.string("task_id must be an id."), body.task_id));
    await checkTaskAccess(c, { project_id: target.project_id!, entity_id: target.entity_id! });
    return c.json(await transact(c, () => moveComment(c, comment, task, target)));
  });

  app.get("/data/attachment-files/:attachment_file_id/file/:file_name", async (c) => {
    const id = serviceId(c.req.param("attachment_file_id"));
    const attachment = await findAttachmentFile(c.get("db"), id);
    if (!attachment) throw notFound();
    await attachmentFileAccess(c, attachment);
    // Served by name and extension from the server's safe list; the uploader's mimetype is ignored.
    const name = attachment.name || `${attachment.id}.${attachment.extension ?? ""}`;
    const response = await sendStoredFile(c.req.raw, { path: attachmentPath(c.get("config"), attachment.id), filename: name });
    if (!response) throw notFound();
    return response;
  });

  /** Attachments of the comments of a project's tasks or of one task, oldest first. */
  const commentAttachments = async (c: AppContext, scope: { projectId: string } | { taskId: string }) => {
    return c.json(await presentAttachmentRows(c, await commentAttachmentRows(c.get("db"), scope)));
  };
  app.get("/data/projects/:project_id/attachment-files", async (c) => {
    checkAdmin(c);
    return commentAttachments(c, { projectId: (await getProject(c, c.req.param("project_id"))).id });
  });
  app.get("/data/tasks/:task_id/attachment-files", async (c) => {
    checkAdmin(c);
    return commentAttachments(c, { taskId: (await getTask(c, c.req.param("task_id"))).id });
  });
}

