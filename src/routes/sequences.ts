/** Routes of the `shots` area of routes.tsv for scenes, episodes and sequences (registered by registerShots). */
import type { Hono } from "hono";
import * as v from "valibot";
import { cachedResponse } from "../lib/response-cache";
import type { AppContext, AppEnv } from "../context";
import { parseBody } from "../lib/body";
import { isUuid } from "../lib/ids";
import { checkManagerProjectAccess, checkProjectAccess } from "../services/permissions";
import { criteriaProjectId, loadEntity, maskMetadataForVendor, presentEntity, queryFlag, vendorScope, checkEntityDelete, blockVendorOrClient, type EntityKind } from "../services/entities";
import { removeEntity } from "../services/entity-writes";
import { entitiesWithTasks, readWithTasksQuery, withTasksResponse } from "../services/with-tasks";
import { addShotToScene, entitiesWithSequenceNames, removeShotFromScene, shotsOfEpisode } from "../services/shots";
import {
  assignedEpisodes,
  assignedSequences,
  entitiesOfKind,
  episodeAssetTasks,
  episodeShotTasks,
  episodeTaskTypes,
  fullEpisode,
  fullScene,
  fullSequence,
  ownTasks,
  sequenceShotTasks,
  sequenceTaskTypes,
} from "../services/sequences";
import { registerEntityKindRoutes } from "./entity-kind-routes";
import { criterionProjectAccess, fullEntityHandler, readableEntity, replaceParentCriterion } from "./entity-access";

const AddShotToSceneSchema = v.object({ shot_id: v.pipe(v.string(), v.uuid("must be a valid UUID")) });

