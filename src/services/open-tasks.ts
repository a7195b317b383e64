/**
 * The open tasks page (`GET /data/tasks/open-tasks`) and the per project task totals of the
 * productions page (`GET /data/tasks/open-tasks/stats`), shaped as Zou sends them.
 */
import { sql } from "kysely";
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import { isTrue } from "../db/serialize";
import { checkProjectAccess } from "./permissions";
import { visibleOpenProjectIds, type Dict } from "./tasks";
import { detailedColumns, detailedTaskQuery, presentDetailed, splitDetailRow } from "./todo-lists";

export interface OpenTasksFilters {
  projectId?: string;
  taskTypeId?: string;
  taskStatusId?: string;
  personIds?: string[] | "unassigned";
  departmentId?: string;
  studioId?: string;
  startDate?: string;
  dueDate?: string;
  priority?: number;
  page: number;
  limit: number;
}

/** Task types of every kind but concepts (NULL kept: `<>` alone would drop it). */
function notConcept(eb: any) {
  return eb.or([eb("task_type.for_entity", "is", null), eb("task_type.for_entity", "!=", "Concept")]);
}

/** Projects of the open tasks page: `project_id` when given (the caller must have access to it), else the open projects (all for admins, the caller's for others). */
async function openTasksProjects(c: AppContext, filters: OpenTasksFilters): Promise<string[]> {
  if (!filters.projectId) return visibleOpenProjectIds(c);
  await checkProjectAccess(c, filters.projectId);
  return [filters.projectId];
}

/**
 * The tasks of `projectIds` matching the filters; done tasks included. With `listing`, concept
 * tasks only when their task type is asked for: Zou's totals (durations, per status amounts)
 * count them, its listing and `total` do not.
 */
function openTasksPool(db: Db, projectIds: string[], filters: OpenTasksFilters, listing: boolean) {
  let query = detailedTaskQuery(db).where("task.project_id", "in", projectIds);
  if (filters.taskTypeId) query = query.where("task.task_type_id", "=", filters.taskTypeId);
  else if (listing) query = query.where(notConcept);
  if (filters.taskStatusId) query = query.where("task.task_status_id", "=", filters.taskStatusId);
  if (filters.startDate) query = query.where("task.start_date", ">=", filters.startDate);
  if (filters.dueDate) query = query.where("task.due_date", "<=", filters.dueDate);
  // Zou compares `priority` with the task type's priority.
  if (filters.priority !== undefined) query = query.where("task_type.priority", "=", filters.priority);
  const assigned = (eb: any) => eb.selectFrom("task_person_link").select("task_person_link.task_id");
  if (filters.personIds === "unassigned") {
    query = query.where("task.id", "not in", assigned);
  } else if (filters.personIds && filters.personIds.length > 0) {
    const ids = filters.personIds;
    query = query.where("task.id", "in", (eb: any) => assigned(eb).where("task_person_link.person_id", "in", ids));
  }
  if (filters.departmentId) {
    // Tasks with an assignee of the department (Zou's filter), whatever the task type's department.
    const departmentId = filters.departmentId;
    query = query.where("task.id", "in", (eb: any) =>
      assigned(eb).innerJoin("department_link", "department_link.person_id", "task_person_link.person_id").where("department_link.department_id", "=", departmentId));
  }
  if (filters.studioId) {
    const studioId = filters.studioId;
    query = query.where("task.id", "in", (eb: any) =>
      assigned(eb).innerJoin("person", "person.id", "task_person_link.person_id").where("person.studio_id", "=", studioId));
  }
  return query;
}

/**
 * A page of the open tasks pool with its totals: `{data, stats: {total, total_duration,
 * total_estimation, status: [{task_status_id, amount}]}, limit, page, is_more}`. Each row is the
 * detailed task with Zou's open-task names: `type_name`, `type_color`, `status_name`,
 * `status_color`, `status_short_name`.
 */
