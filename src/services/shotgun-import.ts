/**
 * ShotGrid (Shotgun) imports (csv.md part C): one runner for every `POST /import/shotgun/<kind>`
 * route, driven by the importer definitions of `shotgun-importers.ts`, the remove routes and the
 * import error log.
 *
 * A request is one transaction: entries that miss a key Zou reads, or whose project/parent cannot
 * be resolved, are skipped as Zou does; a body that is not a list of objects, or a value of the
 * wrong type, is a 400 naming the entry, and nothing of the request is written.
 */
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import { serialize } from "../db/serialize";
import { TABLES, type TableName } from "../db/tables.generated";
import { transact } from "../db/transaction";
import { toStoredValue } from "../crud/values";
import { deleteAsCrudRoute } from "../crud/models";
import { ApiError, badRequest, databaseErrorToApiError, notFound } from "../lib/errors";
import { readJson } from "../lib/body";
import { newId, serviceId, utcNow } from "../lib/ids";
import { checkAdmin, checkManager, checkManagerProjectAccess } from "./permissions";
import { requestTypeIds, kindOfTypeId, type EntityRow } from "./entities";
import { removeEntity } from "./entity-writes";
import { removeCommentRow, removePreviewFile, removeTask, type TaskRow } from "./tasks";
import type { EntityKind } from "../lib/entity-kinds";

export type Row = Record<string, any>;
export type Entry = Record<string, unknown>;

/** An entry Zou would skip (a missing key, an unresolvable project or parent). */
export class SkipEntry extends Error {}
/** An entry whose values have the wrong type: the request is a 400. */
export class BadEntry extends Error {}

/** What an importer made of one entry: the stored row and how to present it. */
export interface Imported {
  table: TableName;
  row: Row;
  typeName?: string;
}

export interface ImportContext {
  c: AppContext;
  db: Db;
  userId: string;
  entries: Entry[];
}

/** One `POST /import/shotgun/<route>` importer. */
export interface ShotgunImporter<S = any> {
  /** Builds lookup maps once per request (projects by name, statuses...). */
  prepare?: (ctx: ImportContext) => Promise<S>;
  /** Entries Zou filters out before importing (tasks without step, notes without task...). */
  accept?: (ctx: ImportContext, entry: Entry, state: S) => boolean | Promise<boolean>;
  /** Upserts one entry; throws SkipEntry to skip it. */
  importEntry: (ctx: ImportContext, entry: Entry, state: S) => Promise<Imported>;
  /** Work after every entry (asset parents). */
  finish?: (ctx: ImportContext, state: S) => Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Reading entries

/** The value of a key Zou reads with `entry[key]`: a missing key skips the entry. */
export function required(entry: Entry, key: string): unknown {
  if (!(key in entry)) throw new SkipEntry(`missing key ${key}`);
  return entry[key];
}

export function asText(key: string, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  throw new BadEntry(`${key} must be a string`);
}

export function asInt(key: string, value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "number" && Number.isInteger(value)) return value;
  throw new BadEntry(`${key} must be an integer`);
}

export function asNumber(key: string, value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "number" && Number.isFinite(value)) return value;
  throw new BadEntry(`${key} must be a number`);
}

/** A link `{type, id, name}` (or null). */
export function asLink(key: string, value: unknown): Entry | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "object" && !Array.isArray(value)) return value as Entry;
  throw new BadEntry(`${key} must be an object`);
}

/** The Shotgun id of a link (null when the link is null). */
export function linkId(key: string, value: unknown): number | null {
  const link = asLink(key, value);
  return link ? asInt(`${key}.id`, link.id) : null;
}

export function asList(key: string, value: unknown): Entry[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) throw new BadEntry(`${key} must be a list`);
  return value.map((item, index) => asLink(`${key}[${index}]`, item) ?? {});
}

/** The entry's own Shotgun id (required, an integer). */
export function shotgunIdOf(entry: Entry): number {
  const id = asInt("id", required(entry, "id"));
  if (id === null) throw new SkipEntry("null id");
  return id;
}

