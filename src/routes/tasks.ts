/**
 * Routes of the `tasks` area of routes.tsv (except the time-spent routes, served by
 * routes/time-spents.ts): task listings, bulk creation and deletion, assignment, priorities,
 * comments of a task, previews on comments, main previews, sync dumps.
 */
import type { Hono } from "hono";
import type { AppContext, AppEnv } from "../context";
import { serialize } from "../db/serialize";
import { transact } from "../db/transaction";
import * as v from "valibot";
import { parseBody, readBodyValue, validate } from "../lib/body";
import { boolWordSchema, idSchema, numberSchema } from "../lib/validation";
import { badRequest, forbidden, notFound } from "../lib/errors";
import { isUuid, normalizeId, parseDateInput, queryId, serviceId } from "../lib/ids";
import {
  checkAdmin,
  checkEntityAccess,
  checkManagerProjectAccess,
  checkProjectAccess,
  checkTaskAccess,
  checkTaskActionAccess,
  isAdmin,
  openMemberProjectIds,
  type Role,
} from "../services/permissions";
import {
  createTasksForEntities,
  entityKind,
  fullTask,
  getProject,
  getTask,
  getTaskType,
  assignTask,
  canAssign,
  intParam,
  openProjectIds,
  personsTaskDates,
  personTasks,
  presentTask,
  presentTasks,
  personIsAssignable,
  type Dict,
  type TaskRow,
} from "../services/tasks";
import {
  addPreviewToComment,
  checkCommentAccess,
  checkCommentDelete,
  deleteComment,
  getTaskComment,
  listTaskComments,
  presentTaskComment,
  removeCommentPreview,
} from "../services/comments";
import { presentPersonById } from "../services/persons";
import { personTaskReads, projectTaskReads } from "../services/list-reads";
import { declareAnswerReads, markWrites } from "../lib/answer-reads";
import { bytesResponse, cachedResponse } from "../lib/response-cache";
import { projectTaskListBody } from "../services/project-task-list";
import { projectSubscriptions } from "../services/notifications";
import { openTasks, openTasksStats } from "../services/open-tasks";
import { loadEntity } from "../services/entities";
import {
  entitiesForCreation,
  entityTasksOfType,
  entityTypeNamed,
  findPerson,
  findPreviewFile,
  findTask,
  getPerson,
  projectCommentDump,
  projectNotificationDump,
  projectPreviewFileDump,
  projectTaskDump,
  relatedTasksOfPerson,
  taskPreviews,
  type EntitySelection,
  type PagedRows,
} from "../services/task-reads";
import {
  assignTasksToPerson,
  clearAssignations,
  deleteProjectTasks,
  deleteTasksOfType,
  sendTaskToReview,
  setTaskMainPreview,
  setTasksPriority,
  toReviewContext,
} from "../services/task-actions";

// ---------------------------------------------------------------------------------------------
// Small helpers

/**
 * The JSON body of create-tasks: a list of entity ids (or `{id}` objects); absent, `null` or `{}`
 * (Kitsu's single-task call, with `?id=` in the query) means every entity of the kind matching the
 * query. Any other object, a string or a number is a 400.
 */
const EntityIdsBody = v.nullish(
  v.union(
    [
      v.array(v.union([v.string(), v.object({ id: v.string() })], "must be an id or an {id} object")),
      v.pipe(
        v.custom<Record<string, never>>((value) => typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 0),
        v.transform(() => null),
      ),
    ],
    "A list of entity ids is expected.",
  ),
);

/** `task_ids` of the bulk task actions: a list of ids (or one id). */
const TaskIdsField = v.union([v.string(), v.array(v.string())], "Tasks list required.");
/** An optional person id; empty means none. */
const OptionalPersonId = v.optional(v.nullable(v.union([v.literal(""), idSchema], "person_id is not a valid id.")));
const ClearAssignationBody = v.object({ task_ids: TaskIdsField, person_id: OptionalPersonId });
const SetPriorityBody = v.object({ task_ids: TaskIdsField, priority: numberSchema({ min: 0, max: 2_147_483_647, integer: true }) });
const TaskIdsBody = v.object({ task_ids: TaskIdsField });
const AssignBody = v.object({ person_id: v.pipe(v.string("Assignee ID required."), v.nonEmpty("Assignee ID required.")) });
const optionalRevision = (fallback: number | null) =>
  v.optional(v.pipe(v.nullable(v.union([v.literal(""), numberSchema({ min: 0, max: 2_147_483_647, integer: true })])), v.transform((value) => (value === null || value === "" ? fallback : value))), fallback);
