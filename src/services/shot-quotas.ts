/**
 * Shot quotas of a project (`/data/projects/:project_id/quotas/...`): frames, seconds, drawings
 * and shot counts done per day, week, month and year, per person or per task type.
 */
import type { AppContext } from "../context";
import type { AnySelect } from "../db/rows";
import { parseFps, requestTypeIds, type Dict } from "./entities";

/** How shots count: weighted over time spents or business days, at feedback or approval date. */
export interface QuotaOptions {
  weighted: boolean;
  feedback: boolean;
  studioId?: string;
  taskTypeId?: string;
  personId?: string;
}

type Period = "day" | "week" | "month" | "year";
type QuotaEntry = Record<Period, Record<string, Record<string, number>>>;

/** Python's round() (half to even). */
export function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (Math.abs(diff - 0.5) < 1e-9) return floor % 2 === 0 ? floor : floor + 1;
  return Math.round(value);
}

function isoWeek(year: number, month: number, day: number): string {
  const date = new Date(Date.UTC(year, month - 1, day));
  const weekday = (date.getUTCDay() + 6) % 7;
  date.setUTCDate(date.getUTCDate() - weekday + 3);
  // The Thursday of the week decides its ISO year; its week is the count of weeks since that year's start.
  const isoYear = date.getUTCFullYear();
  const week = 1 + Math.floor((date.getTime() - Date.UTC(isoYear, 0, 1)) / 86400000 / 7);
  return `${isoYear}-${week}`;
}

/** The local day (`YYYY-MM-DD`) of a stored UTC datetime in a time zone. */
function localDay(utc: string, timeZone: string): string {
  const date = new Date(`${utc.slice(0, 19)}Z`);
  try {
    return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(date);
  } catch {
    return utc.slice(0, 10);
  }
}

function newQuotaEntry(): QuotaEntry {
  const period = () => ({ frames: {}, seconds: {}, count: {}, entries: {}, drawings: {} });
  return { day: period(), week: period(), month: period(), year: { frames: {}, seconds: {}, count: {}, drawings: {} } };
}

function addQuota(quotas: Record<string, QuotaEntry>, entryId: string, day: string, frames: number, drawings: number, fps: number, count: number): void {
  const entry = (quotas[entryId] ??= newQuotaEntry());
  const [y, m, d] = day.split("-").map(Number) as [number, number, number];
  const week = isoWeek(y, m, d);
  const month = day.slice(0, 7);
  const year = day.slice(0, 4);
  const keys: Record<Period, string> = { day, week, month, year };
  const entriesKey: Record<Period, string | null> = { day: month, week: week.slice(0, 4), month: year, year: null };
  for (const period of ["day", "week", "month", "year"] as Period[]) {
    const bucket = entry[period];
    const key = keys[period];
    if (!(key in bucket.frames!)) {
      for (const counter of ["frames", "seconds", "count", "drawings"]) bucket[counter]![key] = 0;
      const entriesOf = entriesKey[period];
      if (entriesOf) bucket.entries![entriesOf] = (bucket.entries![entriesOf] ?? 0) + 1;
    }
    bucket.frames![key]! += frames;
    bucket.seconds![key]! += frames / fps;
    bucket.drawings![key]! += drawings;
    bucket.count![key]! += count;
  }
}

/**
 * Frames, seconds, drawings and shot counts done per day/week/month/year, per person (or per
 * task type for one person) and in `total`. A shot counts at its feedback date (end_date) or, in
 * `done` modes, its approval date. Weighted modes spread a shot over its time spents, or over the
 * business days between its WIP and end dates.
 */
