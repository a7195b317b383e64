/** Routes of the `edits` area of routes.tsv. */
import type { Hono } from "hono";
import * as v from "valibot";
import type { AppContext, AppEnv } from "../context";
import { parseBody } from "../lib/body";
import { cachedResponse } from "../lib/response-cache";
import { entityDataSchema } from "../lib/validation";
import { notFound } from "../lib/errors";
import { normalizeId } from "../lib/ids";
import { checkManagerProjectAccess, checkProjectAccess } from "../services/permissions";
import { listEntitiesWithProjectName, projectEntities, criteriaProjectId, blockVendorOrClient, checkEntityRead, loadEntity, maskMetadataForVendor, presentEntity, queryFlag, requestTypeIds, vendorScope, type EntityRow } from "../services/entities";
import { createEdit } from "../services/entity-writes";
import { editsOfEpisode } from "../services/edits";
import { taskDicts, getProject } from "../services/tasks";
import { registerEntityKindRoutes } from "./entity-kind-routes";
import { editsWithTasks, readWithTasksQuery, rowsToDicts, withTasksResponse } from "../services/with-tasks";

const NewEditSchema = v.object({
  name: v.pipe(v.string("The edit name is required."), v.trim(), v.minLength(1, "The edit name is required.")),
  description: v.optional(v.nullable(v.string())),
  data: v.optional(v.nullable(entityDataSchema)),
  episode_id: v.optional(v.nullable(v.pipe(v.string(), v.uuid("must be a valid UUID")))),
});

async function allEdits(c: AppContext): Promise<Response> {
  const params = c.req.query();
  const projectId = criteriaProjectId(params) ?? null;
  await checkProjectAccess(c, projectId);
  const vendor = await vendorScope(c, projectId);
  return c.json(await maskMetadataForVendor(c, "Edit", await listEntitiesWithProjectName(c, "Edit", params, vendor?.personId), projectId));
}

export function registerEdits(app: Hono<AppEnv>): void {
  const readable = async (c: AppContext): Promise<EntityRow> => {
    const row = await loadEntity(c, c.req.param("edit_id"), "Edit");
    await checkEntityRead(c, row);
    return row;
  };

  app.get("/data/edits", allEdits);
  app.get("/data/edits/all", allEdits);
  app.get("/data/edits/with-tasks", (c) => cachedResponse(c, async () => {
    const query = readWithTasksQuery(c);
    await checkProjectAccess(c, query.projectId ?? null);
    const vendor = await vendorScope(c, query.projectId);
    const result = await editsWithTasks(c, { projectId: query.projectId, id: query.id, episodeId: query.episodeId, vendor });
    return withTasksResponse(result, { compact: false, stream: false });
  }));
  app.get("/data/edits/:edit_id", async (c) => {
    const row = await loadEntity(c, c.req.param("edit_id"), "Edit");
    const [edit] = rowsToDicts(await editsWithTasks(c, { id: row.id }));
    if (!edit) throw notFound();
    await checkEntityRead(c, row);
    return c.json(edit);
  });
  registerEntityKindRoutes(app, { plural: "edits", param: "edit_id", kind: "Edit", readable, previews: true, versionType: "EditVersion" });

  app.get("/data/episodes/:episode_id/edits", async (c) => {
    const episode = await loadEntity(c, c.req.param("episode_id"), "Episode");
    await checkEntityRead(c, episode);
    const edits = await editsOfEpisode(c, episode.id, queryFlag(c, "relations"));
    return c.json(await maskMetadataForVendor(c, "Edit", edits, episode.project_id));
  });
  app.get("/data/episodes/:episode_id/edit-tasks", async (c) => {
    const episode = await loadEntity(c, c.req.param("episode_id"), "Episode");
    await checkEntityRead(c, episode);
    await blockVendorOrClient(c, episode.project_id);
    const types = await requestTypeIds(c);
    return c.json(
      await taskDicts(c, (q) => q.where("entity.entity_type_id", "=", types.Edit).where("entity.parent_id", "=", episode.id), {
        relations: queryFlag(c, "relations"),
      }),
    );
  });

  app.get("/data/projects/:project_id/edits", async (c) => {
    const projectId = (await getProject(c, c.req.param("project_id"))).id;
    await checkProjectAccess(c, projectId);
    const vendor = await vendorScope(c, projectId);
    return c.json(await maskMetadataForVendor(c, "Edit", await projectEntities(c, "Edit", projectId, Boolean(vendor)), projectId));
  });
  app.post("/data/projects/:project_id/edits", async (c) => {
    const body = await parseBody(c, NewEditSchema);
    const projectId = (await getProject(c, c.req.param("project_id"))).id;
    await checkManagerProjectAccess(c, projectId);
    const row = await createEdit(c, projectId, {
      name: body.name,
      data: body.data ?? {},
      description: body.description ?? "",
      episodeId: body.episode_id ? normalizeId(body.episode_id) : null,
    });
    return c.json(presentEntity(row, "Edit"), 201);
  });
}
