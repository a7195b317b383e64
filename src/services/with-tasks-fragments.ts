/**
 * What a with-tasks list keeps between two requests, so that the next answer after a write
 * rebuilds only what that write touched:
 *  - the answer as per-entity JSON fragments (one string per listed entity, keyed by its id, in
 *    answer order), the entity rows they were built from, and which task belongs to which entity;
 *  - the position in the write log (src/db/write-tracker.ts) up to which it is known current, and
 *    the version of other processes' unexplained commits (src/lib/change-signal.ts) it was built
 *    at (their logged writes join the write log: src/db/change-log.ts).
 *
 * `pendingChanges` reads the writes issued since and tells what they touch for this list:
 *  - nothing (a write in another project, a comment, a notification...): the fragments serve as
 *    they are;
 *  - some entities (a task updated, created or deleted, its assignees, the caller's subscription):
 *    only their fragments are rebuilt;
 *  - the entity rows (an entity renamed, created, deleted or moved, a casting, a sequence renamed):
 *    the rows are read again and the fragments of changed rows rebuilt;
 *  - anything else that the answer or its permission checks read (project, team, person, types,
 *    metadata descriptors, raw SQL, a commit by another process that the change log does not
 *    explain, writes too old for the log): all.
 *
 * A state is never changed once stored (except moving its position past writes that did not
 * concern it): a rebuild stores a new state, so answers built from an older state can tell they
 * are out of date (`isCurrent`).
 */
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import { writesSince, type ColumnValues, type WriteRecord } from "../db/write-tracker";
import { currentWrites } from "../db/write-version";
import { declareAnswerScope, releaseReplacedAnswer } from "../lib/response-cache";
import { PerDatabase, SizedCache } from "../lib/sized-cache";

type Row = Record<string, any>;

export interface ListState {
  key: string;
  /** The project of the list, when it is one project's. */
  projectId: string | undefined;
  /** The caller (their subscriptions show as `is_subscribed`). */
  personId: string;
  /** Write-log position up to which this state is known to be current. */
  position: number;
  /** Other processes' commit version when it was built. */
  external: number;
  /** Listed entity ids in answer order. */
  order: string[];
  rows: Map<string, Row>;
  /** Per entity: what its fragment shows besides its row and tasks (castings, concept links). */
  extras: Map<string, string>;
  /** Per entity: its JSON text (UTF-8). */
  fragments: Map<string, Uint8Array>;
  /** Fragments in answer order. */
  list: Uint8Array[];
  /** Task id → entity id for the listed tasks (and tasks listed before: it only grows). */
  taskEntity: Map<string, string>;
  /** Ids of entities whose change may change a listed row: the listed ones and their parents. */
  related: Set<string>;
  bytes: number;
}

/** What the writes since a state's position touch. */
export interface Changes {
  all: boolean;
  rows: boolean;
  entities: Set<string>;
}

/** Tables neither a with-tasks answer nor its permission checks read. */
const UNREAD_TABLES = new Set([
  "comment", "comment_mentions", "comment_department_mentions", "comment_acknoledgments", "comment_preview_link",
  "attachment_file", "preview_file", "api_event", "news", "notification", "time_spent", "day_off", "desktop_login_log",
  "login_log", "working_file", "output_file", "playlist", "playlist_share_link", "build_job", "chat", "chat_participant",
  "chat_message", "search_filter", "search_filter_group", "kv_store", "data_import_error", "schedule_item", "milestone",
  "production_schedule_version", "production_schedule_version_task_link", "production_schedule_version_task_link_person_link",
  "budget", "budget_entry", "entity_version", "asset_instance", "asset_instance_link", "plugin",
]);

/** Entity columns that decide whether (and where) an entity is listed. */
const PLACEMENT_COLUMNS = ["parent_id", "source_id", "project_id", "entity_type_id"];

