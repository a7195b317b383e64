/**
 * Projects: loading, the project objects Kitsu reads (relations, descriptors, links, first
 * episode), team and per-project roles, workflow settings, metadata descriptors, templates on
 * creation and the full removal of a project's data.
 */
import { sql } from "kysely";
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import { serialize } from "../db/serialize";
import { TABLES, type TableName } from "../db/tables.generated";
import { loadRelations, loadServiceRow } from "../crud/engine";
import { badRequest, forbidden, notFound } from "../lib/errors";
import { emitEvent } from "../lib/events";
import { chunks } from "../lib/chunks";
import { RESERVED_ENTITY_TYPES } from "../lib/entity-kinds";
import { isUuid, newId, normalizeId, serviceId, utcNow } from "../lib/ids";
import { effectiveRole, isAdmin, projectLink, type Role, userDepartmentIds } from "./permissions";
import { ascNullsLast } from "../db/order";
import { departmentIdsByPerson, presentPerson } from "./persons";

export type Row = Record<string, any>;
export type Dict = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Small shared helpers

/** python-slugify's rule as Zou uses it for descriptor field names. */
export function slugify(text: string, separator = "_"): string {
  const escaped = separator.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&");
  return text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/['"]+/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, separator)
    .replace(new RegExp(`^(${escaped})+|(${escaped})+$`, "g"), "");
}

export function emitOptions(c: AppContext, projectId: string | null) {
  return { projectId, userId: c.get("user")?.id ?? null };
}

export async function emit(c: AppContext, name: string, data: Dict, projectId: string | null): Promise<void> {
  await emitEvent(c.get("db"), c.get("events"), name, data, emitOptions(c, projectId));
}

/** `project:update` with an empty payload, as every settings/team change emits. */
export async function emitProjectUpdate(c: AppContext, projectId: string): Promise<void> {
  await emit(c, "project:update", {}, projectId);
}

// ---------------------------------------------------------------------------------------------
// Project rows and statuses

/** Loads a project by a path id: malformed or unknown ids are the same 404. */
export function getProjectOr404(c: AppContext, rawId: string | undefined): Promise<Row> {
  return loadServiceRow(c.get("db"), "project", rawId);
}

/** The project status of that name, created (color #000000) when missing. */
export async function getOrCreateProjectStatusId(db: Db, name: "Open" | "Closed"): Promise<string> {
  const found = await db.selectFrom("project_status").select("id").where("name", "=", name).executeTakeFirst();
  if (found) return found.id;
  const now = utcNow();
  const id = newId();
  await db.insertInto("project_status").values({ id, created_at: now, updated_at: now, name, color: "#000000" }).execute();
  return id;
}

/** Id of the Open status, without creating it (null when absent). */
async function openStatusId(db: Db): Promise<string | null> {
  const found = await db.selectFrom("project_status").select("id").where("name", "=", "Open").executeTakeFirst();
  return found?.id ?? null;
}

export async function isProjectOpen(db: Db, project: Row): Promise<boolean> {
  const open = await openStatusId(db);
  return open !== null && project.project_status_id === open;
}

/** Ids of every open project. */
export async function openProjectIds(db: Db): Promise<string[]> {
  const open = await openStatusId(db);
  if (!open) return [];
  const rows = await db.selectFrom("project").select("id").where("project_status_id", "=", open).execute();
  return rows.map((r) => r.id);
}

// ---------------------------------------------------------------------------------------------
// Entity types

/** Id of a reserved entity type (Shot, Episode...), created on demand when `create` is set. */
export async function entityTypeId(db: Db, name: string, create = false): Promise<string | null> {
  const found = await db.selectFrom("entity_type").select("id").where("name", "=", name).executeTakeFirst();
  if (found) return found.id;
  if (!create) return null;
  const now = utcNow();
  const id = newId();
  await db.insertInto("entity_type").values({ id, created_at: now, updated_at: now, name }).execute();
  return id;
}

/** Map of reserved type name -> id for those that exist. */
export async function reservedEntityTypeIds(db: Db): Promise<Map<string, string>> {
  const rows = await db.selectFrom("entity_type").select(["id", "name"]).where("name", "in", RESERVED_ENTITY_TYPES).execute();
  return new Map(rows.map((r) => [r.name, r.id]));
}

// ---------------------------------------------------------------------------------------------
// Metadata descriptor visibility (client: for_client only; vendor: their departments or none)

export interface DescriptorVisibility {
  forClient: boolean;
  vendorDepartments: string[] | null;
}

export async function descriptorVisibilityForRole(c: AppContext, role: string): Promise<DescriptorVisibility> {
  if (role === "client") return { forClient: true, vendorDepartments: null };
  if (role === "vendor") return { forClient: false, vendorDepartments: await userDepartmentIds(c) };
  return { forClient: false, vendorDepartments: null };
}

export function isDescriptorVisible(descriptor: { for_client?: unknown; departments: string[] }, visibility: DescriptorVisibility): boolean {
  if (visibility.forClient) return Boolean(descriptor.for_client);
  if (visibility.vendorDepartments) {
    return descriptor.departments.length === 0 || descriptor.departments.some((d) => visibility.vendorDepartments!.includes(d));
  }
  return true;
}

/** The caller's effective role on each project (link roles read in one query). */
async function rolesByProject(c: AppContext, projectIds: string[]): Promise<Map<string, string>> {
  const user = c.get("user");
  const roles = new Map<string, string>();
  for (const id of projectIds) roles.set(id, user.role);
  if (isAdmin(user) || projectIds.length === 0) return roles;
  const links = await c.get("db").selectFrom("project_person_link").select(["project_id", "role"]).where("person_id", "=", user.id).execute();
  for (const link of links) if (link.role && link.role !== "admin" && roles.has(link.project_id)) roles.set(link.project_id, link.role);
  return roles;
}

/** Descriptor rows (with department ids) of projects, ordered by position then name. */
async function descriptorsOf(db: Db, projectIds: string[], entityType?: string): Promise<(Row & { departments: string[] })[]> {
  const result: (Row & { departments: string[] })[] = [];
  for (const ids of chunks(projectIds)) {
    let query = db.selectFrom("metadata_descriptor").selectAll().where("project_id", "in", ids);
    if (entityType) query = query.where("entity_type", "=", entityType);
    const rows = (await query.execute()) as Row[];
    const links = rows.length
      ? await db
          .selectFrom("department_metadata_descriptor_link")
          .select(["metadata_descriptor_id", "department_id"])
          .where("metadata_descriptor_id", "in", rows.map((r) => r.id))
          .execute()
      : [];
    const byDescriptor = new Map<string, string[]>();
    for (const link of links) byDescriptor.set(link.metadata_descriptor_id, [...(byDescriptor.get(link.metadata_descriptor_id) ?? []), link.department_id]);
    for (const row of rows) result.push({ ...row, departments: byDescriptor.get(row.id) ?? [] });
  }
  return result.sort(compareDescriptors);
}

function compareDescriptors(a: Row, b: Row): number {
  const pa = a.position ?? Number.MAX_SAFE_INTEGER;
  const pb = b.position ?? Number.MAX_SAFE_INTEGER;
  if (pa !== pb) return pa - pb;
  return String(a.name).localeCompare(String(b.name));
}

/** A descriptor as the CRUD and project routes return it (relations: departments). */
export function presentDescriptor(row: Row & { departments: string[] }): Dict {
  const { departments, ...columns } = row;
  return { ...serialize("metadata_descriptor", columns), departments };
}

/** The compact descriptor embedded in project objects. */
function embeddedDescriptor(row: Row & { departments: string[] }): Dict {
  const dict = serialize("metadata_descriptor", row);
  return {
    id: dict.id,
    name: dict.name,
    field_name: dict.field_name,
    data_type: dict.data_type,
    choices: dict.choices,
    for_client: dict.for_client ?? false,
    entity_type: dict.entity_type,
    task_type_id: dict.task_type_id,
    position: dict.position,
    departments: row.departments,
  };
}

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
 * Project objects as the open-projects listing serves them: the row with its relation id lists,
 * `project_status_name`, the metadata `descriptors` visible to the caller, task type and task
 * status links, and `first_episode_id` for tv shows. A few queries for the whole list.
 */
export async function presentProjectsWithExtraData(c: AppContext, rows: Row[]): Promise<Dict[]> {
  if (rows.length === 0) return [];
  const db = c.get("db");
  const ids = rows.map((r) => r.id);
  const relations = await loadRelations(db, "project", ids);
  const names = await statusNames(db);
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
    dict.project_status_name = names.get(row.project_status_id) ?? null;
    const visibility = visibilities.get(roles.get(row.id) ?? "user")!;
    dict.descriptors = descriptors
      .filter((d) => d.project_id === row.id && isDescriptorVisible(d, visibility))
      .map(embeddedDescriptor);
    const typeLinks = taskTypeLinks.get(row.id) ?? {};
    dict.task_type_links = typeLinks;
    dict.task_types_priority = Object.fromEntries(Object.entries(typeLinks).map(([id, link]) => [id, link.priority]));
    dict.task_statuses_link = taskStatusLinks.get(row.id) ?? {};
    if (row.production_type === "tvshow" && episodes.has(row.id)) dict.first_episode_id = episodes.get(row.id);
    return dict;
  });
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
 * `GET /data/projects/all`: admins get every project, others the ones they belong to (open or
 * closed); each with `project_status_name` and its Project-scoped descriptors. With `name`: a
 * one-element list (case-insensitive match) or 404.
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
      id, created_at: now, updated_at: now, name: "E01", project_id: projectId, entity_type_id: episodeType,
      status: "running", created_by: c.get("user")?.id ?? null, data: JSON.stringify({}),
    } as any)
    .execute();
  await emit(c, "episode:new", { episode_id: id }, projectId);
  return id;
}

