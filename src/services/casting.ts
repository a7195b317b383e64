/**
 * Breakdown: casting links (entity_link: a shot, sequence, episode or asset uses assets, with an
 * occurrence count and a label), their listings per shot/sequence/episode/asset type, the
 * casting stats of shot tasks, and asset instances placed in scenes and shots.
 */
import { sql } from "kysely";
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import { serialize } from "../db/serialize";
import { loadServiceRow } from "../db/rows";
import { badRequest } from "../lib/errors";
import { isUuid, newId, normalizeId, utcNow } from "../lib/ids";
import { chunks } from "../lib/chunks";
import { emit } from "./projects";
import { ascNullsLast } from "../db/order";
import { transact } from "../db/transaction";

export type Row = Record<string, any>;
export type Dict = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Entities

const notCanceled = (column: string) => sql<boolean>`(${sql.ref(column)} is null or ${sql.ref(column)} = ${false})`;

// ---------------------------------------------------------------------------------------------
// Casting listings

/**
 * Assets cast in one entity: `[{asset_id, asset_name, asset_type_name, ready_for, episode_id,
 * preview_file_id, nb_occurences, label, is_shared, project_id}]` (the asset's own project: a
 * shared asset may come from another one).
 */
export async function getCasting(db: Db, entityId: string): Promise<Dict[]> {
  const rows = await db
    .selectFrom("entity_link")
    .innerJoin("entity", "entity.id", "entity_link.entity_out_id")
    .innerJoin("entity_type", "entity_type.id", "entity.entity_type_id")
    .select([
      "entity_link.entity_out_id", "entity_link.nb_occurences", "entity_link.label", "entity.name",
      "entity.preview_file_id", "entity.source_id", "entity.ready_for", "entity.is_shared", "entity.project_id",
      "entity_type.name as type_name",
    ])
    .where("entity_link.entity_in_id", "=", entityId)
    .where(notCanceled("entity.canceled"))
    .orderBy("entity_type.name")
    .orderBy("entity.name")
    .execute();
  return rows.map((row) => ({
    asset_id: row.entity_out_id,
    asset_name: row.name,
    asset_type_name: row.type_name,
    ready_for: row.ready_for ?? null,
    episode_id: row.source_id ?? null,
    preview_file_id: row.preview_file_id ?? null,
    nb_occurences: row.nb_occurences,
    label: row.label,
    is_shared: Boolean(row.is_shared),
    project_id: row.project_id,
  }));
}

interface ContainerLink {
  container_id: string;
  entity_out_id: string;
  nb_occurences: number | null;
  label: string | null;
  name: string;
  type_name: string;
  preview_file_id: string | null;
  is_shared: unknown;
  project_id: string;
  sequence_name?: string;
}

/** Groups casting rows per container id: `{container_id: [{asset_id, name, asset_name, ...}]}`. */
function groupCasting(rows: ContainerLink[], withSequence = false): Record<string, Dict[]> {
  const result: Record<string, Dict[]> = {};
  for (const row of rows) {
    const entry: Dict = {
      asset_id: row.entity_out_id,
      name: row.name,
      asset_name: row.name,
      asset_type_name: row.type_name,
    };
    if (withSequence) entry.sequence_name = row.sequence_name ?? null;
    Object.assign(entry, {
      preview_file_id: row.preview_file_id ?? null,
      nb_occurences: row.nb_occurences,
      label: row.label,
      is_shared: Boolean(row.is_shared),
      project_id: row.project_id,
    });
    (result[row.container_id] ??= []).push(entry);
  }
  return result;
}

function castingSelect(db: Db) {
  return db
    .selectFrom("entity_link")
    .innerJoin("entity as container", "container.id", "entity_link.entity_in_id")
    .innerJoin("entity", "entity.id", "entity_link.entity_out_id")
    .innerJoin("entity_type", "entity_type.id", "entity.entity_type_id")
    .select([
      "entity_link.entity_in_id as container_id", "entity_link.entity_out_id", "entity_link.nb_occurences",
      "entity_link.label", "entity.name", "entity_type.name as type_name", "entity.preview_file_id", "entity.is_shared",
      "entity.project_id",
    ])
    .where(notCanceled("entity.canceled"));
}

