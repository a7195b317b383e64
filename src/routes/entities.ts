/** Routes of the `entities` area of routes.tsv. */
import type { Hono } from "hono";
import * as v from "valibot";
import type { AppContext, AppEnv } from "../context";
import { serialize } from "../db/serialize";
import { readBodyValue, parseBody } from "../lib/body";
import { badRequest, forbidden } from "../lib/errors";
import { isUuid, normalizeId } from "../lib/ids";
import { checkManagerProjectAccess, effectiveRole } from "../services/permissions";
import { checkEntityRead, conceptLinks, entityData, getEntityRow, kindOfTypeId, loadEntity, queryFlag, requestTypeIds, type Dict, type EntityRow } from "../services/entities";
import { createTasksForEntity, removeEntity } from "../services/entity-writes";
import { taskDicts, getProject } from "../services/tasks";
import { newsPage } from "../services/news";
import { ascNullsLast, descNullsFirst } from "../db/order";

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
    const rows = (await c
      .get("db")
      .selectFrom("preview_file")
      .innerJoin("task", "task.id", "preview_file.task_id")
      .innerJoin("task_type", "task_type.id", "task.task_type_id")
      .selectAll("preview_file")
      .where("task.entity_id", "=", row.id)
      .orderBy("task_type.name")
      .orderBy("preview_file.revision", descNullsFirst)
      .orderBy("preview_file.position", ascNullsLast)
      .execute()) as Dict[];
    return c.json(
      rows.map((preview) => {
        const dict = serialize("preview_file", preview);
        const out: Dict = {};
        for (const key of ["id", "name", "original_name", "extension", "revision", "position", "file_size", "status", "validation_status", "task_id", "person_id", "created_at", "token_in", "token_out"]) {
          out[key] = dict[key] ?? null;
        }
        return out;
      }),
    );
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
    const rows = (await c
      .get("db")
      .selectFrom("time_spent")
      .innerJoin("task", "task.id", "time_spent.task_id")
      .selectAll("time_spent")
      .where("task.entity_id", "=", row.id)
      .orderBy("time_spent.date")
      .execute()) as Dict[];
    return c.json(rows.map((r) => serialize("time_spent", r)));
  });
  app.get("/data/entities/:entity_id/entities-linked/with-tasks", async (c) => {
    const row = await readable(c);
    return c.json(await linkedEntitiesWithTasks(c, row.id));
  });
}

/** Entities (concepts) linked to an entity through concept links, each with its tasks. */
async function linkedEntitiesWithTasks(c: AppContext, entityId: string): Promise<Dict[]> {
  const db = c.get("db");
  const types = await requestTypeIds(c);
  const rows = (await db
    .selectFrom("entity")
    .innerJoin("project", "project.id", "entity.project_id")
    .selectAll("entity")
    .select("project.name as __project_name")
    .where("entity.id", "in", (eb) => eb.selectFrom("entity_concept_link").select("entity_in_id").where("entity_out_id", "=", entityId))
    .orderBy("entity.name")
    .execute()) as Dict[];
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id as string);
  const links = await conceptLinks(db, ids);
  const tasks = await taskDicts(c, (q) => q.where("task.entity_id", "in", ids), { relations: true });
  const byEntity = new Map<string, Dict[]>();
  for (const task of tasks) {
    const list = byEntity.get(task.entity_id as string) ?? [];
    list.push({
      id: task.id, duration: task.duration, due_date: task.due_date, end_date: task.end_date, entity_id: task.entity_id,
      estimation: task.estimation, last_comment_date: task.last_comment_date, nb_assets_ready: task.nb_assets_ready,
      priority: task.priority ?? 0, real_start_date: task.real_start_date, retake_count: task.retake_count, start_date: task.start_date,
      task_status_id: task.task_status_id, task_type_id: task.task_type_id, assigner_id: task.assigner_id, assignees: task.assignees,
    });
    byEntity.set(task.entity_id as string, list);
  }
  return rows.map((row) => {
    const entity = serialize("entity", row);
    const data = entityData(row.data);
    return {
      canceled: entity.canceled, data, description: entity.description, entity_type_id: entity.entity_type_id,
      fps: data.fps ?? null, frame_in: data.frame_in ?? null, frame_out: data.frame_out ?? null, id: entity.id, name: entity.name,
      nb_frames: entity.nb_frames, parent_id: entity.parent_id, preview_file_id: entity.preview_file_id ?? null,
      project_id: entity.project_id, project_name: row.__project_name, source_id: entity.source_id,
      nb_entities_out: entity.nb_entities_out, is_casting_standby: entity.is_casting_standby, tasks: byEntity.get(row.id as string) ?? [],
      entity_concept_links: links.get(row.id as string) ?? [], type: kindOfTypeId(types, row.entity_type_id as string),
      updated_at: entity.updated_at, created_at: entity.created_at, created_by: entity.created_by,
    };
  });
}
