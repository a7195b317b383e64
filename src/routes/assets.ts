/** Routes of the `assets` area of routes.tsv. */
import type { Hono } from "hono";
import * as v from "valibot";
import { cachedResponse } from "../lib/response-cache";
import { sql } from "kysely";
import type { AppContext, AppEnv } from "../context";
import { serialize } from "../db/serialize";
import { transact } from "../db/transaction";
import { parseBody, readBodyValue, validate } from "../lib/body";
import { entityDataSchema } from "../lib/validation";
import { badRequest, notFound } from "../lib/errors";
import { chunks } from "../lib/chunks";
import { emitEvent } from "../lib/events";
import { newId, normalizeId, serviceId, utcNow } from "../lib/ids";
import { loadRelations, type AnySelect } from "../db/rows";
import { checkManagerProjectAccess, checkProjectAccess, isAdmin } from "../services/permissions";
import { applyCriteria, criteriaProjectId, castAssets, castIn, checkEntityRead, loadEntity, maskMetadataForVendor, presentEntity, requestTypeIds, reservedIdList, vendorScope, whereAssigned, type Dict, type EntityRow } from "../services/entities";
import { createAsset } from "../services/entity-writes";
import { registerEntityKindRoutes } from "./entity-kind-routes";
import { assetsWithTasks, readWithTasksQuery, rowsToDicts, withTasksResponse } from "../services/with-tasks";
import { assetInstanceName, getCasting, nextAssetInstanceNumber, updateCasting } from "../services/casting";
import { ascNullsLast } from "../db/order";

const uuid = v.pipe(v.string(), v.uuid("must be a valid UUID"));
const optionalText = v.optional(v.nullable(v.string()));
const optionalDict = v.optional(v.nullable(entityDataSchema));

const NewAssetSchema = v.object({
  name: v.pipe(v.string("The asset name is required."), v.trim(), v.minLength(1, "The asset name is required.")),
  description: optionalText,
  data: optionalDict,
  is_shared: v.optional(v.nullable(v.boolean())),
  episode_id: v.optional(v.nullable(uuid)),
});
const AssetInstanceSchema = v.object({
  asset_to_instantiate_id: uuid,
  description: optionalText,
});
const SetSharedSchema = v.object({
  is_shared: v.optional(v.nullable(v.boolean())),
  asset_ids: v.optional(v.nullable(v.array(uuid))),
});
const CastingEntrySchema = v.object({
  asset_id: uuid,
  nb_occurences: v.optional(v.pipe(v.number("must be a number"), v.integer("must be an integer"), v.minValue(0, "must not be negative"), v.maxValue(100_000, "is too large")), 1),
  label: v.optional(v.nullable(v.string())),
});