// ---------------------------------------------------------------------------------------------
// Team

const LINK_ROLES = ["user", "supervisor", "manager", "client", "vendor"];

function checkLinkRole(role: unknown): string | null {
  if (role === null || role === undefined) return null;
  if (role === "admin") throw badRequest("admin is a global role and cannot be set per project");
  if (typeof role !== "string" || !LINK_ROLES.includes(role)) throw badRequest(`${String(role)} is not a role`);
  return role;
}

/** `GET /data/projects/<id>/team`: members with `project_role` (full fields for managers). */
export async function listTeam(c: AppContext, projectId: string, role: Role): Promise<Dict[]> {
  const db = c.get("db");
  const links = await db.selectFrom("project_person_link").select(["person_id", "role"]).where("project_id", "=", projectId).execute();
  const roleMap = new Map(links.map((l) => [l.person_id, l.role ?? null]));
  const ids = links.map((l) => l.person_id);
  const persons: Row[] = [];
  for (const chunk of chunks(ids)) persons.push(...((await db.selectFrom("person").selectAll().where("id", "in", chunk).execute()) as Row[]));
  const departments = await departmentIdsByPerson(db, ids);
  const full = role === "admin" || role === "manager";
  return persons
    .sort((a, b) => `${a.first_name} ${a.last_name}`.localeCompare(`${b.first_name} ${b.last_name}`))
    .map((person) => ({ ...presentPerson(c, person, full ? "full" : "minimal", departments.get(person.id) ?? []), project_role: roleMap.get(person.id) ?? null }));
}

