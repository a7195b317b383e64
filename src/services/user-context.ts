/**
 * What the caller's own views are built from (`/data/user/*`): the bootstrap context Kitsu loads
 * first (kitsu-client.md §3), the open projects with their extra data, saved
 * filters, and the small shared shapers these need (full entity names, person forms).
 */
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import { loadRelations } from "../db/rows";
import { serialize } from "../db/serialize";
import type { TableName } from "../db/tables.generated";
import { selectIn } from "../lib/chunks";
import { entityKind } from "../lib/entity-kinds";
import { isAdmin, isManagerGlobally, userDepartmentIds } from "./permissions";
import { departmentIdsByPerson, presentPerson } from "./persons";
import { listOpenProjects } from "./projects";
import { unreadNotificationCount } from "./notifications";

type Row = Record<string, any>;
type Dict = Record<string, unknown>;

export const OPEN_STATUS_NAMES = ["Active", "open", "Open"];

/** Ids of the open projects: every open project for `all`, else those whose team includes `personId`. */
export async function openProjectIds(db: Db, personId: string | null): Promise<string[]> {
  let query = db
    .selectFrom("project")
    .innerJoin("project_status", "project_status.id", "project.project_status_id")
    .select("project.id")
    .where("project_status.name", "in", OPEN_STATUS_NAMES);
  if (personId) {
    query = query.innerJoin("project_person_link", "project_person_link.project_id", "project.id").where("project_person_link.person_id", "=", personId);
  }
  return (await query.execute()).map((r) => r.id);
}

/** Who reads a filter list: the caller, whether they manage globally, and their departments. */
export async function filterViewer(c: AppContext): Promise<{ id: string; isManager: boolean; departmentIds: string[] }> {
  const user = c.get("user");
  return { id: user.id, isManager: isManagerGlobally(user), departmentIds: await userDepartmentIds(c) };
}

/**
 * The caller's saved filters (or filter groups) plus the ones shared by others, grouped by list
 * type then project id (`all` without project), as Zou `get_user_filters`: rows of closed projects
 * are left out, and a row bound to a department shows only to managers and to that department.
 */
export async function groupedFilters(
  db: Db,
  table: "search_filter" | "search_filter_group",
  viewer: { id: string; isManager: boolean; departmentIds: string[] },
): Promise<Dict> {
  const rows = (await db
    .selectFrom(table)
    .leftJoin("project", "project.id", `${table}.project_id` as any)
    .leftJoin("project_status", "project_status.id", "project.project_status_id")
    .selectAll(table)
    .select("project_status.name as project_status_name")
    .where((eb: any) => eb.or([eb(`${table}.person_id`, "=", viewer.id), eb(`${table}.is_shared`, "=", true)]))
    // Zou lists the groups newest first.
    .orderBy(`${table}.created_at` as any, table === "search_filter_group" ? "desc" : "asc")
    .execute()) as Row[];
  const result: Record<string, Record<string, Dict[]>> = {};
  for (const row of rows) {
    if (row.project_id && !OPEN_STATUS_NAMES.includes(row.project_status_name)) continue;
    if (row.department_id && !viewer.isManager && !viewer.departmentIds.includes(row.department_id)) continue;
    const projectKey = row.project_id ?? "all";
    const byList = (result[row.list_type] ??= {});
    (byList[projectKey] ??= []).push(serialize(table, row));
  }
  return result;
}

/** Serialized rows of a whole reference table, ordered by name when it has one. */
async function allRows(db: Db, table: TableName, typeName?: string): Promise<Dict[]> {
  const rows = (await db.selectFrom(table).selectAll().execute()) as Row[];
  return rows.map((row) => serialize(table, row, typeName ? { typeName } : {}));
}

/** Plugin `present()` form (models.md §1.3, no `type`). */
function presentPlugin(row: Row): Dict {
  const s = serialize("plugin", row);
  const keys = ["id", "plugin_id", "name", "description", "version", "maintainer_name", "maintainer_email", "frontend_project_enabled", "frontend_studio_enabled", "icon"];
  return Object.fromEntries(keys.map((k) => [k, s[k]]));
}

/** `GET /data/user/context`: every key Kitsu reads at bootstrap (kitsu-client.md §3). */
export async function userContext(c: AppContext): Promise<Dict> {
  const db = c.get("db");
  const user = c.get("user");
  const entityTypes = (await db.selectFrom("entity_type").selectAll().orderBy("name").execute()) as Row[];
  const assetTypeRows = entityTypes.filter((t) => entityKind(t.name) === "Asset");
  const assetTypeRelations = await loadRelations(db, "entity_type", assetTypeRows.map((t) => t.id));
  const asset_types = assetTypeRows.map((row) => ({ ...serialize("entity_type", row, { typeName: "AssetType" }), ...assetTypeRelations.get(row.id) }));
  const personRows = (await db
    .selectFrom("person")
    .selectAll()
    .where((eb) => eb.or([eb("is_guest", "=", false), eb("is_guest", "is", null)]))
    .orderBy("last_name")
    .orderBy("first_name")
    .execute()) as Row[];
  const departments = await departmentIdsByPerson(db, personRows.map((p) => p.id));
  const form = isManagerGlobally(user) ? "full" : "minimal";
  const links = await db.selectFrom("project_person_link").select(["project_id", "role"]).where("person_id", "=", user.id).execute();
  const project_roles: Record<string, string> = {};
  for (const link of links) if (link.role) project_roles[link.project_id] = link.role;
  const viewer = await filterViewer(c);
  const context: Dict = {
    asset_types,
    custom_actions: await allRows(db, "custom_action"),
    status_automations: await allRows(db, "status_automation"),
    departments: await allRows(db, "department"),
    studios: await allRows(db, "studio"),
    notification_count: await unreadNotificationCount(db, user.id),
    persons: personRows.map((row) => presentPerson(c, row, form, departments.get(row.id) ?? [])),
    project_status: await allRows(db, "project_status"),
    project_roles,
    projects: await listOpenProjects(c),
    task_types: await allRows(db, "task_type"),
    task_status: await allRows(db, "task_status"),
    search_filters: await groupedFilters(db, "search_filter", viewer),
    search_filter_groups: await groupedFilters(db, "search_filter_group", viewer),
    preview_background_files: await allRows(db, "preview_background_file"),
    plugins: ((await db.selectFrom("plugin").selectAll().execute()) as Row[]).map(presentPlugin),
  };
  if (isAdmin(user)) context.user_limit = c.get("config").userLimit;
  return context;
}
