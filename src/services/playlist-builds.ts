/**
 * Playlist files (previews.md §10): the movie build (ffmpeg concat of the entries' movies, run on
 * the shared job queue, tracked by a build_job row with its events) and the ZIP of the entries'
 * previews, both with Zou's download names.
 */
import { copyFile, mkdir, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import type { EventBus } from "../lib/events";
import type { Config } from "../config";
import { emitEvent } from "../lib/events";
import { isTrue, serialize } from "../db/serialize";
import { ApiError, badRequest, notFound } from "../lib/errors";
import { isUuid, newId, utcNow } from "../lib/ids";
import { concatMovies, ffmpegAvailable } from "../lib/ffmpeg";
import { claimJob, isJobClaimed, sharedJobQueue } from "../lib/job-queue";
import { writeZip, type ZipInput } from "../lib/zip";
import { mailConfigured, sendMail } from "../lib/mail";
import { storedFilePath } from "./attachments";
import { forgetStoredFiles } from "./stored-files";
import { movieFile, originalFile } from "./preview-media";
import type { PreviewRow } from "./preview-files";
import { fullEntityNames } from "./entity-names";
import { slugify } from "./projects";
import { playlistShots, type PlaylistRow } from "./playlists";
import type { Row } from "../db/rows";
import type { Dict } from "./tasks";

/** Where a build's movie is stored: movies bucket, key `playlists-<job id>`. */
export function buildMoviePath(config: Config, jobId: string): string {
  return storedFilePath(config.previewFolder, "movies", "playlists", jobId);
}

/** Preview rows of the playlist's entries, in order (entries without a known preview skipped). */
async function entryPreviews(db: Db, playlist: PlaylistRow): Promise<Row[]> {
  const ids = playlistShots(playlist)
    .map((shot) => shot.preview_file_id)
    .filter((id): id is string => typeof id === "string" && isUuid(id));
  if (ids.length === 0) return [];
  const rows = await db.selectFrom("preview_file").selectAll().where("id", "in", ids).execute();
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id)).filter((row): row is NonNullable<typeof row> => Boolean(row));
}

// ---------------------------------------------------------------------------------------------
// Names

/** Zou's preview download name: `<project>_<full entity name>_<task type>_v<revision>[-<position>].<ext>`, slugified. */
async function previewDownloadNames(db: Db, previews: Row[]): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  if (previews.length === 0) return names;
  const tasks = await db
    .selectFrom("task")
    .innerJoin("task_type", "task_type.id", "task.task_type_id")
    .innerJoin("project", "project.id", "task.project_id")
    .select(["task.id", "task.entity_id", "task_type.name as task_type_name", "project.name as project_name"])
    .where("task.id", "in", [...new Set(previews.map((p) => p.task_id as string))])
    .execute();
  const taskById = new Map(tasks.map((task) => [task.id, task]));
  const entityNames = await fullEntityNames(db, tasks.map((task) => task.entity_id!).filter(Boolean));
  for (const preview of previews) {
    const task = taskById.get(preview.task_id);
    const entityName = task ? entityNames.get(task.entity_id!)?.name ?? "" : "";
    let name = slugify(`${task?.project_name ?? ""}_${entityName}_${task?.task_type_name ?? ""}_v${preview.revision ?? 0}`, "_");
    if (Number(preview.position ?? 1) > 1) name += `-${preview.position}`;
    names.set(preview.id, `${name}.${preview.extension ?? "bin"}`);
  }
  return names;
}

/** `<project>[_<episode | all assets | main pack>]` slugified, as the download names start. */
async function contextName(db: Db, playlist: PlaylistRow): Promise<string> {
  const project = await db.selectFrom("project").select(["name", "production_type"]).where("id", "=", playlist.project_id).executeTakeFirst();
  let name = slugify(project?.name ?? "", "_");
  if (project?.production_type === "tvshow") {
    let episodeName = isTrue(playlist.is_for_all) ? "all assets" : "main pack";
    if (playlist.episode_id) {
      const episode = await db.selectFrom("entity").select("name").where("id", "=", playlist.episode_id).executeTakeFirst();
      episodeName = episode?.name ?? episodeName;
    }
    name += `_${slugify(episodeName, "_")}`;
  }
  return name;
}

export async function zipDownloadName(db: Db, playlist: PlaylistRow): Promise<string> {
  return `${await contextName(db, playlist)}_${slugify(String(playlist.name), "_")}.zip`;
}