export async function openTasks(c: AppContext, filters: OpenTasksFilters): Promise<Dict> {
  const db = c.get("db");
  const projectIds = await openTasksProjects(c, filters);
  const empty = {
    data: [], stats: { total_duration: 0, total_estimation: 0, total: 0, status: [] }, limit: filters.limit, page: filters.page, is_more: false,
  };
  if (projectIds.length === 0) return empty;
  const query = openTasksPool(db, projectIds, filters, true);
  const statsQuery = openTasksPool(db, projectIds, filters, false);
  const offset = Math.max((filters.page - 1) * filters.limit, 0);
  const raw = (await query
    .selectAll("task")
    .select(detailedColumns() as any)
    .orderBy("project.name")
    .orderBy("episode.name")
    .orderBy("sequence.name")
    .orderBy("entity_type.name")
    .orderBy("entity.name")
    .orderBy("task_type.name")
    .orderBy("task.id")
    .limit(filters.limit)
    .offset(offset)
    .execute()) as Record<string, unknown>[];
  if (raw.length === 0) return empty;
  const rows = raw.map(splitDetailRow);
  const data = await presentDetailed(db, rows);
  rows.forEach((row, index) => {
    Object.assign(data[index]!, {
      type_name: row.task_type_name,
      status_name: row.task_status_name,
      type_color: row.task_type_color,
      status_color: row.task_status_color,
      status_short_name: row.task_status_short_name,
    });
  });
  const count = await query.select(sql<number>`count(task.id)`.as("total")).executeTakeFirst();
  const totals = (await statsQuery
    .select([
      sql<number>`coalesce(sum(task.duration), 0)`.as("total_duration"),
      sql<number>`coalesce(sum(task.estimation), 0)`.as("total_estimation"),
    ])
    .executeTakeFirst()) as { total_duration: number; total_estimation: number } | undefined;
  const byStatus = await statsQuery
    .select(["task.task_status_id", sql<number>`count(task.id)`.as("amount")])
    .groupBy("task.task_status_id")
    .orderBy("task.task_status_id")
    .execute();
  const total = Number(count?.total ?? 0);
  return {
    data,
    stats: {
      total_duration: Number(totals?.total_duration ?? 0),
      total_estimation: Number(totals?.total_estimation ?? 0),
      total,
      status: byStatus.map((row) => ({ task_status_id: row.task_status_id, amount: Number(row.amount) })),
    },
    limit: filters.limit,
    page: filters.page,
    is_more: offset + data.length < total,
  };
}

/**
 * Task totals of the open projects (all for admins, the caller's for others), concept tasks
 * aside: `{project_id: {amount, amount_done, total_duration, total_estimation, task_types: [{
 * project_id, task_type_id, task_status_id, amount, amount_done, total_duration,
 * total_estimation}]}}`, one flat row per task type and status.
 */
export async function openTasksStats(c: AppContext): Promise<Dict> {
  const db = c.get("db");
  const projectIds = await visibleOpenProjectIds(c);
  const result: Record<string, { amount: number; amount_done: number; total_duration: number; total_estimation: number; task_types: Dict[] }> = {};
  if (projectIds.length === 0) return result;
  const rows = await db
    .selectFrom("task")
    .innerJoin("task_status", "task_status.id", "task.task_status_id")
    .innerJoin("task_type", "task_type.id", "task.task_type_id")
    .select([
      "task.project_id", "task.task_type_id", "task.task_status_id", "task_status.is_done",
      sql<number>`count(task.id)`.as("amount"),
      sql<number>`coalesce(sum(task.duration), 0)`.as("total_duration"),
      sql<number>`coalesce(sum(task.estimation), 0)`.as("total_estimation"),
    ])
    .where("task.project_id", "in", projectIds)
    .where(notConcept)
    .groupBy(["task.project_id", "task.task_type_id", "task.task_status_id", "task_status.is_done"])
    .orderBy("task.project_id")
    .orderBy("task.task_type_id")
    .orderBy("task.task_status_id")
    .execute();
  for (const row of rows) {
    const projectId = row.project_id!;
    const amount = Number(row.amount);
    const stat = {
      amount,
      amount_done: isTrue(row.is_done) ? amount : 0,
      project_id: projectId,
      task_status_id: row.task_status_id,
      task_type_id: row.task_type_id,
      total_duration: Number(row.total_duration),
      total_estimation: Number(row.total_estimation),
    };
    const project = (result[projectId] ??= { amount: 0, amount_done: 0, total_duration: 0, total_estimation: 0, task_types: [] });
    project.amount += stat.amount;
    project.amount_done += stat.amount_done;
    project.total_duration += stat.total_duration;
    project.total_estimation += stat.total_estimation;
    project.task_types.push(stat);
  }
  return result;
}
