/**
 * Time spents, day offs, desktop login logs, presence logs and quota shots (the `time_spent`,
 * `day_off`, `desktop_login_log` tables): writes with their side effects (task duration, last
 * presence, events) and the period queries behind the timesheet pages.
 */
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import { transact } from "../db/transaction";
import { serialize } from "../db/serialize";
import { loadServiceRow } from "../db/rows";
import { emitEvent } from "../lib/events";
import { badRequest, forbidden, notFound } from "../lib/errors";
import { chunks } from "../lib/chunks";
import { newId, utcNow, parseDateTimeInput, queryId } from "../lib/ids";
import { isAdmin, effectiveRole, isAssigned, isMember, projectLink, userDepartmentIds } from "./permissions";
import { fullEntityNames } from "./entity-names";

type Row = Record<string, any>;
type Dict = Record<string, unknown>;

/** Most minutes one person can log on one day. */
export const MAX_MINUTES_PER_DAY = 24 * 60;

// ---------------------------------------------------------------------------------------------
// Dates and periods

function pad(value: number, size = 2): string {
  return String(value).padStart(size, "0");
}

function formatDay(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

function dayMs(date: string): number {
  return Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10)));
}

export function addDays(date: string, days: number): string {
  return formatDay(dayMs(date) + days * 86400000);
}

/** A calendar date `YYYY-MM-DD` (a datetime is cut to its date); null when not a real date. */
export function strictDate(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$/.exec(value.trim());
  if (!match) return null;
  const [, y, m, d] = match;
  const date = `${y}-${m}-${d}`;
  if (Number(y) < 1 || formatDay(dayMs(date)) !== date) return null;
  return date;
}

/** A calendar date, or 400 with `message`. */
export function requireDate(value: unknown, message = "Wrong date format."): string {
  const date = strictDate(value);
  if (!date) throw badRequest(message);
  return date;
}

/** A half-open period of calendar days: `start` included, `end` excluded. */
export interface Period {
  start: string;
  end: string;
}

const PERIOD_ERROR = "Invalid date format.";

function intParam(value: string | undefined, min: number, max: number, message = PERIOD_ERROR): number {
  if (value === undefined || !/^\d{1,4}$/.test(value)) throw badRequest(message);
  const number = Number(value);
  if (number < min || number > max) throw badRequest(message);
  return number;
}

export function yearPeriod(year: string): Period {
  const y = intParam(year, 1, 9998);
  return { start: `${pad(y, 4)}-01-01`, end: `${pad(y + 1, 4)}-01-01` };
}

export function monthPeriod(year: string, month: string, message = PERIOD_ERROR): Period {
  const y = intParam(year, 1, 9998, message);
  const m = intParam(month, 1, 12, message);
  const start = `${pad(y, 4)}-${pad(m)}-01`;
  const end = m === 12 ? `${pad(y + 1, 4)}-01-01` : `${pad(y, 4)}-${pad(m + 1)}-01`;
  return { start, end };
}

/** Monday of ISO week 1 of `year`. */
function isoWeekOneMonday(year: number): string {
  const jan4 = Date.UTC(year, 0, 4);
  const weekday = (new Date(jan4).getUTCDay() + 6) % 7;
  return formatDay(jan4 - weekday * 86400000);
}

export function isoWeeksInYear(year: number): number {
  return (dayMs(isoWeekOneMonday(year + 1)) - dayMs(isoWeekOneMonday(year))) / (7 * 86400000);
}

export function weekPeriod(year: string, week: string): Period {
  const y = intParam(year, 1, 9998);
  const w = intParam(week, 1, 53);
  if (w > isoWeeksInYear(y)) throw badRequest(PERIOD_ERROR);
  const start = addDays(isoWeekOneMonday(y), (w - 1) * 7);
  return { start, end: addDays(start, 7) };
}

export function dayPeriod(year: string, month: string, day: string): Period {
  const y = intParam(year, 1, 9998);
  const m = intParam(month, 1, 12);
  const d = intParam(day, 1, 31);
  const date = strictDate(`${pad(y, 4)}-${pad(m)}-${pad(d)}`);
  if (!date) throw badRequest(PERIOD_ERROR);
  return { start: date, end: addDays(date, 1) };
}