/**
 * The "episodes casting" of a project, per container id. As in Zou, the containers are not
 * restricted to episodes: every entity of the project that casts assets is listed (episodes,
 * sequences, shots...); Kitsu reads the episode keys.
 */
export async function episodesCasting(db: Db, projectId: string): Promise<Record<string, Dict[]>> {
  const rows = await castingSelect(db)
    .where("container.project_id", "=", projectId)
    .orderBy("entity_type.name")
    .orderBy("entity.name")
    .execute();
  return groupCasting(rows as ContainerLink[]);
}

/**
 * Casting of the shots of one sequence, or of a project (optionally one episode), per shot id.
 * As in Zou, a "shot" is any casting entity under a parent: in a project, the sequences cast
 * under an episode are listed too (their `sequence_name` is the episode's name).
 */
export async function shotsCasting(
  db: Db,
  scope: { sequenceId?: string; projectId?: string; episodeId?: string | null },
): Promise<Record<string, Dict[]>> {
  let query = castingSelect(db)
    .innerJoin("entity as sequence", "sequence.id", "container.parent_id")
    .select("sequence.name as sequence_name");
  if (scope.sequenceId) {
    query = query.where("container.parent_id", "=", scope.sequenceId).orderBy("container.name");
  } else {
    if (scope.projectId) query = query.where("container.project_id", "=", scope.projectId);
    if (scope.episodeId) query = query.where("sequence.parent_id", "=", scope.episodeId);
    query = query.orderBy("sequence.name").orderBy("container.name");
  }
  const rows = await query.orderBy("entity_type.name").orderBy("entity.name").execute();
  return groupCasting(rows as ContainerLink[], true);
}

/** Casting of the assets of one asset type in a project (set dressing), per asset id. */
export async function assetTypeCasting(db: Db, projectId: string, assetTypeId: string): Promise<Record<string, Dict[]>> {
  const rows = await castingSelect(db)
    .where("container.project_id", "=", projectId)
    .where("container.entity_type_id", "=", assetTypeId)
    .orderBy("entity_type.name")
    .orderBy("entity.name")
    .execute();
  return groupCasting(rows as ContainerLink[]);
}

// ---------------------------------------------------------------------------------------------
// Casting updates

interface CastEntry {
  assetId: string;
  nbOccurences: number;
  label: string;
}

/** Keeps the entries carrying `asset_id` and `nb_occurences` (as Zou does); checks their values. */
export async function parseCasting(db: Db, casting: unknown[]): Promise<Map<string, CastEntry>> {
  const wanted = new Map<string, CastEntry>();
  for (const cast of casting) {
    if (!cast || typeof cast !== "object" || Array.isArray(cast)) throw badRequest("Each casting entry must be an object.");
    const entry = cast as Record<string, unknown>;
    if (!("asset_id" in entry) || !("nb_occurences" in entry)) continue;
    if (!isUuid(entry.asset_id)) throw badRequest(`Wrong asset_id: ${String(entry.asset_id)}`);
    const nb = Number(entry.nb_occurences);
    if (entry.nb_occurences === null || typeof entry.nb_occurences === "boolean" || !Number.isInteger(nb)) {
      throw badRequest(`Wrong nb_occurences for asset ${String(entry.asset_id)}`);
    }
    const label = entry.label === undefined || entry.label === null ? "" : String(entry.label);
    wanted.set(normalizeId(entry.asset_id), { assetId: normalizeId(entry.asset_id), nbOccurences: nb, label });
  }
  const found = new Set<string>();
  for (const ids of chunks([...wanted.keys()])) {
    for (const row of await db.selectFrom("entity").select("id").where("id", "in", ids).execute()) found.add(row.id);
  }
  for (const id of wanted.keys()) if (!found.has(id)) throw badRequest(`Asset ${id} not found`);
  return wanted;
}

let lastLinkMicros = 0;

/**
 * A creation time with microseconds (`YYYY-MM-DDTHH:MM:SS.ffffff`), increasing within the process:
 * entity links are paged by `created_at` cursor, which needs more than whole seconds (Zou stores
 * microseconds and answers them in the entity-links list).
 */
function linkTimestamp(): string {
  const micros = Math.max(Date.now() * 1000, lastLinkMicros + 1);
  lastLinkMicros = micros;
  const seconds = Math.floor(micros / 1_000_000);
  return `${new Date(seconds * 1000).toISOString().slice(0, 19)}.${String(micros % 1_000_000).padStart(6, "0")}`;
}