/** Adds a person to the team (optionally with a project role); returns the project dict. */
export async function addTeamMember(c: AppContext, project: Row, personId: unknown, role: unknown): Promise<Dict> {
  const linkRole = checkLinkRole(role);
  if (!isUuid(personId)) throw badRequest(`Person with id ${String(personId)} not found`);
  const db = c.get("db");
  const person = await db.selectFrom("person").select("id").where("id", "=", normalizeId(personId)).executeTakeFirst();
  if (!person) throw badRequest(`Person with id ${String(personId)} not found`);
  const existing = await db
    .selectFrom("project_person_link")
    .select("person_id")
    .where("project_id", "=", project.id)
    .where("person_id", "=", person.id)
    .executeTakeFirst();
  if (!existing) {
    await db.insertInto("project_person_link").values({ project_id: project.id, person_id: person.id, role: linkRole } as any).execute();
  } else if (linkRole !== null) {
    await db.updateTable("project_person_link").set({ role: linkRole }).where("project_id", "=", project.id).where("person_id", "=", person.id).execute();
  }
  await touchProject(c, project.id);
  await emitProjectUpdate(c, project.id);
  return projectDict(c, project.id);
}

export async function removeTeamMember(c: AppContext, projectId: string, personId: string): Promise<void> {
  const db = c.get("db");
  if (isUuid(personId)) {
    await db.deleteFrom("project_person_link").where("project_id", "=", projectId).where("person_id", "=", normalizeId(personId)).execute();
  }
  await touchProject(c, projectId);
  await emitProjectUpdate(c, projectId);
}

export async function updateTeamMemberRole(c: AppContext, projectId: string, personId: string, role: unknown): Promise<Dict> {
  const linkRole = checkLinkRole(role);
  const db = c.get("db");
  const link = isUuid(personId)
    ? await db.selectFrom("project_person_link").select("person_id").where("project_id", "=", projectId).where("person_id", "=", normalizeId(personId)).executeTakeFirst()
    : undefined;
  if (!link) throw badRequest("Person is not a member of the project team");
  await db.updateTable("project_person_link").set({ role: linkRole }).where("project_id", "=", projectId).where("person_id", "=", link.person_id).execute();
  await emitProjectUpdate(c, projectId);
  return { project_id: projectId, person_id: link.person_id, role: linkRole };
}

/** The project's plain dict (no relations), re-read. */
export async function projectDict(c: AppContext, projectId: string): Promise<Dict> {
  const row = await c.get("db").selectFrom("project").selectAll().where("id", "=", projectId).executeTakeFirstOrThrow();
  return serialize("project", row as Row);
}

