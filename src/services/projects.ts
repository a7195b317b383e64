/**
 * Projects: the project objects Kitsu reads (relations, descriptors, links, first episode),
 * workflow settings, templates on creation and the full removal of a project's data. The other
 * concerns live in their own modules, re-exported at the end so `projects.x` keeps working:
 * project-base (rows, statuses, events), metadata-descriptors, project-team, schedules, budgets,
 * project-time-spents.
 */
import { sql } from "kysely";
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import { serialize } from "../db/serialize";
import { TABLES, type TableName } from "../db/tables.generated";
import { loadRelations } from "../db/rows";
import { transact } from "../db/transaction";
import { emitEvent } from "../lib/events";
import { badRequest, notFound } from "../lib/errors";
import { chunks } from "../lib/chunks";
import { isUuid, newId, normalizeId, utcNow } from "../lib/ids";
import { isAdmin } from "./permissions";
import { ascNullsLast } from "../db/order";
import { type Dict, type Row, emit, emitProjectUpdate, entityTypeId, openStatusId, projectDict, slugify, touchProject, existingIds } from "./project-base";
import { type DescriptorVisibility, createDescriptor, descriptorVisibilityForRole, isDescriptorVisible, descriptorsOf, embeddedDescriptor, rolesByProject } from "./metadata-descriptors";

// ---------------------------------------------------------------------------------------------
// Project objects

async function statusNames(db: Db): Promise<Map<string, string>> {
  const rows = await db.selectFrom("project_status").select(["id", "name"]).execute();
  return new Map(rows.map((r) => [r.id, r.name]));
}

/** First episode of each tv show: the first running one by name, else the first by name. */
async function firstEpisodes(db: Db, projectIds: string[]): Promise<Map<string, string>> {
  const result = new Map<string, string>();
  if (projectIds.length === 0) return result;
  const episodeType = await entityTypeId(db, "Episode");
  if (!episodeType) return result;
  const fallback = new Map<string, string>();
  for (const ids of chunks(projectIds)) {
    const rows = await db
      .selectFrom("entity")
      .select(["id", "project_id", "status"])
      .where("project_id", "in", ids)
      .where("entity_type_id", "=", episodeType)
      .orderBy("project_id")
      .orderBy("name")
      .execute();
    for (const row of rows) {
      if (!fallback.has(row.project_id)) fallback.set(row.project_id, row.id);
      if (row.status === "running" && !result.has(row.project_id)) result.set(row.project_id, row.id);
    }
  }
  for (const [projectId, id] of fallback) if (!result.has(projectId)) result.set(projectId, id);
  return result;
}

/**
 * Project objects as the open-projects listing serves them (Zou `get_projects_with_extra_data`):
 * the row with its relation id lists, the metadata `descriptors` visible to the caller,
 * `task_types_priority` and `task_statuses_link`, and `first_episode_id` for tv shows. A few
 * queries for the whole list.
 */
export async function presentProjectsWithExtraData(c: AppContext, rows: Row[]): Promise<Dict[]> {
  if (rows.length === 0) return [];
  const db = c.get("db");
  const ids = rows.map((r) => r.id);
  const relations = await loadRelations(db, "project", ids);
  const roles = await rolesByProject(c, ids);
  const visibilities = new Map<string, DescriptorVisibility>();
  for (const role of new Set(roles.values())) visibilities.set(role, await descriptorVisibilityForRole(c, role));
  const descriptors = await descriptorsOf(db, ids);
  const taskTypeLinks = new Map<string, Record<string, Dict>>();
  const taskStatusLinks = new Map<string, Record<string, Dict>>();
  for (const chunk of chunks(ids)) {
    for (const link of await db.selectFrom("project_task_type_link").selectAll().where("project_id", "in", chunk).execute()) {
      const map = taskTypeLinks.get(link.project_id) ?? {};
      map[link.task_type_id] = { priority: link.priority ?? null };
      taskTypeLinks.set(link.project_id, map);
    }
    for (const link of await db.selectFrom("project_task_status_link").selectAll().where("project_id", "in", chunk).execute()) {
      const map = taskStatusLinks.get(link.project_id) ?? {};
      const dict = serialize("project_task_status_link", link as Row);
      map[link.task_status_id] = { priority: dict.priority ?? null, roles_for_board: dict.roles_for_board ?? [] };
      taskStatusLinks.set(link.project_id, map);
    }
  }
  const episodes = await firstEpisodes(db, rows.filter((r) => r.production_type === "tvshow").map((r) => r.id));
  return rows.map((row) => {
    const dict: Dict = { ...serialize("project", row), ...relations.get(row.id) };
    const visibility = visibilities.get(roles.get(row.id) ?? "user")!;
    dict.descriptors = descriptors
      .filter((d) => d.project_id === row.id && isDescriptorVisible(d, visibility))
      .map(embeddedDescriptor);
    const typeLinks = taskTypeLinks.get(row.id) ?? {};
    dict.task_types_priority = Object.fromEntries(Object.entries(typeLinks).map(([id, link]) => [id, link.priority]));
    dict.task_statuses_link = taskStatusLinks.get(row.id) ?? {};
    if (row.production_type === "tvshow" && episodes.has(row.id)) dict.first_episode_id = episodes.get(row.id);
    return dict;
  });
}

