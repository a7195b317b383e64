/**
 * The generic CRUD engine behind `/data/<plural>` (http-conventions.md "Generic crud", models.md §4):
 * one set of handlers driven by a model definition with permission and business hooks.
 *
 * Request flow (Zou's order):
 * - list: `list` hook (permission + scope) → filters from the query string → plain array or page dict.
 * - read: id format (400) → row (404) → `read` hook → dict with relations unless `relations=false`;
 *   a 200 is kept per caller and URL until a table it depends on is written (./answer-cache.ts).
 * - create: JSON body (415/400) → `create` hook → `prepareBody` → column values (unknown key 400)
 *   → `beforeCreate` → insert + relations → `afterCreate` → event → 201 with relations.
 * - update: JSON body → row (400/404) → `update` hook → protected keys dropped → `prepareBody`
 *   → values (unknown keys ignored) → `beforeUpdate` → update + relations → `afterUpdate` → event → 200.
 * - delete: row (400/404) → `delete` hook → `customDelete` or (`beforeDelete`, join rows, delete) → event → 204.
 */
import type { Hono } from "hono";
import type { CompiledQuery } from "kysely";
import { sql } from "kysely";
import type { AppContext, AppEnv } from "../context";
import type { Db } from "../db/database";
import { serialize, pickFields } from "../db/serialize";
import { TABLES, type TableName } from "../db/tables.generated";
import type { TableDef } from "../db/table-def";
import { transact } from "../db/transaction";
import { forgetStoredFiles } from "../services/stored-files";
import { readJsonObject } from "../lib/body";
import { ApiError, badRequest, databaseErrorToApiError, forbidden, notFound, WRONG_ID_FORMAT } from "../lib/errors";
import { crudId, isUuid, newId, normalizeId, serviceId, utcNow } from "../lib/ids";
import { emitEvent } from "../lib/events";
import { PROTOTYPE_KEYS, prototypeKeyError } from "../lib/validation";
import { checkAdmin } from "../services/permissions";
import { declareAnswerReads, markWrites, type AnswerReads } from "../lib/answer-reads";
import { cachedResponse } from "../lib/response-cache";
import { toFilterValue, toStoredValue } from "./values";
import { answerVersion, byIdAnswerKey, cachedAnswer, keepAnswer } from "./answer-cache";
import { descNullsFirst } from "../db/order";
import { getRowById, loadRelations, relationIds, runCompiled, setRelation, type AnySelect, type Row } from "../db/rows";

export type Dict = Record<string, unknown>;
export type { AnySelect, Row };
export type Method = "list" | "create" | "read" | "update" | "delete";

