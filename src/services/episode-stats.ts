/**
 * Episode stats of a project (`/data/projects/:project_id/episodes/stats` and `retake-stats`):
 * task counts, frames and drawings per episode, task type and status, aggregated in SQL.
 */
import { sql } from "kysely";
import type { AppContext } from "../context";
import type { AnySelect } from "../db/rows";
import type { Dict } from "./entities";

/** Tasks of shots of the project's episodes (task → shot → sequence → episode), vendors: assigned only. */
function episodeTaskQuery(c: AppContext, projectId: string, assignedTo?: string): AnySelect {
  let q = c
    .get("db")
    .selectFrom("task")
    .innerJoin("task_status", "task_status.id", "task.task_status_id")
    .innerJoin("entity", "entity.id", "task.entity_id")
    .innerJoin("entity as sequence", "sequence.id", "entity.parent_id")
    .innerJoin("entity as episode", "episode.id", "sequence.parent_id")
    .where("task.project_id", "=", projectId) as AnySelect;
  if (assignedTo) q = q.where("task.id", "in", (eb: any) => eb.selectFrom("task_person_link").select("task_id").where("person_id", "=", assignedTo));
  return q;
}

/** Task counts and frames per episode, task type and status, with `all` aggregates. */
export async function episodeStats(c: AppContext, projectId: string, assignedTo?: string): Promise<Dict> {
  const rows = (await episodeTaskQuery(c, projectId, assignedTo)
    .select([
      "episode.id as episode_id", "task.task_type_id", "task.task_status_id", "task_status.short_name", "task_status.color",
      sql<number>`count(task.id)`.as("count"), sql<number>`sum(entity.nb_frames)`.as("frames"),
      sql<number>`sum(coalesce(task.nb_drawings, 0))`.as("drawings"),
    ])
    .groupBy(["episode.id", "task.task_type_id", "task.task_status_id", "task_status.short_name", "task_status.color"])
    .execute()) as Dict[];
  const results: Record<string, Record<string, Record<string, Dict>>> = {};
  const add = (episode: string, taskType: string, status: string, row: Dict, count: number, frames: number, drawings: number) => {
    const bucket = (((results[episode] ??= {})[taskType] ??= {})[status] ??= { name: row.short_name, color: row.color, count: 0, frames: 0, drawings: 0 });
    bucket.count = (bucket.count as number) + count;
    bucket.frames = (bucket.frames as number) + frames;
    bucket.drawings = (bucket.drawings as number) + drawings;
  };
  for (const row of rows) {
    const count = Number(row.count ?? 0);
    const frames = Number(row.frames ?? 0);
    const drawings = Number(row.drawings ?? 0);
    const status = row.task_status_id as string;
    const taskType = row.task_type_id as string;
    const episode = row.episode_id as string;
    add(episode, taskType, status, row, count, frames, drawings);
    add(episode, "all", status, row, count, frames, drawings);
    add("all", taskType, status, row, count, frames, drawings);
    add("all", "all", status, row, count, frames, drawings);
  }
  return results;
}

interface RetakeCounter {
  count: number;
  frames: number;
  drawings: number;
}
interface RetakeBucket {
  max_retake_count: number;
  evolution: Record<string, Record<"done" | "retake" | "other", RetakeCounter>>;
  done: RetakeCounter;
  retake: RetakeCounter;
  other: RetakeCounter;
}
const emptyCounter = (): RetakeCounter => ({ count: 0, frames: 0, drawings: 0 });
const emptyRetakeBucket = (): RetakeBucket => ({
  max_retake_count: 0,
  evolution: {},
  done: emptyCounter(),
  retake: emptyCounter(),
  other: emptyCounter(),
});

/**
 * Retake and done counts per task type and episode, with the max retake count and, per
 * episode, the evolution take by take. Tasks are grouped in SQL by (episode, task type, retake
 * count, done, retake) and each group is weighted by its count and frames.
 */
export async function episodeRetakeStats(c: AppContext, projectId: string, assignedTo?: string): Promise<Dict> {
  const rows = (await episodeTaskQuery(c, projectId, assignedTo)
    .select([
      "episode.id as episode_id", "task.task_type_id", "task.retake_count", "task_status.is_done", "task_status.is_retake",
      sql<number>`count(task.id)`.as("count"), sql<number>`sum(coalesce(entity.nb_frames, 0))`.as("frames"),
      sql<number>`sum(coalesce(task.nb_drawings, 0))`.as("drawings"),
    ])
    .groupBy(["episode.id", "task.task_type_id", "task.retake_count", "task_status.is_done", "task_status.is_retake"])
    .execute()) as Dict[];
  const results: Record<string, Record<string, RetakeBucket>> = { all: { all: emptyRetakeBucket() } };
  const groups = rows.map((row) => ({
    episode: row.episode_id as string,
    taskType: row.task_type_id as string,
    retakes: Number(row.retake_count ?? 0),
    done: Boolean(row.is_done),
    retake: Boolean(row.is_retake),
    count: Number(row.count ?? 0),
    frames: Number(row.frames ?? 0),
    drawings: Number(row.drawings ?? 0),
  }));
  for (const g of groups) {
    (results[g.episode] ??= { all: emptyRetakeBucket() })[g.taskType] ??= emptyRetakeBucket();
    results.all![g.taskType] ??= emptyRetakeBucket();
    for (const [a, b] of [["all", "all"], ["all", g.taskType], [g.episode, "all"], [g.episode, g.taskType]] as const) {
      const bucket = results[a]![b]!;
      if (bucket.max_retake_count < g.retakes) bucket.max_retake_count = g.retakes;
      const target = g.done ? bucket.done : g.retake ? bucket.retake : bucket.other;
      target.count += g.count;
      target.frames += g.frames;
      target.drawings += g.drawings;
    }
  }
  for (const g of groups) {
    for (const b of ["all", g.taskType]) {
      const bucket = results[g.episode]![b]!;
      for (let take = 1; take <= bucket.max_retake_count; take++) {
        const entry = (bucket.evolution[String(take)] ??= { done: emptyCounter(), retake: emptyCounter(), other: emptyCounter() });
        const target = g.retakes > 0 && take <= g.retakes ? entry.retake : g.done ? entry.done : entry.other;
        target.count += g.count;
        target.frames += g.frames;
        target.drawings += g.drawings;
      }
    }
  }
  return results;
}
