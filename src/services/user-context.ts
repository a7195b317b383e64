/**
 * What the caller's own views are built from (`/data/user/*`): the bootstrap context Kitsu loads
 * first (kitsu-client.md §3), the open projects with their extra data, the todo lists, saved
 * filters, and the small shared shapers these need (full entity names, person forms).
 */
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import { loadRelations } from "../crud/engine";
import { serialize } from "../db/serialize";
import type { TableName } from "../db/tables.generated";
import { chunks } from "../lib/chunks";
import { entityKind } from "../lib/entity-kinds";
import { isAdmin, isManagerGlobally } from "./permissions";
import { departmentIdsByPerson, presentPerson } from "./persons";
import { listOpenProjects } from "./projects";
import { unreadNotificationCount } from "./notifications";

type Row = Record<string, any>;
type Dict = Record<string, unknown>;

export const OPEN_STATUS_NAMES = ["Active", "open", "Open"];

/** Rows of `table` whose `column` is in `values`, chunked. */
export async function selectIn(db: Db, table: TableName, column: string, values: string[]): Promise<Row[]> {
  const unique = [...new Set(values.filter(Boolean))];
  const rows: Row[] = [];
  for (const part of chunks(unique)) {
    rows.push(...((await db.selectFrom(table).selectAll().where(column as any, "in", part).execute()) as Row[]));
  }
  return rows;
}

export interface EntityName {
  name: string;
  episodeId: string | null;
}

/**
 * Full display names of entities (`names_service.get_full_entity_name`): shots and scenes
 * "[Episode / ]Sequence / Shot", sequences "[Episode / ]Sequence", assets "Type / Asset" (their
 * episode is `source_id`), other kinds their own name. Three flat queries for any number of ids.
 */
export async function fullEntityNames(db: Db, ids: string[]): Promise<Map<string, EntityName>> {
  const result = new Map<string, EntityName>();
  const entities = await selectIn(db, "entity", "id", ids);
  if (entities.length === 0) return result;
  const parents = await selectIn(db, "entity", "id", entities.map((e) => e.parent_id));
  const grandParents = await selectIn(db, "entity", "id", parents.map((e) => e.parent_id));
  const byId = new Map<string, Row>([...entities, ...parents, ...grandParents].map((e) => [e.id, e]));
  const types = await selectIn(db, "entity_type", "id", [...byId.values()].map((e) => e.entity_type_id));
  const typeName = new Map<string, string>(types.map((t) => [t.id, t.name]));
  for (const entity of entities) {
    const kind = typeName.get(entity.entity_type_id);
    const parent = entity.parent_id ? byId.get(entity.parent_id) : undefined;
    let name: string = entity.name;
    let episodeId: string | null = null;
    if (kind === "Shot" || kind === "Scene") {
      const episode = parent?.parent_id ? byId.get(parent.parent_id) : undefined;
      if (parent && episode) {
        name = `${episode.name} / ${parent.name} / ${entity.name}`;
        episodeId = episode.id;
      } else if (parent) {
        name = `${parent.name} / ${entity.name}`;
      }
    } else if (kind === "Sequence" || kind === "Edit") {
      if (parent) {
        name = `${parent.name} / ${entity.name}`;
        episodeId = parent.id;
      }
    } else if (kind === "Episode") {
      episodeId = entity.id;
    } else if (kind !== "Concept") {
      name = `${kind ?? ""} / ${entity.name}`;
      episodeId = entity.source_id ?? null;
    }
    result.set(entity.id, { name, episodeId });
  }
  return result;
}

/** Short author form embedded in news and comments: `{id, first_name, last_name, full_name, has_avatar, is_bot, is_guest}`. */
export async function shortPersonsMap(db: Db, ids: string[]): Promise<Map<string, Dict>> {
  const rows = await selectIn(db, "person", "id", ids);
  return new Map(
    rows.map((row) => {
      const dict = serialize("person", row);
      return [row.id, {
        id: dict.id, first_name: dict.first_name, last_name: dict.last_name, full_name: dict.full_name,
        has_avatar: dict.has_avatar, is_bot: dict.is_bot, is_guest: dict.is_guest,
      }];
    }),
  );
}

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