export interface CrudModel {
  table: TableName;
  /** Plural route under /data. */
  route: string;
  methods?: Method[];
  /**
   * What a list answer reads (src/lib/answer-reads.ts), called after the list is built: the answer
   * is then kept while no write concerns it; null: not kept. Lists without it are never kept.
   */
  listReads?: (c: AppContext) => Promise<AnswerReads | null>;
  /** Read permission for lists; may return a scope narrowing the query (non-admins). Default: admin. */
  list?: (c: AppContext) => Promise<((q: AnySelect) => AnySelect) | void>;
  read?: (c: AppContext, row: Row) => Promise<void>;
  create?: (c: AppContext, data: Dict) => Promise<void>;
  update?: (c: AppContext, row: Row, data: Dict) => Promise<void>;
  delete?: (c: AppContext, row: Row) => Promise<void>;
  /** Columns a non-admin may filter on (others: 400 "Filtering on X is not allowed."). */
  filterable?: (c: AppContext) => Set<string> | null;
  /** Columns nobody may filter on (hidden columns are never filterable). */
  unfilterable?: string[];
  /** Extra body keys accepted on create/update besides columns and relations (handled by hooks). */
  extraKeys?: string[];
  /** Keys stripped from a PUT body besides id/created_at/updated_at (and project_id). */
  protectedOnUpdate?: string[];
  /** Keep id/created_at/updated_at sent on create (Zou's POST /data/tasks quirk). */
  keepIdOnCreate?: boolean;
  /**
   * Rewrites the body before it is turned into column values (after id/created_at/updated_at and
   * protected keys are dropped): e.g. keep only accepted keys, map aliases. Runs inside the write.
   */
  prepareBody?: (c: AppContext, body: Dict, mode: "create" | "update", row?: Row) => Dict | Promise<Dict>;
  /** Business rules before insert: normalise `values` (column values) and validate; may throw 400. */
  beforeCreate?: (c: AppContext, values: Row, body: Dict) => Promise<void>;
  afterCreate?: (c: AppContext, row: Row, body: Dict) => Promise<void>;
  beforeUpdate?: (c: AppContext, row: Row, values: Row, body: Dict) => Promise<void>;
  afterUpdate?: (c: AppContext, row: Row, previous: Row, body: Dict) => Promise<void>;
  /** Runs before the row is deleted (remove dependants, or throw). */
  beforeDelete?: (c: AppContext, row: Row) => Promise<void>;
  /** Runs after the row is deleted and its event emitted, in the same transaction (e.g. stored files). */
  afterDelete?: (c: AppContext, row: Row) => Promise<void>;
  /** Replaces the delete (e.g. soft delete). Returning true means handled. */
  customDelete?: (c: AppContext, row: Row) => Promise<boolean>;
  /** Adjusts a serialized dict (type names, hidden fields per caller). */
  present?: (c: AppContext, row: Row, dict: Dict, mode: Method) => Dict | Promise<Dict>;
  /**
   * Adjusts the serialized dicts of a list in one call (a few flat queries instead of one per row);
   * when set, lists use it instead of `present`. `dicts[i]` is the dict of `rows[i]` (with relations).
   */
  presentList?: (c: AppContext, rows: Row[], dicts: Dict[]) => Promise<Dict[]>;
  /** Event name prefix and id key; defaults derive from the table. Return null to emit nothing. */
  event?: (row: Row) => { name: string; key: string } | null;
  /** Extra list filters handled by the model (e.g. tasks' episode_id). */
  extraFilters?: Record<string, (q: AnySelect, value: string, c: AppContext) => AnySelect>;
  /** Default ordering of non-paginated lists (none by default, as Zou). */
  orderBy?: string;
  /** Relation id lists in the 201 answer of POST (default true). */
  relationsOnCreate?: boolean;
  /** Relation id lists in the 200 answer of PUT (default false). */
  relationsOnUpdate?: boolean;
  /** Relation id lists in the list answer without query string (default false). */
  relationsInPlainList?: boolean;
  /** Cap of non-paginated lists (api_event: 1000). */
  maxListRows?: number;
  /**
   * Tables the `read` and `present` hooks read besides the model's own and its relations' link
   * tables: by-id answers kept in ./answer-cache.ts are dropped when one of them is written. Unset
   * on a model with such hooks: any write drops them.
   */
  readDependsOn?: TableName[];
  /** A single read answers 404 (not 400) for a malformed id: Zou reads these rows through a service (comments). */
  readMalformedIdAsNotFound?: boolean;
}

const CONTROL_KEYS = new Set(["page", "limit", "relations", "fields"]);
const BASE_KEYS = ["id", "created_at", "updated_at"];
const DEFAULT_PAGE_SIZE = 100;

/** `record[key]` when the key is the record's own (never an Object.prototype member such as `constructor`). */
export function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

export function tableDef(model: CrudModel): TableDef {
  return TABLES[model.table];
}

const adminOnly = async (c: AppContext) => {
  checkAdmin(c);
};

/** 400 `{message}` without `error` key: Zou's answer when the model constructor rejects the body. */
function constructorError(message: string): ApiError {
  return new ApiError(400, { message });
}

export function defaultEvent(model: CrudModel): { name: string; key: string } {
  return { name: model.table.replace(/_/g, "-"), key: `${model.table}_id` };
}

