/**
 * Entity writes (models.md §2): creation of every kind, update, casting stats, deletion (soft or
 * forced) and task creation on one entity. Reads, presentation, access and events are in
 * entities.ts.
 */
import { forgetStoredFiles, idsWhere } from "./stored-files";
import { sql } from "kysely";
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import { transact } from "../db/transaction";
import { TABLES, type TableName } from "../db/tables.generated";
import { badRequest, notFound } from "../lib/errors";
import { isUuid, newId, normalizeId, utcNow } from "../lib/ids";
import { refreshShotCastingStats } from "./casting";
import { createTasksForEntities, removeTask, type TaskRow, type TaskTypeRow } from "./tasks";
import { chunks, selectIn } from "../lib/chunks";
import { toStoredValue } from "../crud/values";
import type { EntityKind } from "../lib/entity-kinds";
import { type EntityRow, type Dict, requestTypeIds, kindOfTypeId, reservedIdList, eventKey, loadEntity, entityKind, entityData, emitEntityEvent } from "./entities";

// ---------------------------------------------------------------------------------------------
// Creation
// ---------------------------------------------------------------------------------------------

export interface NewEntity {
  projectId: string;
  entityTypeId: string;
  name: string;
  description?: string | null;
  data?: Dict | null;
  parentId?: string | null;
  sourceId?: string | null;
  nbFrames?: number | null;
  isShared?: boolean;
  status?: string;
  createdBy?: string | null;
}

export const ENTITY_STATUSES = ["standby", "running", "complete", "canceled"];

/** Inserts one entity row (no checks, no event). */
export async function insertEntity(db: Db, entity: NewEntity): Promise<EntityRow> {
  const now = utcNow();
  const values = {
    id: newId(),
    created_at: now,
    updated_at: now,
    name: entity.name,
    description: entity.description ?? null,
    data: JSON.stringify(entity.data ?? {}),
    project_id: entity.projectId,
    entity_type_id: entity.entityTypeId,
    parent_id: entity.parentId ?? null,
    source_id: entity.sourceId ?? null,
    nb_frames: entity.nbFrames ?? null,
    nb_entities_out: 0,
    is_casting_standby: false,
    is_shared: entity.isShared ?? false,
    canceled: false,
    status: entity.status ?? "running",
    created_by: entity.createdBy ?? null,
  };
  return (await db.insertInto("entity").values(values as any).returningAll().executeTakeFirstOrThrow()) as EntityRow;
}

/** The entity with this (project, type, parent, name), the null parent included. */
export async function findEntity(db: Db, lookup: { projectId: string; entityTypeId: string; parentId?: string | null; name: string }): Promise<EntityRow | undefined> {
  let q = db
    .selectFrom("entity")
    .selectAll()
    .where("project_id", "=", lookup.projectId)
    .where("entity_type_id", "=", lookup.entityTypeId)
    .where("name", "=", lookup.name);
  q = lookup.parentId ? q.where("parent_id", "=", lookup.parentId) : q.where("parent_id", "is", null);
  return (await q.executeTakeFirst()) as EntityRow | undefined;
}

async function projectExists(db: Db, projectId: string): Promise<void> {
  const row = await db.selectFrom("project").select("id").where("id", "=", projectId).executeTakeFirst();
  if (!row) throw notFound();
}

/** A parent of the given kind in the given project, else 404 (Zou's SequenceNotFound / EpisodeNotFound). */
async function parentOfKind(c: AppContext, id: string, kind: EntityKind, projectId: string): Promise<EntityRow> {
  const row = await loadEntity(c, id, kind);
  if (row.project_id !== projectId) throw notFound();
  return row;
}

function currentUserId(c: AppContext): string | null {
  return c.get("user")?.id ?? null;
}

/** Creates an asset (no get-or-create: Zou's create_asset always inserts). Emits `asset:new`. */
export async function createAsset(
  c: AppContext,
  projectId: string,
  assetTypeId: string,
  fields: { name: string; description?: string | null; data?: Dict | null; isShared?: boolean; episodeId?: string | null },
): Promise<EntityRow> {
  return transact(c, async (db) => {
    await projectExists(db, projectId);
    const types = await requestTypeIds(c);
    const assetType = await db.selectFrom("entity_type").select("id").where("id", "=", assetTypeId).executeTakeFirst();
    if (!assetType || reservedIdList(types).includes(assetTypeId)) throw notFound();
    if (fields.episodeId) await parentOfKind(c, fields.episodeId, "Episode", projectId);
    const row = await insertEntity(db, {
      projectId,
      entityTypeId: assetTypeId,
      name: fields.name,
      description: fields.description ?? "",
      data: fields.data ?? {},
      isShared: fields.isShared ?? false,
      sourceId: fields.episodeId ?? null,
      createdBy: currentUserId(c),
    });
    await emitEntityEvent(c, "Asset", "new", row, { asset_type: assetTypeId });
    return row;
  });
}

