/**
 * Task reads of the tasks routes: single rows by id, the entities a bulk task creation targets,
 * task previews, a person's related tasks, an entity's tasks of a type and the paged project dumps
 * of the sync routes (tasks, comments, notifications, preview files).
 */
import { sql } from "kysely";
import type { AppContext, PersonRow } from "../context";
import { getRowById, loadServiceRow, type AnySelect } from "../db/rows";
import type { Db } from "../db/database";
import { serialize } from "../db/serialize";
import { ascNullsLast, descNullsFirst } from "../db/order";
import { chunks } from "../lib/chunks";
import { notFound } from "../lib/errors";
import { presentTask, presentTasks, RESERVED_ENTITY_TYPES, type Dict, type EntityForTask, type TaskRow } from "./tasks";
import { serializeCommentsWithRelations } from "./comments";

/** A task by a (normalized) id, if any. */
export async function findTask(db: Db, taskId: string): Promise<TaskRow | undefined> {
  return (await getRowById(db, "task", taskId)) as TaskRow | undefined;
}

/** A person by path id: 404 when malformed or missing. */
export async function getPerson(c: AppContext, rawId: string | undefined): Promise<PersonRow> {
  return (await loadServiceRow(c.get("db"), "person", rawId)) as PersonRow;
}

/** A person by a (normalized) id, if any. */
export async function findPerson(db: Db, personId: string): Promise<PersonRow | undefined> {
  return (await getRowById(db, "person", personId)) as PersonRow | undefined;
}

/** A preview file by a (normalized) id, if any. */
export async function findPreviewFile(db: Db, previewFileId: string) {
  return getRowById(db, "preview_file", previewFileId);
}

/** The name of the entity type called `name`, if it exists. */
export async function entityTypeNamed(db: Db, name: string): Promise<string | undefined> {
  return (await db.selectFrom("entity_type").select("name").where("name", "=", name).executeTakeFirst())?.name;
}

/** The entities a bulk task creation targets: listed ids, or a project's entities matching a query. */
export type EntitySelection =
  | { ids: string[] }
  | { ids: null; queryIds: string[] | undefined; episodeId: string | undefined };

/**
 * Entities of a project for create-tasks. Listed ids: each must exist and be of a matching kind
 * (else 404); those of other projects are skipped. Otherwise every entity of the project of a
 * matching kind, narrowed by `queryIds` (when given) and the episode, by name.
 */
export async function entitiesForCreation(db: Db, projectId: string, kinds: string[] | "asset", selection: EntitySelection): Promise<EntityForTask[]> {
  const base = db
    .selectFrom("entity")
    .innerJoin("entity_type", "entity_type.id", "entity.entity_type_id")
    .select(["entity.id", "entity.project_id", "entity.parent_id", "entity_type.name as type_name"]);
  const matchesKind = (typeName: string) => (kinds === "asset" ? !RESERVED_ENTITY_TYPES.includes(typeName) : kinds.includes(typeName));
  if (selection.ids) {
    const ids = selection.ids;
    const found = new Map<string, EntityForTask & { type_name: string }>();
    for (const part of chunks([...new Set(ids)])) {
      for (const entity of await base.where("entity.id", "in", part).execute()) found.set(entity.id, entity);
    }
    const result: EntityForTask[] = [];
    for (const id of ids) {
      const entity = found.get(id);
      if (!entity || !matchesKind(entity.type_name)) throw notFound();
      if (entity.project_id === projectId) result.push(entity);
    }
    return result;
  }
  let query = base.where("entity.project_id", "=", projectId);
  query = kinds === "asset"
    ? query.where("entity_type.name", "not in", RESERVED_ENTITY_TYPES)
    : query.where("entity_type.name", "in", kinds);
  const ids = selection.queryIds;
  if (ids !== undefined) query = ids.length ? query.where("entity.id", "in", ids) : query.where(sql<boolean>`1 = 0`);
  const episode = selection.episodeId;
  if (episode) {
    if (kinds === "asset") query = query.where("entity.source_id", "=", episode);
    else if (kinds.includes("Shot") || kinds.includes("Scene")) {
      query = query.where("entity.parent_id", "in", (eb) => eb.selectFrom("entity as seq").select("seq.id").where("seq.parent_id", "=", episode));
    } else if (kinds.includes("Episode")) query = query.where("entity.id", "=", episode);
    else query = query.where("entity.parent_id", "=", episode);
  }
  return query.orderBy("entity.name").execute();
}

/** The previews of a task, newest revision first, serialized. */
export async function taskPreviews(db: Db, taskId: string): Promise<Dict[]> {
  const rows = await db
    .selectFrom("preview_file")
    .selectAll()
    .where("task_id", "=", taskId)
    .orderBy("revision", descNullsFirst)
    .orderBy("position", ascNullsLast)
    .execute();
  return rows.map((row) => serialize("preview_file", row));
}

