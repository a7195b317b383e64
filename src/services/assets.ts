/**
 * The asset service (the `assets` area of routes.tsv): asset types as Zou's asset-type routes
 * present them, asset listings with their criteria and vendor scope, the full asset, sharing, the
 * shared assets a project uses, and the asset instances an asset has or holds. Creation is in
 * entity-writes.ts, casting in casting.ts.
 */
import { sql } from "kysely";
import type { AppContext } from "../context";
import { ascNullsLast } from "../db/order";
import { loadRelations, type AnySelect } from "../db/rows";
import { serialize } from "../db/serialize";
import { transact } from "../db/transaction";
import { chunks } from "../lib/chunks";
import { notFound } from "../lib/errors";
import { emitEvent } from "../lib/events";
import { newId, normalizeId, utcNow } from "../lib/ids";
import { assetInstanceName, nextAssetInstanceNumber } from "./casting";
import { applyCriteria, criteriaProjectId, loadEntity, maskMetadataForVendor, presentEntity, requestTypeIds, reservedIdList, vendorScope, whereAssigned, type Dict, type EntityRow } from "./entities";
import { isAdmin } from "./permissions";
import { assetsWithTasks, rowsToDicts } from "./with-tasks";

// ---------------------------------------------------------------------------------------------
// Asset types

/** Asset types as Zou's asset-type routes present them (`type: "AssetType"`), with relations when asked. */
async function presentAssetTypes(c: AppContext, rows: Dict[], relations: boolean): Promise<Dict[]> {
  const loaded = relations ? await loadRelations(c.get("db"), "entity_type", rows.map((r) => r.id as string)) : null;
  return rows.map((row) => ({ ...serialize("entity_type", row, { typeName: "AssetType" }), ...(loaded?.get(row.id as string) ?? {}) }));
}

async function assetTypesByIds(c: AppContext, ids: string[]): Promise<Dict[]> {
  if (ids.length === 0) return [];
  const rows = (await c.get("db").selectFrom("entity_type").selectAll().where("id", "in", ids).orderBy("name").execute()) as Dict[];
  return presentAssetTypes(c, rows, false);
}

/** Every asset type (the non-reserved entity types) matching the query criteria, by name. */
export async function listAssetTypes(c: AppContext, params: Record<string, string>): Promise<Dict[]> {
  const types = await requestTypeIds(c);
  let q = c.get("db").selectFrom("entity_type").selectAll("entity_type").where("entity_type.id", "not in", reservedIdList(types)) as AnySelect;
  q = applyCriteria(q, params, "entity_type");
  const rows = (await q.orderBy("entity_type.name").execute()) as Dict[];
  return presentAssetTypes(c, rows, true);
}

/** One asset type; 404 for an unknown id or a reserved type. */
export async function getAssetType(c: AppContext, id: string): Promise<Dict> {
  const types = await requestTypeIds(c);
  const row = (await c.get("db").selectFrom("entity_type").selectAll().where("id", "=", id).executeTakeFirst()) as Dict | undefined;
  if (!row || reservedIdList(types).includes(id)) throw notFound();
  return (await presentAssetTypes(c, [row], true))[0]!;
}

/** Types of the assets of a project. */
export async function assetTypesOfProject(c: AppContext, projectId: string): Promise<Dict[]> {
  const types = await requestTypeIds(c);
  const rows = await c
    .get("db")
    .selectFrom("entity")
    .select("entity_type_id")
    .distinct()
    .where("project_id", "=", projectId)
    .where("entity_type_id", "not in", reservedIdList(types))
    .execute();
  return assetTypesByIds(c, rows.map((r) => r.entity_type_id));
}

/** Types of the assets cast in a shot. */
export async function assetTypesOfShot(c: AppContext, shotId: string): Promise<Dict[]> {
  const rows = await c
    .get("db")
    .selectFrom("entity")
    .innerJoin("entity_link", "entity_link.entity_out_id", "entity.id")
    .select("entity.entity_type_id")
    .distinct()
    .where("entity_link.entity_in_id", "=", shotId)
    .execute();
  return assetTypesByIds(c, rows.map((r) => r.entity_type_id));
}

// ---------------------------------------------------------------------------------------------
// Asset lists