type ChildKind = "Episode" | "Sequence" | "Shot" | "Scene" | "Edit";

/**
 * The get-or-create Zou does for episodes, sequences, shots, scenes and edits: the project must
 * exist, the parent (when given) must be of its kind in that project (404 otherwise); the entity
 * of that (type, parent, name) is answered as it is, else inserted with `values` and announced by
 * `<kind>:new` with `eventData(row, parent)`.
 */
async function getOrCreateEntity(
  c: AppContext,
  projectId: string,
  kind: ChildKind,
  name: string,
  parent: { id: string | null | undefined; kind: EntityKind } | null,
  values: Omit<NewEntity, "projectId" | "entityTypeId" | "parentId" | "name" | "createdBy">,
  eventData: (row: EntityRow, parent: EntityRow | null) => Dict = () => ({}),
): Promise<EntityRow> {
  return transact(c, async (db) => {
    await projectExists(db, projectId);
    const types = await requestTypeIds(c);
    const parentRow = parent?.id ? await parentOfKind(c, parent.id, parent.kind, projectId) : null;
    const lookup = { projectId, entityTypeId: types[kind], parentId: parent?.id ?? null, name };
    const existing = await findEntity(db, lookup);
    if (existing) return existing;
    const row = await insertEntity(db, { ...lookup, ...values, createdBy: currentUserId(c) });
    await emitEntityEvent(c, kind, "new", row, eventData(row, parentRow));
    return row;
  });
}

/** Get-or-create of an episode by name. Emits `episode:new` when created. */
export function createEpisode(
  c: AppContext,
  projectId: string,
  fields: { name: string; status?: string | null; description?: string | null; data?: Dict | null },
): Promise<EntityRow> {
  const status = fields.status && ENTITY_STATUSES.includes(fields.status) ? fields.status : "running";
  return getOrCreateEntity(c, projectId, "Episode", fields.name, null, { status, description: fields.description ?? "", data: fields.data ?? {} });
}

/** Get-or-create of a sequence (optionally under an episode of the project). Emits `sequence:new`. */
export function createSequence(
  c: AppContext,
  projectId: string,
  fields: { name: string; episodeId?: string | null; description?: string | null; data?: Dict | null },
): Promise<EntityRow> {
  const parent = { id: fields.episodeId, kind: "Episode" as const };
  return getOrCreateEntity(c, projectId, "Sequence", fields.name, parent, { description: fields.description ?? "", data: fields.data ?? {} });
}

/**
 * Get-or-create of a shot under a sequence of the project (or without sequence). The frame range
 * and fps live in `data` (frame_in, frame_out, fps), the length in `nb_frames`. Emits `shot:new`
 * with the episode of the sequence.
 */
export function createShot(
  c: AppContext,
  projectId: string,
  fields: { name: string; sequenceId?: string | null; data?: Dict | null; nbFrames?: number | null; description?: string | null },
): Promise<EntityRow> {
  const parent = { id: fields.sequenceId, kind: "Sequence" as const };
  const values = { data: fields.data ?? {}, nbFrames: fields.nbFrames ?? null, description: fields.description ?? null };
  return getOrCreateEntity(c, projectId, "Shot", fields.name, parent, values, (_row, sequence) => ({ episode_id: sequence?.parent_id ?? null }));
}

/** Get-or-create of a scene under a sequence of the project. Emits `scene:new`. */
export function createScene(c: AppContext, projectId: string, fields: { name: string; sequenceId?: string | null }): Promise<EntityRow> {
  return getOrCreateEntity(c, projectId, "Scene", fields.name, { id: fields.sequenceId, kind: "Sequence" }, { data: {} });
}

