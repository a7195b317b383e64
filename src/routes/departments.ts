/**
 * Routes of the `departments` area of routes.tsv: software licenses and hardware items linked to
 * departments (budget forecasting). Admin only. Membership of persons lives in routes/persons.ts.
 */
import type { Hono } from "hono";
import * as v from "valibot";
import type { AppContext, AppEnv } from "../context";
import { serialize } from "../db/serialize";
import { transact } from "../db/transaction";
import type { TableName } from "../db/tables.generated";
import { readLooseBody, validate } from "../lib/body";
import { badRequest, notFound, WRONG_ID_FORMAT } from "../lib/errors";
import { isUuid, newId, normalizeId, utcNow } from "../lib/ids";
import { checkAdmin } from "../services/permissions";

type Row = Record<string, any>;

interface LinkKind {
  /** Path segment. */
  segment: string;
  /** Linked table and its id column in the link table. */
  table: "software" | "hardware_item";
  column: "software_id" | "hardware_item_id";
  link: "software_department_link" | "hardware_item_department_link";
  label: string;
}

const KINDS: LinkKind[] = [
  { segment: "software-licenses", table: "software", column: "software_id", link: "software_department_link", label: "software" },
  { segment: "hardware-items", table: "hardware_item", column: "hardware_item_id", link: "hardware_item_department_link", label: "hardware item" },
];

/** A path id: 400 when malformed (`check_id_parameter`). */
function pathId(value: string | undefined): string {
  if (!isUuid(value)) throw WRONG_ID_FORMAT();
  return normalizeId(value);
}

async function loadDepartment(c: AppContext): Promise<string> {
  const id = pathId(c.req.param("department_id"));
  const row = await c.get("db").selectFrom("department").select("id").where("id", "=", id).executeTakeFirst();
  if (!row) throw notFound();
  return row.id;
}

/** Linked rows per department: `{department_id: [serialized rows]}` (or the list of one department). */
async function linkedRows(c: AppContext, kind: LinkKind, departmentId?: string): Promise<Record<string, Row[]>> {
  let query = c
    .get("db")
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

export function registerDepartments(app: Hono<AppEnv>): void {
  for (const kind of KINDS) {
    const Body = v.object({ [kind.column]: v.pipe(v.string(`${kind.column} is required.`), v.nonEmpty(`${kind.column} is required.`)) });

    app.get(`/data/departments/${kind.segment}`, async (c) => {
      checkAdmin(c);
      return c.json(await linkedRows(c, kind));
    });

    app.post(`/data/departments/:department_id/${kind.segment}`, async (c) => {
      checkAdmin(c);
      const departmentId = await loadDepartment(c);
      const body = validate(Body, await readLooseBody(c)) as Record<string, string>;
      const itemId = pathId(body[kind.column]);
      const db = c.get("db");
      const item = await db.selectFrom(kind.table).select("id").where("id", "=", itemId).executeTakeFirst();
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
      return c.json(serialize(kind.link, link), 201);
    });

    app.get(`/data/departments/:department_id/${kind.segment}/:${kind.column}`, async (c) => {
      checkAdmin(c);
      const departmentId = await loadDepartment(c);
      return c.json((await linkedRows(c, kind, departmentId))[departmentId] ?? []);
    });

    app.delete(`/data/departments/:department_id/${kind.segment}/:${kind.column}`, async (c) => {
      checkAdmin(c);
      const departmentId = await loadDepartment(c);
      const itemId = pathId(c.req.param(kind.column));
      await transact(c, (db) =>
        db.deleteFrom(kind.link as TableName).where("department_id" as any, "=", departmentId).where(kind.column as any, "=", itemId).execute());
      return c.body(null, 204);
    });
  }
}