/** `GET /data/projects/{id}` (Zou `get_project_with_relations`): the row, its relation id lists and `project_status_name`. */
export async function presentProjectDetail(c: AppContext, row: Row): Promise<Dict> {
  const db = c.get("db");
  const relations = await loadRelations(db, "project", [row.id]);
  const names = await statusNames(db);
  return { ...serialize("project", row), ...relations.get(row.id), project_status_name: names.get(row.project_status_id) ?? null };
}

/** `GET /data/projects/open`: open projects (admins: all; others: the ones they belong to). */
export async function listOpenProjects(c: AppContext, name?: string): Promise<Dict[]> {
  const db = c.get("db");
  const open = await openStatusId(db);
  if (!open) return [];
  const user = c.get("user");
  let query = db.selectFrom("project").selectAll("project").where("project.project_status_id", "=", open);
  if (name !== undefined) query = query.where("project.name", "=", name);
  if (!isAdmin(user)) {
    query = query
      .innerJoin("project_person_link", "project_person_link.project_id", "project.id")
      .where("project_person_link.person_id", "=", user.id);
  }
  const rows = (await query.orderBy("project.name").execute()) as Row[];
  return presentProjectsWithExtraData(c, rows);
}

/**
 * `GET /data/projects/all`: admins get every project, each with `project_status_name` and its
 * Project-scoped descriptors; others get the plain rows of the projects they belong to (open or
 * closed), as Zou does. With `name`: a one-element list (case-insensitive match) or 404.
 */
export async function listAllProjects(c: AppContext, name?: string): Promise<Dict[]> {
  const db = c.get("db");
  const user = c.get("user");
  let query = db.selectFrom("project").selectAll("project");
  if (!isAdmin(user)) {
    query = query
      .innerJoin("project_person_link", "project_person_link.project_id", "project.id")
      .where("project_person_link.person_id", "=", user.id);
  }
  if (name !== undefined) query = query.where(sql`lower(project.name)`, "=", name.toLowerCase());
  const rows = (await query.orderBy("project.name").execute()) as Row[];
  if (name !== undefined && rows.length === 0) throw notFound();
  const picked = name !== undefined ? rows.slice(0, 1) : rows;
  if (!isAdmin(user)) return picked.map((row) => serialize("project", row));
  const names = await statusNames(db);
  const roles = await rolesByProject(c, picked.map((r) => r.id));
  const descriptors = await descriptorsOf(db, picked.map((r) => r.id), "Project");
  const visibilities = new Map<string, DescriptorVisibility>();
  for (const role of new Set(roles.values())) visibilities.set(role, await descriptorVisibilityForRole(c, role));
  const result: Dict[] = [];
  for (const row of picked) {
    const visibility = visibilities.get(roles.get(row.id) ?? user.role) ?? (await descriptorVisibilityForRole(c, user.role));
    result.push({
      ...serialize("project", row),
      project_status_name: names.get(row.project_status_id) ?? null,
      descriptors: descriptors.filter((d) => d.project_id === row.id && isDescriptorVisible(d, visibility)).map(embeddedDescriptor),
    });
  }
  return result;
}

/** Id of the first episode of a project (null when it has none). */
export async function firstEpisodeId(db: Db, projectId: string): Promise<string | null> {
  return (await firstEpisodes(db, [projectId])).get(projectId) ?? null;
}

