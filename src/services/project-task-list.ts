/**
 * `GET /data/projects/{id}/tasks` unfiltered (every task of a project, newest update first): kept
 * as one JSON text per task, so that after writes to some tasks only those are read and written
 * again and put back in place (the answer is ordered by `updated_at` desc, then id).
 *
 * What the writes since a kept list concern is told by its reads (src/services/list-reads.ts):
 * a write it ignores leaves the list as it is; a write to known tasks (by id) or to their
 * assignees (by task id) rebuilds those tasks; anything else (the project, the team, the caller,
 * a raw SQL write, a commit by another process, writes too old for the log) rebuilds the list.
 */
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import { writesSince } from "../db/write-tracker";
import { concerns, declareAnswerReads, type AnswerReads, type WriteMark } from "../lib/answer-reads";
import { currentWrites } from "../db/write-version";
import { chunks } from "../lib/chunks";
import { PerDatabase, SizedCache } from "../lib/sized-cache";
import { projectTaskReadsOf } from "./list-reads";
import { presentTasks, type TaskRow } from "./tasks";

interface TaskListState {
  key: string;
  position: number;
  external: number;
  /** Task ids in answer order. */
  order: string[];
  /** Per task: its sort key (`updated_at`) and JSON text. */
  sortKeys: Map<string, string>;
  fragments: Map<string, Uint8Array>;
  reads: AnswerReads;
  bytes: number;
}

const OPEN = Buffer.from("[");
const COMMA = Buffer.from(",");
const CLOSE = Buffer.from("]");

/** Lists kept per database (each one ~15 MB for 20,000 tasks). */
const MAX_STATES = 8;
/** Oldest stored first (a read does not count as a use). */
const caches = new PerDatabase(() => new SizedCache<TaskListState>({ maxEntries: MAX_STATES }));

/** Rebuilds of whole lists, for tests (a write elsewhere must not make one). */
export let projectTaskListBuilds = 0;

/** Drops every kept list of `db` (tests compare with answers built from scratch). */
export function forgetProjectTaskLists(db: object): void {
  caches.forget(db);
}

function sortKey(value: unknown): string {
  return value instanceof Date ? value.toISOString() : String(value ?? "");
}

/** Answer order: `updated_at` desc, then id. */
function before(keyA: string, idA: string, keyB: string, idB: string): boolean {
  return keyA !== keyB ? keyA > keyB : idA < idB;
}

async function presentFragments(db: Db, rows: TaskRow[]): Promise<Map<string, Uint8Array>> {
  const dicts = await presentTasks(db, rows);
  const out = new Map<string, Uint8Array>();
  rows.forEach((row, i) => out.set(row.id, Buffer.from(JSON.stringify(dicts[i]))));
  return out;
}

function readsOf(c: AppContext, projectId: string, ids: Iterable<string>): AnswerReads {
  return projectTaskReadsOf(c.get("user").id, projectId, new Set<unknown>(ids), false);
}

async function freshState(c: AppContext, key: string, projectId: string, mark: WriteMark): Promise<TaskListState> {
  projectTaskListBuilds += 1;
  const db = c.get("db");
  const rows = (await db.selectFrom("task").selectAll().where("project_id", "=", projectId).orderBy("updated_at", "desc").orderBy("id").execute()) as TaskRow[];
  const fragments = await presentFragments(db, rows);
  const order = rows.map((r) => r.id);
  let bytes = 0;
  for (const fragment of fragments.values()) bytes += fragment.byteLength;
  return {
    key, position: mark.position, external: mark.external, order, fragments, bytes,
    sortKeys: new Map(rows.map((r) => [r.id, sortKey(r.updated_at)])),
    reads: readsOf(c, projectId, order),
  };
}

/**
 * Task ids the writes since `state` touch, or null when the list must be rebuilt; an empty set
 * when none concerns it.
 */
function touchedTasks(db: Db, state: TaskListState): Set<string> | null {
  if (currentWrites(db).external !== state.external) return null;
  const records = writesSince(state.position);
  if (!records) return null;
  const touched = new Set<string>();
  for (const record of records) {
    if (!concerns(state.reads, record)) continue;
    const ids = record.table === "task" ? record.match.get("id") : record.table === "task_person_link" ? record.match.get("task_id") : null;
    if (!ids) return null;
    for (const id of ids) touched.add(String(id));
  }
  return touched;
}

async function patchedState(c: AppContext, base: TaskListState, projectId: string, touched: Set<string>, mark: WriteMark): Promise<TaskListState> {
  const db = c.get("db");
  const rows: TaskRow[] = [];
  for (const part of chunks([...touched])) {
    rows.push(...((await db.selectFrom("task").selectAll().where("project_id", "=", projectId).where("id", "in", part).execute()) as TaskRow[]));
  }
  const built = await presentFragments(db, rows);
  const fragments = new Map(base.fragments);
  const sortKeys = new Map(base.sortKeys);
  let bytes = base.bytes;
  for (const id of touched) {
    const old = fragments.get(id);
    if (old) bytes -= old.byteLength;
    fragments.delete(id);
    sortKeys.delete(id);
  }
  const order = base.order.filter((id) => !touched.has(id));
  for (const row of rows) {
    const key = sortKey(row.updated_at);
    const fragment = built.get(row.id)!;
    fragments.set(row.id, fragment);
    sortKeys.set(row.id, key);
    bytes += fragment.byteLength;
    // Binary search of the first listed task that comes after this one.
    let low = 0;
    let high = order.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      const other = order[mid]!;
      if (before(sortKeys.get(other)!, other, key, row.id)) low = mid + 1;
      else high = mid;
    }
    order.splice(low, 0, row.id);
  }
  return { key: base.key, position: mark.position, external: mark.external, order, fragments, sortKeys, bytes, reads: readsOf(c, projectId, order) };
}

/**
 * The JSON array of every task of the project (presented as the route answers), from the kept
 * list when no write since concerns it, rebuilding only the tasks written, or from scratch.
 * `mark` was taken before the permission checks; declares the answer's scope to the answer cache.
 */
export async function projectTaskListBody(c: AppContext, projectId: string, mark: WriteMark): Promise<Uint8Array<ArrayBuffer>> {
  const db = c.get("db");
  const cache = caches.of(db);
  const key = `${c.get("user").id} ${projectId}`;
  const base = cache.peek(key);
  const touched = base ? touchedTasks(db, base) : null;
  let state: TaskListState;
  if (base && touched && touched.size === 0) {
    // No write since concerned it: later checks start here.
    base.position = mark.position;
    state = base;
  }
  else if (base && touched && touched.size <= Math.max(64, base.order.length / 4)) state = await patchedState(c, base, projectId, touched, mark);
  else state = await freshState(c, key, projectId, mark);
  if (state !== base) cache.set(key, state);
  declareAnswerReads(c, mark, state.reads);
  const parts: Uint8Array[] = new Array(state.order.length * 2 + 1);
  parts[0] = OPEN;
  let n = 1;
  for (const id of state.order) {
    if (n > 1) parts[n++] = COMMA;
    parts[n++] = state.fragments.get(id)!;
  }
  parts[n++] = CLOSE;
  parts.length = n;
  return Buffer.concat(parts) as Uint8Array<ArrayBuffer>;
}