async function touchProject(c: AppContext, projectId: string): Promise<void> {
  await c.get("db").updateTable("project").set({ updated_at: utcNow() }).where("id", "=", projectId).execute();
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

async function existingIds(db: Db, table: TableName, ids: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const chunk of chunks(ids)) {
    const rows = (await db.selectFrom(table).select("id" as any).where("id" as any, "in", chunk).execute()) as { id: string }[];
    for (const row of rows) found.add(row.id);
  }
  return found;
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
// Metadata descriptors

export const DESCRIPTOR_DATA_TYPES = TABLES.metadata_descriptor.columns.data_type!.values ?? [];
export const DESCRIPTOR_ENTITY_TYPES = ["Asset", "Shot", "Edit", "Episode", "Sequence", "Project", "Task"];
export const ALL_PROJECTS_ENTITY_TYPES = ["Asset", "Shot", "Edit", "Episode", "Sequence", "Project"];
const DESCRIPTOR_NAME_LENGTH = TABLES.metadata_descriptor.columns.name!.length ?? 120;

export function checkDescriptorEntityType(entityType: unknown, allProjects = false): string {
  const allowed = allProjects ? ALL_PROJECTS_ENTITY_TYPES : DESCRIPTOR_ENTITY_TYPES;
  if (typeof entityType !== "string" || !allowed.includes(entityType)) {
    throw badRequest(
      allProjects
        ? "Wrong entity type. Please select Asset, Shot, Sequence, Episode, Edit, or Project."
        : "Wrong entity type. Please select Asset, Shot, Sequence, Episode, Edit, Project, or Task.",
    );
  }
  return entityType;
}

export function checkDataType(dataType: unknown): string {
  if (typeof dataType !== "string" || !DESCRIPTOR_DATA_TYPES.includes(dataType)) throw badRequest("Invalid data_type");
  return dataType;
}

/** `check_all_departments_access`: admin, manager member, or supervisor member covering the departments. */
export async function checkAllDepartmentsAccess(c: AppContext, projectId: string, departments: string[]): Promise<void> {
  const user = c.get("user");
  if (isAdmin(user)) return;
  const link = await projectLink(c, projectId);
  if (link === undefined) throw forbidden();
  const role = await effectiveRole(c, projectId);
  if (role === "manager") return;
  if (role === "supervisor" && departments.length > 0) {
    const own = await userDepartmentIds(c);
    if (own.length === 0 || own.every((d) => departments.includes(d))) return;
  }
  throw forbidden();
}

async function checkDepartments(db: Db, departments: unknown[]): Promise<string[]> {
  const ids = departments.filter((d) => d !== null && d !== undefined);
  for (const id of ids) if (!isUuid(id)) throw badRequest(`Department ${String(id)} not found`);
  const normalized = [...new Set(ids.map((d) => normalizeId(d as string)))];
  const known = await existingIds(db, "department", normalized);
  for (const id of normalized) if (!known.has(id)) throw badRequest(`Department ${id} not found`);
  return normalized;
}

async function setDescriptorDepartments(db: Db, descriptorId: string, departments: string[]): Promise<void> {
  await db.deleteFrom("department_metadata_descriptor_link").where("metadata_descriptor_id", "=", descriptorId).execute();
  if (departments.length === 0) return;
  await db
    .insertInto("department_metadata_descriptor_link")
    .values(departments.map((department_id) => ({ metadata_descriptor_id: descriptorId, department_id })))
    .execute();
}

export async function getDescriptorOr404(c: AppContext, projectId: string, rawId: string): Promise<Row & { departments: string[] }> {
  const id = serviceId(rawId);
  const row = await c.get("db").selectFrom("metadata_descriptor").selectAll().where("id", "=", id).executeTakeFirst();
  if (!row || row.project_id !== projectId) throw notFound();
  const links = await c.get("db").selectFrom("department_metadata_descriptor_link").select("department_id").where("metadata_descriptor_id", "=", id).execute();
  return { ...(row as Row), departments: links.map((l) => l.department_id) };
}

/** Descriptors of a project visible to the caller, ordered by position then name. */
export async function listDescriptors(c: AppContext, projectId: string, role: string): Promise<Dict[]> {
  const visibility = await descriptorVisibilityForRole(c, role);
  const rows = await descriptorsOf(c.get("db"), [projectId]);
  return rows.filter((row) => isDescriptorVisible(row, visibility)).map(presentDescriptor);
}

export interface DescriptorInput {
  entity_type: string;
  name: string;
  data_type: string;
  choices: unknown[];
  for_client: boolean;
  departments: unknown[];
  task_type_id?: string | null;
}

/** Creates a descriptor (400 when one with the same name or field name exists). */
export async function createDescriptor(c: AppContext, projectId: string, input: DescriptorInput): Promise<Dict> {
  const db = c.get("db");
  const departments = await checkDepartments(db, input.departments);
  const fieldName = slugify(input.name);
  if (input.name.length > DESCRIPTOR_NAME_LENGTH || fieldName.length > DESCRIPTOR_NAME_LENGTH) {
    throw badRequest("Metadata descriptor name is too long.");
  }
  await checkDescriptorClash(db, { id: null, project_id: projectId, entity_type: input.entity_type, task_type_id: input.task_type_id ?? null }, input.name, fieldName);
  const now = utcNow();
  const row = {
    id: newId(), created_at: now, updated_at: now, project_id: projectId, entity_type: input.entity_type,
    task_type_id: input.task_type_id ?? null, name: input.name, data_type: input.data_type, field_name: fieldName,
    choices: JSON.stringify(input.choices ?? []), for_client: Boolean(input.for_client),
  };
  await db.insertInto("metadata_descriptor").values(row as any).execute();
  await setDescriptorDepartments(db, row.id, departments);
  await emit(c, "metadata-descriptor:new", { metadata_descriptor_id: row.id }, projectId);
  // Zou answers a write with the descriptor row alone (no departments relation).
  return serialize("metadata_descriptor", await db.selectFrom("metadata_descriptor").selectAll().where("id", "=", row.id).executeTakeFirstOrThrow());
}

async function checkDescriptorClash(
  db: Db,
  descriptor: { id: string | null; project_id: string; entity_type: string; task_type_id: string | null },
  name: string,
  fieldName: string,
): Promise<void> {
  let query = db
    .selectFrom("metadata_descriptor")
    .select("id")
    .where("project_id", "=", descriptor.project_id)
    .where("entity_type", "=", descriptor.entity_type)
    .where((eb) => eb.or([eb("name", "=", name), eb("field_name", "=", fieldName)]));
  query = descriptor.task_type_id ? query.where("task_type_id", "=", descriptor.task_type_id) : query.where("task_type_id", "is", null);
  if (descriptor.id) query = query.where("id", "!=", descriptor.id);
  if (await query.executeTakeFirst()) throw badRequest("Metadata descriptor already exists.");
}

/** Rows (table + id + data) holding values of a descriptor: its project, tasks or entities. */
async function rowsWithDescriptorValues(db: Db, descriptor: Row): Promise<{ table: "project" | "task" | "entity"; id: string; data: Record<string, unknown> }[]> {
  const parse = (value: unknown): Record<string, unknown> | null => {
    if (value === null || value === undefined) return null;
    const parsed = typeof value === "string" ? JSON.parse(value) : value;
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  };
  const keep = (table: "project" | "task" | "entity", rows: { id: string; data: unknown }[]) =>
    rows
      .map((r) => ({ table, id: r.id, data: parse(r.data) }))
      .filter((r): r is { table: typeof table; id: string; data: Record<string, unknown> } => r.data !== null && descriptor.field_name in r.data);
  if (descriptor.entity_type === "Project") {
    return keep("project", await db.selectFrom("project").select(["id", "data"]).where("id", "=", descriptor.project_id).execute());
  }
  if (descriptor.entity_type === "Task") {
    if (!descriptor.task_type_id) return [];
    return keep(
      "task",
      await db.selectFrom("task").select(["id", "data"]).where("project_id", "=", descriptor.project_id).where("task_type_id", "=", descriptor.task_type_id).execute(),
    );
  }
  const reserved = await reservedEntityTypeIds(db);
  let query = db.selectFrom("entity").select(["id", "data"]).where("project_id", "=", descriptor.project_id);
  if (descriptor.entity_type === "Asset") {
    const ids = [...reserved.values()];
    if (ids.length) query = query.where("entity_type_id", "not in", ids);
  } else {
    const typeId = reserved.get(descriptor.entity_type);
    if (!typeId) return [];
    query = query.where("entity_type_id", "=", typeId);
  }
  return keep("entity", await query.execute());
}

async function writeData(db: Db, table: "project" | "task" | "entity", id: string, data: Record<string, unknown>): Promise<void> {
  await db.updateTable(table).set({ data: JSON.stringify(data), updated_at: utcNow() } as any).where("id", "=", id).execute();
}

export interface DescriptorChanges {
  name?: string | null;
  for_client?: boolean;
  data_type?: string;
  choices?: unknown[];
  departments?: unknown[];
}

/** Updates a descriptor; a rename moves the stored values to the new field name. */
export async function updateDescriptor(c: AppContext, descriptor: Row, changes: DescriptorChanges): Promise<Dict> {
  const db = c.get("db");
  const values: Row = { updated_at: utcNow() };
  if (changes.for_client !== undefined) values.for_client = Boolean(changes.for_client);
  if (changes.data_type !== undefined) values.data_type = changes.data_type;
  if (changes.choices !== undefined) values.choices = JSON.stringify(changes.choices ?? []);
  let departments: string[] | null = null;
  if (changes.departments !== undefined) departments = await checkDepartments(db, changes.departments ?? []);
  if (changes.name) {
    const fieldName = slugify(changes.name);
    if (changes.name.length > DESCRIPTOR_NAME_LENGTH || fieldName.length > DESCRIPTOR_NAME_LENGTH) {
      throw badRequest("Metadata descriptor name is too long.");
    }
    await checkDescriptorClash(db, descriptor as any, changes.name, fieldName);
    if (fieldName !== descriptor.field_name) {
      for (const row of await rowsWithDescriptorValues(db, descriptor)) {
        const value = row.data[descriptor.field_name];
        delete row.data[descriptor.field_name];
        if (value !== null && value !== undefined) row.data[fieldName] = value;
        await writeData(db, row.table, row.id, row.data);
      }
    }
    values.name = changes.name;
    values.field_name = fieldName;
  }
  await db.updateTable("metadata_descriptor").set(values).where("id", "=", descriptor.id).execute();
  if (departments) await setDescriptorDepartments(db, descriptor.id, departments);
  await emit(c, "metadata-descriptor:update", { metadata_descriptor_id: descriptor.id }, descriptor.project_id);
  const updated = await db.selectFrom("metadata_descriptor").selectAll().where("id", "=", descriptor.id).executeTakeFirstOrThrow();
  return serialize("metadata_descriptor", updated as Row);
}

/** Deletes a descriptor and the values stored under its field name. */
export async function removeDescriptor(c: AppContext, descriptor: Row): Promise<void> {
  const db = c.get("db");
  for (const row of await rowsWithDescriptorValues(db, descriptor)) {
    delete row.data[descriptor.field_name];
    await writeData(db, row.table, row.id, row.data);
  }
  await db.deleteFrom("department_metadata_descriptor_link").where("metadata_descriptor_id", "=", descriptor.id).execute();
  await db.deleteFrom("metadata_descriptor").where("id", "=", descriptor.id).execute();
  await emit(c, "metadata-descriptor:delete", { metadata_descriptor_id: descriptor.id }, descriptor.project_id);
}

/** Positions 1..n for the given ids, then the others by name; returns the type's descriptors. */
export async function reorderDescriptors(c: AppContext, projectId: string, entityType: string, descriptorIds: string[]): Promise<Dict[]> {
  const db = c.get("db");
  const rows = await descriptorsOf(db, [projectId], entityType);
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const id of descriptorIds) {
    if (!byId.has(id)) throw badRequest(`Descriptor ${id} not found for project ${projectId} and entity type ${entityType}`);
  }
  const listed = new Set(descriptorIds);
  const rest = rows.filter((r) => !listed.has(r.id)).sort((a, b) => String(a.name).localeCompare(String(b.name)));
  const order = [...descriptorIds, ...rest.map((r) => r.id)];
  const now = utcNow();
  for (const [index, id] of order.entries()) {
    await db.updateTable("metadata_descriptor").set({ position: index + 1, updated_at: now }).where("id", "=", id).execute();
  }
  return (await descriptorsOf(db, [projectId], entityType)).map(presentDescriptor);
}