/** ISO week number of a date. */
export function isoWeek(date: string): number {
  const ms = dayMs(date);
  const weekday = (new Date(ms).getUTCDay() + 6) % 7;
  const thursday = ms + (3 - weekday) * 86400000;
  const year = new Date(thursday).getUTCFullYear();
  return Math.floor((thursday - dayMs(isoWeekOneMonday(year))) / (7 * 86400000)) + 1;
}

/** Weekdays (Monday to Friday) in [start, end) of two dates. */
export function businessDays(start: string, end: string): number {
  let count = 0;
  const from = dayMs(start);
  const to = dayMs(end);
  if (to <= from) return -countBusinessDays(to, from);
  return countBusinessDays(from, to);
  function countBusinessDays(a: number, b: number): number {
    for (let ms = a; ms < b; ms += 86400000) {
      const weekday = new Date(ms).getUTCDay();
      if (weekday !== 0 && weekday !== 6) count += 1;
    }
    return count;
  }
}

/** Offset in minutes of `timeZone` at the UTC instant `utcMs` (0 for an unknown zone). */
function zoneOffsetMinutes(utcMs: number, timeZone: string): number {
  try {
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat("en-US", {
        timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
      }).formatToParts(new Date(utcMs)).map((p) => [p.type, p.value]),
    );
    const local = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
    return (local - utcMs) / 60000;
  } catch {
    return 0;
  }
}

/** Local midnight of `date` in `timeZone`, as a stored naive-UTC datetime. */
export function localMidnightToUtc(date: string, timeZone: string | null | undefined): string {
  const naive = dayMs(date);
  if (!timeZone) return new Date(naive).toISOString().slice(0, 19);
  let utc = naive - zoneOffsetMinutes(naive, timeZone) * 60000;
  utc = naive - zoneOffsetMinutes(utc, timeZone) * 60000;
  return new Date(utc).toISOString().slice(0, 19);
}

// ---------------------------------------------------------------------------------------------
// Persons

/** Loads a person by path id (404 when unknown). */
export function loadPerson(c: AppContext, rawId: string | undefined): Promise<Row> {
  return loadServiceRow(c.get("db"), "person", rawId);
}

/**
 * `check_person_is_not_bot`: 404 for an unknown person, 403 for a bot (unless `projectId`'s project
 * enables bot collaboration). Returns the person.
 */
export async function checkPersonIsNotBot(c: AppContext, rawId: string | undefined, projectId?: string | null): Promise<Row> {
  const person = await loadPerson(c, rawId);
  if (person.is_bot) {
    if (projectId) {
      const project = await c.get("db").selectFrom("project").select("is_bot_collaboration_enabled").where("id", "=", projectId).executeTakeFirst();
      if (project?.is_bot_collaboration_enabled) return person;
    }
    throw forbidden();
  }
  return person;
}

/** Sets `person.last_presence` to the latest of their time spent dates and desktop login dates. */
export async function updateLastPresence(db: Db, personId: string): Promise<void> {
  const log = await db.selectFrom("desktop_login_log").select("date").where("person_id", "=", personId).orderBy("date", "desc").executeTakeFirst();
  const spent = await db.selectFrom("time_spent").select("date").where("person_id", "=", personId).orderBy("date", "desc").executeTakeFirst();
  const candidates = [log?.date ? String(log.date).slice(0, 10) : null, spent?.date ? String(spent.date).slice(0, 10) : null].filter(Boolean) as string[];
  const latest = candidates.sort().at(-1) ?? null;
  await db.updateTable("person").set({ last_presence: latest }).where("id", "=", personId).execute();
}

// ---------------------------------------------------------------------------------------------
// Time spent writes

/** Recomputes `task.duration` as the sum of its time spents. */
export async function recomputeTaskDuration(db: Db, taskId: string): Promise<void> {
  const row = await db
    .selectFrom("time_spent")
    .select((eb) => eb.fn.sum<number>("duration").as("total"))
    .where("task_id", "=", taskId)
    .executeTakeFirst();
  await db.updateTable("task").set({ duration: Number(row?.total ?? 0), updated_at: utcNow() }).where("id", "=", taskId).execute();
}

