/**
 * Routes of the `previews` area of routes.tsv (previews.md): preview uploads and their comment
 * slots (add-preview, extra previews, batch comments), every media route (thumbnails, pictures,
 * movies with ranges, tiles, originals, downloads), avatars, preview backgrounds, attachment
 * thumbnails, frame/tile extraction, main preview, positions and annotations.
 * Stored files are answered by lib/file-response.ts.
 */
import type { Hono } from "hono";
import type { Selectable } from "kysely";
import { rm } from "node:fs/promises";
import * as v from "valibot";
import type { AppContext, AppEnv } from "../context";
import { serialize, parseJson, isTrue } from "../db/serialize";
import { getRowById, loadServiceRow } from "../db/rows";
import type { AttachmentFileTable, PreviewBackgroundFileTable } from "../db/tables.generated";
import { transact } from "../db/transaction";
import { readBodyValue, readLooseBody, validate } from "../lib/body";
import { ApiError, badRequest, forbidden, notFound } from "../lib/errors";
import { contentDisposition, sendStoredFile, STORED_FILE_CSP, storedFileType } from "../lib/file-response";
import { queryId, serviceId } from "../lib/ids";
import { attachmentFileAccess, discardUploads, readMultipart, isMultipart, type UploadedFile } from "../services/attachments";
import { createBatchComments, planBatchComments } from "../services/batch-comments";
import { eventKey, getEntityRow, kindOfTypeId, presentEntity, requestTypeIds } from "../services/entities";
import {
  checkAdmin,
  checkEntityAccess,
  checkManagerProjectAccess,
  checkPersonAccess,
  checkProjectAccess,
  checkTaskAccess,
  checkTaskActionAccess,
  effectiveRole,
  isAdmin,
  userDepartmentIds,
} from "../services/permissions";
import {
  getPreview,
  previewTask,
  runningPreviews,
  setEntityMainPreview,
  sharedEntityOfPreview,
  updateAnnotations,
  updatePosition,
  type PreviewRow,
} from "../services/preview-files";
import {
  attachmentThumbnail,
  extractPreviewFrame,
  movieFile,
  originalFile,
  previewDownloadName,
  regenerateTile,
  setThumbnailsFromFrame,
  storeAvatar,
  storePreviewBackground,
  type AvatarModel,
} from "../services/preview-media";
import { FILE_EXTENSIONS, PICTURE_EXTENSIONS, processUpload } from "../services/preview-processing";
import { annotatedBundle, annotatedFrame } from "../services/preview-annotations";
import { firstStored } from "../services/preview-storage";
import { getTask, type Dict, type TaskRow } from "../services/tasks";

const PNG = "{[^/]+\\.png}";
const MP4 = "{[^/]+\\.mp4}";
const ANY_EXTENSION = "{[^/]+\\.[^/.]+}";

/** The id of a `<id>.<ext>` path segment (404 when malformed). */
function idOf(segment: string | undefined): string {
  const text = segment ?? "";
  const dot = text.lastIndexOf(".");
  return serviceId(dot === -1 ? text : text.slice(0, dot));
}

function extensionOfSegment(segment: string | undefined): string {
  const text = segment ?? "";
  return text.slice(text.lastIndexOf(".") + 1).toLowerCase();
}

const taskRef = (task: TaskRow) => ({ id: task.id, project_id: task.project_id!, entity_id: task.entity_id!, task_type_id: task.task_type_id! });

/** A preview and its task, with task access checked ("member of task's project"). */
async function loadWithTaskAccess(c: AppContext, rawId: string): Promise<{ preview: PreviewRow; task: TaskRow }> {
  const db = c.get("db");
  const preview = await getPreview(db, rawId);
  const task = (await previewTask(db, preview)) as TaskRow;
  await checkTaskAccess(c, { project_id: task.project_id!, entity_id: task.entity_id! });
  return { preview, task };
}

/** Thumbnail access: the main preview of a shared entity is readable by anyone logged (vendors excepted). */
async function loadWithThumbnailAccess(c: AppContext, rawId: string): Promise<PreviewRow> {
  const db = c.get("db");
  const preview = await getPreview(db, rawId);
  const shared = await sharedEntityOfPreview(db, preview.id);
  if (shared && (await effectiveRole(c, shared.project_id)) !== "vendor") return preview;
  const task = await previewTask(db, preview);
  await checkTaskAccess(c, { project_id: task.project_id!, entity_id: task.entity_id! });
  return preview;
}