/** Project of a listing's criteria: `project_id`, else the project of `episode_id`. */
export async function criteriaProject(c: AppContext, params: Record<string, string>): Promise<string | null> {
  const projectId = criteriaProjectId(params);
  if (projectId) return projectId;
  if (params.episode_id && params.episode_id !== "all" && params.episode_id !== "main") {
    const episode = await loadEntity(c, params.episode_id, "Episode");
    return episode.project_id;
  }
  return null;
}

/**
 * `get_assets`: asset rows filtered by the query criteria; non-admins only see their projects;
 * vendors only assets with a task assigned to them (metadata masked); `episode_id` keeps assets
 * of the episode and assets cast in it.
 */
export async function listAssets(c: AppContext, params: Record<string, string>, options: { projectId?: string | null; onlyUserProjects?: boolean }): Promise<Dict[]> {
  const db = c.get("db");
  const types = await requestTypeIds(c);
  const criteria = { ...params };
  const episodeId = criteria.episode_id;
  delete criteria.episode_id;
  delete criteria.assigned_to;
  let q = db.selectFrom("entity").selectAll("entity").where("entity.entity_type_id", "not in", reservedIdList(types)) as AnySelect;
  q = applyCriteria(q, criteria);
  const user = c.get("user");
  if (options.onlyUserProjects && !isAdmin(user)) {
    q = q.where("entity.project_id", "in", (eb: any) => eb.selectFrom("project_person_link").select("project_id").where("person_id", "=", user.id));
  }
  const vendor = await vendorScope(c, options.projectId);
  if (vendor) q = whereAssigned(q, vendor.personId);
  if (episodeId && episodeId !== "all") {
    if (episodeId === "main") q = q.where("entity.source_id", "is", null);
    else {
      const id = normalizeId(episodeId);
      q = q.where((eb: any) =>
        eb.or([
          eb("entity.source_id", "=", id),
          eb.exists(eb.selectFrom("entity_link").select("entity_link.id").whereRef("entity_link.entity_out_id", "=", "entity.id").where("entity_link.entity_in_id", "=", id)),
        ]),
      );
    }
  }
  const rows = (await q.orderBy("entity.name").execute()) as Dict[];
  return maskMetadataForVendor(c, "Asset", rows.map((row) => presentEntity(row, "Asset")), options.projectId);
}

/** Shared assets of other projects cast in shots of this project (optionally one episode). */
export async function sharedAssetsUsed(c: AppContext, projectId: string, episodeId?: string): Promise<Dict[]> {
  const db = c.get("db");
  const types = await requestTypeIds(c);
  let q = db
    .selectFrom("entity")
    .selectAll("entity")
    .distinct()
    .innerJoin("entity_link", "entity_link.entity_out_id", "entity.id")
    .innerJoin("entity as shot", "shot.id", "entity_link.entity_in_id")
    .innerJoin("entity as sequence", "sequence.id", "shot.parent_id")
    .where("entity.entity_type_id", "not in", reservedIdList(types))
    .where("entity.is_shared", "=", true as any)
    .where((eb) => eb.or([eb("entity.canceled", "is", null), eb("entity.canceled", "=", false as any)]))
    .where("shot.project_id", "=", projectId)
    .where("entity.project_id", "!=", projectId);
  if (episodeId && episodeId !== "main" && episodeId !== "all") q = q.where("sequence.parent_id", "=", episodeId);
  const rows = (await q.orderBy("entity.name").execute()) as Dict[];
  return rows.map((row) => presentEntity(row, "Asset"));
}

// ---------------------------------------------------------------------------------------------
// One asset and sharing

/** `get_full_asset`: the asset with relations, project and type names, and its with-tasks fields. */
export async function fullAsset(c: AppContext, rawId: string): Promise<Dict> {
  const row = await loadEntity(c, rawId, "Asset");
  const result = rowsToDicts(await assetsWithTasks(c, { id: row.id }));
  if (result.length === 0) throw notFound();
  const db = c.get("db");
  const project = await db.selectFrom("project").select("name").where("id", "=", row.project_id).executeTakeFirst();
  const asset: Dict = { ...presentEntity(row, "Asset"), ...(await loadRelations(db, "entity", [row.id])).get(row.id) };
  asset.project_name = project?.name ?? null;
  delete asset.source_id;
  delete asset.nb_frames;
  Object.assign(asset, result[0]);
  return asset;
}

