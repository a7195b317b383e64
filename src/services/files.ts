/**
 * Working files, output files and file-tree paths (spec: file-tree.md, models.md working_file /
 * output_file). The routes in src/routes/files.ts validate bodies and call these functions; the
 * pure path rendering lives in src/lib/file-tree.ts.
 */
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import type Busboy from "busboy";
import type { Selectable } from "kysely";
import { sql } from "kysely";
import type { AppContext } from "../context";
import type { Config } from "../config";
import type { Db } from "../db/database";
import { parseJson, serialize } from "../db/serialize";
import { TABLES, type AssetInstanceTable, type OutputFileTable, type WorkingFileTable } from "../db/tables.generated";
import { transact } from "../db/transaction";
import { chunks } from "../lib/chunks";
import { ApiError, badRequest, forbidden, notFound } from "../lib/errors";
import { emitEvent } from "../lib/events";
import {
  buildFileName,
  buildFolderPath,
  FileTreeError,
  getProjectTree,
  matchPathTemplates,
  type FileTree,
  type FileTreeAssetInstance,
  type FileTreeEntity,
  type FileTreeInput,
  type FileTreeRecord,
  type FileTreeTaskType,
} from "../lib/file-tree";
import { isUuid, newId, normalizeId, utcNow } from "../lib/ids";
import { ensureStagingFolder, loadBusboy, placeStoredFile, PRIVATE_FILE_MODE, stagingPath } from "../lib/uploads";
import { checkEntityAccess, checkProjectAccess, checkTaskAccess, checkTaskActionAccess, effectiveRole, isAdmin } from "./permissions";
import { isAssignedTo, type EntityRow, type TaskRow, type TaskTypeRow } from "./tasks";
import { descNullsFirst } from "../db/order";
import { entityTypeId } from "./projects";
import { workingFileContentPath } from "./stored-files";

export type { EntityRow, TaskRow, TaskTypeRow };
export type AssetInstanceRow = Selectable<AssetInstanceTable>;
export type WorkingFileRow = Selectable<WorkingFileTable>;
export type OutputFileRow = Selectable<OutputFileTable>;
type Dict = Record<string, unknown>;

/** Software used by the path routes when the body names none (Zou get-or-creates it). */
export const DEFAULT_PATH_SOFTWARE = { name: "3ds Max", short_name: "max", file_extension: ".max" };
/** Software of a new working file when the body names none. */
export const DEFAULT_WORKING_FILE_SOFTWARE = { name: "Blender", short_name: "blender", file_extension: ".blend" };
/** File status given to new output files (Zou's DEFAULT_FILE_STATUS), created when missing. */
export const DEFAULT_FILE_STATUS = { name: "To review", color: "#FFFFFF" };

// ---------------------------------------------------------------------------------------------
// Loading rows: a missing (or malformed) id is Zou's 404.
// ---------------------------------------------------------------------------------------------

type LoadableTable = "task" | "entity" | "asset_instance" | "output_type" | "task_type" | "software" | "working_file" | "output_file" | "project" | "person" | "file_status";

async function findById(db: Db, table: LoadableTable, id: unknown): Promise<Dict | undefined> {
  if (!isUuid(id)) return undefined;
  return (await db.selectFrom(table).selectAll().where("id", "=", normalizeId(id)).executeTakeFirst()) as Dict | undefined;
}

/** The row of `table` with that id, or a 404 (malformed ids included). */
export async function getOr404<T = Dict>(c: AppContext, table: LoadableTable, id: unknown): Promise<T> {
  const row = await findById(c.get("db"), table, id);
  if (!row) throw notFound();
  return row as T;
}

/** The row of `table` with that id, or `undefined` (malformed ids included). */
export async function findRow<T = Dict>(c: AppContext, table: LoadableTable, id: unknown): Promise<T | undefined> {
  return (await findById(c.get("db"), table, id)) as T | undefined;
}

// ---------------------------------------------------------------------------------------------
// Get-or-create defaults
// ---------------------------------------------------------------------------------------------

/** The row of `table` named `values.name`, created (with `<table>:new`) when missing. Call inside `transact`. */
async function getOrCreateByName(c: AppContext, table: "software" | "file_status", values: { name: string } & Dict): Promise<Dict> {
  const db = c.get("db");
  const found = await db.selectFrom(table).selectAll().where("name", "=", values.name).executeTakeFirst();
  if (found) return found as Dict;
  const now = utcNow();
  const row = await db
    .insertInto(table)
    .values({ id: newId(), created_at: now, updated_at: now, ...values } as never)
    .returningAll()
    .executeTakeFirstOrThrow();
  // Zou creates the default file status silently (no `file-status:new`).
  if (table === "software") await emitEvent(db, c.get("events"), "software:new", { software_id: row.id }, { userId: c.get("user").id });
  return row as Dict;
}