/** Search filters (or filter groups) of a person, grouped `{list_type: {project_id | "all": [..]}}`; closed projects left out. */
export async function groupedFilters(db: Db, table: "search_filter" | "search_filter_group", personId: string): Promise<Dict> {
  const rows = (await db
    .selectFrom(table)
    .leftJoin("project", "project.id", `${table}.project_id` as any)
    .leftJoin("project_status", "project_status.id", "project.project_status_id")
    .selectAll(table)
    .select("project_status.name as project_status_name")
    .where(`${table}.person_id` as any, "=", personId)
    .orderBy(`${table}.created_at` as any)
    .execute()) as Row[];
  const result: Record<string, Record<string, Dict[]>> = {};
  for (const row of rows) {
    if (row.project_id && !OPEN_STATUS_NAMES.includes(row.project_status_name)) continue;
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
    search_filters: await groupedFilters(db, "search_filter", user.id),
    search_filter_groups: await groupedFilters(db, "search_filter_group", user.id),
    preview_background_files: await allRows(db, "preview_background_file"),
    plugins: ((await db.selectFrom("plugin").selectAll().execute()) as Row[]).map(presentPlugin),
  };
  if (isAdmin(user)) context.user_limit = c.get("config").userLimit;
  return context;
}

/**
 * Tasks waiting for feedback (`get_person_tasks_to_check`) in the given projects, limited to the
 * task types of `departmentIds` when there are any; shaped like the todo list rows (project,
 * entity, sequence/episode, type and status names and colors, assignees, cast-in episodes of
 * assets, last non-client comment). Flat queries, grouped in memory.
 */
export async function tasksToCheck(db: Db, projectIds: string[], departmentIds: string[]): Promise<Dict[]> {
  if (projectIds.length === 0) return [];
  const rows: Row[] = [];
  for (const part of chunks(projectIds)) {
    let query = db
      .selectFrom("task")
      .innerJoin("project", "project.id", "task.project_id")
      .innerJoin("task_type", "task_type.id", "task.task_type_id")
      .innerJoin("task_status", "task_status.id", "task.task_status_id")
      .innerJoin("entity", "entity.id", "task.entity_id")
      .innerJoin("entity_type", "entity_type.id", "entity.entity_type_id")
      .leftJoin("entity as sequence", "sequence.id", "entity.parent_id")
      .leftJoin("entity as episode", "episode.id", "sequence.parent_id")
      .selectAll("task")
      .select([
        "project.name as project_name", "project.has_avatar as project_has_avatar",
        "entity.name as entity_name", "entity.description as entity_description", "entity.data as entity_data",
        "entity.preview_file_id as entity_preview_file_id", "entity.canceled as entity_canceled",
        "entity.parent_id as entity_parent_id", "entity.source_id as entity_source_id",
        "entity_type.name as entity_type_name", "sequence.name as sequence_name",
        "episode.id as episode_id", "episode.name as episode_name",
        "task_type.name as task_type_name", "task_type.for_entity as task_type_for_entity",
        "task_type.color as task_type_color", "task_status.name as task_status_name",
        "task_status.color as task_status_color", "task_status.short_name as task_status_short_name",
      ])
      .where("task.project_id", "in", part)
      .where("task_status.is_feedback_request", "=", true as any);
    if (departmentIds.length > 0) query = query.where("task_type.department_id", "in", departmentIds);
    rows.push(...((await query.execute()) as Row[]));
  }
  rows.sort((a, b) =>
    String(a.project_name).localeCompare(String(b.project_name)) ||
    String(a.episode_name ?? "").localeCompare(String(b.episode_name ?? "")) ||
    String(a.sequence_name ?? "").localeCompare(String(b.sequence_name ?? "")) ||
    String(a.entity_type_name).localeCompare(String(b.entity_type_name)) ||
    String(a.entity_name).localeCompare(String(b.entity_name)) ||
    String(a.task_type_name).localeCompare(String(b.task_type_name)));
  const taskIds = rows.map((r) => r.id);
  // Episodes named by id: sequence-level tasks and assets bound to an episode through source_id.
  const extraEpisodeIds = rows.flatMap((r) => [r.entity_source_id, r.entity_type_name === "Sequence" ? r.entity_parent_id : null]);
  const extraEpisodes = new Map((await selectIn(db, "entity", "id", extraEpisodeIds)).map((e) => [e.id, e.name as string]));
  const assignees = new Map<string, string[]>();
  for (const link of await selectIn(db, "task_person_link", "task_id", taskIds)) {
    if (!assignees.has(link.task_id)) assignees.set(link.task_id, []);
    assignees.get(link.task_id)!.push(link.person_id);
  }
  const castIn = await castInEpisodes(db, rows.map((r) => r.entity_id));
  const lastComments = await lastCommentMap(db, taskIds);
  return rows.map((row) => {
    const task = serialize("task", row);
    let episodeId: string | null = row.episode_id ?? null;
    let episodeName: string | null = row.episode_name ?? null;
    if (!episodeId && row.entity_source_id) {
      episodeId = row.entity_source_id;
      episodeName = extraEpisodes.get(row.entity_source_id) ?? "MP";
    }
    if (row.entity_type_name === "Sequence" && row.entity_parent_id) {
      episodeId = row.entity_parent_id;
      episodeName = extraEpisodes.get(row.entity_parent_id) ?? null;
    }
    const dict: Dict = {
      ...task,
      project_name: row.project_name,
      project_id: row.project_id,
      project_has_avatar: Boolean(row.project_has_avatar),
      entity_id: row.entity_id,
      entity_name: row.entity_name,
      entity_description: row.entity_description,
      entity_data: serialize("entity", { data: row.entity_data }).data,
      entity_preview_file_id: row.entity_preview_file_id ?? "",
      entity_source_id: row.entity_source_id ?? "",
      entity_type_name: row.entity_type_name,
      entity_canceled: Boolean(row.entity_canceled),
      sequence_name: row.sequence_name ?? null,
      episode_id: episodeId ?? "",
      episode_name: episodeName,
      task_type_for_entity: row.task_type_for_entity,
      task_estimation: task.estimation,
      task_duration: task.duration,
      task_start_date: task.start_date,
      task_due_date: task.due_date,
      task_type_name: row.task_type_name,
      task_status_name: row.task_status_name,
      task_type_color: row.task_type_color,
      task_status_color: row.task_status_color,
      task_status_short_name: row.task_status_short_name,
      assignees: assignees.get(row.id) ?? [],
      last_comment: lastComments.get(row.id) ?? {},
    };
    const episodes = castIn.get(row.entity_id);
    if (episodes) {
      dict.episode_ids = episodes.map((e) => e.id);
      dict.episode_names = episodes.map((e) => e.name);
    }
    return dict;
  });
}