/** Get-or-create of an edit (optionally under an episode). Emits `edit:new` with `parent_id`. */
export function createEdit(
  c: AppContext,
  projectId: string,
  fields: { name: string; data?: Dict | null; description?: string | null; episodeId?: string | null },
): Promise<EntityRow> {
  const parent = { id: fields.episodeId, kind: "Episode" as const };
  const values = { data: fields.data ?? {}, description: fields.description ?? "" };
  return getOrCreateEntity(c, projectId, "Edit", fields.name, parent, values, (row) => ({ parent_id: row.parent_id }));
}

/** Keeps the ids (or `{id}` objects) of existing entities; malformed ids are a 400. */
export async function existingEntityIds(db: Db, values: unknown): Promise<string[]> {
  if (values === null || values === undefined) return [];
  if (!Array.isArray(values)) throw badRequest("entity_concept_links must be a list of ids.");
  const ids = values.map((value) => {
    const raw = value && typeof value === "object" && "id" in value ? (value as { id: unknown }).id : value;
    if (!isUuid(raw)) throw badRequest("One of the ID sent in parameter is not properly formatted.");
    return normalizeId(raw);
  });
  const unique = [...new Set(ids)];
  if (unique.length === 0) return [];
  const found = new Set((await selectIn(db, "entity", "id", unique)).map((row) => row.id as string));
  return unique.filter((id) => found.has(id));
}

/** Replaces the concept links of a concept. */
export async function setConceptLinks(db: Db, conceptId: string, targetIds: string[]): Promise<void> {
  await db.deleteFrom("entity_concept_link").where("entity_in_id", "=", conceptId).execute();
  if (targetIds.length === 0) return;
  const now = utcNow();
  await db
    .insertInto("entity_concept_link")
    .values(targetIds.map((target) => ({ id: newId(), created_at: now, updated_at: now, entity_in_id: conceptId, entity_out_id: target })) as any)
    .execute();
}

/** Get-or-create of a concept by name, with its links to the entities it illustrates. Emits `concept:new`. */
export async function createConcept(
  c: AppContext,
  projectId: string,
  fields: { name: string; data?: Dict | null; description?: string | null; entityConceptLinks?: unknown },
): Promise<EntityRow> {
  return transact(c, async (db) => {
    await projectExists(db, projectId);
    const types = await requestTypeIds(c);
    const lookup = { projectId, entityTypeId: types.Concept, parentId: null, name: fields.name };
    const existing = await findEntity(db, lookup);
    if (existing) return existing;
    const links = await existingEntityIds(db, fields.entityConceptLinks);
    const row = await insertEntity(db, {
      ...lookup,
      data: fields.data ?? {},
      description: fields.description ?? null,
      createdBy: currentUserId(c),
    });
    await setConceptLinks(db, row.id, links);
    await emitEntityEvent(c, "Concept", "new", row);
    return row;
  });
}

// ---------------------------------------------------------------------------------------------
// Update
// ---------------------------------------------------------------------------------------------

/** Keys a client cannot write on an entity. */
export const PROTECTED_ENTITY_KEYS = [
  "id", "created_at", "updated_at", "instance_casting", "project_id", "entities_in", "entities_out", "type", "shotgun_id", "created_by",
];

/**
 * Explicit uniqueness check of (name, project, type, parent) including the null parent, which the
 * database constraint does not catch: 400 on a clash.
 */
export async function checkEntityUnique(db: Db, row: EntityRow, next: { name: string; parentId: string | null; entityTypeId: string }): Promise<void> {
  let q = db
    .selectFrom("entity")
    .select("id")
    .where("project_id", "=", row.project_id)
    .where("entity_type_id", "=", next.entityTypeId)
    .where("name", "=", next.name)
    .where("id", "!=", row.id);
  q = next.parentId ? q.where("parent_id", "=", next.parentId) : q.where("parent_id", "is", null);
  if (await q.executeTakeFirst()) {
    throw badRequest("An entity with the same name, type and parent already exists in this project.");
  }
}

/** Seconds between two stored `YYYY-MM-DDTHH:MM:SS` UTC times. */
function secondsBetween(a: string | null, b: string | null): number {
  if (!a || !b) return Infinity;
  return Math.abs(Date.parse(`${b.slice(0, 19)}Z`) - Date.parse(`${a.slice(0, 19)}Z`)) / 1000;
}

/**
 * Shot history: when the name or frame range of a shot changed and its previous update is more
 * than 60 s old, keep a version (previous name, new data).
 */