/** True when the write is known to touch only rows of other projects than the state's. */
function otherProject(state: ListState, record: WriteRecord): boolean {
  if (!state.projectId) return false;
  const matched = record.match.get("project_id");
  if (!matched || matched.includes(state.projectId)) return false;
  if (!record.sets.has("project_id")) return true;
  const set = record.sets.get("project_id");
  return set !== null && set !== undefined && !set.includes(state.projectId);
}

function known(values: ColumnValues, column: string): unknown[] | null {
  return values.get(column) ?? null;
}

/** Adds the entities of the given task ids (those listed) to `into`. */
function entitiesOfTasks(state: ListState, taskIds: unknown[], into: Set<string>): void {
  for (const id of taskIds) {
    const entityId = state.taskEntity.get(id as string);
    if (entityId) into.add(entityId);
  }
}

/** Records what one write touches of the state's list into `changes`. */
function classify(state: ListState, record: WriteRecord, changes: Changes): void {
  const table = record.table;
  if (table === null) {
    changes.all = true;
    return;
  }
  if (UNREAD_TABLES.has(table)) return;
  switch (table) {
    case "task": {
      if (otherProject(state, record)) return;
      if (record.sets.has("entity_id")) {
        // A task moved to (or created on) these entities.
        const targets = record.sets.get("entity_id");
        if (!targets) changes.all = true;
        else for (const id of targets) changes.entities.add(id as string);
      }
      const ids = known(record.match, "id");
      if (ids) entitiesOfTasks(state, ids, changes.entities);
      else {
        const entityIds = known(record.match, "entity_id");
        if (entityIds) for (const id of entityIds) changes.entities.add(id as string);
        else changes.all = true;
      }
      return;
    }
    case "task_person_link": {
      const taskIds = known(record.match, "task_id");
      if (!taskIds || record.kind === "update") changes.all = true;
      else entitiesOfTasks(state, taskIds, changes.entities);
      return;
    }
    case "subscription": {
      const persons = known(record.match, "person_id");
      if (persons && !persons.includes(state.personId) && !record.sets.has("person_id")) return;
      const taskIds = known(record.match, "task_id");
      if (record.kind === "update" || !taskIds) {
        const entityIds = known(record.match, "entity_id");
        if (entityIds && record.kind !== "update") for (const id of entityIds) changes.entities.add(id as string);
        else changes.all = true;
        return;
      }
      entitiesOfTasks(state, taskIds, changes.entities);
      return;
    }
    case "entity": {
      if (otherProject(state, record)) return;
      const ids = known(record.match, "id");
      if (record.kind === "insert" || !ids || PLACEMENT_COLUMNS.some((column) => record.sets.has(column)) || ids.some((id) => state.related.has(id as string))) {
        changes.rows = true;
      }
      return;
    }
    case "entity_link":
    case "entity_concept_link":
      // Castings (assets' casting episodes, nb_entities_out) and concept links: read the rows again.
      changes.rows = true;
      return;
    default:
      changes.all = true;
  }
}

/**
 * What changed for `state` since its position, or null when it cannot tell (writes too old for
 * the log, another process committed unexplained): rebuild everything. Moves the state's position when
 * nothing concerned it.
 */
export function pendingChanges(db: Db, state: ListState): Changes | null {
  const { external, position } = currentWrites(db);
  if (external !== state.external) return null;
  const records = writesSince(state.position);
  if (!records) return null;
  const changes: Changes = { all: false, rows: false, entities: new Set() };
  for (const record of records) {
    classify(state, record, changes);
    if (changes.all) return null;
  }
  if (!changes.rows && changes.entities.size === 0) state.position = position;
  return changes;
}

// ---------------------------------------------------------------------------------------------
// Stored states, per database instance
// ---------------------------------------------------------------------------------------------

/** Fragments kept per database, all lists together (a list of 50,000 shots x 10 tasks is ~300 MB). */
const MAX_BYTES = 1024 * 1024 * 1024;