async function emitCrudEvent(c: AppContext, model: CrudModel, row: Row, action: "new" | "update" | "delete"): Promise<void> {
  const event = model.event ? model.event(row) : defaultEvent(model);
  if (!event) return;
  const projectId = "project_id" in tableDef(model).columns ? (row.project_id ?? null) : null;
  await emitEvent(c.get("db"), c.get("events"), `${event.name}:${action}`, { [event.key]: row.id }, {
    projectId,
    userId: c.get("user")?.id ?? null,
  });
}

/**
 * Builds column values from a body. Create: a key that is neither a column, a relation nor an
 * extra key is a 400 (`'x' is an invalid keyword argument for Model`). Update: such keys are ignored.
 */
export function valuesFromBody(model: CrudModel, body: Dict, mode: "create" | "update"): { values: Row; relations: Dict } {
  const def = tableDef(model);
  const values: Row = {};
  const relations: Dict = {};
  const extra = new Set(model.extraKeys ?? []);
  for (const [key, value] of Object.entries(body)) {
    if (extra.has(key)) continue;
    if (PROTOTYPE_KEYS.has(key)) throw prototypeKeyError(key);
    const column = own(def.columns, key);
    if (column) {
      values[key] = toStoredValue(key, column, value);
    } else if (own(def.relations, key)) {
      relationIds(key, value);
      relations[key] = value;
    } else if (mode === "create") {
      throw constructorError(`'${key}' is an invalid keyword argument for ${def.className ?? model.table}`);
    }
  }
  return { values, relations };
}

function withDbErrors<T>(promise: Promise<T>): Promise<T> {
  return promise.catch((error) => {
    if (error instanceof ApiError) throw error;
    const apiError = databaseErrorToApiError(error);
    if (apiError) throw apiError;
    throw error;
  });
}

/** Loads a crud row by its path id: 400 for a malformed id, 404 when missing. */
export async function loadCrudRow(c: AppContext, model: CrudModel, rawId: string): Promise<Row> {
  const id = crudId(rawId);
  const row = await getRowById(c.get("db"), model.table, id);
  if (!row) throw notFound();
  return row;
}

function present(c: AppContext, model: CrudModel, row: Row, mode: Method, relations?: Record<string, string[]>): Dict | Promise<Dict> {
  const dict = serialize(model.table, row);
  if (relations) Object.assign(dict, relations);
  return model.present ? model.present(c, row, dict, mode) : dict;
}

/** Serializes rows (with relation lists when asked) in a few flat queries. */
async function presentRows(c: AppContext, model: CrudModel, rows: Row[], withRelations: boolean, fields: string[] | null): Promise<Dict[]> {
  const relations = withRelations ? await loadRelations(c.get("db"), model.table, rows.map((r) => r.id)) : undefined;
  let dicts: Dict[];
  if (model.presentList) {
    const serialized = rows.map((row) => {
      const dict = serialize(model.table, row);
      const rowRelations = relations?.get(row.id);
      return rowRelations ? Object.assign(dict, rowRelations) : dict;
    });
    dicts = await model.presentList(c, rows, serialized);
  } else if (model.present) {
    dicts = [];
    for (const row of rows) dicts.push(await present(c, model, row, "list", relations?.get(row.id)));
  } else {
    dicts = rows.map((row) => present(c, model, row, "list", relations?.get(row.id)) as Dict);
  }
  return fields ? dicts.map((dict) => pickFields(dict, fields)) : dicts;
}

function filterFormatError(key: string, raw: string): ApiError {
  return badRequest(`One of the value of the filter has not the proper format: ${key}=${raw}`);
}