export async function saveShotVersionIfNeeded(c: AppContext, previous: EntityRow, updated: EntityRow): Promise<void> {
  const before = entityData(previous.data);
  const after = entityData(updated.data);
  const changed =
    previous.name !== updated.name ||
    (before.frame_in ?? 0) !== (after.frame_in ?? 0) ||
    (before.frame_out ?? 0) !== (after.frame_out ?? 0);
  if (!changed || secondsBetween(previous.updated_at, updated.updated_at) <= 60) return;
  const now = utcNow();
  await c
    .get("db")
    .insertInto("entity_version")
    .values({
      id: newId(),
      created_at: now,
      updated_at: now,
      entity_id: updated.id,
      name: previous.name,
      data: JSON.stringify(after),
      person_id: currentUserId(c),
    } as any)
    .execute();
}

/** Column values of a partial entity update, converted and validated (unknown keys ignored). */
export function entityValuesFromBody(body: Dict): Dict {
  const def = TABLES.entity;
  const values: Dict = {};
  for (const [key, value] of Object.entries(body)) {
    if (PROTECTED_ENTITY_KEYS.includes(key)) continue;
    const column = Object.hasOwn(def.columns, key) ? def.columns[key] : undefined;
    if (!column) continue;
    if (key === "name" && (typeof value !== "string" || value.trim() === "")) throw badRequest("Field name must be a non-empty string.");
    if (key === "data") {
      if (value !== null && (typeof value !== "object" || Array.isArray(value))) throw badRequest("Field data must be an object.");
      values.data = value === null ? "{}" : toStoredValue(key, column, value);
      continue;
    }
    if ((key === "source_id" || key === "parent_id") && (value === "null" || value === "")) {
      values[key] = null;
      continue;
    }
    values[key] = toStored(key, value);
  }
  return values;
}

function toStored(key: string, value: unknown): unknown {
  const column = TABLES.entity.columns[key]!;
  if (value === null || value === undefined) {
    if (column.nullable === false && key !== "data") throw badRequest(`Field ${key} cannot be null.`);
    return null;
  }
  return toStoredValue(key, column, value);
}

/**
 * Writes column values on an entity (in the current transaction), bumping `updated_at`, and emits
 * `<kind>:update`. Returns the stored row.
 */
export async function writeEntity(c: AppContext, row: EntityRow, values: Dict, extra: Dict = {}): Promise<EntityRow> {
  return transact(c, async (db) => {
    const updated = (await db
      .updateTable("entity")
      .set({ ...values, updated_at: utcNow() } as any)
      .where("id", "=", row.id)
      .returningAll()
      .executeTakeFirstOrThrow()) as EntityRow;
    await emitEntityEvent(c, await entityKind(c, updated), "update", updated, extra);
    return updated;
  });
}

// ---------------------------------------------------------------------------------------------
// Casting stats
// ---------------------------------------------------------------------------------------------

/** Ids of the shots an asset is cast in. */
async function shotIdsCastingAsset(c: AppContext, assetId: string): Promise<string[]> {
  const types = await requestTypeIds(c);
  const rows = await c
    .get("db")
    .selectFrom("entity_link")
    .innerJoin("entity", "entity.id", "entity_link.entity_in_id")
    .select("entity.id")
    .where("entity_link.entity_out_id", "=", assetId)
    .where("entity.entity_type_id", "=", types.Shot)
    .execute();
  return rows.map((r) => r.id);
}

/**
 * Recomputes `nb_assets_ready` of the tasks of every shot casting the asset (after its
 * `ready_for` changed, or it was canceled).
 */
export async function refreshAssetCastingStats(c: AppContext, asset: { id: string; project_id: string }, shotIds?: string[]): Promise<void> {
  for (const shotId of shotIds ?? (await shotIdsCastingAsset(c, asset.id))) await refreshShotCastingStats(c, shotId, asset.project_id);
}

// ---------------------------------------------------------------------------------------------
// Deletion
// ---------------------------------------------------------------------------------------------

async function deleteWhere(db: Db, table: TableName, column: string, values: string[]): Promise<void> {
  for (const part of chunks(values)) await db.deleteFrom(table).where(column as any, "in", part).execute();
}

/**
 * Deletes tasks and everything tied to them, through the tasks service's forced task removal
 * (comments with their news and notifications, previews and their stored files, time spents,
 * subscriptions, working and output files, assignations; `task:delete` for each).
 */