/** A stored `created_at` as Zou's entity-links list answers it: with microseconds. */
function withMicroseconds(value: unknown): string | null {
  if (value === null || value === undefined || value === "") return null;
  if (value instanceof Date) return `${value.toISOString().slice(0, 23)}000`;
  const text = String(value).replace(" ", "T");
  if (text.length === 19) return `${text}.000000`;
  if (text.length > 20 && text[19] === ".") return `${text.slice(0, 20)}${text.slice(20, 26).padEnd(6, "0")}`;
  return text;
}

async function insertLink(db: Db, entityInId: string, entityOutId: string, nbOccurences: number, label: string): Promise<string> {
  const now = linkTimestamp();
  const id = newId();
  await db
    .insertInto("entity_link")
    .values({ id, created_at: now, updated_at: now.slice(0, 19), entity_in_id: entityInId, entity_out_id: entityOutId, nb_occurences: nbOccurences, label })
    .execute();
  return id;
}

async function createLink(c: AppContext, entityInId: string, entityOutId: string, nbOccurences: number, label: string, projectId: string): Promise<void> {
  const id = await insertLink(c.get("db"), entityInId, entityOutId, nbOccurences, label);
  await emit(c, "entity-link:new", { entity_link_id: id, entity_in_id: entityInId, entity_out_id: entityOutId, nb_occurences: nbOccurences }, projectId);
}

/**
 * When an asset is cast in a shot of a tv show, it is cast in the shot's episode too; as in Zou,
 * that link is announced by `asset:update` only (no `entity-link:new`).
 */
async function castInEpisode(c: AppContext, shot: Row, assetId: string, label: string): Promise<void> {
  if (!shot.parent_id) return;
  const db = c.get("db");
  const sequence = await db.selectFrom("entity").select("parent_id").where("id", "=", shot.parent_id).executeTakeFirst();
  if (!sequence?.parent_id) return;
  const link = await db
    .selectFrom("entity_link")
    .select("id")
    .where("entity_in_id", "=", sequence.parent_id)
    .where("entity_out_id", "=", assetId)
    .executeTakeFirst();
  if (link) return;
  await insertLink(db, sequence.parent_id, assetId, 1, label);
  await recountEntitiesOut(db, sequence.parent_id);
  await emit(c, "asset:update", { asset_id: assetId }, shot.project_id);
}

async function recountEntitiesOut(db: Db, entityId: string): Promise<number> {
  const row = await db.selectFrom("entity_link").select(sql<number>`count(*)`.as("n")).where("entity_in_id", "=", entityId).executeTakeFirst();
  const count = Number(row?.n ?? 0);
  await db.updateTable("entity").set({ nb_entities_out: count, updated_at: utcNow() }).where("id", "=", entityId).execute();
  return count;
}

/** Shots of an episode (through their sequences). */
async function episodeShotIds(db: Db, episodeId: string): Promise<string[]> {
  const rows = await db
    .selectFrom("entity as shot")
    .innerJoin("entity as sequence", "sequence.id", "shot.parent_id")
    .innerJoin("entity_type", "entity_type.id", "shot.entity_type_id")
    .select("shot.id")
    .where("sequence.parent_id", "=", episodeId)
    .where("entity_type.name", "=", "Shot")
    .execute();
  return rows.map((r) => r.id);
}

/**
 * Replaces the casting of an entity. Links of assets no longer listed are removed (for an
 * episode, from its shots too), kept ones get their count and label, new ones are created (for a
 * shot of a tv show, also in its episode). Emits the entity-link events and
 * `<shot|episode|asset>:casting-update`; returns the casting as sent.
 */