export async function movieDownloadName(db: Db, playlist: PlaylistRow, job: Row): Promise<string> {
  const created = slugify(String(serialize("build_job", job).created_at ?? ""), "").replace(/t/g, "_");
  return `${created}_${await contextName(db, playlist)}_${slugify(String(playlist.name), "_")}.mp4`;
}

// ---------------------------------------------------------------------------------------------
// ZIP

/** Builds the ZIP of every preview of each entry's revision (all positions) in TMP_DIR; returns its path. */
export async function buildPlaylistZip(c: AppContext, playlist: PlaylistRow): Promise<string> {
  const db = c.get("db");
  const config = c.get("config");
  const chosen = await entryPreviews(db, playlist);
  const previews: Row[] = [];
  const seen = new Set<string>();
  for (const preview of chosen) {
    const revision = await db
      .selectFrom("preview_file")
      .selectAll()
      .where("task_id", "=", preview.task_id)
      .where("revision", "=", preview.revision)
      .orderBy("position")
      .orderBy("created_at")
      .execute();
    for (const row of revision) {
      if (seen.has(row.id)) continue;
      seen.add(row.id);
      previews.push(row);
    }
  }
  const names = await previewDownloadNames(db, previews);
  const inputs: ZipInput[] = [];
  const used = new Set<string>();
  for (const preview of previews) {
    const { path } = await originalFile(config, preview as PreviewRow);
    const name = names.get(preview.id)!;
    if (!path || used.has(name)) continue;
    used.add(name);
    inputs.push({ path, name });
  }
  await mkdir(config.tmpFolder, { recursive: true });
  const target = join(config.tmpFolder, `${playlist.id}-${newId()}.zip`);
  await writeZip(target, inputs);
  return target;
}

// ---------------------------------------------------------------------------------------------
// Movie builds

interface BuildContext {
  db: Db;
  events: EventBus;
  config: Config;
  userId: string | null;
  email: string | null;
}

async function emitFor(ctx: BuildContext, name: string, data: Dict, projectId: string | null): Promise<void> {
  await emitEvent(ctx.db, ctx.events, name, data, { projectId, userId: ctx.userId });
}

/** The claim name of a build job (src/lib/job-queue.ts): held while it is queued or running. */
const buildJobName = (jobId: string) => `playlist-build ${jobId}`;

/**
 * 409 when a build of this playlist is still running. A `running` row whose claim no process
 * holds (the server that ran it stopped mid-build) is marked failed instead of blocking forever.
 */
async function checkNoRunningBuild(db: Db, playlistId: string): Promise<void> {
  const running = await db.selectFrom("build_job").select("id").where("playlist_id", "=", playlistId).where("status", "=", "running").execute();
  const stale: string[] = [];
  for (const job of running) if (!(await isJobClaimed(db, buildJobName(job.id)))) stale.push(job.id);
  if (stale.length > 0) {
    const now = utcNow();
    await db.updateTable("build_job").set({ status: "failed", ended_at: now, updated_at: now }).where("id", "in", stale).execute();
  }
  if (running.length > stale.length) throw new ApiError(409, { error: true, message: "A build of this playlist is already running." });
}

/**
 * `GET /data/playlists/<id>/build/mp4`: creates the build job (`build-job:new`) and queues the
 * build; answers the running job at once. Without ffmpeg the job is refused with a clear 400.
 */
export async function startPlaylistBuild(c: AppContext, playlist: PlaylistRow, full: boolean): Promise<Dict> {
  const db = c.get("db");
  if (!ffmpegAvailable()) throw badRequest("ffmpeg is not available on the server: playlist movies cannot be built (install ffmpeg or set FFMPEG_PATH).");
  await checkNoRunningBuild(db, playlist.id);
  const now = utcNow();
  // Claimed before the row exists, so that no other instance takes the new row for a stale one.
  const jobId = newId();
  const claim = await claimJob(db, buildJobName(jobId));
  const job = await db
    .insertInto("build_job")
    .values({ id: jobId, created_at: now, updated_at: now, status: "running", job_type: "movie", playlist_id: playlist.id })
    .returningAll()
    .executeTakeFirstOrThrow();
  const user = c.get("user");
  const ctx: BuildContext = { db, events: c.get("events"), config: c.get("config"), userId: user?.id ?? null, email: user?.email ?? null };
  await emitFor(ctx, "build-job:new", { build_job_id: job.id, playlist_id: playlist.id, created_at: serialize("build_job", job).created_at }, playlist.project_id);
  sharedJobQueue().push(`playlist-build-${job.id}`, async () => {
    try {
      await runBuild(ctx, playlist, job.id, full);
    } finally {
      await claim?.release();
    }
  });
  return serialize("build_job", job);
}

