/** Routes of the `breakdown` area of routes.tsv: casting, entity links and asset instances. */
import type { Hono } from "hono";
import * as v from "valibot";
import type { AppContext, AppEnv } from "../context";
import { transact } from "../db/transaction";
import { readLooseBody, validate } from "../lib/body";
import { checkOwnKeys, parseJsonText } from "../lib/validation";
import { entityKind, type EntityKind } from "../lib/entity-kinds";
import { loadEntityWithKind } from "../services/entities";
import { badRequest, forbidden, notFound } from "../lib/errors";
import { serviceId } from "../lib/ids";
import { checkEntityAccess, checkManagerProjectAccess, checkProjectAccess, type Role } from "../services/permissions";
import * as casting from "../services/casting";
import { getProjectOr404 } from "../services/projects";
import { getRowById, loadServiceRow } from "../db/rows";

type Row = casting.Row;

/** Casting reads: project members, vendors refused. */
async function castingReader(c: AppContext): Promise<Row> {
  const project = await getProjectOr404(c, c.req.param("project_id"));
  const role: Role = await checkProjectAccess(c, project.id);
  if (role === "vendor") throw forbidden();
  return project;
}

async function castingManager(c: AppContext): Promise<Row> {
  const project = await getProjectOr404(c, c.req.param("project_id"));
  await checkManagerProjectAccess(c, project.id);
  return project;
}

/** Entities of the request: all must exist (404) and belong to the project (403). */
async function entitiesOfProject(c: AppContext, ids: string[], projectId: string): Promise<(Row & { kind: string })[]> {
  const entities = [];
  for (const id of ids) entities.push(await loadEntityWithKind(c.get("db"), id));
  if (entities.some((entity) => entity.project_id !== projectId)) throw forbidden();
  return entities;
}

/** The raw JSON body (arrays allowed); 400 when it is not JSON. */
async function jsonBody(c: AppContext): Promise<unknown> {
  const data = parseJsonText(await c.req.text());
  if (data === undefined) throw badRequest("The browser (or proxy) sent a request that this server could not understand.");
  checkOwnKeys(data);
  return data;
}

/** Shots and scenes: project member, vendors only with a task on the entity. */
async function readableEntity(c: AppContext, param: string, kind: string): Promise<Row> {
  const entity = await loadEntityWithKind(c.get("db"), c.req.param(param), kind as EntityKind);
  await checkProjectAccess(c, entity.project_id);
  await checkEntityAccess(c, { id: entity.id, project_id: entity.project_id });
  return entity;
}

async function memberEntity(c: AppContext, param: string, kind: string): Promise<Row> {
  const entity = await loadEntityWithKind(c.get("db"), c.req.param(param), kind as EntityKind);
  await checkProjectAccess(c, entity.project_id);
  return entity;
}

const SceneInstanceBody = v.object({ asset_id: v.pipe(v.string(), v.uuid()), description: v.optional(v.nullable(v.string())) });
const ShotInstanceBody = v.object({ asset_instance_id: v.pipe(v.string(), v.uuid()) });

function positiveInt(value: string | undefined): number | null {
  if (value === undefined || value === "") return null;
  if (!/^\s*\d+\s*$/.test(value)) throw badRequest(`Wrong number: ${value}`);
  return Number.parseInt(value, 10);
}