/** The first episode of a project (creating `E01` when it has none); returns its id. */
export async function ensureFirstEpisode(c: AppContext, projectId: string): Promise<string> {
  const db = c.get("db");
  const episodeType = (await entityTypeId(db, "Episode", true))!;
  const existing = await firstEpisodes(db, [projectId]);
  if (existing.has(projectId)) return existing.get(projectId)!;
  const now = utcNow();
  const id = newId();
  await db
    .insertInto("entity")
    .values({
      id, created_at: now, updated_at: now, name: "E01", description: "", project_id: projectId, entity_type_id: episodeType,
      status: "running", created_by: c.get("user")?.id ?? null, data: JSON.stringify({}),
    } as any)
    .execute();
  await emit(c, "episode:new", { episode_id: id }, projectId);
  return id;
}

// ---------------------------------------------------------------------------------------------
// Workflow settings (task types, task statuses, asset types, automations, backgrounds)

interface SettingKind {
  relation: string;
  table: TableName;
  model: string;
}
export const SETTINGS: Record<string, SettingKind> = {
  task_types: { relation: "task_types", table: "task_type", model: "TaskType" },
  task_statuses: { relation: "task_statuses", table: "task_status", model: "TaskStatus" },
  asset_types: { relation: "asset_types", table: "entity_type", model: "EntityType" },
  status_automations: { relation: "status_automations", table: "status_automation", model: "StatusAutomation" },
  preview_background_files: { relation: "preview_background_files", table: "preview_background_file", model: "PreviewBackgroundFile" },
};

function relationOf(kind: SettingKind) {
  return TABLES.project.relations[kind.relation]!;
}

async function insertSettingLink(db: Db, kind: SettingKind, projectId: string, targetId: string, extra: Row = {}): Promise<void> {
  const relation = relationOf(kind);
  const viaDef = TABLES[relation.via as TableName];
  const row: Row = { [relation.sourceColumn]: projectId, [relation.targetColumn]: targetId, ...extra };
  if (viaDef.columns.id) {
    const now = utcNow();
    Object.assign(row, { id: newId(), created_at: now, updated_at: now });
  }
  for (const [name, column] of Object.entries(viaDef.columns)) {
    if (!(name in row) && column.default !== undefined && typeof column.default === "object") row[name] = JSON.stringify(column.default);
  }
  await db.insertInto(relation.via as TableName).values(row as any).execute();
}

async function linkedIds(db: Db, kind: SettingKind, projectId: string): Promise<Set<string>> {
  const relation = relationOf(kind);
  const rows = (await db
    .selectFrom(relation.via as TableName)
    .select(`${relation.targetColumn} as target` as any)
    .where(relation.sourceColumn as any, "=", projectId)
    .execute()) as { target: string }[];
  return new Set(rows.map((r) => r.target));
}

/** Adds one row to a settings list (no-op when already there); 400 for an unknown row. */
export async function addSetting(c: AppContext, projectId: string, kindName: keyof typeof SETTINGS, rawId: unknown, extra: Row = {}): Promise<Dict> {
  const kind = SETTINGS[kindName]!;
  const db = c.get("db");
  const target = isUuid(rawId)
    ? await db.selectFrom(kind.table).select("id").where("id", "=", normalizeId(rawId)).executeTakeFirst()
    : undefined;
  if (!target) throw badRequest(`${kind.model} with id ${String(rawId)} not found`);
  const linked = await linkedIds(db, kind, projectId);
  if (!linked.has(target.id)) {
    await insertSettingLink(db, kind, projectId, target.id, extra);
    await touchProject(c, projectId);
    await emitProjectUpdate(c, projectId);
  }
  return projectDict(c, projectId);
}

/** Removes one row from a settings list (no-op when absent). */
export async function removeSetting(c: AppContext, projectId: string, kindName: keyof typeof SETTINGS, rawId: string): Promise<void> {
  const relation = relationOf(SETTINGS[kindName]!);
  if (isUuid(rawId)) {
    await c
      .get("db")
      .deleteFrom(relation.via as TableName)
      .where(relation.sourceColumn as any, "=", projectId)
      .where(relation.targetColumn as any, "=", normalizeId(rawId))
      .execute();
  }
  await touchProject(c, projectId);
  await emitProjectUpdate(c, projectId);
}

