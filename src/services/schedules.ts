/** Milestones, schedule items and production schedule versions of a project. */
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import { serialize } from "../db/serialize";
import { loadRelations, loadServiceRow } from "../db/rows";
import { badRequest } from "../lib/errors";
import { chunks } from "../lib/chunks";
import { newId, utcNow } from "../lib/ids";
import { ascNullsLast } from "../db/order";
import { type Dict, type Row, emit, emitProjectUpdate, reservedEntityTypeIds } from "./project-base";

// ---------------------------------------------------------------------------------------------
// Milestones and schedule items

/** Milestone's compact form (no `type`). */
export function presentMilestone(row: Row): Dict {
  const dict = serialize("milestone", row);
  return { id: dict.id, date: dict.date, name: dict.name, project_id: dict.project_id, task_type_id: dict.task_type_id };
}

/** Schedule item's compact form (no `type`). */
export function presentScheduleItem(row: Row): Dict {
  const dict = serialize("schedule_item", row);
  return {
    id: dict.id, start_date: dict.start_date, end_date: dict.end_date, man_days: dict.man_days,
    project_id: dict.project_id, task_type_id: dict.task_type_id, object_id: dict.object_id,
  };
}

export async function listMilestones(c: AppContext, projectId: string): Promise<Dict[]> {
  const rows = await c.get("db").selectFrom("milestone").selectAll().where("project_id", "=", projectId).orderBy("date", ascNullsLast).execute();
  return rows.map((row) => presentMilestone(row as Row));
}

export async function listScheduleItems(c: AppContext, projectId: string): Promise<Dict[]> {
  const rows = await c.get("db").selectFrom("schedule_item").selectAll().where("project_id", "=", projectId).orderBy("start_date", ascNullsLast).execute();
  return rows.map((row) => serialize("schedule_item", row as Row));
}

function today(offsetDays = 0): string {
  return new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
}

async function createScheduleItem(c: AppContext, projectId: string, taskTypeId: string, objectId: string | null): Promise<Row> {
  const now = utcNow();
  const row = {
    id: newId(), created_at: now, updated_at: now, project_id: projectId, task_type_id: taskTypeId,
    object_id: objectId, start_date: today(), end_date: today(1), man_days: null,
  };
  await c.get("db").insertInto("schedule_item").values(row as any).execute();
  await emit(c, "schedule-item:new", { schedule_item_id: row.id }, projectId);
  return row;
}

/**
 * One schedule item per task type used by a task of the project (created when missing; as Zou,
 * task types of the settings without tasks get none), sorted by start date.
 */
export async function taskTypeScheduleItems(c: AppContext, projectId: string): Promise<Dict[]> {
  const db = c.get("db");
  const taskTypes = await db
    .selectFrom("task_type")
    .select("task_type.id")
    .where("task_type.id", "in", (eb) => eb.selectFrom("task").select("task.task_type_id").where("task.project_id", "=", projectId))
    .where("task_type.for_entity", "in", ["Asset", "Shot", "Sequence", "Episode", "Edit"])
    .execute();
  const wanted = new Set(taskTypes.map((t) => t.id));
  const items = (await db.selectFrom("schedule_item").selectAll().where("project_id", "=", projectId).where("object_id", "is", null).execute()) as Row[];
  const byTaskType = new Set(items.map((i) => i.task_type_id));
  const result = items.filter((i) => i.task_type_id === null || wanted.has(i.task_type_id));
  for (const taskType of taskTypes) {
    if (!byTaskType.has(taskType.id)) result.push(await createScheduleItem(c, projectId, taskType.id, null));
  }
  return result.map(presentScheduleItem).sort((a, b) => String(a.start_date ?? "").localeCompare(String(b.start_date ?? "")));
}

export type ScheduleObjectKind = "asset-types" | "episodes" | "sequences" | "edits";

/** Objects a per-task-type schedule lists: asset types in use, episodes, sequences or edits. */
async function scheduleObjects(db: Db, projectId: string, kind: ScheduleObjectKind, episodeId: string | null): Promise<{ id: string; name: string }[]> {
  const reserved = await reservedEntityTypeIds(db);
  if (kind === "asset-types") {
    let query = db
      .selectFrom("entity_type")
      .innerJoin("entity", "entity.entity_type_id", "entity_type.id")
      .select(["entity_type.id", "entity_type.name"])
      .distinct()
      .where("entity.project_id", "=", projectId);
    if (reserved.size) query = query.where("entity_type.id", "not in", [...reserved.values()]);
    if (episodeId) query = query.where("entity.source_id", "=", episodeId);
    return query.execute();
  }
  const typeName = { episodes: "Episode", sequences: "Sequence", edits: "Edit" }[kind];
  const typeId = reserved.get(typeName);
  if (!typeId) return [];
  let query = db.selectFrom("entity").select(["id", "name"]).where("project_id", "=", projectId).where("entity_type_id", "=", typeId);
  if (kind === "edits") query = query.where((eb) => eb.or([eb("canceled", "is", null), eb("canceled", "=", false)]));
  if (episodeId) query = kind === "episodes" ? query.where("id", "=", episodeId) : query.where("parent_id", "=", episodeId);
  return query.execute();
}

