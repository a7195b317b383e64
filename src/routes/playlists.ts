/**
 * Routes of the `playlists` area (routes.tsv): project and episode playlist lists, a playlist
 * with its preview revisions, the previews of an entity, temporary playlists, adding entities,
 * build jobs (movie builds and their downloads), the ZIP download, client notifications and the
 * management of share links. The guest side of share links is in routes/shared.ts.
 */
import type { Hono } from "hono";
import { rm } from "node:fs/promises";
import type { AppContext, AppEnv } from "../context";
import { readJsonObject, readLooseBody } from "../lib/body";
import { badRequest, notFound } from "../lib/errors";
import { isUuid, normalizeId, queryId } from "../lib/ids";
import { sendStoredFile } from "../lib/file-response";
import { loadServiceRow } from "../db/rows";
import {
  addEntities,
  allProjectPlaylists,
  checkEntityPreviewsAccess,
  checkPlaylistAccess,
  checkPlaylistRead,
  checkPlaylistUpdateAccess,
  entityPreviewFiles,
  getBuildJob,
  getPlaylist,
  listPlaylists,
  notifyClients,
  parseEntry,
  playlistWithPreviews,
  projectBuildJobs,
  tempPlaylist,
} from "../services/playlists";
import { buildPlaylistZip, builtMoviePath, movieDownloadName, removeBuildJob, startPlaylistBuild, zipDownloadName } from "../services/playlist-builds";
import { activeShareLinks, createShareLink, parseNewShareLink, playlistShareLink, revokeShareLink, sendShareInvitations } from "../services/shared-links";
import { blockVendor, checkAdmin, checkManagerProjectAccess, checkProjectAccess } from "../services/permissions";
import { serialize } from "../db/serialize";

async function loadProject(c: AppContext): Promise<string> {
  const project = await loadServiceRow(c.get("db"), "project", c.req.param("project_id"));
  return project.id;
}

function pageParam(c: AppContext): number {
  const page = c.req.query("page");
  if (page === undefined || page === "") return 1;
  const value = Number(page);
  if (!Number.isInteger(value)) throw badRequest("page must be an integer.");
  return value;
}

function boolParam(c: AppContext, name: string): boolean {
  return ["true", "1"].includes((c.req.query(name) ?? "").toLowerCase());
}

/** The project and episode playlist lists (vendors refused, clients see `for_client` ones only). */
async function playlistList(c: AppContext, episodeId: string | null): Promise<Response> {
  const projectId = await loadProject(c);
  await blockVendor(c, projectId);
  const role = await checkProjectAccess(c, projectId);
  const taskType = c.req.query("task_type_id");
  return c.json(await listPlaylists(c, projectId, {
    forClient: role === "client",
    page: pageParam(c),
    sortBy: c.req.query("sort_by") ?? "updated_at",
    taskTypeId: taskType ? queryId(taskType) : null,
    episodeId,
  }));
}