const ToReviewBody = v.object({
  person_id: OptionalPersonId,
  name: v.optional(v.nullable(v.string("must be a string"))),
  comment: v.optional(v.nullable(v.string("must be a string"))),
  revision: optionalRevision(1),
  change_status: v.optional(boolWordSchema, true),
});
const AddPreviewBody = v.object({ revision: optionalRevision(null) });

/** Ids listed in a body field (a list, or a single id); malformed ids are dropped. */
function idList(value: unknown): string[] {
  const items = Array.isArray(value) ? value : value === undefined || value === null || value === "" ? [] : [value];
  return items.filter((item): item is string => isUuid(item)).map(normalizeId);
}

function optionalQueryId(c: AppContext, name: string): string | undefined {
  const value = (c.req.query(name) ?? "").trim();
  return value ? queryId(value) : undefined;
}

function optionalQueryDate(c: AppContext, name: string): string | undefined {
  const value = (c.req.query(name) ?? "").trim();
  if (!value) return undefined;
  const parsed = parseDateInput(value);
  if (!parsed) throw badRequest(`Wrong date format for ${name}.`);
  return parsed;
}

function taskRef(task: TaskRow) {
  return { id: task.id, project_id: task.project_id!, entity_id: task.entity_id!, task_type_id: task.task_type_id! };
}

/** Zou's paginated sync dumps: a plain list without `page`, else `{data, total, nb_pages, limit, offset, page}`. */
async function paginate(c: AppContext, rows: PagedRows): Promise<unknown> {
  const rawPage = c.req.query("page");
  if (rawPage === undefined || rawPage === "") return rows.page(null, 0);
  const page = intParam(rawPage, "page", 1);
  const limit = intParam(c.req.query("limit"), "limit", 100);
  if (limit < 1) throw badRequest("limit must be a positive integer.");
  const total = await rows.count();
  const offset = (page - 1) * limit;
  const nbPages = Math.ceil(total / limit);
  if (page < 1 || offset >= total) return { data: [], total: page < 1 ? total : 0, nb_pages: nbPages, limit, offset, page };
  return { data: await rows.page(limit, offset), total, nb_pages: nbPages, limit, offset, page };
}

/** Which entities a create-tasks call targets: the listed ids of the JSON body, else the query's `id` and `episode_id`. */
async function entitySelection(c: AppContext): Promise<EntitySelection> {
  const raw = await readBodyValue(c);
  const body = validate(EntityIdsBody, (c.req.header("content-type") ?? "").toLowerCase().includes("application/json") ? raw : undefined);
  if (body && body.length > 0) return { ids: body.map((raw) => serviceId(typeof raw === "object" ? raw.id : raw)) };
  const queryIds = c.req.query("id") !== undefined ? idList((c.req.queries("id") ?? []).flatMap((v) => v.split(","))) : undefined;
  const episodeParam = (c.req.query("episode_id") ?? "").trim();
  const episodeId = episodeParam && episodeParam !== "all" && episodeParam !== "main" ? queryId(episodeParam) : undefined;
  return { ids: null, queryIds, episodeId };
}

/** Checks of the set-main-preview routes: project and entity access, clients refused. */
async function checkMainPreviewAccess(c: AppContext, task: TaskRow): Promise<void> {
  const role = await checkTaskAccess(c, { project_id: task.project_id!, entity_id: task.entity_id! });
  if (role === "client") throw forbidden();
}

/** Person task listings: self, or a non-vendor caller (clients get an empty list); target not a bot. */
async function personListingProjects(c: AppContext, personId: string): Promise<string[] | null> {
  const user = c.get("user");
  const person = await getPerson(c, personId);
  if (person.is_bot) throw forbidden();
  if (person.id !== user.id) {
    if (user.role === "vendor") throw forbidden();
    if (user.role === "client") return null;
  }
  return isAdmin(user) ? openProjectIds(c.get("db")) : openMemberProjectIds(c);
}