/**
 * Schedule items of a task type for each asset type / episode / sequence / edit (created when
 * missing), each with the object's `name`, sorted by name.
 */
export async function objectScheduleItems(c: AppContext, projectId: string, taskTypeId: string, kind: ScheduleObjectKind, episodeId: string | null): Promise<Dict[]> {
  const db = c.get("db");
  const objects = await scheduleObjects(db, projectId, kind, episodeId);
  const names = new Map(objects.map((o) => [o.id, o.name]));
  const existing = new Map<string, Row>();
  for (const ids of chunks(objects.map((o) => o.id))) {
    const rows = (await db
      .selectFrom("schedule_item")
      .selectAll()
      .where("project_id", "=", projectId)
      .where("task_type_id", "=", taskTypeId)
      .where("object_id", "in", ids)
      .execute()) as Row[];
    for (const row of rows) existing.set(row.object_id, row);
  }
  const result: Dict[] = [];
  for (const object of objects) {
    const row = existing.get(object.id) ?? (await createScheduleItem(c, projectId, taskTypeId, object.id));
    result.push({ ...presentScheduleItem(row), name: names.get(object.id) });
  }
  return result.sort((a, b) => String(a.name).localeCompare(String(b.name)));
}

// ---------------------------------------------------------------------------------------------
// Production schedule versions

export function getScheduleVersionOr404(c: AppContext, rawId: string | undefined): Promise<Row> {
  return loadServiceRow(c.get("db"), "production_schedule_version", rawId);
}

export async function scheduleVersionTaskLinks(c: AppContext, versionId: string, taskTypeId: string | null, relations: boolean): Promise<Dict[]> {
  const db = c.get("db");
  let query = db
    .selectFrom("production_schedule_version_task_link")
    .selectAll("production_schedule_version_task_link")
    .where("production_schedule_version_task_link.production_schedule_version_id", "=", versionId);
  if (taskTypeId) {
    query = query
      .innerJoin("task", "task.id", "production_schedule_version_task_link.task_id")
      .where("task.task_type_id", "=", taskTypeId);
  }
  const rows = (await query.execute()) as Row[];
  const links = relations ? await loadRelations(db, "production_schedule_version_task_link", rows.map((r) => r.id)) : null;
  return rows.map((row) => ({ ...serialize("production_schedule_version_task_link", row), ...(links?.get(row.id) ?? {}) }));
}

interface TaskLinkSource {
  task_id: string;
  start_date: string | null;
  due_date: string | null;
  estimation: number | null;
  assignees: string[];
}

/** Creates or refreshes the version's links for the given sources (dates, estimation, assignees). */
async function upsertTaskLinks(db: Db, versionId: string, sources: TaskLinkSource[]): Promise<number> {
  const existing = new Map<string, string>();
  for (const ids of chunks(sources.map((s) => s.task_id))) {
    const rows = await db
      .selectFrom("production_schedule_version_task_link")
      .select(["id", "task_id"])
      .where("production_schedule_version_id", "=", versionId)
      .where("task_id", "in", ids)
      .execute();
    for (const row of rows) existing.set(row.task_id, row.id);
  }
  const now = utcNow();
  const linkIds: string[] = [];
  const personLinks: { production_schedule_version_task_link_id: string; person_id: string }[] = [];
  for (const source of sources) {
    const values = { start_date: source.start_date, due_date: source.due_date, estimation: source.estimation ?? 0 };
    let id = existing.get(source.task_id);
    if (id) {
      await db.updateTable("production_schedule_version_task_link").set({ ...values, updated_at: now }).where("id", "=", id).execute();
    } else {
      id = newId();
      await db
        .insertInto("production_schedule_version_task_link")
        .values({ id, created_at: now, updated_at: now, production_schedule_version_id: versionId, task_id: source.task_id, ...values })
        .execute();
    }
    linkIds.push(id);
    for (const person of source.assignees) personLinks.push({ production_schedule_version_task_link_id: id, person_id: person });
  }
  for (const ids of chunks(linkIds)) {
    await db.deleteFrom("production_schedule_version_task_link_person_link").where("production_schedule_version_task_link_id", "in", ids).execute();
  }
  for (const rows of chunks(personLinks, 200)) await db.insertInto("production_schedule_version_task_link_person_link").values(rows).execute();
  return sources.length;
}