export async function deleteTasks(c: AppContext, taskIds: string[]): Promise<void> {
  if (taskIds.length === 0) return;
  await transact(c, async (db) => {
    for (const task of await selectIn(db, "task", "id", taskIds)) await removeTask(c, task as TaskRow, true);
  });
}

/** Removes an entity row with its links, versions, subscriptions, output files and remaining tasks. */
async function hardDelete(c: AppContext, row: EntityRow, kind: EntityKind): Promise<void> {
  const db = c.get("db");
  const taskIds = (await db.selectFrom("task").select("id").where("entity_id", "=", row.id).execute()).map((t) => t.id);
  await deleteTasks(c, taskIds);
  await db.deleteFrom("entity_version").where("entity_id", "=", row.id).execute();
  await db.deleteFrom("subscription").where("entity_id", "=", row.id).execute();
  await db.deleteFrom("schedule_item").where("object_id", "=", row.id).execute();
  await db.deleteFrom("entity_link").where((eb) => eb.or([eb("entity_in_id", "=", row.id), eb("entity_out_id", "=", row.id)])).execute();
  await db.deleteFrom("entity_concept_link").where((eb) => eb.or([eb("entity_in_id", "=", row.id), eb("entity_out_id", "=", row.id)])).execute();
  await db.deleteFrom("asset_instance_link").where("entity_id", "=", row.id).execute();
  await forgetStoredFiles(c, "working_file", await idsWhere(db, "working_file", "entity_id", [row.id]));
  await db.deleteFrom("working_file").where("entity_id", "=", row.id).execute();
  await db.deleteFrom("output_file").where((eb) => eb.or([eb("entity_id", "=", row.id), eb("temporal_entity_id", "=", row.id)])).execute();
  const instanceIds = (
    await db
      .selectFrom("asset_instance")
      .select("id")
      .where((eb) => eb.or([eb("asset_id", "=", row.id), eb("target_asset_id", "=", row.id), eb("scene_id", "=", row.id)]))
      .execute()
  ).map((r) => r.id);
  await deleteWhere(db, "asset_instance_link", "asset_instance_id", instanceIds);
  await deleteWhere(db, "asset_instance", "id", instanceIds);
  await db.updateTable("asset_instance").set({ entity_id: null } as any).where("entity_id", "=", row.id).execute();
  if (kind === "Asset") {
    await db.updateTable("entity").set({ parent_id: null } as any).where("parent_id", "=", row.id).execute();
  }
  if (kind === "Episode") {
    await db.updateTable("entity").set({ source_id: null } as any).where("source_id", "=", row.id).execute();
    await db.updateTable("playlist").set({ episode_id: null } as any).where("episode_id", "=", row.id).execute();
  }
  if (kind === "Scene") {
    await db.updateTable("entity").set({ source_id: null } as any).where("source_id", "=", row.id).execute();
  }
  const children = await db.selectFrom("entity").select("id").where("parent_id", "=", row.id).executeTakeFirst();
  if (children) throw badRequest(`Some data are still linked to this ${eventKey(kind)}.`);
  await db.deleteFrom("entity").where("id", "=", row.id).execute();
  await emitEntityEvent(c, kind, "delete", row);
}

/**
 * Deletes an entity as the asset/shot/edit/concept/sequence/episode routes do: with tasks and
 * without `force`, it is only marked `canceled` (emitting `<kind>:update`); with `force` (or no
 * task), the entity and everything tied to it are removed; a sequence or an episode takes its
 * children along when forced (else children are a 400). Returns the row as it was.
 */