/** Episodes each entity is cast in (entity_link from an episode), ordered by episode name. */
async function castInEpisodes(db: Db, entityIds: string[]): Promise<Map<string, { id: string; name: string }[]>> {
  const result = new Map<string, { id: string; name: string }[]>();
  const unique = [...new Set(entityIds)];
  for (const part of chunks(unique)) {
    const rows = await db
      .selectFrom("entity_link")
      .innerJoin("entity as episode", "episode.id", "entity_link.entity_in_id")
      .innerJoin("entity_type", "entity_type.id", "episode.entity_type_id")
      .select(["entity_link.entity_out_id as entity_id", "episode.id", "episode.name"])
      .where("entity_type.name", "=", "Episode")
      .where("entity_link.entity_out_id", "in", part)
      .orderBy("episode.name")
      .execute();
    for (const row of rows) {
      if (!result.has(row.entity_id)) result.set(row.entity_id, []);
      result.get(row.entity_id)!.push({ id: row.id, name: row.name });
    }
  }
  return result;
}

/** Last comment of each task (`{text, date, person_id}`), ignoring comments written by clients of the project. */
async function lastCommentMap(db: Db, taskIds: string[]): Promise<Map<string, Dict>> {
  const result = new Map<string, Dict>();
  for (const part of chunks(taskIds)) {
    const rows = await db
      .selectFrom("comment")
      .innerJoin("person", "person.id", "comment.person_id")
      .innerJoin("task", "task.id", "comment.object_id")
      .leftJoin("project_person_link", (join) =>
        join.onRef("project_person_link.person_id", "=", "person.id").onRef("project_person_link.project_id", "=", "task.project_id"),
      )
      .select(["comment.object_id", "comment.text", "comment.created_at", "comment.person_id", "person.role", "project_person_link.role as project_role"])
      .where("comment.object_id", "in", part)
      .orderBy("comment.created_at")
      .execute();
    for (const row of rows) {
      if ((row.project_role ?? row.role) === "client") continue;
      result.set(row.object_id!, { text: row.text, date: serialize("comment", { created_at: row.created_at }).created_at, person_id: row.person_id });
    }
  }
  return result;
}

