/** Routes of the `projects` area of routes.tsv. */
import type { Hono } from "hono";
import * as v from "valibot";
import type { AppContext, AppEnv } from "../context";
import { transact } from "../db/transaction";
import { readLooseBody, validate } from "../lib/body";
import { numberSchema } from "../lib/validation";
import { serialize } from "../db/serialize";
import { badRequest, forbidden, notFound } from "../lib/errors";
import { isUuid, normalizeId, parseDateInput, queryId } from "../lib/ids";
import {
  checkAdmin,
  isAdmin,
  checkManager,
  checkManagerProjectAccess,
  checkProjectAccess,
  type Role,
} from "../services/permissions";
import * as projects from "../services/projects";
import { getRowById } from "../db/rows";

type Row = projects.Row;

// --- access helpers ---------------------------------------------------------------------------

/** The project of the path (404) and the caller's role on it, for members (403 otherwise). */
async function memberProject(c: AppContext): Promise<{ project: Row; role: Role }> {
  const project = await projects.getProjectOr404(c, c.req.param("project_id"));
  return { project, role: await checkProjectAccess(c, project.id) };
}

async function managerProject(c: AppContext): Promise<Row> {
  const project = await projects.getProjectOr404(c, c.req.param("project_id"));
  await checkManagerProjectAccess(c, project.id);
  return project;
}

/** Members whose role on the project is not in `blocked` (vendor, client...). */
async function memberProjectExcept(c: AppContext, blocked: Role[]): Promise<{ project: Row; role: Role }> {
  const access = await memberProject(c);
  if (blocked.includes(access.role)) throw forbidden();
  return access;
}

function body<T extends v.GenericSchema>(c: AppContext, schema: T): Promise<v.InferOutput<T>> {
  return readLooseBody(c).then((data) => validate(schema, data));
}

const requiredId = v.pipe(v.string(), v.minLength(1));
const optionalText = v.optional(v.nullable(v.string()));

/** Path id that must be a UUID (400 otherwise), as Zou's `check_id_parameter`. */
function pathUuid(c: AppContext, name: string): string {
  return queryId(c.req.param(name) ?? "");
}

/** Optional date query parameters; a bad one is a 400 naming both. */
function dateRange(c: AppContext): { start: string | null; end: string | null } {
  const rawStart = c.req.query("start_date");
  const rawEnd = c.req.query("end_date");
  const start = rawStart ? parseDateInput(rawStart) : null;
  const end = rawEnd ? parseDateInput(rawEnd) : null;
  if ((rawStart && !start) || (rawEnd && !end)) throw badRequest(`Wrong date format for ${rawStart ?? null} and/or ${rawEnd ?? null}`);
  return { start, end };
}

// --- schemas -----------------------------------------------------------------------------------