async function dailyTotal(db: Db, personId: string, date: string, exceptId?: string): Promise<number> {
  let query = db
    .selectFrom("time_spent")
    .select((eb) => eb.fn.sum<number>("duration").as("total"))
    .where("person_id", "=", personId)
    .where("date", "=", date);
  if (exceptId) query = query.where("id", "!=", exceptId);
  const row = await query.executeTakeFirst();
  return Number(row?.total ?? 0);
}

/**
 * `check_time_spent_access`: the person must be assigned to the task, and the caller must be that
 * person, an admin or a manager member of the task's project.
 */
export async function checkTimeSpentAccess(c: AppContext, task: { id: string; project_id: string }, personId: string): Promise<void> {
  const user = c.get("user");
  if (!(await isAssigned(c, task.id, personId))) throw forbidden();
  if (user.id === personId || isAdmin(user)) return;
  if ((await isMember(c, task.project_id)) && (await effectiveRole(c, task.project_id)) === "manager") return;
  throw forbidden();
}

/** The time spent of a person on a task and date, if any. */
export function findTimeSpent(db: Db, taskId: string, personId: string, date: string) {
  return db.selectFrom("time_spent").selectAll().where("task_id", "=", taskId).where("person_id", "=", personId).where("date", "=", date).executeTakeFirst();
}

/** After a time spent write: task duration and last presence recomputed, `time-spent:<action>` then `task:update`. */
async function afterTimeSpentWrite(
  c: AppContext,
  db: Db,
  task: { id: string; project_id: string },
  personId: string,
  action: "new" | "update" | "delete",
  timeSpentId: string,
): Promise<void> {
  await updateLastPresence(db, personId);
  await recomputeTaskDuration(db, task.id);
  const options = { projectId: task.project_id, userId: c.get("user").id };
  await emitEvent(db, c.get("events"), `time-spent:${action}`, { time_spent_id: timeSpentId }, options);
  await emitEvent(db, c.get("events"), "task:update", { task_id: task.id }, options);
}

/**
 * Sets (or with `add`, increases) the minutes `personId` spent on a task on `date`: creates the
 * row when missing, recomputes the task duration, updates the person's last presence and emits
 * `time-spent:new|update` then `task:update`. A day cannot hold more than 24 hours.
 */
export async function setTimeSpent(
  c: AppContext,
  task: { id: string; project_id: string },
  personId: string,
  date: string,
  duration: number,
  add = false,
): Promise<Dict> {
  return transact(c, async (db) => {
    const existing = await findTimeSpent(db, task.id, personId, date);
    const newDuration = existing && add ? Number(existing.duration) + duration : duration;
    const others = await dailyTotal(db, personId, date, existing?.id);
    if (others + newDuration > MAX_MINUTES_PER_DAY) {
      throw badRequest(`The time spent on ${date} would exceed 24 hours (${others} minutes are already logged on other tasks).`);
    }
    const now = utcNow();
    let row: Row;
    let action: "new" | "update";
    if (existing) {
      row = (await db
        .updateTable("time_spent")
        .set({ duration: newDuration, updated_at: now })
        .where("id", "=", existing.id)
        .returningAll()
        .executeTakeFirstOrThrow()) as Row;
      action = "update";
    } else {
      row = (await db
        .insertInto("time_spent")
        .values({ id: newId(), created_at: now, updated_at: now, task_id: task.id, person_id: personId, date, duration: newDuration })
        .returningAll()
        .executeTakeFirstOrThrow()) as Row;
      action = "new";
    }
    await afterTimeSpentWrite(c, db, task, personId, action, row.id);
    return serialize("time_spent", row);
  });
}