/** Project of a listing's criteria: `project_id`, else the project of `episode_id`. */
async function criteriaProject(c: AppContext, params: Record<string, string>): Promise<string | null> {
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
async function listAssets(c: AppContext, params: Record<string, string>, options: { projectId?: string | null; onlyUserProjects?: boolean }): Promise<Dict[]> {
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

async function allAssets(c: AppContext): Promise<Response> {
  const params = c.req.query();
  const projectId = await criteriaProject(c, params);
  if (projectId) await checkProjectAccess(c, projectId);
  return c.json(await listAssets(c, params, { projectId, onlyUserProjects: true }));
}

/** Asset types as Zou's asset-type routes present them (`type: "AssetType"`). */
async function presentAssetTypes(c: AppContext, rows: Dict[], relations: boolean): Promise<Dict[]> {
  const loaded = relations ? await loadRelations(c.get("db"), "entity_type", rows.map((r) => r.id as string)) : null;
  return rows.map((row) => ({ ...serialize("entity_type", row, { typeName: "AssetType" }), ...(loaded?.get(row.id as string) ?? {}) }));
}

async function assetTypesByIds(c: AppContext, ids: string[]): Promise<Dict[]> {
  if (ids.length === 0) return [];
  const rows = (await c.get("db").selectFrom("entity_type").selectAll().where("id", "in", ids).orderBy("name").execute()) as Dict[];
  return presentAssetTypes(c, rows, false);
}

/** `get_full_asset`: the asset with relations, project and type names, and its with-tasks fields. */
async function fullAsset(c: AppContext, rawId: string): Promise<Dict> {
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

function assetInstanceDicts(rows: Dict[], key: (row: Dict) => string): Record<string, Dict[]> {
  const result: Record<string, Dict[]> = {};
  for (const row of rows) {
    const group = key(row);
    (result[group] ??= []).push(serialize("asset_instance", row));
  }
  return result;
}

/** Sets `is_shared` on the selected assets; emits `asset:update` for each; returns them. */
async function setSharedAssets(c: AppContext, isShared: boolean, scope: { projectId?: string; assetTypeId?: string; assetIds?: string[] }): Promise<Dict[]> {
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

/** Shared assets of other projects cast in shots of this project (optionally one episode). */
async function sharedAssetsUsed(c: AppContext, projectId: string, episodeId?: string): Promise<Dict[]> {
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

export function registerAssets(app: Hono<AppEnv>): void {
  // Asset types -------------------------------------------------------------------------------
  app.get("/data/asset-types", async (c) => {
    const types = await requestTypeIds(c);
    let q = c.get("db").selectFrom("entity_type").selectAll("entity_type").where("entity_type.id", "not in", reservedIdList(types)) as AnySelect;
    q = applyCriteria(q, c.req.query(), "entity_type");
    const rows = (await q.orderBy("entity_type.name").execute()) as Dict[];
    return c.json(await presentAssetTypes(c, rows, true));
  });
  app.get("/data/asset-types/:asset_type_id", async (c) => {
    const id = serviceId(c.req.param("asset_type_id"));
    const types = await requestTypeIds(c);
    const row = (await c.get("db").selectFrom("entity_type").selectAll().where("id", "=", id).executeTakeFirst()) as Dict | undefined;
    if (!row || reservedIdList(types).includes(id)) throw notFound();
    return c.json((await presentAssetTypes(c, [row], true))[0]);
  });
  app.get("/data/projects/:project_id/asset-types", async (c) => {
    const projectId = serviceId(c.req.param("project_id"));
    await checkProjectAccess(c, projectId);
    const types = await requestTypeIds(c);
    const rows = await c
      .get("db")
      .selectFrom("entity")
      .select("entity_type_id")
      .distinct()
      .where("project_id", "=", projectId)
      .where("entity_type_id", "not in", reservedIdList(types))
      .execute();
    return c.json(await assetTypesByIds(c, rows.map((r) => r.entity_type_id)));
  });
  app.get("/data/shots/:shot_id/asset-types", async (c) => {
    const shot = await loadEntity(c, c.req.param("shot_id"), "Shot");
    await checkProjectAccess(c, shot.project_id);
    const rows = await c
      .get("db")
      .selectFrom("entity")
      .innerJoin("entity_link", "entity_link.entity_out_id", "entity.id")
      .select("entity.entity_type_id")
      .distinct()
      .where("entity_link.entity_in_id", "=", shot.id)
      .execute();
    return c.json(await assetTypesByIds(c, rows.map((r) => r.entity_type_id)));
  });

  // Asset lists ---------------------------------------------------------------------------------
  app.get("/data/assets", allAssets);
  app.get("/data/assets/all", allAssets);
  app.get("/data/assets/with-tasks", (c) => cachedResponse(c, async () => {
    const query = readWithTasksQuery(c);
    let projectId = query.projectId ?? null;
    if (!projectId && query.episodeId && query.episodeId !== "all" && query.episodeId !== "main") {
      projectId = (await loadEntity(c, query.episodeId, "Episode")).project_id;
    }
    if (projectId) await checkProjectAccess(c, projectId);
    const user = c.get("user");
    const result = await assetsWithTasks(
      c,
      {
        projectId: query.projectId,
        id: query.id,
        episodeId: query.episodeId,
        memberOf: isAdmin(user) ? undefined : user.id,
        vendor: await vendorScope(c, projectId),
      },
      query.format.compact,
    );
    return withTasksResponse(result, query.format);
  }));
  app.get("/data/projects/:project_id/assets", async (c) => {
    const projectId = serviceId(c.req.param("project_id"));
    await checkProjectAccess(c, projectId);
    return c.json(await listAssets(c, { ...c.req.query(), project_id: projectId }, { projectId }));
  });
  app.get("/data/projects/:project_id/asset-types/:asset_type_id/assets", async (c) => {
    const projectId = serviceId(c.req.param("project_id"));
    const assetTypeId = serviceId(c.req.param("asset_type_id"));
    await checkProjectAccess(c, projectId);
    return c.json(await listAssets(c, { ...c.req.query(), project_id: projectId, entity_type_id: assetTypeId }, { projectId }));
  });
  app.get("/data/projects/:project_id/assets/shared-used", async (c) => {
    const projectId = serviceId(c.req.param("project_id"));
    await checkProjectAccess(c, projectId);
    return c.json(await sharedAssetsUsed(c, projectId));
  });
  app.get("/data/projects/:project_id/episodes/:episode_id/assets/shared-used", async (c) => {
    const projectId = serviceId(c.req.param("project_id"));
    await checkProjectAccess(c, projectId);
    const raw = c.req.param("episode_id");
    const episodeId = raw === "main" || raw === "all" ? raw : serviceId(raw);
    return c.json(await sharedAssetsUsed(c, projectId, episodeId));
  });

  // Creation and sharing ------------------------------------------------------------------------
  app.post("/data/projects/:project_id/asset-types/:asset_type_id/assets/new", async (c) => {
    const body = await parseBody(c, NewAssetSchema);
    const projectId = serviceId(c.req.param("project_id"));
    const assetTypeId = serviceId(c.req.param("asset_type_id"));
    await checkManagerProjectAccess(c, projectId);
    const row = await createAsset(c, projectId, assetTypeId, {
      name: body.name,
      description: body.description ?? "",
      data: body.data ?? {},
      isShared: body.is_shared ?? false,
      episodeId: body.episode_id ? normalizeId(body.episode_id) : null,
    });
    return c.json(presentEntity(row, "Asset"), 201);
  });
  app.post("/actions/assets/share", async (c) => {
    const body = await parseBody(c, SetSharedSchema);
    const assetIds = (body.asset_ids ?? []).map(normalizeId);
    const projectIds = new Set<string>();
    for (const id of assetIds) projectIds.add((await loadEntity(c, id, "Asset")).project_id);
    for (const projectId of projectIds) await checkManagerProjectAccess(c, projectId);
    return c.json(await setSharedAssets(c, body.is_shared ?? true, { assetIds }));
  });
  app.post("/actions/projects/:project_id/assets/share", async (c) => {
    const body = await parseBody(c, SetSharedSchema);
    const projectId = serviceId(c.req.param("project_id"));
    await checkManagerProjectAccess(c, projectId);
    const assetIds = body.asset_ids && body.asset_ids.length > 0 ? body.asset_ids.map(normalizeId) : undefined;
    return c.json(await setSharedAssets(c, body.is_shared ?? true, { projectId, assetIds }));
  });
  app.post("/actions/projects/:project_id/asset-types/:asset_type_id/assets/share", async (c) => {
    const body = await parseBody(c, SetSharedSchema);
    const projectId = serviceId(c.req.param("project_id"));
    const assetTypeId = serviceId(c.req.param("asset_type_id"));
    await checkManagerProjectAccess(c, projectId);
    return c.json(await setSharedAssets(c, body.is_shared ?? true, { projectId, assetTypeId }));
  });

  // One asset ----------------------------------------------------------------------------------
  app.get("/data/assets/:asset_id", async (c) => {
    const asset = await fullAsset(c, c.req.param("asset_id"));
    await checkEntityRead(c, asset as { id: string; project_id: string });
    return c.json(asset);
  });
  /** Loads the asset of the path and checks project (and vendor entity) access. */
  const readableAsset = async (c: AppContext, vendorCheck = true): Promise<EntityRow> => {
    const row = await loadEntity(c, c.req.param("asset_id"), "Asset");
    if (vendorCheck) await checkEntityRead(c, row);
    else await checkProjectAccess(c, row.project_id);
    return row;
  };
  app.get("/data/assets/:asset_id/assets", async (c) => c.json(await castAssets(c, (await readableAsset(c)).id)));
  registerEntityKindRoutes(app, { plural: "assets", param: "asset_id", kind: "Asset", readable: (c) => readableAsset(c) });
  app.get("/data/assets/:asset_id/cast-in", async (c) => c.json(await castIn(c, (await readableAsset(c)).id)));
  app.get("/data/assets/:asset_id/casting", async (c) => c.json(await getCasting(c.get("db"), (await readableAsset(c)).id)));
  app.put("/data/assets/:asset_id/casting", async (c) => {
    const body = await readBodyValue(c);
    const list = Array.isArray(body) ? body : null;
    if (!list) throw badRequest("Validation error.", { errors: [{ field: "", message: "A list of casting entries is expected." }] });
    const casting = validate(v.array(CastingEntrySchema), list).map((entry) => ({
      asset_id: normalizeId(entry.asset_id),
      nb_occurences: entry.nb_occurences,
      label: entry.label ?? "",
    }));
    const row = await loadEntity(c, c.req.param("asset_id"), "Asset");
    await checkManagerProjectAccess(c, row.project_id);
    return c.json(await transact(c, () => updateCasting(c, { ...row, kind: "Asset" }, casting)));
  });
  app.get("/data/assets/:asset_id/shot-asset-instances", async (c) => {
    const row = await readableAsset(c, false);
    const rows = (await c
      .get("db")
      .selectFrom("asset_instance")
      .innerJoin("asset_instance_link", "asset_instance_link.asset_instance_id", "asset_instance.id")
      .selectAll("asset_instance")
      .select("asset_instance_link.entity_id as __shot_id")
      .where("asset_instance.asset_id", "=", row.id)
      .orderBy("asset_instance.number", ascNullsLast)
      .execute()) as Dict[];
    return c.json(assetInstanceDicts(rows, (r) => r.__shot_id as string));
  });
  app.get("/data/assets/:asset_id/scene-asset-instances", async (c) => {
    const row = await readableAsset(c, false);
    const rows = (await c.get("db").selectFrom("asset_instance").selectAll().where("asset_id", "=", row.id).orderBy("number", ascNullsLast).execute()) as Dict[];
    return c.json(assetInstanceDicts(rows, (r) => String(r.scene_id ?? "None")));
  });
  app.get("/data/assets/:asset_id/asset-asset-instances", async (c) => {
    const row = await readableAsset(c, false);
    const rows = (await c
      .get("db")
      .selectFrom("asset_instance")
      .selectAll()
      .where("target_asset_id", "=", row.id)
      .orderBy("asset_id")
      .orderBy("number", ascNullsLast)
      .execute()) as Dict[];
    return c.json(assetInstanceDicts(rows, (r) => r.asset_id as string));
  });
  app.post("/data/assets/:asset_id/asset-asset-instances", async (c) => {
    const body = await parseBody(c, AssetInstanceSchema);
    const row = await readableAsset(c, false);
    const instantiated = await loadEntity(c, body.asset_to_instantiate_id, "Asset");
    const instance = await transact(c, async (db) => {
      const number = await nextAssetInstanceNumber(db, instantiated.id, { targetAssetId: row.id });
      const now = utcNow();
      const created = (await db
        .insertInto("asset_instance")
        .values({
          id: newId(),
          created_at: now,
          updated_at: now,
          asset_id: instantiated.id,
          target_asset_id: row.id,
          number,
          name: assetInstanceName(instantiated.name, number),
          description: body.description ?? null,
          active: true,
        } as any)
        .returningAll()
        .executeTakeFirstOrThrow()) as Dict;
      // Zou emits this one without a project (events.md §3).
      await emitEvent(db, c.get("events"), "asset_instance:new", { asset_id: row.id, asset_instantiated: instantiated.id, asset_instance_id: created.id }, {
        userId: c.get("user").id,
      });
      return created;
    });
    return c.json(serialize("asset_instance", instance), 201);
  });
}