/** `sg_*` fields with a value (custom fields), except `excluded`. */
export function customFields(entry: Entry, excluded: string[] = []): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entry)) {
    if (key.startsWith("sg_") && !excluded.includes(key) && value !== null && value !== undefined) data[key] = value;
  }
  return data;
}

/** "r,g,b" → "#rrggbb" (Zou's colors.rgb_to_hex). */
export function rgbToHex(value: unknown): string {
  const text = asText("color", value) ?? "0,0,0";
  const parts = text.split(",").map((part) => Number.parseInt(part.trim(), 10));
  if (parts.length !== 3 || parts.some((part) => !Number.isFinite(part) || part < 0 || part > 255)) {
    throw new BadEntry(`color must be "r,g,b", got "${text}"`);
  }
  return `#${parts.map((part) => part.toString(16).padStart(2, "0")).join("")}`;
}

// ---------------------------------------------------------------------------------------------
// Writing rows

/** Converts values to stored ones through the column definitions (types, lengths, JSON). */
function storedValues(table: TableName, values: Row): Row {
  const columns = TABLES[table].columns;
  const out: Row = {};
  for (const [key, value] of Object.entries(values)) {
    const column = columns[key];
    if (!column) continue;
    out[key] = toStoredValue(key, column, value);
  }
  return out;
}

/** Inserts (`existing` undefined) or updates a row; returns the stored row. */
export async function saveRow(db: Db, table: TableName, existing: Row | undefined, values: Row): Promise<Row> {
  const stored = storedValues(table, values);
  const def = TABLES[table];
  const now = utcNow();
  if (existing) {
    if (def.columns.updated_at) stored.updated_at = now;
    if (Object.keys(stored).length === 0) return existing;
    let query = db.updateTable(table).set(stored as any);
    for (const key of def.primaryKey) query = query.where(key as any, "=", existing[key]);
    return (await query.returningAll().executeTakeFirstOrThrow()) as Row;
  }
  if (def.columns.id && !stored.id) stored.id = newId();
  if (def.columns.created_at && !stored.created_at) stored.created_at = now;
  if (def.columns.updated_at && !stored.updated_at) stored.updated_at = now;
  return (await db.insertInto(table).values(stored as any).returningAll().executeTakeFirstOrThrow()) as Row;
}

/** The row of `table` with this Shotgun id (and entity type, for entities). */
export async function byShotgunId(db: Db, table: TableName, shotgunId: number | null, entityTypeId?: string): Promise<Row | undefined> {
  if (shotgunId === null) return undefined;
  let query = db.selectFrom(table).selectAll().where("shotgun_id" as any, "=", shotgunId);
  if (entityTypeId) query = query.where("entity_type_id" as any, "=", entityTypeId);
  return (await query.executeTakeFirst()) as Row | undefined;
}

/** Map of shotgun_id → id over a table (`where` narrows it). */
export async function shotgunIdMap(db: Db, table: TableName, entityTypeId?: string): Promise<Map<number, string>> {
  let query = db.selectFrom(table).select(["id", "shotgun_id"] as any).where("shotgun_id" as any, "is not", null);
  if (entityTypeId) query = query.where("entity_type_id" as any, "=", entityTypeId);
  const rows = (await query.execute()) as { id: string; shotgun_id: number }[];
  return new Map(rows.map((row) => [Number(row.shotgun_id), row.id]));
}

// ---------------------------------------------------------------------------------------------
// The import runner

function entryError(index: number, entry: Entry, error: Error): ApiError {
  const id = entry && typeof entry === "object" && "id" in entry ? ` (id ${String(entry.id)})` : "";
  return badRequest(`Entry ${index}${id}: ${error.message}.`);
}