export async function removeEntity(c: AppContext, row: EntityRow, options: { force?: boolean } = {}): Promise<EntityRow> {
  return transact(c, async (db) => {
    const kind = await entityKind(c, row);
    const hasTasks = Boolean(await db.selectFrom("task").select("id").where("entity_id", "=", row.id).executeTakeFirst());
    if (hasTasks && !options.force) {
      const updated = (await db
        .updateTable("entity")
        .set({ canceled: true, updated_at: utcNow() } as any)
        .where("id", "=", row.id)
        .returningAll()
        .executeTakeFirstOrThrow()) as EntityRow;
      await emitEntityEvent(c, kind, "update", updated);
      if (kind === "Asset") await refreshAssetCastingStats(c, updated);
      return updated;
    }
    if (options.force && (kind === "Sequence" || kind === "Episode")) {
      const children = (await db.selectFrom("entity").selectAll().where("parent_id", "=", row.id).execute()) as EntityRow[];
      for (const child of children) await removeEntity(c, child, { force: true });
      if (kind === "Episode") {
        const assets = (await db.selectFrom("entity").selectAll().where("source_id", "=", row.id).execute()) as EntityRow[];
        const types = await requestTypeIds(c);
        for (const asset of assets) {
          if (kindOfTypeId(types, asset.entity_type_id) === "Asset") await removeEntity(c, asset, { force: true });
        }
      }
    }
    // Containers casting a removed asset get their counter recounted and, for shots, their stats.
    const containers =
      kind === "Asset" ? (await db.selectFrom("entity_link").select("entity_in_id").where("entity_out_id", "=", row.id).execute()).map((l) => l.entity_in_id) : [];
    const castShots = kind === "Asset" ? await shotIdsCastingAsset(c, row.id) : [];
    await hardDelete(c, row, kind);
    for (const containerId of containers) {
      const count = await db.selectFrom("entity_link").select(sql<number>`count(*)`.as("n")).where("entity_in_id", "=", containerId).executeTakeFirst();
      await db.updateTable("entity").set({ nb_entities_out: Number(count?.n ?? 0) } as any).where("id", "=", containerId).execute();
    }
    await refreshAssetCastingStats(c, row, castShots);
    return row;
  });
}

// ---------------------------------------------------------------------------------------------
// Task creation on one entity
// ---------------------------------------------------------------------------------------------

/**
 * Creates one `main` task per given task type on an entity (Zou's create_tasks_for_entity), or
 * with no task type given, per task type the entity may have (project workflow, for its kind, in
 * the asset type's workflow when it has one): each given task type must exist (404), be for this entity kind, be enabled in the project and, for assets,
 * be in the asset type's workflow when it has one (400). The tasks are made by the tasks service's
 * createTasksForEntities (task types the entity already has a task of are skipped; default status,
 * the concept one for concepts; `task:new`).
 */
export async function createTasksForEntity(c: AppContext, entity: EntityRow, taskTypeIds: string[]): Promise<Dict[]> {
  return transact(c, async (db) => {
    const kind = await entityKind(c, entity);
    const enabled = new Set(
      (await db.selectFrom("project_task_type_link").select("task_type_id").where("project_id", "=", entity.project_id).execute()).map((r) => r.task_type_id),
    );
    let workflow: Set<string> | null = null;
    if (kind === "Asset") {
      const links = await db.selectFrom("task_type_asset_type_link").select("task_type_id").where("asset_type_id", "=", entity.entity_type_id).execute();
      if (links.length > 0) workflow = new Set(links.map((l) => l.task_type_id));
    }
    const taskTypes = [] as Dict[];
    if (taskTypeIds.length === 0) {
      // No list: every task type of the project's workflow for this kind (and the asset type's).
      const rows = enabled.size === 0 ? [] : ((await db.selectFrom("task_type").selectAll().where("id", "in", [...enabled]).orderBy("priority").orderBy("name").execute()) as Dict[]);
      for (const row of rows) {
        if (((row.for_entity as string | null) ?? "Asset") !== kind) continue;
        if (workflow && !workflow.has(row.id as string)) continue;
        taskTypes.push(row);
      }
    }
    for (const id of taskTypeIds) {
      if (!isUuid(id)) throw notFound();
      const row = (await db.selectFrom("task_type").selectAll().where("id", "=", normalizeId(id)).executeTakeFirst()) as Dict | undefined;
      if (!row) throw notFound();
      taskTypes.push(row);
    }
    for (const taskType of taskTypes) {
      const expected = taskType.for_entity as string | null;
      if (expected && expected !== kind) throw badRequest(`Task type ${taskType.id} is for ${expected} entities, got ${kind}.`);
      if (!enabled.has(taskType.id as string)) throw badRequest(`Task type ${taskType.id} is not enabled in project ${entity.project_id}.`);
      if (workflow && !workflow.has(taskType.id as string)) {
        throw badRequest(`Task type ${taskType.id} is not in the workflow of asset type ${entity.entity_type_id}.`);
      }
    }
    const created: Dict[] = [];
    const seen = new Set<string>();
    for (const taskType of taskTypes as TaskTypeRow[]) {
      if (seen.has(taskType.id)) continue;
      seen.add(taskType.id);
      created.push(...(await createTasksForEntities(c, taskType, [{ id: entity.id, project_id: entity.project_id, type_name: kind }])));
    }
    return created;
  });
}