/** Scenes, episodes and sequences: lists, with-tasks, full entities, deletion, and what lies below them. */
export function registerSequences(app: Hono<AppEnv>): void {
  const deleteHandler = (param: string, kind: EntityKind, strict = false) => async (c: AppContext) => {
    const row = await loadEntity(c, c.req.param(param), kind);
    if (strict) await checkManagerProjectAccess(c, row.project_id);
    else await checkEntityDelete(c, row);
    await removeEntity(c, row, { force: queryFlag(c, "force") });
    return c.body(null, 204);
  };

  // Scenes --------------------------------------------------------------------------------------
  app.get("/data/scenes/all", async (c) => {
    const params = c.req.query();
    const projectId = criteriaProjectId(params);
    await criterionProjectAccess(c, projectId);
    await blockVendorOrClient(c, projectId);
    return c.json(await entitiesWithSequenceNames(c, "Scene", params));
  });
  app.get("/data/scenes/with-tasks", (c) => cachedResponse(c, async () => {
    const query = readWithTasksQuery(c);
    await criterionProjectAccess(c, query.projectId);
    await blockVendorOrClient(c, query.projectId);
    const result = await entitiesWithTasks(c, "Scene", { projectId: query.projectId, id: query.id, episodeId: query.episodeId });
    return withTasksResponse(result, { compact: false, stream: false });
  }));
  app.get("/data/scenes/:scene_id", fullEntityHandler("scene_id", "Scene", fullScene));
  app.delete("/data/scenes/:scene_id", async (c) => {
    const row = await loadEntity(c, c.req.param("scene_id"), "Scene");
    await checkEntityDelete(c, row);
    await removeEntity(c, row);
    return c.body(null, 204);
  });
  registerEntityKindRoutes(app, { plural: "scenes", param: "scene_id", kind: "Scene", readable: (c) => readableEntity(c, "scene_id", "Scene"), remove: false });
  app.get("/data/scenes/:scene_id/shots", async (c) => {
    const row = await readableEntity(c, "scene_id", "Scene");
    return c.json(await entitiesWithSequenceNames(c, "Shot", { source_id: row.id }));
  });
  app.post("/data/scenes/:scene_id/shots", async (c) => {
    const body = await parseBody(c, AddShotToSceneSchema);
    const scene = await loadEntity(c, c.req.param("scene_id"), "Scene");
    await checkProjectAccess(c, scene.project_id);
    const shot = await loadEntity(c, body.shot_id, "Shot");
    const updated = await addShotToScene(c, scene, shot);
    return c.json(presentEntity(updated, "Shot"), 201);
  });
  app.delete("/data/scenes/:scene_id/shots/:shot_id", async (c) => {
    const scene = await loadEntity(c, c.req.param("scene_id"), "Scene");
    await checkProjectAccess(c, scene.project_id);
    const shot = await loadEntity(c, c.req.param("shot_id"), "Shot");
    await removeShotFromScene(c, scene, shot);
    return c.body(null, 204);
  });

  // Episodes ------------------------------------------------------------------------------------
  app.get("/data/episodes", async (c) => {
    const params = c.req.query();
    const projectId = criteriaProjectId(params);
    await criterionProjectAccess(c, projectId);
    if (await vendorScope(c, projectId)) {
      if (!projectId) return c.json([]);
      return c.json(await maskMetadataForVendor(c, "Episode", await assignedEpisodes(c, projectId), projectId));
    }
    return c.json(await entitiesOfKind(c, "Episode", params));
  });
  app.get("/data/episodes/with-tasks", (c) => cachedResponse(c, async () => {
    const query = readWithTasksQuery(c);
    const projectId = await criterionProjectAccess(c, query.projectId);
    const vendor = await vendorScope(c, projectId);
    const entityIds = vendor && projectId ? (await assignedEpisodes(c, projectId)).map((e) => e.id as string) : vendor ? [] : undefined;
    const result = await entitiesWithTasks(c, "Episode", { projectId: query.projectId, id: query.id, episodeId: query.episodeId, vendor, entityIds });
    return withTasksResponse(result, { compact: false, stream: false });
  }));
  app.get("/data/episodes/:episode_id", fullEntityHandler("episode_id", "Episode", fullEpisode));
  app.delete("/data/episodes/:episode_id", deleteHandler("episode_id", "Episode"));
  app.get("/data/episodes/:episode_id/shots", async (c) => {
    const row = await readableEntity(c, "episode_id", "Episode");
    const shots = await shotsOfEpisode(c, row.id, queryFlag(c, "relations"));
    return c.json(await maskMetadataForVendor(c, "Shot", shots, row.project_id));
  });
  app.get("/data/episodes/:episode_id/sequences", async (c) => {
    const raw = c.req.param("episode_id");
    if (!isUuid(raw)) return c.json([]);
    const row = await loadEntity(c, raw, "Episode");
    await checkProjectAccess(c, row.project_id);
    if (await vendorScope(c, row.project_id)) {
      return c.json(await maskMetadataForVendor(c, "Sequence", await assignedSequences(c, { episodeId: row.id }), row.project_id));
    }
    return c.json(await entitiesOfKind(c, "Sequence", { ...c.req.query(), parent_id: row.id }));
  });
  app.get("/data/episodes/:episode_id/tasks", async (c) => {
    const row = await readableEntity(c, "episode_id", "Episode");
    const vendor = await vendorScope(c, row.project_id);
    return c.json(await ownTasks(c, row.id, { assignedTo: vendor?.personId }));
  });
  app.get("/data/episodes/:episode_id/task-types", async (c) => {
    const row = await readableEntity(c, "episode_id", "Episode");
    return c.json(await episodeTaskTypes(c, row.id));
  });
  app.get("/data/episodes/:episode_id/shot-tasks", async (c) => {
    const row = await readableEntity(c, "episode_id", "Episode");
    await blockVendorOrClient(c, row.project_id);
    return c.json(await episodeShotTasks(c, row.id, queryFlag(c, "relations")));
  });
  app.get("/data/episodes/:episode_id/asset-tasks", async (c) => {
    const row = await readableEntity(c, "episode_id", "Episode");
    await blockVendorOrClient(c, row.project_id);
    return c.json(await episodeAssetTasks(c, row.id, queryFlag(c, "relations")));
  });

  // Sequences -----------------------------------------------------------------------------------
  app.get("/data/sequences", async (c) => {
    const params = { ...c.req.query() };
    await replaceParentCriterion(c, params, "episode_id", "Episode");
    const projectId = criteriaProjectId(params);
    await criterionProjectAccess(c, projectId);
    if (await vendorScope(c, projectId)) {
      if (!projectId) return c.json([]);
      return c.json(await maskMetadataForVendor(c, "Sequence", await assignedSequences(c, { projectId }), projectId));
    }
    return c.json(await entitiesOfKind(c, "Sequence", params));
  });
  app.get("/data/sequences/with-tasks", (c) => cachedResponse(c, async () => {
    const query = readWithTasksQuery(c);
    const projectId = await criterionProjectAccess(c, query.projectId);
    const vendor = await vendorScope(c, projectId);
    let entityIds: string[] | undefined;
    if (vendor) {
      const episodeId = query.episodeId && query.episodeId !== "all" && query.episodeId !== "main" ? query.episodeId : undefined;
      entityIds = (await assignedSequences(c, episodeId ? { episodeId } : { projectId: projectId ?? undefined })).map((s) => s.id as string);
    }
    const result = await entitiesWithTasks(c, "Sequence", { projectId: query.projectId, id: query.id, episodeId: query.episodeId, vendor, entityIds });
    return withTasksResponse(result, { compact: false, stream: false });
  }));
  app.get("/data/sequences/:sequence_id", fullEntityHandler("sequence_id", "Sequence", fullSequence));
  app.delete("/data/sequences/:sequence_id", deleteHandler("sequence_id", "Sequence", true));
  app.get("/data/sequences/:sequence_id/shots", async (c) => {
    const row = await readableEntity(c, "sequence_id", "Sequence", false);
    const vendor = await vendorScope(c, row.project_id);
    const shots = await entitiesWithSequenceNames(c, "Shot", { ...c.req.query(), parent_id: row.id }, vendor?.personId);
    return c.json(await maskMetadataForVendor(c, "Shot", shots, row.project_id));
  });
  app.get("/data/sequences/:sequence_id/scenes", async (c) => {
    const row = await readableEntity(c, "sequence_id", "Sequence");
    const scenes = await entitiesOfKind(c, "Scene", { parent_id: row.id });
    return c.json(await maskMetadataForVendor(c, "Scene", scenes, row.project_id));
  });
  app.get("/data/sequences/:sequence_id/tasks", async (c) => {
    const row = await readableEntity(c, "sequence_id", "Sequence");
    const vendor = await vendorScope(c, row.project_id);
    return c.json(await ownTasks(c, row.id, { relations: queryFlag(c, "relations"), assignedTo: vendor?.personId }));
  });
  app.get("/data/sequences/:sequence_id/task-types", async (c) => {
    const row = await readableEntity(c, "sequence_id", "Sequence");
    return c.json(await sequenceTaskTypes(c, row.id));
  });
  app.get("/data/sequences/:sequence_id/shot-tasks", async (c) => {
    const row = await readableEntity(c, "sequence_id", "Sequence");
    await blockVendorOrClient(c, row.project_id);
    return c.json(await sequenceShotTasks(c, row.id, queryFlag(c, "relations")));
  });
}