/** The software with that name, created (with `software:new`) when missing. Call inside `transact`. */
export function getOrCreateSoftware(c: AppContext, software: { name: string; short_name: string; file_extension: string }): Promise<Dict> {
  return getOrCreateByName(c, "software", software);
}

/** The default file status (`To review`), created (without event) when missing. Call inside `transact`. */
export function getOrCreateDefaultFileStatus(c: AppContext): Promise<Dict> {
  return getOrCreateByName(c, "file_status", DEFAULT_FILE_STATUS);
}

// ---------------------------------------------------------------------------------------------
// File tree inputs
// ---------------------------------------------------------------------------------------------

/**
 * An entity as the file-tree engine reads it: its entity type, and for shots/scenes/sequences the
 * parent chain (sequence, then episode).
 */
export async function treeEntity(c: AppContext, entity: EntityRow): Promise<FileTreeEntity> {
  const db = c.get("db");
  const chain: EntityRow[] = [entity];
  let current = entity;
  for (let depth = 0; depth < 2 && current.parent_id; depth++) {
    const parent = (await db.selectFrom("entity").selectAll().where("id", "=", current.parent_id).executeTakeFirst()) as EntityRow | undefined;
    if (!parent) break;
    chain.push(parent);
    current = parent;
  }
  const typeIds = [...new Set(chain.map((row) => row.entity_type_id))];
  const types = await db.selectFrom("entity_type").select(["id", "name", "short_name"]).where("id", "in", typeIds).execute();
  const typeById = new Map(types.map((type) => [type.id, type]));
  let node: FileTreeEntity | null = null;
  for (const row of chain.reverse()) {
    const type = typeById.get(row.entity_type_id);
    node = { ...row, entity_type: { id: row.entity_type_id, name: type?.name ?? "", short_name: type?.short_name ?? null }, parent: node };
  }
  return node as FileTreeEntity;
}

/** A task type with its department (`<Department>`). */
export async function treeTaskType(c: AppContext, taskType: TaskTypeRow | null | undefined): Promise<FileTreeTaskType | null> {
  if (!taskType) return null;
  const department = taskType.department_id
    ? ((await c.get("db").selectFrom("department").selectAll().where("id", "=", taskType.department_id).executeTakeFirst()) ?? null)
    : null;
  return { ...taskType, department: department as FileTreeRecord | null };
}

/** The project of an entity and its file tree (FileTreeError when the project has none). */
async function projectAndTree(c: AppContext, projectId: string): Promise<{ project: FileTreeRecord; tree: FileTree }> {
  const project = await getOr404<Dict>(c, "project", projectId);
  const tree = getProjectTree({ file_tree: parseJson(project.file_tree) });
  return { project: project as FileTreeRecord, tree };
}

function asTreeInstance(instance: AssetInstanceRow): FileTreeAssetInstance {
  return { ...instance, number: Number(instance.number ?? 0) };
}

/** Runs a rendering; a FileTreeError becomes a 400 with the body built by `toBody`. */
export async function renderOr400<T>(render: () => Promise<T>, toBody: (error: FileTreeError) => Dict): Promise<T> {
  try {
    return await render();
  } catch (error) {
    if (error instanceof FileTreeError) throw new ApiError(400, toBody(error));
    throw error;
  }
}

export interface PathResult {
  folder_path: string;
  file_name: string;
}

/** Working folder path and file name of a task (modes `working`, `preview`...). */
export async function workingFilePath(
  c: AppContext,
  task: TaskRow,
  options: { software: FileTreeRecord | null; name: string; revision: number; mode: string; sep: string },
): Promise<PathResult> {
  const entity = await getOr404<EntityRow>(c, "entity", task.entity_id);
  const { project, tree } = await projectAndTree(c, entity.project_id);
  const taskType = await treeTaskType(c, await findRow<TaskTypeRow>(c, "task_type", task.task_type_id));
  const input: FileTreeInput = {
    project,
    entity: await treeEntity(c, entity),
    task: { ...task, task_type: taskType },
    software: options.software,
    name: options.name,
    revision: options.revision,
  };
  return {
    folder_path: buildFolderPath(tree, input, { mode: options.mode, sep: options.sep }),
    file_name: buildFileName(tree, input, { mode: options.mode }),
  };
}

export interface OutputPathOptions {
  outputType: FileTreeRecord;
  taskType: TaskTypeRow;
  name: string;
  mode: string;
  sep: string;
  representation: string;
  /** Revision given to the folder template. */
  folderRevision: number;
  /** Revision given to the file name template. */
  revision: number;
  nbElements?: number;
}

/**
 * Output folder path and file name for `entity` (with `instance`: an asset instance's output seen
 * from `entity`, a temporal entity).
 */