export async function updateCasting(c: AppContext, entity: Row & { kind: string }, casting: unknown[], wanted?: Map<string, CastEntry>): Promise<unknown[]> {
  const db = c.get("db");
  const entries = wanted ?? (await parseCasting(db, casting));
  const previous = new Map(
    (await db.selectFrom("entity_link").selectAll().where("entity_in_id", "=", entity.id).execute()).map((l) => [l.entity_out_id, l]),
  );
  const removed = [...previous.keys()].filter((id) => !entries.has(id));
  const added = [...entries.keys()].filter((id) => !previous.has(id));
  const projectId = entity.project_id as string;

  if (entity.kind === "Episode" && removed.length) {
    const shotIds = await episodeShotIds(db, entity.id);
    const touched = new Set<string>();
    for (const shots of chunks(shotIds)) {
      const links = await db.selectFrom("entity_link").select(["id", "entity_in_id"]).where("entity_in_id", "in", shots).where("entity_out_id", "in", removed).execute();
      for (const link of links) {
        await db.deleteFrom("entity_link").where("id", "=", link.id).execute();
        touched.add(link.entity_in_id);
      }
    }
    for (const shotId of touched) {
      const nb = await recountEntitiesOut(db, shotId);
      await refreshShotCastingStats(c, shotId, projectId);
      await emit(c, "shot:casting-update", { shot_id: shotId, nb_entities_out: nb }, projectId);
    }
  }
  for (const ids of chunks(removed)) {
    await db.deleteFrom("entity_link").where("entity_in_id", "=", entity.id).where("entity_out_id", "in", ids).execute();
  }
  const now = utcNow();
  for (const entry of entries.values()) {
    const link = previous.get(entry.assetId);
    if (link) {
      if (link.nb_occurences !== entry.nbOccurences || (link.label ?? "") !== entry.label) {
        await db.updateTable("entity_link").set({ nb_occurences: entry.nbOccurences, label: entry.label, updated_at: now }).where("id", "=", link.id).execute();
        await emit(c, "entity-link:update", { entity_link_id: link.id, nb_occurences: entry.nbOccurences }, projectId);
      }
    } else {
      if (entity.kind === "Shot") await castInEpisode(c, entity, entry.assetId, entry.label);
      await createLink(c, entity.id, entry.assetId, entry.nbOccurences, entry.label, projectId);
    }
    if (entity.kind === "Episode") await emit(c, "asset:update", { asset_id: entry.assetId }, projectId);
  }
  const nb = entries.size;
  await db.updateTable("entity").set({ nb_entities_out: nb, updated_at: now }).where("id", "=", entity.id).execute();
  const change = { nb_entities_out: nb, added_asset_ids: added, removed_asset_ids: removed };
  if (entity.kind === "Shot") {
    await refreshShotCastingStats(c, entity.id, projectId);
    await emit(c, "shot:casting-update", { shot_id: entity.id, ...change }, projectId);
  } else if (entity.kind === "Episode") {
    await emit(c, "episode:casting-update", { episode_id: entity.id, ...change }, projectId);
  } else {
    await emit(c, "asset:casting-update", { asset_id: entity.id, ...change }, projectId);
  }
  return casting;
}

/** Priority of the project's shot task types (an asset is ready for a task whose priority is at most its ready_for one). */
async function shotTaskTypePriorities(db: Db, projectId: string): Promise<Map<string, number | null>> {
  const rows = await db
    .selectFrom("project_task_type_link")
    .innerJoin("task_type", "task_type.id", "project_task_type_link.task_type_id")
    .select(["project_task_type_link.task_type_id", "project_task_type_link.priority"])
    .where("project_task_type_link.project_id", "=", projectId)
    .where("task_type.for_entity", "=", "Shot")
    .execute();
  return new Map(rows.map((r) => [r.task_type_id, r.priority]));
}

/** Recomputes `nb_assets_ready` of the shot's tasks from the cast assets' `ready_for`. */
export async function refreshShotCastingStats(c: AppContext, shotId: string, projectId: string): Promise<void> {
  const db = c.get("db");
  const priorities = await shotTaskTypePriorities(db, projectId);
  const assets = await db
    .selectFrom("entity_link")
    .innerJoin("entity", "entity.id", "entity_link.entity_out_id")
    .select("entity.ready_for")
    .where("entity_link.entity_in_id", "=", shotId)
    .execute();
  const tasks = await db.selectFrom("task").select(["id", "task_type_id", "nb_assets_ready"]).where("entity_id", "=", shotId).execute();
  for (const task of tasks) {
    const taskPriority = (task.task_type_id ? priorities.get(task.task_type_id) : null) || 0;
    let ready = 0;
    for (const asset of assets) {
      if (!asset.ready_for) continue;
      const readyPriority = priorities.get(asset.ready_for) || -1;
      if (taskPriority <= readyPriority) ready += 1;
    }
    if (task.nb_assets_ready !== ready) await db.updateTable("task").set({ nb_assets_ready: ready }).where("id", "=", task.id).execute();
    await emit(c, "task:update-casting-stats", { task_id: task.id, nb_assets_ready: ready }, projectId);
  }
}