/** Applies the list filters of the query string (http-conventions.md, "GET list with any query string"). */
function applyFilters(c: AppContext, model: CrudModel, query: AnySelect, params: Record<string, string>): AnySelect {
  const def = tableDef(model);
  const allowed = model.filterable?.(c) ?? null;
  const forbiddenColumns = new Set([...def.hidden, ...(model.unfilterable ?? [])]);
  let q = query;
  for (const [key, raw] of Object.entries(params)) {
    if (CONTROL_KEYS.has(key)) continue;
    const extraFilter = model.extraFilters && own(model.extraFilters, key);
    if (extraFilter) {
      q = extraFilter(q, raw, c);
      continue;
    }
    const column = own(def.columns, key);
    const relation = own(def.relations, key);
    if (!column && !relation) continue;
    if (forbiddenColumns.has(key) || (allowed && !allowed.has(key))) {
      throw badRequest(`Filtering on ${key} is not allowed.`);
    }
    const ref = `${model.table}.${key}`;
    if (relation) {
      if (!isUuid(raw)) throw WRONG_ID_FORMAT();
      q = q.where(`${model.table}.id` as any, "in", (eb: any) =>
        eb.selectFrom(relation.via).select(relation.sourceColumn).where(relation.targetColumn, "=", normalizeId(raw)),
      );
    } else if (key === "name") {
      q = q.where(sql<boolean>`lower(${sql.ref(ref)}) like lower(${raw})`);
    } else if (raw.startsWith("[")) {
      let list: unknown;
      try {
        list = JSON.parse(raw);
      } catch {
        throw filterFormatError(key, raw);
      }
      if (!Array.isArray(list)) throw filterFormatError(key, raw);
      const values = list.filter((item) => item !== null).map((item) => toFilterValue(key, column!, String(item)));
      const withNull = list.some((item) => item === null);
      if (values.length === 0 && !withNull) q = q.where(sql<boolean>`1 = 0`);
      else if (!withNull) q = q.where(ref as any, "in", values);
      else q = q.where((eb: any) => (values.length ? eb.or([eb(ref, "in", values), eb(ref, "is", null)]) : eb(ref, "is", null)));
    } else {
      q = q.where(ref as any, "=", toFilterValue(key, column!, raw));
    }
  }
  return q;
}

/** `page` of a list query: -1 (no paging) when absent; 400 when not an integer. */
function pageParam(raw: string | undefined): number {
  if (raw === undefined) return -1;
  if (!/^-?\d+$/.test(raw.trim())) throw badRequest(`page must be an integer: page=${raw}`);
  return Number.parseInt(raw, 10);
}

/** `listRows` kept by the answer cache while no write concerns what it read. */
function keptListRows(c: AppContext, model: CrudModel, listReads: (c: AppContext) => Promise<AnswerReads | null>): Promise<Response> {
  return cachedResponse(c, async () => {
    const mark = markWrites(c);
    const response = await listRows(c, model);
    const reads = await listReads(c);
    if (reads) declareAnswerReads(c, mark, reads);
    return response;
  });
}