const TeamBody = v.object({ person_id: requiredId, role: v.optional(v.nullable(v.string())) });
const TeamRoleBody = v.object({ role: v.optional(v.nullable(v.string())) });
const settingBody = (key: string) => v.object({ [key]: requiredId });
const priority = v.optional(v.nullable(v.union([v.pipe(v.literal(""), v.transform(() => null)), numberSchema({ min: 0, max: 2_147_483_647, integer: true })])));
const TaskTypeSettingBody = v.object({ task_type_id: requiredId, priority });
const SettingsBatchBody = v.object({
  task_types: v.optional(v.array(v.object({ task_type_id: requiredId, priority })), []),
  task_status_ids: v.optional(v.array(v.string()), []),
  asset_type_ids: v.optional(v.array(v.string()), []),
  replace_task_types: v.optional(v.boolean(), false),
});
const DescriptorBody = v.object({
  entity_type: v.optional(v.string(), "Asset"),
  task_type_id: optionalText,
  name: v.pipe(v.string(), v.minLength(1)),
  data_type: v.optional(v.pipe(v.string(), v.minLength(1)), "string"),
  for_client: v.optional(v.nullable(v.boolean()), false),
  choices: v.optional(v.nullable(v.array(v.string())), []),
  departments: v.optional(v.nullable(v.array(v.nullable(v.string()))), []),
});
const DescriptorUpdateBody = v.object({
  name: optionalText,
  for_client: v.optional(v.nullable(v.boolean())),
  data_type: v.optional(v.pipe(v.string(), v.minLength(1))),
  choices: v.optional(v.nullable(v.array(v.string()))),
  departments: v.optional(v.nullable(v.array(v.nullable(v.string())))),
});
const AllProjectsDescriptorUpdateBody = v.object({ ...DescriptorUpdateBody.entries, entity_type: v.pipe(v.string(), v.minLength(1)) });
const ReorderBody = v.object({ entity_type: v.pipe(v.string(), v.minLength(1)), descriptor_ids: v.pipe(v.array(v.string()), v.minLength(1)) });
const AllProjectsReorderBody = v.object({ entity_type: v.pipe(v.string(), v.minLength(1)), field_order: v.pipe(v.array(v.string()), v.minLength(1)) });
const BudgetBody = v.object({ name: v.pipe(v.string(), v.minLength(1)), currency: v.optional(v.nullable(v.string()), "USD") });
const BudgetUpdateBody = v.object({ name: optionalText, currency: optionalText });
const ENTRY_POSITIONS = ["supervisor", "lead", "artist"];
const ENTRY_SENIORITIES = ["senior", "mid", "junior"];
const BudgetEntryFields = {
  department_id: optionalText,
  person_id: optionalText,
  start_date: optionalText,
  months_duration: v.optional(v.nullable(numberSchema({ min: 0, max: 1200, integer: true }))),
  daily_salary: v.optional(v.nullable(numberSchema({ min: 0, max: 1e9 }))),
  position: v.optional(v.nullable(v.picklist(ENTRY_POSITIONS))),
  seniority: v.optional(v.nullable(v.picklist(ENTRY_SENIORITIES))),
};
const BudgetEntryBody = v.object({ ...BudgetEntryFields, department_id: requiredId });
const BudgetEntryUpdateBody = v.object({ ...BudgetEntryFields, exceptions: v.optional(v.nullable(v.record(v.string(), v.unknown()))) });
const ScheduleVersionCopyBody = v.object({ production_schedule_version_id: requiredId });

function descriptorInput(data: v.InferOutput<typeof DescriptorBody>): projects.DescriptorInput {
  return {
    entity_type: data.entity_type,
    name: data.name,
    data_type: projects.checkDataType(data.data_type),
    choices: data.choices ?? [],
    for_client: Boolean(data.for_client),
    departments: (data.departments ?? []).filter((d): d is string => d !== null),
    task_type_id: data.task_type_id ?? null,
  };
}

function descriptorChanges(data: v.InferOutput<typeof DescriptorUpdateBody>): projects.DescriptorChanges {
  if (data.name !== undefined && data.name !== null && data.name.length === 0) throw badRequest("Name cannot be empty.");
  const changes: projects.DescriptorChanges = {};
  if (data.name) changes.name = data.name;
  if (data.for_client !== undefined) changes.for_client = Boolean(data.for_client);
  if (data.data_type !== undefined) changes.data_type = projects.checkDataType(data.data_type);
  if (data.choices !== undefined) changes.choices = data.choices ?? [];
  if (data.departments !== undefined) changes.departments = (data.departments ?? []).filter((d) => d !== null);
  return changes;
}

/** Body values of a budget entry: ids, date and enums checked. */
async function budgetEntryValues(c: AppContext, data: Record<string, unknown>): Promise<Row> {
  const values: Row = {};
  for (const key of ["department_id", "person_id"] as const) {
    if (data[key] === undefined) continue;
    if (data[key] === null) {
      if (key === "department_id") throw badRequest("department_id cannot be null.");
      values[key] = null;
      continue;
    }
    if (!isUuid(data[key])) throw badRequest(`Wrong ${key}.`);
    const table = key === "department_id" ? "department" : "person";
    const found = await getRowById(c.get("db"), table, normalizeId(data[key] as string));
    if (!found) throw badRequest(`${key === "department_id" ? "Department" : "Person"} ${String(data[key])} not found.`);
    values[key] = found.id;
  }
  if (data.start_date !== undefined && data.start_date !== null) {
    const date = parseDateInput(data.start_date);
    if (!date) throw badRequest("Wrong date format for start_date.");
    values.start_date = date;
  }
  for (const key of ["months_duration", "daily_salary", "position", "seniority"]) {
    if (data[key] !== undefined && data[key] !== null) values[key] = data[key];
  }
  if ("exceptions" in data) values.exceptions = JSON.stringify(projects.cleanExceptions(data.exceptions));
  return values;
}

// --- routes ------------------------------------------------------------------------------------

