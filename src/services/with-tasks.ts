/**
 * The "with-tasks" lists (kitsu-client.md §1, http-conventions.md): entities of a kind with their
 * tasks embedded, as the JSON array gazu reads, or Kitsu's compact form (field names in a header,
 * positional rows) as one JSON object or as NDJSON (`stream=true`: the header line, then one row
 * per line).
 *
 * Each list is three flat queries (entities, tasks, assignee links) plus the caller's
 * subscriptions, grouped in memory. Rows are written straight to JSON text (ids and stored
 * datetimes are safe to quote as they are; stored JSON columns are embedded as stored) and the
 * answer is streamed in chunks.
 */
import { sql } from "kysely";
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import type { AnySelect } from "../db/rows";
import { isTrue } from "../db/serialize";
import { partsResponse } from "../lib/response-cache";
import { currentFragments, type BuiltFragments, type ListSource } from "./with-tasks-fragments";
import {
  conceptLinks,
  criterionId,
  entityData,
  hiddenMetadataFields,
  requestTypeIds,
  reservedIdList,
  type Dict,
  type EntityKind,
  type ReservedTypeIds,
  type VendorScope,
} from "./entities";

// ---------------------------------------------------------------------------------------------
// Field lists (Zou's *_AND_TASKS_*_FIELDS): names and order are part of the contract.
// ---------------------------------------------------------------------------------------------

export const ASSET_FIELDS = [
  "id", "name", "preview_file_id", "description", "asset_type_name", "asset_type_id", "canceled", "ready_for",
  "episode_id", "casting_episode_ids", "is_casting_standby", "is_shared", "data", "tasks",
];
export const ASSET_TASK_FIELDS = [
  "id", "due_date", "done_date", "duration", "entity_id", "estimation", "end_date", "is_subscribed", "last_comment_date",
  "last_preview_file_id", "priority", "real_start_date", "retake_count", "start_date", "difficulty", "task_status_id",
  "task_type_id", "assignees", "data",
];
export const SHOT_FIELDS = [
  "canceled", "data", "description", "entity_type_id", "episode_id", "episode_name", "fps", "frame_in", "frame_out", "id",
  "name", "nb_frames", "parent_id", "preview_file_id", "project_id", "project_name", "sequence_id", "sequence_name",
  "source_id", "nb_entities_out", "is_casting_standby", "type", "tasks",
];
/** The dict form puts `tasks` before `type`. */
const SHOT_DICT_FIELDS = [...SHOT_FIELDS.slice(0, -2), "tasks", "type"];
export const SHOT_TASK_FIELDS = [
  "id", "duration", "due_date", "end_date", "done_date", "entity_id", "estimation", "is_subscribed", "last_comment_date",
  "last_preview_file_id", "nb_assets_ready", "priority", "real_start_date", "retake_count", "start_date", "difficulty",
  "nb_drawings", "task_status_id", "task_type_id", "assignees", "data",
];
const EDIT_FIELDS = [
  "canceled", "data", "description", "entity_type_id", "episode_id", "episode_name", "id", "name", "parent_id",
  "preview_file_id", "project_id", "project_name", "source_id", "nb_entities_out", "tasks", "type",
];
const EDIT_TASK_FIELDS = [
  "id", "duration", "due_date", "entity_id", "end_date", "estimation", "last_comment_date", "last_preview_file_id",
  "nb_assets_ready", "priority", "real_start_date", "retake_count", "start_date", "task_status_id", "task_type_id",
  "is_subscribed", "assignees", "data",
];
const CONCEPT_FIELDS = [
  "canceled", "data", "description", "entity_type_id", "fps", "frame_in", "frame_out", "id", "name", "nb_frames",
  "parent_id", "preview_file_id", "project_id", "project_name", "source_id", "nb_entities_out", "is_casting_standby",
  "tasks", "entity_concept_links", "type", "updated_at", "created_at", "created_by",
];
const CONCEPT_TASK_FIELDS = [
  "id", "duration", "due_date", "end_date", "entity_id", "estimation", "last_comment_date", "nb_assets_ready", "priority",
  "real_start_date", "retake_count", "start_date", "task_status_id", "task_type_id", "is_subscribed", "assignees", "data",
];
const ENTITY_FIELDS = [
  "id", "name", "status", "episode_id", "description", "frame_in", "frame_out", "fps", "preview_file_id", "canceled", "data", "tasks",
];
const ENTITY_TASK_FIELDS = [
  "id", "estimation", "entity_id", "end_date", "due_date", "done_date", "duration", "last_comment_date", "last_preview_file_id",
  "priority", "real_start_date", "retake_count", "start_date", "difficulty", "task_status_id", "task_type_id", "data",
  "is_subscribed", "assignees",
];