async function outputPath(
  c: AppContext,
  entity: EntityRow,
  instance: { instance: AssetInstanceRow; asset: EntityRow } | null,
  options: OutputPathOptions,
): Promise<PathResult> {
  const { project, tree } = await projectAndTree(c, entity.project_id);
  const input: FileTreeInput = {
    project,
    entity: await treeEntity(c, entity),
    ...(instance ? { asset: await treeEntity(c, instance.asset), asset_instance: asTreeInstance(instance.instance) } : {}),
    task_type: await treeTaskType(c, options.taskType),
    output_type: options.outputType,
    name: options.name,
    representation: options.representation,
  };
  return {
    folder_path: buildFolderPath(tree, { ...input, revision: options.folderRevision }, { mode: options.mode, sep: options.sep }),
    file_name: buildFileName(tree, { ...input, revision: options.revision }, { mode: options.mode, nb_elements: options.nbElements }),
  };
}

/** Output folder path and file name of an entity's output. */
export function entityOutputPath(c: AppContext, entity: EntityRow, options: OutputPathOptions): Promise<PathResult> {
  return outputPath(c, entity, null, options);
}

/** Output folder path and file name of an asset instance's output seen from a temporal entity. */
export function instanceOutputPath(
  c: AppContext,
  instance: AssetInstanceRow,
  asset: EntityRow,
  temporalEntity: EntityRow,
  options: OutputPathOptions,
): Promise<PathResult> {
  return outputPath(c, temporalEntity, { instance, asset }, options);
}

// ---------------------------------------------------------------------------------------------
// Revisions
// ---------------------------------------------------------------------------------------------

/** Highest working file revision of the task for that name, plus one (1 when none). */
export async function nextWorkingRevision(c: AppContext, taskId: string, name: string): Promise<number> {
  const row = await c
    .get("db")
    .selectFrom("working_file")
    .select((eb) => eb.fn.max("revision").as("revision"))
    .where("task_id", "=", taskId)
    .where("name", "=", name)
    .executeTakeFirst();
  return Number(row?.revision ?? 0) + 1;
}

export interface OutputKey {
  entityId: string;
  outputTypeId: string;
  taskTypeId: string;
  name: string;
  /** With an instance, revisions are counted for the instance and temporal entity instead of the entity. */
  assetInstanceId?: string | null;
  temporalEntityId?: string | null;
}

/** Highest positive output revision for the key, plus one (1 when none). */
export async function nextOutputRevision(c: AppContext, key: OutputKey): Promise<number> {
  let query = c
    .get("db")
    .selectFrom("output_file")
    .select((eb) => eb.fn.max("revision").as("revision"))
    .where("output_type_id", "=", key.outputTypeId)
    .where("task_type_id", "=", key.taskTypeId)
    .where("name", "=", key.name)
    .where("revision", ">", 0);
  if (key.assetInstanceId) {
    query = query.where("asset_instance_id", "=", key.assetInstanceId);
    query = key.temporalEntityId ? query.where("temporal_entity_id", "=", key.temporalEntityId) : query.where("temporal_entity_id", "is", null);
  } else {
    query = query.where("entity_id", "=", key.entityId);
  }
  const row = await query.executeTakeFirst();
  return Number(row?.revision ?? 0) + 1;
}

// ---------------------------------------------------------------------------------------------
// Creation
// ---------------------------------------------------------------------------------------------

/** Assigns the task to the person when not already (events `task:assign`, `task:update`). */
export async function assignTaskIfNeeded(c: AppContext, task: TaskRow, personId: string): Promise<void> {
  const db = c.get("db");
  if (await isAssignedTo(db, task.id, personId)) return;
  await db.insertInto("task_person_link").values({ task_id: task.id, person_id: personId } as never).execute();
  const options = { projectId: task.project_id, userId: c.get("user").id };
  await emitEvent(db, c.get("events"), "task:assign", { task_id: task.id, person_id: personId }, options);
  await emitEvent(db, c.get("events"), "task:update", { task_id: task.id }, options);
}

/** Inserts a working file (event `working-file:new`). Duplicate (task, name, revision) → null. Call inside `transact`. */
export async function insertWorkingFile(
  c: AppContext,
  task: TaskRow,
  values: { name: string; revision: number; path: string; comment: string; description: string | null; person_id: string; software_id: string },
): Promise<WorkingFileRow | null> {
  const db = c.get("db");
  const existing = await db
    .selectFrom("working_file")
    .select("id")
    .where("task_id", "=", task.id)
    .where("name", "=", values.name)
    .where("revision", "=", values.revision)
    .executeTakeFirst();
  if (existing) return null;
  const now = utcNow();
  const row = (await db
    .insertInto("working_file")
    .values({ id: newId(), created_at: now, updated_at: now, task_id: task.id, entity_id: task.entity_id, ...values })
    .returningAll()
    .executeTakeFirstOrThrow()) as WorkingFileRow;
  await emitEvent(db, c.get("events"), "working-file:new", { working_file_id: row.id }, { projectId: task.project_id, userId: c.get("user").id });
  return row;
}