/** Zou answers a descriptor write with the plain row: its department links are not listed. */
function withoutDepartments(dict: Record<string, unknown>): Record<string, unknown> {
  const { departments: _departments, ...row } = dict;
  return row;
}

export function registerProjects(app: Hono<AppEnv>): void {
  app.get("/data/projects/open", async (c) => c.json(await projects.listOpenProjects(c, c.req.query("name"))));
  app.get("/data/projects/all", async (c) => c.json(await projects.listAllProjects(c, c.req.query("name"))));

  // Team
  app.get("/data/projects/:project_id/team", async (c) => {
    const { project, role } = await memberProject(c);
    return c.json(await projects.listTeam(c, project.id, role));
  });
  app.post("/data/projects/:project_id/team", async (c) => {
    const project = await managerProject(c);
    const data = await body(c, TeamBody);
    return c.json(await transact(c, () => projects.addTeamMember(c, project, data.person_id, data.role)), 201);
  });
  app.put("/data/projects/:project_id/team/:person_id", async (c) => {
    const project = await managerProject(c);
    const data = await body(c, TeamRoleBody);
    return c.json(await transact(c, () => projects.updateTeamMemberRole(c, project.id, c.req.param("person_id"), data.role ?? null)));
  });
  app.delete("/data/projects/:project_id/team/:person_id", async (c) => {
    const project = await managerProject(c);
    await transact(c, () => projects.removeTeamMember(c, project.id, c.req.param("person_id")));
    return c.body(null, 204);
  });

  // Workflow settings
  app.get("/data/projects/:project_id/task-types", async (c) => {
    const { project } = await memberProject(c);
    return c.json(await projects.projectTaskTypes(c, project.id));
  });
  app.post("/data/projects/:project_id/settings/task-types", async (c) => {
    const project = await managerProject(c);
    const data = await body(c, TaskTypeSettingBody);
    const priority = data.priority ?? null;
    if (!isUuid(data.task_type_id)) throw badRequest("task_type_id is required and must be a valid UUID");
    return c.json(await transact(c, () => projects.addSetting(c, project.id, "task_types", data.task_type_id, { priority })), 201);
  });

  const settingRoutes: [string, keyof typeof projects.SETTINGS, string, "member" | "manager" | null][] = [
    ["asset-types", "asset_types", "asset_type_id", null],
    ["task-types", "task_types", "task_type_id", null],
    ["task-status", "task_statuses", "task_status_id", "member"],
    ["status-automations", "status_automations", "status_automation_id", "manager"],
    ["preview-background-files", "preview_background_files", "preview_background_file_id", "member"],
  ];
  for (const [segment, kind, key, reader] of settingRoutes) {
    if (reader) {
      app.get(`/data/projects/:project_id/settings/${segment}`, async (c) => {
        const project = reader === "manager" ? await managerProject(c) : (await memberProject(c)).project;
        return c.json(await projects.listSetting(c, project.id, kind));
      });
    }
    if (segment !== "task-types") {
      app.post(`/data/projects/:project_id/settings/${segment}`, async (c) => {
        const project = await managerProject(c);
        const data = (await body(c, settingBody(key))) as Record<string, string>;
        return c.json(await transact(c, () => projects.addSetting(c, project.id, kind, data[key])), 201);
      });
    }
    app.delete(`/data/projects/:project_id/settings/${segment}/:${key}`, async (c) => {
      const project = await managerProject(c);
      await transact(c, () => projects.removeSetting(c, project.id, kind, c.req.param(key) ?? ""));
      return c.body(null, 204);
    });
  }
  app.post("/data/projects/:project_id/settings/batch", async (c) => {
    const project = await managerProject(c);
    const data = await body(c, SettingsBatchBody);
    return c.json(await transact(c, () => projects.updateProjectSettings(c, project.id, data)));
  });

  // Metadata descriptors of one project
  app.get("/data/projects/:project_id/metadata-descriptors", async (c) => {
    const { project, role } = await memberProject(c);
    return c.json(await projects.listDescriptors(c, project.id, role));
  });
  app.post("/data/projects/:project_id/metadata-descriptors", async (c) => {
    const project = await projects.getProjectOr404(c, c.req.param("project_id"));
    const data = await body(c, DescriptorBody);
    await projects.checkAllDepartmentsAccess(c, project.id, (data.departments ?? []).filter((d): d is string => d !== null));
    projects.checkDescriptorEntityType(data.entity_type);
    if (data.entity_type === "Task") {
      if (!data.task_type_id) throw badRequest("Task metadata descriptors require a task_type_id.");
      const taskType = isUuid(data.task_type_id)
        ? await getRowById(c.get("db"), "task_type", normalizeId(data.task_type_id))
        : undefined;
      if (!taskType) throw badRequest("Task type not found.");
      data.task_type_id = taskType.id;
    } else if (data.task_type_id) {
      throw badRequest("task_type_id only applies to Task metadata descriptors.");
    }
    const input = descriptorInput(data);
    return c.json(withoutDepartments(await transact(c, () => projects.createDescriptor(c, project.id, input))), 201);
  });
  app.post("/data/projects/:project_id/metadata-descriptors/reorder", async (c) => {
    const project = await managerProject(c);
    const data = await body(c, ReorderBody);
    projects.checkDescriptorEntityType(data.entity_type);
    return c.json(await transact(c, () => projects.reorderDescriptors(c, project.id, data.entity_type, data.descriptor_ids)));
  });
  app.get("/data/projects/:project_id/metadata-descriptors/:metadata_descriptor_id", async (c) => {
    // Any member reads a descriptor by id, as in Zou (the list is the one filtered for clients and vendors).
    const { project } = await memberProject(c);
    const descriptor = await projects.getDescriptorOr404(c, project.id, c.req.param("metadata_descriptor_id"));
    return c.json(projects.presentDescriptor(descriptor));
  });
  app.put("/data/projects/:project_id/metadata-descriptors/:metadata_descriptor_id", async (c) => {
    const project = await projects.getProjectOr404(c, c.req.param("project_id"));
    const descriptor = await projects.getDescriptorOr404(c, project.id, c.req.param("metadata_descriptor_id"));
    const data = await body(c, DescriptorUpdateBody);
    const sent = (data.departments ?? []).filter((d): d is string => d !== null);
    await projects.checkAllDepartmentsAccess(c, project.id, [...descriptor.departments, ...sent]);
    const changes = descriptorChanges(data);
    return c.json(withoutDepartments(await transact(c, () => projects.updateDescriptor(c, descriptor, changes))));
  });
  app.delete("/data/projects/:project_id/metadata-descriptors/:metadata_descriptor_id", async (c) => {
    const project = await projects.getProjectOr404(c, c.req.param("project_id"));
    const descriptor = await projects.getDescriptorOr404(c, project.id, c.req.param("metadata_descriptor_id"));
    await projects.checkAllDepartmentsAccess(c, project.id, descriptor.departments);
    await transact(c, () => projects.removeDescriptor(c, descriptor));
    return c.body(null, 204);
  });

  // Metadata descriptors on every open project the caller manages
  app.post("/data/metadata-descriptors/all-projects", async (c) => {
    checkManager(c);
    const data = await body(c, DescriptorBody);
    projects.checkDescriptorEntityType(data.entity_type, true);
    const input = { ...descriptorInput(data), task_type_id: null };
    const ids = await projects.manageableOpenProjectIds(c);
    return c.json(await transact(c, () => projects.addDescriptorToProjects(c, ids, input)), 201);
  });
  app.put("/data/metadata-descriptors/all-projects/:field_name", async (c) => {
    checkManager(c);
    const data = await body(c, AllProjectsDescriptorUpdateBody);
    projects.checkDescriptorEntityType(data.entity_type, true);
    const changes = descriptorChanges(data);
    const ids = await projects.manageableOpenProjectIds(c);
    return c.json(await transact(c, () => projects.updateDescriptorOnProjects(c, ids, data.entity_type, c.req.param("field_name"), changes)));
  });
  app.delete("/data/metadata-descriptors/all-projects/:field_name", async (c) => {
    checkManager(c);
    const entityType = projects.checkDescriptorEntityType(c.req.query("entity_type"), true);
    const ids = await projects.manageableOpenProjectIds(c);
    return c.json(await transact(c, () => projects.removeDescriptorFromProjects(c, ids, entityType, c.req.param("field_name"))));
  });
  app.post("/actions/metadata-descriptors/all-projects/reorder", async (c) => {
    checkManager(c);
    const data = await body(c, AllProjectsReorderBody);
    projects.checkDescriptorEntityType(data.entity_type, true);
    const ids = await projects.manageableOpenProjectIds(c);
    return c.json(await transact(c, () => projects.reorderDescriptorsOnProjects(c, ids, data.entity_type, data.field_order)));
  });

  // Time spents and days off
  app.get("/data/projects/:project_id/time-spents", async (c) => {
    const { project } = await memberProject(c);
    return c.json(await projects.projectTimeSpents(c, project.id));
  });
  app.get("/data/projects/:project_id/task-types/:task_type_id/time-spents", async (c) => {
    const project = await managerProject(c);
    const taskTypeId = pathUuid(c, "task_type_id");
    const { start, end } = dateRange(c);
    return c.json(await projects.projectTaskTypeTimeSpents(c, project.id, taskTypeId, start, end));
  });
  app.get("/data/projects/:project_id/day-offs", async (c) => {
    const { project, role } = await memberProjectExcept(c, ["client", "vendor"]);
    const { start, end } = dateRange(c);
    return c.json(await projects.projectDayOffs(c, project.id, start, end, role === "admin" || role === "manager"));
  });

  // Milestones and schedule items
  app.get("/data/projects/:project_id/milestones", async (c) => {
    const { project } = await memberProject(c);
    return c.json(await projects.listMilestones(c, project.id));
  });
  app.get("/data/projects/:project_id/schedule-items", async (c) => {
    const { project } = await memberProjectExcept(c, ["vendor"]);
    return c.json(await projects.listScheduleItems(c, project.id));
  });
  app.get("/data/projects/:project_id/schedule-items/task-types", async (c) => {
    const { project } = await memberProjectExcept(c, ["vendor"]);
    return c.json(await transact(c, () => projects.taskTypeScheduleItems(c, project.id)));
  });
  for (const kind of ["asset-types", "episodes", "sequences", "edits"] as const) {
    app.get(`/data/projects/:project_id/schedule-items/:task_type_id/${kind}`, async (c) => {
      // On these two Zou checks the id format after the access check, which admins pass without a
      // lookup: a malformed project id is a 400 for them, a 404 (unknown project) for the others.
      if ((kind === "episodes" || kind === "sequences") && isAdmin(c.get("user"))) pathUuid(c, "project_id");
      const { project } = await memberProjectExcept(c, ["vendor"]);
      const taskTypeId = pathUuid(c, "task_type_id");
      const taskType = await getRowById(c.get("db"), "task_type", taskTypeId);
      if (!taskType) throw notFound();
      const rawEpisode = c.req.query("episode_id") ?? c.req.query("episode");
      const episodeId = rawEpisode ? queryId(rawEpisode) : null;
      return c.json(await transact(c, () => projects.objectScheduleItems(c, project.id, taskTypeId, kind, episodeId)));
    });
  }

  // Budgets
  app.get("/data/projects/:project_id/budgets/time-spents", async (c) => {
    checkAdmin(c);
    pathUuid(c, "project_id");
    const project = await projects.getProjectOr404(c, c.req.param("project_id"));
    return c.json(await projects.projectMonthTimeSpents(c, project.id));
  });
  app.get("/data/projects/:project_id/budgets", async (c) => {
    pathUuid(c, "project_id");
    const project = await managerProject(c);
    return c.json(await projects.listBudgets(c, project.id));
  });
  app.post("/data/projects/:project_id/budgets", async (c) => {
    pathUuid(c, "project_id");
    const project = await managerProject(c);
    const data = await body(c, BudgetBody);
    return c.json(await transact(c, () => projects.createBudget(c, project.id, data.name, data.currency ?? null)));
  });
  app.get("/data/projects/:project_id/budgets/:budget_id", async (c) => {
    const project = await budgetProject(c);
    return c.json(serialize("budget", await projects.getBudgetOr404(c, project.id, c.req.param("budget_id"))));
  });
  app.put("/data/projects/:project_id/budgets/:budget_id", async (c) => {
    const project = await budgetProject(c);
    const budget = await projects.getBudgetOr404(c, project.id, c.req.param("budget_id"));
    const data = await body(c, BudgetUpdateBody);
    return c.json(await transact(c, () => projects.updateBudget(c, budget, data)));
  });
  app.delete("/data/projects/:project_id/budgets/:budget_id", async (c) => {
    const project = await budgetProject(c);
    const budget = await projects.getBudgetOr404(c, project.id, c.req.param("budget_id"));
    await transact(c, () => projects.deleteBudget(c, budget));
    return c.body(null, 204);
  });
  app.get("/data/projects/:project_id/budgets/:budget_id/entries", async (c) => {
    const project = await budgetProject(c);
    const budget = await projects.getBudgetOr404(c, project.id, c.req.param("budget_id"));
    return c.json(await projects.listBudgetEntries(c, budget.id));
  });
  app.post("/data/projects/:project_id/budgets/:budget_id/entries", async (c) => {
    const project = await budgetProject(c);
    const budget = await projects.getBudgetOr404(c, project.id, c.req.param("budget_id"));
    const data = await body(c, BudgetEntryBody);
    const values = await budgetEntryValues(c, data);
    for (const key of ["start_date", "months_duration", "daily_salary"]) {
      if (values[key] === undefined) throw badRequest("Validation error.", { errors: [{ field: key, message: "Field required" }] });
    }
    return c.json(await transact(c, () => projects.writeBudgetEntry(c, budget, null, values)));
  });
  app.get("/data/projects/:project_id/budgets/:budget_id/entries/:entry_id", async (c) => {
    const project = await budgetProject(c);
    const budget = await projects.getBudgetOr404(c, project.id, c.req.param("budget_id"));
    const entry = await projects.getBudgetEntryOr404(c, budget.id, c.req.param("entry_id"));
    return c.json(serialize("budget_entry", entry));
  });
  app.put("/data/projects/:project_id/budgets/:budget_id/entries/:entry_id", async (c) => {
    const project = await budgetProject(c);
    const budget = await projects.getBudgetOr404(c, project.id, c.req.param("budget_id"));
    const entry = await projects.getBudgetEntryOr404(c, budget.id, c.req.param("entry_id"));
    const values = await budgetEntryValues(c, await body(c, BudgetEntryUpdateBody));
    return c.json(await transact(c, () => projects.writeBudgetEntry(c, budget, entry, values)));
  });
  app.delete("/data/projects/:project_id/budgets/:budget_id/entries/:entry_id", async (c) => {
    const project = await budgetProject(c);
    const budget = await projects.getBudgetOr404(c, project.id, c.req.param("budget_id"));
    const entry = await projects.getBudgetEntryOr404(c, budget.id, c.req.param("entry_id"));
    await transact(c, () => projects.deleteBudgetEntry(c, budget, entry));
    return c.body(null, 204);
  });

  // Production schedule versions
  app.get("/data/production-schedule-versions/:production_schedule_version_id/task-links", async (c) => {
    const version = await projects.getScheduleVersionOr404(c, c.req.param("production_schedule_version_id"));
    const role = await checkProjectAccess(c, version.project_id);
    if (role === "vendor" || role === "client") throw forbidden();
    const rawTaskType = c.req.query("task_type_id");
    const taskTypeId = rawTaskType ? queryId(rawTaskType) : null;
    const relations = (c.req.query("relations") ?? "").toLowerCase() === "true";
    return c.json(await projects.scheduleVersionTaskLinks(c, version.id, taskTypeId, relations));
  });
  app.post("/actions/production-schedule-versions/:production_schedule_version_id/set-task-links-from-production", async (c) => {
    const version = await managedScheduleVersion(c);
    return c.json(await transact(c, () => projects.setTaskLinksFromProduction(c, version)));
  });
  app.post("/actions/production-schedule-versions/:production_schedule_version_id/set-task-links-from-production-schedule-version", async (c) => {
    const version = await managedScheduleVersion(c);
    const data = await body(c, ScheduleVersionCopyBody);
    const other = await projects.getScheduleVersionOr404(c, data.production_schedule_version_id);
    return c.json(await transact(c, () => projects.setTaskLinksFromVersion(c, version, other)));
  });
  app.post("/actions/production-schedule-versions/:production_schedule_version_id/apply-to-production", async (c) => {
    const version = await managedScheduleVersion(c);
    return c.json(await transact(c, () => projects.applyScheduleVersion(c, version)));
  });
}

/** Budget routes: malformed ids are 400s, then manager access to the project. */
async function budgetProject(c: AppContext): Promise<Row> {
  pathUuid(c, "project_id");
  for (const name of ["budget_id", "entry_id"]) if (c.req.param(name) !== undefined) pathUuid(c, name);
  return managerProject(c);
}

async function managedScheduleVersion(c: AppContext): Promise<Row> {
  const version = await projects.getScheduleVersionOr404(c, c.req.param("production_schedule_version_id"));
  await checkManagerProjectAccess(c, version.project_id);
  return version;
}

