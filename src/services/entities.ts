/**
 * The entity service (models.md §2): one `entity` table for assets, shots, sequences, episodes,
 * scenes, edits and concepts, told apart by their entity type. Reserved types are created on first
 * use. This file holds the reads (rows with their kind, presentation with the kind's `type` name,
 * access, query criteria, casting reads, versions) and the entity events; creation, update and
 * deletion are in entity-writes.ts. The routes of every area (and the tasks and casting services)
 * share one behaviour through them.
 */
import { sql, type Selectable } from "kysely";
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import { serialize, parseJson } from "../db/serialize";
import { TABLES, type EntityTable, type TableName } from "../db/tables.generated";
import { badRequest, forbidden, notFound } from "../lib/errors";
import { emitEvent } from "../lib/events";
import { isUuid, newId, normalizeId, queryId, serviceId, utcNow } from "../lib/ids";
import { loadRelations, type AnySelect } from "../db/rows";
import { chunks } from "../lib/chunks";
import { toFilterValue } from "../crud/values";
import { RESERVED_TYPE_NAMES, entityKind as entityKindOf, type EntityKind, type ReservedTypeName } from "../lib/entity-kinds";
import { checkEntityAccess, checkManagerProjectAccess, checkProjectAccess, effectiveRole, isAdmin, userDepartmentIds } from "./permissions";
import { ascNullsLast } from "../db/order";

export type EntityRow = Selectable<EntityTable>;
export type Dict = Record<string, unknown>;

export type { EntityKind, ReservedTypeName };
export type ReservedTypeIds = Record<ReservedTypeName, string>;

/** Ids of the six reserved entity types, creating the missing ones (get-or-create). */
export async function reservedTypeIds(db: Db): Promise<ReservedTypeIds> {
  const rows = await db.selectFrom("entity_type").select(["id", "name"]).where("name", "in", [...RESERVED_TYPE_NAMES]).execute();
  const ids = {} as ReservedTypeIds;
  for (const row of rows) ids[row.name as ReservedTypeName] = row.id;
  for (const name of RESERVED_TYPE_NAMES) {
    if (ids[name]) continue;
    const now = utcNow();
    const id = newId();
    await db.insertInto("entity_type").values({ id, created_at: now, updated_at: now, name, archived: false } as any).execute();
    ids[name] = id;
  }
  return ids;
}

/** The reserved type ids, memoised for the request. */
const typeMemo = new WeakMap<object, Promise<ReservedTypeIds>>();
export function requestTypeIds(c: AppContext): Promise<ReservedTypeIds> {
  let memo = typeMemo.get(c);
  if (!memo) {
    memo = reservedTypeIds(c.get("db"));
    typeMemo.set(c, memo);
    memo.catch(() => typeMemo.delete(c));
  }
  return memo;
}

/** The kind of an entity from its entity type id. */
export function kindOfTypeId(types: ReservedTypeIds, entityTypeId: string): EntityKind {
  for (const name of RESERVED_TYPE_NAMES) if (types[name] === entityTypeId) return name;
  return "Asset";
}

export function reservedIdList(types: ReservedTypeIds): string[] {
  return RESERVED_TYPE_NAMES.map((name) => types[name]);
}

