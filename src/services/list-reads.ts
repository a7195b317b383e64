/**
 * What the large lists Kitsu loads on every screen read (src/lib/answer-reads.ts), so that their
 * kept answers survive the writes that do not concern them: a comment in another project, a task
 * of somebody else, a write to a table the list never reads.
 *
 * The permission checks of these routes read the caller's person row, project teams, projects and
 * their statuses, departments and task types: those tables are never ignored wholesale.
 */
import type { Db } from "../db/database";
import type { WriteRecord } from "../db/write-tracker";
import { ACTIVITY_TABLES, otherExisting, outside, type AnswerReads } from "../lib/answer-reads";
import { chunks } from "../lib/chunks";

/** Tables task lists (without `last_comment`) never read. */
const TASK_LIST_UNREAD = new Set([
  ...ACTIVITY_TABLES, "comment", "notification", "subscription", "entity_link", "entity_concept_link", "search_filter",
  "search_filter_group", "kv_store", "plugin", "chat_message",
]);

/**
 * `GET /data/projects/{id}/tasks` and `GET /data/tasks?project_id=`: the tasks of one project
 * (narrowed or not by task type, episode, the vendor's assignments, a page), their assignees, and
 * with `readsEntities` the entities (the episode filter). Of the persons, only the caller's row
 * (permissions) is read.
 */
export async function projectTaskReads(db: Db, callerId: string, projectId: string, readsEntities: boolean): Promise<AnswerReads> {
  const taskIds = new Set<unknown>((await db.selectFrom("task").select("id").where("project_id", "=", projectId).execute()).map((r) => r.id));
  return projectTaskReadsOf(callerId, projectId, taskIds, readsEntities);
}

/** `projectTaskReads` when the ids of the project's tasks are known. */
export function projectTaskReadsOf(callerId: string, projectId: string, taskIds: ReadonlySet<unknown>, readsEntities: boolean): AnswerReads {
  const project = new Set([projectId]);
  const caller = new Set([callerId]);
  const unread = new Set(TASK_LIST_UNREAD);
  if (!readsEntities) unread.add("entity");
  return {
    unread,
    ignore: {
      task: (record) => outside(record, "project_id", project) || otherExisting(record, taskIds, ["project_id"]),
      task_person_link: (record) => outside(record, "task_id", taskIds),
      entity: (record) => outside(record, "project_id", project),
      project: (record) => outside(record, "id", project),
      project_person_link: (record) => outside(record, "project_id", project),
      person: (record) => outside(record, "id", caller),
    },
  };
}

/**
 * The todo lists of a person (`/data/user/tasks`, `/data/user/done-tasks`,
 * `/data/persons/{id}/tasks`, `/data/persons/{id}/done-tasks`): the tasks assigned to them, with
 * their assignees, entities (sequence, episode, casting episodes), last comments.
 */
export async function personTaskReads(db: Db, personId: string): Promise<AnswerReads> {
  const assigned = await db
    .selectFrom("task")
    .innerJoin("task_person_link", "task_person_link.task_id", "task.id")
    .innerJoin("entity", "entity.id", "task.entity_id")
    .leftJoin("entity as sequence", "sequence.id", "entity.parent_id")
    .select(["task.id", "task.entity_id", "entity.parent_id", "entity.source_id", "sequence.parent_id as episode_id"])
    .where("task_person_link.person_id", "=", personId)
    .execute();
  const taskIds = new Set(assigned.map((r) => r.id));
  const entityIds = new Set(assigned.map((r) => r.entity_id));
  // Entities whose names the list shows: the tasks' entities, their sequences and episodes.
  const shown = new Set<unknown>(entityIds);
  for (const row of assigned) for (const id of [row.parent_id, row.source_id, row.episode_id]) if (id) shown.add(id);
  // Episodes the entities are cast in.
  for (const part of chunks([...entityIds])) {
    for (const link of await db.selectFrom("entity_link").select("entity_in_id").where("entity_out_id", "in", part).execute()) shown.add(link.entity_in_id);
  }
  const person = new Set([personId]);
  const unread = new Set(TASK_LIST_UNREAD);
  for (const table of ["comment", "entity_link"]) unread.delete(table);
  return {
    unread,
    ignore: {
      // A new task is assigned by a link written after it.
      task: (record) => record.kind === "insert" || otherExisting(record, taskIds),
      task_person_link: (record) => outside(record, "task_id", taskIds) && (record.kind === "delete" || outside(record, "person_id", person)),
      comment: (record) => outside(record, "object_id", taskIds),
      entity: (record) => outside(record, "id", shown),
      entity_link: (record) => outside(record, "entity_out_id", entityIds),
    },
  };
}

/** `GET /data/persons`: person rows and their departments (the caller's role picks the form). */
export const PERSON_LIST_READS: AnswerReads = { only: new Set(["person", "department_link"]) };

/**
 * `GET /data/user/context`: reference tables, persons, open projects (their first episodes), the
 * caller's filters and unread notifications; no task or comment, no entity but episodes.
 */
export async function userContextReads(db: Db, personId: string): Promise<AnswerReads> {
  const episodeType = await db.selectFrom("entity_type").select("id").where("name", "=", "Episode").execute();
  const episodeTypes = new Set<unknown>(episodeType.map((r) => r.id));
  const episodes = episodeTypes.size === 0 ? [] : await db.selectFrom("entity").select("id").where("entity_type_id", "in", [...episodeTypes] as string[]).execute();
  const episodeIds = new Set<unknown>(episodes.map((r) => r.id));
  const person = new Set([personId]);
  const unread = new Set([...ACTIVITY_TABLES, "task", "task_person_link", "comment", "subscription", "entity_link", "entity_concept_link"]);
  return {
    unread,
    ignore: {
      entity: (record) => otherExisting(record, episodeIds, ["entity_type_id", "project_id"]) || outside(record, "entity_type_id", episodeTypes),
      notification: (record: WriteRecord) => outside(record, "person_id", person),
    },
  };
}
