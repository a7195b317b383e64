/**
 * Detailed task rows: the task joined with its project, entity, sequence, episode, task type and
 * task status names, as Zou's to-do lists (person tasks, done tasks, tasks to check) and the open
 * tasks page present them.
 */
import type { Db } from "../db/database";
import { isTrue, parseJson, serialize } from "../db/serialize";
import { descNullsFirst } from "../db/order";
import { chunks } from "../lib/chunks";
import { assigneesByTask, joinedTaskQuery, presentTask, type Dict, type TaskRow } from "./tasks";

export interface DetailRow {
  task: TaskRow;
  project_name: string;
  project_has_avatar: unknown;
  entity_id: string;
  entity_name: string;
  entity_description: string | null;
  entity_data: unknown;
  entity_preview_file_id: string | null;
  entity_source_id: string | null;
  entity_type_name: string;
  entity_canceled: unknown;
  entity_parent_id: string | null;
  sequence_name: string | null;
  episode_id: string | null;
  episode_name: string | null;
  task_type_name: string;
  task_type_for_entity: string | null;
  task_type_color: string | null;
  task_status_name: string;
  task_status_color: string;
  task_status_short_name: string;
}

/** joinedTaskQuery with the entity's sequence (its parent) and that sequence's episode. */
export function detailedTaskQuery(db: Db) {
  return joinedTaskQuery(db)
    .leftJoin("entity as sequence", "sequence.id", "entity.parent_id")
    .leftJoin("entity as episode", "episode.id", "sequence.parent_id");
}

/** The columns read next to the task's own on detailedTaskQuery. */
export function detailedColumns() {
  return [
    "project.name as project_name", "project.has_avatar as project_has_avatar", "entity.name as entity_name",
    "entity.description as entity_description", "entity.data as entity_data", "entity.preview_file_id as entity_preview_file_id",
    "entity.source_id as entity_source_id", "entity_type.name as entity_type_name", "entity.canceled as entity_canceled",
    "entity.parent_id as entity_parent_id", "sequence.name as sequence_name", "episode.id as episode_id", "episode.name as episode_name",
    "task_type.name as task_type_name", "task_type.for_entity as task_type_for_entity", "task_type.color as task_type_color",
    "task_status.name as task_status_name", "task_status.color as task_status_color", "task_status.short_name as task_status_short_name",
  ] as const;
}

const DETAIL_KEYS = new Set<string>(detailedColumns().map((column) => column.split(" as ")[1]!));

/** Splits a row of `selectAll("task")` + detailedColumns into the task and its details. */
export function splitDetailRow(raw: Record<string, unknown>): DetailRow {
  const task: Record<string, unknown> = {};
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (DETAIL_KEYS.has(key)) extra[key] = value;
    else task[key] = value;
  }
  return { task: task as TaskRow, ...(extra as Omit<DetailRow, "task" | "entity_id">), entity_id: String(task.entity_id) };
}

/**
 * The part every detailed row shares: the task with its assignees, project, entity, sequence and
 * episode details. The episode of an entity outside the sequence chain is its `source_id` (named
 * "MP" when that episode is gone); a sequence's episode is its parent.
 */
export async function presentDetailed(db: Db, rows: DetailRow[]): Promise<Dict[]> {
  const assignees = await assigneesByTask(db, rows.map((r) => r.task.id));
  const episodeIdsToName = new Set<string>();
  for (const row of rows) {
    if (row.entity_type_name === "Sequence" && row.entity_parent_id) episodeIdsToName.add(row.entity_parent_id);
    if (!row.episode_id && row.entity_source_id) episodeIdsToName.add(row.entity_source_id);
  }
  const episodeNames = new Map<string, string>();
  for (const chunk of chunks([...episodeIdsToName])) {
    for (const e of await db.selectFrom("entity").select(["id", "name"]).where("id", "in", chunk).execute()) episodeNames.set(e.id, e.name);
  }
  return rows.map((row) => {
    let episodeId = row.episode_id ?? row.entity_source_id ?? "";
    let episodeName = row.episode_name;
    if (!row.episode_id && row.entity_source_id) episodeName = episodeNames.get(row.entity_source_id) ?? "MP";
    if (row.entity_type_name === "Sequence" && row.entity_parent_id) {
      episodeId = row.entity_parent_id;
      episodeName = episodeNames.get(row.entity_parent_id) ?? null;
    }
    return {
      ...presentTask(row.task, assignees.get(row.task.id) ?? []),
      project_name: row.project_name,
      project_id: row.task.project_id,
      project_has_avatar: isTrue(row.project_has_avatar),
      entity_id: row.entity_id,
      entity_name: row.entity_name,
      entity_description: row.entity_description,
      entity_data: parseJson(row.entity_data) ?? null,
      entity_preview_file_id: row.entity_preview_file_id ?? "",
      entity_source_id: row.entity_source_id ?? "",
      entity_type_name: row.entity_type_name,
      entity_canceled: isTrue(row.entity_canceled),
      sequence_name: row.sequence_name,
      episode_id: episodeId,
      episode_name: episodeName,
      task_type_for_entity: row.task_type_for_entity,
    };
  });
}

/** Episodes each entity is cast in (entity_link from an episode), ordered by episode name. */
async function castInEpisodes(db: Db, entityIds: string[]): Promise<Map<string, { id: string; name: string }[]>> {
  const result = new Map<string, { id: string; name: string }[]>();
  for (const part of chunks([...new Set(entityIds)])) {
    const rows = await db
      .selectFrom("entity_link")
      .innerJoin("entity as episode", "episode.id", "entity_link.entity_in_id")
      .innerJoin("entity_type", "entity_type.id", "episode.entity_type_id")
      .select(["entity_link.entity_out_id as entity_id", "episode.id", "episode.name"])
      .where("entity_type.name", "=", "Episode")
      .where("entity_link.entity_out_id", "in", part)
      .orderBy("episode.name")
      .execute();
    for (const row of rows) {
      if (!result.has(row.entity_id)) result.set(row.entity_id, []);
      result.get(row.entity_id)!.push({ id: row.id, name: row.name });
    }
  }
  return result;
}

