/**
 * Routes of time spents and day offs: the time-spent routes of the `tasks` area
 * (`/actions/tasks/{task_id}/time-spents...`) and the timesheet, day-off, quota and presence
 * routes of the `persons` area.
 */
import type { Hono } from "hono";
import * as v from "valibot";
import type { AppContext, AppEnv } from "../context";
import { serialize } from "../db/serialize";
import { readLooseBody, validate } from "../lib/body";
import { badRequest, forbidden } from "../lib/errors";
import { queryId } from "../lib/ids";
import { checkAdmin, checkTaskAccess, isAdmin } from "../services/permissions";
import {
  addDays,
  checkPersonIsNotBot,
  checkQuotaAccess,
  checkTimeSpentAccess,
  dayOffOn,
  dayOffsBetween,
  dayPeriod,
  deleteTimeSpent,
  monthPeriod,
  personTimeScope,
  personTimeSpents,
  personTimeSpentsByTask,
  presenceLogs,
  quotaShots,
  requireDate,
  setTimeSpent,
  tableScope,
  timeSpentRows,
  timeSpentTable,
  timeSpentsForTask,
  toCsv,
  weekPeriod,
  yearPeriod,
  type Period,
  type TableLevel,
} from "../services/time-spents";
import { loadServiceRow } from "../db/rows";

const DurationBody = v.object({
  duration: v.pipe(
    v.union([v.number(), v.pipe(v.string(), v.trim(), v.nonEmpty(), v.transform(Number))], "duration must be a number of minutes"),
    v.number("duration must be a number of minutes"),
    v.finite("duration must be a number of minutes"),
    v.gtValue(0, "Duration must be positive"),
    v.maxValue(100_000, "duration must be at most 100000 minutes"),
  ),
});

async function loadTask(c: AppContext): Promise<{ id: string; project_id: string; entity_id: string }> {
  const task = await loadServiceRow(c.get("db"), "task", c.req.param("task_id"));
  return { id: task.id, project_id: task.project_id ?? "", entity_id: task.entity_id ?? "" };
}

/** POST/DELETE `/actions/tasks/{task_id}/time-spents/{date}/persons/{person_id}[/add]`. */
async function writeTimeSpent(c: AppContext, mode: "set" | "add" | "delete"): Promise<Response> {
  const task = await loadTask(c);
  const person = await checkPersonIsNotBot(c, c.req.param("person_id"), mode === "delete" ? null : task.project_id);
  const duration = mode === "delete" ? 0 : validate(DurationBody, await readLooseBody(c)).duration;
  const date = requireDate(c.req.param("date"), "Invalid date format.");
  await checkTimeSpentAccess(c, task, person.id);
  const result = mode === "delete"
    ? await deleteTimeSpent(c, task, person.id, date)
    : await setTimeSpent(c, task, person.id, date, duration, mode === "add");
  return c.json(result, 201);
}

/** The `project_id` query argument, validated (400 when malformed). */
function projectParam(c: AppContext): string | null {
  const value = c.req.query("project_id");
  return value ? queryId(value) : null;
}

/** Reads of one person's time: bots refused, then the caller's scope on that person. */
async function personTime(c: AppContext, period: Period): Promise<Response> {
  const person = await checkPersonIsNotBot(c, c.req.param("person_id"));
  const scope = await personTimeScope(c, person.id, projectParam(c));
  return c.json(await personTimeSpentsByTask(c.get("db"), person.id, period, scope));
}

async function table(c: AppContext, level: TableLevel, period: Period | null): Promise<Response> {
  const scope = await tableScope(c);
  return c.json(timeSpentTable(await timeSpentRows(c.get("db"), period, scope), level));
}

/** Day-off reads on one person: bots refused, then self or admin. */
async function personDayOffs(c: AppContext, period: Period | null): Promise<Response> {
  const person = await checkPersonIsNotBot(c, c.req.param("person_id"));
  const user = c.get("user");
  if (!isAdmin(user) && user.id !== person.id) throw forbidden();
  return c.json(await dayOffsBetween(c.get("db"), period, [person.id]));
}

const COUNT_MODES = ["weighted", "weighteddone", "feedback", "done"];

async function quota(c: AppContext, period: () => Period): Promise<Response> {
  const person = await checkPersonIsNotBot(c, c.req.param("person_id"));
  const projectId = projectParam(c);
  const taskTypeParam = c.req.query("task_type_id");
  const taskTypeId = taskTypeParam ? queryId(taskTypeParam) : null;
  const countMode = c.req.query("count_mode") ?? "weighted";
  if (!COUNT_MODES.includes(countMode)) throw badRequest("count_mode must be equal to weighted, weighteddone, feedback, or done");
  await checkQuotaAccess(c, person.id, projectId);
  const result = await quotaShots(c.get("db"), person.id, period(), {
    projectId,
    taskTypeId,
    feedback: !countMode.includes("done"),
    weighted: countMode.includes("weighted"),
    timeZone: c.get("user").timezone ?? c.get("config").defaultTimezone,
  });
  return c.json(result);
}