/** Rows of a settings list, serialized. */
export async function listSetting(c: AppContext, projectId: string, kindName: keyof typeof SETTINGS): Promise<Dict[]> {
  const kind = SETTINGS[kindName]!;
  const relation = relationOf(kind);
  const rows = (await c
    .get("db")
    .selectFrom(kind.table)
    .innerJoin(relation.via as TableName, `${relation.via}.${relation.targetColumn}` as any, `${kind.table}.id` as any)
    .selectAll(kind.table)
    .where(`${relation.via}.${relation.sourceColumn}` as any, "=", projectId)
    .orderBy(`${kind.table}.${TABLES[kind.table].columns.name ? "name" : "created_at"}` as any)
    .execute()) as Row[];
  return rows.map((row) => serialize(kind.table, row));
}

export interface SettingsBatch {
  task_types: { task_type_id: string; priority?: number | null }[];
  task_status_ids: string[];
  asset_type_ids: string[];
  replace_task_types: boolean;
}

/** `settings/batch`: several task types (with priority), statuses and asset types; unknown ids skipped. */
export async function updateProjectSettings(c: AppContext, projectId: string, batch: SettingsBatch): Promise<Dict> {
  const db = c.get("db");
  const wanted = new Map<string, number | null>();
  for (const entry of batch.task_types) if (isUuid(entry.task_type_id)) wanted.set(normalizeId(entry.task_type_id), entry.priority ?? null);
  const existing = new Map(
    (await db.selectFrom("project_task_type_link").selectAll().where("project_id", "=", projectId).execute()).map((l) => [l.task_type_id, l]),
  );
  const knownTypes = await existingIds(db, "task_type", [...wanted.keys()]);
  for (const [taskTypeId, priority] of wanted) {
    const link = existing.get(taskTypeId);
    if (!link) {
      if (knownTypes.has(taskTypeId)) await insertSettingLink(db, SETTINGS.task_types!, projectId, taskTypeId, { priority });
    } else if (priority !== null && link.priority !== priority) {
      await db.updateTable("project_task_type_link").set({ priority, updated_at: utcNow() }).where("id", "=", link.id).execute();
    }
  }
  if (batch.replace_task_types) {
    const removed = [...existing.keys()].filter((id) => !wanted.has(id));
    for (const ids of chunks(removed)) {
      await db.deleteFrom("project_task_type_link").where("project_id", "=", projectId).where("task_type_id", "in", ids).execute();
    }
  }
  for (const [kindName, rawIds] of [["task_statuses", batch.task_status_ids], ["asset_types", batch.asset_type_ids]] as const) {
    const kind = SETTINGS[kindName]!;
    const linked = await linkedIds(db, kind, projectId);
    const ids = [...new Set(rawIds.filter(isUuid).map(normalizeId))];
    const known = await existingIds(db, kind.table, ids);
    for (const id of ids) {
      if (known.has(id) && !linked.has(id)) {
        await insertSettingLink(db, kind, projectId, id);
        linked.add(id);
      }
    }
  }
  await touchProject(c, projectId);
  await emitProjectUpdate(c, projectId);
  return projectDict(c, projectId);
}


/** Task types enabled on a project, ordered by their link priority then name. */
export async function projectTaskTypes(c: AppContext, projectId: string): Promise<Dict[]> {
  const rows = (await c
    .get("db")
    .selectFrom("task_type")
    .innerJoin("project_task_type_link", "project_task_type_link.task_type_id", "task_type.id")
    .selectAll("task_type")
    .where("project_task_type_link.project_id", "=", projectId)
    .orderBy("project_task_type_link.priority", ascNullsLast)
    .orderBy("task_type.name")
    .execute()) as Row[];
  return rows.map((row) => serialize("task_type", row));
}

// ---------------------------------------------------------------------------------------------
// Templates (applied on creation through `project_template_id`)

const TEMPLATE_SETTINGS = [
  "fps", "ratio", "resolution", "production_type", "production_style", "max_retakes", "is_clients_isolated",
  "is_preview_download_allowed", "is_set_preview_automated", "is_publish_default_for_artists",
  "is_single_preview_per_revision", "is_frame_in_numbering", "revision_padding", "homepage",
  "hd_bitrate_compression", "ld_bitrate_compression", "file_tree", "data", "default_preview_background_file_id",
];

/**
 * Copies a template's workflow (task types with priority, statuses with board roles, asset
 * types, automations, backgrounds, metadata descriptors) onto a project; the template's settings
 * fill the project fields not given in `keep` (the creation body).
 */