/** Sets `is_shared` on the selected assets; emits `asset:update` for each; returns them. */
export async function setSharedAssets(c: AppContext, isShared: boolean, scope: { projectId?: string; assetTypeId?: string; assetIds?: string[] }): Promise<Dict[]> {
  return transact(c, async (db) => {
    const types = await requestTypeIds(c);
    let q = db.selectFrom("entity").select("id").where("entity_type_id", "not in", reservedIdList(types));
    if (scope.projectId) q = q.where("project_id", "=", scope.projectId);
    if (scope.assetTypeId) q = q.where("entity_type_id", "=", scope.assetTypeId);
    if (scope.assetIds) q = scope.assetIds.length === 0 ? q.where(sql<boolean>`1 = 0`) : q.where("id", "in", scope.assetIds);
    const ids = (await q.execute()).map((r) => r.id);
    const rows: Dict[] = [];
    for (const part of chunks(ids)) {
      rows.push(...((await db.updateTable("entity").set({ is_shared: isShared, updated_at: utcNow() } as any).where("id", "in", part).returningAll().execute()) as Dict[]));
    }
    for (const row of rows) {
      await emitEvent(db, c.get("events"), "asset:update", { asset_id: row.id }, { projectId: row.project_id as string, userId: c.get("user").id });
    }
    return rows.map((row) => presentEntity(row, "Asset"));
  });
}

// ---------------------------------------------------------------------------------------------
// Asset instances of an asset

function assetInstanceDicts(rows: Dict[], key: (row: Dict) => string): Record<string, Dict[]> {
  const result: Record<string, Dict[]> = {};
  for (const row of rows) {
    const group = key(row);
    (result[group] ??= []).push(serialize("asset_instance", row));
  }
  return result;
}

/** Instances of an asset attached to shots, per shot id. */
export async function shotInstancesOfAsset(c: AppContext, assetId: string): Promise<Record<string, Dict[]>> {
  const rows = (await c
    .get("db")
    .selectFrom("asset_instance")
    .innerJoin("asset_instance_link", "asset_instance_link.asset_instance_id", "asset_instance.id")
    .selectAll("asset_instance")
    .select("asset_instance_link.entity_id as __shot_id")
    .where("asset_instance.asset_id", "=", assetId)
    .orderBy("asset_instance.number", ascNullsLast)
    .execute()) as Dict[];
  return assetInstanceDicts(rows, (r) => r.__shot_id as string);
}

/** Instances of an asset per scene id (`None` for those without scene). */
export async function sceneInstancesOfAsset(c: AppContext, assetId: string): Promise<Record<string, Dict[]>> {
  const rows = (await c.get("db").selectFrom("asset_instance").selectAll().where("asset_id", "=", assetId).orderBy("number", ascNullsLast).execute()) as Dict[];
  return assetInstanceDicts(rows, (r) => String(r.scene_id ?? "None"));
}

/** Instances placed in an asset (its target), per instantiated asset id. */
export async function instancesInAsset(c: AppContext, targetAssetId: string): Promise<Record<string, Dict[]>> {
  const rows = (await c
    .get("db")
    .selectFrom("asset_instance")
    .selectAll()
    .where("target_asset_id", "=", targetAssetId)
    .orderBy("asset_id")
    .orderBy("number", ascNullsLast)
    .execute()) as Dict[];
  return assetInstanceDicts(rows, (r) => r.asset_id as string);
}

/** Creates an instance of `instantiated` in the target asset (next number); emits `asset_instance:new`. */
export async function addAssetInstanceToAsset(c: AppContext, target: EntityRow, instantiated: EntityRow, description: string | null): Promise<Dict> {
  const instance = await transact(c, async (db) => {
    const number = await nextAssetInstanceNumber(db, instantiated.id, { targetAssetId: target.id });
    const now = utcNow();
    const created = (await db
      .insertInto("asset_instance")
      .values({
        id: newId(),
        created_at: now,
        updated_at: now,
        asset_id: instantiated.id,
        target_asset_id: target.id,
        number,
        name: assetInstanceName(instantiated.name, number),
        description,
        active: true,
      } as any)
      .returningAll()
      .executeTakeFirstOrThrow()) as Dict;
    // Zou emits this one without a project (events.md §3).
    await emitEvent(db, c.get("events"), "asset_instance:new", { asset_id: target.id, asset_instantiated: instantiated.id, asset_instance_id: created.id }, {
      userId: c.get("user").id,
    });
    return created;
  });
  return serialize("asset_instance", instance);
}