export function registerPlaylists(app: Hono<AppEnv>): void {
  app.get("/data/projects/:project_id/playlists", (c) => playlistList(c, null));

  app.get("/data/projects/:project_id/playlists/all", async (c) => {
    checkAdmin(c);
    return c.json(await allProjectPlaylists(c, await loadProject(c)));
  });

  app.get("/data/projects/:project_id/episodes/:episode_id/playlists", async (c) => {
    const raw = c.req.param("episode_id");
    if (raw === "main" || raw === "all") return playlistList(c, raw);
    const episode = await loadServiceRow(c.get("db"), "entity", raw);
    return playlistList(c, episode.id);
  });

  app.get("/data/projects/:project_id/playlists/:playlist_id", async (c) => {
    await loadProject(c);
    const playlist = await getPlaylist(c, c.req.param("playlist_id"));
    await checkPlaylistRead(c, playlist);
    return c.json(await playlistWithPreviews(c.get("db"), playlist, { annotations: false }));
  });

  app.get("/data/playlists/entities/:entity_id/preview-files", async (c) => {
    const entity = await checkEntityPreviewsAccess(c, c.req.param("entity_id"));
    return c.json(await entityPreviewFiles(c.get("db"), entity.id));
  });

  app.post("/data/projects/:project_id/playlists/temp", async (c) => {
    const projectId = await loadProject(c);
    await checkProjectAccess(c, projectId);
    const body = await readJsonObject(c);
    const taskIds = body.task_ids ?? [];
    if (!Array.isArray(taskIds) || !taskIds.every(isUuid)) throw badRequest("task_ids must be a list of task ids.");
    return c.json(await tempPlaylist(c, projectId, taskIds.map(normalizeId), boolParam(c, "sort")));
  });

  // Entries

  app.post("/actions/playlists/:playlist_id/add-entity", async (c) => {
    const playlist = await getPlaylist(c, c.req.param("playlist_id"));
    await checkPlaylistUpdateAccess(c, playlist);
    const entry = parseEntry(await readJsonObject(c));
    return c.json(await addEntities(c, playlist, [entry]));
  });

  app.post("/actions/playlists/:playlist_id/add-entities", async (c) => {
    const playlist = await getPlaylist(c, c.req.param("playlist_id"));
    await checkPlaylistUpdateAccess(c, playlist);
    const body = await readJsonObject(c);
    if (!Array.isArray(body.entities)) throw badRequest("entities must be a list of {entity_id, preview_file_id}.");
    return c.json(await addEntities(c, playlist, body.entities.map(parseEntry)));
  });

  app.post("/data/playlists/:playlist_id/notify-clients", async (c) => {
    const body = await readLooseBody(c);
    const playlist = await getPlaylist(c, c.req.param("playlist_id"));
    await checkManagerProjectAccess(c, playlist.project_id);
    const optionalId = (name: string) => {
      const value = body[name];
      if (value === undefined || value === null || value === "") return null;
      if (!isUuid(value)) throw badRequest(`${name} must be a valid id.`);
      return normalizeId(value);
    };
    await notifyClients(c, playlist, { studioId: optionalId("studio_id"), departmentId: optionalId("department_id") });
    return c.json({ status: "success" });
  });

  // Build jobs and files

  app.get("/data/projects/:project_id/build-jobs", async (c) => {
    checkAdmin(c);
    return c.json(await projectBuildJobs(c.get("db"), await loadProject(c)));
  });

  app.get("/data/playlists/:playlist_id/jobs/:build_job_id", async (c) => {
    const playlist = await getPlaylist(c, c.req.param("playlist_id"));
    await checkPlaylistAccess(c, playlist);
    const job = await getBuildJob(c, playlist, c.req.param("build_job_id"));
    return c.json(serialize("build_job", job));
  });

  app.delete("/data/playlists/:playlist_id/jobs/:build_job_id", async (c) => {
    const playlist = await getPlaylist(c, c.req.param("playlist_id"));
    await checkPlaylistAccess(c, playlist);
    const job = await getBuildJob(c, playlist, c.req.param("build_job_id"));
    await removeBuildJob(c, playlist, job);
    return c.body(null, 204);
  });

  app.get("/data/playlists/:playlist_id/build/mp4", async (c) => {
    const playlist = await getPlaylist(c, c.req.param("playlist_id"));
    await checkManagerProjectAccess(c, playlist.project_id);
    return c.json(await startPlaylistBuild(c, playlist, boolParam(c, "full")));
  });

  app.get("/data/playlists/:playlist_id/jobs/:build_job_id/build/mp4", async (c) => {
    const playlist = await getPlaylist(c, c.req.param("playlist_id"));
    await checkPlaylistAccess(c, playlist, true);
    const job = await getBuildJob(c, playlist, c.req.param("build_job_id"));
    const path = await builtMoviePath(c, job);
    const response = await sendStoredFile(c.req.raw, { path, extension: "mp4", filename: await movieDownloadName(c.get("db"), playlist, job), download: true });
    if (!response) throw notFound();
    return response;
  });

  app.get("/data/playlists/:playlist_id/download/zip", async (c) => {
    const playlist = await getPlaylist(c, c.req.param("playlist_id"));
    await checkPlaylistAccess(c, playlist, true);
    const path = await buildPlaylistZip(c, playlist);
    const response = await sendStoredFile(c.req.raw, { path, extension: "zip", filename: await zipDownloadName(c.get("db"), playlist), download: true });
    // The archive is a temporary file: removed once it has had time to be sent.
    setTimeout(() => void rm(path, { force: true }).catch(() => undefined), 10 * 60_000).unref?.();
    if (!response) {
      // An empty archive (no stored preview) is still a valid ZIP of 22 bytes, so this is unexpected.
      throw notFound();
    }
    return response;
  });

  // Share links (managers)

  const managedPlaylist = async (c: AppContext) => {
    const playlist = await getPlaylist(c, c.req.param("playlist_id"));
    await checkManagerProjectAccess(c, playlist.project_id);
    return playlist;
  };

  app.get("/data/playlists/:playlist_id/share", async (c) => {
    const playlist = await managedPlaylist(c);
    return c.json(await activeShareLinks(c.get("db"), playlist.id));
  });

  app.post("/data/playlists/:playlist_id/share", async (c) => {
    const body = await readLooseBody(c);
    const playlist = await managedPlaylist(c);
    return c.json(await createShareLink(c, playlist, parseNewShareLink(body)), 201);
  });

  app.delete("/data/playlists/:playlist_id/share/:token", async (c) => {
    const playlist = await managedPlaylist(c);
    const link = await playlistShareLink(c.get("db"), playlist, c.req.param("token"));
    return c.json(await revokeShareLink(c.get("db"), link));
  });

  app.post("/data/playlists/:playlist_id/share/:token/invite", async (c) => {
    const body = await readJsonObject(c);
    const playlist = await managedPlaylist(c);
    const link = await playlistShareLink(c.get("db"), playlist, c.req.param("token"));
    return c.json({ sent: await sendShareInvitations(c, playlist, link, body) });
  });

}
