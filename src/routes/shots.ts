/** Routes of the `shots` area of routes.tsv: shots, sequences, episodes, scenes, stats and quotas. */
import type { Hono } from "hono";
import * as v from "valibot";
import { cachedResponse } from "../lib/response-cache";
import { sql } from "kysely";
import type { AppContext, AppEnv } from "../context";
import { transact } from "../db/transaction";
import { parseBody, readJsonObject, readLooseBody, validate } from "../lib/body";
import { entityDataSchema, numberSchema } from "../lib/validation";
import { badRequest, forbidden, notFound } from "../lib/errors";
import { isUuid, normalizeId, queryId, serviceId } from "../lib/ids";
import { emitEvent } from "../lib/events";
import { loadRelations, type AnySelect } from "../db/rows";
import { checkManagerProjectAccess, checkProjectAccess, effectiveRole, isAdmin } from "../services/permissions";
import { applyCriteria, projectEntities, criteriaProjectId, castAssets, checkEntityRead, loadEntity, maskMetadataForVendor, presentEntities, presentEntity, queryFlag, requestTypeIds, taskTypesOf, vendorScope, whereAssigned, checkEntityDelete, blockVendorOrClient, parseFps, type Dict, type EntityKind, type EntityRow } from "../services/entities";
import { createEpisode, createScene, createSequence, createShot, entityValuesFromBody, PROTECTED_ENTITY_KEYS, removeEntity, writeEntity } from "../services/entity-writes";
import { taskDicts, getProject } from "../services/tasks";
import { registerEntityKindRoutes } from "./entity-kind-routes";
import { entitiesWithTasks, readWithTasksQuery, rowsToDicts, shotsWithTasks, withTasksResponse } from "../services/with-tasks";

const uuid = v.pipe(v.string(), v.uuid("must be a valid UUID"));
const name = (message: string) => v.pipe(v.string(message), v.trim(), v.minLength(1, message));
const optionalText = v.optional(v.nullable(v.string()));
const optionalDict = v.optional(v.nullable(entityDataSchema));
/** A frame count: a non-negative integer, or integer text (Zou's parsers and PostgreSQL read "12"); "" clears it. */
const frameCount = v.optional(v.nullable(v.union([v.pipe(v.literal(""), v.transform(() => null)), numberSchema({ min: 0, max: 100_000_000, integer: true })])));

const NewShotSchema = v.object({
  name: name("Shot name is required."),
  sequence_id: v.optional(v.nullable(uuid)),
  data: optionalDict,
  nb_frames: frameCount,
  description: optionalText,
});
const NewSequenceSchema = v.object({
  name: name("Sequence name is required."),
  episode_id: v.optional(v.nullable(uuid)),
  description: optionalText,
  data: optionalDict,
});
const NewEpisodeSchema = v.object({
  name: name("Episode name is required."),
  status: optionalText,
  description: optionalText,
  data: optionalDict,
});
const NewSceneSchema = v.object({
  name: name("Scene name is required."),
  sequence_id: v.optional(v.nullable(uuid)),
});
const UpdateShotSchema = v.looseObject({
  name: v.optional(name("Shot name cannot be empty.")),
  description: optionalText,
  nb_frames: frameCount,
  data: optionalDict,
  parent_id: v.optional(v.nullable(uuid)),
  canceled: v.optional(v.nullable(v.boolean("must be a boolean"))),
});
const AddShotToSceneSchema = v.object({ shot_id: uuid });

// ---------------------------------------------------------------------------------------------
// Listing helpers
// ---------------------------------------------------------------------------------------------

/**
 * `get_shots` / `get_scenes`: rows of a kind filtered by the criteria, joined to their project and
 * sequence (`project_name`, `sequence_name`), sorted by name.
 */
async function listWithSequence(c: AppContext, kind: "Shot" | "Scene", params: Record<string, string>, assignedTo?: string): Promise<Dict[]> {
  const types = await requestTypeIds(c);
  let q = c
    .get("db")
    .selectFrom("entity")
    .innerJoin("project", "project.id", "entity.project_id")
    .innerJoin("entity as sequence", "sequence.id", "entity.parent_id")
    .selectAll("entity")
    .select(["project.name as __project_name", "sequence.name as __sequence_name"])
    .where("entity.entity_type_id", "=", types[kind]) as AnySelect;
  q = applyCriteria(q, params);
  if (assignedTo) q = whereAssigned(q, assignedTo);
  const rows = (await q.execute()) as Dict[];
  const dicts: Dict[] = rows.map((row) => ({ ...presentEntity(row, kind), project_name: row.__project_name, sequence_name: row.__sequence_name }));
  dicts.sort((a, b) => String(a.name).toLowerCase().localeCompare(String(b.name).toLowerCase()));
  return dicts;
}

/** Rows of a kind filtered by the criteria, sorted by name (`get_sequences`, `get_episodes`). */
async function listOfKind(c: AppContext, kind: EntityKind, params: Record<string, string>): Promise<Dict[]> {
  const types = await requestTypeIds(c);
  if (kind === "Asset") return [];
  let q = c.get("db").selectFrom("entity").selectAll("entity").where("entity.entity_type_id", "=", types[kind]) as AnySelect;
  q = applyCriteria(q, params);
  const rows = (await q.orderBy("entity.name").execute()) as Dict[];
  return presentEntities(c.get("db"), rows, kind);
}

