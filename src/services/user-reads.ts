/**
 * Reads of the caller's own views (`/data/user/*`) that go beyond the bootstrap context: the tasks
 * assigned to them on an entity, the entities and asset types of an open project where they have
 * a task, and which of a list of task ids exist.
 */
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import { serialize } from "../db/serialize";
import { RESERVED_ENTITY_TYPES } from "../lib/entity-kinds";
import { openProjectIds } from "./user-context";

type Row = Record<string, any>;
type Dict = Record<string, unknown>;

/** Tasks of an entity assigned to the caller in open projects (`get_tasks_for_entity`). */
export async function myTasksOn(c: AppContext, entityId: string): Promise<Row[]> {
  const projectIds = await openProjectIds(c.get("db"), null);
  if (projectIds.length === 0) return [];
  return (await c
    .get("db")
    .selectFrom("task")
    .selectAll()
    .where("entity_id", "=", entityId)
    .where("project_id", "in", projectIds)
    .where("id", "in", (eb) => eb.selectFrom("task_person_link").select("task_id").where("person_id", "=", c.get("user").id))
    .execute()) as Row[];
}

/** Task types of the caller's tasks on an entity (myTasksOn), by name. */
export async function myTaskTypesOn(c: AppContext, entityId: string): Promise<Dict[]> {
  const typeIds = [...new Set((await myTasksOn(c, entityId)).map((t) => t.task_type_id))];
  if (typeIds.length === 0) return [];
  const rows = (await c.get("db").selectFrom("task_type").selectAll().where("id", "in", typeIds).orderBy("name").execute()) as Row[];
  return rows.map((row) => serialize("task_type", row));
}

/**
 * Entities of a project (or of a parent) having a task assigned to the caller, directly or through
 * a child entity (`depth` levels below: sequences through their shots, episodes through sequences).
 */
export async function myEntities(
  c: AppContext,
  filter: { projectId?: string; parentId?: string; typeNames?: string[]; assetTypeId?: string; assets?: boolean },
  depth: 0 | 1 | 2,
  childTypeNames: string[] = [],
): Promise<Row[]> {
  const db = c.get("db");
  const user = c.get("user");
  const projectIds = await openProjectIds(db, null);
  if (projectIds.length === 0) return [];
  const types = await db.selectFrom("entity_type").select(["id", "name"]).execute();
  const idsOf = (names: string[]) => types.filter((t) => names.includes(t.name)).map((t) => t.id);
  // Entities carrying the assigned tasks.
  const carriers = db
    .selectFrom("task")
    .select("task.entity_id")
    .where("task.project_id", "in", projectIds)
    .where("task.id", "in", (eb) => eb.selectFrom("task_person_link").select("task_id").where("person_id", "=", user.id));
  let ids = [...new Set((await carriers.execute()).map((r) => r.entity_id!))];
  for (let level = 0; level < depth; level += 1) {
    if (ids.length === 0) return [];
    const childTypes = idsOf([childTypeNames[level]!]);
    if (childTypes.length === 0) return [];
    const children = await db.selectFrom("entity").select("parent_id").where("id", "in", ids).where("entity_type_id", "in", childTypes).execute();
    ids = [...new Set(children.map((r) => r.parent_id).filter(Boolean) as string[])];
  }
  if (ids.length === 0) return [];
  let query = db.selectFrom("entity").selectAll().where("id", "in", ids);
  if (filter.projectId) query = query.where("project_id", "=", filter.projectId);
  if (filter.parentId) query = query.where("parent_id", "=", filter.parentId);
  if (filter.typeNames) {
    const typeIds = idsOf(filter.typeNames);
    if (typeIds.length === 0) return [];
    query = query.where("entity_type_id", "in", typeIds);
  }
  if (filter.assets) {
    const temporal = idsOf(RESERVED_ENTITY_TYPES);
    if (temporal.length > 0) query = query.where("entity_type_id", "not in", temporal);
  }
  if (filter.assetTypeId) query = query.where("entity_type_id", "=", filter.assetTypeId);
  return (await query.orderBy("name").execute()) as Row[];
}

/** Asset types of a project's assets where the caller has a task, by name (`type: "AssetType"`). */
export async function myAssetTypesInProject(c: AppContext, projectId: string): Promise<Dict[]> {
  const assets = await myEntities(c, { projectId, assets: true }, 0);
  const typeIds = [...new Set(assets.map((a) => a.entity_type_id))];
  if (typeIds.length === 0) return [];
  const types = (await c.get("db").selectFrom("entity_type").selectAll().where("id", "in", typeIds).orderBy("name").execute()) as Row[];
  return types.map((row) => serialize("entity_type", row, { typeName: "AssetType" }));
}

/** The ids among `ids` that are tasks. */
export async function existingTaskIds(db: Db, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  return (await db.selectFrom("task").select("id").where("id", "in", ids).execute()).map((t) => t.id);
}