export async function shotQuotas(
  c: AppContext,
  projectId: string,
  options: QuotaOptions,
): Promise<Dict> {
  const db = c.get("db");
  const types = await requestTypeIds(c);
  const fps = await projectFps(c, projectId);
  const timeZone = (c.get("user").timezone as string | null) || c.get("config").defaultTimezone || "UTC";
  const dateColumn = options.feedback ? "task.end_date" : "task.done_date";
  const base = (q: AnySelect): AnySelect => {
    q = q.where("task.project_id", "=", projectId).where("entity.entity_type_id", "=", types.Shot).where(dateColumn as any, "is not", null);
    if (options.taskTypeId) q = q.where("task.task_type_id", "=", options.taskTypeId);
    if (options.studioId) {
      q = q.where((eb: any) =>
        eb.exists(
          eb
            .selectFrom("task_person_link as studio_link")
            .innerJoin("person as studio_person", "studio_person.id", "studio_link.person_id")
            .select("studio_link.task_id")
            .whereRef("studio_link.task_id", "=", "task.id")
            .where("studio_person.studio_id", "=", options.studioId),
        ),
      );
    }
    return q;
  };
  const result: Record<string, QuotaEntry> = {};
  const entryOf = (personId: string, taskTypeId: string) => (options.personId ? taskTypeId : personId);
  const add = (entry: string, day: string, frames: number, drawings: number, count: number) => {
    for (const id of [entry, "total"]) addQuota(result, id, day, frames, drawings, fps, count);
  };
  const withAssignees = (q: AnySelect) => {
    q = q.innerJoin("task_person_link", "task_person_link.task_id", "task.id");
    return options.personId ? q.where("task_person_link.person_id", "=", options.personId) : q;
  };
  if (!options.weighted) {
    const rows = (await withAssignees(base(db.selectFrom("task").innerJoin("entity", "entity.id", "task.entity_id") as AnySelect))
      .select(["task.task_type_id", "task.nb_drawings", "task.end_date", "task.done_date", "entity.nb_frames", "task_person_link.person_id"])
      .execute()) as Dict[];
    for (const row of rows) {
      const date = (options.feedback ? row.end_date : row.done_date) as string;
      add(entryOf(row.person_id as string, row.task_type_id as string), localDay(date, timeZone), Number(row.nb_frames ?? 0), Number(row.nb_drawings ?? 0), 1);
    }
    return result;
  }
  let spent = base(db.selectFrom("task").innerJoin("entity", "entity.id", "task.entity_id").innerJoin("time_spent", "time_spent.task_id", "task.id") as AnySelect);
  if (options.personId) spent = spent.where("time_spent.person_id", "=", options.personId);
  const spentRows = (await spent
    .select(["task.task_type_id", "task.duration as task_duration", "task.nb_drawings", "entity.nb_frames", "time_spent.date", "time_spent.duration", "time_spent.person_id"])
    .execute()) as Dict[];
  for (const row of spentRows) {
    const taskDuration = Number(row.task_duration ?? 0);
    if (!(taskDuration > 0)) continue;
    const share = Number(row.duration ?? 0) / taskDuration;
    add(
      entryOf(row.person_id as string, row.task_type_id as string),
      String(row.date).slice(0, 10),
      roundHalfEven(Number(row.nb_frames ?? 0) * share),
      roundHalfEven(Number(row.nb_drawings ?? 0) * share),
      share,
    );
  }
  const spreadRows = (await withAssignees(
    base(db.selectFrom("task").innerJoin("entity", "entity.id", "task.entity_id") as AnySelect)
      .where("task.real_start_date", "is not", null)
      .where((eb: any) => eb.not(eb.exists(eb.selectFrom("time_spent as any_spent").select("any_spent.id").whereRef("any_spent.task_id", "=", "task.id")))),
  )
    .select(["task.task_type_id", "task.nb_drawings", "task.real_start_date", "task.end_date", "task.done_date", "entity.nb_frames", "task_person_link.person_id"])
    .execute()) as Dict[];
  for (const row of spreadRows) {
    const start = Date.parse(`${String(row.real_start_date).slice(0, 19)}Z`);
    const end = Date.parse(`${String(options.feedback ? row.end_date : row.done_date).slice(0, 19)}Z`);
    if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) continue;
    const startDay = Math.floor(start / 86400000);
    const endDay = Math.floor(end / 86400000);
    let businessDays = 1;
    for (let day = startDay; day < endDay; day++) if (((new Date(day * 86400000).getUTCDay() + 6) % 7) < 5) businessDays++;
    const frames = row.nb_frames === null || row.nb_frames === undefined ? 0 : roundHalfEven(Number(row.nb_frames) / businessDays) || 0;
    const drawings = Number(row.nb_drawings ?? 0);
    const span = Math.floor((end - start) / 86400000);
    for (let k = 0; k <= span; k++) {
      const moment = new Date(start + k * 86400000);
      if ((moment.getUTCDay() + 6) % 7 >= 5) continue;
      add(entryOf(row.person_id as string, row.task_type_id as string), localDay(moment.toISOString(), timeZone), frames, drawings, 1 / businessDays);
    }
  }
  for (const entry of Object.values(result)) {
    for (const period of Object.values(entry)) {
      for (const key of Object.keys(period.count!)) period.count![key] = Math.round(period.count![key]! * 100) / 100;
    }
  }
  return result;
}

export async function projectFps(c: AppContext, projectId: string): Promise<number> {
  const project = await c.get("db").selectFrom("project").select("fps").where("id", "=", projectId).executeTakeFirst();
  return parseFps(project?.fps);
}
