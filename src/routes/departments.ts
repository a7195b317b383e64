/**
 * Routes of the `departments` area of routes.tsv: software licenses and hardware items linked to
 * departments (budget forecasting). Admin only. Membership of persons lives in routes/persons.ts.
 */
import type { Hono } from "hono";
import * as v from "valibot";
import type { AppContext, AppEnv } from "../context";
import { readLooseBody, validate } from "../lib/body";
import { notFound, WRONG_ID_FORMAT } from "../lib/errors";
import { isUuid, normalizeId } from "../lib/ids";
import {
  DEPARTMENT_LINK_KINDS,
  departmentLinkedRows,
  existingDepartmentId,
  linkToDepartment,
  unlinkFromDepartment,
} from "../services/departments";
import { checkAdmin } from "../services/permissions";

/** A path id: 400 when malformed (`check_id_parameter`). */
function pathId(value: string | undefined): string {
  if (!isUuid(value)) throw WRONG_ID_FORMAT();
  return normalizeId(value);
}

async function loadDepartment(c: AppContext): Promise<string> {
  const id = await existingDepartmentId(c.get("db"), pathId(c.req.param("department_id")));
  if (!id) throw notFound();
  return id;
}

export function registerDepartments(app: Hono<AppEnv>): void {
  for (const kind of DEPARTMENT_LINK_KINDS) {
    const Body = v.object({ [kind.column]: v.pipe(v.string(`${kind.column} is required.`), v.nonEmpty(`${kind.column} is required.`)) });

    app.get(`/data/departments/${kind.segment}`, async (c) => {
      checkAdmin(c);
      return c.json(await departmentLinkedRows(c.get("db"), kind));
    });

    app.post(`/data/departments/:department_id/${kind.segment}`, async (c) => {
      checkAdmin(c);
      const departmentId = await loadDepartment(c);
      const body = validate(Body, await readLooseBody(c)) as Record<string, string>;
      const itemId = pathId(body[kind.column]);
      return c.json(await linkToDepartment(c, kind, departmentId, itemId), 201);
    });

    app.get(`/data/departments/:department_id/${kind.segment}/:${kind.column}`, async (c) => {
      checkAdmin(c);
      const departmentId = await loadDepartment(c);
      return c.json((await departmentLinkedRows(c.get("db"), kind, departmentId))[departmentId] ?? []);
    });

    app.delete(`/data/departments/:department_id/${kind.segment}/:${kind.column}`, async (c) => {
      checkAdmin(c);
      const departmentId = await loadDepartment(c);
      const itemId = pathId(c.req.param(kind.column));
      await unlinkFromDepartment(c, kind, departmentId, itemId);
      return c.body(null, 204);
    });
  }
}
