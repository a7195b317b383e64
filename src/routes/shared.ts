/**
 * Routes of the `shared` area (routes.tsv): account-less review of a playlist through a share
 * link. These paths are public for the auth middleware (no JWT): every route here checks the link
 * itself (services/shared-links.ts). The JSON routes also need the link's password when it has one
 * (`?password=`, or `password` in a JSON body); media routes only serve previews of the shared
 * playlist's entities, as Kitsu's player puts no password in media URLs.
 */
import type { Hono } from "hono";
import type { AppContext, AppEnv, PersonRow } from "../context";
import { readJsonObject, readLooseBody } from "../lib/body";
import { ApiError, badRequest, notFound } from "../lib/errors";
import { isUuid, normalizeId } from "../lib/ids";
import { sendStoredFile } from "../lib/file-response";
import { isTrue, serialize } from "../db/serialize";
import { transact } from "../db/transaction";
import type { PlaylistRow } from "../services/playlists";
import {
  checkCanComment,
  createGuest,
  guestComment,
  guestStatus,
  linkGuest,
  sharedPlaylist,
  sharedPreviewFile,
  sharedTaskIds,
  validateShareLink,
  type ShareLinkRow,
} from "../services/shared-links";
import {
  attachmentOfComment,
  attachmentWithCommentAuthor,
  attachToGuestComment,
  enrichedPlaylist,
  presentedSharedComments,
  presentGuestComment,
  sharedContext,
  sharedTask,
  updateGuestComment,
} from "../services/shared-review";
import { createComment, deleteComment, type CommentRow } from "../services/comments";
import { attachmentPath, discardUploads, isMultipart, readMultipart, removeAttachmentFile } from "../services/attachments";
import { movieFile, originalFile, previewDownloadName } from "../services/preview-media";
import { firstStored } from "../services/preview-storage";
import { FILE_EXTENSIONS, PICTURE_EXTENSIONS } from "../services/preview-processing";
import { updateAnnotations, type PreviewRow } from "../services/preview-files";
import type { Row } from "../db/rows";
import type { Dict } from "../services/tasks";

interface Shared {
  link: ShareLinkRow;
  playlist: PlaylistRow;
}

/** The link of the path token; with `password`, the password of a protected link is checked too. */
async function shared(c: AppContext, options: { password: boolean; body?: Dict }): Promise<Shared> {
  const bodyPassword = typeof options.body?.password === "string" ? (options.body.password as string) : null;
  const link = await validateShareLink(c, c.req.param("token") ?? "", {
    checkPassword: options.password,
    password: c.req.query("password") ?? bodyPassword,
  });
  return { link, playlist: await sharedPlaylist(c.get("db"), link) };
}

/** The guest acting on this request; the request then runs as that person (events, comment authors). */
async function actingGuest(c: AppContext, link: ShareLinkRow, guestId: unknown): Promise<PersonRow> {
  if (guestId === undefined || guestId === null || guestId === "") throw badRequest("guest_id is required.");
  const guest = await linkGuest(c.get("db"), link, guestId);
  c.set("user", guest);
  return guest;
}

async function jsonBody(c: AppContext): Promise<Dict> {
  return (await readJsonObject(c)) as Dict;
}

function optionalText(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw badRequest(`${name} must be a string.`);
  return value;
}

function optionalList(value: unknown, name: string): unknown[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw badRequest(`${name} must be a list.`);
  return value;
}

// ---------------------------------------------------------------------------------------------
// Media

/** `<uuid>.<ext>` of a media path segment; 404 when malformed. */
function mediaId(segment: string | undefined, extension?: string): { id: string; extension: string } {
  const match = /^([0-9a-fA-F-]{36})\.([A-Za-z0-9]+)$/.exec(segment ?? "");
  if (!match || !isUuid(match[1]) || (extension && match[2]!.toLowerCase() !== extension)) throw notFound();
  return { id: normalizeId(match[1]!), extension: match[2]!.toLowerCase() };
}

async function send(c: AppContext, path: string | null, options: { extension: string; filename?: string | null; download?: boolean }): Promise<Response> {
  const response = path ? await sendStoredFile(c.req.raw, { path, ...options }) : null;
  if (!response) throw notFound();
  return response;
}

/** A list of annotation changes (objects), or a 400 naming the field. */
function annotationList(value: unknown, name: string): Dict[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((item) => item && typeof item === "object" && !Array.isArray(item))) throw badRequest(`${name} must be a list of objects.`);
  return value as Dict[];
}

async function previewForMedia(c: AppContext, segment: string | undefined, extension?: string): Promise<{ preview: Row; extension: string }> {
  const { playlist } = await shared(c, { password: false });
  const parsed = mediaId(segment, extension);
  return { preview: await sharedPreviewFile(c.get("db"), playlist, parsed.id), extension: parsed.extension };
}

