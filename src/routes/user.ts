/**
 * Routes of the `user` area of routes.tsv: the caller's own views (`/data/user/*`) and actions
 * (`/actions/user/*`). Bots get 403 on all of them (`require_person`).
 */
import type { Hono, MiddlewareHandler } from "hono";
import * as v from "valibot";
import type { AppContext, AppEnv } from "../context";
import { serialize } from "../db/serialize";
import { transact } from "../db/transaction";
import type { TableName } from "../db/tables.generated";
import { readLooseBody, validate } from "../lib/body";
import { badRequest, notFound } from "../lib/errors";
import { RESERVED_ENTITY_TYPES, type EntityKind } from "../lib/entity-kinds";
import { isUuid, newId, normalizeId, parseDateTimeInput, queryId, serviceId, utcNow } from "../lib/ids";
import { parseBoolWord } from "../crud/values";
import { loadServiceRow } from "../db/rows";
import { requirePerson } from "../services/auth";
import {
  getNotification,
  isSubscribedToTask,
  getSequenceSubscription,
  listNotifications,
  markAllNotificationsRead,
  sequenceSubscriptionIds,
  setNotificationRead,
  subscribeToSequence,
  subscribeToTask,
  unsubscribeFromSequence,
  unsubscribeFromTask,
} from "../services/notifications";
import { effectiveRole, isAdmin, isMember, userDepartmentIds } from "../services/permissions";
import { listOpenProjects } from "../services/projects";
import { personTasks, tasksToCheck } from "../services/tasks";
import { addDays, createDesktopLoginLog, dayOffOn, desktopLoginLogs, findTimeSpent, personTimeSpents, requireDate, strictDate, timeSpentRows } from "../services/time-spents";
import { filterViewer, groupedFilters, openProjectIds, userContext } from "../services/user-context";
import { loadEntityWithKind } from "../services/entities";
import { personTaskReads, userContextReads } from "../services/list-reads";
import { declareAnswerReads, markWrites } from "../lib/answer-reads";
import { cachedResponse } from "../lib/response-cache";
import { chatsForPerson, joinChat, leaveChat, loadChatEntity } from "./chats";
import { clearAvatar } from "./persons";

type Row = Record<string, any>;
type Dict = Record<string, unknown>;

const personOnly: MiddlewareHandler<AppEnv> = async (c, next) => {
  requirePerson(c);
  await next();
};

// ---------------------------------------------------------------------------------------------
// Entities and tasks visible to the caller: open projects, tasks assigned to them.

/** Loads an entity of one kind (Asset = any non-reserved type) by path id; 404 otherwise. */
function loadEntityOfKind(c: AppContext, rawId: string | undefined, kind: string): Promise<Row> {
  return loadEntityWithKind(c.get("db"), rawId, kind as EntityKind);
}

function loadRow(c: AppContext, table: TableName, rawId: string | undefined): Promise<Row> {
  return loadServiceRow(c.get("db"), table, rawId);
}

/** Tasks of an entity assigned to the caller in open projects (`get_tasks_for_entity`). */
async function myTasksOn(c: AppContext, entityId: string): Promise<Row[]> {
  const projectIds = await openProjectIds(c.get("db"), null);
  if (projectIds.length === 0) return [];
  return (await c
    .get("db")
    .selectFrom("task")
    .selectAll()
    .where("entity_id", "=", entityId)
    .where("project_id", "in", projectIds)
    .where("id", "in", (eb) => eb.selectFrom("task_person_link").select("task_id").where("person_id", "=", c.get("user").id))
    .execute()) as Row[];
}

async function entityTasks(c: AppContext, kind: string, param: string): Promise<Response> {
  const entity = await loadEntityOfKind(c, c.req.param(param), kind);
  return c.json((await myTasksOn(c, entity.id)).map((row) => serialize("task", row)));
}

async function entityTaskTypes(c: AppContext, kind: string, param: string): Promise<Response> {
  const entity = await loadEntityOfKind(c, c.req.param(param), kind);
  const typeIds = [...new Set((await myTasksOn(c, entity.id)).map((t) => t.task_type_id))];
  if (typeIds.length === 0) return c.json([]);
  const rows = (await c.get("db").selectFrom("task_type").selectAll().where("id", "in", typeIds).orderBy("name").execute()) as Row[];
  return c.json(rows.map((row) => serialize("task_type", row)));
}