/** Open projects whose metadata the caller may shape everywhere: all for admins, else manager ones. */
export async function manageableOpenProjectIds(c: AppContext): Promise<string[]> {
  const db = c.get("db");
  const user = c.get("user");
  const open = await openProjectIds(db);
  if (isAdmin(user)) return open;
  const roles = await rolesByProject(c, open);
  const links = await db.selectFrom("project_person_link").select("project_id").where("person_id", "=", user.id).execute();
  const member = new Set(links.map((l) => l.project_id));
  return open.filter((id) => member.has(id) && roles.get(id) === "manager");
}

async function descriptorsByField(db: Db, projectIds: string[], entityType: string, fieldName: string): Promise<Row[]> {
  const result: Row[] = [];
  for (const ids of chunks(projectIds)) {
    result.push(
      ...((await db
        .selectFrom("metadata_descriptor")
        .selectAll()
        .where("project_id", "in", ids)
        .where("entity_type", "=", entityType)
        .where("field_name", "=", fieldName)
        .execute()) as Row[]),
    );
  }
  return result;
}

export async function addDescriptorToProjects(c: AppContext, projectIds: string[], input: DescriptorInput): Promise<Dict[]> {
  const fieldName = slugify(input.name);
  const existing = new Set((await descriptorsByField(c.get("db"), projectIds, input.entity_type, fieldName)).map((d) => d.project_id));
  const created: Dict[] = [];
  for (const projectId of projectIds) {
    if (!existing.has(projectId)) created.push(await createDescriptor(c, projectId, { ...input, task_type_id: null }));
  }
  return created;
}