/** Deletes the time spent of a person on a task and date (404 when there is none); returns it with duration 0. */
export async function deleteTimeSpent(c: AppContext, task: { id: string; project_id: string }, personId: string, date: string): Promise<Dict> {
  return transact(c, async (db) => {
    const existing = await findTimeSpent(db, task.id, personId, date);
    if (!existing) throw notFound();
    await db.deleteFrom("time_spent").where("id", "=", existing.id).execute();
    await afterTimeSpentWrite(c, db, task, personId, "delete", existing.id);
    return serialize("time_spent", { ...existing, duration: 0 });
  });
}

/**
 * Removes the time spents of a person inside a period of days off (both dates included), with the
 * task durations recomputed and the events emitted. Runs inside the caller's transaction.
 */
export async function wipeTimeSpentsOfDayOff(c: AppContext, personId: string, date: string, endDate: string): Promise<void> {
  const db = c.get("db");
  const rows = await db
    .selectFrom("time_spent")
    .innerJoin("task", "task.id", "time_spent.task_id")
    .select(["time_spent.id", "time_spent.task_id", "task.project_id"])
    .where("time_spent.person_id", "=", personId)
    .where("time_spent.date", ">=", date)
    .where("time_spent.date", "<=", endDate)
    .execute();
  if (rows.length === 0) return;
  for (const part of chunks(rows.map((r) => r.id))) await db.deleteFrom("time_spent").where("id", "in", part).execute();
  const userId = c.get("user").id;
  for (const row of rows) {
    await emitEvent(db, c.get("events"), "time-spent:delete", { time_spent_id: row.id }, { projectId: row.project_id, userId });
  }
  const tasks = new Map(rows.map((r) => [r.task_id!, r.project_id]));
  for (const [taskId, projectId] of tasks) {
    await recomputeTaskDuration(db, taskId);
    await emitEvent(db, c.get("events"), "task:update", { task_id: taskId }, { projectId, userId });
  }
  await updateLastPresence(db, personId);
}

/** 400 "Day off already exists for this period" when another day off of the person overlaps [date, endDate]. */
export async function checkDayOffOverlap(db: Db, personId: string, date: string, endDate: string, exceptId?: string): Promise<void> {
  let query = db
    .selectFrom("day_off")
    .select("id")
    .where("person_id", "=", personId)
    .where("date", "<=", endDate)
    .where("end_date", ">=", date);
  if (exceptId) query = query.where("id", "!=", exceptId);
  if (await query.executeTakeFirst()) throw badRequest("Day off already exists for this period");
}

// ---------------------------------------------------------------------------------------------
// Time spent reads

/** Time spents of a task, optionally on one date: `{total, <person_id>: [time spents]}`. */
export async function timeSpentsForTask(db: Db, taskId: string, date?: string): Promise<Dict> {
  let query = db.selectFrom("time_spent").selectAll().where("task_id", "=", taskId).orderBy("date").orderBy("created_at");
  if (date) query = query.where("date", "=", date);
  const result: Record<string, unknown> = { total: 0 };
  for (const row of (await query.execute()) as Row[]) {
    const list = (result[row.person_id] ??= []) as Dict[];
    list.push(serialize("time_spent", row));
    result.total = (result.total as number) + Number(row.duration);
  }
  return result;
}

export interface TimeSpentScope {
  personId?: string | null;
  /** A project id, or the list of allowed project ids. */
  projectIds?: string[] | null;
  departmentIds?: string[] | null;
  studioId?: string | null;
}

/** Time spent rows in a period (or all time when `period` is null) within a scope. */
export async function timeSpentRows(db: Db, period: Period | null, scope: TimeSpentScope): Promise<Row[]> {
  let query = db.selectFrom("time_spent").selectAll("time_spent");
  if (period) query = query.where("time_spent.date", ">=", period.start).where("time_spent.date", "<", period.end);
  if (scope.personId) query = query.where("time_spent.person_id", "=", scope.personId);
  if (scope.projectIds) {
    if (scope.projectIds.length === 0) return [];
    const projectIds = scope.projectIds;
    query = query.where("time_spent.task_id", "in", (eb) => eb.selectFrom("task").select("id").where("project_id", "in", projectIds));
  }
  if (scope.departmentIds && scope.departmentIds.length > 0) {
    const departmentIds = scope.departmentIds;
    query = query.where("time_spent.task_id", "in", (eb) =>
      eb.selectFrom("task").innerJoin("task_type", "task_type.id", "task.task_type_id").select("task.id").where("task_type.department_id", "in", departmentIds),
    );
  }
  if (scope.studioId) {
    const studioId = scope.studioId;
    query = query.where("time_spent.person_id", "in", (eb) => eb.selectFrom("person").select("id").where("studio_id", "=", studioId));
  }
  return (await query.orderBy("time_spent.date").execute()) as Row[];
}