/** Sequences holding a shot with a task assigned to the caller (of a project or an episode). */
async function assignedSequences(c: AppContext, scope: { projectId?: string; episodeId?: string }): Promise<Dict[]> {
  const types = await requestTypeIds(c);
  let q = c
    .get("db")
    .selectFrom("entity")
    .selectAll("entity")
    .where("entity.entity_type_id", "=", types.Sequence)
    .where((eb: any) => eb.exists(whereAssigned(eb.selectFrom("entity as shot").select("shot.id").whereRef("shot.parent_id", "=", "entity.id"), c.get("user").id, "shot.id"))) as AnySelect;
  if (scope.projectId) q = q.where("entity.project_id", "=", scope.projectId);
  if (scope.episodeId) q = q.where("entity.parent_id", "=", scope.episodeId);
  const rows = (await q.orderBy("entity.name").execute()) as Dict[];
  return presentEntities(c.get("db"), rows, "Sequence");
}

/** Episodes holding a shot, or being the episode of an asset, with a task assigned to the caller. */
async function assignedEpisodes(c: AppContext, projectId: string): Promise<Dict[]> {
  const types = await requestTypeIds(c);
  const userId = c.get("user").id;
  const rows = (await c
    .get("db")
    .selectFrom("entity")
    .selectAll("entity")
    .where("entity.entity_type_id", "=", types.Episode)
    .where("entity.project_id", "=", projectId)
    .where((eb: any) =>
      eb.or([
        eb.exists(
          whereAssigned(
            eb.selectFrom("entity as sequence").innerJoin("entity as shot", "shot.parent_id", "sequence.id").select("shot.id").whereRef("sequence.parent_id", "=", "entity.id"),
            userId,
            "shot.id",
          ),
        ),
        eb.exists(whereAssigned(eb.selectFrom("entity as asset").select("asset.id").whereRef("asset.source_id", "=", "entity.id"), userId, "asset.id")),
      ]),
    )
    .orderBy("entity.name")
    .execute()) as Dict[];
  return presentEntities(c.get("db"), rows, "Episode");
}

/** A query-string criterion naming an entity of a kind (400 malformed, 404 unknown). */
async function criterionEntity(c: AppContext, value: string, kind: EntityKind): Promise<EntityRow> {
  return loadEntity(c, queryId(value), kind);
}

async function allShots(c: AppContext): Promise<Response> {
  const params = { ...c.req.query() };
  if (params.sequence_id) {
    const sequence = await criterionEntity(c, params.sequence_id, "Sequence");
    params.project_id = sequence.project_id;
    params.parent_id = sequence.id;
    delete params.sequence_id;
  }
  const projectId = criteriaProjectId(params) ?? null;
  await checkProjectAccess(c, projectId);
  const vendor = await vendorScope(c, projectId);
  const shots = await listWithSequence(c, "Shot", params, vendor?.personId);
  return c.json(await maskMetadataForVendor(c, "Shot", shots, projectId));
}

/** `check_project_access` on the `project_id` criterion (required for non-admins). */
async function criterionProjectAccess(c: AppContext, projectId: string | undefined): Promise<string | null> {
  await checkProjectAccess(c, projectId ?? null);
  return projectId ?? null;
}

// ---------------------------------------------------------------------------------------------
// Full entities
// ---------------------------------------------------------------------------------------------

async function projectName(c: AppContext, projectId: string): Promise<string | null> {
  const row = await c.get("db").selectFrom("project").select("name").where("id", "=", projectId).executeTakeFirst();
  return row?.name ?? null;
}

async function fullShot(c: AppContext, row: EntityRow): Promise<Dict> {
  const listed = rowsToDicts(await shotsWithTasks(c, { id: row.id }));
  const base: Dict = listed[0] ?? {
    episode_id: null,
    episode_name: "",
    fps: null,
    frame_in: null,
    frame_out: null,
    project_name: await projectName(c, row.project_id),
    sequence_id: null,
    sequence_name: null,
    tasks: [],
  };
  return { ...base, ...presentEntity(row, "Shot"), ...(await loadRelations(c.get("db"), "entity", [row.id])).get(row.id) };
}

async function withEpisode(c: AppContext, dict: Dict, parentId: string | null): Promise<void> {
  if (!parentId) return;
  const episode = await c.get("db").selectFrom("entity").select(["id", "name"]).where("id", "=", parentId).executeTakeFirst();
  if (episode) {
    dict.episode_id = episode.id;
    dict.episode_name = episode.name;
  }
}

async function fullSequence(c: AppContext, row: EntityRow): Promise<Dict> {
  const dict: Dict = { ...presentEntity(row, "Sequence"), project_name: await projectName(c, row.project_id) };
  await withEpisode(c, dict, row.parent_id);
  return dict;
}

async function fullScene(c: AppContext, row: EntityRow): Promise<Dict> {
  const dict: Dict = { ...presentEntity(row, "Scene"), project_name: await projectName(c, row.project_id) };
  if (row.parent_id) {
    const sequence = await c.get("db").selectFrom("entity").select(["id", "name", "parent_id"]).where("id", "=", row.parent_id).executeTakeFirst();
    if (sequence) {
      dict.sequence_id = sequence.id;
      dict.sequence_name = sequence.name;
      await withEpisode(c, dict, sequence.parent_id);
    }
  }
  return dict;
}

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

