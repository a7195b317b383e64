/**
 * Routes of the `tasks` area of routes.tsv (except the time-spent routes, served by
 * routes/time-spents.ts): task listings, bulk creation and deletion, assignment, priorities,
 * comments of a task, previews on comments, main previews, sync dumps.
 */
import type { Hono } from "hono";
import { sql } from "kysely";
import type { AppContext, AppEnv, PersonRow } from "../context";
import { serialize } from "../db/serialize";
import { transact } from "../db/transaction";
import * as v from "valibot";
import { parseBody, readBodyValue, validate } from "../lib/body";
import { boolWordSchema, idSchema, numberSchema } from "../lib/validation";
import { badRequest, forbidden, notFound } from "../lib/errors";
import { isUuid, normalizeId, parseDateInput, queryId, serviceId, utcNow } from "../lib/ids";
import { loadServiceRow } from "../db/rows";
import { chunks } from "../lib/chunks";
import { buildFilePath, FileTreeError, getProjectTree } from "../lib/file-tree";
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
  assignTask,
  canAssign,
  canPlanTask,
  canUnassign,
  clearAssignation,
  createTasksForEntities,
  emit,
  entityKind,
  fullTask,
  getProject,
  getTask,
  getTaskType,
  intParam,
  openProjectIds,
  personIsAssignable,
  personsTaskDates,
  personTasks,
  presentTask,
  presentTasks,
  removeTask,
  RESERVED_ENTITY_TYPES,
  updateTaskValues,
  type Dict,
  type EntityForTask,
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
  serializeCommentsWithRelations,
} from "../services/comments";
import { presentPersonById } from "../services/persons";
import { personTaskReads, projectTaskReads } from "../services/list-reads";
import { declareAnswerReads, markWrites } from "../lib/answer-reads";
import { bytesResponse, cachedResponse } from "../lib/response-cache";
import { projectTaskListBody } from "../services/project-task-list";
import { projectSubscriptions } from "../services/notifications";
import { openTasks, openTasksStats } from "../services/open-tasks";
import { ascNullsLast, descNullsFirst } from "../db/order";

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
async function paginate<T>(
  c: AppContext,
  count: () => Promise<number>,
  fetch: (limit: number | null, offset: number) => Promise<T[]>,
): Promise<unknown> {
  const rawPage = c.req.query("page");
  if (rawPage === undefined || rawPage === "") return fetch(null, 0);
  const page = intParam(rawPage, "page", 1);
  const limit = intParam(c.req.query("limit"), "limit", 100);
  if (limit < 1) throw badRequest("limit must be a positive integer.");
  const total = await count();
  const offset = (page - 1) * limit;
  const nbPages = Math.ceil(total / limit);
  if (page < 1 || offset >= total) return { data: [], total: page < 1 ? total : 0, nb_pages: nbPages, limit, offset, page };
  return { data: await fetch(limit, offset), total, nb_pages: nbPages, limit, offset, page };
}

