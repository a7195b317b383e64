/**
 * The caller's saved search filters and filter groups (`/data/user/filters`,
 * `/data/user/filter-groups`): creation values with their checks, the caller's own rows (admins
 * reach anyone's), update with Zou's sharing rules, deletion. The grouped listings are in
 * user-context.ts.
 */
import type { AppContext } from "../context";
import { serialize } from "../db/serialize";
import { transact } from "../db/transaction";
import type { TableName } from "../db/tables.generated";
import { parseBoolWord } from "../crud/values";
import { badRequest, notFound } from "../lib/errors";
import { isUuid, newId, normalizeId, serviceId, utcNow } from "../lib/ids";
import { effectiveRole, isAdmin, isMember } from "./permissions";

type Row = Record<string, any>;
type Dict = Record<string, unknown>;

export type FilterTable = "search_filter" | "search_filter_group";

/** The fields of a new filter or filter group, as validated from the body. */
export interface NewFilterFields {
  name: string;
  list_type: string;
  project_id?: string | null;
  entity_type?: string | null;
  is_shared?: unknown;
  search_filter_group_id?: string | null;
  department_id?: string | null;
}

/** A boolean of a body: true/false, a boolean word, 0 or 1; a 400 naming the field otherwise. */
export function boolValue(value: unknown, name: string): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "string") {
    const parsed = parseBoolWord(value);
    if (parsed !== null) return parsed;
  }
  if (value === 0 || value === 1) return value === 1;
  throw badRequest(`${name} must be a boolean.`);
}

/** An id from a body: null/"" stay null, a malformed one is a 400, an unknown one too. */
async function bodyRef(c: AppContext, table: TableName, value: unknown, name: string): Promise<string | null> {
  if (value === null || value === undefined || value === "") return null;
  if (!isUuid(value)) throw badRequest(`${name} is not a valid id.`);
  const id = normalizeId(value);
  const row = await c.get("db").selectFrom(table).select("id" as any).where("id" as any, "=", id).executeTakeFirst();
  if (!row) throw badRequest(`${name} matches no ${table.replace(/_/g, " ")}.`);
  return id;
}

/** Column values shared by a new filter and a new filter group (ids checked in body order: project, group, department). */
export async function newFilterValues(c: AppContext, body: NewFilterFields, table: FilterTable): Promise<Row> {
  const values: Row = {
    list_type: body.list_type,
    name: body.name,
    entity_type: body.entity_type ?? null,
    is_shared: body.is_shared === undefined ? false : boolValue(body.is_shared, "is_shared"),
    project_id: await bodyRef(c, "project", body.project_id, "project_id"),
  };
  // Sharing is a manager privilege on the filter's project; a filter without project is never shared.
  if (values.is_shared && !(await canShareIn(c, values.project_id))) values.is_shared = false;
  if (table === "search_filter") {
    values.search_filter_group_id = bodyIdFormat(body.search_filter_group_id, "search_filter_group_id");
    await checkSameSharingAsGroup(c, values.search_filter_group_id, values.is_shared);
  }
  values.department_id = await bodyRef(c, "department", body.department_id, "department_id");
  return values;
}

/** True when the caller may share a filter of this project: admin, or manager member of it (Zou `has_manager_project_access`). */
async function canShareIn(c: AppContext, projectId: string | null): Promise<boolean> {
  if (!projectId) return false;
  const user = c.get("user");
  if (isAdmin(user)) return true;
  return (await isMember(c, projectId)) && (await effectiveRole(c, projectId)) === "manager";
}

/** An id from a body, format only: null/"" stay null, a malformed one is a 400. */
function bodyIdFormat(value: unknown, name: string): string | null {
  if (value === null || value === undefined || value === "") return null;
  if (!isUuid(value)) throw badRequest(`${name} is not a valid id.`);
  return normalizeId(value);
}

