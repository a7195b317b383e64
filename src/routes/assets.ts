/** Routes of the `assets` area of routes.tsv. */
import type { Hono } from "hono";
import * as v from "valibot";
import { cachedResponse } from "../lib/response-cache";
import type { AppContext, AppEnv } from "../context";
import { transact } from "../db/transaction";
import { parseBody, readBodyValue, validate } from "../lib/body";
import { entityDataSchema } from "../lib/validation";
import { badRequest } from "../lib/errors";
import { normalizeId, serviceId } from "../lib/ids";
import { checkManagerProjectAccess, checkProjectAccess, isAdmin } from "../services/permissions";
import { castAssets, castIn, checkEntityRead, loadEntity, presentEntity, vendorScope, type EntityRow } from "../services/entities";
import { createAsset } from "../services/entity-writes";
import { registerEntityKindRoutes } from "./entity-kind-routes";
import { assetsWithTasks, readWithTasksQuery, withTasksResponse } from "../services/with-tasks";
import { getCasting, updateCasting } from "../services/casting";
import {
  addAssetInstanceToAsset,
  assetTypesOfProject,
  assetTypesOfShot,
  criteriaProject,
  fullAsset,
  getAssetType,
  instancesInAsset,
  listAssets,
  listAssetTypes,
  sceneInstancesOfAsset,
  setSharedAssets,
  sharedAssetsUsed,
  shotInstancesOfAsset,
} from "../services/assets";

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

async function allAssets(c: AppContext): Promise<Response> {
  const params = c.req.query();
  const projectId = await criteriaProject(c, params);
  if (projectId) await checkProjectAccess(c, projectId);
  return c.json(await listAssets(c, params, { projectId, onlyUserProjects: true }));
}

export function registerAssets(app: Hono<AppEnv>): void {
  // Asset types -------------------------------------------------------------------------------
  app.get("/data/asset-types", async (c) => c.json(await listAssetTypes(c, c.req.query())));
  app.get("/data/asset-types/:asset_type_id", async (c) => c.json(await getAssetType(c, serviceId(c.req.param("asset_type_id")))));
  app.get("/data/projects/:project_id/asset-types", async (c) => {
    const projectId = serviceId(c.req.param("project_id"));
    await checkProjectAccess(c, projectId);
    return c.json(await assetTypesOfProject(c, projectId));
  });
  app.get("/data/shots/:shot_id/asset-types", async (c) => {
    const shot = await loadEntity(c, c.req.param("shot_id"), "Shot");
    await checkProjectAccess(c, shot.project_id);
    return c.json(await assetTypesOfShot(c, shot.id));
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
    return c.json(await shotInstancesOfAsset(c, row.id));
  });
  app.get("/data/assets/:asset_id/scene-asset-instances", async (c) => {
    const row = await readableAsset(c, false);
    return c.json(await sceneInstancesOfAsset(c, row.id));
  });
  app.get("/data/assets/:asset_id/asset-asset-instances", async (c) => {
    const row = await readableAsset(c, false);
    return c.json(await instancesInAsset(c, row.id));
  });
  app.post("/data/assets/:asset_id/asset-asset-instances", async (c) => {
    const body = await parseBody(c, AssetInstanceSchema);
    const row = await readableAsset(c, false);
    const instantiated = await loadEntity(c, body.asset_to_instantiate_id, "Asset");
    return c.json(await addAssetInstanceToAsset(c, row, instantiated, body.description ?? null), 201);
  });
}
