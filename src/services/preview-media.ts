/**
 * Reading preview media (previews.md §8-§9): which stored file answers each route, download names,
 * frames and tiles extracted on demand, the entity main preview (optionally from a frame), avatars
 * of persons/projects/organisations, preview background files and attachment thumbnails.
 */
import { mkdir, rm, stat } from "node:fs/promises";
import type { AppContext } from "../context";
import type { Config } from "../config";
import type { Db } from "../db/database";
import { parseJson, isTrue } from "../db/serialize";
import { ApiError, badRequest, notFound } from "../lib/errors";
import { extensionOf } from "../lib/file-response";
import { extractFrame, ffmpegAvailable, fitPicture, makeTile, probe } from "../lib/ffmpeg";
import { sharedJobQueue } from "../lib/job-queue";
import { newId, utcNow } from "../lib/ids";
import { attachmentPath, type UploadedFile } from "./attachments";
import { fullEntityNames } from "./entity-names";
import { slugify } from "./projects";
import { emitPreviewEvent, depsOf, type PreviewRow } from "./preview-files";
import { previewFps, storePictureVariants, PICTURE_EXTENSIONS } from "./preview-processing";
import { firstStored, pendingFolder, storeFile, storePath, storedSize, workPath } from "./preview-storage";

type Dict = Record<string, unknown>;

/** Movie lookup chains (§8). */
export const MOVIE_CHAINS = {
  originals: ["previews", "lowdef", "source"],
  low: ["lowdef", "previews", "source"],
  source: ["source"],
} as const;

export function movieFile(config: Config, id: string, chain: keyof typeof MOVIE_CHAINS): Promise<string | null> {
  return firstStored(config, "movies", [...MOVIE_CHAINS[chain]], id);
}

/** The stored file of a preview's original by its extension (§8 originals/download). */
export async function originalFile(config: Config, preview: PreviewRow): Promise<{ path: string | null; extension: string }> {
  const extension = (preview.extension ?? "").toLowerCase();
  if (extension === "png") return { path: await firstStored(config, "pictures", ["original"], preview.id), extension };
  if (extension === "mp4") return { path: await movieFile(config, preview.id, "originals"), extension };
  return { path: await firstStored(config, "files", ["previews"], preview.id), extension };
}

/**
 * Download name (§8): `original_name.<ext>` when the organisation asks for original names, else
 * slug(`<project>_<entity>_<task type>_v<revision>`) (+ `-<position>` past 1) + `.<ext>`.
 */
export async function previewDownloadName(db: Db, preview: PreviewRow): Promise<string> {
  const extension = preview.extension ?? "";
  const organisation = await db.selectFrom("organisation").select("use_original_file_name").executeTakeFirst();
  if (isTrue(organisation?.use_original_file_name) && preview.original_name) return `${preview.original_name}.${extension}`;
  const task = preview.task_id
    ? await db
        .selectFrom("task")
        .leftJoin("project", "project.id", "task.project_id")
        .leftJoin("task_type", "task_type.id", "task.task_type_id")
        .select(["task.entity_id", "project.name as project_name", "task_type.name as task_type_name"])
        .where("task.id", "=", preview.task_id)
        .executeTakeFirst()
    : undefined;
  const entityName = task?.entity_id ? (await fullEntityNames(db, [task.entity_id])).get(task.entity_id)?.name ?? "" : "";
  let name = slugify(`${task?.project_name ?? ""}_${entityName}_${task?.task_type_name ?? ""}_v${preview.revision ?? 0}`, "_");
  if ((preview.position ?? 1) > 1) name += `-${preview.position}`;
  return `${name}.${extension}`;
}

// ---------------------------------------------------------------------------------------------
// Frames and tiles (§5.2, §5.5, §9)