/**
 * Serialized time spents of a person: all of them, or those from `start` to `end` (dates, both
 * included, given together: 400 otherwise, as for unreadable dates).
 */
/**
 * Time spents of a person between `start` and `end` (both required together). Without dates Zou
 * matches the rows whose date is null, i.e. none: the answer is an empty list.
 */
export async function personTimeSpents(db: Db, personId: string, start: string | undefined, end: string | undefined): Promise<Dict[]> {
  if (!start && !end) return [];
  if (!start || !end) throw badRequest("If querying for a range of dates, both a `start_date` and an `end_date` must be given.");
  const from = strictDate(start);
  const to = strictDate(end);
  if (!from || !to) throw badRequest(`Wrong date format for ${start} and/or ${end}`);
  const period: Period = { start: from, end: addDays(to, 1) };
  return (await timeSpentRows(db, period, { personId })).map((row) => serialize("time_spent", row));
}

export type TableLevel = "day" | "week" | "month" | "year";

/** `{<unit>: {<person_id>: minutes}}` where unit is the day of month, ISO week, month or year. */
export function timeSpentTable(rows: Row[], level: TableLevel): Record<string, Record<string, number>> {
  const result: Record<string, Record<string, number>> = {};
  for (const row of rows) {
    const date = String(row.date).slice(0, 10);
    const unit =
      level === "day" ? String(Number(date.slice(8, 10)))
      : level === "week" ? String(isoWeek(date))
      : level === "year" ? String(Number(date.slice(0, 4)))
      : String(Number(date.slice(5, 7)));
    const byPerson = (result[unit] ??= {});
    byPerson[row.person_id] = (byPerson[row.person_id] ?? 0) + Number(row.duration);
  }
  return result;
}

/** Time spents with their task, its project, its entity and the entity's type (time tables, CSV export). */
export function timeSpentsWithEntities(db: Db) {
  return db
    .selectFrom("time_spent")
    .innerJoin("task", "task.id", "time_spent.task_id")
    .innerJoin("project", "project.id", "task.project_id")
    .innerJoin("entity", "entity.id", "task.entity_id")
    .innerJoin("entity_type", "entity_type.id", "entity.entity_type_id");
}

/**
 * Time spent of a person in a period summed per task (`build_results`): task, type, project and
 * entity names with the sequence and episode.
 */
export async function personTimeSpentsByTask(db: Db, personId: string, period: Period, scope: TimeSpentScope): Promise<Dict[]> {
  let query = timeSpentsWithEntities(db)
    .leftJoin("entity as sequence", "sequence.id", "entity.parent_id")
    .leftJoin("entity as episode", "episode.id", "sequence.parent_id")
    .select((eb) => [
      "task.id as task_id", "task.task_type_id", "project.id as project_id", "project.name as project_name",
      "entity.name as entity_name", "entity_type.name as entity_type_name", "sequence.name as sequence_name",
      "episode.name as episode_name", eb.fn.sum<number>("time_spent.duration").as("duration"),
    ])
    .where("time_spent.person_id", "=", personId)
    .where("time_spent.date", ">=", period.start)
    .where("time_spent.date", "<", period.end)
    .groupBy(["task.id", "task.task_type_id", "project.id", "project.name", "entity.name", "entity_type.name", "sequence.name", "episode.name"]);
  if (scope.projectIds) {
    if (scope.projectIds.length === 0) return [];
    query = query.where("task.project_id", "in", scope.projectIds);
  }
  if (scope.departmentIds && scope.departmentIds.length > 0) {
    query = query.where("task.task_type_id", "in", (eb) => eb.selectFrom("task_type").select("id").where("department_id", "in", scope.departmentIds!));
  }
  const rows = await query.execute();
  return rows.map((row) => ({ ...row, duration: Number(row.duration) }));
}