export interface NewOutputValues {
  name: string;
  revision: number;
  entity_id: string;
  asset_instance_id: string | null;
  temporal_entity_id: string | null;
  output_type_id: string;
  task_type_id: string;
  person_id: string;
  source_file_id: string | null;
  file_status_id: string;
  comment: string;
  representation: string;
  extension: string;
  nb_elements: number;
}

/** Inserts an output file (event `output-file:new` with the entity's project). Duplicate → null. Call inside `transact`. */
export async function insertOutputFile(c: AppContext, projectId: string, values: NewOutputValues): Promise<OutputFileRow | null> {
  const db = c.get("db");
  const eq = <K extends keyof NewOutputValues>(q: any, column: K) =>
    values[column] === null ? q.where(column, "is", null) : q.where(column, "=", values[column]);
  let duplicate: any = db.selectFrom("output_file").select("id");
  for (const column of ["name", "entity_id", "asset_instance_id", "output_type_id", "task_type_id", "temporal_entity_id", "representation", "revision"] as const) {
    duplicate = eq(duplicate, column);
  }
  if (await duplicate.executeTakeFirst()) return null;
  const now = utcNow();
  const row = (await db
    .insertInto("output_file")
    .values({ id: newId(), created_at: now, updated_at: now, ...values })
    .returningAll()
    .executeTakeFirstOrThrow()) as OutputFileRow;
  await emitEvent(db, c.get("events"), "output-file:new", { output_file_id: row.id }, { projectId, userId: c.get("user").id });
  return row;
}

/** Sets the stored path of an output file; returns the updated row. */
export async function setOutputFilePath(c: AppContext, id: string, path: string): Promise<OutputFileRow> {
  return (await c
    .get("db")
    .updateTable("output_file")
    .set({ path, updated_at: utcNow() })
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirstOrThrow()) as OutputFileRow;
}

/**
 * Updates a working file through its actions (comment, modified). As Zou, no event: only the
 * crud update of a working file emits `working-file:update`.
 */
export async function updateWorkingFile(c: AppContext, workingFile: WorkingFileRow, values: { comment?: string }): Promise<WorkingFileRow> {
  return transact(c, async (db) => {
    return (await db
      .updateTable("working_file")
      .set({ ...values, updated_at: utcNow() })
      .where("id", "=", workingFile.id)
      .returningAll()
      .executeTakeFirstOrThrow()) as WorkingFileRow;
  });
}

// ---------------------------------------------------------------------------------------------
// Projects of files and permission checks
// ---------------------------------------------------------------------------------------------

/** Project of an entity (null when the entity is missing). */
export async function entityProjectId(c: AppContext, entityId: string | null | undefined): Promise<string | null> {
  if (!entityId) return null;
  const row = await c.get("db").selectFrom("entity").select("project_id").where("id", "=", entityId).executeTakeFirst();
  return row?.project_id ?? null;
}

/** Project of a working file: its task's, else its entity's. */
export async function workingFileProjectId(c: AppContext, workingFile: Pick<WorkingFileRow, "task_id" | "entity_id">): Promise<string | null> {
  if (workingFile.task_id) {
    const task = await c.get("db").selectFrom("task").select("project_id").where("id", "=", workingFile.task_id).executeTakeFirst();
    if (task?.project_id) return task.project_id;
  }
  return entityProjectId(c, workingFile.entity_id);
}

/** `check_task_access` on the working file's task (project member; vendors assigned). */
export async function checkWorkingFileAccess(c: AppContext, workingFile: WorkingFileRow): Promise<void> {
  const task = await findRow<TaskRow>(c, "task", workingFile.task_id);
  if (task?.project_id && task.entity_id) {
    await checkTaskAccess(c, { project_id: task.project_id, entity_id: task.entity_id });
    return;
  }
  const entity = await findRow<EntityRow>(c, "entity", workingFile.entity_id);
  if (!entity) throw notFound();
  await checkProjectAccess(c, entity.project_id);
  await checkEntityAccess(c, entity);
}

/** `check_task_action_access` on the working file's task. */
export async function checkWorkingFileActionAccess(c: AppContext, workingFile: WorkingFileRow): Promise<void> {
  const task = await findRow<TaskRow>(c, "task", workingFile.task_id);
  if (!task?.project_id || !task.entity_id || !task.task_type_id) throw notFound();
  await checkTaskActionAccess(c, { id: task.id, project_id: task.project_id, entity_id: task.entity_id, task_type_id: task.task_type_id });
}