/**
 * Entities of a project (or of a parent) having a task assigned to the caller, directly or through
 * a child entity (`depth` levels below: sequences through their shots, episodes through sequences).
 */
async function myEntities(
  c: AppContext,
  filter: { projectId?: string; parentId?: string; typeNames?: string[]; assetTypeId?: string; assets?: boolean },
  depth: 0 | 1 | 2,
  childTypeNames: string[] = [],
): Promise<Row[]> {
  const db = c.get("db");
  const user = c.get("user");
  const projectIds = await openProjectIds(db, null);
  if (projectIds.length === 0) return [];
  const types = await db.selectFrom("entity_type").select(["id", "name"]).execute();
  const idsOf = (names: string[]) => types.filter((t) => names.includes(t.name)).map((t) => t.id);
  // Entities carrying the assigned tasks.
  const carriers = db
    .selectFrom("task")
    .select("task.entity_id")
    .where("task.project_id", "in", projectIds)
    .where("task.id", "in", (eb) => eb.selectFrom("task_person_link").select("task_id").where("person_id", "=", user.id));
  let ids = [...new Set((await carriers.execute()).map((r) => r.entity_id!))];
  for (let level = 0; level < depth; level += 1) {
    if (ids.length === 0) return [];
    const childTypes = idsOf([childTypeNames[level]!]);
    if (childTypes.length === 0) return [];
    const children = await db.selectFrom("entity").select("parent_id").where("id", "in", ids).where("entity_type_id", "in", childTypes).execute();
    ids = [...new Set(children.map((r) => r.parent_id).filter(Boolean) as string[])];
  }
  if (ids.length === 0) return [];
  let query = db.selectFrom("entity").selectAll().where("id", "in", ids);
  if (filter.projectId) query = query.where("project_id", "=", filter.projectId);
  if (filter.parentId) query = query.where("parent_id", "=", filter.parentId);
  if (filter.typeNames) {
    const typeIds = idsOf(filter.typeNames);
    if (typeIds.length === 0) return [];
    query = query.where("entity_type_id", "in", typeIds);
  }
  if (filter.assets) {
    const temporal = idsOf(RESERVED_ENTITY_TYPES);
    if (temporal.length > 0) query = query.where("entity_type_id", "not in", temporal);
  }
  if (filter.assetTypeId) query = query.where("entity_type_id", "=", filter.assetTypeId);
  return (await query.orderBy("name").execute()) as Row[];
}

function presentEntities(rows: Row[], typeName: string): Dict[] {
  return rows.map((row) => serialize("entity", row, { typeName }));
}

// ---------------------------------------------------------------------------------------------
// Filters and filter groups

const nonEmptyName = v.pipe(v.string("name is required."), v.nonEmpty("name is required."));

const FilterCreate = v.object({
  name: nonEmptyName,
  query: v.string("query is required."),
  list_type: v.optional(v.string(), "todo"),
  project_id: v.nullish(v.string()),
  entity_type: v.nullish(v.string()),
  is_shared: v.optional(v.unknown()),
  search_filter_group_id: v.nullish(v.string()),
  department_id: v.nullish(v.string()),
});

const GroupCreate = v.object({
  name: nonEmptyName,
  color: v.string("color is required."),
  list_type: v.optional(v.string(), "todo"),
  project_id: v.nullish(v.string()),
  entity_type: v.nullish(v.string()),
  is_shared: v.optional(v.unknown()),
  department_id: v.nullish(v.string()),
});

