/**
 * Comment attachments: streaming multipart reading (busboy, files written to the upload staging
 * folder as they arrive, never held in memory: src/lib/uploads.ts), storage in the `files` bucket
 * under `PREVIEW_FOLDER`
 * (previews.md §7 layout: `files/attachments/<id[0:3]>/<id[3:6]>/<id>`), rows and removal.
 */
import type Busboy from "busboy";
import { createWriteStream, type WriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { AppContext } from "../context";
import type { Config } from "../config";
import { chunks } from "../lib/chunks";
import { ApiError, badRequest, forbidden } from "../lib/errors";
import { payloadTooLarge } from "../lib/body-limit";
import { serialize } from "../db/serialize";
import { checkEntityAccess, checkProjectAccess, checkTaskAccess } from "./permissions";
import { newId, utcNow } from "../lib/ids";
import { forgetStoredFiles } from "./stored-files";
import { ensureStagingFolder, loadBusboy, placeStoredFile, PRIVATE_FILE_MODE, stagingPath } from "../lib/uploads";

export interface UploadedFile {
  /** Form field name (`file-0`, `file-1`...). */
  field: string;
  filename: string;
  mimetype: string;
  size: number;
  /** Where the bytes were written (the upload staging folder); moved once stored, else removed. */
  tmpPath: string;
}

export interface MultipartBody {
  fields: Record<string, string>;
  files: UploadedFile[];
}

export function isMultipart(c: AppContext): boolean {
  return (c.req.header("content-type") ?? "").toLowerCase().includes("multipart/form-data");
}

/**
 * Reads a multipart body as a stream: text fields are collected, each file part whose field name
 * passes `acceptFile` is written to the upload staging folder while it arrives (others are drained).
 */
export async function readMultipart(c: AppContext, acceptFile: (field: string) => boolean = () => true): Promise<MultipartBody> {
  const body = c.req.raw.body;
  const contentType = c.req.header("content-type") ?? "";
  const staging = await ensureStagingFolder(c.get("config"));
  const fields: Record<string, string> = {};
  const files: UploadedFile[] = [];
  if (!body) return { fields, files };
  const createParser = await loadBusboy();
  let parser: ReturnType<typeof Busboy>;
  try {
    parser = createParser({ headers: { "content-type": contentType }, defParamCharset: "utf8" });
  } catch {
    throw badRequest("Malformed multipart body.");
  }
  const writes: Promise<void>[] = [];
  const outs: WriteStream[] = [];
  const input = Readable.fromWeb(body as any);
  // Text fields are held in memory: together, no more than a JSON body may weigh.
  const fieldBudget = c.get("config").maxJsonBodySize;
  let fieldBytes = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      parser.on("field", (name, value) => {
        fieldBytes += name.length + value.length;
        if (fieldBytes > fieldBudget) {
          reject(payloadTooLarge());
          input.unpipe(parser);
          input.destroy();
          return;
        }
        fields[name] = value;
      });
      parser.on("file", (field, stream, info) => {
        if (!acceptFile(field) || !info.filename) {
          stream.resume();
          return;
        }
        const upload: UploadedFile = {
          field,
          filename: info.filename,
          mimetype: info.mimeType || "application/octet-stream",
          size: 0,
          tmpPath: stagingPath(staging),
        };
        files.push(upload);
        const out = createWriteStream(upload.tmpPath, { mode: PRIVATE_FILE_MODE });
        outs.push(out);
        stream.on("data", (chunk: Buffer) => {
          upload.size += chunk.length;
        });
        writes.push(
          new Promise<void>((done, fail) => {
            out.on("finish", () => done());
            out.on("error", fail);
            stream.on("error", fail);
          }),
        );
        stream.pipe(out);
      });
      parser.on("error", (error) => reject(error));
      parser.on("close", () => resolve());
      input.on("error", (error) => reject(error));
      input.pipe(parser);
    });
    await Promise.all(writes);
  } catch (error) {
    for (const out of outs) out.destroy();
    await discardUploads(files);
    if (error instanceof ApiError) throw error;
    throw badRequest("Malformed multipart body.");
  }
  return { fields, files };
}

/** Removes temporary upload files (always call once the request is done with them). */
export async function discardUploads(files: UploadedFile[]): Promise<void> {
  for (const file of files) await rm(file.tmpPath, { force: true }).catch(() => undefined);
}

/**
 * Local path of a stored object (previews.md §7): key `<prefix>-<id>`, A = text before the first
 * `-` of the key, B = the rest: `<root>/<bucket>/<A>/<B[0:3]>/<B[3:6]>/<B>`.
 */
export function storedFilePath(root: string, bucket: string, prefix: string, id: string): string {
  const key = `${prefix}-${id}`;
  const dash = key.indexOf("-");
  const a = key.slice(0, dash);
  const b = key.slice(dash + 1);
  if (a === "dbbackup") return join(root, bucket, "dbbackup", b);
  return join(root, bucket, a, b.slice(0, 3), b.slice(3, 6), b);
}