/** A filter's group must exist (404 otherwise) and share the filter's `is_shared` (400 otherwise), as Zou. */
async function checkSameSharingAsGroup(c: AppContext, groupId: string | null, isShared: boolean): Promise<void> {
  if (!groupId) return;
  const group = await c.get("db").selectFrom("search_filter_group").select("is_shared").where("id", "=", groupId).executeTakeFirst();
  if (!group) throw notFound();
  if (Boolean(group.is_shared) !== isShared) {
    throw badRequest("A search filter should have the same value for is_shared than its search filter group.");
  }
}

/** One of the caller's filters or groups; admins reach anyone's (Zou `_get_own_or_as_admin`). 404 otherwise. */
export async function loadOwn(c: AppContext, table: FilterTable, rawId: string | undefined): Promise<Row> {
  const id = serviceId(rawId);
  const user = c.get("user");
  let query = c.get("db").selectFrom(table).selectAll().where("id", "=", id);
  if (!isAdmin(user)) query = query.where("person_id", "=", user.id);
  const row = await query.executeTakeFirst();
  if (!row) throw notFound();
  return row as Row;
}

/** Inserts a filter or group owned by the caller; returns its serialized row. */
export async function insertOwn(c: AppContext, table: FilterTable, values: Row): Promise<Dict> {
  const row = await transact(c, async (db) => {
    const now = utcNow();
    const inserted = (await db
      .insertInto(table)
      .values({ id: newId(), created_at: now, updated_at: now, person_id: c.get("user").id, ...values } as any)
      .returningAll()
      .executeTakeFirstOrThrow()) as Row;
    return inserted;
  });
  return serialize(table, row);
}

/** Update of an own filter or group (`row`) from a body: only the listed keys; null values are ignored except where allowed. */
export async function updateOwn(c: AppContext, table: FilterTable, row: Row, body: Record<string, unknown>, keys: string[], nullable: string[]): Promise<Dict> {
  const values: Row = {};
  for (const key of keys) {
    if (!(key in body)) continue;
    const value = body[key];
    if ((value === null || value === "") && !nullable.includes(key)) continue;
    if (key === "is_shared") values[key] = boolValue(value, key);
    else if (key === "project_id") values[key] = await bodyRef(c, "project", value, key);
    else if (key === "department_id") values[key] = await bodyRef(c, "department", value, key);
    else if (key === "search_filter_group_id") values[key] = bodyIdFormat(value, key);
    else if (typeof value !== "string") throw badRequest(`${key} must be a string.`);
    else values[key] = value;
  }
  // Zou `_deny_sharing_without_manager_access`: a change of sharing needs manager access on the
  // project sent in the same body; it is silently turned off otherwise.
  if (values.is_shared !== undefined && values.is_shared !== Boolean(row.is_shared) && !(await canShareIn(c, values.project_id ?? null))) {
    values.is_shared = false;
  }
  if (table === "search_filter") {
    const groupId = "search_filter_group_id" in values ? values.search_filter_group_id : row.search_filter_group_id;
    await checkSameSharingAsGroup(c, groupId ?? null, values.is_shared ?? Boolean(row.is_shared));
  }
  const updated = await transact(c, async (db) => {
    const result = (await db
      .updateTable(table)
      .set({ ...values, updated_at: utcNow() } as any)
      .where("id", "=", row.id)
      .returningAll()
      .executeTakeFirstOrThrow()) as Row;
    // The filters of a group follow its sharing, so that they stay editable.
    if (table === "search_filter_group" && values.is_shared !== undefined) {
      await db.updateTable("search_filter").set({ is_shared: result.is_shared }).where("search_filter_group_id", "=", row.id).execute();
    }
    return result;
  });
  return serialize(table, updated);
}

/** Deletes an own filter or group; as Zou, deleting a group deletes its filters. */
export async function deleteOwn(c: AppContext, table: FilterTable, row: Row): Promise<void> {
  await transact(c, async (db) => {
    if (table === "search_filter_group") await db.deleteFrom("search_filter").where("search_filter_group_id", "=", row.id).execute();
    await db.deleteFrom(table).where("id", "=", row.id).execute();
  });
}