// ---------------------------------------------------------------------------------------------
// Value getters
// ---------------------------------------------------------------------------------------------

type Row = Record<string, any>;

function num(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const n = typeof value === "number" ? value : Number(value);
  return Number.isFinite(n) ? n : null;
}
function bool(value: unknown): boolean | null {
  return value === null || value === undefined ? null : isTrue(value);
}
/** A stored naive-UTC datetime as `YYYY-MM-DDTHH:MM:SS`. */
function date(value: unknown): string | null {
  if (value === null || value === undefined || value === "") return null;
  const text = String(value);
  if (text.length === 19 && text.charCodeAt(10) === 84) return text;
  if (text.length >= 19) return `${text.slice(0, 10)}T${text.slice(11, 19)}`;
  if (text.length === 10) return `${text}T00:00:00`;
  return text;
}
/** A stored JSON column (null stays null). */
function json(value: unknown): unknown {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

// ---------------------------------------------------------------------------------------------
// Tasks
// ---------------------------------------------------------------------------------------------

/** Context shared by the task getters of one answer. */
interface TaskContext {
  subscribed: Set<string>;
  assignees: Map<string, string[]>;
}
type TaskGetter = (row: Row, ctx: TaskContext) => unknown;

const TASK_GETTERS: Record<string, TaskGetter> = {
  id: (r) => r.id,
  entity_id: (r) => r.entity_id,
  task_type_id: (r) => r.task_type_id,
  task_status_id: (r) => r.task_status_id,
  priority: (r) => num(r.priority) ?? 0,
  estimation: (r) => num(r.estimation),
  duration: (r) => num(r.duration),
  retake_count: (r) => num(r.retake_count),
  real_start_date: (r) => date(r.real_start_date),
  end_date: (r) => date(r.end_date),
  start_date: (r) => date(r.start_date),
  due_date: (r) => date(r.due_date),
  done_date: (r) => date(r.done_date),
  last_comment_date: (r) => date(r.last_comment_date),
  last_preview_file_id: (r) => r.last_preview_file_id ?? null,
  nb_assets_ready: (r) => num(r.nb_assets_ready),
  difficulty: (r) => num(r.difficulty),
  nb_drawings: (r) => num(r.nb_drawings),
  data: (r) => json(r.data),
  is_subscribed: (r, ctx) => ctx.subscribed.has(r.id),
  assignees: (r, ctx) => ctx.assignees.get(r.id) ?? [],
};

/** Builds a task (object, or positional array when compact) for a field list. */
function taskWriter(fields: string[], compact: boolean, overrides: Record<string, TaskGetter> = {}): (row: Row, ctx: TaskContext) => unknown {
  const getters = fields.map((name) => overrides[name] ?? TASK_GETTERS[name]!);
  const count = fields.length;
  if (compact) {
    return (row, ctx) => {
      const out = new Array(count);
      for (let i = 0; i < count; i++) out[i] = getters[i]!(row, ctx);
      return out;
    };
  }
  return (row, ctx) => {
    const out: Row = {};
    for (let i = 0; i < count; i++) out[fields[i]!] = getters[i]!(row, ctx);
    return out;
  };
}

/** Task columns read by every view. */
const TASK_COLUMNS = [
  "task.id", "task.entity_id", "task.task_type_id", "task.task_status_id", "task.priority", "task.estimation", "task.duration",
  "task.retake_count", "task.real_start_date", "task.end_date", "task.start_date", "task.due_date", "task.done_date",
  "task.last_comment_date", "task.last_preview_file_id", "task.nb_assets_ready", "task.difficulty", "task.nb_drawings", "task.data",
] as const;

/** Scope of a list: filters applied to a query that has `entity` in its FROM clause. */
type EntityFilter = (q: AnySelect) => AnySelect;

/**
 * Fetches the tasks and assignee links of the entities selected by `filter`, grouped by entity,
 * each task already built.
 */
async function tasksByEntity(
  db: Db,
  filter: EntityFilter,
  write: (row: Row, ctx: TaskContext) => unknown,
  ctx: TaskContext,
  vendor: VendorScope | null,
  projectId: string | undefined,
  only: string[] | undefined,
): Promise<{ built: Map<string, unknown[]>; taskIds: Map<string, string[]> }> {
  const restrict = (q: AnySelect): AnySelect => {
    if (!vendor) return q;
    return q.where((eb: any) => {
      const assigned = eb.exists(
        eb.selectFrom("task_person_link as own_link").select("own_link.task_id").whereRef("own_link.task_id", "=", "task.id").where("own_link.person_id", "=", vendor.personId),
      );
      if (vendor.departmentIds.length === 0) return assigned;
      return eb.or([
        assigned,
        eb("task.task_type_id", "in", eb.selectFrom("task_type as dept_type").select("dept_type.id").where("dept_type.department_id", "in", vendor.departmentIds)),
      ]);
    });
  };
  // Assignee links: with a project, the links of its tasks (one join; links of tasks that are not
  // listed are never read); without, the links of the listed tasks.
  // With `only` (some entities rebuilt after a write), the links of their tasks.
  const links = db.selectFrom("task_person_link").innerJoin("task", "task.id", "task_person_link.task_id");
  const linkQuery = only
    ? (links.where("task.entity_id", "in", only) as AnySelect)
    : projectId
      ? (links.where("task.project_id", "=", projectId) as AnySelect)
      : restrict(filter(links.innerJoin("entity", "entity.id", "task.entity_id") as AnySelect));
  const linkRows = (await linkQuery.select(["task_person_link.task_id", "task_person_link.person_id"]).execute()) as Row[];
  for (const link of linkRows) {
    const list = ctx.assignees.get(link.task_id);
    if (list) list.push(link.person_id);
    else ctx.assignees.set(link.task_id, [link.person_id]);
  }
  let taskQuery = restrict(filter(db.selectFrom("task").innerJoin("entity", "entity.id", "task.entity_id") as AnySelect));
  if (only) taskQuery = taskQuery.where("entity.id", "in", only);
  const taskRows = (await taskQuery.select(TASK_COLUMNS as any).execute()) as Row[];
  const built = new Map<string, unknown[]>();
  const taskIds = new Map<string, string[]>();
  for (const task of taskRows) {
    const value = write(task, ctx);
    const list = built.get(task.entity_id);
    if (list) {
      list.push(value);
      taskIds.get(task.entity_id)!.push(task.id);
    } else {
      built.set(task.entity_id, [value]);
      taskIds.set(task.entity_id, [task.id]);
    }
  }
  return { built, taskIds };
}

/** Ids of the tasks the person subscribed to (in the project when given). */
async function subscribedTasks(db: Db, personId: string, projectId?: string): Promise<Set<string>> {
  let q = db.selectFrom("subscription").select("subscription.task_id").where("subscription.person_id", "=", personId).where("subscription.task_id", "is not", null);
  if (projectId) q = q.innerJoin("task", "task.id", "subscription.task_id").where("task.project_id", "=", projectId);
  const rows = await q.execute();
  return new Set(rows.map((r) => r.task_id as string));
}

// ---------------------------------------------------------------------------------------------
// Criteria and answers
// ---------------------------------------------------------------------------------------------

export interface WithTasksCriteria {
  projectId?: string;
  id?: string;
  /** An episode id, or `all` / `main`. */
  episodeId?: string;
  /** Non-admin listing without a project: only projects whose team includes this person. */
  memberOf?: string;
  /** Vendor narrowing: entities with a task assigned to them, their tasks only, metadata masked. */
  vendor?: VendorScope | null;
  /** Explicit entity ids (sequences/episodes of a vendor). */
  entityIds?: string[];
}

export interface WithTasksFormat {
  compact: boolean;
  stream: boolean;
}

/**
 * A built list: its compact header and one JSON text per entity (an object, or a positional array
 * when compact; UTF-8), in answer order.
 */
export interface WithTasksRows {
  header: Record<string, unknown>;
  fragments: Uint8Array[];
}

function commonFilter(criteria: WithTasksCriteria): EntityFilter {
  return (q) => {
    if (criteria.id) q = q.where("entity.id", "=", criteria.id);
    if (criteria.projectId) q = q.where("entity.project_id", "=", criteria.projectId);
    if (criteria.memberOf) {
      q = q.where("entity.project_id", "in", (eb: any) => eb.selectFrom("project_person_link").select("project_id").where("person_id", "=", criteria.memberOf));
    }
    if (criteria.entityIds) q = criteria.entityIds.length === 0 ? q.where(sql<boolean>`1 = 0`) : q.where("entity.id", "in", criteria.entityIds);
    if (criteria.vendor) {
      const personId = criteria.vendor.personId;
      q = q.where((eb: any) =>
        eb.exists(
          eb
            .selectFrom("task as vendor_task")
            .innerJoin("task_person_link as vendor_link", "vendor_link.task_id", "vendor_task.id")
            .select("vendor_task.id")
            .whereRef("vendor_task.entity_id", "=", "entity.id")
            .where("vendor_link.person_id", "=", personId),
        ),
      );
    }
    return q;
  };
}

/**
 * The `data` of each entity row as an object (`{}` when empty), without the keys of descriptors
 * hidden from the vendor.
 */
async function dataGetter(db: Db, kind: EntityKind, vendor: VendorScope | null | undefined, rows: Row[]): Promise<(row: Row) => Record<string, unknown>> {
  if (!vendor) return (row) => entityData(row.data);
  const projectIds = [...new Set(rows.map((r) => r.project_id as string))];
  const hidden = await hiddenMetadataFields(db, kind, vendor.departmentIds, projectIds);
  return (row) => {
    const data = entityData(row.data);
    for (const field of hidden.get(row.project_id) ?? []) delete data[field];
    return data;
  };
}

type EntityGetter = (row: Row, tasks: unknown[], data: Record<string, unknown>) => unknown;

function entityWriter(fields: string[], getters: Record<string, EntityGetter>, compact: boolean): (row: Row, tasks: unknown[], data: Record<string, unknown>) => unknown {
  const list = fields.map((name) => getters[name]!);
  const count = fields.length;
  if (compact) {
    return (row, tasks, data) => {
      const out = new Array(count);
      for (let i = 0; i < count; i++) out[i] = list[i]!(row, tasks, data);
      return out;
    };
  }
  return (row, tasks, data) => {
    const out: Row = {};
    for (let i = 0; i < count; i++) out[fields[i]!] = list[i]!(row, tasks, data);
    return out;
  };
}

const fromData = (key: string): EntityGetter => (_r, _t, data) => data[key] ?? null;

/** Getters of the entity fields every kind answers the same way; each kind adds its own or overrides. */
const ENTITY_GETTERS: Record<string, EntityGetter> = {
  id: (r) => r.id,
  name: (r) => r.name,
  canceled: (r) => bool(r.canceled),
  data: (_r, _t, data) => data,
  description: (r) => r.description ?? null,
  entity_type_id: (r) => r.entity_type_id,
  fps: fromData("fps"),
  frame_in: fromData("frame_in"),
  frame_out: fromData("frame_out"),
  nb_frames: (r) => num(r.nb_frames),
  parent_id: (r) => r.parent_id ?? null,
  preview_file_id: (r) => r.preview_file_id ?? null,
  project_id: (r) => r.project_id,
  project_name: (r) => r.project_name,
  source_id: (r) => r.source_id ?? null,
  nb_entities_out: (r) => num(r.nb_entities_out),
  is_casting_standby: (r) => bool(r.is_casting_standby),
  tasks: (_r, tasks) => tasks,
};

type EntityWrite = (row: Row, tasks: unknown[], data: Record<string, unknown>) => unknown;

/** How one kind of list reads its entities and writes each of them. */
interface ListSpec {
  kind: EntityKind;
  /** The criteria the tasks are read with (vendor narrowing included). */
  criteria: WithTasksCriteria;
  compact: boolean;
  filter: EntityFilter;
  taskFields: string[];
  taskOverrides?: Record<string, TaskGetter>;
  /** Vendor whose hidden metadata is masked in `data` (defaults to the criteria's). */
  vendorForData?: VendorScope | null;
  /** The entity rows, in answer order. */
  loadRows(): Promise<Row[]>;
  /**
   * The entity writer for these rows, with the per-answer lookups it needs (castings, concept
   * links), and what those lookups add to a row (compared after a write to tell changed rows).
   */
  loadWriter(rows: Row[]): Promise<{ write: EntityWrite; extra?: (row: Row) => string }>;
}

/** Key of a list's stored fragments, or null when it is not kept (single entity, vendor views). */
function stateKey(spec: ListSpec, personId: string): string | null {
  const { criteria } = spec;
  if (criteria.id || criteria.vendor || spec.vendorForData || criteria.entityIds) return null;
  return [personId, spec.kind, spec.compact ? "compact" : "dict", criteria.projectId ?? "", criteria.episodeId ?? "", criteria.memberOf ?? ""].join(" ");
}

/**
 * Entities whose tasks are read and written at a time when a whole list is built: the task rows
 * and task objects of 50,000 shots x 10 task types held at once made a 300 MB answer peak at 3 GB.
 * (A setting only for the tests, which compare answers built in small batches with whole ones.)
 */
export const withTasksBuild = { batchSize: 2000 };

/** JSON text of each row (with its tasks) whose id is in `rows`, and the task ids of each. */
async function buildFragments(c: AppContext, spec: ListSpec, rows: Row[], write: EntityWrite, partial: boolean): Promise<BuiltFragments> {
  const fragments = new Map<string, Uint8Array>();
  const taskIds = new Map<string, string[]>();
  if (rows.length === 0) return { fragments, taskIds };
  const db = c.get("db");
  const { criteria } = spec;
  const subscribed = await subscribedTasks(db, c.get("user").id, criteria.projectId);
  const writeTask = taskWriter(spec.taskFields, spec.compact, spec.taskOverrides);
  const data = await dataGetter(db, spec.kind, spec.vendorForData === undefined ? criteria.vendor : spec.vendorForData, rows);
  // A small whole list reads its tasks through the list's filter in one query; a partial or large
  // one those of its entities, batch by batch.
  const size = withTasksBuild.batchSize;
  const batched = partial || rows.length > size;
  for (let start = 0; start < rows.length; start += size) {
    const batch = rows.length > size ? rows.slice(start, start + size) : rows;
    const only = batched ? batch.map((r) => r.id as string) : undefined;
    const ctx: TaskContext = { subscribed, assignees: new Map() };
    const tasks = await tasksByEntity(db, spec.filter, writeTask, ctx, criteria.vendor ?? null, criteria.projectId, only);
    for (const row of batch) fragments.set(row.id, Buffer.from(JSON.stringify(write(row, tasks.built.get(row.id) ?? [], data(row)))));
    for (const [entityId, ids] of tasks.taskIds) taskIds.set(entityId, ids);
  }
  return { fragments, taskIds };
}

/**
 * The JSON text of each listed entity, in answer order: from the stored fragments when no write
 * since concerns the list, rebuilding only the entities the writes touched, or from scratch.
 */
async function listFragments(c: AppContext, spec: ListSpec): Promise<Uint8Array[]> {
  const personId = c.get("user").id;
  const source: ListSource = {
    key: stateKey(spec, personId),
    projectId: spec.criteria.projectId,
    personId,
    loadRows: spec.loadRows,
    async loadBuilder(rows) {
      const writer = await spec.loadWriter(rows);
      return { extra: writer.extra, build: (listed, partial) => buildFragments(c, spec, listed, writer.write, partial) };
    },
  };
  return currentFragments(c, source);
}

// ---------------------------------------------------------------------------------------------
// Assets
// ---------------------------------------------------------------------------------------------

function assetFilter(criteria: WithTasksCriteria, types: ReservedTypeIds): EntityFilter {
  const common = commonFilter(criteria);
  const reserved = reservedIdList(types);
  return (q) => {
    q = common(q.where("entity.entity_type_id", "not in", reserved));
    const episodeId = criteria.episodeId;
    if (episodeId === "main") q = q.where("entity.source_id", "is", null);
    else if (episodeId && episodeId !== "all") {
      q = q.where((eb: any) =>
        eb.or([
          eb("entity.source_id", "=", episodeId),
          eb.exists(
            eb.selectFrom("entity_link as episode_cast").select("episode_cast.id").whereRef("episode_cast.entity_out_id", "=", "entity.id").where("episode_cast.entity_in_id", "=", episodeId),
          ),
        ]),
      );
    }
    return q;
  };
}

/** Episodes an asset is cast in (ordered by episode name), for the project or the single asset. */
async function castingEpisodeIds(db: Db, criteria: WithTasksCriteria, types: ReservedTypeIds): Promise<Map<string, string[]>> {
  const result = new Map<string, string[]>();
  if (!criteria.projectId && !criteria.id) return result;
  let q = db
    .selectFrom("entity_link")
    .innerJoin("entity as episode", "episode.id", "entity_link.entity_in_id")
    .select(["entity_link.entity_out_id", "entity_link.entity_in_id"])
    .where("episode.entity_type_id", "=", types.Episode)
    .orderBy("episode.name");
  if (criteria.projectId) q = q.where("episode.project_id", "=", criteria.projectId);
  if (criteria.episodeId && criteria.episodeId !== "all" && criteria.episodeId !== "main") q = q.where("entity_link.entity_in_id", "=", criteria.episodeId);
  if (criteria.id) q = q.where("entity_link.entity_out_id", "=", criteria.id);
  for (const link of await q.execute()) {
    const list = result.get(link.entity_out_id);
    if (list) list.push(link.entity_in_id);
    else result.set(link.entity_out_id, [link.entity_in_id]);
  }
  return result;
}

const ASSET_TASK_OVERRIDES: Record<string, TaskGetter> = {
  last_preview_file_id: (r) => r.last_preview_file_id ?? "",
};

export async function assetsWithTasks(c: AppContext, criteria: WithTasksCriteria, compact = false): Promise<WithTasksRows> {
  const db = c.get("db");
  const types = await requestTypeIds(c);
  const filter = assetFilter(criteria, types);
  const loadRows = async () => (await filter(db.selectFrom("entity").innerJoin("entity_type", "entity_type.id", "entity.entity_type_id") as AnySelect)
    .select([
      "entity.id", "entity.name", "entity.description", "entity.data", "entity.preview_file_id", "entity.entity_type_id",
      "entity.canceled", "entity.ready_for", "entity.source_id", "entity.is_casting_standby", "entity.is_shared",
      "entity.project_id", "entity_type.name as asset_type_name",
    ])
    .orderBy("entity_type.name")
    .orderBy("entity.name")
    .execute()) as Row[];
  const loadWriter = async () => {
    const episodes = await castingEpisodeIds(db, criteria, types);
    const getters: Record<string, EntityGetter> = {
    ...ENTITY_GETTERS,
    preview_file_id: (r) => r.preview_file_id ?? "",
    asset_type_name: (r) => r.asset_type_name,
    asset_type_id: (r) => r.entity_type_id,
    // Zou writes str(asset.ready_for): the text "None" when no task type is set.
    ready_for: (r) => r.ready_for ?? "None",
    episode_id: (r) => r.source_id ?? "",
    casting_episode_ids: (r) => episodes.get(r.id) ?? [],
    is_shared: (r) => bool(r.is_shared),
    };
    return { write: entityWriter(ASSET_FIELDS, getters, compact), extra: (r: Row) => (episodes.get(r.id) ?? []).join(",") };
  };
  const fragments = await listFragments(c, { kind: "Asset", criteria, compact, filter, taskFields: ASSET_TASK_FIELDS, taskOverrides: ASSET_TASK_OVERRIDES, loadRows, loadWriter });
  return { header: { compact, asset_fields: ASSET_FIELDS, task_fields: ASSET_TASK_FIELDS }, fragments };
}

// ---------------------------------------------------------------------------------------------
// Shots
// ---------------------------------------------------------------------------------------------

function shotFilter(criteria: WithTasksCriteria, types: ReservedTypeIds): EntityFilter {
  const common = commonFilter(criteria);
  return (q) => {
    q = common(q.innerJoin("entity as sequence", "sequence.id", "entity.parent_id").where("entity.entity_type_id", "=", types.Shot));
    if (criteria.episodeId === "main") q = q.where("sequence.parent_id", "is", null);
    else if (criteria.episodeId && criteria.episodeId !== "all") q = q.where("sequence.parent_id", "=", criteria.episodeId);
    return q;
  };
}

/** Getters of the frame range keys kept in `data`. */

export async function shotsWithTasks(c: AppContext, criteria: WithTasksCriteria, compact = false): Promise<WithTasksRows> {
  const db = c.get("db");
  const types = await requestTypeIds(c);
  const filter = shotFilter(criteria, types);
  const loadRows = async () => (await filter(db.selectFrom("entity") as AnySelect)
    .innerJoin("project", "project.id", "entity.project_id")
    .leftJoin("entity as episode", "episode.id", "sequence.parent_id")
    .select([
      "entity.id", "entity.name", "entity.description", "entity.data", "entity.canceled", "entity.entity_type_id",
      "entity.parent_id", "entity.preview_file_id", "entity.source_id", "entity.nb_frames", "entity.nb_entities_out",
      "entity.is_casting_standby", "entity.project_id", "episode.id as episode_id", "episode.name as episode_name",
      "sequence.id as sequence_id", "sequence.name as sequence_name", "project.name as project_name",
    ])
    .orderBy("sequence.name")
    .orderBy("entity.name")
    .execute()) as Row[];
  const getters: Record<string, EntityGetter> = {
    ...ENTITY_GETTERS,
    episode_id: (r) => r.episode_id ?? null,
    episode_name: (r) => r.episode_name ?? "",
    sequence_id: (r) => r.sequence_id,
    sequence_name: (r) => r.sequence_name,
    type: () => "Shot",
  };
  const write = entityWriter(compact ? SHOT_FIELDS : SHOT_DICT_FIELDS, getters, compact);
  const fragments = await listFragments(c, { kind: "Shot", criteria, compact, filter, taskFields: SHOT_TASK_FIELDS, loadRows, loadWriter: async () => ({ write }) });
  return { header: { compact, shot_fields: SHOT_FIELDS, task_fields: SHOT_TASK_FIELDS }, fragments };
}

// ---------------------------------------------------------------------------------------------
// Edits, concepts, and the generic entity view (sequences, episodes, scenes)
// ---------------------------------------------------------------------------------------------

export async function editsWithTasks(c: AppContext, criteria: WithTasksCriteria): Promise<WithTasksRows> {
  const db = c.get("db");
  const types = await requestTypeIds(c);
  const common = commonFilter(criteria);
  const filter: EntityFilter = (q) => {
    q = common(q.where("entity.entity_type_id", "=", types.Edit));
    if (criteria.episodeId && criteria.episodeId !== "all") {
      q = criteria.episodeId === "main" ? q.where("entity.parent_id", "is", null) : q.where("entity.parent_id", "=", criteria.episodeId);
    }
    return q;
  };
  const loadRows = async () => (await filter(
    db
      .selectFrom("entity")
      .innerJoin("project", "project.id", "entity.project_id")
      .leftJoin("entity as episode", "episode.id", "entity.parent_id") as AnySelect,
  )
    .select([
      "entity.id", "entity.name", "entity.description", "entity.data", "entity.canceled", "entity.entity_type_id", "entity.parent_id",
      "entity.preview_file_id", "entity.source_id", "entity.nb_entities_out", "entity.project_id", "episode.id as episode_id",
      "episode.name as episode_name", "project.name as project_name",
    ])
    .orderBy("entity.name")
    .execute()) as Row[];
  const getters: Record<string, EntityGetter> = {
    ...ENTITY_GETTERS,
    episode_id: (r) => r.episode_id ?? null,
    episode_name: (r) => r.episode_name ?? "",
    type: () => "Edit",
  };
  const write = entityWriter(EDIT_FIELDS, getters, false);
  const fragments = await listFragments(c, { kind: "Edit", criteria, compact: false, filter, taskFields: EDIT_TASK_FIELDS, loadRows, loadWriter: async () => ({ write }) });
  return { header: { compact: false }, fragments };
}

export async function conceptsWithTasks(c: AppContext, criteria: WithTasksCriteria): Promise<WithTasksRows> {
  const db = c.get("db");
  const types = await requestTypeIds(c);
  const common = commonFilter(criteria);
  const filter: EntityFilter = (q) => common(q.where("entity.entity_type_id", "=", types.Concept));
  const loadRows = async () => (await filter(db.selectFrom("entity").innerJoin("project", "project.id", "entity.project_id") as AnySelect)
    .select([
      "entity.id", "entity.name", "entity.description", "entity.data", "entity.canceled", "entity.entity_type_id", "entity.parent_id",
      "entity.preview_file_id", "entity.source_id", "entity.nb_frames", "entity.nb_entities_out", "entity.is_casting_standby",
      "entity.created_by", "entity.created_at", "entity.updated_at", "entity.project_id", "project.name as project_name",
    ])
    .orderBy("entity.name")
    .execute()) as Row[];
  const loadWriter = async (rows: Row[]) => {
    const links = await conceptLinks(db, rows.map((r) => r.id as string));
    const getters: Record<string, EntityGetter> = {
      ...ENTITY_GETTERS,
      entity_concept_links: (r) => links.get(r.id) ?? [],
      type: () => "Concept",
      updated_at: (r) => date(r.updated_at),
      created_at: (r) => date(r.created_at),
      created_by: (r) => r.created_by ?? null,
    };
    return { write: entityWriter(CONCEPT_FIELDS, getters, false), extra: (r: Row) => JSON.stringify(links.get(r.id) ?? []) };
  };
  const fragments = await listFragments(c, { kind: "Concept", criteria, compact: false, filter, taskFields: CONCEPT_TASK_FIELDS, loadRows, loadWriter });
  return { header: { compact: false }, fragments };
}

/** Sequences, episodes and scenes with their own tasks (Zou's get_entities_and_tasks). */
export async function entitiesWithTasks(c: AppContext, kind: "Sequence" | "Episode" | "Scene", criteria: WithTasksCriteria): Promise<WithTasksRows> {
  const db = c.get("db");
  const types = await requestTypeIds(c);
  const common = commonFilter({ ...criteria, vendor: null });
  const filter: EntityFilter = (q) => {
    q = common(q.where("entity.entity_type_id", "=", types[kind]));
    if (criteria.episodeId && criteria.episodeId !== "all") {
      q = criteria.episodeId === "main" ? q.where("entity.parent_id", "is", null) : q.where("entity.parent_id", "=", criteria.episodeId);
    }
    return q;
  };
  const loadRows = async () => (await filter(db.selectFrom("entity") as AnySelect)
    .select([
      "entity.id", "entity.name", "entity.status", "entity.parent_id", "entity.description", "entity.data", "entity.preview_file_id",
      "entity.canceled", "entity.project_id",
    ])
    .orderBy("entity.name")
    .execute()) as Row[];
  const getters: Record<string, EntityGetter> = {
    ...ENTITY_GETTERS,
    status: (r) => r.status ?? "running",
    // Zou writes str(entity.parent_id): the text "None" for an episode or a sequence without episode.
    episode_id: (r) => r.parent_id ?? "None",
    preview_file_id: (r) => r.preview_file_id ?? "",
  };
  // Vendors see only their own tasks there (Zou's assignee filter, no department widening).
  const vendor = criteria.vendor ?? null;
  const vendorTasks = vendor ? { personId: vendor.personId, departmentIds: [] } : null;
  const write = entityWriter(ENTITY_FIELDS, getters, false);
  const fragments = await listFragments(c, {
    kind, criteria: { ...criteria, vendor: vendorTasks }, compact: false, filter, taskFields: ENTITY_TASK_FIELDS, vendorForData: vendor, loadRows, loadWriter: async () => ({ write }),
  });
  return { header: { compact: false }, fragments };
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

// Constant pieces: the same objects in every answer, so the answer cache tells the chunks of an
// answer that did not change from the previous answer's by identity (src/lib/compression.ts).
const COMMA = Buffer.from(",");
const NEWLINE = Buffer.from("\n");
const OPEN_ARRAY = Buffer.from("[");
const CLOSE_ARRAY = Buffer.from("]");
const CLOSE_COMPACT = Buffer.from("]}");
const PLAIN_STREAM_HEADER = Buffer.from(`${JSON.stringify({ compact: false })}\n`);

/** Made texts of the few compact headers (per field list), the same object each time. */
const headerTexts = new Map<string, Uint8Array>();
function constantText(text: string): Uint8Array {
  let bytes = headerTexts.get(text);
  if (!bytes) {
    bytes = Buffer.from(text);
    if (headerTexts.size >= 64) headerTexts.clear();
    headerTexts.set(text, bytes);
  }
  return bytes;
}

/** `parts` with `separator` between them (and after the last when `trailing`), between `open` and `close`. */
function joinParts(open: Uint8Array, parts: Uint8Array[], separator: Uint8Array, close: Uint8Array | null): Uint8Array[] {
  const pieces: Uint8Array[] = new Array(parts.length * 2 + 1);
  pieces[0] = open;
  let n = 1;
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) pieces[n++] = separator;
    pieces[n++] = parts[i]!;
  }
  if (close) pieces[n++] = close;
  pieces.length = n;
  return pieces;
}

