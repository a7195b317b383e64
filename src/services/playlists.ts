/**
 * Playlists (permissions.md §4.8, previews.md §10, Zou's playlists_service): who may read and
 * edit them, the project/episode summaries, a playlist with the preview revisions of its entries,
 * the previews of an entity grouped by task type, temporary playlists, appending entities, build
 * job rows and the client notification.
 */
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import { isTrue, parseJson, serialize } from "../db/serialize";
import { loadServiceRow, type Row } from "../db/rows";
import { badRequest, forbidden, notFound } from "../lib/errors";
import { chunks } from "../lib/chunks";
import { isUuid, normalizeId, utcNow } from "../lib/ids";
import { checkEntityAccess, checkProjectAccess, effectiveRole, isAdmin, type Role } from "./permissions";
import { emit, type Dict } from "./tasks";
import { createNotification } from "./notifications";

export type PlaylistRow = Row;

export async function getPlaylist(c: AppContext, rawId: string | undefined): Promise<PlaylistRow> {
  return loadServiceRow(c.get("db"), "playlist", rawId);
}

/** The stored `shots` list (null, or not a list, reads as empty). */
export function playlistShots(row: PlaylistRow): Dict[] {
  const shots = parseJson(row.shots);
  return Array.isArray(shots) ? shots.filter((shot): shot is Dict => Boolean(shot) && typeof shot === "object") : [];
}

// ---------------------------------------------------------------------------------------------
// Access

/**
 * Reading one playlist: project access, vendors refused, and (issue 9, stricter than Zou on
 * purpose) a client only reads playlists flagged `for_client`.
 */
export async function checkPlaylistRead(c: AppContext, playlist: PlaylistRow): Promise<Role> {
  const role = await checkProjectAccess(c, playlist.project_id);
  if (role === "vendor") throw forbidden();
  if (role === "client" && !isTrue(playlist.for_client)) throw forbidden();
  return role;
}

/** `check_playlist_access`: manager, client on a `for_client` playlist, or supervisor when allowed. */
export async function checkPlaylistAccess(c: AppContext, playlist: PlaylistRow, supervisorAccess = false): Promise<Role> {
  if ((await effectiveRole(c, playlist.project_id)) === "vendor") throw forbidden();
  const role = await checkProjectAccess(c, playlist.project_id);
  if (role === "admin" || role === "manager") return role;
  if (role === "client" && isTrue(playlist.for_client)) return role;
  if (role === "supervisor" && supervisorAccess) return role;
  throw forbidden();
}

/** `check_playlist_update_access`: project manager, or member supervisor when the playlist has no creator or is theirs. */
export async function checkPlaylistUpdateAccess(c: AppContext, playlist: PlaylistRow): Promise<void> {
  const role = await checkProjectAccess(c, playlist.project_id);
  if (role === "admin" || role === "manager") return;
  if (role === "supervisor" && (!playlist.created_by || playlist.created_by === c.get("user").id)) return;
  throw forbidden();
}

// ---------------------------------------------------------------------------------------------
// Lists

const SORTABLE = new Set(["name", "created_at", "updated_at"]);
const PAGE_SIZE = 20;

export interface PlaylistListOptions {
  forClient: boolean;
  page: number;
  sortBy: string;
  taskTypeId: string | null;
  /** An episode id, `main` (no episode, not for all) or `all` (no episode, for all); null: whole project. */
  episodeId: string | null;
}

/** Zou's `build_playlist_dict`: the row without `shots`, with `first_preview_file_id` when the first entry has one. */
function playlistSummary(row: PlaylistRow): Dict {
  const dict = serialize("playlist", row);
  const first = playlistShots(row)[0];
  delete dict.shots;
  if (first && typeof first.preview_file_id === "string" && first.preview_file_id) dict.first_preview_file_id = first.preview_file_id;
  if (dict.for_entity === null) dict.for_entity = "shot";
  return dict;
}

export async function listPlaylists(c: AppContext, projectId: string, options: PlaylistListOptions): Promise<Dict[]> {
  let query = c.get("db").selectFrom("playlist").selectAll().where("project_id", "=", projectId);
  if (options.forClient) query = query.where("for_client", "=", true);
  if (options.taskTypeId) query = query.where("task_type_id", "=", options.taskTypeId);
  if (options.episodeId === "main") {
    query = query.where("episode_id", "is", null).where((eb) => eb.or([eb("is_for_all", "is", null), eb("is_for_all", "=", false)]));
  } else if (options.episodeId === "all") {
    query = query.where("episode_id", "is", null).where("is_for_all", "=", true);
  } else if (options.episodeId) {
    query = query.where("episode_id", "=", options.episodeId);
  }
  const sortBy = SORTABLE.has(options.sortBy) ? options.sortBy : "updated_at";
  const direction = sortBy === "name" ? "asc" : "desc";
  const page = Math.max(1, options.page);
  const rows = await query
    .orderBy(sortBy as "updated_at", direction)
    .orderBy("id")
    .limit(PAGE_SIZE)
    .offset((page - 1) * PAGE_SIZE)
    .execute();
  return rows.map(playlistSummary);
}