/** Project access and entity access on the output file's entity. */
export async function checkOutputFileAccess(c: AppContext, outputFile: OutputFileRow): Promise<void> {
  const entity = await findRow<EntityRow>(c, "entity", outputFile.entity_id);
  if (!entity) {
    if (!isAdmin(c.get("user"))) throw forbidden();
    return;
  }
  await checkProjectAccess(c, entity.project_id);
  await checkEntityAccess(c, entity);
}

/** Manager of the output's project, or someone assigned to a task of its entity or temporal entity. */
export async function checkOutputFileUpdateAccess(c: AppContext, outputFile: OutputFileRow): Promise<void> {
  const user = c.get("user");
  if (isAdmin(user)) return;
  const projectId = await entityProjectId(c, outputFile.entity_id);
  await checkProjectAccess(c, projectId);
  if ((await effectiveRole(c, projectId)) === "manager") return;
  const entityIds = [outputFile.entity_id, outputFile.temporal_entity_id].filter((id): id is string => Boolean(id));
  const assigned = await c
    .get("db")
    .selectFrom("task")
    .innerJoin("task_person_link", "task_person_link.task_id", "task.id")
    .select("task.id")
    .where("task.entity_id", "in", entityIds)
    .where("task_person_link.person_id", "=", user.id)
    .executeTakeFirst();
  if (!assigned) throw forbidden();
}

// ---------------------------------------------------------------------------------------------
// Presentation
// ---------------------------------------------------------------------------------------------

async function chunked<T>(ids: string[], load: (chunk: string[]) => Promise<T[]>): Promise<T[]> {
  const out: T[] = [];
  for (const chunk of chunks(ids)) out.push(...(await load(chunk)));
  return out;
}

/** Working files as Zou serializes them; with `relations`, each gets `outputs` (ids of output files made from it). */
export async function presentWorkingFiles(c: AppContext, rows: Dict[], options: { relations?: boolean } = {}): Promise<Dict[]> {
  const dicts = rows.map((row) => serialize("working_file", row));
  if (!options.relations) return dicts;
  const ids = rows.map((row) => String(row.id));
  const outputs = await chunked(ids, (chunk) =>
    c.get("db").selectFrom("output_file").select(["id", "source_file_id"]).where("source_file_id", "in", chunk).execute(),
  );
  const bySource = new Map<string, string[]>();
  for (const output of outputs) {
    const list = bySource.get(output.source_file_id!) ?? [];
    list.push(output.id);
    bySource.set(output.source_file_id!, list);
  }
  for (const dict of dicts) dict.outputs = bySource.get(String(dict.id)) ?? [];
  return dicts;
}

/** Prefix of the working file columns joined on output file lists (`source_file__name`...). */
export const SOURCE_FILE_PREFIX = "source_file__";

/** Selections adding the source working file of each output file row (see `presentOutputFiles`). */
export function sourceFileSelections(alias = "source_file"): string[] {
  return Object.keys(TABLES.working_file.columns).map((column) => `${alias}.${column} as ${SOURCE_FILE_PREFIX}${column}`);
}

/**
 * Output files as Zou serializes them: every dict embeds its `source_file` (the working file it was
 * made from, or null). Rows carrying `source_file__*` columns are used as they are; the others are
 * completed with one query.
 */
export async function presentOutputFiles(c: AppContext, rows: Dict[]): Promise<Dict[]> {
  const missing = [
    ...new Set(rows.filter((row) => row.source_file_id && !(`${SOURCE_FILE_PREFIX}id` in row)).map((row) => String(row.source_file_id))),
  ];
  const loaded = await chunked(missing, (chunk) => c.get("db").selectFrom("working_file").selectAll().where("id", "in", chunk).execute());
  const sources = new Map<string, Dict>(loaded.map((row) => [row.id, serialize("working_file", row)]));
  return rows.map((row) => {
    const dict = serialize("output_file", row);
    let source: Dict | null = null;
    if (`${SOURCE_FILE_PREFIX}id` in row) {
      if (row[`${SOURCE_FILE_PREFIX}id`]) {
        const joined: Dict = {};
        for (const column of Object.keys(TABLES.working_file.columns)) joined[column] = row[`${SOURCE_FILE_PREFIX}${column}`];
        source = serialize("working_file", joined);
      }
    } else if (row.source_file_id) {
      source = sources.get(String(row.source_file_id)) ?? null;
    }
    dict.source_file = source;
    return dict;
  });
}

// ---------------------------------------------------------------------------------------------
// Output file queries
// ---------------------------------------------------------------------------------------------

/** Optional list filters of the output file routes (query string). */
export interface OutputFileFilters {
  output_type_id?: string;
  task_type_id?: string;
  representation?: string;
  file_status_id?: string;
  name?: string;
  temporal_entity_id?: string;
}