/**
 * `{text, date, person_id}` of each task's last comment not written by a client (Zou's last_comment
 * map): a client by global role, or with `projectRoles` by role in the task's project.
 */
async function lastCommentMap(db: Db, taskIds: string[], projectRoles: boolean): Promise<Map<string, Dict>> {
  const map = new Map<string, Dict>();
  for (const chunk of chunks(taskIds)) {
    const rows = await db
      .selectFrom("comment")
      .innerJoin("person", "person.id", "comment.person_id")
      .innerJoin("task", "task.id", "comment.object_id")
      .leftJoin("project_person_link", (join) =>
        join.onRef("project_person_link.person_id", "=", "person.id").onRef("project_person_link.project_id", "=", "task.project_id"),
      )
      .select(["comment.object_id", "comment.text", "comment.created_at", "comment.person_id", "person.role", "project_person_link.role as project_role"])
      .where("comment.object_id", "in", chunk)
      .orderBy("comment.created_at", "desc")
      .execute();
    for (const row of rows) {
      if (map.has(row.object_id)) continue;
      if ((projectRoles ? (row.project_role ?? row.role) : row.role) === "client") continue;
      map.set(row.object_id, { text: row.text, date: serialize("comment", { created_at: row.created_at }).created_at, person_id: row.person_id });
    }
  }
  return map;
}

/**
 * Detailed task rows (todo list shape, with `last_comment`) in the given projects: the tasks
 * assigned to a person, done or not (person tasks / done tasks, with `episode_ids` and
 * `episode_names` for entities cast in episodes), or with `toCheck` the tasks whose status requests
 * feedback, limited to the task types of `departmentIds` when there are any.
 */
async function detailedTaskList(
  db: Db,
  projectIds: string[],
  selection: { personId: string; done: boolean } | { toCheck: { departmentIds: string[] } },
): Promise<Dict[]> {
  if (projectIds.length === 0) return [];
  let query = detailedTaskQuery(db).selectAll("task").select(detailedColumns() as any).where("task.project_id", "in", projectIds);
  let rows: DetailRow[];
  if ("toCheck" in selection) {
    query = query.where("task_status.is_feedback_request", "=", true);
    const { departmentIds } = selection.toCheck;
    if (departmentIds.length > 0) query = query.where("task_type.department_id", "in", departmentIds);
    const sortKeys = ["project_name", "episode_name", "sequence_name", "entity_type_name", "entity_name", "task_type_name"] as const;
    const compare = (a: DetailRow, b: DetailRow) => {
      for (const key of sortKeys) {
        const order = String(a[key] ?? "").localeCompare(String(b[key] ?? ""));
        if (order !== 0) return order;
      }
      return 0;
    };
    rows = ((await query.execute()) as Record<string, unknown>[]).map(splitDetailRow).sort(compare);
  } else {
    const { personId, done } = selection;
    query = query
      .where("task.id", "in", (eb) => eb.selectFrom("task_person_link").select("task_person_link.task_id").where("task_person_link.person_id", "=", personId))
      .where("task_status.is_done", "=", done);
    query = done
      ? query.orderBy("task.end_date", descNullsFirst).orderBy("task_type.name").orderBy("entity.name")
      : query.orderBy("project.name").orderBy("task_type.name").orderBy("entity.name");
    rows = ((await query.execute()) as Record<string, unknown>[]).map(splitDetailRow);
  }
  const toCheck = "toCheck" in selection;
  const tasks = await presentDetailed(db, rows);
  const castIn = toCheck ? new Map<string, { id: string; name: string }[]>() : await castInEpisodes(db, rows.map((r) => r.entity_id));
  rows.forEach((row, index) => {
    const task = tasks[index]!;
    const serialized = { ...task };
    Object.assign(task, {
      task_estimation: serialized.estimation,
      task_duration: serialized.duration,
      task_start_date: serialized.start_date,
      task_due_date: serialized.due_date,
      task_type_name: row.task_type_name,
      task_status_name: row.task_status_name,
      task_type_color: row.task_type_color,
      task_status_color: row.task_status_color,
      task_status_short_name: row.task_status_short_name,
    });
    const episodes = castIn.get(row.entity_id);
    if (episodes) {
      task.episode_ids = episodes.map((e) => e.id);
      task.episode_names = episodes.map((e) => e.name);
    }
  });
  const lastComments = await lastCommentMap(db, tasks.map((t) => String(t.id)), toCheck);
  for (const task of tasks) task.last_comment = lastComments.get(String(task.id)) ?? {};
  return tasks;
}

/** Tasks assigned to a person in the given projects, done or not (person tasks / done tasks). */
export function personTasks(db: Db, personId: string, projectIds: string[], done: boolean): Promise<Dict[]> {
  return detailedTaskList(db, projectIds, { personId, done });
}

/**
 * Tasks waiting for feedback (`get_person_tasks_to_check`) in the given projects, limited to the
 * task types of `departmentIds` when there are any, sorted by project, episode, sequence, entity
 * type, entity and task type names.
 */
export function tasksToCheck(db: Db, projectIds: string[], departmentIds: string[]): Promise<Dict[]> {
  return detailedTaskList(db, projectIds, { toCheck: { departmentIds } });
}