/** Project ids of the caller's team (open or closed), `user_service.get_projects`. */
export async function callerProjectIds(c: AppContext): Promise<string[]> {
  const rows = await c.get("db").selectFrom("project_person_link").select("project_id").where("person_id", "=", c.get("user").id).execute();
  return rows.map((r) => r.project_id);
}

/**
 * Scope of a read of another person's time (`_get_project_department_ids_for_person_access`):
 * admins and the person themselves see everything; global managers and supervisors see the time
 * of their projects (supervisors: of their departments' task types too); others get 403.
 * `requestedProject` (the `project_id` query argument) narrows it, 403 outside the allowed list.
 */
export async function personTimeScope(c: AppContext, personId: string, requestedProject?: string | null): Promise<TimeSpentScope> {
  const user = c.get("user");
  if (isAdmin(user) || user.id === personId) return { projectIds: requestedProject ? [requestedProject] : null };
  if (user.role !== "manager" && user.role !== "supervisor") throw forbidden();
  const allowed = await callerProjectIds(c);
  if (requestedProject && !allowed.includes(requestedProject)) throw forbidden();
  const departmentIds = user.role === "supervisor" ? await userDepartmentIds(c) : null;
  return { projectIds: requestedProject ? [requestedProject] : allowed, departmentIds };
}

/**
 * Scope of the studio timesheet tables (`TimeSpentDurationResource`): admins see everyone; global
 * managers and supervisors the time of their projects (supervisors: of their departments, and a
 * `department_id` outside theirs is a 400); everyone else only their own time.
 */
export async function tableScope(c: AppContext): Promise<TimeSpentScope> {
  const user = c.get("user");
  const params = c.req.query();
  const projectId = params.project_id ? queryId(params.project_id) : null;
  const departmentId = params.department_id ? queryId(params.department_id) : null;
  const studioId = params.studio_id ? queryId(params.studio_id) : null;
  const scope: TimeSpentScope = { projectIds: projectId ? [projectId] : null, departmentIds: departmentId ? [departmentId] : null, studioId };
  if (isAdmin(user)) return scope;
  if (user.role === "manager" || user.role === "supervisor") {
    const allowed = await callerProjectIds(c);
    if (projectId && !allowed.includes(projectId)) throw forbidden();
    scope.projectIds = projectId ? [projectId] : allowed;
    if (user.role === "supervisor") {
      const mine = await userDepartmentIds(c);
      if (departmentId && !mine.includes(departmentId)) throw badRequest("Supervisor not allowed to access this department");
      if (!departmentId) scope.departmentIds = mine;
    }
    return scope;
  }
  scope.personId = user.id;
  return scope;
}

// ---------------------------------------------------------------------------------------------
// Day offs

/** Day offs overlapping a period (all when null), for one person or a list of persons. */
export async function dayOffsBetween(db: Db, period: Period | null, personIds?: string[] | null): Promise<Dict[]> {
  let query = db.selectFrom("day_off").selectAll();
  if (period) query = query.where("end_date", ">=", period.start).where("date", "<", period.end);
  if (personIds) {
    if (personIds.length === 0) return [];
    query = query.where("person_id", "in", personIds);
  }
  const rows = (await query.orderBy("date").execute()) as Row[];
  return rows.map((row) => serialize("day_off", row));
}

/** The day off of a person covering `date`, or `{}`. */
export async function dayOffOn(db: Db, personId: string, date: string): Promise<Dict> {
  const row = await db
    .selectFrom("day_off")
    .selectAll()
    .where("person_id", "=", personId)
    .where("date", "<=", date)
    .where("end_date", ">=", date)
    .executeTakeFirst();
  return row ? serialize("day_off", row as Row) : {};
}

// ---------------------------------------------------------------------------------------------
// Desktop login logs and presence