/** `GET /data/projects/<id>/playlists/all`: every playlist with its build job ids (admin sync). */
export async function allProjectPlaylists(c: AppContext, projectId: string): Promise<Dict[]> {
  const db = c.get("db");
  const rows = await db.selectFrom("playlist").selectAll().where("project_id", "=", projectId).orderBy("created_at").orderBy("id").execute();
  const jobs = await buildJobIdsByPlaylist(db, rows.map((row) => row.id));
  return rows.map((row) => ({ ...serialize("playlist", row), shots: playlistShots(row), build_jobs: jobs.get(row.id) ?? [] }));
}

export async function buildJobIdsByPlaylist(db: Db, playlistIds: string[]): Promise<Map<string, string[]>> {
  const result = new Map<string, string[]>();
  for (const chunk of chunks(playlistIds)) {
    const rows = await db.selectFrom("build_job").select(["id", "playlist_id"]).where("playlist_id", "in", chunk).orderBy("created_at").execute();
    for (const row of rows) result.set(row.playlist_id, [...(result.get(row.playlist_id) ?? []), row.id]);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Previews of entities

interface PreviewLine {
  row: Row;
  taskTypeId: string;
  entityId: string;
}

/** Preview files of the tasks of `entityIds`, ordered as Zou: task type priority desc, name, revision desc, created_at. */
async function previewLines(db: Db, entityIds: string[]): Promise<PreviewLine[]> {
  const lines: PreviewLine[] = [];
  for (const chunk of chunks([...new Set(entityIds)])) {
    const rows = await db
      .selectFrom("preview_file")
      .innerJoin("task", "task.id", "preview_file.task_id")
      .innerJoin("task_type", "task_type.id", "task.task_type_id")
      .selectAll("preview_file")
      .select(["task.task_type_id as line_task_type_id", "task.entity_id as line_entity_id", "task_type.priority as line_priority", "task_type.name as line_type_name"])
      .where("task.entity_id", "in", chunk)
      .execute();
    for (const { line_task_type_id, line_entity_id, line_priority, line_type_name, ...row } of rows) {
      lines.push({ row: { ...row, line_priority, line_type_name }, taskTypeId: line_task_type_id!, entityId: line_entity_id! });
    }
  }
  lines.sort((a, b) =>
    Number(b.row.line_priority ?? 0) - Number(a.row.line_priority ?? 0)
    || String(a.row.line_type_name).localeCompare(String(b.row.line_type_name))
    || Number(b.row.revision ?? 0) - Number(a.row.revision ?? 0)
    || String(a.row.created_at).localeCompare(String(b.row.created_at))
    || Number(a.row.position ?? 0) - Number(b.row.position ?? 0));
  return lines;
}

/** Groups previews of one revision under the first one (`previews` holds the others), as Zou's mix. */
function mixRevisions(previews: Dict[]): Dict[] {
  const byRevision = new Map<unknown, Dict>();
  const result: Dict[] = [];
  for (const preview of previews) {
    const parent = byRevision.get(preview.revision);
    if (parent) {
      (parent.previews as Dict[]).push(preview);
    } else {
      preview.previews = [];
      byRevision.set(preview.revision, preview);
      result.push(preview);
    }
  }
  return result;
}

/** The light preview dict of playlists. */
function lightPreview(row: Row, withAnnotations: boolean): Dict {
  const dict: Dict = {
    id: row.id,
    revision: Number(row.revision ?? 0),
    extension: row.extension ?? null,
    width: Number(row.width ?? 0),
    height: Number(row.height ?? 0),
    duration: Number(row.duration ?? 0),
    status: row.status,
    created_at: serialize("preview_file", row).created_at,
    task_id: row.task_id,
  };
  if (withAnnotations) dict.annotations = parseJson(row.annotations) ?? null;
  return dict;
}

/** The preview dict of the entity previews route and temporary playlists. */
function entityPreview(row: Row): Dict {
  const data = (parseJson(row.data) as Dict | null) ?? {};
  return {
    id: row.id,
    revision: Number(row.revision ?? 0),
    original_name: row.original_name ?? null,
    extension: row.extension ?? null,
    width: Number(row.width ?? 0),
    height: Number(row.height ?? 0),
    duration: Number(row.duration ?? 0),
    status: row.status,
    annotations: parseJson(row.annotations) ?? null,
    created_at: serialize("preview_file", row).created_at,
    task_id: row.task_id,
    original_width: data.original_width ?? null,
    original_height: data.original_height ?? null,
    original_duration: data.original_duration ?? null,
    original_file_size: data.original_file_size ?? null,
  };
}

/** `GET /data/playlists/entities/<id>/preview-files`: previews per task type id, revisions mixed. */
export async function entityPreviewFiles(db: Db, entityId: string): Promise<Record<string, Dict[]>> {
  const byTask = new Map<string, { taskTypeId: string; previews: Dict[] }>();
  for (const line of await previewLines(db, [entityId])) {
    const taskId = String(line.row.task_id);
    const group = byTask.get(taskId) ?? { taskTypeId: line.taskTypeId, previews: [] };
    group.previews.push(entityPreview(line.row));
    byTask.set(taskId, group);
  }
  const result: Record<string, Dict[]> = {};
  for (const group of byTask.values()) result[group.taskTypeId] = mixRevisions(group.previews);
  return result;
}

/** Checks access to an entity for the previews route: project member, vendors only where assigned. */
export async function checkEntityPreviewsAccess(c: AppContext, rawEntityId: string | undefined): Promise<Row> {
  const entity = await loadServiceRow(c.get("db"), "entity", rawEntityId);
  await checkProjectAccess(c, entity.project_id);
  await checkEntityAccess(c, { id: entity.id, project_id: entity.project_id });
  return entity;
}

/**
 * A playlist with, for each entry, every preview of its entity grouped by task type and the
 * details of the chosen preview (Zou's `get_playlist_with_preview_file_revisions`).
 */
export async function playlistWithPreviews(db: Db, playlist: PlaylistRow, options: { annotations: boolean }): Promise<Dict> {
  const dict = serialize("playlist", playlist);
  const jobs = await db.selectFrom("build_job").selectAll().where("playlist_id", "=", playlist.id).orderBy("created_at", "desc").execute();
  dict.build_jobs = jobs.map(presentBuildJob);
  const shots = playlistShots(playlist).map((shot) => ({ ...shot }));
  for (const shot of shots) {
    if (!("id" in shot)) shot.id = shot.shot_id ?? shot.entity_id ?? null;
  }
  const lines = await previewLines(db, shots.map((shot) => shot.id).filter((id): id is string => typeof id === "string"));
  const byEntity = new Map<string, Map<string, Dict[]>>();
  const byId = new Map<string, Dict>();
  for (const line of lines) {
    const types = byEntity.get(line.entityId) ?? new Map<string, Dict[]>();
    byEntity.set(line.entityId, types);
    const preview = lightPreview(line.row, options.annotations);
    types.set(line.taskTypeId, [...(types.get(line.taskTypeId) ?? []), preview]);
    byId.set(String(line.row.id), preview);
  }
  for (const shot of shots) {
    const types = byEntity.get(String(shot.id));
    if (!types) {
      shot.preview_files = [];
    } else {
      const grouped: Record<string, Dict[]> = {};
      for (const [taskTypeId, previews] of types) grouped[taskTypeId] = mixRevisions(previews);
      shot.preview_files = grouped;
    }
  }
  for (const shot of shots) {
    const preview = typeof shot.preview_file_id === "string" ? byId.get(shot.preview_file_id) : undefined;
    if (!preview) {
      delete shot.preview_file_id;
      continue;
    }
    Object.assign(shot, {
      preview_file_extension: preview.extension,
      preview_file_revision: preview.revision,
      preview_file_width: preview.width,
      preview_file_height: preview.height,
      preview_file_duration: preview.duration,
      preview_file_status: preview.status,
      preview_file_task_id: preview.task_id,
      preview_file_previews: preview.previews ?? [],
    });
    if (options.annotations) shot.preview_file_annotations = preview.annotations ?? null;
  }
  dict.shots = shots;
  return dict;
}

// ---------------------------------------------------------------------------------------------
// Temporary playlists

/** `POST /data/projects/<p>/playlists/temp`: one playlisted entity per task, nothing stored. */
export async function tempPlaylist(c: AppContext, projectId: string, taskIds: string[], sort: boolean): Promise<Dict[]> {
  const db = c.get("db");
  const result: Dict[] = [];
  for (const taskId of taskIds) {
    const task = await db.selectFrom("task").selectAll().where("id", "=", taskId).executeTakeFirst();
    if (!task) throw notFound();
    if (task.project_id !== projectId) throw badRequest("Task does not belong to this project.");
    await checkEntityAccess(c, { id: task.entity_id!, project_id: task.project_id });
    const entity = await db
      .selectFrom("entity")
      .innerJoin("entity_type", "entity_type.id", "entity.entity_type_id")
      .selectAll("entity")
      .select("entity_type.name as type_name")
      .where("entity.id", "=", task.entity_id!)
      .executeTakeFirstOrThrow();
    const item: Dict = {
      id: entity.id, name: entity.name, preview_file_task_id: task.id,
      episode_id: "", episode_name: "", sequence_id: "", sequence_name: "", asset_type_id: "", asset_type_name: "", parent_name: "",
    };
    if (entity.type_name === "Shot") {
      const sequence = entity.parent_id ? await db.selectFrom("entity").select(["id", "name", "parent_id"]).where("id", "=", entity.parent_id).executeTakeFirst() : undefined;
      // Zou leaves episode_id/episode_name empty here, even for shots of an episode.
      Object.assign(item, { sequence_id: sequence?.id ?? "", sequence_name: sequence?.name ?? "", parent_name: sequence?.name ?? "" });
    } else {
      Object.assign(item, { asset_type_id: entity.entity_type_id, asset_type_name: entity.type_name, parent_name: entity.type_name });
    }
    const previews = await entityPreviewFiles(db, entity.id);
    const first = previews[task.task_type_id!]?.[0];
    if (first) {
      Object.assign(item, {
        preview_file_id: first.id, preview_file_extension: first.extension, preview_file_width: first.width,
        preview_file_height: first.height, preview_file_duration: first.duration, preview_file_revision: first.revision,
        preview_file_status: first.status, preview_file_annotations: first.annotations ?? [], preview_file_previews: first.previews ?? [],
      });
    }
    item.preview_files = previews;
    result.push(item);
  }
  if (sort) {
    result.sort((a, b) =>
      String(a.episode_name).localeCompare(String(b.episode_name))
      || String(a.parent_name).localeCompare(String(b.parent_name))
      || String(a.name).localeCompare(String(b.name)));
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Editing entries

export interface PlaylistEntry {
  entity_id: string;
  preview_file_id?: string | null;
}

/**
 * Appends entities to a playlist in one write (an entity already there gets the new preview).
 * Without a preview id, the newest preview of the entity (of the playlist's task type) is used.
 * Emits `playlist:add_entity` per entry. Returns the serialized playlist.
 */
export async function addEntities(c: AppContext, playlist: PlaylistRow, entries: PlaylistEntry[]): Promise<Dict> {
  const db = c.get("db");
  const shots = playlistShots(playlist).map((shot) => ({ ...shot }));
  const added: Dict[] = [];
  for (const entry of entries) {
    const entity = await db.selectFrom("entity").select(["id", "project_id", "preview_file_id"]).where("id", "=", entry.entity_id).executeTakeFirst();
    if (!entity) throw notFound();
    if (entity.project_id !== playlist.project_id) throw badRequest("Entity does not belong to the playlist's project.");
    let previewId = entry.preview_file_id ?? (await latestPreviewId(db, entity.id, playlist.task_type_id)) ?? entity.preview_file_id ?? null;
    if (entry.preview_file_id) {
      const preview = await db
        .selectFrom("preview_file")
        .innerJoin("task", "task.id", "preview_file.task_id")
        .select("preview_file.id")
        .where("preview_file.id", "=", entry.preview_file_id)
        .where("task.entity_id", "=", entity.id)
        .executeTakeFirst();
      if (!preview) throw badRequest("Preview file does not belong to this entity.");
      previewId = preview.id;
    }
    const shot: Dict = { entity_id: entity.id };
    if (previewId) shot.preview_file_id = previewId;
    const existing = shots.find((item) => (item.entity_id ?? item.id) === entity.id);
    if (existing) {
      if (previewId) existing.preview_file_id = previewId;
    } else {
      shots.push(shot);
    }
    added.push(shot);
  }
  const updated = await db
    .updateTable("playlist")
    .set({ shots: JSON.stringify(shots), updated_at: utcNow() })
    .where("id", "=", playlist.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  for (const shot of added) {
    await emit(c, "playlist:add_entity", { playlist_id: playlist.id, entity_id: shot.entity_id, preview_file_id: shot.preview_file_id ?? null }, playlist.project_id);
  }
  return serialize("playlist", updated);
}

/** The newest preview of an entity's tasks (of the playlist's task type when it has one). */
async function latestPreviewId(db: Db, entityId: string, taskTypeId: string | null): Promise<string | null> {
  let query = db
    .selectFrom("preview_file")
    .innerJoin("task", "task.id", "preview_file.task_id")
    .select("preview_file.id")
    .where("task.entity_id", "=", entityId);
  if (taskTypeId) query = query.where("task.task_type_id", "=", taskTypeId);
  const row = await query.orderBy("preview_file.revision", "desc").orderBy("preview_file.created_at", "desc").orderBy("preview_file.position").executeTakeFirst();
  return row?.id ?? null;
}

/** Entries sent to add-entity/add-entities: `entity_id` uuids (400 otherwise), optional `preview_file_id`. */
export function parseEntry(value: unknown): PlaylistEntry {
  if (!value || typeof value !== "object" || Array.isArray(value)) throw badRequest("Each entity must be an object with an entity_id.");
  const item = value as Dict;
  if (!isUuid(item.entity_id)) throw badRequest("entity_id must be a valid id.");
  const previewId = item.preview_file_id;
  if (previewId !== undefined && previewId !== null && previewId !== "" && !isUuid(previewId)) throw badRequest("preview_file_id must be a valid id.");
  return { entity_id: normalizeId(item.entity_id), preview_file_id: typeof previewId === "string" && previewId ? normalizeId(previewId) : null };
}

// ---------------------------------------------------------------------------------------------
// Build jobs

export function presentBuildJob(row: Row): Dict {
  const dict = serialize("build_job", row);
  return { id: dict.id, status: dict.status, created_at: dict.created_at };
}

export async function getBuildJob(c: AppContext, playlist: PlaylistRow, rawId: string | undefined): Promise<Row> {
  const job = await loadServiceRow(c.get("db"), "build_job", rawId);
  if (job.playlist_id !== playlist.id) throw notFound();
  return job;
}

export async function projectBuildJobs(db: Db, projectId: string): Promise<Dict[]> {
  const rows = await db
    .selectFrom("build_job")
    .innerJoin("playlist", "playlist.id", "build_job.playlist_id")
    .selectAll("build_job")
    .where("playlist.project_id", "=", projectId)
    .orderBy("build_job.created_at")
    .execute();
  return rows.map((row) => serialize("build_job", row));
}

// ---------------------------------------------------------------------------------------------
// Client notification

/**
 * `POST /data/playlists/<id>/notify-clients`: a `playlist-ready` notification for every non-bot
 * team member whose project role is client, optionally only those of a studio or department.
 */
export async function notifyClients(c: AppContext, playlist: PlaylistRow, filters: { studioId: string | null; departmentId: string | null }): Promise<number> {
  const db = c.get("db");
  let query = db
    .selectFrom("project_person_link")
    .innerJoin("person", "person.id", "project_person_link.person_id")
    .select(["person.id", "person.role", "project_person_link.role as link_role", "person.studio_id"])
    .where("project_person_link.project_id", "=", playlist.project_id)
    .where((eb) => eb.or([eb("person.is_bot", "is", null), eb("person.is_bot", "=", false)]));
  if (filters.studioId) query = query.where("person.studio_id", "=", filters.studioId);
  const members = await query.execute();
  let departmentMembers: Set<string> | null = null;
  if (filters.departmentId) {
    const links = await db.selectFrom("department_link").select("person_id").where("department_id", "=", filters.departmentId).execute();
    departmentMembers = new Set(links.map((link) => link.person_id));
  }
  let count = 0;
  for (const member of members) {
    const role = member.link_role && member.link_role !== "admin" ? member.link_role : member.role;
    if (role !== "client" || (departmentMembers && !departmentMembers.has(member.id))) continue;
    const existing = await db
      .selectFrom("notification")
      .select("id")
      .where("person_id", "=", member.id)
      .where("playlist_id", "=", playlist.id)
      .where("type", "=", "playlist-ready")
      .where("author_id", "=", c.get("user").id)
      .executeTakeFirst();
    if (existing) continue;
    await createNotification(c, { personId: member.id, authorId: c.get("user").id, type: "playlist-ready", projectId: playlist.project_id, playlistId: playlist.id });
    count += 1;
  }
  return count;
}