/** The newest preview of a task (highest revision, first position). */
export async function lastTaskPreview(db: Db, taskId: string) {
  return db
    .selectFrom("preview_file")
    .selectAll()
    .where("task_id", "=", taskId)
    .orderBy("revision", descNullsFirst)
    .orderBy("position", ascNullsLast)
    .orderBy("created_at", "desc")
    .executeTakeFirst();
}

/** Tasks of a type, in `projectIds`, on the entities where the person has an assigned task; by name. */
export async function relatedTasksOfPerson(db: Db, personId: string, taskTypeId: string, projectIds: string[]): Promise<Dict[]> {
  const rows = await db
    .selectFrom("task")
    .selectAll()
    .where("task_type_id", "=", taskTypeId)
    .where("project_id", "in", projectIds)
    .where("entity_id", "in", (eb) =>
      eb.selectFrom("task as assigned")
        .innerJoin("task_person_link", "task_person_link.task_id", "assigned.id")
        .select("assigned.entity_id")
        .where("task_person_link.person_id", "=", personId))
    .orderBy("name")
    .execute();
  return rows.map((row) => presentTask(row));
}

/** The tasks of an entity for one task type, by name. */
export async function entityTasksOfType(db: Db, entityId: string, taskTypeId: string): Promise<Dict[]> {
  const rows = await db
    .selectFrom("task")
    .selectAll()
    .where("entity_id", "=", entityId)
    .where("task_type_id", "=", taskTypeId)
    .orderBy("name")
    .execute();
  return rows.map((row) => presentTask(row));
}

// ---------------------------------------------------------------------------------------------
// Paged project dumps (sync routes)

/** Rows a paginated dump reads: their count, and one page (all rows when `limit` is null). */
export interface PagedRows {
  count(): Promise<number>;
  page(limit: number | null, offset: number): Promise<Dict[]>;
}

/**
 * A dump of the rows of `table` selected by `scoped` (which joins the tasks of the project): its
 * count, and pages ordered by last update (newest first), then id, shaped by `present`.
 */
function pagedDump(
  scoped: () => AnySelect,
  table: "task" | "comment" | "notification" | "preview_file",
  present: (rows: any[]) => Promise<Dict[]> | Dict[],
): PagedRows {
  return {
    count: async () => Number((await scoped().select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirst())?.n ?? 0),
    page: async (limit, offset) => {
      let query = scoped().selectAll(table).orderBy(`${table}.updated_at`, "desc").orderBy(`${table}.id`);
      if (limit !== null) query = query.limit(limit).offset(offset);
      return present(await query.execute());
    },
  };
}

/** The tasks of a project dump, narrowed by task type, episode, and to a vendor's assigned tasks. */
export function projectTaskDump(
  db: Db,
  projectId: string,
  filters: { taskTypeId?: string; episodeId?: string; assignedTo?: string },
): PagedRows {
  const scoped = () => {
    let query = db.selectFrom("task").where("task.project_id", "=", projectId);
    if (filters.taskTypeId) query = query.where("task.task_type_id", "=", filters.taskTypeId);
    const episodeId = filters.episodeId;
    if (episodeId) {
      // Tasks of the entities whose parent sequence belongs to the episode (shots, scenes).
      query = query.where("task.entity_id", "in", (eb) =>
        eb.selectFrom("entity as child")
          .innerJoin("entity as sequence", "sequence.id", "child.parent_id")
          .select("child.id")
          .where("sequence.parent_id", "=", episodeId));
    }
    const assignedTo = filters.assignedTo;
    if (assignedTo) {
      query = query.where("task.id", "in", (eb) => eb.selectFrom("task_person_link").select("task_id").where("person_id", "=", assignedTo));
    }
    return query;
  };
  return pagedDump(scoped, "task", (rows: TaskRow[]) => presentTasks(db, rows));
}

/** The comments on the tasks of a project, with their relations. */
export function projectCommentDump(db: Db, projectId: string): PagedRows {
  const scoped = () => db.selectFrom("comment").innerJoin("task", "task.id", "comment.object_id").where("task.project_id", "=", projectId);
  return pagedDump(scoped, "comment", (rows) => serializeCommentsWithRelations(db, rows));
}

/** The notifications on the tasks of a project. */
export function projectNotificationDump(db: Db, projectId: string): PagedRows {
  const scoped = () => db.selectFrom("notification").innerJoin("task", "task.id", "notification.task_id").where("task.project_id", "=", projectId);
  return pagedDump(scoped, "notification", (rows) => rows.map((row) => serialize("notification", row)));
}

/** The preview files of the tasks of a project. */
export function projectPreviewFileDump(db: Db, projectId: string): PagedRows {
  const scoped = () => db.selectFrom("preview_file").innerJoin("task", "task.id", "preview_file.task_id").where("task.project_id", "=", projectId);
  return pagedDump(scoped, "preview_file", (rows) => rows.map((row) => serialize("preview_file", row)));
}
