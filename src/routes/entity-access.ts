/** Route helpers shared by the shot and sequence routes: loading an entity or a criterion and checking access to it. */
import type { AppContext } from "../context";
import { queryId } from "../lib/ids";
import { checkProjectAccess } from "../services/permissions";
import { checkEntityRead, loadEntity, type EntityKind, type EntityRow } from "../services/entities";

/** Loads the entity of a path parameter, then checks project and vendor entity access. */
export async function readableEntity(c: AppContext, param: string, kind: EntityKind, vendorCheck = true): Promise<EntityRow> {
  const row = await loadEntity(c, c.req.param(param), kind);
  if (vendorCheck) await checkEntityRead(c, row);
  else await checkProjectAccess(c, row.project_id);
  return row;
}

/** A query-string criterion naming an entity of a kind (400 malformed, 404 unknown). */
export async function criterionEntity(c: AppContext, value: string, kind: EntityKind): Promise<EntityRow> {
  return loadEntity(c, queryId(value), kind);
}

/** `check_project_access` on the `project_id` criterion (required for non-admins). */
export async function criterionProjectAccess(c: AppContext, projectId: string | undefined): Promise<string | null> {
  await checkProjectAccess(c, projectId ?? null);
  return projectId ?? null;
}