/** Project encoding size (`resolution` "WxH") and nothing when unset (the first movie's size is used). */
function projectSize(resolution: string | null | undefined): { width: number | null; height: number | null } {
  const match = /^(\d+)x(\d+)$/.exec(resolution ?? "");
  return match ? { width: Number(match[1]), height: Number(match[2]) } : { width: null, height: null };
}

async function runBuild(ctx: BuildContext, playlist: PlaylistRow, jobId: string, full: boolean): Promise<void> {
  const work = join(ctx.config.tmpFolder, `playlist-build-${jobId}`);
  let success = false;
  try {
    const previews = (await entryPreviews(ctx.db, playlist)).filter((preview) => preview.extension === "mp4");
    const inputs: string[] = [];
    await mkdir(work, { recursive: true });
    for (const [index, preview] of previews.entries()) {
      const source = await movieFile(ctx.config, preview.id, "originals");
      if (!source) continue;
      const copy = join(work, `${String(index).padStart(4, "0")}-${preview.id}.mp4`);
      await copyFile(source, copy);
      inputs.push(copy);
    }
    if (inputs.length > 0) {
      const project = await ctx.db.selectFrom("project").select("resolution").where("id", "=", playlist.project_id).executeTakeFirst();
      const output = join(work, `cache-playlists-${jobId}.mp4`);
      await concatMovies(inputs, output, { ...projectSize(project?.resolution), reencode: full });
      const target = buildMoviePath(ctx.config, jobId);
      await mkdir(dirname(target), { recursive: true });
      await rename(output, target).catch(async () => {
        await copyFile(output, target);
      });
      success = true;
    }
  } catch (error) {
    console.error(`playlist build ${jobId} failed:`, error instanceof Error ? error.message : error);
  } finally {
    await rm(work, { recursive: true, force: true }).catch(() => undefined);
  }
  await endBuild(ctx, playlist, jobId, success);
}

async function endBuild(ctx: BuildContext, playlist: PlaylistRow, jobId: string, success: boolean): Promise<void> {
  const status = success ? "succeeded" : "failed";
  const now = utcNow();
  const updated = await ctx.db.updateTable("build_job").set({ status, ended_at: now, updated_at: now }).where("id", "=", jobId).returningAll().executeTakeFirst();
  if (!updated) return; // deleted meanwhile
  // The build ends outside the request (a worker in Zou): the event has no user, as Zou records it.
  await emitEvent(ctx.db, ctx.events, "build-job:update", { build_job_id: jobId, playlist_id: playlist.id, status }, { projectId: playlist.project_id, userId: null });
  if (success && ctx.email && mailConfigured(ctx.config)) {
    const url = `${ctx.config.domainProtocol}://${ctx.config.domainName}/api/data/playlists/${playlist.id}/jobs/${jobId}/build/mp4`;
    await sendMail(ctx.config, { to: ctx.email, subject: "CGWire playlist download", text: `Your playlist ${playlist.name} is available at:\n${url}\n` }).catch((error) =>
      console.error("playlist build mail failed:", error instanceof Error ? error.message : error),
    );
  }
}

/** Removes a build job, its stored movie, and emits `build-job:delete`. */
export async function removeBuildJob(c: AppContext, playlist: PlaylistRow, job: Row): Promise<void> {
  await c.get("db").deleteFrom("build_job").where("id", "=", job.id).execute();
  await forgetStoredFiles(c, "build_job", [job.id], { force: true });
  await emitEvent(c.get("db"), c.get("events"), "build-job:delete", { build_job_id: job.id, playlist_id: playlist.id }, {
    projectId: playlist.project_id,
    userId: c.get("user")?.id ?? null,
  });
}

/** The stored movie of a finished build: 400 `Build is not finished` unless it succeeded, 404 when gone. */
export async function builtMoviePath(c: AppContext, job: Row): Promise<string> {
  if (job.status !== "succeeded") throw badRequest("Build is not finished");
  const path = buildMoviePath(c.get("config"), job.id);
  if (!(await Bun.file(path).exists())) throw notFound();
  return path;
}