export async function listRows(c: AppContext, model: CrudModel): Promise<Response> {
  const scope = await (model.list ?? adminOnly)(c);
  const db = c.get("db");
  const params = c.req.query();
  let query: AnySelect = db.selectFrom(model.table).selectAll(model.table as any);
  if (scope) query = scope(query);
  const plain = (q: AnySelect) => {
    let limited = model.orderBy ? q.orderBy(model.orderBy as any) : q;
    if (model.maxListRows) limited = limited.limit(model.maxListRows);
    return limited;
  };
  if (Object.keys(params).length === 0) {
    const rows = (await plain(query).execute()) as Row[];
    return c.json(await presentRows(c, model, rows, Boolean(model.relationsInPlainList), null));
  }
  query = applyFilters(c, model, query, params);
  const withRelations = (params.relations ?? "").toLowerCase() === "true";
  const fields = params.fields !== undefined ? params.fields.split(",").map((f) => f.trim()).filter(Boolean) : null;
  const page = pageParam(params.page);
  if (page <= -1) {
    return c.json(await presentRows(c, model, (await plain(query).execute()) as Row[], withRelations, fields));
  }
  const limitParam = params.limit !== undefined && /^\d+$/.test(params.limit.trim()) ? Number.parseInt(params.limit, 10) : 0;
  const limit = Math.min(limitParam > 0 ? limitParam : DEFAULT_PAGE_SIZE, model.maxListRows ?? Infinity);
  const countRow = (await db
    .selectFrom(query.as("filtered") as any)
    .select(sql<number>`count(*)`.as("total"))
    .executeTakeFirst()) as { total: number | string } | undefined;
  const total = Number(countRow?.total ?? 0);
  const offset = (page - 1) * limit;
  let rows: Row[] = [];
  if (page >= 1 && offset < total) {
    const def = tableDef(model);
    let ordered = query;
    if (def.columns.updated_at) ordered = ordered.orderBy(`${model.table}.updated_at` as any, descNullsFirst);
    if (def.columns.created_at) ordered = ordered.orderBy(`${model.table}.created_at` as any, descNullsFirst);
    rows = (await ordered.orderBy(`${model.table}.id` as any).limit(limit).offset(offset).execute()) as Row[];
  }
  return c.json({
    data: await presentRows(c, model, rows, withRelations, fields),
    total,
    nb_pages: Math.ceil(total / limit),
    limit,
    offset,
    page,
  });
}

const RELATION_TARGET = "__relation_target";

/**
 * A row and the ids of its only many-to-many relation in one statement (a LEFT JOIN on the link
 * table): undefined when the row does not exist.
 */
async function rowWithSingleRelation(db: Db, table: TableName, name: string, id: string): Promise<{ row: Row; ids: string[] } | undefined> {
  const relation = TABLES[table].relations[name]!;
  const build = () =>
    db
      .selectFrom(table)
      .leftJoin(`${relation.via} as link` as any, `link.${relation.sourceColumn}` as any, `${table}.id` as any)
      .selectAll(table as any)
      .select(`link.${relation.targetColumn} as ${RELATION_TARGET}` as any)
      .where(`${table}.id` as any, "=", id)
      .compile() as CompiledQuery;
  const rows = await runCompiled(db, `row+relation:${table}.${name}`, build, [id]);
  if (rows.length === 0) return undefined;
  const ids: string[] = [];
  for (const linked of rows) if (linked[RELATION_TARGET] !== null && linked[RELATION_TARGET] !== undefined) ids.push(linked[RELATION_TARGET]);
  const { [RELATION_TARGET]: _target, ...row } = rows[0]!;
  return { row, ids: [...new Set(ids)] };
}

function readId(model: CrudModel, rawId: string): string {
  return model.readMalformedIdAsNotFound ? serviceId(rawId) : crudId(rawId);
}

/**
 * Tables a by-id answer of `model` is built from (see ./answer-cache.ts): its own, its relations'
 * link tables and what its hooks declare; null (any write) for hooks that declare nothing.
 */
const readDependencies = new WeakMap<CrudModel, readonly string[] | null>();
function readDependenciesOf(model: CrudModel): readonly string[] | null {
  let tables = readDependencies.get(model);
  if (tables === undefined) {
    const hooked = model.read !== undefined || model.present !== undefined;
    const links = Object.values(tableDef(model).relations).map((relation) => relation.via);
    tables = hooked && !model.readDependsOn ? null : [...new Set([model.table, ...links, ...(model.readDependsOn ?? [])])];
    readDependencies.set(model, tables);
  }
  return tables;
}

/** The query string of the request's URL, with its `?` (empty when none). */
function queryString(url: string): string {
  const start = url.indexOf("?");
  return start === -1 ? "" : url.slice(start);
}