function applyOutputFilters(query: any, filters: OutputFileFilters): any {
  let q = query;
  for (const key of ["output_type_id", "task_type_id", "representation", "file_status_id", "name", "temporal_entity_id"] as const) {
    const value = filters[key];
    if (value) q = q.where(`output_file.${key}`, "=", value);
  }
  return q;
}

function outputFileQuery(c: AppContext): any {
  return c
    .get("db")
    .selectFrom("output_file")
    .leftJoin("working_file as source_file", "source_file.id", "output_file.source_file_id")
    .selectAll("output_file")
    .select(sourceFileSelections() as any);
}

/** Output files of an entity itself (no instance outputs), filtered, highest revision first. */
export async function entityOutputFiles(c: AppContext, entityId: string, filters: OutputFileFilters): Promise<Dict[]> {
  const query = applyOutputFilters(outputFileQuery(c), filters)
    .where("output_file.entity_id", "=", entityId)
    .where("output_file.asset_instance_id", "is", null)
    .where("output_file.temporal_entity_id", "is", null)
    .where("output_file.revision", ">=", 0)
    .orderBy("output_file.revision", "desc");
  return presentOutputFiles(c, await query.execute());
}

/** Output files of an asset instance (optionally for one temporal entity), filtered, highest revision first. */
export async function instanceOutputFiles(c: AppContext, assetInstanceId: string, filters: OutputFileFilters): Promise<Dict[]> {
  const query = applyOutputFilters(outputFileQuery(c), filters)
    .where("output_file.asset_instance_id", "=", assetInstanceId)
    .where("output_file.revision", ">=", 0)
    .orderBy("output_file.revision", "desc");
  return presentOutputFiles(c, await query.execute());
}

/** Output files of every entity of a project (not those of asset instances, as Zou), filtered, highest revision first. */
export async function projectOutputFiles(c: AppContext, projectId: string, filters: OutputFileFilters): Promise<Dict[]> {
  const query = applyOutputFilters(outputFileQuery(c), filters)
    .innerJoin("entity", "entity.id", "output_file.entity_id")
    .where("entity.project_id", "=", projectId)
    .where("output_file.asset_instance_id", "is", null)
    .where("output_file.revision", ">=", 0)
    .orderBy("output_file.revision", "desc");
  return presentOutputFiles(c, await query.execute());
}

/** Output files of an entity itself, or of an asset instance in a temporal entity. */
export type OutputScope = { entityId: string } | { assetInstanceId: string; temporalEntityId: string };

function whereOutputScope(query: any, scope: OutputScope, withoutInstances = true): any {
  if ("entityId" in scope) {
    const own = query.where("output_file.entity_id", "=", scope.entityId);
    return withoutInstances ? own.where("output_file.asset_instance_id", "is", null) : own;
  }
  return query.where("output_file.asset_instance_id", "=", scope.assetInstanceId).where("output_file.temporal_entity_id", "=", scope.temporalEntityId);
}

/** Output files of one output type: of the entity itself, or of an instance in a temporal entity. */
export async function outputFilesOfType(c: AppContext, scope: OutputScope, outputTypeId: string, representation: string | undefined): Promise<Dict[]> {
  let query = whereOutputScope(outputFileQuery(c).where("output_file.output_type_id", "=", outputTypeId), scope);
  if (representation !== undefined) query = query.where("output_file.representation", "=", representation);
  return presentOutputFiles(c, await query.orderBy("output_file.revision", "desc").execute());
}

/**
 * Last revision of each output "history" (task type, output type, name, representation, and file
 * status when filtered on it): of the entity itself, or of an instance in a temporal entity.
 */
export async function lastOutputFiles(c: AppContext, scope: OutputScope, filters: OutputFileFilters): Promise<Dict[]> {
  const query = whereOutputScope(applyOutputFilters(outputFileQuery(c), filters), scope);
  const rows = (await query.orderBy("output_file.revision", "desc").execute()) as Dict[];
  const last = new Map<string, Dict>();
  for (const row of rows) {
    const key = JSON.stringify([row.task_type_id, row.output_type_id, row.name, row.representation, filters.file_status_id ? row.file_status_id : null]);
    if (!last.has(key)) last.set(key, row);
  }
  return presentOutputFiles(c, [...last.values()]);
}

/** Output types used by the output files of an entity, or of an instance in a temporal entity, by name. */
export async function outputTypesOf(c: AppContext, scope: OutputScope): Promise<Dict[]> {
  const files = whereOutputScope(c.get("db").selectFrom("output_file").select("output_file.output_type_id"), scope, false);
  const types = await c
    .get("db")
    .selectFrom("output_type")
    .selectAll()
    .where("id", "in", files.where("output_file.output_type_id", "is not", null) as any)
    .orderBy("name")
    .execute();
  return types.map((row) => serialize("output_type", row));
}

