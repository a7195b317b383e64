/** Time spents and days off seen from a project. */
import type { AppContext } from "../context";
import { serialize } from "../db/serialize";
import { type Dict, type Row } from "./project-base";

// ---------------------------------------------------------------------------------------------
// Time spents and days off seen from a project

export async function projectTimeSpents(c: AppContext, projectId: string): Promise<Dict[]> {
  const rows = await c
    .get("db")
    .selectFrom("time_spent")
    .innerJoin("task", "task.id", "time_spent.task_id")
    .selectAll("time_spent")
    .where("task.project_id", "=", projectId)
    .orderBy("time_spent.date")
    .execute();
  return rows.map((row) => serialize("time_spent", row as Row));
}

/** Time spents of a task type in a project, grouped by person id. */
export async function projectTaskTypeTimeSpents(c: AppContext, projectId: string, taskTypeId: string, start: string | null, end: string | null): Promise<Record<string, Dict[]>> {
  let query = c
    .get("db")
    .selectFrom("time_spent")
    .innerJoin("task", "task.id", "time_spent.task_id")
    .selectAll("time_spent")
    .where("task.project_id", "=", projectId)
    .where("task.task_type_id", "=", taskTypeId);
  if (start) query = query.where("time_spent.date", ">=", start);
  if (end) query = query.where("time_spent.date", "<=", end);
  const result: Record<string, Dict[]> = {};
  for (const row of await query.orderBy("time_spent.date").execute()) {
    (result[row.person_id ?? "null"] ??= []).push(serialize("time_spent", row as Row));
  }
  return result;
}

/**
 * Time spents of a project summed per department (of the task type), person and month:
 * `{department_id: {total, person_id: {total, "YYYY-MM": duration}}}`.
 */
export async function projectMonthTimeSpents(c: AppContext, projectId: string): Promise<Record<string, Record<string, any>>> {
  const rows = await c
    .get("db")
    .selectFrom("time_spent")
    .innerJoin("task", "task.id", "time_spent.task_id")
    .innerJoin("task_type", "task_type.id", "task.task_type_id")
    .select(["time_spent.person_id", "time_spent.date", "time_spent.duration", "task_type.department_id"])
    .where("task.project_id", "=", projectId)
    .orderBy("time_spent.date")
    .execute();
  const result: Record<string, Record<string, any>> = {};
  for (const row of rows) {
    // As Zou (inner join on the department): time on task types without a department is left out.
    if (!row.department_id) continue;
    const department = row.department_id;
    const month = String(row.date).slice(0, 7);
    const duration = Number(row.duration ?? 0);
    const byDepartment = (result[department] ??= { total: 0 });
    const byPerson = (byDepartment[row.person_id ?? "null"] ??= { total: 0 });
    byPerson[month] = (byPerson[month] ?? 0) + duration;
    byPerson.total += duration;
    byDepartment.total += duration;
  }
  return result;
}

/**
 * Days off of the team members overlapping [start, end], grouped by person id (Zou
 * `get_day_offs_between_for_project`). Managers get full rows; others get their own rows in full
 * and the others' without description.
 */
export async function projectDayOffs(c: AppContext, projectId: string, start: string | null, end: string | null, full: boolean): Promise<Record<string, Dict[]>> {
  let query = c
    .get("db")
    .selectFrom("day_off")
    .innerJoin("project_person_link", "project_person_link.person_id", "day_off.person_id")
    .selectAll("day_off")
    .where("project_person_link.project_id", "=", projectId);
  if (end) query = query.where("day_off.date", "<=", end);
  if (start) query = query.where("day_off.end_date", ">=", start);
  const me = c.get("user").id;
  const result: Record<string, Dict[]> = {};
  for (const row of await query.orderBy("day_off.date").execute()) {
    const dict = serialize("day_off", row as Row);
    if (!full && row.person_id !== me) delete dict.description;
    (result[row.person_id ?? "null"] ??= []).push(dict);
  }
  return result;
}
