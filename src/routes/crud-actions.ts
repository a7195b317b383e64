/**
 * Routes of crud-area actions (routes.tsv area `crud`, models.md §4.2): the global task type
 * reorder, the project workflow links (`POST /data/task-type-links`, `/data/task-status-links`,
 * upserts) and their per-project reorders.
 */
import type { Hono } from "hono";
import * as v from "valibot";
import type { AppContext, AppEnv } from "../context";
import { loadServiceRow } from "../db/rows";
import { parseBody } from "../lib/body";
import { numberSchema } from "../lib/validation";
import { isUuid, normalizeId } from "../lib/ids";

const WRONG_ID_FORMAT_MESSAGE = "One of the ID sent in parameter is not properly formatted.";
import { checkAdmin, checkManagerProjectAccess } from "../services/permissions";
import { reorderProjectLinks, reorderTaskTypes, TASK_STATUS_LINKS, TASK_TYPE_LINKS, upsertProjectLink, type LinkKind } from "../services/workflow-links";

const ROLES = ["user", "admin", "supervisor", "manager", "client", "vendor"] as const;

const uuidString = v.pipe(
  v.string(),
  v.check((value) => isUuid(value), WRONG_ID_FORMAT_MESSAGE),
  v.transform((value) => normalizeId(value)),
);
const priority = v.optional(numberSchema({ min: 0, max: 2_147_483_647, integer: true }), 1);
const idList = v.array(uuidString);

/** The project of a project route: 404 when malformed or unknown, then manager access (403). */
async function managedProject(c: AppContext, rawId: string | undefined): Promise<string> {
  const projectId = (await loadServiceRow(c.get("db"), "project", rawId)).id as string;
  await checkManagerProjectAccess(c, projectId);
  return projectId;
}

/** POST /data/task-type-links and /data/task-status-links: upsert one link (manager of the project). */
function linkUpsertRoute(app: Hono<AppEnv>, path: string, kind: LinkKind): void {
  const schema =
    kind === TASK_STATUS_LINKS
      ? v.object({ project_id: uuidString, task_status_id: uuidString, priority, roles_for_board: v.optional(v.nullable(v.array(v.picklist(ROLES)))) })
      : v.object({ project_id: uuidString, task_type_id: uuidString, priority });
  app.post(path, async (c) => {
    const body = (await parseBody(c, schema)) as Record<string, unknown> & { project_id: string; priority: number };
    await checkManagerProjectAccess(c, body.project_id);
    const targetId = body[kind.column] as string;
    const roles = body.roles_for_board as string[] | null | undefined;
    return c.json(await upsertProjectLink(c, kind, body.project_id, targetId, { priority: body.priority, roles_for_board: roles ?? undefined }), 201);
  });
}

/** POST /actions/projects/{project_id}/<links>/reorder: priorities 1..n from an ordered id list. */
function linkReorderRoute(app: Hono<AppEnv>, path: string, kind: LinkKind, listKey: "task_type_ids" | "task_status_ids"): void {
  const schema = v.object({ [listKey]: idList });
  app.post(path, async (c) => {
    const projectId = await managedProject(c, c.req.param("project_id"));
    const ids = [...new Set((await parseBody(c, schema))[listKey] as string[])];
    return c.json(await reorderProjectLinks(c, kind, projectId, ids));
  });
}

export function registerCrudActions(app: Hono<AppEnv>): void {
  app.post("/actions/task-types/reorder", async (c) => {
    checkAdmin(c);
    const { task_type_ids } = await parseBody(c, v.object({ task_type_ids: idList }));
    const ids = [...new Set(task_type_ids)];
    return c.json(await reorderTaskTypes(c, ids));
  });

  linkUpsertRoute(app, "/data/task-type-links", TASK_TYPE_LINKS);
  linkUpsertRoute(app, "/data/task-status-links", TASK_STATUS_LINKS);
  linkReorderRoute(app, "/actions/projects/:project_id/task-type-links/reorder", TASK_TYPE_LINKS, "task_type_ids");
  linkReorderRoute(app, "/actions/projects/:project_id/task-status-links/reorder", TASK_STATUS_LINKS, "task_status_ids");
}