// ---------------------------------------------------------------------------------------------
// Entity links (sync helpers)

export async function entityLinksPage(
  db: Db,
  projectId: string,
  options: { page: number | null; limit: number | null; cursorCreatedAt: string | null },
): Promise<unknown> {
  const base = db
    .selectFrom("entity_link")
    .innerJoin("entity", "entity.id", "entity_link.entity_in_id")
    .where("entity.project_id", "=", projectId);
  const rowsOf = (q: typeof base) => q.selectAll("entity_link").orderBy("entity_link.created_at").orderBy("entity_link.id");
  if (options.page !== null && options.page > 0) {
    const limit = options.limit && options.limit > 0 ? options.limit : 100;
    const total = Number((await base.select(sql<number>`count(*)`.as("n")).executeTakeFirst())?.n ?? 0);
    const offset = (options.page - 1) * limit;
    const rows = await rowsOf(base).limit(limit).offset(offset).execute();
    return {
      data: rows.map((row) => serialize("entity_link", row as Row)),
      total,
      nb_pages: Math.ceil(total / limit),
      limit,
      offset,
      page: options.page,
    };
  }
  const compact = (row: Row) => ({
    id: row.id, entity_in_id: row.entity_in_id, entity_out_id: row.entity_out_id, nb_occurences: row.nb_occurences,
    label: row.label, data: serialize("entity_link", row).data, created_at: withMicroseconds(row.created_at), type: "EntityLink",
  });
  if (options.cursorCreatedAt !== null) {
    const limit = options.limit && options.limit > 0 ? options.limit : 100;
    const filtered = base.where("entity_link.created_at", ">", options.cursorCreatedAt);
    const total = Number((await filtered.select(sql<number>`count(*)`.as("n")).executeTakeFirst())?.n ?? 0);
    const rows = await rowsOf(filtered).limit(limit).execute();
    return { data: rows.map((row) => compact(row as Row)), total, limit };
  }
  let query = rowsOf(base);
  if (options.limit && options.limit > 0) query = query.limit(options.limit);
  return (await query.execute()).map((row) => compact(row as Row));
}

export async function removeEntityLink(c: AppContext, link: Row, projectId: string): Promise<Dict> {
  const db = c.get("db");
  await db.deleteFrom("entity_link").where("id", "=", link.id).execute();
  await recountEntitiesOut(db, link.entity_in_id);
  await emit(c, "entity-link:delete", { entity_link_id: link.id }, projectId);
  return serialize("entity_link", link);
}

// ---------------------------------------------------------------------------------------------
// Asset instances

function groupByAsset(rows: Row[]): Record<string, Dict[]> {
  const result: Record<string, Dict[]> = {};
  for (const row of rows) (result[row.asset_id] ??= []).push(serialize("asset_instance", row));
  return result;
}

/** Instances of a scene per asset id, optionally of one asset type. */
export async function sceneAssetInstances(db: Db, sceneId: string, assetTypeId?: string | null): Promise<Record<string, Dict[]>> {
  if (assetTypeId === null) return {};
  let query = db.selectFrom("asset_instance").selectAll("asset_instance").where("asset_instance.scene_id", "=", sceneId);
  if (assetTypeId) {
    query = query.innerJoin("entity", "entity.id", "asset_instance.asset_id").where("entity.entity_type_id", "=", assetTypeId);
  }
  return groupByAsset((await query.orderBy("asset_instance.asset_id").orderBy("asset_instance.number", ascNullsLast).execute()) as Row[]);
}

/**
 * Id of the `Camera` asset type, created (with `asset-type:new`) when missing: Zou's camera
 * instance listing gets-or-creates it, so it appears in the asset types after the first call.
 */
export async function cameraAssetTypeId(c: AppContext): Promise<string> {
  return transact(c, async (db) => {
    const found = await db.selectFrom("entity_type").select("id").where("name", "=", "Camera").executeTakeFirst();
    if (found) return found.id;
    const now = utcNow();
    const id = newId();
    await db.insertInto("entity_type").values({ id, created_at: now, updated_at: now, name: "Camera", archived: false } as any).execute();
    await emit(c, "asset-type:new", { asset_type_id: id }, null);
    return id;
  });
}