// ---------------------------------------------------------------------------------------------
// Working file queries
// ---------------------------------------------------------------------------------------------

/** Working files of a task, highest revision first. */
export async function taskWorkingFiles(c: AppContext, taskId: string): Promise<Dict[]> {
  const rows = await c
    .get("db")
    .selectFrom("working_file")
    .selectAll()
    .where("task_id", "=", taskId)
    .where("revision", ">=", 0)
    .orderBy("revision", descNullsFirst)
    .execute();
  return presentWorkingFiles(c, rows);
}

/** Last revision of each working file name of a task: `{name: working file}`. */
export async function lastTaskWorkingFiles(c: AppContext, taskId: string): Promise<Record<string, Dict>> {
  const rows = await c.get("db").selectFrom("working_file").selectAll().where("task_id", "=", taskId).orderBy("revision", descNullsFirst).execute();
  const last = new Map<string, Dict>();
  for (const row of rows) if (!last.has(String(row.name))) last.set(String(row.name), row);
  const dicts = await presentWorkingFiles(c, [...last.values()]);
  return Object.fromEntries(dicts.map((dict) => [String(dict.name), dict]));
}

/** Working files of an entity (optionally of one task / name), highest revision first. */
export async function entityWorkingFiles(
  c: AppContext,
  entityId: string,
  filters: { taskId?: string; name?: string; relations?: boolean },
): Promise<Dict[]> {
  let query = c.get("db").selectFrom("working_file").selectAll().where("entity_id", "=", entityId).where("revision", ">=", 0);
  if (filters.taskId) query = query.where("task_id", "=", filters.taskId);
  if (filters.name) query = query.where("name", "=", filters.name);
  return presentWorkingFiles(c, await query.orderBy("revision", descNullsFirst).execute(), { relations: filters.relations });
}

// ---------------------------------------------------------------------------------------------
// Working file content (stored under the preview folder)
// ---------------------------------------------------------------------------------------------

export { workingFileContentPath };

/**
 * Streams the `field` part of a multipart request into the upload staging folder. Returns the
 * staged file with its size and CRC-32 (computed while it arrives), or null when the request has
 * no such part (nothing is left behind then). A malformed multipart body is a 400.
 */
