/**
 * Preview media processing (previews.md §3-§6): the upload of a preview file (pictures, movies,
 * other files by extension), the movie job (probe, H.264 high/low definition at the project's fps
 * and resolution, thumbnails, tile) run through the bounded job queue, picture variants, and the
 * start-up pass that re-queues previews a restart left `processing`.
 *
 * Settings (environment): PREVIEW_SAVE_SOURCE_FILE (keep the upload as movies `source-<id>`),
 * SKIP_NORMALIZATION_FULL, SKIP_NORMALIZATION_HIGHDEF (Zou's flags); ffmpeg ones in lib/ffmpeg.ts;
 * JOB_QUEUE_CONCURRENCY in lib/job-queue.ts.
 */
import { copyFile, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { AppContext } from "../context";
import type { Config } from "../config";
import { parseJson } from "../db/serialize";
import { transact } from "../db/transaction";
import { ApiError, badRequest } from "../lib/errors";
import { extensionOf } from "../lib/file-response";
import {
  ffmpegAvailable,
  fitPictures,
  makeTile,
  normalizeMovie,
  probe,
} from "../lib/ffmpeg";
import { claimJob, sharedJobQueue, type JobClaim } from "../lib/job-queue";
import { utcNow } from "../lib/ids";
import { type UploadedFile } from "./attachments";
import { removePreviewFile } from "./tasks";
import {
  depsOf,
  emitPreviewEvent,
  presentPreview,
  updatePreviewFileInfo,
  type PreviewDeps,
  type PreviewRow,
} from "./preview-files";
import { pendingFolder, pendingUploadPath, removeStored, storeFile, storePath, workPath } from "./preview-storage";

type Dict = Record<string, unknown>;

export const PICTURE_EXTENSIONS = new Set(["jpe", "jpeg", "jpg", "png"]);
export const MOVIE_EXTENSIONS = new Set(["avi", "m4v", "mkv", "mov", "mp4", "webm", "wmv"]);
export const FILE_EXTENSIONS = new Set([
  "ae", "ai", "blend", "clip", "comp", "diff", "exr", "fbx", "fla", "flv", "gif", "glb", "gltf", "hip", "kra", "ma", "mb", "md",
  "mp3", "obj", "pdf", "psd", "psb", "rar", "rev", "riv", "sai", "sai2", "sbbkp", "svg", "swf", "tvpp", "wav", "zip",
]);

export type PreviewKind = "picture" | "movie" | "file";

export function previewKind(extension: string): PreviewKind | null {
  if (PICTURE_EXTENSIONS.has(extension)) return "picture";
  if (MOVIE_EXTENSIONS.has(extension)) return "movie";
  if (FILE_EXTENSIONS.has(extension)) return "file";
  return null;
}

const envFlag = (name: string) => ["1", "true", "yes", "on"].includes((process.env[name] ?? "").toLowerCase());

const FFMPEG_MISSING = "ffmpeg and ffprobe are not available on this server (install them or set FFMPEG_PATH and FFPROBE_PATH).";

/** Zou's 500 `{error, message, data: {reason}}` of a failed movie dispatch. */
function processingFailed(reason: string, normalize: boolean): ApiError {
  return new ApiError(500, {
    error: true,
    message: normalize ? "Movie preview normalization failed." : "Movie preview processing failed (normalization disabled).",
    data: { reason },
  });
}

// ---------------------------------------------------------------------------------------------
// Picture variants (§6)

export const VARIANTS: { prefix: string; size: (w: number, h: number) => [number, number] }[] = [
  { prefix: "thumbnails", size: () => [150, 100] },
  { prefix: "thumbnails-square", size: () => [100, 100] },
  { prefix: "previews", size: (w, h) => [1200, Math.ceil((1200 * h) / w)] },
];

/**
 * Builds the full-size PNG (`original`), thumbnails, square thumbnails and 1200-wide preview of a
 * picture or of a movie's first frame in one ffmpeg run and stores them (pictures bucket).
 * Returns the original's size and byte size.
 */
export async function storePictureVariants(
  config: Config,
  id: string,
  input: string,
  size: { width: number; height: number },
): Promise<{ width: number; height: number; fileSize: number }> {
  const original = workPath(config, id, "original.png");
  const outputs = [
    { prefix: "original", path: original },
    ...VARIANTS.map((variant) => {
      const [width, height] = variant.size(size.width, size.height);
      return { prefix: variant.prefix, path: workPath(config, id, `${variant.prefix}.png`), width, height };
    }),
  ];
  try {
    await fitPictures(input, outputs, size);
    const fileSize = (await stat(original)).size;
    for (const out of outputs) await storeFile(out.path, config, "pictures", out.prefix, id);
    return { width: size.width, height: size.height, fileSize };
  } finally {
    for (const out of outputs) await rm(out.path, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding parameters (§3.3, §4)

/** `%.3f` of the entity's `data.fps` or the project's fps (comma accepted); default 25.000. */
export function previewFps(project: { fps?: unknown } | undefined, entityData: unknown): string {
  const data = (parseJson(entityData) ?? {}) as Dict;
  for (const value of [data?.fps, project?.fps]) {
    const parsed = Number(String(value ?? "").replace(",", "."));
    if (value !== undefined && value !== null && value !== "" && Number.isFinite(parsed) && parsed > 0) return parsed.toFixed(3);
  }
  return "25.000";
}

/** Target (width | null, height): entity `data.resolution`, else the project's (`WxH` or `xH`); default (null, 1080). */
export function previewResolution(project: { resolution?: unknown } | undefined, entityData: unknown): [number | null, number] {
  const data = (parseJson(entityData) ?? {}) as Dict;
  const entityResolution = typeof data?.resolution === "string" ? data.resolution : "";
  const text = /^\d{3,4}x\d{3,4}$/.test(entityResolution) ? entityResolution : String(project?.resolution ?? "");
  const match = /^(\d*)x(\d+)$/.exec(text.trim());
  if (!match) return [null, 1080];
  return [match[1] ? Number(match[1]) : null, Number(match[2])];
}

const even = (value: number) => (value % 2 ? value + 1 : value);

/** High-definition and low-definition sizes for a source of `sourceWidth`×`sourceHeight`. */
export function movieSizes(target: [number | null, number], source: { width: number; height: number }) {
  const height = even(target[1]);
  const width = even(target[0] ?? Math.floor((source.width / source.height) * target[1]));
  const lowHeight = even(Math.floor((height / width) * 1280));
  return { high: { width, height }, low: { width: 1280, height: lowHeight } };
}

async function encodingTarget(deps: PreviewDeps, previewId: string) {
  const row = await deps.db
    .selectFrom("preview_file")
    .leftJoin("task", "task.id", "preview_file.task_id")
    .leftJoin("project", "project.id", "task.project_id")
    .leftJoin("entity", "entity.id", "task.entity_id")
    .select(["project.fps as fps", "project.resolution as resolution", "entity.data as entity_data", "task.project_id as project_id"])
    .where("preview_file.id", "=", previewId)
    .executeTakeFirst();
  const project = { fps: row?.fps, resolution: row?.resolution };
  return { fps: previewFps(project, row?.entity_data), resolution: previewResolution(project, row?.entity_data), projectId: row?.project_id ?? null };
}

// ---------------------------------------------------------------------------------------------
// The movie job (§3.3)

async function previewExists(deps: PreviewDeps, id: string): Promise<PreviewRow | undefined> {
  return deps.db.selectFrom("preview_file").selectAll().where("id", "=", id).executeTakeFirst();
}

async function removeWorkFiles(config: Config, id: string): Promise<void> {
  const names = await readdir(pendingFolder(config)).catch(() => [] as string[]);
  for (const name of names) if (name.startsWith(`${id}.work-`)) await rm(join(pendingFolder(config), name), { force: true });
}

/**
 * Processes an uploaded movie: probe, normalize (unless `normalize` is false), measure, thumbnails,
 * tile, store; the row ends `ready`, or `broken` with `data.processing_error`. Never throws.
 * Emits `preview-file:update` when done. The upload file is removed at the end.
 */
export async function processMovie(deps: PreviewDeps, id: string, uploadPath: string, normalize: boolean): Promise<void> {
  const config = deps.config;
  let projectId: string | null = null;
  const data: Dict = {};
  try {
    const row = await previewExists(deps, id);
    if (!row) return;
    Object.assign(data, (parseJson(row.data) as Dict) ?? {});
    const target = await encodingTarget(deps, id);
    projectId = target.projectId;
    const source = await probe(uploadPath);
    if (!source.hasVideo) throw new Error("The uploaded file has no video stream.");
    Object.assign(data, {
      original_width: source.width,
      original_height: source.height,
      original_duration: source.duration,
      original_file_size: (await stat(uploadPath)).size,
    });
    const saveSource = envFlag("PREVIEW_SAVE_SOURCE_FILE");
    if (saveSource) await storeFile(uploadPath, config, "movies", "source", id, true);
    const doNormalize = normalize && !envFlag("SKIP_NORMALIZATION_FULL");
    let movie = uploadPath;
    if (doNormalize) {
      const sizes = movieSizes(target.resolution, source);
      const low = workPath(config, id, "low.mp4");
      let high: string | null = null;
      if (!envFlag("SKIP_NORMALIZATION_HIGHDEF")) {
        high = workPath(config, id, "high.mp4");
        await normalizeMovie(uploadPath, high, { ...sizes.high, fps: target.fps, bitrate: "28M", hasAudio: source.hasAudio });
      }
      await normalizeMovie(uploadPath, low, { ...sizes.low, fps: target.fps, bitrate: "6M", hasAudio: source.hasAudio });
      movie = high ? await storeFile(high, config, "movies", "previews", id) : "";
      const lowStored = await storeFile(low, config, "movies", "lowdef", id);
      if (!high) movie = lowStored;
    } else if (!saveSource) {
      movie = await storeFile(uploadPath, config, "movies", "previews", id, true);
    } else {
      movie = storePath(config, "movies", "source", id);
    }
    const measured = await probe(movie);
    const fileSize = (await stat(movie)).size;

    await storePictureVariants(config, id, movie, { width: measured.width, height: measured.height });

    try {
      const tile = workPath(config, id, "tile.png");
      await makeTile(movie, tile);
      await storeFile(tile, config, "pictures", "tiles", id);
    } catch (error) {
      console.error(`preview ${id}: tile failed: ${error instanceof Error ? error.message : error}`);
    }

    if (!(await previewExists(deps, id))) {
      // Deleted while it was processing: nothing of it stays in the store.
      for (const prefix of ["previews", "lowdef", "source"]) await removeStored(config, "movies", prefix, id);
      for (const prefix of ["original", "previews", "thumbnails", "thumbnails-square", "tiles"]) await removeStored(config, "pictures", prefix, id);
      return;
    }
    await deps.db
      .updateTable("preview_file")
      .set({
        status: "ready",
        file_size: fileSize,
        width: measured.width,
        height: measured.height,
        duration: measured.duration,
        data: JSON.stringify(data),
        updated_at: utcNow(),
      })
      .where("id", "=", id)
      .execute();
    await updatePreviewFileInfo(deps, id);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`preview ${id}: processing failed: ${message}`);
    await deps.db
      .updateTable("preview_file")
      .set({ status: "broken", data: JSON.stringify({ ...data, processing_error: message.slice(0, 2000) }), updated_at: utcNow() })
      .where("id", "=", id)
      .execute()
      .catch(() => undefined);
  } finally {
    await rm(uploadPath, { force: true }).catch(() => undefined);
    await removeWorkFiles(config, id);
    await emitPreviewEvent(deps, "preview-file:update", { preview_file_id: id }, projectId).catch(() => undefined);
  }
}

/** The claim name of a preview's movie job (src/lib/job-queue.ts). */
const movieJobName = (id: string) => `preview ${id}`;

/**
 * Queues the movie job under its claim (taken here unless given); with `wait`, resolves once it
 * is done. Nothing is queued when another instance holds the claim: that one processes it.
 */
export async function queueMovie(deps: PreviewDeps, id: string, uploadPath: string, normalize: boolean, wait: boolean, held?: JobClaim): Promise<void> {
  const claim = held ?? (await claimJob(deps.db, movieJobName(id)));
  if (!claim) return;
  const job = async () => {
    try {
      await processMovie(deps, id, uploadPath, normalize);
    } finally {
      await claim.release();
    }
  };
  if (wait) await sharedJobQueue().run(movieJobName(id), job);
  else sharedJobQueue().push(movieJobName(id), job);
}

// ---------------------------------------------------------------------------------------------
// Upload (§3)

/**
 * Takes the uploaded `file` of a preview slot through its pipeline. Unknown extension or empty
 * file: the slot is deleted and the answer is a 400. Returns the preview dict to answer (201).
 */
export async function processUpload(
  c: AppContext,
  preview: PreviewRow,
  upload: UploadedFile,
  options: { normalize: boolean; noJob: boolean },
): Promise<Dict> {
  // Movie jobs outlive the request: they must hold the root database, not a transaction.
  if (c.get("db").isTransaction) throw new Error("processUpload runs outside transactions.");
  const deps = depsOf(c);
  const config = deps.config;
  const db = deps.db;
  const extension = extensionOf(upload.filename);
  const kind = previewKind(extension);
  const dot = upload.filename.lastIndexOf(".");
  const originalName = (dot === -1 ? upload.filename : upload.filename.slice(0, dot)).slice(0, 250);
  const dropSlot = () => transact(c, () => removePreviewFile(c, preview.id));
  if (!kind) {
    await dropSlot();
    throw badRequest(`Wrong file format, extension: ${extension}`);
  }
  if (upload.size === 0) {
    await dropSlot();
    throw badRequest(
      kind === "movie"
        ? "Uploaded movie could not be written to temporary storage or is empty; aborting before dispatching normalization."
        : "Uploaded file is empty.",
    );
  }
  if (kind !== "file" && !ffmpegAvailable()) {
    await dropSlot();
    throw processingFailed(FFMPEG_MISSING, options.normalize);
  }
  await mkdir(pendingFolder(config), { recursive: true });

  if (kind === "picture") {
    try {
      await sharedJobQueue().run(`picture ${preview.id}`, async () => {
        const info = await probe(upload.tmpPath);
        try {
          if (!info.hasVideo) throw new Error("not a picture");
          const stored = await storePictureVariants(config, preview.id, upload.tmpPath, info);
          await db
            .updateTable("preview_file")
            .set({
              extension: "png", original_name: originalName, width: stored.width, height: stored.height, file_size: stored.fileSize,
              status: "ready", updated_at: utcNow(),
            })
            .where("id", "=", preview.id)
            .execute();
        } finally {
          await removeWorkFiles(config, preview.id);
        }
      });
    } catch (error) {
      await dropSlot();
      throw badRequest(`The picture could not be read: ${error instanceof Error ? error.message.split("\n")[0] : "unknown error"}`);
    }
    await updatePreviewFileInfo(deps, preview.id);
  } else if (kind === "file") {
    await storeFile(upload.tmpPath, config, "files", "previews", preview.id);
    await db
      .updateTable("preview_file")
      .set({ extension, original_name: originalName, file_size: upload.size, status: "ready", updated_at: utcNow() })
      .where("id", "=", preview.id)
      .execute();
    await updatePreviewFileInfo(deps, preview.id);
  } else {
    const pending = pendingUploadPath(config, preview.id, options.normalize, extension);
    await storeFileAt(upload.tmpPath, pending);
    await db
      .updateTable("preview_file")
      .set({ extension: "mp4", original_name: originalName, status: "processing", updated_at: utcNow() })
      .where("id", "=", preview.id)
      .execute();
    await queueMovie(deps, preview.id, pending, options.normalize, options.noJob);
  }

  const row = await db.selectFrom("preview_file").selectAll().where("id", "=", preview.id).executeTakeFirstOrThrow();
  // Zou's upload route updates the row through its service, which announces the change (a movie
  // gets this one as well as the one its processing sends when done).
  const task = row.task_id ? await db.selectFrom("task").select("project_id").where("id", "=", row.task_id).executeTakeFirst() : undefined;
  const projectId = task?.project_id ?? null;
  await emitPreviewEvent(deps, "preview-file:update", { preview_file_id: row.id }, projectId, c.get("user").id);
  await emitAddFile(c, row, projectId);
  return presentPreview(row);
}

async function storeFileAt(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch {
    await copyFile(from, to);
    await rm(from, { force: true });
  }
}

/** `comment:update` and `preview-file:add-file` when a comment carries the preview. */
async function emitAddFile(c: AppContext, row: PreviewRow, projectId: string | null): Promise<void> {
  const link = await c.get("db").selectFrom("comment_preview_link").select("comment").where("preview_file", "=", row.id).executeTakeFirst();
  if (!link) return;
  const deps = depsOf(c);
  const userId = c.get("user").id;
  await emitPreviewEvent(deps, "comment:update", { comment_id: link.comment }, projectId, userId);
  await emitPreviewEvent(deps, "preview-file:add-file", {
    comment_id: link.comment, task_id: row.task_id, preview_file_id: row.id, revision: row.revision, extension: row.extension, status: row.status,
  }, projectId, userId);
}

// ---------------------------------------------------------------------------------------------
// Start-up (§3.5): previews left `processing` by a stop

/**
 * Re-queues the movies whose processing a stop interrupted (their upload is still in the pending
 * folder); previews whose upload is gone end `broken`. Returns the counts.
 */
export async function resumePreviewProcessing(deps: PreviewDeps): Promise<{ requeued: number; broken: number }> {
  const rows = await deps.db
    .selectFrom("preview_file")
    .select(["id", "data"])
    .where("status", "=", "processing")
    .where("extension", "=", "mp4")
    .where("original_name", "!=", "")
    .where("original_name", "is not", null)
    .execute();
  const names = await readdir(pendingFolder(deps.config)).catch(() => [] as string[]);
  let requeued = 0;
  let broken = 0;
  for (const row of rows) {
    // Another instance sharing the database may be processing it: its claim is then held.
    const claim = await claimJob(deps.db, movieJobName(row.id));
    if (!claim) continue;
    const current = await deps.db.selectFrom("preview_file").select("status").where("id", "=", row.id).executeTakeFirst();
    if (current?.status !== "processing") {
      await claim.release(); // finished meanwhile
      continue;
    }
    await removeWorkFiles(deps.config, row.id);
    const upload = names.find((name) => name.startsWith(`${row.id}.n.`) || name.startsWith(`${row.id}.r.`));
    if (upload && ffmpegAvailable()) {
      await queueMovie(deps, row.id, join(pendingFolder(deps.config), upload), upload.startsWith(`${row.id}.n.`), false, claim);
      requeued += 1;
      continue;
    }
    await claim.release();
    const data = { ...((parseJson(row.data) as Dict) ?? {}), processing_error: upload ? FFMPEG_MISSING : "The upload was lost before its processing ended." };
    await deps.db.updateTable("preview_file").set({ status: "broken", data: JSON.stringify(data), updated_at: utcNow() }).where("id", "=", row.id).execute();
    broken += 1;
  }
  return { requeued, broken };
}

/** Start-up of `serve`: says whether ffmpeg is there, re-queues interrupted previews. */
export async function startPreviewProcessing(deps: PreviewDeps): Promise<void> {
  if (!ffmpegAvailable()) console.warn(`zou-bun: ${FFMPEG_MISSING} Movie and picture previews will be refused.`);
  const { requeued, broken } = await resumePreviewProcessing(deps);
  if (requeued || broken) console.log(`Previews left processing by the last stop: ${requeued} re-queued, ${broken} marked broken.`);
}