export function attachmentPath(config: Config, attachmentId: string): string {
  return storedFilePath(config.previewFolder, "files", "attachments", attachmentId);
}

/** Extension of a file name: text after the last dot, lower-cased (column is 6 characters). */
export function fileExtension(filename: string): string {
  const dot = filename.lastIndexOf(".");
  return dot === -1 ? "" : filename.slice(dot + 1).toLowerCase().slice(0, 6);
}

/** `present()` of an attachment file. */
export function presentAttachment(row: { id: string; name: string | null; extension: string | null; size: number | null }) {
  return { id: row.id, name: row.name, extension: row.extension, size: row.size === null ? null : Number(row.size) };
}

/**
 * Stores an uploaded file as an attachment of a comment (or of a reply inside it): puts the bytes
 * in place (a rename from the staging folder), then creates the row; the file goes again if the
 * row is not committed. Returns the attachment's `present()` dict.
 */
export async function storeAttachment(
  c: AppContext,
  target: { commentId?: string | null; replyId?: string | null; chatMessageId?: string | null },
  file: UploadedFile,
) {
  const now = utcNow();
  const row = {
    id: newId(),
    created_at: now,
    updated_at: now,
    name: file.filename.slice(0, 250),
    size: file.size,
    extension: fileExtension(file.filename),
    mimetype: file.mimetype.slice(0, 255),
    comment_id: target.commentId ?? null,
    reply_id: target.replyId ?? null,
    chat_message_id: target.chatMessageId ?? null,
  };
  const db = c.get("db");
  const stored = attachmentPath(c.get("config"), row.id);
  await placeStoredFile(db, file.tmpPath, stored);
  try {
    await db.insertInto("attachment_file").values(row).execute();
  } catch (error) {
    if (!db.isTransaction) await rm(stored, { force: true }).catch(() => undefined);
    throw error;
  }
  return presentAttachment(row);
}

/** Deletes an attachment row; its stored bytes go after commit when REMOVE_FILES is on. */
export async function removeAttachmentFile(c: AppContext, attachmentId: string): Promise<void> {
  await c.get("db").deleteFrom("attachment_file").where("id", "=", attachmentId).execute();
  await forgetStoredFiles(c, "attachment_file", [attachmentId]);
}

/** Read access to an attachment: its comment's task, or its chat's entity; 403 when neither. */
export async function attachmentFileAccess(c: AppContext, attachment: { comment_id: string | null; chat_message_id: string | null }): Promise<void> {
  const db = c.get("db");
  if (attachment.comment_id) {
    const comment = await db.selectFrom("comment").select("object_id").where("id", "=", attachment.comment_id).executeTakeFirst();
    const task = comment ? await db.selectFrom("task").selectAll().where("id", "=", comment.object_id).executeTakeFirst() : undefined;
    if (!task) throw forbidden();
    await checkTaskAccess(c, { project_id: task.project_id!, entity_id: task.entity_id! });
    return;
  }
  if (attachment.chat_message_id) {
    const chat = await db
      .selectFrom("chat_message")
      .innerJoin("chat", "chat.id", "chat_message.chat_id")
      .select("chat.object_id")
      .where("chat_message.id", "=", attachment.chat_message_id)
      .executeTakeFirst();
    const entity = chat ? await db.selectFrom("entity").select(["id", "project_id"]).where("id", "=", chat.object_id).executeTakeFirst() : undefined;
    if (!entity) throw forbidden();
    await checkProjectAccess(c, entity.project_id);
    await checkEntityAccess(c, entity);
    return;
  }
  throw forbidden();
}

/** Attachment rows with their nested comment (Zou's serializer embeds it). */
export async function presentAttachmentRows(c: AppContext, rows: Record<string, any>[]): Promise<Record<string, unknown>[]> {
  const db = c.get("db");
  const commentIds = [...new Set(rows.map((r) => r.comment_id).filter(Boolean))] as string[];
  const comments = new Map<string, Record<string, unknown>>();
  for (const part of chunks(commentIds)) {
    for (const row of await db.selectFrom("comment").selectAll().where("id", "in", part).execute()) comments.set(row.id, serialize("comment", row));
  }
  const messageIds = [...new Set(rows.map((r) => r.chat_message_id).filter(Boolean))] as string[];
  const messages = new Map<string, Record<string, unknown>>();
  for (const part of chunks(messageIds)) {
    for (const row of await db.selectFrom("chat_message").selectAll().where("id", "in", part).execute()) messages.set(row.id, serialize("chat_message", row));
  }
  return rows.map((row) => ({
    ...serialize("attachment_file", row),
    comment: row.comment_id ? comments.get(row.comment_id) ?? null : null,
    chat_message: row.chat_message_id ? messages.get(row.chat_message_id) ?? null : null,
  }));
}

