/** Route helpers shared by the shot and sequence routes: loading an entity or a criterion and checking access to it. */
import type { AppContext } from "../context";
import { queryId } from "../lib/ids";
import { checkProjectAccess } from "../services/permissions";
import { checkEntityRead, loadEntity, type Dict, type EntityKind, type EntityRow } from "../services/entities";

/** Loads the entity of a path parameter, then checks project and vendor entity access. */
export async function readableEntity(c: AppContext, param: string, kind: EntityKind, vendorCheck = true): Promise<EntityRow> {
  const row = await loadEntity(c, c.req.param(param), kind);
  if (vendorCheck) await checkEntityRead(c, row);
  else await checkProjectAccess(c, row.project_id);
  return row;
}

/** A query-string criterion naming an entity of a kind (400 malformed, 404 unknown). */
async function criterionEntity(c: AppContext, value: string, kind: EntityKind): Promise<EntityRow> {
  return loadEntity(c, queryId(value), kind);
}

/** `check_project_access` on the `project_id` criterion (required for non-admins). */
export async function criterionProjectAccess(c: AppContext, projectId: string | undefined): Promise<string | null> {
  await checkProjectAccess(c, projectId ?? null);
  return projectId ?? null;
}

/**
 * A `GET /data/<kind>s/:id` handler: loads the entity (404), builds its full dict, then checks read
 * access (so an unknown id is a 404 before any 403), and answers the dict.
 */
export function fullEntityHandler(param: string, kind: EntityKind, full: (c: AppContext, row: EntityRow) => Promise<Dict>) {
  return async (c: AppContext): Promise<Response> => {
    const row = await loadEntity(c, c.req.param(param), kind);
    const dict = await full(c, row);
    await checkEntityRead(c, row);
    return c.json(dict);
  };
}

/**
 * Replaces a `<parent>_id` criterion (`sequence_id` of shots, `episode_id` of sequences) by the
 * parent's `project_id` and `parent_id` criteria (400 malformed, 404 unknown).
 */
export async function replaceParentCriterion(c: AppContext, params: Record<string, string>, key: string, kind: EntityKind): Promise<void> {
  const value = params[key];
  if (!value) return;
  const parent = await criterionEntity(c, value, kind);
  params.project_id = parent.project_id;
  params.parent_id = parent.id;
  delete params[key];
}