export function registerTimeSpents(app: Hono<AppEnv>): void {
  // Tasks area.
  app.get("/actions/tasks/:task_id/time-spents", async (c) => {
    const task = await loadTask(c);
    await checkTaskAccess(c, task);
    return c.json(await timeSpentsForTask(c.get("db"), task.id));
  });
  app.get("/actions/tasks/:task_id/time-spents/:date", async (c) => {
    const task = await loadTask(c);
    await checkTaskAccess(c, task);
    const date = requireDate(c.req.param("date"));
    return c.json(await timeSpentsForTask(c.get("db"), task.id, date));
  });
  app.post("/actions/tasks/:task_id/time-spents/:date/persons/:person_id", (c) => writeTimeSpent(c, "set"));
  app.delete("/actions/tasks/:task_id/time-spents/:date/persons/:person_id", (c) => writeTimeSpent(c, "delete"));
  app.post("/actions/tasks/:task_id/time-spents/:date/persons/:person_id/add", (c) => writeTimeSpent(c, "add"));

  // Persons area: studio-wide tables (literal paths first).
  app.get("/data/persons/presence-logs/:month_date", async (c) => {
    checkAdmin(c);
    const match = /^(\d{4})-(\d{1,2})$/.exec(c.req.param("month_date"));
    if (!match) throw badRequest("Invalid month or year.");
    const period = monthPeriod(match[1]!, match[2]!.padStart(2, "0"), "Invalid month or year.");
    const csv = toCsv(await presenceLogs(c.get("db"), period));
    return c.body(csv, 200, { "Content-Type": "text/csv", "Content-Disposition": "attachment; filename=kitsu_export.csv" });
  });
  app.get("/data/persons/time-spents/year-table", (c) => table(c, "year", null));
  app.get("/data/persons/time-spents/month-table/:year", (c) => table(c, "month", yearPeriod(c.req.param("year"))));
  app.get("/data/persons/time-spents/week-table/:year", (c) => table(c, "week", yearPeriod(c.req.param("year"))));
  app.get("/data/persons/time-spents/day-table/:year/:month", (c) =>
    table(c, "day", monthPeriod(c.req.param("year"), c.req.param("month"), "Invalid month or year.")),
  );
  app.get("/data/persons/day-offs/:year/:month", async (c) => {
    const period = monthPeriod(c.req.param("year"), c.req.param("month"), "Invalid month or year.");
    const user = c.get("user");
    return c.json(await dayOffsBetween(c.get("db"), period, isAdmin(user) ? null : [user.id]));
  });

  // One person's time spents.
  app.get("/data/persons/:person_id/time-spents", async (c) => {
    const person = await checkPersonIsNotBot(c, c.req.param("person_id"));
    checkAdmin(c);
    return c.json(await personTimeSpents(c.get("db"), person.id, c.req.query("start_date"), c.req.query("end_date")));
  });
  app.get("/data/persons/:person_id/time-spents/year/:year", (c) => personTime(c, yearPeriod(c.req.param("year"))));
  app.get("/data/persons/:person_id/time-spents/month/all/:year/:month", async (c) => {
    const person = await checkPersonIsNotBot(c, c.req.param("person_id"));
    const user = c.get("user");
    if (!isAdmin(user) && user.id !== person.id) throw forbidden();
    const period = monthPeriod(c.req.param("year"), c.req.param("month"), "Invalid month or year.");
    return c.json((await timeSpentRows(c.get("db"), period, { personId: person.id })).map((r) => serialize("time_spent", r)));
  });
  app.get("/data/persons/:person_id/time-spents/month/:year/:month", (c) =>
    personTime(c, monthPeriod(c.req.param("year"), c.req.param("month"))),
  );
  app.get("/data/persons/:person_id/time-spents/week/:year/:week", (c) => personTime(c, weekPeriod(c.req.param("year"), c.req.param("week"))));
  app.get("/data/persons/:person_id/time-spents/day/:year/:month/:day", (c) =>
    personTime(c, dayPeriod(c.req.param("year"), c.req.param("month"), c.req.param("day"))),
  );
  app.get("/data/persons/:person_id/time-spents/:date", async (c) => {
    const person = await checkPersonIsNotBot(c, c.req.param("person_id"));
    const scope = await personTimeScope(c, person.id);
    const date = requireDate(c.req.param("date"), "Invalid month or year.");
    const rows = await timeSpentRows(c.get("db"), { start: date, end: nextDay(date) }, { ...scope, personId: person.id });
    return c.json(rows.map((r) => serialize("time_spent", r)));
  });

  // Quotas.
  app.get("/data/persons/:person_id/quota-shots/month/:year/:month", (c) =>
    quota(c, () => monthPeriod(c.req.param("year"), c.req.param("month"), "Invalid month or year.")),
  );
  app.get("/data/persons/:person_id/quota-shots/week/:year/:week", (c) => quota(c, () => weekPeriod(c.req.param("year"), c.req.param("week"))));
  app.get("/data/persons/:person_id/quota-shots/day/:year/:month/:day", (c) =>
    quota(c, () => dayPeriod(c.req.param("year"), c.req.param("month"), c.req.param("day"))),
  );

  // One person's days off.
  app.get("/data/persons/:person_id/day-offs", (c) => personDayOffs(c, null));
  app.get("/data/persons/:person_id/day-offs/week/:year/:week", (c) => personDayOffs(c, weekPeriod(c.req.param("year"), c.req.param("week"))));
  app.get("/data/persons/:person_id/day-offs/month/:year/:month", (c) =>
    personDayOffs(c, monthPeriod(c.req.param("year"), c.req.param("month"))),
  );
  app.get("/data/persons/:person_id/day-offs/year/:year", (c) => personDayOffs(c, yearPeriod(c.req.param("year"))));
  app.get("/data/persons/:person_id/day-offs/:date", async (c) => {
    const person = await checkPersonIsNotBot(c, c.req.param("person_id"));
    const user = c.get("user");
    if (!isAdmin(user) && user.id !== person.id) throw forbidden();
    const date = requireDate(c.req.param("date"), "Invalid date format.");
    return c.json(await dayOffOn(c.get("db"), person.id, date));
  });
}

function nextDay(date: string): string {
  return addDays(date, 1);
}
