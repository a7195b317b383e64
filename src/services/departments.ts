/**
 * Departments: the software licenses and hardware items linked to them (budget forecasting) and
 * the membership of persons.
 */
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import { serialize } from "../db/serialize";
import { transact } from "../db/transaction";
import type { TableName } from "../db/tables.generated";
import { badRequest } from "../lib/errors";
import { newId, utcNow } from "../lib/ids";
import { emitPersonUpdate } from "./person-updates";

type Row = Record<string, any>;

/** A kind of item linked to departments. */
export interface DepartmentLinkKind {
  /** Path segment. */
  segment: string;
  /** Linked table and its id column in the link table. */
  table: "software" | "hardware_item";
  column: "software_id" | "hardware_item_id";
  link: "software_department_link" | "hardware_item_department_link";
  label: string;
}

export const DEPARTMENT_LINK_KINDS: DepartmentLinkKind[] = [
  { segment: "software-licenses", table: "software", column: "software_id", link: "software_department_link", label: "software" },
  { segment: "hardware-items", table: "hardware_item", column: "hardware_item_id", link: "hardware_item_department_link", label: "hardware item" },
];

/** The id of the department `id`, undefined when there is none. */
export async function existingDepartmentId(db: Db, id: string): Promise<string | undefined> {
  const row = await db.selectFrom("department").select("id").where("id", "=", id).executeTakeFirst();
  return row?.id;
}

/** Linked rows per department: `{department_id: [serialized rows]}` (or the list of one department). */
export async function departmentLinkedRows(db: Db, kind: DepartmentLinkKind, departmentId?: string): Promise<Record<string, Row[]>> {
  let query = db
    .selectFrom(kind.link as TableName)
    .innerJoin(kind.table, `${kind.table}.id`, `${kind.link}.${kind.column}` as any)
    .selectAll(kind.table as any)
    .select(`${kind.link}.department_id as link_department_id` as any);
  if (departmentId) query = query.where(`${kind.link}.department_id` as any, "=", departmentId);
  const rows = (await query.orderBy(`${kind.table}.name` as any).execute()) as Row[];
  const result: Record<string, Row[]> = {};
  for (const row of rows) {
    const { link_department_id: department, ...item } = row;
    // Zou's grouped answer (all departments) lists the plain rows; one department's list adds department_id.
    (result[department] ??= []).push(departmentId ? { ...serialize(kind.table, item), department_id: department } : serialize(kind.table, item));
  }
  return result;
}

/** Links the item `itemId` to a department (400 when no such item); the existing link when there is one. Serialized. */
export async function linkToDepartment(c: AppContext, kind: DepartmentLinkKind, departmentId: string, itemId: string): Promise<Row> {
  const item = await c.get("db").selectFrom(kind.table).select("id").where("id", "=", itemId).executeTakeFirst();
  if (!item) throw badRequest(`${kind.column} matches no ${kind.label}.`);
  const link = await transact(c, async (trx) => {
    const existing = await trx
      .selectFrom(kind.link as TableName)
      .selectAll()
      .where("department_id" as any, "=", departmentId)
      .where(kind.column as any, "=", itemId)
      .executeTakeFirst();
    if (existing) return existing as Row;
    const now = utcNow();
    const row = { id: newId(), created_at: now, updated_at: now, department_id: departmentId, [kind.column]: itemId };
    await trx.insertInto(kind.link as TableName).values(row as any).execute();
    return row as Row;
  });
  return serialize(kind.link, link);
}

export async function unlinkFromDepartment(c: AppContext, kind: DepartmentLinkKind, departmentId: string, itemId: string): Promise<void> {
  await transact(c, (db) =>
    db.deleteFrom(kind.link as TableName).where("department_id" as any, "=", departmentId).where(kind.column as any, "=", itemId).execute());
}

/** Adds a person to a department (kept when already there) and emits `person:update`. */
export async function addPersonToDepartment(c: AppContext, personId: string, departmentId: string): Promise<void> {
  await transact(c, async (trx) => {
    const existing = await trx.selectFrom("department_link").select("person_id").where("person_id", "=", personId).where("department_id", "=", departmentId).executeTakeFirst();
    if (!existing) await trx.insertInto("department_link").values({ person_id: personId, department_id: departmentId }).execute();
    await emitPersonUpdate(c, personId);
  });
}

/** Removes a person from a department and emits `person:update`. */
export async function removePersonFromDepartment(c: AppContext, personId: string, departmentId: string): Promise<void> {
  await transact(c, async (trx) => {
    await trx.deleteFrom("department_link").where("person_id", "=", personId).where("department_id", "=", departmentId).execute();
    await emitPersonUpdate(c, personId);
  });
}