/** `GET /data/<plural>/<id>`: the kept answer while its rows are unchanged, else built and kept. */
export async function readRow(c: AppContext, model: CrudModel, rawId: string): Promise<Response> {
  const db = c.get("db");
  const key = byIdAnswerKey(model.route, rawId, queryString(c.req.url), c.get("user"), c.get("identityType"));
  const version = answerVersion(db, readDependenciesOf(model));
  const kept = cachedAnswer(db, key, version);
  if (kept !== undefined) return c.body(kept, 200, JSON_CONTENT);
  const text = JSON.stringify(await buildReadAnswer(c, model, rawId));
  // Kept only when nothing it depends on moved while it was built.
  if (answerVersion(db, readDependenciesOf(model)) === version) keepAnswer(db, key, version, text);
  return c.body(text, 200, JSON_CONTENT);
}

const JSON_CONTENT = { "Content-Type": "application/json" };

async function buildReadAnswer(c: AppContext, model: CrudModel, rawId: string): Promise<Dict> {
  const relationsParam = c.req.query("relations");
  const withRelations = relationsParam === undefined ? true : relationsParam.toLowerCase() === "true";
  const def = tableDef(model);
  const relationNames = withRelations ? def.relationKeys.filter((key) => def.relations[key]) : [];
  let row: Row;
  let relations: Record<string, string[]> | undefined;
  if (relationNames.length === 1 && def.relations[relationNames[0]!]!.via !== model.table) {
    // The common case (persons, tasks, asset types...): row and relation ids in one query.
    const found = await rowWithSingleRelation(c.get("db"), model.table, relationNames[0]!, readId(model, rawId));
    if (!found) throw notFound();
    row = found.row;
    relations = { [relationNames[0]!]: found.ids };
    await (model.read ?? adminOnly)(c, row);
  } else {
    row = await loadCrudRow(c, model, model.readMalformedIdAsNotFound ? serviceId(rawId) : rawId);
    await (model.read ?? adminOnly)(c, row);
    if (relationNames.length > 0) relations = (await loadRelations(c.get("db"), model.table, [row.id])).get(row.id);
  }
  return present(c, model, row, "read", relations);
}

/** Inserts a row through the model's rules; returns the stored row. Used by POST and by services. */
export async function createRow(c: AppContext, model: CrudModel, body: Dict): Promise<Row> {
  const def = tableDef(model);
  return transact(c, async (db) => {
    let input: Dict = { ...body };
    if (!model.keepIdOnCreate) for (const key of BASE_KEYS) delete input[key];
    if (model.prepareBody) input = await model.prepareBody(c, input, "create");
    const { values, relations } = valuesFromBody(model, input, "create");
    const now = utcNow();
    if (def.columns.id && !values.id) values.id = newId();
    if (def.columns.created_at && !values.created_at) values.created_at = now;
    if (def.columns.updated_at && !values.updated_at) values.updated_at = now;
    const config = c.get("config");
    for (const [name, column] of Object.entries(def.columns)) {
      if (values[name] === undefined && column.defaultFromConfig) {
        values[name] = column.defaultFromConfig === "DEFAULT_LOCALE" ? config.defaultLocale : config.defaultTimezone;
      }
    }
    if (model.beforeCreate) await model.beforeCreate(c, values, input);
    const row = (await withDbErrors(db.insertInto(model.table).values(values as any).returningAll().executeTakeFirstOrThrow())) as Row;
    for (const [name, ids] of Object.entries(relations)) await withDbErrors(setRelation(db, model.table, name, row.id, ids));
    if (model.afterCreate) await model.afterCreate(c, row, input);
    await emitCrudEvent(c, model, row, "new");
    return row;
  });
}

/** Updates a row through the model's rules; returns the stored row. */
export async function updateRow(c: AppContext, model: CrudModel, row: Row, body: Dict): Promise<Row> {
  const def = tableDef(model);
  return transact(c, async (db) => {
    let input: Dict = { ...body };
    for (const key of [...BASE_KEYS, ...(model.protectedOnUpdate ?? [])]) delete input[key];
    if ("project_id" in def.columns && model.table !== "project") delete input.project_id;
    if (model.prepareBody) input = await model.prepareBody(c, input, "update", row);
    const { values, relations } = valuesFromBody(model, input, "update");
    if (model.beforeUpdate) await model.beforeUpdate(c, row, values, input);
    if (def.columns.updated_at) values.updated_at = utcNow();
    let updated = row;
    if (Object.keys(values).length > 0) {
      updated = (await withDbErrors(
        db.updateTable(model.table).set(values as any).where("id" as any, "=", row.id).returningAll().executeTakeFirstOrThrow(),
      )) as Row;
    }
    for (const [name, ids] of Object.entries(relations)) await withDbErrors(setRelation(db, model.table, name, row.id, ids));
    if (model.afterUpdate) await model.afterUpdate(c, updated, row, input);
    await emitCrudEvent(c, model, updated, "update");
    return updated;
  });
}