export async function receiveMultipartFile(
  request: Request,
  field: string,
  stagingFolder: string,
): Promise<{ path: string; size: number; crc32: number } | null> {
  const contentType = request.headers.get("content-type") ?? "";
  if (!contentType.toLowerCase().startsWith("multipart/form-data") || !request.body) return null;
  const temporary = stagingPath(stagingFolder);
  const upload: { size: number; crc32: number; saving: Promise<void> | null } = { size: 0, crc32: 0, saving: null };
  const createParser = await loadBusboy();
  // Required here, not imported: node:zlib and node:stream are not loaded at start-up.
  const { crc32 } = require("node:zlib") as typeof import("node:zlib");
  const { Readable } = require("node:stream") as typeof import("node:stream");
  const { pipeline } = require("node:stream/promises") as typeof import("node:stream/promises");
  try {
    await new Promise<void>((resolve, reject) => {
      let parser: Busboy.Busboy;
      try {
        parser = createParser({ headers: { "content-type": contentType } });
      } catch {
        reject(badRequest("Malformed multipart body."));
        return;
      }
      parser.on("file", (name, stream) => {
        if (name !== field || upload.saving) {
          stream.resume();
          return;
        }
        stream.on("data", (chunk: Buffer) => {
          upload.size += chunk.length;
          upload.crc32 = crc32(chunk, upload.crc32);
        });
        upload.saving = pipeline(stream, createWriteStream(temporary, { mode: PRIVATE_FILE_MODE }));
        upload.saving.catch(reject);
      });
      parser.on("error", () => reject(badRequest("Malformed multipart body.")));
      parser.on("close", resolve);
      const body = Readable.fromWeb(request.body as never);
      body.on("error", reject);
      body.pipe(parser);
    });
    if (!upload.saving) return null;
    await upload.saving;
    return { path: temporary, size: upload.size, crc32: upload.crc32 };
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * `POST /data/working-files/{id}/file`: streams the `file` part to the staging folder, moves it in
 * place, then records its `size` and `checksum` on the row. The checksum column is an integer in
 * Zou's schema: it holds the CRC-32 of the content (zlib's), as a signed 32-bit value so it fits
 * PostgreSQL's integer. Returns the updated row, or null when the request carries no `file` part.
 */
export async function storeWorkingFileContent(c: AppContext, workingFile: WorkingFileRow): Promise<WorkingFileRow | null> {
  const config = c.get("config");
  const staged = await receiveMultipartFile(c.req.raw, "file", await ensureStagingFolder(config));
  if (!staged) return null;
  await placeStoredFile(c.get("db"), staged.path, workingFileContentPath(config, workingFile.id));
  return (await c
    .get("db")
    .updateTable("working_file")
    .set({ size: staged.size, checksum: staged.crc32 | 0, updated_at: utcNow() })
    .where("id", "=", workingFile.id)
    .returningAll()
    .executeTakeFirstOrThrow()) as WorkingFileRow;
}

// ---------------------------------------------------------------------------------------------
// Guess from path
// ---------------------------------------------------------------------------------------------

type Guess = Record<string, string>;

function lowerNameIs(column: string, value: string) {
  return sql<boolean>`lower(${sql.ref(column)}) = ${value.toLowerCase()}`;
}

/** Id (or value) of one token read from a path, narrowed by the tokens resolved before it; null stops. */
async function resolvePathToken(c: AppContext, projectId: string, token: string, value: string, found: Guess): Promise<string | null> {
  const db = c.get("db");
  const byName = async (table: "entity_type" | "task_type" | "department" | "output_type" | "project") =>
    (await db.selectFrom(table).select("id").where(lowerNameIs(`${table}.name`, value)).orderBy("id").executeTakeFirst())?.id ?? null;
  const entity = async (typeId: string | null, parentId?: string) => {
    if (!found.Project || !typeId) return null;
    let query = db.selectFrom("entity").select("id").where("project_id", "=", found.Project).where("entity_type_id", "=", typeId).where(lowerNameIs("entity.name", value));
    if (parentId) query = query.where("parent_id", "=", parentId);
    return (await query.orderBy("id").executeTakeFirst())?.id ?? null;
  };
  switch (token) {
    case "Project": {
      const id = await byName("project");
      return id === projectId ? id : null;
    }
    case "AssetType":
    case "TemporalEntityType":
      return byName("entity_type");
    case "TaskType":
      return byName("task_type");
    case "Department":
      return byName("department");
    case "OutputType":
      return byName("output_type");
    case "Asset":
      return found.AssetType ? entity(found.AssetType) : null;
    case "TemporalEntity":
      return found.TemporalEntityType ? entity(found.TemporalEntityType) : null;
    case "Episode":
      return entity(await entityTypeId(c.get("db"), "Episode"));
    case "Sequence":
      return entity(await entityTypeId(c.get("db"), "Sequence"), found.Episode);
    case "Scene":
      return entity(await entityTypeId(c.get("db"), "Scene"), found.Sequence);
    case "Shot":
      return found.Sequence ? entity(await entityTypeId(c.get("db"), "Shot"), found.Sequence) : null;
    case "Task": {
      const entityId = found.Scene ?? found.Asset ?? found.Shot;
      if (!found.Project || !found.TaskType || !entityId) return null;
      const row = await db
        .selectFrom("task")
        .select("id")
        .where("project_id", "=", found.Project)
        .where("task_type_id", "=", found.TaskType)
        .where("entity_id", "=", entityId)
        .where(lowerNameIs("task.name", value))
        .orderBy("id")
        .executeTakeFirst();
      return row?.id ?? null;
    }
    case "Instance": {
      if (!found.Episode) return null;
      const row = await db
        .selectFrom("asset_instance")
        .select("id")
        .where("entity_id", "=", found.Episode)
        .where(lowerNameIs("asset_instance.name", value))
        .orderBy("id")
        .executeTakeFirst();
      return row?.id ?? null;
    }
    case "Name":
    case "Representation":
      return value;
    case "Version":
      return /^\s*[+-]?\d+\s*$/.test(value) ? String(Number.parseInt(value, 10)) : null;
    default:
      return null;
  }
}

/**
 * `POST /data/entities/guess-from-path`: every folder template of the project's tree that fits the
 * path, with the ids its tokens resolve to (left to right, stopping at the first token that resolves
 * to nothing): `[{"Template": "asset", "Project": id, "AssetType": id, ...}]`, de-duplicated.
 */
export async function guessFromPath(c: AppContext, project: { id: string; file_tree: unknown }, filePath: string, sep: string): Promise<Guess[]> {
  const tree = getProjectTree({ file_tree: parseJson(project.file_tree) });
  const guesses: Guess[] = [];
  const seen = new Set<string>();
  for (const match of matchPathTemplates(tree, filePath, sep)) {
    const guess: Guess = { Template: match.template };
    for (const token of match.tokens) {
      const value = await resolvePathToken(c, project.id, token.name, token.value, guess);
      if (!value) break;
      guess[token.name] = value;
    }
    const key = JSON.stringify(Object.entries(guess).sort());
    if (!seen.has(key)) {
      seen.add(key);
      guesses.push(guess);
    }
  }
  return guesses;
}