// ---------------------------------------------------------------------------------------------

export function registerTasks(app: Hono<AppEnv>): void {
  // Literal paths first: they share prefixes with the parametric ones below.
  app.get("/data/tasks/open-tasks", async (c) => {
    const personParam = (c.req.query("person_id") ?? "").trim();
    let personIds: string[] | "unassigned" | undefined;
    if (personParam === "unassigned") personIds = "unassigned";
    else if (personParam) personIds = personParam.split(",").map((id) => queryId(id.trim()));
    const priority = c.req.query("priority");
    // As Zou: page 0 (or below) is the first page, a limit below 1 is 1.
    const page = Math.max(intParam(c.req.query("page"), "page", 1), 1);
    const limit = Math.max(intParam(c.req.query("limit"), "limit", 100), 1);
    return c.json(await openTasks(c, {
      projectId: optionalQueryId(c, "project_id"),
      taskTypeId: optionalQueryId(c, "task_type_id"),
      taskStatusId: optionalQueryId(c, "task_status_id"),
      departmentId: optionalQueryId(c, "department_id"),
      studioId: optionalQueryId(c, "studio_id"),
      personIds,
      startDate: optionalQueryDate(c, "start_date"),
      dueDate: optionalQueryDate(c, "due_date"),
      priority: priority === undefined || priority === "" ? undefined : intParam(priority, "priority", 0),
      page,
      limit,
    }));
  });

  app.get("/data/tasks/open-tasks/stats", async (c) => c.json(await openTasksStats(c)));

  app.get("/data/persons/task-dates", async (c) => {
    const projectId = optionalQueryId(c, "project_id");
    return c.json(await personsTaskDates(c, projectId ?? null));
  });

  app.put("/actions/tasks/clear-assignation", async (c) => {
    const body = await parseBody(c, ClearAssignationBody);
    const personId = body.person_id || null;
    const done = await transact(c, () => clearAssignations(c, idList(body.task_ids), personId ? normalizeId(personId) : null));
    return c.json(done);
  });

  app.put("/actions/tasks/set-priority", async (c) => {
    const body = await parseBody(c, SetPriorityBody);
    const priority = body.priority;
    const updated = await transact(c, () => setTasksPriority(c, idList(body.task_ids), priority));
    return c.json(updated);
  });

  app.put("/actions/tasks/set-main-preview", async (c) => {
    const body = await parseBody(c, TaskIdsBody);
    const entities: Dict[] = [];
    await transact(c, async (db) => {
      for (const taskId of idList(body.task_ids)) {
        const task = await findTask(db, taskId);
        if (!task) continue;
        await checkMainPreviewAccess(c, task);
        const entity = await setTaskMainPreview(c, task);
        if (entity) entities.push(entity);
      }
    });
    return c.json(entities);
  });

  // --- One task

  app.get("/data/tasks/:task_id/full", async (c) => {
    const task = await getTask(c, c.req.param("task_id"));
    await checkTaskAccess(c, { project_id: task.project_id!, entity_id: task.entity_id! });
    return c.json(await fullTask(c, task));
  });

  app.get("/data/tasks/:task_id/previews", async (c) => {
    const task = await getTask(c, c.req.param("task_id"));
    await checkTaskAccess(c, { project_id: task.project_id!, entity_id: task.entity_id! });
    return c.json(await taskPreviews(c.get("db"), task.id));
  });

  app.get("/data/tasks/:task_id/comments", async (c) => {
    const task = await getTask(c, c.req.param("task_id"));
    const role = await checkTaskAccess(c, { project_id: task.project_id!, entity_id: task.entity_id! });
    return c.json(await listTaskComments(c, task, role));
  });

  app.get("/data/tasks/:task_id/comments/:comment_id", async (c) => {
    const task = await getTask(c, c.req.param("task_id"));
    const comment = await getTaskComment(c, task, c.req.param("comment_id"));
    const role = await checkCommentAccess(c, comment, task);
    const withPreviews = (c.req.query("with_previews") ?? "").toLowerCase() === "true";
    return c.json(await presentTaskComment(c, comment, { withPreviews, role }));
  });

  app.delete("/data/tasks/:task_id/comments/:comment_id", async (c) => {
    const task = await getTask(c, c.req.param("task_id"));
    const comment = await getTaskComment(c, task, c.req.param("comment_id"));
    await checkCommentDelete(c, comment, task);
    await transact(c, () => deleteComment(c, comment));
    return c.body(null, 204);
  });

  app.put("/actions/tasks/:task_id/assign", async (c) => {
    const body = await parseBody(c, AssignBody);
    const task = await getTask(c, c.req.param("task_id"));
    const personId = body.person_id;
    const person = isUuid(personId) ? await findPerson(c.get("db"), normalizeId(personId)) : undefined;
    if (!person) throw badRequest("Assignee doesn't exist in database.");
    if (!(await personIsAssignable(c.get("db"), person, task.project_id))) throw forbidden();
    if (!(await canAssign(c, task, person.id))) throw forbidden();
    const updated = await transact(c, () => assignTask(c, task, person.id));
    return c.json((await presentTasks(c.get("db"), [updated]))[0]);
  });

  app.put("/actions/persons/:person_id/assign", async (c) => {
    const person = await getPerson(c, c.req.param("person_id"));
    const body = await parseBody(c, TaskIdsBody);
    const { assigned, refusedBot } = await transact(c, () => assignTasksToPerson(c, person, idList(body.task_ids)));
    if (refusedBot && assigned.length === 0) throw forbidden();
    return c.json(await presentTasks(c.get("db"), assigned));
  });

  app.put("/actions/tasks/:task_id/set-main-preview", async (c) => {
    const task = await getTask(c, c.req.param("task_id"));
    await checkMainPreviewAccess(c, task);
    const entity = await transact(c, () => setTaskMainPreview(c, task));
    if (!entity) throw badRequest("This task has no preview file.");
    return c.json(entity);
  });

  app.put("/actions/tasks/:task_id/to-review", async (c) => {
    const task = await getTask(c, c.req.param("task_id"));
    await checkTaskAccess(c, { project_id: task.project_id!, entity_id: task.entity_id! });
    const body = await parseBody(c, ToReviewBody);
    let person = c.get("user");
    if (body.person_id) {
      const found = await findPerson(c.get("db"), body.person_id);
      if (!found) throw badRequest("Cannot find given person.");
      person = found;
    }
    const name = body.name || "main";
    const revision = body.revision ?? 1;
    const changeStatus = body.change_status;
    const comment = body.comment ?? "";
    const context = await toReviewContext(c.get("db"), task, name, revision);
    const { project, entity, entityType, previewPath } = context;
    const result = await transact(c, () => sendTaskToReview(c, task, context, { person, comment, changeStatus }));
    return c.json({
      ...presentTask(result),
      project: serialize("project", project),
      entity: serialize("entity", entity, { typeName: entityKind(entityType.name) }),
      entity_type: serialize("entity_type", entityType),
      person: await presentPersonById(c.get("db"), person.id, "full", { withDepartments: true }),
      comment,
      preview_path: previewPath,
    });
  });

  // --- Previews on a comment (rows only; the file goes to POST /pictures/preview-files/{id})

  app.post("/actions/tasks/:task_id/comments/:comment_id/add-preview", async (c) => {
    const task = await getTask(c, c.req.param("task_id"));
    await checkTaskActionAccess(c, taskRef(task));
    await checkEntityAccess(c, { id: task.entity_id!, project_id: task.project_id });
    const comment = await getTaskComment(c, task, c.req.param("comment_id"));
    const { revision } = await parseBody(c, AddPreviewBody);
    const preview = await transact(c, () => addPreviewToComment(c, comment, task, revision || null));
    return c.json(preview, 201);
  });

  app.post("/actions/tasks/:task_id/comments/:comment_id/preview-files/:preview_file_id", async (c) => {
    const task = await getTask(c, c.req.param("task_id"));
    await checkTaskActionAccess(c, taskRef(task));
    await checkEntityAccess(c, { id: task.entity_id!, project_id: task.project_id });
    const comment = await getTaskComment(c, task, c.req.param("comment_id"));
    const related = await findPreviewFile(c.get("db"), serviceId(c.req.param("preview_file_id")));
    if (!related || related.task_id !== task.id) throw notFound();
    const preview = await transact(c, () => addPreviewToComment(c, comment, task, Number(related.revision ?? 1)));
    return c.json(preview, 201);
  });

  app.delete("/actions/tasks/:task_id/comments/:comment_id/preview-files/:preview_file_id", async (c) => {
    const task = await getTask(c, c.req.param("task_id"));
    const role: Role = await checkTaskActionAccess(c, taskRef(task));
    const comment = await getTaskComment(c, task, c.req.param("comment_id"));
    if (role === "client") await checkCommentAccess(c, comment, task);
    const force = (c.req.query("force") ?? "").toLowerCase() === "true";
    if (force && role !== "admin" && role !== "manager") throw forbidden();
    await transact(c, () => removeCommentPreview(c, comment, task, c.req.param("preview_file_id"), force));
    return c.body(null, 204);
  });

  // --- Person listings

  /** A person's todo or done list, kept while no write concerns it. */
  const personTaskList = (c: AppContext, done: boolean) => cachedResponse(c, async () => {
    const mark = markWrites(c);
    const param = c.req.param("person_id") ?? "";
    const projects = await personListingProjects(c, param);
    if (!projects) return c.json([]);
    const personId = serviceId(param);
    const tasks = await personTasks(c.get("db"), personId, projects, done);
    declareAnswerReads(c, mark, await personTaskReads(c.get("db"), personId));
    return c.json(tasks);
  });
  app.get("/data/persons/:person_id/tasks", (c) => personTaskList(c, false));
  app.get("/data/persons/:person_id/done-tasks", (c) => personTaskList(c, true));

  app.get("/data/persons/:person_id/related-tasks/:task_type_id", async (c) => {
    // Zou looks at every open project here (not only the caller's), clients included.
    await personListingProjects(c, c.req.param("person_id"));
    const projects = await openProjectIds(c.get("db"));
    const taskType = await getTaskType(c, c.req.param("task_type_id"));
    if (projects.length === 0) return c.json([]);
    const personId = serviceId(c.req.param("person_id"));
    return c.json(await relatedTasksOfPerson(c.get("db"), personId, taskType.id, projects));
  });

  app.get("/data/entities/:entity_id/task-types/:task_type_id/tasks", async (c) => {
    const entity = await loadEntity(c, c.req.param("entity_id"));
    await checkProjectAccess(c, entity.project_id);
    const taskTypeId = serviceId(c.req.param("task_type_id"));
    return c.json(await entityTasksOfType(c.get("db"), entity.id, taskTypeId));
  });

  // --- Project dumps (sync)

  app.get("/data/projects/:project_id/tasks", (c) => cachedResponse(c, async () => {
    const mark = markWrites(c);
    const project = await getProject(c, c.req.param("project_id"));
    const role = await checkProjectAccess(c, project.id);
    // The whole list (gazu's project tasks): kept per task, rebuilt in proportion to the writes.
    if (role !== "vendor" && Object.keys(c.req.query()).length === 0) return bytesResponse(await projectTaskListBody(c, project.id, mark), "application/json");
    const db = c.get("db");
    const userId = c.get("user").id;
    const taskTypeId = optionalQueryId(c, "task_type_id");
    const episodeId = optionalQueryId(c, "episode_id");
    const answer = await paginate(c, projectTaskDump(db, project.id, { taskTypeId, episodeId, assignedTo: role === "vendor" ? userId : undefined }));
    declareAnswerReads(c, mark, await projectTaskReads(db, userId, project.id, episodeId !== undefined));
    return c.json(answer);
  }));

  app.get("/data/projects/:project_id/comments", async (c) => {
    const project = await getProject(c, c.req.param("project_id"));
    const role = await checkProjectAccess(c, project.id);
    if (role === "vendor" || role === "client") throw forbidden();
    return c.json(await paginate(c, projectCommentDump(c.get("db"), project.id)));
  });

  app.get("/data/projects/:project_id/notifications", async (c) => {
    checkAdmin(c);
    const project = await getProject(c, c.req.param("project_id"));
    return c.json(await paginate(c, projectNotificationDump(c.get("db"), project.id)));
  });

  app.get("/data/projects/:project_id/preview-files", async (c) => {
    checkAdmin(c);
    const project = await getProject(c, c.req.param("project_id"));
    return c.json(await paginate(c, projectPreviewFileDump(c.get("db"), project.id)));
  });

  app.get("/data/projects/:project_id/subscriptions", async (c) => {
    checkAdmin(c);
    const project = await getProject(c, c.req.param("project_id"));
    return c.json(await projectSubscriptions(c.get("db"), project.id));
  });

  // --- Bulk creation and deletion

  const createTasksRoute = (kinds: string[] | "asset", check: (c: AppContext, projectId: string) => Promise<unknown>) =>
    async (c: AppContext) => {
      const project = await getProject(c, c.req.param("project_id"));
      await check(c, project.id);
      const taskType = await getTaskType(c, c.req.param("task_type_id"));
      const entities = await entitiesForCreation(c.get("db"), project.id, kinds, await entitySelection(c));
      if (Array.isArray(kinds) && kinds.includes("Concept")) {
        for (const entity of entities) await checkEntityAccess(c, { id: entity.id, project_id: project.id });
      }
      const tasks = await transact(c, () => createTasksForEntities(c, taskType, entities));
      return c.json(tasks, 201);
    };
  const managerCheck = (c: AppContext, projectId: string) => checkManagerProjectAccess(c, projectId);
  const conceptCheck = async (c: AppContext, projectId: string) => {
    const role = await checkProjectAccess(c, projectId);
    if (role === "vendor" || role === "client") throw forbidden();
  };
  app.post("/actions/projects/:project_id/task-types/:task_type_id/shots/create-tasks", createTasksRoute(["Shot"], managerCheck));
  app.post("/actions/projects/:project_id/task-types/:task_type_id/assets/create-tasks", createTasksRoute("asset", managerCheck));
  app.post("/actions/projects/:project_id/task-types/:task_type_id/edits/create-tasks", createTasksRoute(["Edit"], managerCheck));
  app.post("/actions/projects/:project_id/task-types/:task_type_id/concepts/create-tasks", createTasksRoute(["Concept"], conceptCheck));
  app.post("/actions/projects/:project_id/task-types/:task_type_id/create-tasks/:entity_type", async (c) => {
    const project = await getProject(c, c.req.param("project_id"));
    await checkManagerProjectAccess(c, project.id);
    const taskType = await getTaskType(c, c.req.param("task_type_id"));
    const raw = c.req.param("entity_type");
    const name = raw.charAt(0).toUpperCase() + raw.slice(1).toLowerCase();
    const entityTypeName = await entityTypeNamed(c.get("db"), name);
    if (!entityTypeName) throw notFound();
    const entities = await entitiesForCreation(c.get("db"), project.id, [entityTypeName], await entitySelection(c));
    const tasks = await transact(c, () => createTasksForEntities(c, taskType, entities));
    return c.json(tasks, 201);
  });

  app.post("/actions/projects/:project_id/delete-tasks", async (c) => {
    const project = await getProject(c, c.req.param("project_id"));
    await checkManagerProjectAccess(c, project.id);
    const body = await readBodyValue(c);
    if (!Array.isArray(body)) throw badRequest("A list of task ids is required.");
    const ids = idList(body);
    const deleted = await transact(c, () => deleteProjectTasks(c, project.id, ids));
    return c.json(deleted);
  });

  app.delete("/actions/projects/:project_id/task-types/:task_type_id/delete-tasks", async (c) => {
    checkAdmin(c);
    const project = await getProject(c, c.req.param("project_id"));
    const taskType = await getTaskType(c, c.req.param("task_type_id"));
    await transact(c, () => deleteTasksOfType(c, project.id, taskType.id));
    return c.body(null, 204);
  });
}