/** A state larger than all of it is not kept. */
const caches = new PerDatabase(() => new SizedCache<ListState>({ maxTotal: MAX_BYTES, maxEntrySize: MAX_BYTES, sizeOf: (state) => state.bytes }));

export function storedState(db: Db, key: string): ListState | undefined {
  // Most recently used last, so eviction drops the oldest.
  return caches.of(db).get(key);
}

/** Stores `state` in place of `base` (the state it was built from), unless another request already replaced it. */
export function storeState(db: Db, state: ListState, base: ListState | undefined): void {
  const cache = caches.of(db);
  if (cache.peek(state.key) !== base) return;
  cache.set(state.key, state);
}

/** Removes `state` if it is still the stored one for its list. */
function dropState(db: Db, state: ListState): void {
  const cache = caches.of(db);
  if (cache.peek(state.key) === state) cache.delete(state.key);
}

/** True while `state` is the stored one for its list and no write since concerns it. */
export function isCurrent(db: Db, state: ListState): boolean {
  if (caches.of(db).peek(state.key) !== state) return false;
  const changes = pendingChanges(db, state);
  return changes !== null && !changes.rows && changes.entities.size === 0;
}

/** Drops every stored list of `db` (tests compare with answers built from scratch). */
export function forgetListStates(db: object): void {
  caches.forget(db);
}

// ---------------------------------------------------------------------------------------------
// Building and updating a list
// ---------------------------------------------------------------------------------------------

/** Fragments built for some entities, and the ids of each one's tasks. */
export interface BuiltFragments {
  fragments: Map<string, Uint8Array>;
  taskIds: Map<string, string[]>;
}

/** How a list reads its rows and builds fragments (src/services/with-tasks.ts). */
export interface ListSource {
  /** Key of its stored state, or null when it is not kept. */
  key: string | null;
  projectId: string | undefined;
  personId: string;
  /** The entity rows, in answer order. */
  loadRows(): Promise<Row[]>;
  /**
   * For these rows: what the per-answer lookups (castings, concept links) add to a row, and the
   * builder of the fragments of some of them (`partial`: only those, not the whole list).
   */
  loadBuilder(rows: Row[]): Promise<{ extra?: (row: Row) => string; build: (rows: Row[], partial: boolean) => Promise<BuiltFragments> }>;
}

function sameRow(a: Row, b: Row): boolean {
  for (const key in b) if (a[key] !== b[key]) return false;
  return true;
}

/** The listed ids and the entities a listed row shows (names of its sequence, episode...). */
function relatedIds(rows: Row[]): Set<string> {
  const related = new Set<string>();
  for (const row of rows) {
    related.add(row.id);
    for (const key of ["parent_id", "source_id", "sequence_id", "episode_id"]) if (row[key]) related.add(row[key]);
  }
  return related;
}

function fragmentBytes(fragments: Iterable<Uint8Array>): number {
  let bytes = 0;
  for (const fragment of fragments) bytes += fragment.byteLength;
  return bytes;
}

/** A state built from scratch. */
async function freshState(source: ListSource, key: string, position: number, external: number): Promise<ListState> {
  const rows = await source.loadRows();
  const builder = await source.loadBuilder(rows);
  const built = await builder.build(rows, false);
  const taskEntity = new Map<string, string>();
  for (const [entityId, ids] of built.taskIds) for (const id of ids) taskEntity.set(id, entityId);
  const order = rows.map((r) => r.id as string);
  const list = order.map((id) => built.fragments.get(id)!);
  return {
    key,
    projectId: source.projectId,
    personId: source.personId,
    position,
    external,
    order,
    rows: new Map(rows.map((r) => [r.id as string, r])),
    extras: new Map(builder.extra ? rows.map((r) => [r.id as string, builder.extra!(r)]) : []),
    fragments: built.fragments,
    list,
    taskEntity,
    related: relatedIds(rows),
    bytes: fragmentBytes(list),
  };
}