/** Entities of a project for create-tasks: the listed ids (others skipped), else all matching the query. */
async function entitiesForCreation(c: AppContext, projectId: string, kinds: string[] | "asset"): Promise<EntityForTask[]> {
  const db = c.get("db");
  const raw = await readBodyValue(c);
  const body = validate(EntityIdsBody, (c.req.header("content-type") ?? "").toLowerCase().includes("application/json") ? raw : undefined);
  const base = db
    .selectFrom("entity")
    .innerJoin("entity_type", "entity_type.id", "entity.entity_type_id")
    .select(["entity.id", "entity.project_id", "entity.parent_id", "entity_type.name as type_name"]);
  const matchesKind = (typeName: string) => (kinds === "asset" ? !RESERVED_ENTITY_TYPES.includes(typeName) : kinds.includes(typeName));
  if (body && body.length > 0) {
    const ids = body.map((raw) => serviceId(typeof raw === "object" ? raw.id : raw));
    const found = new Map<string, EntityForTask & { type_name: string }>();
    for (const part of chunks([...new Set(ids)])) {
      for (const entity of await base.where("entity.id", "in", part).execute()) found.set(entity.id, entity);
    }
    const result: EntityForTask[] = [];
    for (const id of ids) {
      const entity = found.get(id);
      if (!entity || !matchesKind(entity.type_name)) throw notFound();
      if (entity.project_id === projectId) result.push(entity);
    }
    return result;
  }
  let query = base.where("entity.project_id", "=", projectId);
  query = kinds === "asset"
    ? query.where("entity_type.name", "not in", RESERVED_ENTITY_TYPES)
    : query.where("entity_type.name", "in", kinds);
  const ids = idList((c.req.queries("id") ?? []).flatMap((v) => v.split(",")));
  if (c.req.query("id") !== undefined) query = ids.length ? query.where("entity.id", "in", ids) : query.where(sql<boolean>`1 = 0`);
  const episodeId = (c.req.query("episode_id") ?? "").trim();
  if (episodeId && episodeId !== "all" && episodeId !== "main") {
    const episode = queryId(episodeId);
    if (kinds === "asset") query = query.where("entity.source_id", "=", episode);
    else if (kinds.includes("Shot") || kinds.includes("Scene")) {
      query = query.where("entity.parent_id", "in", (eb) => eb.selectFrom("entity as seq").select("seq.id").where("seq.parent_id", "=", episode));
    } else if (kinds.includes("Episode")) query = query.where("entity.id", "=", episode);
    else query = query.where("entity.parent_id", "=", episode);
  }
  const rows = await query.orderBy("entity.name").execute();
  return rows;
}

/** The newest preview of a task (highest revision, first position). */
async function lastTaskPreview(c: AppContext, taskId: string) {
  return c
    .get("db")
    .selectFrom("preview_file")
    .selectAll()
    .where("task_id", "=", taskId)
    .orderBy("revision", descNullsFirst)
    .orderBy("position", ascNullsLast)
    .orderBy("created_at", "desc")
    .executeTakeFirst();
}

/** Makes the task's last preview the thumbnail of its entity; returns the entity dict (null without preview). */
async function setTaskMainPreview(c: AppContext, task: TaskRow): Promise<Dict | null> {
  const db = c.get("db");
  const preview = await lastTaskPreview(c, task.id);
  if (!preview) return null;
  const entity = await db
    .updateTable("entity")
    .set({ preview_file_id: preview.id, updated_at: utcNow() })
    .where("id", "=", task.entity_id!)
    .returningAll()
    .executeTakeFirstOrThrow();
  const type = await db.selectFrom("entity_type").select("name").where("id", "=", entity.entity_type_id).executeTakeFirst();
  const kind = entityKind(type?.name);
  await emit(c, "preview-file:set-main", { entity_id: entity.id, preview_file_id: preview.id }, entity.project_id);
  await emit(c, `${kind.toLowerCase()}:update`, { [`${kind.toLowerCase()}_id`]: entity.id }, entity.project_id);
  return serialize("entity", entity, { typeName: kind });
}

/** Checks of the set-main-preview routes: project and entity access, clients refused. */
async function checkMainPreviewAccess(c: AppContext, task: TaskRow): Promise<void> {
  const role = await checkTaskAccess(c, { project_id: task.project_id!, entity_id: task.entity_id! });
  if (role === "client") throw forbidden();
}

