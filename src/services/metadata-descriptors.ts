/** Metadata descriptors of projects: visibility per role, CRUD, all-projects variants, copies. */
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import { serialize } from "../db/serialize";
import { TABLES } from "../db/tables.generated";
import { badRequest, forbidden, notFound } from "../lib/errors";
import { chunks } from "../lib/chunks";
import { isUuid, newId, normalizeId, serviceId, utcNow } from "../lib/ids";
import { effectiveRole, isAdmin, projectLink, userDepartmentIds } from "./permissions";
import { type Dict, type Row, emit, existingIds, openProjectIds, reservedEntityTypeIds, slugify } from "./project-base";

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
export async function rolesByProject(c: AppContext, projectIds: string[]): Promise<Map<string, string>> {
  const user = c.get("user");
  const roles = new Map<string, string>();
  for (const id of projectIds) roles.set(id, user.role);
  if (isAdmin(user) || projectIds.length === 0) return roles;
  const links = await c.get("db").selectFrom("project_person_link").select(["project_id", "role"]).where("person_id", "=", user.id).execute();
  for (const link of links) if (link.role && link.role !== "admin" && roles.has(link.project_id)) roles.set(link.project_id, link.role);
  return roles;
}

/** Descriptor rows (with department ids) of projects, ordered by position then name. */
export async function descriptorsOf(db: Db, projectIds: string[], entityType?: string): Promise<(Row & { departments: string[] })[]> {
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
export function embeddedDescriptor(row: Row & { departments: string[] }): Dict {
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
  return presentDescriptor({ ...(await db.selectFrom("metadata_descriptor").selectAll().where("id", "=", row.id).executeTakeFirstOrThrow()), departments });
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
  const links = await db.selectFrom("department_metadata_descriptor_link").select("department_id").where("metadata_descriptor_id", "=", descriptor.id).execute();
  return presentDescriptor({ ...(updated as Row), departments: links.map((l) => l.department_id) });
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
    if (!existing.has(projectId)) {
      // Zou answers these rows without their relations: no `departments` key.
      const { departments: _departments, ...descriptor } = await createDescriptor(c, projectId, { ...input, task_type_id: null });
      created.push(descriptor);
    }
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