async function send(c: AppContext, path: string | null, options: { extension: string; filename?: string | null; download?: boolean }): Promise<Response> {
  const response = path ? await sendStoredFile(c.req.raw, { path, ...options }) : null;
  if (!response) throw notFound();
  return response;
}

/** Reads the multipart `file` part into TMP_DIR (streamed); 400 "File not provided." without it. */
async function readUploadedFile(c: AppContext): Promise<{ file: UploadedFile; all: UploadedFile[] }> {
  if (!isMultipart(c)) throw new ApiError(400, { error: true, message: "File not provided.", data: null });
  const { files } = await readMultipart(c, (field) => field === "file");
  const file = files[0];
  if (!file) throw new ApiError(400, { error: true, message: "File not provided.", data: null });
  return { file, all: files };
}

const boolQuery = (value: string | undefined, fallback: boolean) => (value === undefined || value === "" ? fallback : isTrue(value.toLowerCase()));

const PositionBody = v.object({
  position: v.pipe(v.union([v.number(), v.pipe(v.string(), v.regex(/^-?\d+$/), v.transform(Number))], "position is required."), v.integer("position must be an integer."), v.minValue(0, "position must be positive.")),
});
const ObjectList = v.optional(v.array(v.record(v.string(), v.unknown(), "Each annotation must be an object."), "Must be a list."), []);
const AnnotationsBody = v.object({ additions: ObjectList, updates: ObjectList, deletions: ObjectList });
const MainPreviewBody = v.object({
  frame_number: v.optional(v.nullable(v.pipe(v.union([v.number(), v.pipe(v.string(), v.regex(/^\d+$/), v.transform(Number))], "frame_number must be an integer."), v.integer(), v.minValue(0))), null),
});

function frameQuery(value: string | undefined, fallback: number | null, min = 0): number | null {
  if (value === undefined || value === "") return fallback;
  if (!/^-?\d+$/.test(value) || Number(value) < min) throw badRequest("Validation error.", { errors: [{ field: "frame_number", message: `frame_number must be an integer ≥ ${min}.` }] });
  return Number(value);
}