/** Instances attached to a shot, per asset id. */
export async function shotAssetInstances(db: Db, shotId: string): Promise<Record<string, Dict[]>> {
  const rows = await db
    .selectFrom("asset_instance")
    .innerJoin("asset_instance_link", "asset_instance_link.asset_instance_id", "asset_instance.id")
    .selectAll("asset_instance")
    .where("asset_instance_link.entity_id", "=", shotId)
    .orderBy("asset_instance.asset_id")
    .orderBy("asset_instance.number", ascNullsLast)
    .execute();
  return groupByAsset(rows as Row[]);
}

/** `<Asset_Name>_0001`: python-slugify with "_" and case kept, then the zero-padded number. */
export function assetInstanceName(assetName: string, number: number): string {
  const slug = assetName
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/['"]+/g, "")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
  return `${slug}_${String(number).padStart(4, "0")}`;
}

/** The number of the next instance of an asset in a scene or in a target asset (highest + 1, 1 when none). */
export async function nextAssetInstanceNumber(db: Db, assetId: string, container: { sceneId: string } | { targetAssetId: string }): Promise<number> {
  let query = db.selectFrom("asset_instance").select((eb) => eb.fn.max("number").as("highest")).where("asset_id", "=", assetId);
  query = "sceneId" in container ? query.where("scene_id", "=", container.sceneId) : query.where("target_asset_id", "=", container.targetAssetId);
  const row = await query.executeTakeFirst();
  return Number(row?.highest ?? 0) + 1;
}

export async function addAssetInstanceToScene(c: AppContext, scene: Row, rawAssetId: string, description: string | null): Promise<Dict> {
  const db = c.get("db");
  const asset = await db.selectFrom("entity").select(["id", "name"]).where("id", "=", normalizeId(rawAssetId)).executeTakeFirst();
  if (!asset) throw badRequest(`Asset ${rawAssetId} not found`);
  const number = await nextAssetInstanceNumber(db, asset.id, { sceneId: scene.id });
  const now = utcNow();
  const row = {
    id: newId(), created_at: now, updated_at: now, asset_id: asset.id, scene_id: scene.id, number,
    name: assetInstanceName(asset.name, number), description, active: true,
  };
  await db.insertInto("asset_instance").values(row).execute();
  await emit(c, "asset_instance:new", { scene_id: scene.id, asset_id: asset.id, asset_instance_id: row.id }, null);
  return serialize("asset_instance", (await db.selectFrom("asset_instance").selectAll().where("id", "=", row.id).executeTakeFirstOrThrow()) as Row);
}

export function loadAssetInstance(db: Db, rawId: string | undefined): Promise<Row> {
  return loadServiceRow(db, "asset_instance", rawId);
}

export async function addAssetInstanceToShot(c: AppContext, shot: Row, instance: Row): Promise<Dict> {
  const db = c.get("db");
  const existing = await db
    .selectFrom("asset_instance_link")
    .select("entity_id")
    .where("entity_id", "=", shot.id)
    .where("asset_instance_id", "=", instance.id)
    .executeTakeFirst();
  if (!existing) await db.insertInto("asset_instance_link").values({ entity_id: shot.id, asset_instance_id: instance.id }).execute();
  await db.updateTable("entity").set({ updated_at: utcNow() }).where("id", "=", shot.id).execute();
  await emit(c, "asset_instance:add-to-shot", { shot_id: shot.id, asset_instance_id: instance.id }, null);
  return serialize("entity", (await db.selectFrom("entity").selectAll().where("id", "=", shot.id).executeTakeFirstOrThrow()) as Row);
}

export async function removeAssetInstanceFromShot(c: AppContext, shot: Row, instance: Row): Promise<void> {
  const db = c.get("db");
  await db.deleteFrom("asset_instance_link").where("entity_id", "=", shot.id).where("asset_instance_id", "=", instance.id).execute();
  await db.updateTable("entity").set({ updated_at: utcNow() }).where("id", "=", shot.id).execute();
  await emit(c, "asset_instance:remove-from-shot", { shot_id: shot.id, asset_instance_id: instance.id }, null);
}