export async function updateDescriptorOnProjects(c: AppContext, projectIds: string[], entityType: string, fieldName: string, changes: DescriptorChanges): Promise<Dict[]> {
  const db = c.get("db");
  const descriptors = await descriptorsByField(db, projectIds, entityType, fieldName);
  if (changes.name) {
    const newField = slugify(changes.name);
    for (const descriptor of descriptors) await checkDescriptorClash(db, descriptor as any, changes.name, newField);
  }
  const updated: Dict[] = [];
  for (const descriptor of descriptors) updated.push(await updateDescriptor(c, descriptor, { ...changes }));
  return updated;
}

export async function removeDescriptorFromProjects(c: AppContext, projectIds: string[], entityType: string, fieldName: string): Promise<string[]> {
  const descriptors = await descriptorsByField(c.get("db"), projectIds, entityType, fieldName);
  for (const descriptor of descriptors) await removeDescriptor(c, descriptor);
  return descriptors.map((d) => d.id);
}

export async function reorderDescriptorsOnProjects(c: AppContext, projectIds: string[], entityType: string, fieldOrder: string[]): Promise<Dict[]> {
  const db = c.get("db");
  const updated: Dict[] = [];
  for (const projectId of projectIds) {
    const rows = await descriptorsOf(db, [projectId], entityType);
    const byField = new Map(rows.map((r) => [r.field_name, r.id]));
    const ordered = fieldOrder.filter((f) => byField.has(f)).map((f) => byField.get(f)!);
    if (ordered.length > 0) updated.push(...(await reorderDescriptors(c, projectId, entityType, ordered)));
  }
  return updated;
}