export async function desktopLoginLogs(db: Db, personId: string): Promise<Dict[]> {
  const rows = (await db.selectFrom("desktop_login_log").selectAll().where("person_id", "=", personId).orderBy("date", "desc").execute()) as Row[];
  return rows.map((row) => serialize("desktop_login_log", row));
}

/** Records a desktop login (`date` defaults to now; 400 for an unreadable date) and updates the last presence. */
export async function createDesktopLoginLog(c: AppContext, personId: string, rawDate: unknown): Promise<Dict> {
  let date = utcNow();
  if (rawDate !== undefined && rawDate !== null && rawDate !== "") {
    const parsed = parseDateTimeInput(rawDate);
    if (!parsed) throw badRequest("Wrong date format.");
    date = parsed;
  }
  return transact(c, async (db) => {
    const now = utcNow();
    const row = (await db
      .insertInto("desktop_login_log")
      .values({ id: newId(), created_at: now, updated_at: now, person_id: personId, date })
      .returningAll()
      .executeTakeFirstOrThrow()) as Row;
    await updateLastPresence(db, personId);
    await emitEvent(db, c.get("events"), "person:update", { person_id: personId }, { userId: c.get("user").id });
    return serialize("desktop_login_log", row);
  });
}

/**
 * Presence table of a month for the CSV export: a header `[year, 1..days]`, then one row per
 * active person (full name, "X" on each day with a desktop login).
 */
export async function presenceLogs(db: Db, period: Period): Promise<string[][]> {
  const year = period.start.slice(0, 4);
  const days = (dayMs(period.end) - dayMs(period.start)) / 86400000;
  const persons = await db
    .selectFrom("person")
    .select(["id", "first_name", "last_name"])
    .where("active", "=", true as any)
    .where("is_bot", "=", false as any)
    .orderBy("last_name")
    .orderBy("first_name")
    .execute();
  const logs = await db
    .selectFrom("desktop_login_log")
    .select(["person_id", "date"])
    .where("date", ">=", period.start)
    .where("date", "<", `${period.end}`)
    .execute();
  const present = new Map<string, Set<number>>();
  for (const log of logs) {
    if (!present.has(log.person_id)) present.set(log.person_id, new Set());
    present.get(log.person_id)!.add(Number(String(log.date).slice(8, 10)));
  }
  const table: string[][] = [[String(Number(year)), ...Array.from({ length: days }, (_, i) => String(i + 1))]];
  for (const person of persons) {
    const fullName = [person.first_name, person.last_name].filter(Boolean).join(" ");
    const daysPresent = present.get(person.id) ?? new Set<number>();
    table.push([fullName, ...Array.from({ length: days }, (_, i) => (daysPresent.has(i + 1) ? "X" : ""))]);
  }
  return table;
}