/**
 * `base` brought up to date with `changes`: rows read again when they may have changed, and the
 * fragments of changed entities rebuilt; null when so much changed that a fresh build is cheaper.
 */
async function updatedState(source: ListSource, base: ListState, changes: Changes, position: number, external: number): Promise<ListState | null> {
  const rebuild = new Set<string>();
  let rows: Row[];
  let builder: Awaited<ReturnType<ListSource["loadBuilder"]>>;
  if (changes.rows) {
    rows = await source.loadRows();
    builder = await source.loadBuilder(rows);
    for (const row of rows) {
      const old = base.rows.get(row.id);
      if (!old || !sameRow(old, row) || (builder.extra && builder.extra(row) !== base.extras.get(row.id))) rebuild.add(row.id);
    }
  } else {
    rows = base.order.map((id) => base.rows.get(id)!);
    builder = await source.loadBuilder(rows);
  }
  const listed = changes.rows ? new Set(rows.map((r) => r.id as string)) : base.rows;
  for (const id of changes.entities) if (listed.has(id)) rebuild.add(id);
  if (rebuild.size > Math.max(64, rows.length / 4)) return null;
  const built = rebuild.size > 0 ? await builder.build(rows.filter((r) => rebuild.has(r.id)), true) : { fragments: new Map(), taskIds: new Map() };

  // The task index is shared by the successive states of a list and only grows: a task that
  // moved or went away at most makes a later write on it rebuild one entity for nothing.
  const taskEntity = base.taskEntity;
  for (const [id, ids] of built.taskIds) for (const taskId of ids) taskEntity.set(taskId, id);
  let fragments = base.fragments;
  if (changes.rows) {
    fragments = new Map();
    for (const row of rows) fragments.set(row.id, built.fragments.get(row.id) ?? base.fragments.get(row.id)!);
  } else if (built.fragments.size > 0) {
    fragments = new Map(base.fragments);
    for (const [id, fragment] of built.fragments) fragments.set(id, fragment);
  }
  const order = changes.rows ? rows.map((r) => r.id as string) : base.order;
  const list = order.map((id) => fragments.get(id)!);
  return {
    ...base,
    position,
    external,
    order,
    rows: changes.rows ? new Map(rows.map((r) => [r.id as string, r])) : base.rows,
    extras: changes.rows && builder.extra ? new Map(rows.map((r) => [r.id as string, builder.extra!(r)])) : base.extras,
    fragments,
    list,
    taskEntity,
    related: changes.rows ? relatedIds(rows) : base.related,
    bytes: fragmentBytes(list),
  };
}

/**
 * The fragments of a list, in answer order: the stored ones when no write since concerns the
 * list, rebuilding only the entities the writes touched, or built from scratch. Declares the
 * answer's scope to the answer cache (src/lib/response-cache.ts).
 */
export async function currentFragments(c: AppContext, source: ListSource): Promise<Uint8Array[]> {
  const db = c.get("db");
  if (!source.key) {
    const rows = await source.loadRows();
    const built = await (await source.loadBuilder(rows)).build(rows, false);
    return rows.map((r) => built.fragments.get(r.id)!);
  }
  const { external, position } = currentWrites(db);
  let base = storedState(db, source.key);
  const changes = base ? pendingChanges(db, base) : null;
  let state: ListState | null = null;
  if (base && changes) {
    if (!changes.rows && changes.entities.size === 0) state = base;
    else state = await updatedState(source, base, changes, position, external);
  }
  if (!state) {
    // Built from scratch: the old fragments and the answer made of them are let go first, so a
    // large list is not held two or three times over while it is rebuilt.
    if (base) {
      dropState(db, base);
      base = undefined;
    }
    releaseReplacedAnswer(c);
    state = await freshState(source, source.key, position, external);
  }
  if (state !== base) storeState(db, state, base);
  const kept = state;
  declareAnswerScope(c, () => isCurrent(db, kept));
  return state.list;
}