/** Time of frame `frameNumber - 1` at `fps` as ffmpeg reads it (`HH:MM:SS.ffffff`; frame 0 is negative). */
export function frameTime(frameNumber: number, fps: number): string {
  const seconds = (frameNumber - 1) / fps;
  const sign = seconds < 0 ? "-" : "";
  const total = Math.abs(seconds);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const whole = Math.floor(total % 60);
  const fraction = total - Math.floor(total);
  let decimals = Number(fraction.toPrecision(7)).toFixed(6).replace(/0+$/, "").replace(/^0/, "");
  if (decimals === "." || decimals === "") decimals = ".0";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${sign}${pad(hours)}:${pad(minutes)}:${pad(whole)}${decimals}`;
}

export async function previewFpsOf(db: Db, preview: PreviewRow): Promise<number> {
  const row = preview.task_id
    ? await db
        .selectFrom("task")
        .leftJoin("project", "project.id", "task.project_id")
        .leftJoin("entity", "entity.id", "task.entity_id")
        .select(["project.fps as fps", "entity.data as entity_data"])
        .where("task.id", "=", preview.task_id)
        .executeTakeFirst()
    : undefined;
  return Number(previewFps({ fps: row?.fps }, row?.entity_data));
}

function requireFfmpeg(): void {
  if (!ffmpegAvailable()) throw new ApiError(500, { error: true, message: "ffmpeg is not available on this server." });
}

/**
 * Extracts frame `frameNumber` of the stored high-definition movie into a work PNG and returns its
 * path (the caller removes it). 404 when the movie binary is not available.
 */
export async function extractPreviewFrame(c: AppContext, preview: PreviewRow, frameNumber: number): Promise<string> {
  const config = c.get("config");
  if ((parseJson(preview.data) as Dict | null)?.imported_only) throw new ApiError(404, { error: "preview file binary is not available" });
  const movie = await firstStored(config, "movies", ["previews"], preview.id);
  if (!movie) throw new ApiError(404, { error: "preview file binary is not available" });
  requireFfmpeg();
  await mkdir(pendingFolder(config), { recursive: true });
  const out = workPath(config, preview.id, `frame-${frameNumber}-${newId()}.png`);
  const time = frameTime(frameNumber, await previewFpsOf(c.get("db"), preview));
  try {
    // A negative time (frame 0) reads as the first frame.
    await sharedJobQueue().run(`frame ${preview.id}`, () => extractFrame(movie, out, time.startsWith("-") ? "00:00:00" : time));
  } catch (error) {
    await rm(out, { force: true });
    throw badRequest(`The frame could not be extracted: ${error instanceof Error ? error.message.split("\n")[0] : "unknown error"}`);
  }
  return out;
}

/** Regenerates the tile of a movie preview from its stored movie; returns the stored tile path. */
export async function regenerateTile(c: AppContext, preview: PreviewRow): Promise<string> {
  const config = c.get("config");
  const movie = await firstStored(config, "movies", ["previews", "lowdef"], preview.id);
  if (!movie) throw notFound();
  requireFfmpeg();
  await mkdir(pendingFolder(config), { recursive: true });
  const out = workPath(config, preview.id, `tile-${newId()}.png`);
  try {
    await sharedJobQueue().run(`tile ${preview.id}`, () => makeTile(movie, out));
    return await storeFile(out, config, "pictures", "tiles", preview.id);
  } finally {
    await rm(out, { force: true });
  }
}

/** Overwrites the preview's thumbnails, previews and original pictures with a movie frame. */
export async function setThumbnailsFromFrame(c: AppContext, preview: PreviewRow, frameNumber: number): Promise<void> {
  const config = c.get("config");
  const frame = await extractPreviewFrame(c, preview, frameNumber);
  try {
    const info = await probe(frame);
    await storePictureVariants(config, preview.id, frame, { width: info.width, height: info.height });
  } finally {
    await rm(frame, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Avatars (persons, projects, organisations), preview backgrounds, attachment thumbnails

export type AvatarModel = "person" | "project" | "organisation";

/**
 * Stores an uploaded picture as the 400×400 avatar (`thumbnails-<id>`) of a person, project or
 * organisation, sets `has_avatar` and emits `<model>:update` then `<model>:set-thumbnail`. Returns
 * Zou's answer.
 */
export async function storeAvatar(c: AppContext, model: AvatarModel, id: string, upload: UploadedFile): Promise<Dict> {
  const config = c.get("config");
  const extension = extensionOf(upload.filename);
  if (!PICTURE_EXTENSIONS.has(extension)) throw badRequest(`Wrong file format, extension: ${extension}`);
  if (upload.size === 0) throw badRequest("Uploaded file is empty.");
  requireFfmpeg();
  await mkdir(pendingFolder(config), { recursive: true });
  const out = workPath(config, id, `avatar-${newId()}.png`);
  try {
    await sharedJobQueue().run(`avatar ${id}`, async () => {
      const info = await probe(upload.tmpPath);
      if (!info.hasVideo) throw new Error("not a picture");
      await fitPicture(upload.tmpPath, out, 400, 400, info);
    });
  } catch (error) {
    await rm(out, { force: true });
    throw badRequest(`The picture could not be read: ${error instanceof Error ? error.message.split("\n")[0] : "unknown error"}`);
  }
  await storeFile(out, config, "pictures", "thumbnails", id);
  const db = c.get("db");
  await db.updateTable(model).set({ has_avatar: true, updated_at: utcNow() } as never).where("id", "=", id).execute();
  const projectId = model === "project" ? id : null;
  // Zou sets `has_avatar` through the model's update service, which announces `<model>:update`
  // before the upload resource announces `<model>:set-thumbnail`.
  await emitPreviewEvent(depsOf(c), `${model}:update`, { [`${model}_id`]: id }, projectId, c.get("user").id);
  await emitPreviewEvent(depsOf(c), `${model}:set-thumbnail`, { [`${model}_id`]: id }, projectId, c.get("user").id);
  return { thumbnail_path: `/api/pictures/thumbnails/${model}s/${id}.png` };
}

export const PREVIEW_BACKGROUND_EXTENSIONS = new Set(["hdr"]);

/** Stores a preview background file (HDR) and its 300×200 thumbnail; returns the updated row. */
export async function storePreviewBackground(c: AppContext, row: { id: string }, upload: UploadedFile): Promise<void> {
  const config = c.get("config");
  const extension = extensionOf(upload.filename);
  if (!PREVIEW_BACKGROUND_EXTENSIONS.has(extension)) throw badRequest(`Wrong file format, extension: ${extension}`);
  if (upload.size === 0) throw badRequest("Uploaded file is empty.");
  const dot = upload.filename.lastIndexOf(".");
  await storeFile(upload.tmpPath, config, "pictures", "preview-backgrounds", row.id);
  const stored = storePath(config, "pictures", "preview-backgrounds", row.id);
  if (ffmpegAvailable()) {
    await mkdir(pendingFolder(config), { recursive: true });
    const out = workPath(config, row.id, `background-${newId()}.png`);
    try {
      await sharedJobQueue().run(`background ${row.id}`, async () => {
        const info = await probe(stored);
        await fitPicture(stored, out, 300, 200, info);
      });
      await storeFile(out, config, "pictures", "thumbnails", row.id);
    } catch (error) {
      console.error(`preview background ${row.id}: thumbnail failed: ${error instanceof Error ? error.message : error}`);
    } finally {
      await rm(out, { force: true });
    }
  }
  const db = c.get("db");
  await db
    .updateTable("preview_background_file")
    .set({ extension, original_name: (dot === -1 ? upload.filename : upload.filename.slice(0, dot)).slice(0, 250), file_size: upload.size, updated_at: utcNow() })
    .where("id", "=", row.id)
    .execute();
  await emitPreviewEvent(depsOf(c), "preview-background-file:add-file", { preview_background_file_id: row.id, extension }, null, c.get("user").id);
}

const ATTACHMENT_PICTURES = new Set(["png", "jpg", "jpeg", "jpe", "gif", "webp", "bmp", "tif", "tiff"]);

/**
 * The stored thumbnail of an attachment; made on first request from a picture attachment
 * (150×100, like preview thumbnails). Null when there is none and none can be made.
 */
export async function attachmentThumbnail(c: AppContext, attachment: { id: string; extension: string | null }): Promise<string | null> {
  const config = c.get("config");
  const existing = await firstStored(config, "pictures", ["thumbnails"], attachment.id);
  if (existing) return existing;
  if (!ATTACHMENT_PICTURES.has((attachment.extension ?? "").toLowerCase()) || !ffmpegAvailable()) return null;
  const source = attachmentPath(config, attachment.id);
  if ((await storedSize(source)) === null) return null;
  await mkdir(pendingFolder(config), { recursive: true });
  const out = workPath(config, attachment.id, `thumbnail-${newId()}.png`);
  try {
    await sharedJobQueue().run(`attachment ${attachment.id}`, async () => {
      const info = await probe(source);
      await fitPicture(source, out, 150, 100, info);
    });
    return await storeFile(out, config, "pictures", "thumbnails", attachment.id);
  } catch {
    return null;
  } finally {
    await rm(out, { force: true }).catch(() => undefined);
  }
}

export async function fileExists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isFile() ?? false;
}
