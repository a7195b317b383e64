/** Routes of the `concepts` area of routes.tsv. */
import type { Hono } from "hono";
import * as v from "valibot";
import type { AppContext, AppEnv } from "../context";
import { parseBody } from "../lib/body";
import { cachedResponse } from "../lib/response-cache";
import { entityDataSchema } from "../lib/validation";
import { forbidden, notFound } from "../lib/errors";
import { loadRelations } from "../db/rows";
import { checkProjectAccess, effectiveRole } from "../services/permissions";
import { listEntitiesWithProjectName, projectEntities, criteriaProjectId, blockVendorOrClient, checkEntityRead, loadEntity, presentEntities, presentEntity, type EntityRow } from "../services/entities";
import { createConcept } from "../services/entity-writes";
import { getProject } from "../services/tasks";
import { registerEntityKindRoutes } from "./entity-kind-routes";
import { conceptsWithTasks, readWithTasksQuery, rowsToDicts, withTasksResponse } from "../services/with-tasks";

const NewConceptSchema = v.object({
  name: v.pipe(v.string("The concept name is required."), v.trim(), v.minLength(1, "The concept name is required.")),
  data: v.optional(v.nullable(entityDataSchema)),
  description: v.optional(v.nullable(v.string())),
  entity_concept_links: v.optional(v.nullable(v.array(v.union([v.pipe(v.string(), v.uuid("must be a valid UUID")), v.object({ id: v.pipe(v.string(), v.uuid("must be a valid UUID")) })])))),
});

/** Project of the criteria (required for non-admins), then vendors and clients are refused. */
async function conceptListAccess(c: AppContext, projectId: string | undefined): Promise<void> {
  await checkProjectAccess(c, projectId ?? null);
  await blockVendorOrClient(c, projectId, true);
}

export function registerConcepts(app: Hono<AppEnv>): void {
  /** The concept of the path: project access, vendors only when assigned, clients refused. */
  const readable = async (c: AppContext): Promise<EntityRow> => {
    const row = await loadEntity(c, c.req.param("concept_id"), "Concept");
    await checkEntityRead(c, row);
    if ((await effectiveRole(c, row.project_id)) === "client") throw forbidden();
    return row;
  };

  app.get("/data/concepts", async (c) => {
    const params = c.req.query();
    const projectId = criteriaProjectId(params);
    await conceptListAccess(c, projectId);
    return c.json(await listEntitiesWithProjectName(c, "Concept", params));
  });
  app.get("/data/concepts/with-tasks", (c) => cachedResponse(c, async () => {
    const query = readWithTasksQuery(c);
    await conceptListAccess(c, query.projectId);
    const result = await conceptsWithTasks(c, { projectId: query.projectId, id: query.id });
    return withTasksResponse(result, { compact: false, stream: false });
  }));
  app.get("/data/concepts/:concept_id", async (c) => {
    const row = await loadEntity(c, c.req.param("concept_id"), "Concept");
    const [listed] = rowsToDicts(await conceptsWithTasks(c, { id: row.id }));
    if (!listed) throw notFound();
    const concept = { ...listed, ...presentEntity(row, "Concept"), ...(await loadRelations(c.get("db"), "entity", [row.id])).get(row.id) };
    await readable(c);
    return c.json(concept);
  });
  registerEntityKindRoutes(app, { plural: "concepts", param: "concept_id", kind: "Concept", readable, previews: true });

  const projectParam = async (c: AppContext): Promise<string> => {
    const projectId = (await getProject(c, c.req.param("project_id"))).id;
    await checkProjectAccess(c, projectId);
    await blockVendorOrClient(c, projectId, true);
    return projectId;
  };
  app.get("/data/projects/:project_id/concepts", async (c) => {
    const projectId = await projectParam(c);
    return c.json(await projectEntities(c, "Concept", projectId, false));
  });
  app.post("/data/projects/:project_id/concepts", async (c) => {
    const body = await parseBody(c, NewConceptSchema);
    const projectId = await projectParam(c);
    const row = await createConcept(c, projectId, {
      name: body.name,
      data: body.data ?? {},
      description: body.description ?? null,
      entityConceptLinks: body.entity_concept_links ?? [],
    });
    return c.json((await presentEntities(c.get("db"), [row], "Concept"))[0], 201);
  });
}