/** Deletes a row through the model's rules (links of its many-to-many relations go with it). */
export async function deleteRow(c: AppContext, model: CrudModel, row: Row): Promise<void> {
  await transact(c, async (db) => {
    if (model.customDelete && (await model.customDelete(c, row))) return;
    if (model.beforeDelete) await model.beforeDelete(c, row);
    const def = tableDef(model);
    for (const relation of Object.values(def.relations)) {
      await db.deleteFrom(relation.via as TableName).where(relation.sourceColumn as any, "=", row.id).execute();
    }
    await withDbErrors(db.deleteFrom(model.table).where("id" as any, "=", row.id).execute());
    await forgetStoredFiles(c, model.table, [row.id]);
    await emitCrudEvent(c, model, row, "delete");
    if (model.afterDelete) await model.afterDelete(c, row);
  });
}

/** The 201 answer of a create: the row with its relation id lists (unless the model says otherwise). */
export async function presentCreated(c: AppContext, model: CrudModel, row: Row): Promise<Dict> {
  const withRelations = model.relationsOnCreate !== false && tableDef(model).relationKeys.length > 0;
  const relations = withRelations ? (await loadRelations(c.get("db"), model.table, [row.id])).get(row.id) : undefined;
  return present(c, model, row, "create", relations);
}

/** The 200 answer of an update: the row without relations (unless the model says otherwise). */
export async function presentUpdated(c: AppContext, model: CrudModel, row: Row): Promise<Dict> {
  const withRelations = model.relationsOnUpdate === true && tableDef(model).relationKeys.length > 0;
  const relations = withRelations ? (await loadRelations(c.get("db"), model.table, [row.id])).get(row.id) : undefined;
  return present(c, model, row, "update", relations);
}

/** Registers the crud routes of every model on `app`. */
export function registerCrud(app: Hono<AppEnv>, models: CrudModel[]): void {
  for (const model of models) {
    const methods = new Set(model.methods ?? ["list", "create", "read", "update", "delete"]);
    const base = `/data/${model.route}`;
    if (methods.has("list")) app.get(base, model.listReads ? (c) => keptListRows(c, model, model.listReads!) : (c) => listRows(c, model));
    if (methods.has("create")) {
      app.post(base, async (c) => {
        const body = await readJsonObject(c);
        await (model.create ?? adminOnly)(c, body);
        const row = await createRow(c, model, body);
        return c.json(await presentCreated(c, model, row), 201);
      });
    }
    if (methods.has("read")) app.get(`${base}/:instance_id`, (c) => readRow(c, model, c.req.param("instance_id")));
    if (methods.has("update")) {
      app.put(`${base}/:instance_id`, async (c) => {
        const body = await readJsonObject(c);
        const row = await loadCrudRow(c, model, c.req.param("instance_id"));
        await (model.update ?? adminOnly)(c, row, body);
        const updated = await updateRow(c, model, row, body);
        return c.json(await presentUpdated(c, model, updated));
      });
    }
    if (methods.has("delete")) {
      app.delete(`${base}/:instance_id`, async (c) => {
        const row = await loadCrudRow(c, model, c.req.param("instance_id"));
        await (model.delete ?? adminOnly)(c, row);
        await deleteRow(c, model, row);
        return c.body(null, 204);
      });
    }
  }
}

export { forbidden };