/** A person by path id: 404 when missing; bots refused unless allowed on `projectId`. */
async function getPerson(c: AppContext, rawId: string | undefined): Promise<PersonRow> {
  return (await loadServiceRow(c.get("db"), "person", rawId)) as PersonRow;
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
    const done: string[] = [];
    await transact(c, async (db) => {
      for (const taskId of idList(body.task_ids)) {
        const task = await db.selectFrom("task").selectAll().where("id", "=", taskId).executeTakeFirst();
        if (!task || !(await canUnassign(c, task, personId ? normalizeId(personId) : null))) continue;
        await clearAssignation(c, task, personId ? normalizeId(personId) : null);
        done.push(task.id);
      }
    });
    return c.json(done);
  });

  app.put("/actions/tasks/set-priority", async (c) => {
    const body = await parseBody(c, SetPriorityBody);
    const priority = body.priority;
    const updated: Dict[] = [];
    await transact(c, async (db) => {
      for (const taskId of idList(body.task_ids)) {
        const task = await db.selectFrom("task").selectAll().where("id", "=", taskId).executeTakeFirst();
        if (!task || !(await canPlanTask(c, task))) continue;
        updated.push(presentTask(await updateTaskValues(c, task, { priority })));
      }
    });
    return c.json(updated);
  });

  app.put("/actions/tasks/set-main-preview", async (c) => {
    const body = await parseBody(c, TaskIdsBody);
    const entities: Dict[] = [];
    await transact(c, async (db) => {
      for (const taskId of idList(body.task_ids)) {
        const task = await db.selectFrom("task").selectAll().where("id", "=", taskId).executeTakeFirst();
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
    const rows = await c
      .get("db")
      .selectFrom("preview_file")
      .selectAll()
      .where("task_id", "=", task.id)
      .orderBy("revision", descNullsFirst)
      .orderBy("position", ascNullsLast)
      .execute();
    return c.json(rows.map((row) => serialize("preview_file", row)));
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
    const person = isUuid(personId)
      ? await c.get("db").selectFrom("person").selectAll().where("id", "=", normalizeId(personId)).executeTakeFirst()
      : undefined;
    if (!person) throw badRequest("Assignee doesn't exist in database.");
    if (!(await personIsAssignable(c.get("db"), person, task.project_id))) throw forbidden();
    if (!(await canAssign(c, task, person.id))) throw forbidden();
    const updated = await transact(c, () => assignTask(c, task, person.id));
    return c.json((await presentTasks(c.get("db"), [updated]))[0]);
  });

  app.put("/actions/persons/:person_id/assign", async (c) => {
    const person = await getPerson(c, c.req.param("person_id"));
    const body = await parseBody(c, TaskIdsBody);
    const assigned: TaskRow[] = [];
    let refusedBot = false;
    await transact(c, async (db) => {
      for (const taskId of idList(body.task_ids)) {
        const task = await db.selectFrom("task").selectAll().where("id", "=", taskId).executeTakeFirst();
        if (!task) continue;
        if (!(await personIsAssignable(db, person, task.project_id))) {
          refusedBot = true;
          continue;
        }
        if (!(await canAssign(c, task, person.id))) continue;
        assigned.push(await assignTask(c, task, person.id));
      }
    });
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
    const db = c.get("db");
    let person = c.get("user");
    if (body.person_id) {
      const found = await db.selectFrom("person").selectAll().where("id", "=", body.person_id).executeTakeFirst();
      if (!found) throw badRequest("Cannot find given person.");
      person = found;
    }
    const name = body.name || "main";
    const revision = body.revision ?? 1;
    const changeStatus = body.change_status;
    const comment = body.comment ?? "";
    const project = (await db.selectFrom("project").selectAll().where("id", "=", task.project_id!).executeTakeFirstOrThrow());
    const entity = await db.selectFrom("entity").selectAll().where("id", "=", task.entity_id!).executeTakeFirstOrThrow();
    const entityType = await db.selectFrom("entity_type").selectAll().where("id", "=", entity.entity_type_id).executeTakeFirstOrThrow();
    const taskType = await db.selectFrom("task_type").selectAll().where("id", "=", task.task_type_id!).executeTakeFirst();
    let previewPath = { folder_path: "", file_name: "" };
    try {
      const parent = entity.parent_id ? await db.selectFrom("entity").selectAll().where("id", "=", entity.parent_id).executeTakeFirst() : undefined;
      const parentType = parent ? await db.selectFrom("entity_type").select("name").where("id", "=", parent.entity_type_id).executeTakeFirst() : undefined;
      const built = buildFilePath(getProjectTree(project), {
        project,
        entity: { ...entity, entity_type: { name: entityType.name }, parent: parent ? { ...parent, entity_type: { name: parentType?.name ?? "" } } : null },
        task: { ...task, task_type: taskType ?? null },
        task_type: taskType ?? null,
        name,
        revision,
      }, { mode: "preview" });
      previewPath = { folder_path: built.folder_path, file_name: built.file_name };
    } catch (error) {
      if (!(error instanceof FileTreeError)) throw error;
    }
    const result = await transact(c, async (trx) => {
      let updated = task;
      if (changeStatus) {
        const status = (await trx.selectFrom("task_status").selectAll().where("short_name", "=", "pndng").executeTakeFirst())
          ?? (await trx.selectFrom("task_status").selectAll().where("name", "=", "To review").executeTakeFirst())
          ?? (await trx.selectFrom("task_status").selectAll().where("is_feedback_request", "=", true).orderBy("created_at").executeTakeFirst());
        // Zou's to-review changes the status alone (no end date, unlike a comment).
        if (status && status.id !== task.task_status_id) updated = await updateTaskValues(c, task, { task_status_id: status.id });
      }
      // Zou's publish payload (ShotGrid ids for sync scripts), emitted without a project.
      await emit(c, "task:to-review", {
        task_id: task.id, task_shotgun_id: task.shotgun_id ?? null, entity_type_name: entityType.name,
        previous_task_status_id: task.task_status_id, entity_shotgun_id: entity.shotgun_id ?? null,
        project_shotgun_id: project.shotgun_id ?? null, person_shotgun_id: (person as { shotgun_id?: number | null }).shotgun_id ?? null,
        comment, preview_path: previewPath, change_status: changeStatus,
      }, null);
      return updated;
    });
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
    const related = await c.get("db").selectFrom("preview_file").selectAll().where("id", "=", serviceId(c.req.param("preview_file_id"))).executeTakeFirst();
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
    const db = c.get("db");
    const rows = await db
      .selectFrom("task")
      .selectAll()
      .where("task_type_id", "=", taskType.id)
      .where("project_id", "in", projects)
      .where("entity_id", "in", (eb) =>
        eb.selectFrom("task as assigned")
          .innerJoin("task_person_link", "task_person_link.task_id", "assigned.id")
          .select("assigned.entity_id")
          .where("task_person_link.person_id", "=", personId))
      .orderBy("name")
      .execute();
    return c.json(rows.map((row) => presentTask(row)));
  });

  app.get("/data/entities/:entity_id/task-types/:task_type_id/tasks", async (c) => {
    const entity = await loadServiceRow(c.get("db"), "entity", c.req.param("entity_id"));
    await checkProjectAccess(c, entity.project_id);
    const taskTypeId = serviceId(c.req.param("task_type_id"));
    const rows = await c
      .get("db")
      .selectFrom("task")
      .selectAll()
      .where("entity_id", "=", entity.id)
      .where("task_type_id", "=", taskTypeId)
      .orderBy("name")
      .execute();
    return c.json(rows.map((row) => presentTask(row)));
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
    const scoped = () => {
      let query = db.selectFrom("task").where("task.project_id", "=", project.id);
      if (taskTypeId) query = query.where("task.task_type_id", "=", taskTypeId);
      if (episodeId) {
        // Tasks of the entities whose parent sequence belongs to the episode (shots, scenes).
        query = query.where("task.entity_id", "in", (eb) =>
          eb.selectFrom("entity as child")
            .innerJoin("entity as sequence", "sequence.id", "child.parent_id")
            .select("child.id")
            .where("sequence.parent_id", "=", episodeId));
      }
      if (role === "vendor") {
        query = query.where("task.id", "in", (eb) => eb.selectFrom("task_person_link").select("task_id").where("person_id", "=", userId));
      }
      return query;
    };
    const answer = await paginate(
      c,
      async () => Number((await scoped().select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirst())?.n ?? 0),
      async (limit, offset) => {
        let query = scoped().selectAll("task").orderBy("task.updated_at", "desc").orderBy("task.id");
        if (limit !== null) query = query.limit(limit).offset(offset);
        return presentTasks(db, await query.execute());
      },
    );
    declareAnswerReads(c, mark, await projectTaskReads(db, userId, project.id, episodeId !== undefined));
    return c.json(answer);
  }));

  app.get("/data/projects/:project_id/comments", async (c) => {
    const project = await getProject(c, c.req.param("project_id"));
    const role = await checkProjectAccess(c, project.id);
    if (role === "vendor" || role === "client") throw forbidden();
    const db = c.get("db");
    const scoped = () => db.selectFrom("comment").innerJoin("task", "task.id", "comment.object_id").where("task.project_id", "=", project.id);
    return c.json(await paginate(
      c,
      async () => Number((await scoped().select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirst())?.n ?? 0),
      async (limit, offset) => {
        let query = scoped().selectAll("comment").orderBy("comment.updated_at", "desc").orderBy("comment.id");
        if (limit !== null) query = query.limit(limit).offset(offset);
        return serializeCommentsWithRelations(db, await query.execute());
      },
    ));
  });

  app.get("/data/projects/:project_id/notifications", async (c) => {
    checkAdmin(c);
    const project = await getProject(c, c.req.param("project_id"));
    const db = c.get("db");
    const scoped = () => db.selectFrom("notification").innerJoin("task", "task.id", "notification.task_id").where("task.project_id", "=", project.id);
    return c.json(await paginate(
      c,
      async () => Number((await scoped().select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirst())?.n ?? 0),
      async (limit, offset) => {
        let query = scoped().selectAll("notification").orderBy("notification.updated_at", "desc").orderBy("notification.id");
        if (limit !== null) query = query.limit(limit).offset(offset);
        return (await query.execute()).map((row) => serialize("notification", row));
      },
    ));
  });

  app.get("/data/projects/:project_id/preview-files", async (c) => {
    checkAdmin(c);
    const project = await getProject(c, c.req.param("project_id"));
    const db = c.get("db");
    const scoped = () => db.selectFrom("preview_file").innerJoin("task", "task.id", "preview_file.task_id").where("task.project_id", "=", project.id);
    return c.json(await paginate(
      c,
      async () => Number((await scoped().select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirst())?.n ?? 0),
      async (limit, offset) => {
        let query = scoped().selectAll("preview_file").orderBy("preview_file.updated_at", "desc").orderBy("preview_file.id");
        if (limit !== null) query = query.limit(limit).offset(offset);
        return (await query.execute()).map((row) => serialize("preview_file", row));
      },
    ));
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
      const entities = await entitiesForCreation(c, project.id, kinds);
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
    const entityType = await c.get("db").selectFrom("entity_type").select("name").where("name", "=", name).executeTakeFirst();
    if (!entityType) throw notFound();
    const entities = await entitiesForCreation(c, project.id, [entityType.name]);
    const tasks = await transact(c, () => createTasksForEntities(c, taskType, entities));
    return c.json(tasks, 201);
  });

  app.post("/actions/projects/:project_id/delete-tasks", async (c) => {
    const project = await getProject(c, c.req.param("project_id"));
    await checkManagerProjectAccess(c, project.id);
    const body = await readBodyValue(c);
    if (!Array.isArray(body)) throw badRequest("A list of task ids is required.");
    const ids = idList(body);
    const deleted: string[] = [];
    await transact(c, async (db) => {
      for (const chunk of chunks(ids)) {
        const tasks = await db.selectFrom("task").selectAll().where("id", "in", chunk).where("project_id", "=", project.id).execute();
        for (const task of tasks) {
          await removeTask(c, task, true);
          deleted.push(task.id);
        }
      }
    });
    return c.json(deleted);
  });

  app.delete("/actions/projects/:project_id/task-types/:task_type_id/delete-tasks", async (c) => {
    checkAdmin(c);
    const project = await getProject(c, c.req.param("project_id"));
    const taskType = await getTaskType(c, c.req.param("task_type_id"));
    await transact(c, async (db) => {
      const tasks = await db.selectFrom("task").selectAll().where("project_id", "=", project.id).where("task_type_id", "=", taskType.id).execute();
      for (const task of tasks) await removeTask(c, task, true);
    });
    return c.body(null, 204);
  });
}