/** CSV text as Zou's exports write it: `;` separators, `\r\n` lines, minimal quoting. */
export function toCsv(rows: string[][]): string {
  const field = (value: string) => (/[;"\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);
  return rows.map((row) => row.map(field).join(";")).join("\r\n") + "\r\n";
}

// ---------------------------------------------------------------------------------------------
// Quota shots

export interface QuotaOptions {
  projectId: string | null;
  taskTypeId: string | null;
  /** Count at the feedback request (end_date) rather than at done (done_date). */
  feedback: boolean;
  weighted: boolean;
  timeZone: string | null;
}

/**
 * Shots counted in a person's quota for a period. Weighted: shots whose task got time from the
 * person in the period weigh their share of the task's time; shots of assigned tasks with no time
 * logged weigh the share of business days (WIP start to feedback/done) inside the period. Raw:
 * shots of assigned tasks that reached feedback/done in the period, weight 1. Sorted by full name.
 */
export async function quotaShots(db: Db, personId: string, period: Period, options: QuotaOptions): Promise<Dict[]> {
  if (!options.projectId || !options.taskTypeId) return [];
  const shotType = await db.selectFrom("entity_type").select("id").where("name", "=", "Shot").executeTakeFirst();
  if (!shotType) return [];
  const endColumn = options.feedback ? "task.end_date" : "task.done_date";
  const utcStart = localMidnightToUtc(period.start, options.timeZone);
  const utcEnd = localMidnightToUtc(period.end, options.timeZone);
  const shots = new Map<string, Dict>();
  const baseQuery = () =>
    db
      .selectFrom("entity")
      .innerJoin("task", "task.entity_id", "entity.id")
      .selectAll("entity")
      .where("entity.entity_type_id", "=", shotType.id)
      .where("task.project_id", "=", options.projectId!)
      .where("task.task_type_id", "=", options.taskTypeId!);

  if (options.weighted) {
    const spent = await baseQuery()
      .innerJoin("time_spent", "time_spent.task_id", "task.id")
      .select(["task.duration as task_duration", "time_spent.duration as spent_duration"])
      .where("time_spent.person_id", "=", personId)
      .where("time_spent.date", ">=", period.start)
      .where("time_spent.date", "<", period.end)
      .where(endColumn as any, "is not", null)
      .execute();
    for (const row of spent as Row[]) {
      const share = row.task_duration ? Math.round((Number(row.spent_duration) / Number(row.task_duration)) * 100) / 100 : 0;
      const existing = shots.get(row.id);
      if (existing) existing.weight = (existing.weight as number) + share;
      else shots.set(row.id, { ...serialize("entity", row), weight: share });
    }
    const untimed = await baseQuery()
      .select(["task.real_start_date as task_start", `${endColumn} as task_end` as any])
      .where("task.real_start_date", "is not", null)
      .where(endColumn as any, "is not", null)
      .where("task.real_start_date", "<=", utcEnd)
      .where(endColumn as any, ">=", utcStart)
      .where("task.id", "in", (eb) => eb.selectFrom("task_person_link").select("task_id").where("person_id", "=", personId))
      .where("task.id", "not in", (eb) => eb.selectFrom("time_spent").select("task_id").where("task_id", "is not", null))
      .execute();
    for (const row of untimed as Row[]) {
      if (shots.has(row.id)) continue;
      const taskStart = String(row.task_start).slice(0, 19);
      const taskEnd = String(row.task_end).slice(0, 19);
      const total = businessDays(taskStart.slice(0, 10), taskEnd.slice(0, 10)) + 1;
      let inside = total;
      if (taskStart >= utcStart && taskEnd <= utcEnd) inside = total;
      else if (taskStart >= utcStart) inside = businessDays(taskStart.slice(0, 10), period.end) + 1;
      else if (taskEnd <= utcEnd) inside = businessDays(period.start, taskEnd.slice(0, 10)) + 1;
      shots.set(row.id, { ...serialize("entity", row), weight: total > 0 ? Math.round((inside / total) * 100) / 100 : 0 });
    }
  } else {
    const rows = await baseQuery()
      .where("task.id", "in", (eb) => eb.selectFrom("task_person_link").select("task_id").where("person_id", "=", personId))
      .where(endColumn as any, ">=", utcStart)
      .where(endColumn as any, "<=", utcEnd)
      .execute();
    for (const row of rows as Row[]) if (!shots.has(row.id)) shots.set(row.id, { ...serialize("entity", row), weight: 1 });
  }
  const names = await fullEntityNames(db, [...shots.keys()]);
  for (const [id, shot] of shots) {
    shot.full_name = names.get(id)?.name ?? shot.name;
    shot.weight = Math.round((shot.weight as number) * 100) / 100;
  }
  return [...shots.values()].sort((a, b) => String(a.full_name).localeCompare(String(b.full_name)));
}

/** Checks the caller may read another person's quota (`PersonQuotaMixin.check_permissions`). */
export async function checkQuotaAccess(c: AppContext, personId: string, projectId: string | null): Promise<void> {
  const user = c.get("user");
  if (isAdmin(user)) return;
  let role: string = user.role;
  if (projectId) {
    const link = await projectLink(c, projectId);
    if (link && link !== "admin") role = link;
  }
  if (role === "manager") {
    if (!projectId || !(await isMember(c, projectId))) throw forbidden();
    return;
  }
  if (user.id !== personId) throw forbidden();
}