/** Fills a version's task links from the current dates, estimations and assignees of the project tasks. */
export async function setTaskLinksFromProduction(c: AppContext, version: Row): Promise<Dict> {
  const db = c.get("db");
  const tasks = await db.selectFrom("task").select(["id", "start_date", "due_date", "estimation"]).where("project_id", "=", version.project_id).execute();
  const assignees = new Map<string, string[]>();
  for (const ids of chunks(tasks.map((t) => t.id))) {
    for (const link of await db.selectFrom("task_person_link").select(["task_id", "person_id"]).where("task_id", "in", ids).execute()) {
      assignees.set(link.task_id, [...(assignees.get(link.task_id) ?? []), link.person_id]);
    }
  }
  const count = await upsertTaskLinks(
    db,
    version.id,
    tasks.map((t) => ({ task_id: t.id, start_date: t.start_date, due_date: t.due_date, estimation: t.estimation, assignees: assignees.get(t.id) ?? [] })),
  );
  return { success: true, task_link_count: count };
}

/** Copies another version's task links (and assignees) into this one. */
export async function setTaskLinksFromVersion(c: AppContext, version: Row, other: Row): Promise<Dict> {
  if (version.id === other.id) throw badRequest("A production schedule version cannot be copied onto itself.");
  if (version.project_id !== other.project_id) throw badRequest("Production schedule versions must belong to the same project.");
  const db = c.get("db");
  const links = await db
    .selectFrom("production_schedule_version_task_link")
    .select(["id", "task_id", "start_date", "due_date", "estimation"])
    .where("production_schedule_version_id", "=", other.id)
    .execute();
  const persons = await loadRelations(db, "production_schedule_version_task_link", links.map((l) => l.id));
  const count = await upsertTaskLinks(
    db,
    version.id,
    links.map((l) => ({ task_id: l.task_id, start_date: l.start_date, due_date: l.due_date, estimation: l.estimation, assignees: persons.get(l.id)?.assignees ?? [] })),
  );
  await db.updateTable("production_schedule_version").set({ production_schedule_from: other.id, updated_at: utcNow() }).where("id", "=", version.id).execute();
  await emit(c, "production_schedule_version:update", { production_schedule_version_id: version.id }, version.project_id);
  return { success: true, task_link_count: count };
}

/** Writes a version's dates and estimations onto the tasks, locks it and records it on the project. */
export async function applyScheduleVersion(c: AppContext, version: Row): Promise<Dict> {
  const db = c.get("db");
  const links = await db
    .selectFrom("production_schedule_version_task_link")
    .innerJoin("task", "task.id", "production_schedule_version_task_link.task_id")
    .select([
      "production_schedule_version_task_link.task_id",
      "production_schedule_version_task_link.start_date",
      "production_schedule_version_task_link.due_date",
      "production_schedule_version_task_link.estimation",
      "task.project_id",
    ])
    .where("production_schedule_version_task_link.production_schedule_version_id", "=", version.id)
    .execute();
  const now = utcNow();
  for (const link of links) {
    await db
      .updateTable("task")
      .set({ start_date: link.start_date, due_date: link.due_date, estimation: link.estimation, updated_at: now })
      .where("id", "=", link.task_id)
      .execute();
    await emit(c, "task:update", { task_id: link.task_id }, link.project_id);
  }
  await db.updateTable("production_schedule_version").set({ locked: true, updated_at: now }).where("id", "=", version.id).execute();
  await emit(c, "production_schedule_version:update", { production_schedule_version_id: version.id }, version.project_id);
  await db.updateTable("project").set({ from_schedule_version_id: version.id, updated_at: now }).where("id", "=", version.project_id).execute();
  await emitProjectUpdate(c, version.project_id);
  return { success: true, task_count: links.length };
}

/** Clears the references to a version before it is deleted (copies made from it, projects applied from it). */
export async function detachScheduleVersion(c: AppContext, version: Row): Promise<void> {
  const db = c.get("db");
  await db.updateTable("production_schedule_version").set({ production_schedule_from: null }).where("production_schedule_from", "=", version.id).execute();
  const projects = await db.selectFrom("project").select("id").where("from_schedule_version_id", "=", version.id).execute();
  for (const project of projects) {
    await db.updateTable("project").set({ from_schedule_version_id: null, updated_at: utcNow() }).where("id", "=", project.id).execute();
    await emitProjectUpdate(c, project.id);
  }
}