/** Reads the JSON body of an import: a list of objects, else 400. */
export async function readEntryList(c: AppContext): Promise<Entry[]> {
  let body: unknown;
  try {
    body = await readJson(c);
  } catch {
    throw badRequest("A JSON list of entries is expected.");
  }
  if (!Array.isArray(body)) throw badRequest("A JSON list of entries is expected.");
  body.forEach((entry, index) => {
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) throw badRequest(`Entry ${index} is not an object.`);
  });
  return body as Entry[];
}

/** Runs one Shotgun import (admin only) in one transaction; returns the serialized records. */
export async function runShotgunImport(c: AppContext, importer: ShotgunImporter): Promise<Record<string, unknown>[]> {
  checkAdmin(c);
  const entries = await readEntryList(c);
  return transact(c, async (db) => {
    const ctx: ImportContext = { c, db, userId: c.get("user").id, entries };
    const state = importer.prepare ? await importer.prepare(ctx) : undefined;
    const results: Imported[] = [];
    for (const [index, entry] of entries.entries()) {
      try {
        if (importer.accept && !(await importer.accept(ctx, entry, state))) continue;
        results.push(await importer.importEntry(ctx, entry, state));
      } catch (error) {
        if (error instanceof SkipEntry) continue;
        if (error instanceof BadEntry) throw entryError(index, entry, error);
        const apiError = error instanceof ApiError ? error : databaseErrorToApiError(error);
        if (apiError && apiError.status === 400) {
          throw entryError(index, entry, new Error(String(apiError.body.message ?? apiError.message).replace(/\.$/, "")));
        }
        throw error;
      }
    }
    if (importer.finish) await importer.finish(ctx, state);
    return results.map((result) => serialize(result.table, result.row, result.typeName ? { typeName: result.typeName } : {}));
  });
}

// ---------------------------------------------------------------------------------------------
// Remove routes: POST /import/shotgun/remove/<kind> {"id": <shotgun id>}

interface Remover {
  table: TableName;
  /** Entity kind the row must have (entity routes). */
  kind?: EntityKind;
  /** Project whose managers may remove the row; null: admins only. */
  projectOf: (row: Row) => string | null;
  remove: (c: AppContext, row: Row) => Promise<void>;
}

/** Asset: canceled when one of its tasks has working files, else removed with its tasks (Zou). */
async function removeAsset(c: AppContext, row: Row): Promise<void> {
  const db = c.get("db");
  const withFiles = await db
    .selectFrom("working_file")
    .innerJoin("task", "task.id", "working_file.task_id")
    .select("working_file.id")
    .where("task.entity_id", "=", row.id)
    .executeTakeFirst();
  if (withFiles) {
    await removeEntity(c, row as EntityRow, { force: false });
    return;
  }
  await removeEntity(c, row as EntityRow, { force: true });
}

const entityRemover = (kind: EntityKind): Remover => ({
  table: "entity",
  kind,
  projectOf: (row) => row.project_id,
  remove: async (c, row) => {
    await removeEntity(c, row as EntityRow, { force: kind === "Shot" || kind === "Scene" });
  },
});

const projectConnectionRemover: Remover = {
  table: "project_person_link",
  projectOf: (row) => row.project_id,
  remove: async (c, row) => {
    await c.get("db").deleteFrom("project_person_link").where("project_id", "=", row.project_id).where("person_id", "=", row.person_id).execute();
  },
};

export const SHOTGUN_REMOVERS: Record<string, Remover> = {
  project: { table: "project", projectOf: (row) => row.id, remove: (c, row) => deleteAsCrudRoute(c, "project", row) },
  person: { table: "person", projectOf: () => null, remove: (c, row) => deleteAsCrudRoute(c, "person", row) },
  shot: entityRemover("Shot"),
  scene: entityRemover("Scene"),
  episode: entityRemover("Episode"),
  sequence: entityRemover("Sequence"),
  asset: { table: "entity", kind: "Asset", projectOf: (row) => row.project_id, remove: removeAsset },
  step: { table: "task_type", projectOf: () => null, remove: (c, row) => deleteAsCrudRoute(c, "task_type", row) },
  status: { table: "task_status", projectOf: () => null, remove: (c, row) => deleteAsCrudRoute(c, "task_status", row) },
  task: { table: "task", projectOf: (row) => row.project_id, remove: (c, row) => removeTask(c, row as TaskRow, true) },
  note: {
    table: "comment",
    projectOf: (row) => row.__project_id ?? null,
    remove: (c, row) => removeCommentRow(c, row as { id: string; object_id: string }, row.__project_id ?? null),
  },
  version: { table: "preview_file", projectOf: (row) => row.__project_id ?? null, remove: (c, row) => removePreviewFile(c, row.id) },
  "project-connection": projectConnectionRemover,
  projectconnection: projectConnectionRemover,
};

