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
import type { EntityKind } from "../lib/entity-kinds";
import { isUuid, normalizeId, parseDateTimeInput, queryId, serviceId } from "../lib/ids";
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
import { userDepartmentIds } from "../services/permissions";
import { listOpenProjects } from "../services/projects";
import { personTasks, tasksToCheck } from "../services/tasks";
import { addDays, createDesktopLoginLog, dayOffOn, desktopLoginLogs, findTimeSpent, personTimeSpents, requireDate, strictDate, timeSpentRows } from "../services/time-spents";
import { filterViewer, groupedFilters, openProjectIds, userContext } from "../services/user-context";
import { loadEntityWithKind } from "../services/entities";
import { existingTaskIds, myAssetTypesInProject, myEntities, myTaskTypesOn, myTasksOn } from "../services/user-reads";
import { boolValue, deleteOwn, insertOwn, loadOwn, newFilterValues, updateOwn, type FilterTable } from "../services/user-filters";
import { personTaskReads, userContextReads } from "../services/list-reads";
import { declareAnswerReads, markWrites } from "../lib/answer-reads";
import { cachedResponse } from "../lib/response-cache";
import { chatsForPerson, joinChat, leaveChat, loadChatEntity } from "../services/chats";
import { clearAvatar } from "../services/person-updates";

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

async function entityTasks(c: AppContext, kind: string, param: string): Promise<Response> {
  const entity = await loadEntityOfKind(c, c.req.param(param), kind);
  return c.json((await myTasksOn(c, entity.id)).map((row) => serialize("task", row)));
}

async function entityTaskTypes(c: AppContext, kind: string, param: string): Promise<Response> {
  const entity = await loadEntityOfKind(c, c.req.param(param), kind);
  return c.json(await myTaskTypesOn(c, entity.id));
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

/** PUT on an own filter or group: 404 first, then the body. */
async function updateOwnFilter(c: AppContext, table: FilterTable, keys: string[], nullable: string[]): Promise<Response> {
  const row = await loadOwn(c, table, c.req.param(table === "search_filter" ? "filter_id" : "filter_group_id"));
  const body = await readLooseBody(c);
  return c.json(await updateOwn(c, table, row, body, keys, nullable));
}

async function deleteOwnFilter(c: AppContext, table: FilterTable): Promise<Response> {
  const row = await loadOwn(c, table, c.req.param(table === "search_filter" ? "filter_id" : "filter_group_id"));
  await deleteOwn(c, table, row);
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
    return c.json(await myAssetTypesInProject(c, project.id));
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
    return c.json(await insertOwn(c, "search_filter", { ...(await newFilterValues(c, body, "search_filter")), search_query: body.query }), 201);
  });
  app.put("/data/user/filters/:filter_id", (c) =>
    updateOwnFilter(c, "search_filter", ["name", "search_query", "search_filter_group_id", "is_shared", "project_id", "department_id"], ["search_filter_group_id"]),
  );
  app.delete("/data/user/filters/:filter_id", (c) => deleteOwnFilter(c, "search_filter"));

  app.get("/data/user/filter-groups", async (c) => c.json(await groupedFilters(c.get("db"), "search_filter_group", await filterViewer(c))));
  app.post("/data/user/filter-groups", async (c) => {
    const body = validate(GroupCreate, await readLooseBody(c));
    return c.json(await insertOwn(c, "search_filter_group", { ...(await newFilterValues(c, body, "search_filter_group")), color: body.color }), 201);
  });
  app.get("/data/user/filter-groups/:filter_group_id", async (c) =>
    c.json(serialize("search_filter_group", await loadOwn(c, "search_filter_group", c.req.param("filter_group_id")))),
  );
  app.put("/data/user/filter-groups/:filter_group_id", (c) =>
    updateOwnFilter(c, "search_filter_group", ["name", "color", "is_shared", "project_id", "department_id"], []),
  );
  app.delete("/data/user/filter-groups/:filter_group_id", (c) => deleteOwnFilter(c, "search_filter_group"));

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
    const known = await existingTaskIds(c.get("db"), ids);
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