/**
 * The HTTP answer of a with-tasks list: plain JSON array; compact JSON object with `rows`; or,
 * with `stream=true`, NDJSON (`application/x-ndjson`: the header line, then one row per line; the
 * client parses lines as they arrive). Each is the entities' fragments with separators, sent as
 * one Blob without joining them in JS (src/lib/response-cache.ts).
 */
export function withTasksResponse(result: WithTasksRows, format: WithTasksFormat): Response {
  if (format.stream) {
    const header = format.compact ? constantText(`${JSON.stringify(result.header)}\n`) : PLAIN_STREAM_HEADER;
    const lines = result.fragments.length > 0 ? joinParts(header, result.fragments, NEWLINE, NEWLINE) : [header];
    return partsResponse(lines, "application/x-ndjson");
  }
  const parts = format.compact
    ? joinParts(constantText(`${JSON.stringify(result.header).slice(0, -1)},"rows":[`), result.fragments, COMMA, CLOSE_COMPACT)
    : joinParts(OPEN_ARRAY, result.fragments, COMMA, CLOSE_ARRAY);
  return partsResponse(parts, "application/json");
}

/** The rows of a non-compact list as dicts (single-entity reads). */
export function rowsToDicts(result: WithTasksRows): Dict[] {
  return result.fragments.map((fragment) => JSON.parse(Buffer.from(fragment.buffer, fragment.byteOffset, fragment.byteLength).toString()) as Dict);
}

/**
 * Query parameters of a with-tasks request: `stream` and `compact` are answer options, not
 * filters; `id`, `project_id` and `episode_id` must be UUIDs (400), `episode_id` may be `all` or
 * `main`.
 */
export function readWithTasksQuery(c: AppContext): { projectId?: string; id?: string; episodeId?: string; format: WithTasksFormat; params: Record<string, string> } {
  const params = { ...c.req.query() };
  const format = { stream: params.stream === "true", compact: params.compact === "true" };
  delete params.stream;
  delete params.compact;
  return {
    projectId: criterionId("project_id", params.project_id),
    id: criterionId("id", params.id),
    episodeId: criterionId("episode_id", params.episode_id, ["all", "main"]),
    format,
    params,
  };
}