export async function applyTemplate(c: AppContext, projectId: string, templateId: string, keep: Dict = {}): Promise<void> {
  const db = c.get("db");
  const template = (await db.selectFrom("project_template").selectAll().where("id", "=", templateId).executeTakeFirst()) as Row | undefined;
  if (!template) throw badRequest(`ProjectTemplate with id ${templateId} not found`);
  const settings: Row = {};
  for (const key of TEMPLATE_SETTINGS) {
    if (key in template && (keep[key] === undefined || keep[key] === null)) settings[key] = template[key];
  }
  if (Object.keys(settings).length) await db.updateTable("project").set(settings).where("id", "=", projectId).execute();
  const taskTypes = await db.selectFrom("project_template_task_type_link").selectAll().where("project_template_id", "=", templateId).execute();
  const linkedTypes = await linkedIds(db, SETTINGS.task_types!, projectId);
  for (const link of taskTypes) {
    if (!linkedTypes.has(link.task_type_id)) await insertSettingLink(db, SETTINGS.task_types!, projectId, link.task_type_id, { priority: link.priority });
  }
  const statuses = await db.selectFrom("project_template_task_status_link").selectAll().where("project_template_id", "=", templateId).execute();
  const linkedStatuses = await linkedIds(db, SETTINGS.task_statuses!, projectId);
  for (const link of statuses) {
    if (!linkedStatuses.has(link.task_status_id)) {
      await insertSettingLink(db, SETTINGS.task_statuses!, projectId, link.task_status_id, { priority: link.priority, roles_for_board: link.roles_for_board });
    }
  }
  const plain: [keyof typeof SETTINGS, TableName, string][] = [
    ["asset_types", "project_template_asset_type_link", "asset_type_id"],
    ["status_automations", "project_template_status_automation_link", "status_automation_id"],
    ["preview_background_files", "project_template_preview_background_file_link", "preview_background_file_id"],
  ];
  for (const [kindName, table, column] of plain) {
    const rows = (await db.selectFrom(table).select(`${column} as target` as any).where("project_template_id" as any, "=", templateId).execute()) as { target: string }[];
    const linked = await linkedIds(db, SETTINGS[kindName]!, projectId);
    for (const row of rows) if (!linked.has(row.target)) await insertSettingLink(db, SETTINGS[kindName]!, projectId, row.target);
  }
  const snapshots = serialize("project_template", template).metadata_descriptors;
  if (Array.isArray(snapshots)) {
    for (const snapshot of snapshots as Row[]) {
      if (!snapshot || typeof snapshot.name !== "string" || typeof snapshot.entity_type !== "string") continue;
      const exists = await db
        .selectFrom("metadata_descriptor")
        .select("id")
        .where("project_id", "=", projectId)
        .where("entity_type", "=", snapshot.entity_type)
        .where("field_name", "=", slugify(snapshot.name))
        .executeTakeFirst();
      if (exists) continue;
      await createDescriptor(c, projectId, {
        entity_type: snapshot.entity_type, name: snapshot.name, data_type: snapshot.data_type ?? "string",
        choices: Array.isArray(snapshot.choices) ? snapshot.choices : [], for_client: Boolean(snapshot.for_client),
        departments: Array.isArray(snapshot.departments) ? snapshot.departments : [], task_type_id: null,
      });
    }
  }
  await emitProjectUpdate(c, projectId);
}

// ---------------------------------------------------------------------------------------------
// Removing everything a project owns (DELETE /data/projects/<id>?force=true)

interface Edge {
  table: TableName;
  column: string;
  notNull: boolean;
}

/** Incoming foreign keys per target table, from the schema metadata. */
function incomingEdges(): Map<string, Edge[]> {
  const map = new Map<string, Edge[]>();
  for (const [table, def] of Object.entries(TABLES)) {
    for (const [column, col] of Object.entries(def.columns)) {
      if (!col.fk) continue;
      const target = col.fk.split(".")[0]!;
      map.set(target, [...(map.get(target) ?? []), { table: table as TableName, column, notNull: col.nullable === false }]);
    }
  }
  return map;
}

/**
 * Deletes a project and every row that depends on it (entities, tasks, comments, previews,
 * playlists, schedules, budgets, descriptors, events...), following the schema's foreign keys:
 * rows are collected transitively, nullable references between them are cleared, then tables are
 * emptied children first. Comments of its tasks and chats of its entities go too.
 */