export function registerShared(app: Hono<AppEnv>): void {
  const base = "/shared/playlists/:token";

  app.get(base, async (c) => {
    const { playlist } = await shared(c, { password: true });
    return c.json(await enrichedPlaylist(c.get("db"), playlist));
  });

  app.get(`${base}/context`, async (c) => {
    const { playlist } = await shared(c, { password: true });
    return c.json(await sharedContext(c.get("db"), playlist));
  });

  app.post(`${base}/guest`, async (c) => {
    const body = await readLooseBody(c);
    const { link } = await shared(c, { password: true, body });
    const firstName = optionalText(body.first_name, "first_name")?.trim() || "Guest";
    const lastName = optionalText(body.last_name, "last_name")?.trim() ?? "";
    if (firstName.length > 80 || lastName.length > 80) throw badRequest("Names are limited to 80 characters.");
    if (body.guest_id !== undefined && body.guest_id !== null && body.guest_id !== "") {
      if (!isUuid(body.guest_id)) throw badRequest("guest_id must be a valid id.");
      const known = await linkGuest(c.get("db"), link, body.guest_id).catch(() => null);
      if (known) return c.json(serialize("person", known));
    }
    const { guest, created } = await transact(c, () => createGuest(c, link, firstName, lastName));
    return c.json(guest, created ? 201 : 200);
  });

  // Comments

  app.get(`${base}/comments`, async (c) => {
    const { playlist } = await shared(c, { password: true });
    return c.json(await presentedSharedComments(c, playlist));
  });

  app.post(`${base}/comments`, async (c) => {
    const body = await jsonBody(c);
    const { link, playlist } = await shared(c, { password: true, body });
    checkCanComment(link);
    if (!body.guest_id || !body.task_id || !body.task_status_id) throw badRequest("Missing required fields");
    const text = optionalText(body.text, "text") ?? "";
    const checklist = optionalList(body.checklist, "checklist");
    if (!isUuid(body.task_id)) throw badRequest("task_id must be a valid id.");
    const db = c.get("db");
    const guest = await actingGuest(c, link, body.guest_id);
    const taskId = normalizeId(body.task_id);
    if (!(await sharedTaskIds(db, playlist)).has(taskId)) throw new ApiError(403, { error: true, message: "This task is not part of the shared playlist." });
    const status = await guestStatus(db, body.task_status_id);
    const task = await sharedTask(db, taskId);
    const comment = await transact(c, () => createComment(c, { task, status: status as any, text, checklist, personId: guest.id, forClient: true }));
    return c.json(comment, 201);
  });

  app.put(`${base}/comments/:comment_id`, async (c) => {
    const body = await jsonBody(c);
    const { link, playlist } = await shared(c, { password: true, body });
    checkCanComment(link);
    const db = c.get("db");
    const text = optionalText(body.text, "text");
    const checklist = optionalList(body.checklist, "checklist");
    const guest = await actingGuest(c, link, body.guest_id);
    const comment = await guestComment(db, playlist, guest, c.req.param("comment_id"));
    const updated = await updateGuestComment(c, guest, comment, { text, checklist, taskStatusId: body.task_status_id });
    return c.json(await presentGuestComment(c, updated));
  });

  app.delete(`${base}/comments/:comment_id`, async (c) => {
    const body = await readLooseBody(c);
    const { link, playlist } = await shared(c, { password: true, body });
    const guest = await actingGuest(c, link, c.req.query("guest_id") ?? body.guest_id);
    const comment = await guestComment(c.get("db"), playlist, guest, c.req.param("comment_id"));
    await transact(c, () => deleteComment(c, comment as CommentRow));
    return c.body(null, 204);
  });

  app.post(`${base}/comments/:comment_id/attachments`, async (c) => {
    const { link, playlist } = await shared(c, { password: true });
    checkCanComment(link);
    if (!isMultipart(c)) throw badRequest("Attachments are sent as multipart/form-data.");
    const { fields, files } = await readMultipart(c, (name) => name.startsWith("file"));
    try {
      const guest = await actingGuest(c, link, c.req.query("guest_id") ?? fields.guest_id);
      const comment = await guestComment(c.get("db"), playlist, guest, c.req.param("comment_id"));
      if (files.length === 0) throw badRequest("No file was sent.");
      const stored = await attachToGuestComment(c, comment.id, files);
      return c.json(await presentGuestComment(c, stored), 201);
    } finally {
      await discardUploads(files);
    }
  });

  app.delete(`${base}/comments/:comment_id/attachments/:attachment_file_id`, async (c) => {
    const body = await readLooseBody(c);
    const { link, playlist } = await shared(c, { password: true, body });
    const guest = await actingGuest(c, link, c.req.query("guest_id") ?? body.guest_id);
    const comment = await guestComment(c.get("db"), playlist, guest, c.req.param("comment_id"));
    const rawId = c.req.param("attachment_file_id");
    if (!isUuid(rawId)) throw badRequest("attachment_file_id must be a valid id.");
    const attachment = await attachmentOfComment(c.get("db"), rawId);
    if (!attachment || attachment.comment_id !== comment.id) throw notFound();
    await removeAttachmentFile(c, attachment.id);
    return c.body(null, 204);
  });

  app.get(`${base}/attachment-files/:attachment_file_id/file/:file_name`, async (c) => {
    const { playlist } = await shared(c, { password: false });
    const missing = () => new ApiError(404, { error: "Attachment not found" });
    const rawId = c.req.param("attachment_file_id");
    if (!isUuid(rawId)) throw missing();
    const db = c.get("db");
    const attachment = await attachmentWithCommentAuthor(db, rawId);
    if (!attachment || !(isTrue(attachment.for_client) || isTrue(attachment.is_guest))) throw missing();
    if (!(await sharedTaskIds(db, playlist)).has(attachment.object_id)) throw missing();
    const response = await sendStoredFile(c.req.raw, { path: attachmentPath(c.get("config"), attachment.id), filename: attachment.name ?? attachment.id });
    if (!response) throw missing();
    return response;
  });

  app.put(`${base}/annotations`, async (c) => {
    const body = await jsonBody(c);
    const { link, playlist } = await shared(c, { password: true, body });
    checkCanComment(link);
    if (!body.guest_id || !body.preview_file_id) throw badRequest("Missing required fields");
    const changes = { additions: annotationList(body.additions, "additions"), updates: annotationList(body.updates, "updates"), deletions: annotationList(body.deletions, "deletions") };
    await actingGuest(c, link, body.guest_id);
    if (!isUuid(body.preview_file_id)) throw badRequest("preview_file_id must be a valid id.");
    const preview = (await sharedPreviewFile(c.get("db"), playlist, body.preview_file_id)) as PreviewRow;
    return c.json(await transact(c, () => updateAnnotations(c, preview, playlist.project_id, changes as never)));
  });

  // Preview files and their media

  app.get(`${base}/preview-files/:preview_file_id`, async (c) => {
    const { playlist } = await shared(c, { password: false });
    return c.json(serialize("preview_file", await sharedPreviewFile(c.get("db"), playlist, c.req.param("preview_file_id"))));
  });

  app.get(`${base}/preview-files/:preview_file_id/download`, async (c) => {
    const { playlist } = await shared(c, { password: false });
    const preview = (await sharedPreviewFile(c.get("db"), playlist, c.req.param("preview_file_id"))) as PreviewRow;
    const { path, extension } = await originalFile(c.get("config"), preview);
    return send(c, path, { extension, download: true, filename: await previewDownloadName(c.get("db"), preview) });
  });

  app.get(`${base}/movies/originals/preview-files/:preview_file_id{[^/]+\\.mp4}`, async (c) => {
    const { preview } = await previewForMedia(c, c.req.param("preview_file_id"), "mp4");
    return send(c, await movieFile(c.get("config"), preview.id, "originals"), { extension: "mp4" });
  });

  app.get(`${base}/movies/tiles/preview-files/:preview_file_id{[^/]+\\.png}`, async (c) => {
    const { preview } = await previewForMedia(c, c.req.param("preview_file_id"), "png");
    return send(c, await firstStored(c.get("config"), "pictures", ["tiles"], preview.id), { extension: "png" });
  });

  app.get(`${base}/pictures/thumbnails/preview-files/:preview_file_id{[^/]+\\.png}`, async (c) => {
    const { preview } = await previewForMedia(c, c.req.param("preview_file_id"), "png");
    return send(c, await firstStored(c.get("config"), "pictures", ["thumbnails"], preview.id), { extension: "png" });
  });

  const original = async (c: AppContext) => {
    const segment = c.req.param("preview_file_id");
    const extension = /\.([^/.]+)$/.exec(segment ?? "")?.[1]?.toLowerCase() ?? "";
    if (!PICTURE_EXTENSIONS.has(extension) && !FILE_EXTENSIONS.has(extension)) throw badRequest(`Extension not allowed: ${extension}`);
    const { preview } = await previewForMedia(c, segment);
    const config = c.get("config");
    const path = extension === "png" ? await firstStored(config, "pictures", ["original"], preview.id) : await firstStored(config, "files", ["previews"], preview.id);
    return send(c, path, { extension: extension === "png" || extension === "pdf" ? extension : "bin" });
  };
  app.get(`${base}/pictures/originals/preview-files/:preview_file_id{[^/]+\\.png}`, original);
  app.get(`${base}/pictures/originals/preview-files/:preview_file_id{[^/]+\\.[^/.]+}`, original);
}