/** The project of a comment or preview file, through its task. */
async function attachTaskProject(db: Db, table: TableName, row: Row): Promise<Row> {
  const taskId = table === "comment" ? (row.object_type === "Task" ? row.object_id : null) : table === "preview_file" ? row.task_id : null;
  if (!taskId) return row;
  const task = await db.selectFrom("task").select("project_id").where("id", "=", taskId).executeTakeFirst();
  return { ...row, __project_id: task?.project_id ?? null };
}

/**
 * Removes the record matching a Shotgun id: manager of its project or admin (admins only for
 * records without project). Nothing matching is not an error. Database conflicts are a 400.
 */
export async function runShotgunRemove(c: AppContext, name: string): Promise<void> {
  const remover = SHOTGUN_REMOVERS[name];
  if (!remover) throw notFound();
  let body: unknown;
  try {
    body = await readJson(c);
  } catch {
    throw badRequest("A JSON object with the Shotgun id is expected: {\"id\": 12}.");
  }
  const id = body && typeof body === "object" && !Array.isArray(body) ? (body as Entry).id : undefined;
  if (typeof id !== "number" || !Number.isInteger(id)) throw badRequest("A JSON object with the Shotgun id is expected: {\"id\": 12}.");
  await transact(c, async (db) => {
    let row: Row | undefined;
    if (remover.kind) {
      const types = await requestTypeIds(c);
      const candidates = (await db.selectFrom("entity").selectAll().where("shotgun_id", "=", id).execute()) as Row[];
      row = candidates.find((candidate) => kindOfTypeId(types, candidate.entity_type_id) === remover.kind);
    } else {
      row = (await db.selectFrom(remover.table).selectAll().where("shotgun_id" as any, "=", id).executeTakeFirst()) as Row | undefined;
    }
    if (!row) {
      checkManager(c);
      return;
    }
    row = await attachTaskProject(db, remover.table, row);
    const projectId = remover.projectOf(row);
    if (projectId) await checkManagerProjectAccess(c, projectId);
    else checkAdmin(c);
    try {
      await remover.remove(c, row);
    } catch (error) {
      if (error instanceof ApiError) throw error;
      if (databaseErrorToApiError(error)) throw badRequest("This record is still referenced by other data and cannot be removed.");
      throw error;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Import error log (source = shotgun)

export async function listImportErrors(c: AppContext): Promise<Record<string, unknown>[]> {
  const rows = await c.get("db").selectFrom("data_import_error").selectAll().where("source", "=", "shotgun").orderBy("created_at").execute();
  return rows.map((row) => serialize("data_import_error", row as Row));
}

export async function addImportError(c: AppContext): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await readJson(c);
  } catch {
    throw badRequest("The error event must be JSON.");
  }
  if (body === null || body === undefined) throw badRequest("The error event must not be empty.");
  const row = await transact(c, (db) => saveRow(db, "data_import_error", undefined, { event_data: body, source: "shotgun" }));
  return serialize("data_import_error", row);
}

export async function deleteImportError(c: AppContext, rawId: string | undefined): Promise<void> {
  const id = serviceId(rawId);
  await transact(c, async (db) => {
    const row = await db.selectFrom("data_import_error").select("id").where("id", "=", id).executeTakeFirst();
    if (!row) throw notFound();
    await db.deleteFrom("data_import_error").where("id", "=", id).execute();
  });
}
