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
import { isUuid, normalizeId, utcNow } from "../lib/ids";
import { sendStoredFile } from "../lib/file-response";
import { isTrue, parseJson, serialize } from "../db/serialize";
import { transact } from "../db/transaction";
import { playlistWithPreviews, type PlaylistRow } from "../services/playlists";
import {
  checkCanComment,
  createGuest,
  guestComment,
  guestStatus,
  linkGuest,
  sharedComments,
  sharedPlaylist,
  sharedPreviewFile,
  sharedTaskIds,
  validateShareLink,
  type ShareLinkRow,
} from "../services/shared-links";
import { afterCommentEdit, createComment, deleteComment, presentComment, type CommentRow } from "../services/comments";
import { attachmentPath, discardUploads, isMultipart, readMultipart, removeAttachmentFile, storeAttachment } from "../services/attachments";
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

/** The shared playlist: entries with names, task type and status colour (Zou's enrich_shots_with_entity_info). */
async function enrichedPlaylist(c: AppContext, playlist: PlaylistRow): Promise<Dict> {
  const db = c.get("db");
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
async function sharedContext(c: AppContext, playlist: PlaylistRow): Promise<Dict> {
  const db = c.get("db");
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
async function presentGuestComment(c: AppContext, row: CommentRow): Promise<Dict> {
  return presentComment(c, row, { withPreviews: true });
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
    return c.json(await enrichedPlaylist(c, playlist));
  });

  app.get(`${base}/context`, async (c) => {
    const { playlist } = await shared(c, { password: true });
    return c.json(await sharedContext(c, playlist));
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
    const rows = await sharedComments(c.get("db"), playlist);
    const result: Dict[] = [];
    for (const row of rows) {
      const dict = await presentGuestComment(c, row as CommentRow);
      if (dict.person && typeof dict.person === "object") {
        const author = await c.get("db").selectFrom("person").select("is_guest").where("id", "=", row.person_id).executeTakeFirst();
        (dict.person as Dict).is_guest = isTrue(author?.is_guest);
      }
      result.push(dict);
    }
    return c.json(result);
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
    const task = await db.selectFrom("task").selectAll().where("id", "=", taskId).executeTakeFirstOrThrow();
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
    const values: Dict = { editor_id: guest.id, updated_at: utcNow() };
    if (text !== undefined) values.text = text;
    if (checklist !== undefined) values.checklist = JSON.stringify(checklist);
    if (body.task_status_id !== undefined && body.task_status_id !== null && body.task_status_id !== comment.task_status_id) {
      values.task_status_id = (await guestStatus(db, body.task_status_id)).id;
    }
    const updated = await transact(c, async (tx) => {
      const row = (await tx.updateTable("comment").set(values as any).where("id", "=", comment.id).returningAll().executeTakeFirstOrThrow()) as CommentRow;
      await afterCommentEdit(c, row, comment as CommentRow);
      return row;
    });
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
      await transact(c, async () => {
        for (const file of files) await storeAttachment(c, { commentId: comment.id }, file);
      });
      const stored = await c.get("db").selectFrom("comment").selectAll().where("id", "=", comment.id).executeTakeFirstOrThrow();
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
    const attachment = await c.get("db").selectFrom("attachment_file").select(["id", "comment_id"]).where("id", "=", normalizeId(rawId)).executeTakeFirst();
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
    const attachment = await db
      .selectFrom("attachment_file")
      .innerJoin("comment", "comment.id", "attachment_file.comment_id")
      .innerJoin("person", "person.id", "comment.person_id")
      .selectAll("attachment_file")
      .select(["comment.object_id", "comment.for_client", "person.is_guest"])
      .where("attachment_file.id", "=", normalizeId(rawId))
      .executeTakeFirst();
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