export async function removeProjectData(db: Db, projectId: string): Promise<Map<TableName, Set<string>>> {
  const edges = incomingEdges();
  const collected = new Map<TableName, Set<string>>([["project", new Set([projectId])]]);
  const queue: [TableName, string[]][] = [["project", [projectId]]];
  const linkDeletes: { table: TableName; column: string; ids: string[] }[] = [];
  const visit = async (table: TableName, ids: string[]) => {
    for (const edge of edges.get(table) ?? []) {
      const hasId = Boolean(TABLES[edge.table].columns.id);
      if (!hasId) {
        linkDeletes.push({ table: edge.table, column: edge.column, ids });
        continue;
      }
      for (const chunk of chunks(ids)) {
        const rows = (await db.selectFrom(edge.table).select("id" as any).where(edge.column as any, "in", chunk).execute()) as { id: string }[];
        const seen = collected.get(edge.table) ?? new Set<string>();
        const fresh = rows.map((r) => r.id).filter((id) => !seen.has(id));
        for (const id of fresh) seen.add(id);
        collected.set(edge.table, seen);
        if (fresh.length) queue.push([edge.table, fresh]);
      }
    }
  };
  // References without a foreign key: comments on tasks, chats on entities.
  const softReferences: { table: TableName; column: string; target: TableName }[] = [
    { table: "comment", column: "object_id", target: "task" },
    { table: "chat", column: "object_id", target: "entity" },
  ];
  const softDone = new Map<string, Set<string>>();
  for (;;) {
    while (queue.length) {
      const [table, ids] = queue.shift()!;
      await visit(table, ids);
    }
    let grew = false;
    for (const ref of softReferences) {
      const key = `${ref.table}.${ref.column}`;
      const done = softDone.get(key) ?? new Set<string>();
      softDone.set(key, done);
      const targets = [...(collected.get(ref.target) ?? [])].filter((id) => !done.has(id));
      for (const id of targets) done.add(id);
      for (const chunk of chunks(targets)) {
        const rows = (await db.selectFrom(ref.table).select("id" as any).where(ref.column as any, "in", chunk).execute()) as { id: string }[];
        const seen = collected.get(ref.table) ?? new Set<string>();
        const fresh = rows.map((r) => r.id).filter((id) => !seen.has(id));
        for (const id of fresh) seen.add(id);
        collected.set(ref.table, seen);
        if (fresh.length) {
          queue.push([ref.table, fresh]);
          grew = true;
        }
      }
    }
    if (!grew) break;
  }
  for (const link of linkDeletes) {
    for (const chunk of chunks(link.ids)) await db.deleteFrom(link.table).where(link.column as any, "in", chunk).execute();
  }
  // Clear nullable references between collected rows, then delete children before parents.
  for (const [table, ids] of collected) {
    for (const [column, col] of Object.entries(TABLES[table].columns)) {
      if (!col.fk || col.nullable === false) continue;
      const target = col.fk.split(".")[0] as TableName;
      if (!collected.has(target)) continue;
      for (const chunk of chunks([...ids])) {
        await db.updateTable(table).set({ [column]: null } as any).where("id" as any, "in", chunk).where(column as any, "is not", null).execute();
      }
    }
  }
  const remaining = new Set(collected.keys());
  while (remaining.size) {
    const ready = [...remaining].filter(
      (table) => ![...remaining].some((other) => other !== table && Object.values(TABLES[other].columns).some((col) => col.fk?.split(".")[0] === table && col.nullable === false)),
    );
    const batch = ready.length ? ready : [...remaining];
    for (const table of batch) {
      for (const chunk of chunks([...collected.get(table)!])) await db.deleteFrom(table).where("id" as any, "in", chunk).execute();
      remaining.delete(table);
    }
  }
  return collected;
}

// Re-exports: the project services split by concern, reachable as before through this module.
export * from "./project-base";
export * from "./metadata-descriptors";
export * from "./project-team";
export * from "./schedules";
export * from "./budgets";
export * from "./project-time-spents";

/** `set-file-tree`: stores the tree on the project and emits `project:update`; the project as a dict. */
export async function setProjectFileTree(c: AppContext, projectId: string, tree: unknown): Promise<Dict> {
  const updated = await transact(c, async (db) => {
    const row = await db
      .updateTable("project")
      .set({ file_tree: JSON.stringify(tree), updated_at: utcNow() })
      .where("id", "=", projectId)
      .returningAll()
      .executeTakeFirstOrThrow();
    await emitEvent(db, c.get("events"), "project:update", { project_id: row.id }, { projectId: row.id, userId: c.get("user").id });
    return row;
  });
  return serialize("project", updated);
}