function boolValue(value: unknown, name: string): boolean {
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

type FilterTable = "search_filter" | "search_filter_group";

/** Column values shared by a new filter and a new filter group (ids checked in body order: project, group, department). */
async function newFilterValues(
  c: AppContext,
  body: v.InferOutput<typeof FilterCreate> | v.InferOutput<typeof GroupCreate>,
  table: FilterTable,
): Promise<Row> {
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
    const groupId = (body as v.InferOutput<typeof FilterCreate>).search_filter_group_id;
    values.search_filter_group_id = bodyIdFormat(groupId, "search_filter_group_id");
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
async function loadOwn(c: AppContext, table: FilterTable, rawId: string | undefined): Promise<Row> {
  const id = serviceId(rawId);
  const user = c.get("user");
  let query = c.get("db").selectFrom(table).selectAll().where("id", "=", id);
  if (!isAdmin(user)) query = query.where("person_id", "=", user.id);
  const row = await query.executeTakeFirst();
  if (!row) throw notFound();
  return row as Row;
}

async function insertOwn(c: AppContext, table: FilterTable, values: Row): Promise<Response> {
  const row = await transact(c, async (db) => {
    const now = utcNow();
    const inserted = (await db
      .insertInto(table)
      .values({ id: newId(), created_at: now, updated_at: now, person_id: c.get("user").id, ...values } as any)
      .returningAll()
      .executeTakeFirstOrThrow()) as Row;
    return inserted;
  });
  return c.json(serialize(table, row), 201);
}

/** PUT on an own filter or group: only the listed keys; null values are ignored except where allowed. */
async function updateOwn(c: AppContext, table: FilterTable, keys: string[], nullable: string[]): Promise<Response> {
  const row = await loadOwn(c, table, c.req.param(table === "search_filter" ? "filter_id" : "filter_group_id"));
  const body = await readLooseBody(c);
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
  return c.json(serialize(table, updated));
}

async function deleteOwn(c: AppContext, table: FilterTable): Promise<Response> {
  const row = await loadOwn(c, table, c.req.param(table === "search_filter" ? "filter_id" : "filter_group_id"));
  await transact(c, async (db) => {
    // As Zou, deleting a group deletes its filters.
    if (table === "search_filter_group") await db.deleteFrom("search_filter").where("search_filter_group_id", "=", row.id).execute();
    await db.deleteFrom(table).where("id", "=", row.id).execute();
  });
  return c.body(null, 204);
}

// ---------------------------------------------------------------------------------------------
// Query arguments

function dateTimeArg(c: AppContext, name: string): string | null {
  const value = c.req.query(name);
  if (value === undefined || value === "") return null;
  const parsed = parseDateTimeInput(value);
  if (!parsed) throw badRequest(`Wrong date format for ${name}: ${value}`);
  return parsed;
}

function idArg(c: AppContext, name: string): string | null {
  const value = c.req.query(name);
  return value ? queryId(value) : null;
}

function boolArg(c: AppContext, name: string): boolean | null {
  const value = c.req.query(name);
  if (value === undefined || value === "") return null;
  const parsed = parseBoolWord(value);
  if (parsed === null) throw badRequest(`${name} must be a boolean.`);
  return parsed;
}

const TaskIdsBody = v.object({
  task_ids: v.array(v.pipe(v.string(), v.check((value) => isUuid(value), "One of the ID sent in parameter is not properly formatted.")), "task_ids must be a list of task ids."),
});

export function registerUser(app: Hono<AppEnv>): void {
  app.use("/data/user/*", personOnly);
  app.use("/actions/user/*", personOnly);

  app.get("/data/user/context", (c) => cachedResponse(c, async () => {
    const mark = markWrites(c);
    const context = await userContext(c);
    declareAnswerReads(c, mark, await userContextReads(c.get("db"), c.get("user").id));
    return c.json(context);
  }));

  // Tasks and task types of the caller on an entity.
  app.get("/data/user/assets/:asset_id/tasks", (c) => entityTasks(c, "Asset", "asset_id"));
  app.get("/data/user/shots/:shot_id/tasks", (c) => entityTasks(c, "Shot", "shot_id"));
  app.get("/data/user/scenes/:scene_id/tasks", (c) => entityTasks(c, "Scene", "scene_id"));
  app.get("/data/user/sequences/:sequence_id/tasks", (c) => entityTasks(c, "Sequence", "sequence_id"));
  app.get("/data/user/assets/:asset_id/task-types", (c) => entityTaskTypes(c, "Asset", "asset_id"));
  app.get("/data/user/shots/:shot_id/task-types", (c) => entityTaskTypes(c, "Shot", "shot_id"));
  app.get("/data/user/scenes/:scene_id/task-types", (c) => entityTaskTypes(c, "Scene", "scene_id"));
  app.get("/data/user/sequences/:sequence_id/task-types", (c) => entityTaskTypes(c, "Sequence", "sequence_id"));

  // Projects and their entities as the caller sees them.
  app.get("/data/user/projects/open", async (c) => c.json(await listOpenProjects(c, c.req.query("name") || undefined)));
  app.get("/data/user/projects/:project_id/asset-types", async (c) => {
    const project = await loadRow(c, "project", c.req.param("project_id"));
    const assets = await myEntities(c, { projectId: project.id, assets: true }, 0);
    const typeIds = [...new Set(assets.map((a) => a.entity_type_id))];
    if (typeIds.length === 0) return c.json([]);
    const types = (await c.get("db").selectFrom("entity_type").selectAll().where("id", "in", typeIds).orderBy("name").execute()) as Row[];
    return c.json(types.map((row) => serialize("entity_type", row, { typeName: "AssetType" })));
  });
  app.get("/data/user/projects/:project_id/asset-types/:asset_type_id/assets", async (c) => {
    const project = await loadRow(c, "project", c.req.param("project_id"));
    const assetType = await loadRow(c, "entity_type", c.req.param("asset_type_id"));
    return c.json(presentEntities(await myEntities(c, { projectId: project.id, assetTypeId: assetType.id }, 0), "Asset"));
  });
  // Sequences of an open project holding a shot with a task assigned to the caller (404 for an unknown project).
  app.get("/data/user/projects/:project_id/sequences", async (c) => {
    const project = await loadRow(c, "project", c.req.param("project_id"));
    return c.json(presentEntities(await myEntities(c, { projectId: project.id, typeNames: ["Sequence"] }, 1, ["Shot"]), "Sequence"));
  });
  app.get("/data/user/projects/:project_id/episodes", async (c) => {
    const project = await loadRow(c, "project", c.req.param("project_id"));
    return c.json(presentEntities(await myEntities(c, { projectId: project.id, typeNames: ["Episode"] }, 2, ["Shot", "Sequence"]), "Episode"));
  });
  app.get("/data/user/sequences/:sequence_id/shots", async (c) => {
    const sequence = await loadEntityOfKind(c, c.req.param("sequence_id"), "Sequence");
    return c.json(presentEntities(await myEntities(c, { parentId: sequence.id, typeNames: ["Shot"] }, 0), "Shot"));
  });
  app.get("/data/user/sequences/:sequence_id/scenes", async (c) => {
    const sequence = await loadEntityOfKind(c, c.req.param("sequence_id"), "Sequence");
    return c.json(presentEntities(await myEntities(c, { parentId: sequence.id, typeNames: ["Scene"] }, 0), "Scene"));
  });

  // Todo lists.
  /** The caller's todo or done list, kept while no write concerns it. */
  const ownTaskList = (c: AppContext, done: boolean) => cachedResponse(c, async () => {
    const mark = markWrites(c);
    const user = c.get("user");
    const tasks = await personTasks(c.get("db"), user.id, await openProjectIds(c.get("db"), user.id), done);
    declareAnswerReads(c, mark, await personTaskReads(c.get("db"), user.id));
    return c.json(tasks);
  });
  app.get("/data/user/tasks", (c) => ownTaskList(c, false));
  app.get("/data/user/done-tasks", (c) => ownTaskList(c, true));
  app.get("/data/user/tasks-to-check", async (c) => {
    const user = c.get("user");
    if (!["admin", "manager", "supervisor"].includes(user.role)) return c.json([]);
    const db = c.get("db");
    // Admins check the tasks of every open project, whatever their departments.
    if (user.role === "admin") return c.json(await tasksToCheck(db, await openProjectIds(db, null), []));
    // Managers check every department's tasks; supervisors those of their departments.
    const departments = user.role === "manager" ? [] : await userDepartmentIds(c);
    return c.json(await tasksToCheck(db, await openProjectIds(db, user.id), departments));
  });

  // Saved filters and filter groups.
  app.get("/data/user/filters", async (c) => c.json(await groupedFilters(c.get("db"), "search_filter", await filterViewer(c))));
  app.post("/data/user/filters", async (c) => {
    const body = validate(FilterCreate, await readLooseBody(c));
    return insertOwn(c, "search_filter", { ...(await newFilterValues(c, body, "search_filter")), search_query: body.query });
  });
  app.put("/data/user/filters/:filter_id", (c) =>
    updateOwn(c, "search_filter", ["name", "search_query", "search_filter_group_id", "is_shared", "project_id", "department_id"], ["search_filter_group_id"]),
  );
  app.delete("/data/user/filters/:filter_id", (c) => deleteOwn(c, "search_filter"));

  app.get("/data/user/filter-groups", async (c) => c.json(await groupedFilters(c.get("db"), "search_filter_group", await filterViewer(c))));
  app.post("/data/user/filter-groups", async (c) => {
    const body = validate(GroupCreate, await readLooseBody(c));
    return insertOwn(c, "search_filter_group", { ...(await newFilterValues(c, body, "search_filter_group")), color: body.color });
  });
  app.get("/data/user/filter-groups/:filter_group_id", async (c) =>
    c.json(serialize("search_filter_group", await loadOwn(c, "search_filter_group", c.req.param("filter_group_id")))),
  );
  app.put("/data/user/filter-groups/:filter_group_id", (c) =>
    updateOwn(c, "search_filter_group", ["name", "color", "is_shared", "project_id", "department_id"], []),
  );
  app.delete("/data/user/filter-groups/:filter_group_id", (c) => deleteOwn(c, "search_filter_group"));

  // Desktop logins, time spents and days off of the caller.
  app.get("/data/user/desktop-login-logs", async (c) => c.json(await desktopLoginLogs(c.get("db"), c.get("user").id)));
  app.post("/data/user/desktop-login-logs", async (c) => {
    const body = await readLooseBody(c);
    return c.json(await createDesktopLoginLog(c, c.get("user").id, body.date), 201);
  });
  app.get("/data/user/time-spents", async (c) =>
    c.json(await personTimeSpents(c.get("db"), c.get("user").id, c.req.query("start_date"), c.req.query("end_date"))),
  );
  app.get("/data/user/time-spents/:date", async (c) => {
    const date = requireDate(c.req.param("date"));
    const rows = await timeSpentRows(c.get("db"), { start: date, end: addDays(date, 1) }, { personId: c.get("user").id });
    return c.json(rows.map((r) => serialize("time_spent", r)));
  });
  // A malformed date is a 404 on these two (Zou aborts with 404 on WrongDateFormatException).
  app.get("/data/user/tasks/:task_id/time-spents/:date", async (c) => {
    const task = await loadRow(c, "task", c.req.param("task_id"));
    const date = strictDate(c.req.param("date"));
    if (!date) throw notFound();
    const row = await findTimeSpent(c.get("db"), task.id, c.get("user").id, date);
    return c.json(row ? serialize("time_spent", row as Row) : null);
  });
  app.get("/data/user/day-offs/:date", async (c) => {
    const date = strictDate(c.req.param("date"));
    if (!date) throw notFound();
    return c.json(await dayOffOn(c.get("db"), c.get("user").id, date));
  });

  // Notifications.
  app.get("/data/user/notifications", async (c) => {
    const type = c.req.query("type");
    const user = c.get("user");
    return c.json(
      await listNotifications(c.get("db"), { id: user.id, role: user.role }, {
        after: dateTimeArg(c, "after"),
        before: dateTimeArg(c, "before"),
        taskTypeId: idArg(c, "task_type_id"),
        taskStatusId: idArg(c, "task_status_id"),
        type: type || null,
        read: boolArg(c, "read"),
        watching: boolArg(c, "watching"),
      }),
    );
  });
  app.get("/data/user/notifications/:notification_id", async (c) => {
    const user = c.get("user");
    return c.json(await getNotification(c.get("db"), { id: user.id, role: user.role }, serviceId(c.req.param("notification_id"))));
  });
  app.put("/data/user/notifications/:notification_id", async (c) => {
    const id = serviceId(c.req.param("notification_id"));
    const body = await readLooseBody(c);
    if (body.read === undefined || body.read === null) throw badRequest("Validation error.", { errors: [{ field: "read", message: "read is required." }] });
    const read = boolValue(body.read, "read");
    const user = c.get("user");
    // Zou answers the notification row itself here, not the reader's form of GET.
    return c.json(await transact(c, () => setNotificationRead(c, user.id, id, read)));
  });
  app.post("/actions/user/notifications/mark-all-as-read", async (c) => {
    await transact(c, () => markAllNotificationsRead(c, c.get("user").id));
    return c.json({ success: true });
  });

  // Subscriptions.
  app.get("/data/user/tasks/:task_id/subscribed", async (c) => {
    const raw = c.req.param("task_id");
    if (!isUuid(raw)) return c.json(false);
    return c.json(await isSubscribedToTask(c.get("db"), c.get("user").id, normalizeId(raw)));
  });
  app.post("/actions/user/tasks/subscribe", async (c) => {
    const { task_ids } = validate(TaskIdsBody, await readLooseBody(c));
    const ids = [...new Set(task_ids.map(normalizeId))];
    const known = ids.length ? (await c.get("db").selectFrom("task").select("id").where("id", "in", ids).execute()).map((t) => t.id) : [];
    const result = await transact(c, async () => {
      const rows: Dict[] = [];
      for (const id of known) rows.push(await subscribeToTask(c, c.get("user").id, id));
      return rows;
    });
    return c.json(result, 201);
  });
  app.post("/actions/user/tasks/unsubscribe", async (c) => {
    const { task_ids } = validate(TaskIdsBody, await readLooseBody(c));
    await transact(c, async () => {
      for (const id of new Set(task_ids.map(normalizeId))) await unsubscribeFromTask(c, c.get("user").id, id);
    });
    return c.json(task_ids);
  });
  app.post("/actions/user/tasks/:task_id/subscribe", async (c) => {
    const task = await loadRow(c, "task", c.req.param("task_id"));
    return c.json(await transact(c, () => subscribeToTask(c, c.get("user").id, task.id)), 201);
  });
  app.delete("/actions/user/tasks/:task_id/unsubscribe", async (c) => {
    const task = await loadRow(c, "task", c.req.param("task_id"));
    await transact(c, () => unsubscribeFromTask(c, c.get("user").id, task.id));
    return c.body(null, 204);
  });
  const sequenceSubscribed = async (c: AppContext) => {
    const sequence = await loadEntityOfKind(c, c.req.param("sequence_id"), "Sequence");
    const taskType = await loadRow(c, "task_type", c.req.param("task_type_id"));
    return c.json(Boolean(await getSequenceSubscription(c.get("db"), c.get("user").id, sequence.id, taskType.id)));
  };
  app.get("/data/user/sequences/:sequence_id/task-types/:task_type_id/subscribed", sequenceSubscribed);
  app.get("/data/user/entities/:sequence_id/task-types/:task_type_id/subscribed", sequenceSubscribed);
  app.get("/data/user/projects/:project_id/task-types/:task_type_id/sequence-subscriptions", async (c) => {
    const project = await loadRow(c, "project", c.req.param("project_id"));
    const taskType = await loadRow(c, "task_type", c.req.param("task_type_id"));
    return c.json(await sequenceSubscriptionIds(c.get("db"), c.get("user").id, project.id, taskType.id));
  });
  app.post("/actions/user/sequences/:sequence_id/task-types/:task_type_id/subscribe", async (c) => {
    const sequence = await loadEntityOfKind(c, c.req.param("sequence_id"), "Sequence");
    const taskType = await loadRow(c, "task_type", c.req.param("task_type_id"));
    return c.json(await transact(c, () => subscribeToSequence(c, c.get("user").id, sequence.id, taskType.id)), 201);
  });
  app.delete("/actions/user/sequences/:sequence_id/task-types/:task_type_id/unsubscribe", async (c) => {
    const sequence = await loadEntityOfKind(c, c.req.param("sequence_id"), "Sequence");
    const taskType = await loadRow(c, "task_type", c.req.param("task_type_id"));
    await transact(c, () => unsubscribeFromSequence(c, c.get("user").id, sequence.id, taskType.id));
    return c.body(null, 204);
  });

  // Chats.
  app.get("/data/user/chats", async (c) => c.json(await chatsForPerson(c.get("db"), c.get("user").id)));
  app.post("/actions/user/chats/:entity_id/join", async (c) => {
    const entity = await loadChatEntity(c, c.req.param("entity_id"));
    return c.json(await joinChat(c, entity.id, c.get("user").id));
  });
  app.delete("/actions/user/chats/:entity_id/join", async (c) => {
    const entity = await loadChatEntity(c, c.req.param("entity_id"));
    await leaveChat(c, entity.id, c.get("user").id);
    return c.body(null, 204);
  });

  app.delete("/actions/user/clear-avatar", async (c) => {
    await clearAvatar(c, c.get("user").id);
    return c.body(null, 204);
  });
}
