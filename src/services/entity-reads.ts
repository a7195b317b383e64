/**
 * Reads of the `entities` area of routes.tsv: an entity's preview files and time spents (through
 * its tasks) and the concepts linked to it, each with its tasks.
 */
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import { ascNullsLast, descNullsFirst } from "../db/order";
import { serialize } from "../db/serialize";
import { conceptLinks, entityData, kindOfTypeId, requestTypeIds, type Dict } from "./entities";
import { taskDicts } from "./tasks";

const ENTITY_PREVIEW_FIELDS = ["id", "name", "original_name", "extension", "revision", "position", "file_size", "status", "validation_status", "task_id", "person_id", "created_at", "token_in", "token_out"];

/** Preview files of the entity's tasks, by task type name, newest revision first, then position. */
export async function entityPreviewFiles(db: Db, entityId: string): Promise<Dict[]> {
  const rows = (await db
    .selectFrom("preview_file")
    .innerJoin("task", "task.id", "preview_file.task_id")
    .innerJoin("task_type", "task_type.id", "task.task_type_id")
    .selectAll("preview_file")
    .where("task.entity_id", "=", entityId)
    .orderBy("task_type.name")
    .orderBy("preview_file.revision", descNullsFirst)
    .orderBy("preview_file.position", ascNullsLast)
    .execute()) as Dict[];
  return rows.map((preview) => {
    const dict = serialize("preview_file", preview);
    const out: Dict = {};
    for (const key of ENTITY_PREVIEW_FIELDS) out[key] = dict[key] ?? null;
    return out;
  });
}

/** Time spents on the entity's tasks, by date. */
export async function entityTimeSpents(db: Db, entityId: string): Promise<Dict[]> {
  const rows = (await db
    .selectFrom("time_spent")
    .innerJoin("task", "task.id", "time_spent.task_id")
    .selectAll("time_spent")
    .where("task.entity_id", "=", entityId)
    .orderBy("time_spent.date")
    .execute()) as Dict[];
  return rows.map((r) => serialize("time_spent", r));
}

/** Entities (concepts) linked to an entity through concept links, each with its tasks. */
export async function linkedEntitiesWithTasks(c: AppContext, entityId: string): Promise<Dict[]> {
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