export function registerShots(app: Hono<AppEnv>): void {
  /** Loads the entity of a path parameter, then checks project and vendor entity access. */
  const readable = async (c: AppContext, param: string, kind: EntityKind, vendorCheck = true): Promise<EntityRow> => {
    const row = await loadEntity(c, c.req.param(param), kind);
    if (vendorCheck) await checkEntityRead(c, row);
    else await checkProjectAccess(c, row.project_id);
    return row;
  };
  const tasksOf = (c: AppContext, row: EntityRow, scope: (q: AnySelect) => AnySelect) =>
    taskDicts(c, scope, { relations: queryFlag(c, "relations") });
  const deleteHandler = (param: string, kind: EntityKind, strict = false) => async (c: AppContext) => {
    const row = await loadEntity(c, c.req.param(param), kind);
    if (strict) await checkManagerProjectAccess(c, row.project_id);
    else await checkEntityDelete(c, row);
    await removeEntity(c, row, { force: queryFlag(c, "force") });
    return c.body(null, 204);
  };

  // Shots ---------------------------------------------------------------------------------------
  app.get("/data/shots", allShots);
  app.get("/data/shots/all", allShots);
  app.get("/data/shots/with-tasks", (c) => cachedResponse(c, async () => {
    const query = readWithTasksQuery(c);
    const projectId = await criterionProjectAccess(c, query.projectId);
    const result = await shotsWithTasks(
      c,
      { projectId: query.projectId, id: query.id, episodeId: query.episodeId, vendor: await vendorScope(c, projectId) },
      query.format.compact,
    );
    return withTasksResponse(result, query.format);
  }));
  app.get("/data/shots/:shot_id", async (c) => {
    const row = await loadEntity(c, c.req.param("shot_id"), "Shot");
    const shot = await fullShot(c, row);
    await checkEntityRead(c, row);
    return c.json(shot);
  });
  app.put("/data/shots/:shot_id", async (c) => {
    const body = await readJsonObject(c);
    const row = await loadEntity(c, c.req.param("shot_id"), "Shot");
    await checkManagerProjectAccess(c, row.project_id);
    const input = validate(UpdateShotSchema, body) as Dict;
    for (const key of PROTECTED_ENTITY_KEYS) delete input[key];
    const updated = await writeEntity(c, row, entityValuesFromBody(input));
    return c.json(presentEntity(updated, "Shot"));
  });
  app.get("/data/shots/:shot_id/assets", async (c) => c.json(await castAssets(c, (await readable(c, "shot_id", "Shot")).id)));
  registerEntityKindRoutes(app, {
    plural: "shots", param: "shot_id", kind: "Shot", readable: (c) => readable(c, "shot_id", "Shot"), previews: true, versionType: "ShotVersion",
  });

  // Scenes --------------------------------------------------------------------------------------
  app.get("/data/scenes/all", async (c) => {
    const params = c.req.query();
    const projectId = criteriaProjectId(params);
    await criterionProjectAccess(c, projectId);
    await blockVendorOrClient(c, projectId);
    return c.json(await listWithSequence(c, "Scene", params));
  });
  app.get("/data/scenes/with-tasks", (c) => cachedResponse(c, async () => {
    const query = readWithTasksQuery(c);
    await criterionProjectAccess(c, query.projectId);
    await blockVendorOrClient(c, query.projectId);
    const result = await entitiesWithTasks(c, "Scene", { projectId: query.projectId, id: query.id, episodeId: query.episodeId });
    return withTasksResponse(result, { compact: false, stream: false });
  }));
  app.get("/data/scenes/:scene_id", async (c) => {
    const row = await loadEntity(c, c.req.param("scene_id"), "Scene");
    const scene = await fullScene(c, row);
    await checkEntityRead(c, row);
    return c.json(scene);
  });
  app.delete("/data/scenes/:scene_id", async (c) => {
    const row = await loadEntity(c, c.req.param("scene_id"), "Scene");
    await checkEntityDelete(c, row);
    await removeEntity(c, row);
    return c.body(null, 204);
  });
  registerEntityKindRoutes(app, { plural: "scenes", param: "scene_id", kind: "Scene", readable: (c) => readable(c, "scene_id", "Scene"), remove: false });
  app.get("/data/scenes/:scene_id/shots", async (c) => {
    const row = await readable(c, "scene_id", "Scene");
    return c.json(await listWithSequence(c, "Shot", { source_id: row.id }));
  });
  app.post("/data/scenes/:scene_id/shots", async (c) => {
    const body = await parseBody(c, AddShotToSceneSchema);
    const scene = await loadEntity(c, c.req.param("scene_id"), "Scene");
    await checkProjectAccess(c, scene.project_id);
    const shot = await loadEntity(c, body.shot_id, "Shot");
    const updated = await transact(c, async () => {
      const row = await writeEntity(c, shot, { source_id: scene.id });
      await emitSceneLink(c, "shot:add-to-scene", scene, shot);
      return row;
    });
    return c.json(presentEntity(updated, "Shot"), 201);
  });
  app.delete("/data/scenes/:scene_id/shots/:shot_id", async (c) => {
    const scene = await loadEntity(c, c.req.param("scene_id"), "Scene");
    await checkProjectAccess(c, scene.project_id);
    const shot = await loadEntity(c, c.req.param("shot_id"), "Shot");
    await transact(c, async () => {
      await writeEntity(c, shot, { source_id: null });
      await emitSceneLink(c, "shot:remove-from-scene", scene, shot);
    });
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
    return c.json(await listOfKind(c, "Episode", params));
  });
  app.get("/data/episodes/with-tasks", (c) => cachedResponse(c, async () => {
    const query = readWithTasksQuery(c);
    const projectId = await criterionProjectAccess(c, query.projectId);
    const vendor = await vendorScope(c, projectId);
    const entityIds = vendor && projectId ? (await assignedEpisodes(c, projectId)).map((e) => e.id as string) : vendor ? [] : undefined;
    const result = await entitiesWithTasks(c, "Episode", { projectId: query.projectId, id: query.id, episodeId: query.episodeId, vendor, entityIds });
    return withTasksResponse(result, { compact: false, stream: false });
  }));
  app.get("/data/episodes/:episode_id", async (c) => {
    const row = await loadEntity(c, c.req.param("episode_id"), "Episode");
    const dict: Dict = { ...presentEntity(row, "Episode"), project_name: await projectName(c, row.project_id) };
    await checkEntityRead(c, row);
    return c.json(dict);
  });
  app.delete("/data/episodes/:episode_id", deleteHandler("episode_id", "Episode"));
  app.get("/data/episodes/:episode_id/shots", async (c) => {
    const row = await readable(c, "episode_id", "Episode");
    const types = await requestTypeIds(c);
    const rows = (await c
      .get("db")
      .selectFrom("entity")
      .innerJoin("entity as sequence", "sequence.id", "entity.parent_id")
      .selectAll("entity")
      .where("entity.entity_type_id", "=", types.Shot)
      .where("sequence.parent_id", "=", row.id)
      .orderBy("sequence.name")
      .orderBy("entity.name")
      .execute()) as Dict[];
    const shots = await presentEntities(c.get("db"), rows, "Shot", queryFlag(c, "relations"));
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
    return c.json(await listOfKind(c, "Sequence", { ...c.req.query(), parent_id: row.id }));
  });
  app.get("/data/episodes/:episode_id/tasks", async (c) => {
    const row = await readable(c, "episode_id", "Episode");
    const vendor = await vendorScope(c, row.project_id);
    return c.json(await taskDicts(c, (q) => q.where("task.entity_id", "=", row.id), { assignedTo: vendor?.personId }));
  });
  app.get("/data/episodes/:episode_id/task-types", async (c) => {
    const row = await readable(c, "episode_id", "Episode");
    return c.json(
      await taskTypesOf(c, (q) =>
        q.where("entity.parent_id", "in", (eb: any) => eb.selectFrom("entity as sequence").select("sequence.id").where("sequence.parent_id", "=", row.id)),
      ),
    );
  });
  app.get("/data/episodes/:episode_id/shot-tasks", async (c) => {
    const row = await readable(c, "episode_id", "Episode");
    await blockVendorOrClient(c, row.project_id);
    const types = await requestTypeIds(c);
    return c.json(
      await tasksOf(c, row, (q) =>
        q
          .where("entity.entity_type_id", "=", types.Shot)
          .where("entity.parent_id", "in", (eb: any) => eb.selectFrom("entity as sequence").select("sequence.id").where("sequence.parent_id", "=", row.id)),
      ),
    );
  });
  app.get("/data/episodes/:episode_id/asset-tasks", async (c) => {
    const row = await readable(c, "episode_id", "Episode");
    await blockVendorOrClient(c, row.project_id);
    const types = await requestTypeIds(c);
    const reserved = Object.values(types);
    return c.json(await tasksOf(c, row, (q) => q.where("entity.entity_type_id", "not in", reserved).where("entity.source_id", "=", row.id)));
  });

  // Sequences -----------------------------------------------------------------------------------
  app.get("/data/sequences", async (c) => {
    const params = { ...c.req.query() };
    if (params.episode_id) {
      const episode = await criterionEntity(c, params.episode_id, "Episode");
      params.project_id = episode.project_id;
      params.parent_id = episode.id;
      delete params.episode_id;
    }
    const projectId = criteriaProjectId(params);
    await criterionProjectAccess(c, projectId);
    if (await vendorScope(c, projectId)) {
      if (!projectId) return c.json([]);
      return c.json(await maskMetadataForVendor(c, "Sequence", await assignedSequences(c, { projectId }), projectId));
    }
    return c.json(await listOfKind(c, "Sequence", params));
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
  app.get("/data/sequences/:sequence_id", async (c) => {
    const row = await loadEntity(c, c.req.param("sequence_id"), "Sequence");
    const sequence = await fullSequence(c, row);
    await checkEntityRead(c, row);
    return c.json(sequence);
  });
  app.delete("/data/sequences/:sequence_id", deleteHandler("sequence_id", "Sequence", true));
  app.get("/data/sequences/:sequence_id/shots", async (c) => {
    const row = await readable(c, "sequence_id", "Sequence", false);
    const vendor = await vendorScope(c, row.project_id);
    const shots = await listWithSequence(c, "Shot", { ...c.req.query(), parent_id: row.id }, vendor?.personId);
    return c.json(await maskMetadataForVendor(c, "Shot", shots, row.project_id));
  });
  app.get("/data/sequences/:sequence_id/scenes", async (c) => {
    const row = await readable(c, "sequence_id", "Sequence");
    const scenes = await listOfKind(c, "Scene", { parent_id: row.id });
    return c.json(await maskMetadataForVendor(c, "Scene", scenes, row.project_id));
  });
  app.get("/data/sequences/:sequence_id/tasks", async (c) => {
    const row = await readable(c, "sequence_id", "Sequence");
    const vendor = await vendorScope(c, row.project_id);
    return c.json(await taskDicts(c, (q) => q.where("task.entity_id", "=", row.id), { relations: queryFlag(c, "relations"), assignedTo: vendor?.personId }));
  });
  app.get("/data/sequences/:sequence_id/task-types", async (c) => {
    const row = await readable(c, "sequence_id", "Sequence");
    return c.json(await taskTypesOf(c, (q) => q.where("entity.parent_id", "=", row.id)));
  });
  app.get("/data/sequences/:sequence_id/shot-tasks", async (c) => {
    const row = await readable(c, "sequence_id", "Sequence");
    await blockVendorOrClient(c, row.project_id);
    const types = await requestTypeIds(c);
    return c.json(await tasksOf(c, row, (q) => q.where("entity.entity_type_id", "=", types.Shot).where("entity.parent_id", "=", row.id)));
  });

  // Project scoped lists and creation ------------------------------------------------------------
  const projectParam = async (c: AppContext, manager = false): Promise<string> => {
    const projectId = (await getProject(c, c.req.param("project_id"))).id;
    if (manager) await checkManagerProjectAccess(c, projectId);
    else await checkProjectAccess(c, projectId);
    return projectId;
  };
  const projectList = (kind: EntityKind) => async (c: AppContext) => {
    const projectId = await projectParam(c);
    let list: Dict[];
    const vendor = await vendorScope(c, projectId);
    if (vendor && kind === "Sequence") list = await assignedSequences(c, { projectId });
    else if (vendor && kind === "Episode") list = await assignedEpisodes(c, projectId);
    else list = await projectEntities(c, kind, projectId, Boolean(vendor));
    return c.json(await maskMetadataForVendor(c, kind, list, projectId));
  };
  app.get("/data/projects/:project_id/shots", projectList("Shot"));
  app.get("/data/projects/:project_id/scenes", projectList("Scene"));
  app.get("/data/projects/:project_id/sequences", projectList("Sequence"));
  app.get("/data/projects/:project_id/episodes", projectList("Episode"));
  app.post("/data/projects/:project_id/shots", async (c) => {
    const body = await parseBody(c, NewShotSchema);
    const projectId = await projectParam(c, true);
    const row = await createShot(c, projectId, {
      name: body.name,
      sequenceId: body.sequence_id ? normalizeId(body.sequence_id) : null,
      data: body.data ?? {},
      nbFrames: body.nb_frames ?? null,
      description: body.description ?? null,
    });
    return c.json(presentEntity(row, "Shot"), 201);
  });
  app.post("/data/projects/:project_id/sequences", async (c) => {
    const body = await parseBody(c, NewSequenceSchema);
    const projectId = await projectParam(c, true);
    const row = await createSequence(c, projectId, {
      name: body.name,
      episodeId: body.episode_id ? normalizeId(body.episode_id) : null,
      description: body.description ?? "",
      data: body.data ?? {},
    });
    return c.json(presentEntity(row, "Sequence"), 201);
  });
  app.post("/data/projects/:project_id/episodes", async (c) => {
    const body = await parseBody(c, NewEpisodeSchema);
    const projectId = await projectParam(c, true);
    const row = await createEpisode(c, projectId, { name: body.name, status: body.status, description: body.description ?? "", data: body.data ?? {} });
    return c.json(presentEntity(row, "Episode"), 201);
  });
  app.post("/data/projects/:project_id/scenes", async (c) => {
    const body = await parseBody(c, NewSceneSchema);
    const projectId = await projectParam(c, true);
    const row = await createScene(c, projectId, { name: body.name, sequenceId: body.sequence_id ? normalizeId(body.sequence_id) : null });
    return c.json(presentEntity(row, "Scene"), 201);
  });

  // Stats and quotas ------------------------------------------------------------------------------
  app.get("/data/projects/:project_id/episodes/stats", async (c) => {
    const projectId = await projectParam(c);
    const vendor = await vendorScope(c, projectId);
    return c.json(await episodeStats(c, projectId, vendor?.personId));
  });
  app.get("/data/projects/:project_id/episodes/retake-stats", async (c) => {
    const projectId = await projectParam(c);
    const vendor = await vendorScope(c, projectId);
    return c.json(await episodeRetakeStats(c, projectId, vendor?.personId));
  });
  const countMode = (c: AppContext) => {
    const mode = c.req.query("count_mode") ?? "weighted";
    if (!["weighted", "weighteddone", "feedback", "done"].includes(mode)) {
      throw badRequest("count_mode must be equal to weighted, weigtheddone, feedback, or done");
    }
    const studioId = c.req.query("studio_id");
    return { weighted: mode.includes("weighted"), feedback: !mode.includes("done"), studioId: studioId !== undefined ? queryId(studioId) : undefined };
  };
  app.get("/data/projects/:project_id/quotas/:task_type_id", async (c) => {
    const projectId = await projectParam(c);
    const taskTypeId = serviceId(c.req.param("task_type_id"));
    const mode = countMode(c);
    return c.json(await quotas(c, projectId, { ...mode, taskTypeId }));
  });
  app.get("/data/projects/:project_id/quotas/persons/:person_id", async (c) => {
    const projectId = (await getProject(c, c.req.param("project_id"))).id;
    const personId = serviceId(c.req.param("person_id"));
    const user = c.get("user");
    const role = await effectiveRole(c, projectId);
    if (role === "manager" || role === "supervisor") await checkProjectAccess(c, projectId);
    else if (!isAdmin(user) && user.id !== personId) throw forbidden();
    const mode = countMode(c);
    const person = await c.get("db").selectFrom("person").select("id").where("id", "=", personId).executeTakeFirst();
    if (!person) throw notFound();
    return c.json(await quotas(c, projectId, { ...mode, personId }));
  });
  app.post("/actions/projects/:project_id/task-types/:task_type_id/set-shot-nb-frames", async (c) => {
    const rawProject = c.req.param("project_id");
    const rawTaskType = c.req.param("task_type_id");
    if (!isUuid(rawProject) || !isUuid(rawTaskType)) throw badRequest("Invalid project or task type id");
    const projectId = normalizeId(rawProject);
    await checkManagerProjectAccess(c, projectId);
    const raw = c.req.query("episode_id") ?? (await optionalBodyEpisode(c));
    if (raw && !isUuid(raw)) throw badRequest("Invalid episode id");
    const taskType = await c.get("db").selectFrom("task_type").select("id").where("id", "=", normalizeId(rawTaskType)).executeTakeFirst();
    if (!taskType) throw notFound();
    return c.json(await setShotFramesFromPreviews(c, projectId, taskType.id, raw ? normalizeId(raw) : undefined, await projectFps(c, projectId)));
  });
}

/** `episode_id` sent in a JSON body (Zou's get_episode_id reads the arguments). */
async function optionalBodyEpisode(c: AppContext): Promise<string | undefined> {
  if (!(c.req.header("content-type") ?? "").includes("application/json")) return undefined;
  const { episode_id: episodeId } = validate(v.object({ episode_id: v.nullish(v.string("episode_id must be an id")) }), await readLooseBody(c));
  return episodeId || undefined;
}

async function emitSceneLink(c: AppContext, name: string, scene: EntityRow, shot: EntityRow): Promise<void> {
  await emitEvent(c.get("db"), c.get("events"), name, { scene_id: scene.id, shot_id: shot.id }, { projectId: scene.project_id, userId: c.get("user").id });
}


// ---------------------------------------------------------------------------------------------
// Episode stats (aggregated in SQL)
// ---------------------------------------------------------------------------------------------

/** Tasks of shots of the project's episodes (task → shot → sequence → episode), vendors: assigned only. */
function episodeTaskQuery(c: AppContext, projectId: string, assignedTo?: string): AnySelect {
  let q = c
    .get("db")
    .selectFrom("task")
    .innerJoin("task_status", "task_status.id", "task.task_status_id")
    .innerJoin("entity", "entity.id", "task.entity_id")
    .innerJoin("entity as sequence", "sequence.id", "entity.parent_id")
    .innerJoin("entity as episode", "episode.id", "sequence.parent_id")
    .where("task.project_id", "=", projectId) as AnySelect;
  if (assignedTo) q = q.where("task.id", "in", (eb: any) => eb.selectFrom("task_person_link").select("task_id").where("person_id", "=", assignedTo));
  return q;
}

/** Task counts and frames per episode, task type and status, with `all` aggregates. */
async function episodeStats(c: AppContext, projectId: string, assignedTo?: string): Promise<Dict> {
  const rows = (await episodeTaskQuery(c, projectId, assignedTo)
    .select([
      "episode.id as episode_id", "task.task_type_id", "task.task_status_id", "task_status.short_name", "task_status.color",
      sql<number>`count(task.id)`.as("count"), sql<number>`sum(entity.nb_frames)`.as("frames"),
      sql<number>`sum(coalesce(task.nb_drawings, 0))`.as("drawings"),
    ])
    .groupBy(["episode.id", "task.task_type_id", "task.task_status_id", "task_status.short_name", "task_status.color"])
    .execute()) as Dict[];
  const results: Record<string, Record<string, Record<string, Dict>>> = {};
  const add = (episode: string, taskType: string, status: string, row: Dict, count: number, frames: number, drawings: number) => {
    const bucket = (((results[episode] ??= {})[taskType] ??= {})[status] ??= { name: row.short_name, color: row.color, count: 0, frames: 0, drawings: 0 });
    bucket.count = (bucket.count as number) + count;
    bucket.frames = (bucket.frames as number) + frames;
    bucket.drawings = (bucket.drawings as number) + drawings;
  };
  for (const row of rows) {
    const count = Number(row.count ?? 0);
    const frames = Number(row.frames ?? 0);
    const drawings = Number(row.drawings ?? 0);
    const status = row.task_status_id as string;
    const taskType = row.task_type_id as string;
    const episode = row.episode_id as string;
    add(episode, taskType, status, row, count, frames, drawings);
    add(episode, "all", status, row, count, frames, drawings);
    add("all", taskType, status, row, count, frames, drawings);
    add("all", "all", status, row, count, frames, drawings);
  }
  return results;
}

interface RetakeCounter {
  count: number;
  frames: number;
  drawings: number;
}
interface RetakeBucket {
  max_retake_count: number;
  evolution: Record<string, Record<"done" | "retake" | "other", RetakeCounter>>;
  done: RetakeCounter;
  retake: RetakeCounter;
  other: RetakeCounter;
}
const emptyCounter = (): RetakeCounter => ({ count: 0, frames: 0, drawings: 0 });
const emptyRetakeBucket = (): RetakeBucket => ({
  max_retake_count: 0,
  evolution: {},
  done: emptyCounter(),
  retake: emptyCounter(),
  other: emptyCounter(),
});

/**
 * Retake and done counts per task type and episode, with the max retake count and, per
 * episode, the evolution take by take. Tasks are grouped in SQL by (episode, task type, retake
 * count, done, retake) and each group is weighted by its count and frames.
 */
async function episodeRetakeStats(c: AppContext, projectId: string, assignedTo?: string): Promise<Dict> {
  const rows = (await episodeTaskQuery(c, projectId, assignedTo)
    .select([
      "episode.id as episode_id", "task.task_type_id", "task.retake_count", "task_status.is_done", "task_status.is_retake",
      sql<number>`count(task.id)`.as("count"), sql<number>`sum(coalesce(entity.nb_frames, 0))`.as("frames"),
      sql<number>`sum(coalesce(task.nb_drawings, 0))`.as("drawings"),
    ])
    .groupBy(["episode.id", "task.task_type_id", "task.retake_count", "task_status.is_done", "task_status.is_retake"])
    .execute()) as Dict[];
  const results: Record<string, Record<string, RetakeBucket>> = { all: { all: emptyRetakeBucket() } };
  const groups = rows.map((row) => ({
    episode: row.episode_id as string,
    taskType: row.task_type_id as string,
    retakes: Number(row.retake_count ?? 0),
    done: Boolean(row.is_done),
    retake: Boolean(row.is_retake),
    count: Number(row.count ?? 0),
    frames: Number(row.frames ?? 0),
    drawings: Number(row.drawings ?? 0),
  }));
  for (const g of groups) {
    (results[g.episode] ??= { all: emptyRetakeBucket() })[g.taskType] ??= emptyRetakeBucket();
    results.all![g.taskType] ??= emptyRetakeBucket();
    for (const [a, b] of [["all", "all"], ["all", g.taskType], [g.episode, "all"], [g.episode, g.taskType]] as const) {
      const bucket = results[a]![b]!;
      if (bucket.max_retake_count < g.retakes) bucket.max_retake_count = g.retakes;
      const target = g.done ? bucket.done : g.retake ? bucket.retake : bucket.other;
      target.count += g.count;
      target.frames += g.frames;
      target.drawings += g.drawings;
    }
  }
  for (const g of groups) {
    for (const b of ["all", g.taskType]) {
      const bucket = results[g.episode]![b]!;
      for (let take = 1; take <= bucket.max_retake_count; take++) {
        const entry = (bucket.evolution[String(take)] ??= { done: emptyCounter(), retake: emptyCounter(), other: emptyCounter() });
        const target = g.retakes > 0 && take <= g.retakes ? entry.retake : g.done ? entry.done : entry.other;
        target.count += g.count;
        target.frames += g.frames;
        target.drawings += g.drawings;
      }
    }
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// Quotas
// ---------------------------------------------------------------------------------------------

type Period = "day" | "week" | "month" | "year";
type QuotaEntry = Record<Period, Record<string, Record<string, number>>>;

/** Python's round() (half to even). */
function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (Math.abs(diff - 0.5) < 1e-9) return floor % 2 === 0 ? floor : floor + 1;
  return Math.round(value);
}

function isoWeek(year: number, month: number, day: number): string {
  const date = new Date(Date.UTC(year, month - 1, day));
  const weekday = (date.getUTCDay() + 6) % 7;
  date.setUTCDate(date.getUTCDate() - weekday + 3);
  // The Thursday of the week decides its ISO year; its week is the count of weeks since that year's start.
  const isoYear = date.getUTCFullYear();
  const week = 1 + Math.floor((date.getTime() - Date.UTC(isoYear, 0, 1)) / 86400000 / 7);
  return `${isoYear}-${week}`;
}

/** The local day (`YYYY-MM-DD`) of a stored UTC datetime in a time zone. */
function localDay(utc: string, timeZone: string): string {
  const date = new Date(`${utc.slice(0, 19)}Z`);
  try {
    return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(date);
  } catch {
    return utc.slice(0, 10);
  }
}

function newQuotaEntry(): QuotaEntry {
  const period = () => ({ frames: {}, seconds: {}, count: {}, entries: {}, drawings: {} });
  return { day: period(), week: period(), month: period(), year: { frames: {}, seconds: {}, count: {}, drawings: {} } };
}

function addQuota(quotas: Record<string, QuotaEntry>, entryId: string, day: string, frames: number, drawings: number, fps: number, count: number): void {
  const entry = (quotas[entryId] ??= newQuotaEntry());
  const [y, m, d] = day.split("-").map(Number) as [number, number, number];
  const week = isoWeek(y, m, d);
  const month = day.slice(0, 7);
  const year = day.slice(0, 4);
  const keys: Record<Period, string> = { day, week, month, year };
  const entriesKey: Record<Period, string | null> = { day: month, week: week.slice(0, 4), month: year, year: null };
  for (const period of ["day", "week", "month", "year"] as Period[]) {
    const bucket = entry[period];
    const key = keys[period];
    if (!(key in bucket.frames!)) {
      for (const counter of ["frames", "seconds", "count", "drawings"]) bucket[counter]![key] = 0;
      const entriesOf = entriesKey[period];
      if (entriesOf) bucket.entries![entriesOf] = (bucket.entries![entriesOf] ?? 0) + 1;
    }
    bucket.frames![key]! += frames;
    bucket.seconds![key]! += frames / fps;
    bucket.drawings![key]! += drawings;
    bucket.count![key]! += count;
  }
}

/**
 * Frames, seconds, drawings and shot counts done per day/week/month/year, per person (or per
 * task type for one person) and in `total`. A shot counts at its feedback date (end_date) or, in
 * `done` modes, its approval date. Weighted modes spread a shot over its time spents, or over the
 * business days between its WIP and end dates.
 */
async function quotas(
  c: AppContext,
  projectId: string,
  options: { weighted: boolean; feedback: boolean; studioId?: string; taskTypeId?: string; personId?: string },
): Promise<Dict> {
  const db = c.get("db");
  const types = await requestTypeIds(c);
  const fps = await projectFps(c, projectId);
  const timeZone = (c.get("user").timezone as string | null) || c.get("config").defaultTimezone || "UTC";
  const dateColumn = options.feedback ? "task.end_date" : "task.done_date";
  const base = (q: AnySelect): AnySelect => {
    q = q.where("task.project_id", "=", projectId).where("entity.entity_type_id", "=", types.Shot).where(dateColumn as any, "is not", null);
    if (options.taskTypeId) q = q.where("task.task_type_id", "=", options.taskTypeId);
    if (options.studioId) {
      q = q.where((eb: any) =>
        eb.exists(
          eb
            .selectFrom("task_person_link as studio_link")
            .innerJoin("person as studio_person", "studio_person.id", "studio_link.person_id")
            .select("studio_link.task_id")
            .whereRef("studio_link.task_id", "=", "task.id")
            .where("studio_person.studio_id", "=", options.studioId),
        ),
      );
    }
    return q;
  };
  const result: Record<string, QuotaEntry> = {};
  const entryOf = (personId: string, taskTypeId: string) => (options.personId ? taskTypeId : personId);
  const add = (entry: string, day: string, frames: number, drawings: number, count: number) => {
    for (const id of [entry, "total"]) addQuota(result, id, day, frames, drawings, fps, count);
  };
  const withAssignees = (q: AnySelect) => {
    q = q.innerJoin("task_person_link", "task_person_link.task_id", "task.id");
    return options.personId ? q.where("task_person_link.person_id", "=", options.personId) : q;
  };
  if (!options.weighted) {
    const rows = (await withAssignees(base(db.selectFrom("task").innerJoin("entity", "entity.id", "task.entity_id") as AnySelect))
      .select(["task.task_type_id", "task.nb_drawings", "task.end_date", "task.done_date", "entity.nb_frames", "task_person_link.person_id"])
      .execute()) as Dict[];
    for (const row of rows) {
      const date = (options.feedback ? row.end_date : row.done_date) as string;
      add(entryOf(row.person_id as string, row.task_type_id as string), localDay(date, timeZone), Number(row.nb_frames ?? 0), Number(row.nb_drawings ?? 0), 1);
    }
    return result;
  }
  let spent = base(db.selectFrom("task").innerJoin("entity", "entity.id", "task.entity_id").innerJoin("time_spent", "time_spent.task_id", "task.id") as AnySelect);
  if (options.personId) spent = spent.where("time_spent.person_id", "=", options.personId);
  const spentRows = (await spent
    .select(["task.task_type_id", "task.duration as task_duration", "task.nb_drawings", "entity.nb_frames", "time_spent.date", "time_spent.duration", "time_spent.person_id"])
    .execute()) as Dict[];
  for (const row of spentRows) {
    const taskDuration = Number(row.task_duration ?? 0);
    if (!(taskDuration > 0)) continue;
    const share = Number(row.duration ?? 0) / taskDuration;
    add(
      entryOf(row.person_id as string, row.task_type_id as string),
      String(row.date).slice(0, 10),
      roundHalfEven(Number(row.nb_frames ?? 0) * share),
      roundHalfEven(Number(row.nb_drawings ?? 0) * share),
      share,
    );
  }
  const spreadRows = (await withAssignees(
    base(db.selectFrom("task").innerJoin("entity", "entity.id", "task.entity_id") as AnySelect)
      .where("task.real_start_date", "is not", null)
      .where((eb: any) => eb.not(eb.exists(eb.selectFrom("time_spent as any_spent").select("any_spent.id").whereRef("any_spent.task_id", "=", "task.id")))),
  )
    .select(["task.task_type_id", "task.nb_drawings", "task.real_start_date", "task.end_date", "task.done_date", "entity.nb_frames", "task_person_link.person_id"])
    .execute()) as Dict[];
  for (const row of spreadRows) {
    const start = Date.parse(`${String(row.real_start_date).slice(0, 19)}Z`);
    const end = Date.parse(`${String(options.feedback ? row.end_date : row.done_date).slice(0, 19)}Z`);
    if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) continue;
    const startDay = Math.floor(start / 86400000);
    const endDay = Math.floor(end / 86400000);
    let businessDays = 1;
    for (let day = startDay; day < endDay; day++) if (((new Date(day * 86400000).getUTCDay() + 6) % 7) < 5) businessDays++;
    const frames = row.nb_frames === null || row.nb_frames === undefined ? 0 : roundHalfEven(Number(row.nb_frames) / businessDays) || 0;
    const drawings = Number(row.nb_drawings ?? 0);
    const span = Math.floor((end - start) / 86400000);
    for (let k = 0; k <= span; k++) {
      const moment = new Date(start + k * 86400000);
      if ((moment.getUTCDay() + 6) % 7 >= 5) continue;
      add(entryOf(row.person_id as string, row.task_type_id as string), localDay(moment.toISOString(), timeZone), frames, drawings, 1 / businessDays);
    }
  }
  for (const entry of Object.values(result)) {
    for (const period of Object.values(entry)) {
      for (const key of Object.keys(period.count!)) period.count![key] = Math.round(period.count![key]! * 100) / 100;
    }
  }
  return result;
}

async function projectFps(c: AppContext, projectId: string): Promise<number> {
  const project = await c.get("db").selectFrom("project").select("fps").where("id", "=", projectId).executeTakeFirst();
  return parseFps(project?.fps);
}

/** Sets each shot's nb_frames from the duration of the newest preview of the task type. */
async function setShotFramesFromPreviews(c: AppContext, projectId: string, taskTypeId: string, episodeId: string | undefined, fps: number): Promise<Dict[]> {
  const types = await requestTypeIds(c);
  let q = c
    .get("db")
    .selectFrom("preview_file")
    .innerJoin("task", "task.id", "preview_file.task_id")
    .innerJoin("entity", "entity.id", "task.entity_id")
    .select(["entity.id as shot_id", "preview_file.duration", "preview_file.created_at"])
    .where("entity.project_id", "=", projectId)
    .where("entity.entity_type_id", "=", types.Shot)
    .where("task.task_type_id", "=", taskTypeId) as AnySelect;
  if (episodeId) {
    q = q.where("entity.parent_id", "in", (eb: any) => eb.selectFrom("entity as sequence").select("sequence.id").where("sequence.parent_id", "=", episodeId));
  }
  const rows = (await q.orderBy("preview_file.created_at", "desc").execute()) as Dict[];
  const newest = new Map<string, Dict>();
  for (const row of rows) if (!newest.has(row.shot_id as string)) newest.set(row.shot_id as string, row);
  const updates: Dict[] = [];
  for (const [shotId, row] of newest) {
    if (row.duration === null || row.duration === undefined) continue;
    updates.push({ id: shotId, nb_frames: roundHalfEven(Number(row.duration) * fps) });
  }
  if (updates.length > 0) {
    await transact(c, async (db) => {
      for (const update of updates) {
        const shot = (await db.selectFrom("entity").selectAll().where("id", "=", update.id as string).executeTakeFirstOrThrow()) as EntityRow;
        await writeEntity(c, shot, { nb_frames: update.nb_frames });
      }
    });
  }
  return updates;
}