/** On project creation: copy the Project-scoped descriptors of the other open projects. */
export async function copyProjectDescriptors(c: AppContext, projectId: string): Promise<void> {
  const db = c.get("db");
  const open = (await openProjectIds(db)).filter((id) => id !== projectId);
  const owned = new Set((await descriptorsOf(db, [projectId], "Project")).map((d) => d.field_name));
  for (const descriptor of await descriptorsOf(db, open, "Project")) {
    if (owned.has(descriptor.field_name)) continue;
    owned.add(descriptor.field_name);
    await createDescriptor(c, projectId, {
      entity_type: "Project", name: descriptor.name, data_type: descriptor.data_type,
      choices: (serialize("metadata_descriptor", descriptor).choices as unknown[]) ?? [],
      for_client: Boolean(descriptor.for_client), departments: descriptor.departments,
    });
  }
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
export async function removeProjectData(db: Db, projectId: string): Promise<void> {
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
}

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

/** One schedule item per task type of the project (created when missing), sorted by start date. */
export async function taskTypeScheduleItems(c: AppContext, projectId: string): Promise<Dict[]> {
  const db = c.get("db");
  const taskTypes = await db
    .selectFrom("task_type")
    .innerJoin("project_task_type_link", "project_task_type_link.task_type_id", "task_type.id")
    .select("task_type.id")
    .where("project_task_type_link.project_id", "=", projectId)
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
// Budgets

export function presentBudget(row: Row): Dict {
  const dict = serialize("budget", row);
  return { id: dict.id, project_id: dict.project_id, revision: dict.revision, name: dict.name, currency: dict.currency };
}

export function presentBudgetEntry(row: Row): Dict {
  const dict = serialize("budget_entry", row);
  const keys = ["id", "budget_id", "department_id", "person_id", "start_date", "months_duration", "daily_salary", "position", "seniority", "exceptions"];
  return Object.fromEntries(keys.map((key) => [key, dict[key] ?? null]));
}

/** A budget of the project (404 for a malformed, unknown or other-project id). */
export async function getBudgetOr404(c: AppContext, projectId: string, rawId: string): Promise<Row> {
  const id = serviceId(rawId);
  const row = await c.get("db").selectFrom("budget").selectAll().where("id", "=", id).executeTakeFirst();
  if (!row || row.project_id !== projectId) throw notFound();
  return row as Row;
}

export async function getBudgetEntryOr404(c: AppContext, budgetId: string, rawId: string): Promise<Row> {
  const id = serviceId(rawId);
  const row = await c.get("db").selectFrom("budget_entry").selectAll().where("id", "=", id).executeTakeFirst();
  if (!row || row.budget_id !== budgetId) throw notFound();
  return row as Row;
}

export async function listBudgets(c: AppContext, projectId: string): Promise<Dict[]> {
  const rows = await c.get("db").selectFrom("budget").selectAll().where("project_id", "=", projectId).orderBy("revision").execute();
  return rows.map((row) => presentBudget(row as Row));
}

export async function createBudget(c: AppContext, projectId: string, name: string, currency: string | null): Promise<Dict> {
  const db = c.get("db");
  const last = await db.selectFrom("budget").select("revision").where("project_id", "=", projectId).orderBy("revision", "desc").executeTakeFirst();
  const now = utcNow();
  const row = { id: newId(), created_at: now, updated_at: now, project_id: projectId, name, currency, revision: last ? Number(last.revision) + 1 : 1 };
  await db.insertInto("budget").values(row).execute();
  await emit(c, "budget:create", { budget_id: row.id }, projectId);
  return serialize("budget", row);
}

export async function updateBudget(c: AppContext, budget: Row, changes: { name?: string | null; currency?: string | null }): Promise<Dict> {
  const values: Row = { updated_at: utcNow() };
  if (changes.name !== undefined && changes.name !== null) values.name = changes.name;
  if (changes.currency !== undefined && changes.currency !== null) values.currency = changes.currency;
  const db = c.get("db");
  await db.updateTable("budget").set(values).where("id", "=", budget.id).execute();
  await emit(c, "budget:update", { budget_id: budget.id }, budget.project_id);
  return serialize("budget", (await db.selectFrom("budget").selectAll().where("id", "=", budget.id).executeTakeFirstOrThrow()) as Row);
}

export async function deleteBudget(c: AppContext, budget: Row): Promise<void> {
  const db = c.get("db");
  await db.deleteFrom("budget_entry").where("budget_id", "=", budget.id).execute();
  await db.deleteFrom("budget").where("id", "=", budget.id).execute();
  await emit(c, "budget:delete", { budget_id: budget.id }, budget.project_id);
}

export async function listBudgetEntries(c: AppContext, budgetId: string): Promise<Dict[]> {
  const rows = await c.get("db").selectFrom("budget_entry").selectAll().where("budget_id", "=", budgetId).orderBy("start_date").execute();
  return rows.map((row) => presentBudgetEntry(row as Row));
}

/** Keeps the positive whole-number exceptions of a `{month: amount}` map. */
export function cleanExceptions(value: unknown): Record<string, number> {
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw badRequest("exceptions must be an object.");
  const result: Record<string, number> = {};
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    if (raw === null || raw === undefined) continue;
    const number = Math.trunc(Number(raw));
    if (!Number.isFinite(number)) throw badRequest(`Wrong value for exception ${key}.`);
    if (number > 0) result[key] = number;
  }
  return result;
}

export async function writeBudgetEntry(c: AppContext, budget: Row, entry: Row | null, values: Row): Promise<Dict> {
  const db = c.get("db");
  const now = utcNow();
  let id: string;
  if (entry) {
    id = entry.id;
    await db.updateTable("budget_entry").set({ ...values, updated_at: now }).where("id", "=", id).execute();
  } else {
    id = newId();
    await db.insertInto("budget_entry").values({ id, created_at: now, updated_at: now, budget_id: budget.id, exceptions: "{}", ...values } as any).execute();
  }
  await emit(c, entry ? "budget-entry:update" : "budget-entry:create", { budget_id: budget.id, budget_entry_id: id }, budget.project_id);
  return serialize("budget_entry", (await db.selectFrom("budget_entry").selectAll().where("id", "=", id).executeTakeFirstOrThrow()) as Row);
}

export async function deleteBudgetEntry(c: AppContext, budget: Row, entry: Row): Promise<void> {
  await c.get("db").deleteFrom("budget_entry").where("id", "=", entry.id).execute();
  await emit(c, "budget-entry:delete", { budget_id: budget.id, budget_entry_id: entry.id }, budget.project_id);
}

// ---------------------------------------------------------------------------------------------
// Time spents and days off seen from a project

export async function projectTimeSpents(c: AppContext, projectId: string): Promise<Dict[]> {
  const rows = await c
    .get("db")
    .selectFrom("time_spent")
    .innerJoin("task", "task.id", "time_spent.task_id")
    .selectAll("time_spent")
    .where("task.project_id", "=", projectId)
    .orderBy("time_spent.date")
    .execute();
  return rows.map((row) => serialize("time_spent", row as Row));
}

/** Time spents of a task type in a project, grouped by person id. */
export async function projectTaskTypeTimeSpents(c: AppContext, projectId: string, taskTypeId: string, start: string | null, end: string | null): Promise<Record<string, Dict[]>> {
  let query = c
    .get("db")
    .selectFrom("time_spent")
    .innerJoin("task", "task.id", "time_spent.task_id")
    .selectAll("time_spent")
    .where("task.project_id", "=", projectId)
    .where("task.task_type_id", "=", taskTypeId);
  if (start) query = query.where("time_spent.date", ">=", start);
  if (end) query = query.where("time_spent.date", "<=", end);
  const result: Record<string, Dict[]> = {};
  for (const row of await query.orderBy("time_spent.date").execute()) {
    (result[row.person_id ?? "null"] ??= []).push(serialize("time_spent", row as Row));
  }
  return result;
}

/**
 * Time spents of a project summed per department (of the task type), person and month:
 * `{department_id: {total, person_id: {total, "YYYY-MM": duration}}}`.
 */
export async function projectMonthTimeSpents(c: AppContext, projectId: string): Promise<Record<string, Record<string, any>>> {
  const rows = await c
    .get("db")
    .selectFrom("time_spent")
    .innerJoin("task", "task.id", "time_spent.task_id")
    .innerJoin("task_type", "task_type.id", "task.task_type_id")
    .select(["time_spent.person_id", "time_spent.date", "time_spent.duration", "task_type.department_id"])
    .where("task.project_id", "=", projectId)
    .orderBy("time_spent.date")
    .execute();
  const result: Record<string, Record<string, any>> = {};
  for (const row of rows) {
    const department = row.department_id ?? "null";
    const month = String(row.date).slice(0, 7);
    const duration = Number(row.duration ?? 0);
    const byDepartment = (result[department] ??= { total: 0 });
    const byPerson = (byDepartment[row.person_id ?? "null"] ??= { total: 0 });
    byPerson[month] = (byPerson[month] ?? 0) + duration;
    byPerson.total += duration;
    byDepartment.total += duration;
  }
  return result;
}

/**
 * Days off of the team members overlapping [start, end]. Managers get full rows; others get
 * their own rows in full and the others' without description.
 */
export async function projectDayOffs(c: AppContext, projectId: string, start: string | null, end: string | null, full: boolean): Promise<Dict[]> {
  let query = c
    .get("db")
    .selectFrom("day_off")
    .innerJoin("project_person_link", "project_person_link.person_id", "day_off.person_id")
    .selectAll("day_off")
    .where("project_person_link.project_id", "=", projectId);
  if (end) query = query.where("day_off.date", "<=", end);
  if (start) query = query.where("day_off.end_date", ">=", start);
  const me = c.get("user").id;
  return (await query.orderBy("day_off.date").execute()).map((row) => {
    const dict = serialize("day_off", row as Row);
    if (!full && row.person_id !== me) delete dict.description;
    return dict;
  });
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