export function registerBreakdown(app: Hono<AppEnv>): void {
  // Literal segments first: /entities/casting before /entities/{entity_id}/casting.
  app.put("/data/projects/:project_id/entities/casting", async (c) => {
    const body = await jsonBody(c);
    if (!body || typeof body !== "object" || Array.isArray(body) || !Object.values(body).every(Array.isArray)) {
      throw badRequest("Request body must be a JSON object mapping entity ids to casting arrays");
    }
    const project = await castingManager(c);
    const castings = body as Record<string, unknown[]>;
    const keys = Object.keys(castings);
    const entities = await entitiesOfProject(c, keys, project.id);
    const parsed: Awaited<ReturnType<typeof casting.parseCasting>>[] = [];
    for (const key of keys) parsed.push(await casting.parseCasting(c.get("db"), castings[key]!));
    const result: Record<string, unknown[]> = {};
    await transact(c, async () => {
      for (const [index, key] of keys.entries()) {
        result[key] = await casting.updateCasting(c, entities[index]!, castings[key]!, parsed[index]);
      }
    });
    return c.json(result);
  });
  app.get("/data/projects/:project_id/entities/:entity_id/casting", async (c) => {
    const project = await castingReader(c);
    const [entity] = await entitiesOfProject(c, [c.req.param("entity_id")], project.id);
    return c.json(await casting.getCasting(c.get("db"), entity!.id));
  });
  app.put("/data/projects/:project_id/entities/:entity_id/casting", async (c) => {
    const body = await jsonBody(c);
    if (!Array.isArray(body)) throw badRequest("Request body must be a JSON array");
    const project = await castingManager(c);
    const [entity] = await entitiesOfProject(c, [c.req.param("entity_id")], project.id);
    return c.json(await transact(c, () => casting.updateCasting(c, entity!, body)));
  });

  app.get("/data/projects/:project_id/asset-types/:asset_type_id/casting", async (c) => {
    const project = await castingReader(c);
    const assetTypeId = serviceId(c.req.param("asset_type_id"));
    const type = await getRowById(c.get("db"), "entity_type", assetTypeId);
    if (!type || entityKind(type.name) !== "Asset") throw notFound();
    return c.json(await casting.assetTypeCasting(c.get("db"), project.id, assetTypeId));
  });
  app.get("/data/projects/:project_id/episodes/casting", async (c) => {
    const project = await castingReader(c);
    return c.json(await casting.episodesCasting(c.get("db"), project.id));
  });
  app.get("/data/projects/:project_id/sequences/all/casting", async (c) => {
    const project = await castingReader(c);
    return c.json(await casting.shotsCasting(c.get("db"), { projectId: project.id }));
  });
  app.get("/data/projects/:project_id/sequences/:sequence_id/casting", async (c) => {
    const project = await castingReader(c);
    const sequence = await loadEntityWithKind(c.get("db"), c.req.param("sequence_id"), "Sequence");
    if (sequence.project_id !== project.id) throw forbidden();
    return c.json(await casting.shotsCasting(c.get("db"), { sequenceId: sequence.id }));
  });
  app.get("/data/projects/:project_id/episodes/:episode_id/sequences/all/casting", async (c) => {
    const project = await castingReader(c);
    const rawEpisode = c.req.param("episode_id");
    if (rawEpisode === "main") return c.json({});
    const episodeId = rawEpisode === "all" ? null : serviceId(rawEpisode);
    return c.json(await casting.shotsCasting(c.get("db"), { projectId: project.id, episodeId }));
  });

  // Entity links (sync helpers)
  app.get("/data/projects/:project_id/entity-links", async (c) => {
    const project = await castingManager(c);
    const cursor = c.req.query("cursor_created_at");
    return c.json(
      await casting.entityLinksPage(c.get("db"), project.id, {
        page: positiveInt(c.req.query("page")),
        limit: positiveInt(c.req.query("limit")),
        cursorCreatedAt: cursor ? cursor.replace(" ", "T") : null,
      }),
    );
  });
  app.delete("/data/projects/:project_id/entity-links/:entity_link_id", async (c) => {
    const project = await castingManager(c);
    const link = await loadServiceRow(c.get("db"), "entity_link", c.req.param("entity_link_id"));
    await entitiesOfProject(c, [link.entity_in_id], project.id);
    return c.json(await transact(c, () => casting.removeEntityLink(c, link as Row, project.id)));
  });

  // Asset instances
  app.get("/data/scenes/:scene_id/asset-instances", async (c) => {
    const scene = await readableEntity(c, "scene_id", "Scene");
    return c.json(await casting.sceneAssetInstances(c.get("db"), scene.id));
  });
  app.post("/data/scenes/:scene_id/asset-instances", async (c) => {
    const data = validate(SceneInstanceBody, await readLooseBody(c));
    const scene = await memberEntity(c, "scene_id", "Scene");
    return c.json(await transact(c, () => casting.addAssetInstanceToScene(c, scene, data.asset_id, data.description ?? null)), 201);
  });
  app.get("/data/scenes/:scene_id/camera-instances", async (c) => {
    const scene = await readableEntity(c, "scene_id", "Scene");
    return c.json(await casting.sceneAssetInstances(c.get("db"), scene.id, await casting.cameraAssetTypeId(c)));
  });
  app.get("/data/shots/:shot_id/asset-instances", async (c) => {
    const shot = await readableEntity(c, "shot_id", "Shot");
    return c.json(await casting.shotAssetInstances(c.get("db"), shot.id));
  });
  app.post("/data/shots/:shot_id/asset-instances", async (c) => {
    const data = validate(ShotInstanceBody, await readLooseBody(c));
    const shot = await memberEntity(c, "shot_id", "Shot");
    const instance = await casting.loadAssetInstance(c.get("db"), data.asset_instance_id);
    return c.json(await transact(c, () => casting.addAssetInstanceToShot(c, shot, instance)), 201);
  });
  app.delete("/data/shots/:shot_id/asset-instances/:asset_instance_id", async (c) => {
    const shot = await memberEntity(c, "shot_id", "Shot");
    const instance = await casting.loadAssetInstance(c.get("db"), c.req.param("asset_instance_id"));
    await transact(c, () => casting.removeAssetInstanceFromShot(c, shot, instance));
    return c.body(null, 204);
  });
}