export function registerPreviews(app: Hono<AppEnv>): void {
  // --- running previews (admin) --------------------------------------------------------------
  app.get("/data/playlists/preview-files/running", async (c) => {
    checkAdmin(c);
    const cursor = c.req.query("cursor_preview_file_id");
    const rawLimit = c.req.query("limit");
    if (rawLimit !== undefined && rawLimit !== "" && !/^\d+$/.test(rawLimit)) throw badRequest("limit must be a positive integer.");
    const limit = rawLimit ? Math.min(Number(rawLimit), 1000) : 100;
    return c.json(await runningPreviews(c.get("db"), cursor ? queryId(cursor) : null, limit || 100));
  });

  // --- upload ---------------------------------------------------------------------------------
  app.post("/pictures/preview-files/:instance_id", async (c) => {
    const db = c.get("db");
    const preview = await getPreview(db, c.req.param("instance_id"));
    if (preview.original_name) throw badRequest("A file was already uploaded for this preview file: upload a new preview instead.");
    const task = (await previewTask(db, preview)) as TaskRow;
    await checkTaskActionAccess(c, taskRef(task));
    // A long upload or a no_job encode must not hit Bun.serve's idle timeout (c.env is the server).
    (c.env as { timeout?: (request: Request, seconds: number) => void } | undefined)?.timeout?.(c.req.raw, 0);
    const { file, all } = await readUploadedFile(c);
    try {
      const dict = await processUpload(c, preview, file, {
        normalize: boolQuery(c.req.query("normalize"), true),
        noJob: boolQuery(c.req.query("no_job"), false),
      });
      return c.json(dict, 201);
    } finally {
      await discardUploads(all);
    }
  });

  // --- batch comments with previews ------------------------------------------------------------
  const batchComment = async (c: AppContext, fixedTask: TaskRow | null) => {
    let items: unknown;
    let files: UploadedFile[] = [];
    if (isMultipart(c)) {
      const parsed = await readMultipart(c, (field) => field.startsWith("preview_file-") || field.startsWith("attachment_file-") || field.startsWith("file-"));
      files = parsed.files;
      items = parsed.fields.comments;
    } else {
      // Any JSON value: a body that is not an object has no `comments` (Zou's missing-parameter 400).
      const body = await readBodyValue(c);
      items = body !== null && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>).comments : undefined;
    }
    try {
      if (items === undefined || items === null || items === "") throw badRequest("Missing required parameter: comments");
      if (typeof items === "string") {
        try {
          items = JSON.parse(items);
        } catch {
          throw badRequest("comments must be a JSON list.");
        }
      }
      if (!Array.isArray(items)) throw badRequest("comments must be a JSON list.");
      const planned = await planBatchComments(c, items, fixedTask);
      const created = await createBatchComments(c, planned, files);
      return c.json(created, 201);
    } finally {
      await discardUploads(files);
    }
  };
  app.post("/actions/tasks/batch-comment", (c) => batchComment(c, null));
  app.post("/actions/tasks/:task_id/batch-comment", async (c) => {
    const task = await getTask(c, c.req.param("task_id"));
    await checkTaskAccess(c, { project_id: task.project_id!, entity_id: task.entity_id! });
    return batchComment(c, task);
  });

  // --- movies ---------------------------------------------------------------------------------
  app.get(`/movies/originals/preview-files/:instance_id${MP4}`, async (c) => {
    const { preview } = await loadWithTaskAccess(c, idOf(c.req.param("instance_id")));
    return send(c, await movieFile(c.get("config"), preview.id, "originals"), { extension: "mp4" });
  });
  app.get("/movies/originals/preview-files/:instance_id/download", async (c) => {
    const { preview } = await loadWithTaskAccess(c, c.req.param("instance_id"));
    const path = await movieFile(c.get("config"), preview.id, "originals");
    return send(c, path, { extension: "mp4", download: true, filename: await previewDownloadName(c.get("db"), { ...preview, extension: "mp4" }) });
  });
  app.get(`/movies/low/preview-files/:instance_id${MP4}`, async (c) => {
    const { preview } = await loadWithTaskAccess(c, idOf(c.req.param("instance_id")));
    return send(c, await movieFile(c.get("config"), preview.id, "low"), { extension: "mp4" });
  });
  app.get(`/movies/source/preview-files/:instance_id${MP4}`, async (c) => {
    const { preview } = await loadWithTaskAccess(c, idOf(c.req.param("instance_id")));
    return send(c, await movieFile(c.get("config"), preview.id, "source"), { extension: "mp4" });
  });
  app.get(`/movies/tiles/preview-files/:instance_id${PNG}`, async (c) => {
    const { preview } = await loadWithTaskAccess(c, idOf(c.req.param("instance_id")));
    return send(c, await firstStored(c.get("config"), "pictures", ["tiles"], preview.id), { extension: "png" });
  });

  // --- pictures of previews ---------------------------------------------------------------------
  for (const prefix of ["thumbnails", "thumbnails-square"]) {
    app.get(`/pictures/${prefix}/preview-files/:instance_id${PNG}`, async (c) => {
      const preview = await loadWithThumbnailAccess(c, idOf(c.req.param("instance_id")));
      return send(c, await firstStored(c.get("config"), "pictures", [prefix], preview.id), { extension: "png" });
    });
  }
  app.get(`/pictures/previews/preview-files/:instance_id${PNG}`, async (c) => {
    const { preview } = await loadWithTaskAccess(c, idOf(c.req.param("instance_id")));
    return send(c, await firstStored(c.get("config"), "pictures", ["previews"], preview.id), { extension: "png" });
  });
  app.get(`/pictures/originals/preview-files/:instance_id${PNG}`, async (c) => {
    const preview = await loadWithThumbnailAccess(c, idOf(c.req.param("instance_id")));
    return send(c, await firstStored(c.get("config"), "pictures", ["original"], preview.id), { extension: "png" });
  });
  app.get("/pictures/originals/preview-files/:instance_id/download", async (c) => {
    const { preview } = await loadWithTaskAccess(c, c.req.param("instance_id"));
    const { path, extension } = await originalFile(c.get("config"), preview);
    return send(c, path, { extension, download: true, filename: await previewDownloadName(c.get("db"), preview) });
  });
  app.get(`/pictures/originals/preview-files/:instance_id${ANY_EXTENSION}`, async (c) => {
    const segment = c.req.param("instance_id");
    const extension = extensionOfSegment(segment);
    if (!PICTURE_EXTENSIONS.has(extension) && !FILE_EXTENSIONS.has(extension)) throw badRequest(`Extension not allowed: ${extension}`);
    const { preview } = await loadWithTaskAccess(c, idOf(segment));
    const config = c.get("config");
    const path = extension === "png" ? await firstStored(config, "pictures", ["original"], preview.id) : await firstStored(config, "files", ["previews"], preview.id);
    return send(c, path, { extension: extension === "png" || extension === "pdf" ? extension : "bin" });
  });

  // --- attachment thumbnails ----------------------------------------------------------------------
  app.get(`/pictures/thumbnails/attachment-files/:attachment_file_id${PNG}`, async (c) => {
    const id = idOf(c.req.param("attachment_file_id"));
    const attachment = (await getRowById(c.get("db"), "attachment_file", id)) as Selectable<AttachmentFileTable> | undefined;
    if (!attachment) throw notFound();
    await attachmentFileAccess(c, attachment);
    return send(c, await attachmentThumbnail(c, attachment), { extension: "png" });
  });

  // --- avatars --------------------------------------------------------------------------------
  const avatarRoutes = (model: AvatarModel, plural: string) => {
    const read = async (c: AppContext, rawId: string | undefined) => {
      const id = serviceId(rawId);
      const row = await getRowById(c.get("db"), model, id);
      if (!row) throw notFound();
      if (model === "project" && !isAdmin(c.get("user")) && c.get("user").role !== "manager") await checkProjectAccess(c, id);
      if (!isTrue(row.has_avatar)) throw notFound();
      return send(c, await firstStored(c.get("config"), "pictures", ["thumbnails"], id), { extension: "png" });
    };
    const write = async (c: AppContext, rawId: string | undefined, adminOnly: boolean) => {
      const id = serviceId(rawId);
      const row = await getRowById(c.get("db"), model, id);
      if (!row) throw notFound();
      if (model === "person") checkPersonAccess(c, id);
      else if (model === "organisation" || adminOnly) checkAdmin(c);
      else await checkManagerProjectAccess(c, id);
      const { file, all } = await readUploadedFile(c);
      try {
        return c.json(await storeAvatar(c, model, id, file), 201);
      } finally {
        await discardUploads(all);
      }
    };
    app.get(`/pictures/thumbnails/${plural}/:instance_id${PNG}`, (c) => read(c, idOf(c.req.param("instance_id"))));
    app.post(`/pictures/thumbnails/${plural}/:instance_id${PNG}`, (c) => write(c, idOf(c.req.param("instance_id")), model === "project"));
    app.get(`/pictures/thumbnails/${plural}/:instance_id`, (c) => read(c, c.req.param("instance_id")));
    app.post(`/pictures/thumbnails/${plural}/:instance_id`, (c) => write(c, c.req.param("instance_id"), false));
  };
  avatarRoutes("person", "persons");
  avatarRoutes("project", "projects");
  avatarRoutes("organisation", "organisations");

  // --- preview backgrounds --------------------------------------------------------------------
  const getBackground = async (c: AppContext, rawId: string | undefined) => {
    return (await loadServiceRow(c.get("db"), "preview_background_file", rawId)) as Selectable<PreviewBackgroundFileTable>;
  };
  app.post("/pictures/preview-background-files/:instance_id", async (c) => {
    const row = await getBackground(c, c.req.param("instance_id"));
    checkAdmin(c);
    const { file, all } = await readUploadedFile(c);
    try {
      await storePreviewBackground(c, row, file);
    } finally {
      await discardUploads(all);
    }
    return c.json(serialize("preview_background_file", await getBackground(c, row.id)), 201);
  });
  app.get(`/pictures/thumbnails/preview-background-files/:instance_id${PNG}`, async (c) => {
    const row = await getBackground(c, idOf(c.req.param("instance_id")));
    return send(c, await firstStored(c.get("config"), "pictures", ["thumbnails"], row.id), { extension: "png" });
  });
  app.post(`/pictures/thumbnails/preview-background-files/:instance_id${PNG}`, async (c) => {
    await getBackground(c, idOf(c.req.param("instance_id")));
    // Zou registers this route but its handler always fails.
    throw new ApiError(500, { error: true, message: "Preview background thumbnails are made when the background file is uploaded." });
  });
  app.get(`/pictures/preview-background-files/:instance_id${ANY_EXTENSION}`, async (c) => {
    const segment = c.req.param("instance_id");
    const row = await getBackground(c, idOf(segment));
    const extension = extensionOfSegment(segment);
    if ((row.extension ?? "").toLowerCase() !== extension) throw notFound();
    return send(c, await firstStored(c.get("config"), "pictures", ["preview-backgrounds"], row.id), { extension });
  });

  // --- actions on preview files -------------------------------------------------------------------
  app.get("/actions/preview-files/:preview_file_id/extract-frame", async (c) => {
    const db = c.get("db");
    const preview = await getPreview(db, c.req.param("preview_file_id"));
    const task = await previewTask(db, preview);
    await checkManagerProjectAccess(c, task.project_id);
    const frame = frameQuery(c.req.query("frame_number"), 0)!;
    if (preview.extension !== "mp4") throw notFound();
    const path = await extractPreviewFrame(c, preview, frame);
    try {
      return c.body(new Uint8Array(await Bun.file(path).arrayBuffer()) as never, 200, bytesHeaders("png"));
    } finally {
      await rm(path, { force: true });
    }
  });

  app.get("/actions/preview-files/:preview_file_id/extract-tile", async (c) => {
    const { preview } = await loadWithTaskAccess(c, c.req.param("preview_file_id"));
    if (preview.extension !== "mp4") throw badRequest("Preview file is not a movie");
    return send(c, await regenerateTile(c, preview), { extension: "png" });
  });

  app.put("/actions/preview-files/:preview_file_id/set-main-preview", async (c) => {
    const db = c.get("db");
    const preview = await getPreview(db, c.req.param("preview_file_id"));
    const task = await previewTask(db, preview);
    const role = await checkProjectAccess(c, task.project_id);
    if (role === "client") throw forbidden();
    const entity = await getEntityRow(db, task.entity_id!);
    if (!entity) throw notFound();
    await checkEntityAccess(c, entity);
    const body = validate(MainPreviewBody, await readLooseBody(c));
    if (body.frame_number !== null && body.frame_number !== undefined) {
      if (preview.extension !== "mp4") throw badRequest("Can't use a given frame on non movie preview");
      await setThumbnailsFromFrame(c, preview, body.frame_number);
    }
    const kind = kindOfTypeId(await requestTypeIds(c), entity.entity_type_id);
    const updated = await setEntityMainPreview(c, entity, preview.id, eventKey(kind));
    return c.json(presentEntity(updated, kind));
  });

  app.put("/actions/preview-files/:preview_file_id/update-position", async (c) => {
    const db = c.get("db");
    const preview = await getPreview(db, c.req.param("preview_file_id"));
    const task = (await previewTask(db, preview)) as TaskRow;
    await checkTaskActionAccess(c, taskRef(task));
    const body = validate(PositionBody, await readLooseBody(c));
    return c.json(await transact(c, () => updatePosition(c, preview, body.position)));
  });

  app.put("/actions/preview-files/:preview_file_id/update-annotations", async (c) => {
    const db = c.get("db");
    const preview = await getPreview(db, c.req.param("preview_file_id"));
    const task = await previewTask(db, preview);
    const role = await checkProjectAccess(c, task.project_id);
    if (role !== "admin" && role !== "manager" && role !== "client") {
      const departments = role === "supervisor" ? await userDepartmentIds(c) : [];
      const taskType = await getRowById(db, "task_type", task.task_type_id!);
      if (role !== "supervisor" || !taskType?.department_id || !departments.includes(taskType.department_id)) throw forbidden();
    }
    const body = validate(AnnotationsBody, await readLooseBody(c));
    return c.json(await transact(c, () => updateAnnotations(c, preview, task.project_id, body as never)));
  });

  // Annotated frames: the annotation's drawings over the frame (movies) or the picture.
  const annotatedSource = async (c: AppContext) => {
    const db = c.get("db");
    const preview = await getPreview(db, c.req.param("preview_file_id"));
    const task = await previewTask(db, preview);
    await checkManagerProjectAccess(c, task.project_id);
    if ((parseJson(preview.data) as Dict | null)?.imported_only) throw new ApiError(404, { error: "preview file binary is not available" });
    return preview;
  };
  app.get("/actions/preview-files/:preview_file_id/extract-annotated-frame", async (c) => {
    const preview = await annotatedSource(c);
    const png = await annotatedFrame(c, preview, frameQuery(c.req.query("frame_number"), null, 1));
    return c.body(png as never, 200, bytesHeaders("png"));
  });
  for (const kind of ["zip", "pdf"] as const) {
    app.get(`/actions/preview-files/:preview_file_id/extract-annotated-frames${kind === "pdf" ? "-pdf" : ""}`, async (c) => {
      const preview = await annotatedSource(c);
      const { data, filename } = await annotatedBundle(c, preview, kind);
      return c.body(data as never, 200, bytesHeaders(kind, filename));
    });
  }
}

/** Headers of generated bytes (frames, bundles): the stored-file policy, attachment when named. */
function bytesHeaders(extension: string, filename?: string): Record<string, string> {
  return {
    "Content-Type": storedFileType(extension).contentType,
    "Content-Disposition": contentDisposition(filename ? "attachment" : "inline", filename),
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": STORED_FILE_CSP,
  };
}