/** Event prefix and id key of a kind: `shot`, `shot_id`. */
export function eventKey(kind: EntityKind): string {
  return kind.toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

export async function getEntityRow(db: Db, id: string): Promise<EntityRow | undefined> {
  return (await db.selectFrom("entity").selectAll().where("id", "=", id).executeTakeFirst()) as EntityRow | undefined;
}

/**
 * Loads an entity by a path id with its kind (from its type name): a malformed id, an unknown id
 * or an entity of another kind than `kind` are the same 404 (Zou's service lookups).
 */
export async function loadEntityWithKind(db: Db, rawId: string | undefined, kind?: EntityKind): Promise<EntityRow & { kind: EntityKind }> {
  const found = (await db
    .selectFrom("entity")
    .innerJoin("entity_type", "entity_type.id", "entity.entity_type_id")
    .selectAll("entity")
    .select("entity_type.name as __type_name")
    .where("entity.id", "=", serviceId(rawId))
    .executeTakeFirst()) as (EntityRow & { __type_name: string }) | undefined;
  if (!found) throw notFound();
  const { __type_name: typeName, ...row } = found;
  const rowKind = entityKindOf(typeName);
  if (kind && rowKind !== kind) throw notFound();
  return { ...row, kind: rowKind };
}

/** loadEntityWithKind without the kind: the entity row. */
export async function loadEntity(c: AppContext, rawId: string | undefined, kind?: EntityKind): Promise<EntityRow> {
  const { kind: _kind, ...row } = await loadEntityWithKind(c.get("db"), rawId, kind);
  return row;
}

/** Kind of a loaded row. */
export async function entityKind(c: AppContext, row: { entity_type_id: string }): Promise<EntityKind> {
  return kindOfTypeId(await requestTypeIds(c), row.entity_type_id);
}

/** Zou's JSON of an entity row with its kind as `type`. */
export function presentEntity(row: Dict, kind: EntityKind | "Entity"): Dict {
  return serialize("entity", row, { typeName: kind });
}

/**
 * Presents rows of one kind: with `relations`, the four relation id lists; concepts without
 * relations still carry `entity_concept_links` (Zou's Concept serializer).
 */
export async function presentEntities(db: Db, rows: Dict[], kind: EntityKind | "Entity", relations = false): Promise<Dict[]> {
  const dicts = rows.map((row) => presentEntity(row, kind));
  if (rows.length === 0) return dicts;
  const ids = rows.map((row) => row.id as string);
  if (relations) {
    const loaded = await loadRelations(db, "entity", ids);
    for (const dict of dicts) Object.assign(dict, loaded.get(dict.id as string));
  } else if (kind === "Concept") {
    const links = await conceptLinks(db, ids);
    for (const dict of dicts) dict.entity_concept_links = links.get(dict.id as string) ?? [];
  }
  return dicts;
}

/** entity_out_id lists of concept links, by concept id. */
export async function conceptLinks(db: Db, conceptIds: string[]): Promise<Map<string, string[]>> {
  const result = new Map<string, string[]>();
  for (const part of chunks(conceptIds)) {
    const rows = await db.selectFrom("entity_concept_link").select(["entity_in_id", "entity_out_id"]).where("entity_in_id", "in", part).execute();
    for (const row of rows) {
      const list = result.get(row.entity_in_id) ?? [];
      list.push(row.entity_out_id);
      result.set(row.entity_in_id, list);
    }
  }
  return result;
}

/** Parses an entity's stored `data` into an object (null and garbage become `{}`). */
export function entityData(value: unknown): Record<string, unknown> {
  const parsed = parseJson(value);
  return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
}

// ---------------------------------------------------------------------------------------------
// Access
// ---------------------------------------------------------------------------------------------

/** `check_project_access` then `check_entity_access` on an entity row. */
export async function checkEntityRead(c: AppContext, row: { id: string; project_id: string }): Promise<void> {
  await checkProjectAccess(c, row.project_id);
  await checkEntityAccess(c, row);
}

/** Entity deletes: the creator must belong to the project (Zou does not enforce it), others need manager access. */
export async function checkEntityDelete(c: AppContext, row: { project_id: string; created_by: string | null }): Promise<void> {
  // Zou computes the creator's membership without enforcing it (permissions.md §6.6).
  if (row.created_by && row.created_by === c.get("user").id) return;
  await checkManagerProjectAccess(c, row.project_id);
}

/** True when the caller's effective role on the project (global role without one) is vendor. */
export async function isVendor(c: AppContext, projectId?: string | null): Promise<boolean> {
  return (await effectiveRole(c, projectId ?? null)) === "vendor";
}

/** Throws 403 for vendors (and clients when `alsoClients`). */
export async function blockVendorOrClient(c: AppContext, projectId: string | null | undefined, alsoClients = false): Promise<void> {
  const role = await effectiveRole(c, projectId ?? null);
  if (role === "vendor" || (alsoClients && role === "client")) throw forbidden();
}

/** The vendor narrowing of a listing (`scope_criterions_to_vendor`): null for everyone else. */
export interface VendorScope {
  personId: string;
  departmentIds: string[];
}
export async function vendorScope(c: AppContext, projectId?: string | null): Promise<VendorScope | null> {
  if (!(await isVendor(c, projectId))) return null;
  return { personId: c.get("user").id, departmentIds: await userDepartmentIds(c) };
}

/** Restricts an entity query (`entity` in its FROM) to entities having a task assigned to the person. */
export function whereAssigned<Q extends AnySelect>(q: Q, personId: string, entityRef = "entity.id"): Q {
  return q.where((eb: any) =>
    eb.exists(
      eb
        .selectFrom("task as assigned_task")
        .innerJoin("task_person_link as assigned_link", "assigned_link.task_id", "assigned_task.id")
        .select("assigned_task.id")
        .whereRef("assigned_task.entity_id", "=", sql.ref(entityRef) as any)
        .where("assigned_link.person_id", "=", personId),
    ),
  ) as Q;
}

/**
 * Metadata masking: per project, the `data` keys of descriptors (of this entity kind) restricted
 * to departments the vendor is not in.
 */
export async function hiddenMetadataFields(db: Db, kind: EntityKind, departmentIds: string[], projectIds: string[]): Promise<Map<string, Set<string>>> {
  const result = new Map<string, Set<string>>();
  for (const id of projectIds) result.set(id, new Set());
  if (projectIds.length === 0) return result;
  const rows = await db
    .selectFrom("metadata_descriptor")
    .innerJoin("department_metadata_descriptor_link", "department_metadata_descriptor_link.metadata_descriptor_id", "metadata_descriptor.id")
    .select(["metadata_descriptor.id", "metadata_descriptor.project_id", "metadata_descriptor.field_name", "department_metadata_descriptor_link.department_id"])
    .where("metadata_descriptor.project_id", "in", projectIds)
    .where("metadata_descriptor.entity_type", "=", kind)
    .execute();
  const byDescriptor = new Map<string, { projectId: string; field: string; allowed: boolean }>();
  const mine = new Set(departmentIds);
  for (const row of rows) {
    const entry = byDescriptor.get(row.id) ?? { projectId: row.project_id, field: row.field_name, allowed: false };
    if (mine.has(row.department_id)) entry.allowed = true;
    byDescriptor.set(row.id, entry);
  }
  for (const entry of byDescriptor.values()) {
    if (!entry.allowed) result.get(entry.projectId)?.add(entry.field);
  }
  return result;
}

/** Removes the masked keys from the `data` of presented entities, in place (vendors only). */
export async function maskMetadataForVendor(c: AppContext, kind: EntityKind, entities: Dict[], projectId?: string | null): Promise<Dict[]> {
  const scope = await vendorScope(c, projectId);
  if (!scope || entities.length === 0) return entities;
  const projectIds = [...new Set(entities.map((e) => (e.project_id as string) ?? projectId).filter(Boolean))] as string[];
  const hidden = await hiddenMetadataFields(c.get("db"), kind, scope.departmentIds, projectIds);
  for (const entity of entities) {
    const fields = hidden.get((entity.project_id as string) ?? projectId);
    if (!fields || fields.size === 0 || !entity.data || typeof entity.data !== "object") continue;
    const data = { ...(entity.data as Dict) };
    for (const field of fields) delete data[field];
    entity.data = data;
  }
  return entities;
}

// ---------------------------------------------------------------------------------------------
// Query-string criteria (Zou's apply_criterions_to_db_query on the entity table)
// ---------------------------------------------------------------------------------------------

const IGNORED_CRITERIA = new Set(["page", "relations", "limit", "fields"]);

/** Applies `?column=value` filters on `table` (default entity): name is case-insensitive LIKE, `[..]` is IN. */
export function applyCriteria<Q extends AnySelect>(q: Q, params: Record<string, string>, table: TableName = "entity", alias: string = table): Q {
  const def = TABLES[table];
  let query = q;
  for (const [key, raw] of Object.entries(params)) {
    if (IGNORED_CRITERIA.has(key)) continue;
    const column = def.columns[key];
    const relation = def.relations[key];
    if (relation) {
      if (!isUuid(raw)) throw badRequest("One of the ID sent in parameter is not properly formatted.");
      query = query.where(`${alias}.id` as any, "in", (eb: any) =>
        eb.selectFrom(relation.via).select(relation.sourceColumn).where(relation.targetColumn, "=", normalizeId(raw)),
      ) as Q;
      continue;
    }
    if (!column || def.hidden.includes(key)) continue;
    const ref = `${alias}.${key}`;
    if (key === "name") {
      query = query.where(sql`lower(${sql.ref(ref)})`, "like", raw.toLowerCase()) as Q;
    } else if (raw.startsWith("[")) {
      let list: unknown;
      try {
        list = JSON.parse(raw);
      } catch {
        throw badRequest(`One of the value of the filter has not the proper format: ${key}=${raw}`);
      }
      if (!Array.isArray(list)) throw badRequest(`One of the value of the filter has not the proper format: ${key}=${raw}`);
      const values = list.map((item) => toFilterValue(key, column, String(item)));
      query = (values.length === 0 ? query.where(sql<boolean>`1 = 0`) : query.where(ref as any, "in", values)) as Q;
    } else if (raw === "null" || raw === "None") {
      query = query.where(ref as any, "is", null) as Q;
    } else {
      query = query.where(ref as any, "=", toFilterValue(key, column, raw)) as Q;
    }
  }
  return query;
}

/** The `project_id` criterion of a listing's query string: undefined when absent, 400 when malformed. */
export function criteriaProjectId(params: Record<string, string>): string | undefined {
  return params.project_id ? queryId(params.project_id) : undefined;
}

/** Entities of a kind in a project, sorted by name; with `onlyAssigned`, those with a task assigned to the caller. */
export async function projectEntities(c: AppContext, kind: EntityKind, projectId: string, onlyAssigned: boolean): Promise<Dict[]> {
  const types = await requestTypeIds(c);
  if (kind === "Asset") return [];
  let q = c.get("db").selectFrom("entity").selectAll("entity").where("entity.entity_type_id", "=", types[kind]).where("entity.project_id", "=", projectId) as AnySelect;
  if (onlyAssigned) q = whereAssigned(q, c.get("user").id);
  const rows = (await q.orderBy("entity.name").execute()) as Dict[];
  return presentEntities(c.get("db"), rows, kind);
}

/**
 * Entities of a kind filtered by the query-string criteria (`get_edits`, `get_concepts`), with
 * their `project_name`, sorted by name; with `assignedTo`, only those with a task assigned to them.
 */
export async function listEntitiesWithProjectName(c: AppContext, kind: EntityKind, params: Record<string, string>, assignedTo?: string): Promise<Dict[]> {
  const types = await requestTypeIds(c);
  if (kind === "Asset") return [];
  let q = c
    .get("db")
    .selectFrom("entity")
    .innerJoin("project", "project.id", "entity.project_id")
    .selectAll("entity")
    .select("project.name as __project_name")
    .where("entity.entity_type_id", "=", types[kind]) as AnySelect;
  q = applyCriteria(q, params);
  if (assignedTo) q = whereAssigned(q, assignedTo);
  const rows = (await q.orderBy("entity.name").execute()) as Dict[];
  const dicts = await presentEntities(c.get("db"), rows, kind);
  return dicts.map((dict, i) => ({ ...dict, project_name: rows[i]!.__project_name }));
}

/** A query parameter id (`project_id`, `episode_id`...): 400 when malformed. */
export function criterionId(name: string, value: string | undefined, sentinels: string[] = []): string | undefined {
  if (value === undefined) return undefined;
  if (sentinels.includes(value)) return value;
  if (!isUuid(value)) throw badRequest(`Invalid UUID format for ${name}: ${value}`);
  return normalizeId(value);
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/** Emits `<kind>:<action>` with `{<kind>_id}` plus extra keys, in the current transaction. */
export async function emitEntityEvent(c: AppContext, kind: EntityKind, action: string, row: { id: string; project_id: string }, extra: Dict = {}): Promise<void> {
  const key = eventKey(kind);
  await emitEvent(c.get("db"), c.get("events"), `${key}:${action}`, { [`${key}_id`]: row.id, ...extra }, {
    projectId: row.project_id,
    userId: c.get("user")?.id ?? null,
  });
}

// ---------------------------------------------------------------------------------------------
// Tasks of entities
// ---------------------------------------------------------------------------------------------

/** Task types having a task on the entities selected by `scope` (a query over `task` joined to `entity`). */
export async function taskTypesOf(c: AppContext, scope: (q: AnySelect) => AnySelect): Promise<Dict[]> {
  const db = c.get("db");
  const inner = scope(db.selectFrom("task").innerJoin("entity", "entity.id", "task.entity_id").select("task.task_type_id") as AnySelect);
  const rows = (await db
    .selectFrom("task_type")
    .selectAll()
    .where("id", "in", inner as any)
    .orderBy("priority", ascNullsLast)
    .orderBy("name")
    .execute()) as Dict[];
  return rows.map((row) => serialize("task_type", row));
}

/** Is the caller an admin? (shortcut for listing scopes) */
export function callerIsAdmin(c: AppContext): boolean {
  return isAdmin(c.get("user"));
}

// ---------------------------------------------------------------------------------------------
// Request flags
// ---------------------------------------------------------------------------------------------

const TRUE_FLAGS = new Set(["true", "1", "yes", "on"]);

/** A boolean query parameter (`?force=true`, `?relations=true`). */
export function queryFlag(c: AppContext, name: string): boolean {
  const value = c.req.query(name);
  return value !== undefined && TRUE_FLAGS.has(value.toLowerCase());
}

// ---------------------------------------------------------------------------------------------
// Casting reads of one entity (entity_link: container in, asset out); writes are in casting.ts
// ---------------------------------------------------------------------------------------------

/** Assets cast in an entity, as full Asset dicts (`get_entity_casting`). */
export async function castAssets(c: AppContext, entityId: string): Promise<Dict[]> {
  const rows = (await c
    .get("db")
    .selectFrom("entity")
    .selectAll("entity")
    .innerJoin("entity_link", "entity_link.entity_out_id", "entity.id")
    .where("entity_link.entity_in_id", "=", entityId)
    .orderBy("entity.name")
    .execute()) as Dict[];
  return rows.map((row) => presentEntity(row, "Asset"));
}

/** Where an asset is cast: shots (with sequence and episode), then assets. */
export async function castIn(c: AppContext, assetId: string): Promise<Dict[]> {
  const db = c.get("db");
  const types = await requestTypeIds(c);
  const notCanceled = (eb: any) => eb.or([eb("entity.canceled", "is", null), eb("entity.canceled", "=", false)]);
  const shots = await db
    .selectFrom("entity_link")
    .innerJoin("entity", "entity.id", "entity_link.entity_in_id")
    .innerJoin("entity as sequence", "sequence.id", "entity.parent_id")
    .leftJoin("entity as episode", "episode.id", "sequence.parent_id")
    .select([
      "entity_link.entity_in_id", "entity_link.nb_occurences", "entity.name", "entity.preview_file_id", "sequence.name as sequence_name",
      "episode.id as episode_id", "episode.name as episode_name",
    ])
    .where("entity_link.entity_out_id", "=", assetId)
    .where("entity.entity_type_id", "=", types.Shot)
    .where(notCanceled)
    .orderBy("episode.name", ascNullsLast)
    .orderBy("sequence.name")
    .orderBy("entity.name")
    .execute();
  const assets = await db
    .selectFrom("entity_link")
    .innerJoin("entity", "entity.id", "entity_link.entity_in_id")
    .innerJoin("entity_type", "entity_type.id", "entity.entity_type_id")
    .select(["entity_link.entity_in_id", "entity_link.nb_occurences", "entity.name", "entity.preview_file_id", "entity_type.name as type_name"])
    .where("entity_link.entity_out_id", "=", assetId)
    .where("entity.entity_type_id", "not in", reservedIdList(types))
    .where(notCanceled)
    .orderBy("entity_type.name")
    .orderBy("entity.name")
    .execute();
  return [
    ...shots.map((row) => ({
      shot_id: row.entity_in_id,
      shot_name: row.name,
      sequence_name: row.sequence_name,
      episode_id: row.episode_id ?? null,
      episode_name: row.episode_name ?? null,
      preview_file_id: row.preview_file_id ?? null,
      nb_occurences: row.nb_occurences,
    })),
    ...assets.map((row) => ({
      asset_id: row.entity_in_id,
      asset_name: row.name,
      asset_type_name: row.type_name,
      preview_file_id: row.preview_file_id ?? null,
      nb_occurences: row.nb_occurences,
    })),
  ];
}

// ---------------------------------------------------------------------------------------------
// Previews and versions of an entity
// ---------------------------------------------------------------------------------------------

/** Stored versions (history) of an entity, newest first, with the given `type`. */
export async function entityVersions(c: AppContext, entityId: string, typeName: string): Promise<Dict[]> {
  const rows = (await c.get("db").selectFrom("entity_version").selectAll().where("entity_id", "=", entityId).orderBy("created_at", "desc").execute()) as Dict[];
  return rows.map((row) => serialize("entity_version", row, { typeName }));
}

/** A project's fps as a number (`24`, `"25"`, `"23.976"`, `"24000/1001"`); 25 when unreadable. */
export function parseFps(value: unknown): number {
  const text = String(value ?? "").trim();
  const fraction = /^(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)$/.exec(text);
  const fps = fraction ? Number(fraction[1]) / Number(fraction[2]) : Number(text);
  return Number.isFinite(fps) && fps > 0 ? fps : 25;
}
