/** Routes of the `shots` area of routes.tsv: shots, project scoped lists and creation, stats and quotas (scenes, episodes and sequences: ./sequences.ts). */
import type { Hono } from "hono";
import * as v from "valibot";
import { cachedResponse } from "../lib/response-cache";
import type { AppContext, AppEnv } from "../context";
import { parseBody, readJsonObject, readLooseBody, validate } from "../lib/body";
import { entityDataSchema, numberSchema } from "../lib/validation";
import { badRequest, forbidden, notFound } from "../lib/errors";
import { isUuid, normalizeId, queryId, serviceId } from "../lib/ids";
import { checkManagerProjectAccess, checkProjectAccess, effectiveRole, isAdmin } from "../services/permissions";
import { projectEntities, criteriaProjectId, castAssets, loadEntity, maskMetadataForVendor, presentEntity, vendorScope, type Dict, type EntityKind } from "../services/entities";
import { createEpisode, createScene, createSequence, createShot, entityValuesFromBody, PROTECTED_ENTITY_KEYS, writeEntity } from "../services/entity-writes";
import { getProject } from "../services/tasks";
import { shotsWithTasks, readWithTasksQuery, withTasksResponse } from "../services/with-tasks";
import { entitiesWithSequenceNames, fullShot, setShotFramesFromPreviews } from "../services/shots";
import { getRowById } from "../db/rows";
import { assignedEpisodes, assignedSequences } from "../services/sequences";
import { episodeRetakeStats, episodeStats } from "../services/episode-stats";
import { projectFps, shotQuotas } from "../services/shot-quotas";
import { registerEntityKindRoutes } from "./entity-kind-routes";
import { criterionProjectAccess, fullEntityHandler, readableEntity, replaceParentCriterion } from "./entity-access";
import { registerSequences } from "./sequences";

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

async function allShots(c: AppContext): Promise<Response> {
  const params = { ...c.req.query() };
  await replaceParentCriterion(c, params, "sequence_id", "Sequence");
  const projectId = criteriaProjectId(params) ?? null;
  await checkProjectAccess(c, projectId);
  const vendor = await vendorScope(c, projectId);
  const shots = await entitiesWithSequenceNames(c, "Shot", params, vendor?.personId);
  return c.json(await maskMetadataForVendor(c, "Shot", shots, projectId));
}

export function registerShots(app: Hono<AppEnv>): void {
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
  app.get("/data/shots/:shot_id", fullEntityHandler("shot_id", "Shot", fullShot));
  app.put("/data/shots/:shot_id", async (c) => {
    const body = await readJsonObject(c);
    const row = await loadEntity(c, c.req.param("shot_id"), "Shot");
    await checkManagerProjectAccess(c, row.project_id);
    const input = validate(UpdateShotSchema, body) as Dict;
    for (const key of PROTECTED_ENTITY_KEYS) delete input[key];
    const updated = await writeEntity(c, row, entityValuesFromBody(input));
    return c.json(presentEntity(updated, "Shot"));
  });
  app.get("/data/shots/:shot_id/assets", async (c) => c.json(await castAssets(c, (await readableEntity(c, "shot_id", "Shot")).id)));
  registerEntityKindRoutes(app, {
    plural: "shots", param: "shot_id", kind: "Shot", readable: (c) => readableEntity(c, "shot_id", "Shot"), previews: true, versionType: "ShotVersion",
  });

  registerSequences(app);

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
    return c.json(await shotQuotas(c, projectId, { ...mode, taskTypeId }));
  });
  app.get("/data/projects/:project_id/quotas/persons/:person_id", async (c) => {
    const projectId = (await getProject(c, c.req.param("project_id"))).id;
    const personId = serviceId(c.req.param("person_id"));
    const user = c.get("user");
    const role = await effectiveRole(c, projectId);
    if (role === "manager" || role === "supervisor") await checkProjectAccess(c, projectId);
    else if (!isAdmin(user) && user.id !== personId) throw forbidden();
    const mode = countMode(c);
    if (!(await getRowById(c.get("db"), "person", personId))) throw notFound();
    return c.json(await shotQuotas(c, projectId, { ...mode, personId }));
  });
  app.post("/actions/projects/:project_id/task-types/:task_type_id/set-shot-nb-frames", async (c) => {
    const rawProject = c.req.param("project_id");
    const rawTaskType = c.req.param("task_type_id");
    if (!isUuid(rawProject) || !isUuid(rawTaskType)) throw badRequest("Invalid project or task type id");
    const projectId = normalizeId(rawProject);
    await checkManagerProjectAccess(c, projectId);
    const raw = c.req.query("episode_id") ?? (await optionalBodyEpisode(c));
    if (raw && !isUuid(raw)) throw badRequest("Invalid episode id");
    const taskTypeId = normalizeId(rawTaskType);
    if (!(await getRowById(c.get("db"), "task_type", taskTypeId))) throw notFound();
    return c.json(await setShotFramesFromPreviews(c, projectId, taskTypeId, raw ? normalizeId(raw) : undefined, await projectFps(c, projectId)));
  });
}

/** `episode_id` sent in a JSON body (Zou's get_episode_id reads the arguments). */
async function optionalBodyEpisode(c: AppContext): Promise<string | undefined> {
  if (!(c.req.header("content-type") ?? "").includes("application/json")) return undefined;
  const { episode_id: episodeId } = validate(v.object({ episode_id: v.nullish(v.string("episode_id must be an id")) }), await readLooseBody(c));
  return episodeId || undefined;
}
