/** Routes of the `entities` area of routes.tsv. */
import type { Hono } from "hono";
import * as v from "valibot";
import type { AppContext, AppEnv } from "../context";
import { readBodyValue, parseBody } from "../lib/body";
import { badRequest, forbidden } from "../lib/errors";
import { isUuid, normalizeId } from "../lib/ids";
import { checkManagerProjectAccess, effectiveRole } from "../services/permissions";
import { checkEntityRead, getEntityRow, kindOfTypeId, loadEntity, queryFlag, requestTypeIds, type Dict, type EntityRow } from "../services/entities";
import { entityPreviewFiles, entityTimeSpents, linkedEntitiesWithTasks } from "../services/entity-reads";
import { createTasksForEntity, removeEntity } from "../services/entity-writes";
import { getProject } from "../services/tasks";
import { newsPage } from "../services/news";

/**
 * `{task_type_ids: [...]}`, or a single `{task_type_id}`; neither (or an empty list): every task
 * type valid for the entity.
 */
const CreateEntityTasksSchema = v.pipe(
  v.object({
    task_type_ids: v.optional(v.array(v.string()), []),
    task_type_id: v.optional(v.string()),
  }),
  v.transform((body) => [...body.task_type_ids, ...(body.task_type_id !== undefined ? [body.task_type_id] : [])]),
);

/** The id list of a bulk request: a JSON array of ids (or `{entity_ids}` / `{ids}`). */
async function idList(c: AppContext): Promise<string[]> {
  const body = await readBodyValue(c);
  const list = Array.isArray(body)
    ? body
    : body && typeof body === "object"
      ? ((body as Dict).entity_ids ?? (body as Dict).ids ?? null)
      : null;
  if (!Array.isArray(list)) throw badRequest("A list of ids is expected.");
  return list.map((value) => {
    if (!isUuid(value)) throw badRequest("One of the ID sent in parameter is not properly formatted.");
    return normalizeId(value);
  });
}

export function registerEntities(app: Hono<AppEnv>): void {
  const readable = async (c: AppContext): Promise<EntityRow> => {
    const row = await loadEntity(c, c.req.param("entity_id"));
    await checkEntityRead(c, row);
    return row;
  };

  app.post("/actions/projects/:project_id/delete-entities", async (c) => {
    const projectId = (await getProject(c, c.req.param("project_id"))).id;
    const db = c.get("db");
    const ids = await idList(c);
    const force = queryFlag(c, "force");
    const userId = c.get("user").id;
    const rows: EntityRow[] = [];
    for (const id of ids) {
      const row = await getEntityRow(db, id);
      if (!row) continue;
      if (row.created_by !== userId) await checkManagerProjectAccess(c, projectId);
      rows.push(row);
    }
    const types = await requestTypeIds(c);
    const removed: string[] = [];
    for (const row of rows) {
      if (row.project_id !== projectId) continue;
      const kind = kindOfTypeId(types, row.entity_type_id);
      if (!["Shot", "Edit", "Concept", "Asset"].includes(kind)) continue;
      const entityForce = kind === "Concept" || force || Boolean(row.canceled);
      await removeEntity(c, row, { force: entityForce });
      removed.push(row.id);
    }
    return c.json(removed);
  });

  app.get("/data/entities/:entity_id/news", async (c) => {
    const row = await readable(c);
    return c.json(await newsPage(c.get("db"), { entityId: row.id }, 1, 2000));
  });
  app.get("/data/entities/:entity_id/preview-files", async (c) => {
    const row = await readable(c);
    return c.json(await entityPreviewFiles(c.get("db"), row.id));
  });
  app.post("/data/entities/:entity_id/tasks", async (c) => {
    const row = await readable(c);
    const role = await effectiveRole(c, row.project_id);
    if (role === "vendor" || role === "client") throw forbidden();
    const taskTypeIds = await parseBody(c, CreateEntityTasksSchema);
    return c.json(await createTasksForEntity(c, row, taskTypeIds), 201);
  });
  app.get("/data/entities/:entity_id/time-spents", async (c) => {
    const row = await readable(c);
    return c.json(await entityTimeSpents(c.get("db"), row.id));
  });
  app.get("/data/entities/:entity_id/entities-linked/with-tasks", async (c) => {
    const row = await readable(c);
    return c.json(await linkedEntitiesWithTasks(c, row.id));
  });
}
