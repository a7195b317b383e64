/**
 * Routes of the `files` area of routes.tsv: file-tree paths, working files (revisions, content,
 * comment, modified), output files (entities and asset instances), guess-from-path, set-file-tree.
 * Spec: file-tree.md §5.
 */
import type { Hono } from "hono";
import * as v from "valibot";
import type { AppContext, AppEnv } from "../context";
import { transact } from "../db/transaction";
import { readLooseBody, validate } from "../lib/body";
import { ApiError, badRequest } from "../lib/errors";
import { setProjectFileTree } from "../services/projects";
import { sendStoredFile } from "../lib/file-response";
import { getBuiltinTree, type FileTreeError } from "../lib/file-tree";
import { normalizeId, queryId } from "../lib/ids";
import {
  checkWorkingFileAccess,
  checkWorkingFileActionAccess,
  DEFAULT_PATH_SOFTWARE,
  DEFAULT_WORKING_FILE_SOFTWARE,
  entityOutputFiles,
  entityOutputPath,
  entityWorkingFiles,
  findRow,
  getOr404,
  getOrCreateDefaultFileStatus,
  getOrCreateSoftware,
  guessFromPath,
  insertOutputFile,
  insertWorkingFile,
  instanceOutputFiles,
  instanceOutputPath,
  lastOutputFiles,
  lastTaskWorkingFiles,
  nextOutputRevision,
  nextWorkingRevision,
  outputFilesOfType,
  outputTypesOf,
  presentOutputFiles,
  presentWorkingFiles,
  projectOutputFiles,
  storeWorkingFileContent,
  renderOr400,
  setOutputFilePath,
  taskWorkingFiles,
  updateWorkingFile,
  workingFileContentPath,
  workingFilePath,
  assignTaskIfNeeded,
  type AssetInstanceRow,
  type EntityRow,
  type OutputFileFilters,
  type OutputFileRow,
  type TaskRow,
  type TaskTypeRow,
  type WorkingFileRow,
} from "../services/files";
import { checkEntityAccess, checkManagerProjectAccess, checkProjectAccess, checkTaskAccess } from "../services/permissions";

type Dict = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Body schemas (bodies may be JSON, form or query values: numbers may come as strings)
// ---------------------------------------------------------------------------------------------

/** A text value; missing → `fallback`; a number, a list or `null` is a 400 (names, modes, separators). */
const text = (fallback: string) => v.optional(v.string("must be a string"), fallback);

/** A free text (comment, description): missing or null → `fallback`. */
const freeText = (fallback: string) =>
  v.optional(v.pipe(v.nullable(v.string("must be a string")), v.transform((value) => value ?? fallback)), fallback);

/** A non-negative integer (or integer text, from forms and gazu); missing or null → `fallback`. */
const integer = (fallback: number) =>
  v.optional(
    v.pipe(
      v.nullable(v.union([v.pipe(v.number(), v.integer()), v.pipe(v.string(), v.trim(), v.regex(/^[+]?\d+$/))], "must be a non-negative integer")),
      v.transform((value) => (value === null ? fallback : Number(value))),
      v.minValue(0, "must be a non-negative integer"),
      v.maxValue(2_147_483_647, "is too large"),
    ),
    fallback,
  );

const required = (field: string) => v.pipe(v.string(`${field} is required.`), v.trim(), v.minLength(1, `${field} is required.`));
const optionalId = v.optional(v.nullable(v.string("Must be an id.")));

const WorkingFilePathBody = v.object({
  name: text("main"),
  mode: text("working"),
  software_id: optionalId,
  comment: freeText(""),
  revision: integer(0),
  sep: text("/"),
});

const OutputFilePathBody = v.object({
  name: text("main"),
  mode: text("output"),
  output_type_id: required("output_type_id"),
  task_type_id: required("task_type_id"),
  revision: integer(0),
  extension: text(""),
  representation: text(""),
  separator: text("/"),
});

const NewWorkingFileBody = v.object({
  name: v.pipe(v.string("name is required."), v.minLength(1, "name is required.")),
  description: freeText(""),
  mode: text("working"),
  comment: freeText(""),
  person_id: optionalId,
  software_id: optionalId,
  revision: integer(0),
  sep: text("/"),
});

const NewOutputFileBody = v.object({
  name: text("main"),
  output_type_id: required("output_type_id"),
  task_type_id: required("task_type_id"),
  person_id: optionalId,
  working_file_id: optionalId,
  file_status_id: optionalId,
  comment: freeText(""),
  revision: integer(0),
  extension: text(""),
  representation: text(""),
  nb_elements: integer(1),
  sep: text("/"),
});

const NextRevisionBody = v.object({
  name: text("main"),
  output_type_id: required("output_type_id"),
  task_type_id: required("task_type_id"),
});

const GuessBody = v.object({
  project_id: required("project_id"),
  file_path: required("file_path"),
  sep: text("/"),
});

const CommentBody = v.object({ comment: v.string("comment is required.") });
const SetTreeBody = v.object({ tree_name: v.string("tree_name is required.") });

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** The optional filters of the output file lists; malformed ids are a 400. */
function outputFilters(c: AppContext, keys: (keyof OutputFileFilters)[]): OutputFileFilters {
  const filters: OutputFileFilters = {};
  for (const key of keys) {
    const value = c.req.query(key);
    if (!value) continue;
    filters[key] = key.endsWith("_id") ? queryId(value) : value;
  }
  return filters;
}

/** Loads an asset instance and its asset, and checks project access on the asset's project. */
async function loadInstance(c: AppContext, id: string): Promise<{ instance: AssetInstanceRow; asset: EntityRow }> {
  const instance = await getOr404<AssetInstanceRow>(c, "asset_instance", id);
  const asset = await getOr404<EntityRow>(c, "entity", instance.asset_id);
  await checkProjectAccess(c, asset.project_id);
  return { instance, asset };
}

/** Loads an entity and checks project access on its project. */
async function loadEntity(c: AppContext, id: string): Promise<EntityRow> {
  const entity = await getOr404<EntityRow>(c, "entity", id);
  await checkProjectAccess(c, entity.project_id);
  return entity;
}

/** Loads a task and checks task access (project member; vendors only on assigned entities). */
async function loadTask(c: AppContext, id: string): Promise<TaskRow> {
  const task = await getOr404<TaskRow>(c, "task", id);
  await checkTaskAccess(c, { project_id: task.project_id as string, entity_id: task.entity_id as string });
  return task;
}

/** A 400 with `{<key>: message}`, the shape of Zou's output-file creation errors. */
function keyedError(key: "error" | "message", message: string): ApiError {
  return new ApiError(400, { [key]: message });
}

/** Shared by the entity and asset-instance `output-files/new` routes. */
async function createOutputFile(
  c: AppContext,
  body: Dict,
  target: { entity: EntityRow; instance?: AssetInstanceRow; temporalEntity?: EntityRow },
  errorKey: "error" | "message",
): Promise<Response> {
  const args = validate(NewOutputFileBody, body);
  const outputType = await findRow<Dict>(c, "output_type", args.output_type_id);
  if (!outputType) throw keyedError(errorKey, "Cannot find given output type.");
  const taskType = await getOr404<TaskTypeRow>(c, "task_type", args.task_type_id);
  const person = args.person_id ? await findRow<Dict>(c, "person", args.person_id) : c.get("user");
  if (!person) throw keyedError(errorKey, "Cannot find given person.");
  const workingFile = await findRow<Dict>(c, "working_file", args.working_file_id);
  const fileStatus = args.file_status_id ? await findRow<Dict>(c, "file_status", args.file_status_id) : null;
  if (args.file_status_id && !fileStatus) throw keyedError(errorKey, "Cannot find given file status.");
  const { entity, instance, temporalEntity } = target;

  const { row, paths } = await transact(c, async () => {
    const revision =
      args.revision >= 1
        ? args.revision
        : await nextOutputRevision(c, {
            entityId: entity.id,
            outputTypeId: String(outputType.id),
            taskTypeId: taskType.id,
            name: args.name,
            assetInstanceId: instance?.id ?? null,
            temporalEntityId: temporalEntity?.id ?? null,
          });
    const options = {
      outputType,
      taskType,
      name: args.name,
      mode: "output",
      sep: args.sep,
      representation: args.representation,
      folderRevision: revision,
      revision,
      nbElements: args.nb_elements,
    };
    const paths = await renderOr400(
      () => (instance && temporalEntity ? instanceOutputPath(c, instance, entity, temporalEntity, options) : entityOutputPath(c, entity, options)),
      (error) => ({ [errorKey]: error.message }),
    );
    const status = fileStatus ?? (await getOrCreateDefaultFileStatus(c));
    const inserted = await insertOutputFile(c, entity.project_id, {
      name: args.name,
      revision,
      entity_id: entity.id,
      asset_instance_id: instance?.id ?? null,
      temporal_entity_id: temporalEntity?.id ?? null,
      output_type_id: String(outputType.id),
      task_type_id: taskType.id,
      person_id: String(person.id),
      source_file_id: workingFile ? String(workingFile.id) : null,
      file_status_id: String(status.id),
      comment: args.comment,
      representation: args.representation,
      extension: args.extension,
      nb_elements: args.nb_elements,
    });
    if (!inserted) throw keyedError(errorKey, "The given output file already exists.");
    const path = `${paths.folder_path}${args.sep}${paths.file_name}${args.extension}`;
    return { row: await setOutputFilePath(c, inserted.id, path), paths };
  });
  const [dict] = await presentOutputFiles(c, [row]);
  return c.json({ ...dict, folder_path: paths.folder_path, file_name: paths.file_name }, 201);
}

async function nextRevisionResponse(c: AppContext, target: { entity: EntityRow; instanceId?: string; temporalEntityId?: string }): Promise<Response> {
  const args = validate(NextRevisionBody, await readLooseBody(c));
  const outputType = await getOr404<Dict>(c, "output_type", args.output_type_id);
  const taskType = await getOr404<TaskTypeRow>(c, "task_type", args.task_type_id);
  const next = await nextOutputRevision(c, {
    entityId: target.entity.id,
    outputTypeId: String(outputType.id),
    taskTypeId: taskType.id,
    name: args.name,
    assetInstanceId: target.instanceId ?? null,
    temporalEntityId: target.temporalEntityId ?? null,
  });
  return c.json({ next_revision: next });
}

async function outputPathResponse(
  c: AppContext,
  target: { entity: EntityRow } | { instance: AssetInstanceRow; asset: EntityRow; temporalEntity: EntityRow },
): Promise<Response> {
  const body = await readLooseBody(c);
  const args = validate(OutputFilePathBody, body);
  const outputType = await getOr404<Dict>(c, "output_type", args.output_type_id);
  const taskType = await getOr404<TaskTypeRow>(c, "task_type", args.task_type_id);
  const toBody = (error: FileTreeError) => error.toBody(body);
  const options = {
    outputType,
    taskType,
    name: args.name,
    mode: args.mode,
    sep: args.separator,
    representation: args.representation,
    folderRevision: args.revision,
    revision: args.revision,
  };
  if ("instance" in target) {
    // Zou quirk kept: the instance route never computes a revision (0 renders as 000).
    return c.json(await renderOr400(() => instanceOutputPath(c, target.instance, target.asset, target.temporalEntity, options), toBody));
  }
  const revision =
    args.revision !== 0
      ? args.revision
      : await nextOutputRevision(c, { entityId: target.entity.id, outputTypeId: String(outputType.id), taskTypeId: taskType.id, name: args.name });
  return c.json(await renderOr400(() => entityOutputPath(c, target.entity, { ...options, revision }), toBody));
}

async function guessResponse(c: AppContext): Promise<Response> {
  const body = await readLooseBody(c);
  const args = validate(GuessBody, body);
  const project = await getOr404<Dict>(c, "project", queryId(args.project_id));
  await checkProjectAccess(c, String(project.id));
  return c.json(
    await renderOr400(() => guessFromPath(c, { id: String(project.id), file_tree: project.file_tree }, args.file_path, args.sep), (error) =>
      error.toBody(body),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

export function registerFiles(app: Hono<AppEnv>): void {
  // --- paths from the file tree ----------------------------------------------------------------

  app.post("/data/tasks/:task_id/working-file-path", async (c) => {
    const body = await readLooseBody(c);
    const args = validate(WorkingFilePathBody, body);
    const task = await loadTask(c, c.req.param("task_id"));
    const paths = await transact(c, async () => {
      const software = args.software_id ? await getOr404<Dict>(c, "software", args.software_id) : await getOrCreateSoftware(c, DEFAULT_PATH_SOFTWARE);
      const revision = args.revision !== 0 ? args.revision : await nextWorkingRevision(c, task.id, args.name);
      return renderOr400(
        () => workingFilePath(c, task, { software, name: args.name, revision, mode: args.mode, sep: args.sep }),
        (error) => error.toBody(body),
      );
    });
    return c.json({ path: paths.folder_path, name: paths.file_name });
  });

  app.post("/data/entities/:entity_id/output-file-path", async (c) => {
    const entity = await loadEntity(c, c.req.param("entity_id"));
    await checkEntityAccess(c, entity);
    return outputPathResponse(c, { entity });
  });

  app.post("/data/asset-instances/:asset_instance_id/entities/:temporal_entity_id/output-file-path", async (c) => {
    const { instance, asset } = await loadInstance(c, c.req.param("asset_instance_id"));
    await checkEntityAccess(c, asset);
    const temporalEntity = await getOr404<EntityRow>(c, "entity", c.req.param("temporal_entity_id"));
    return outputPathResponse(c, { instance, asset, temporalEntity });
  });

  app.post("/data/entities/guess-from-path", guessResponse);
  app.post("/data/entities/guess_from_path", guessResponse);

  app.post("/actions/projects/:project_id/set-file-tree", async (c) => {
    const args = validate(SetTreeBody, await readLooseBody(c));
    const project = await getOr404<Dict>(c, "project", c.req.param("project_id"));
    await checkManagerProjectAccess(c, String(project.id));
    const tree = getBuiltinTree(args.tree_name);
    if (!tree) throw badRequest("Selected tree is not available");
    return c.json(await setProjectFileTree(c, String(project.id), tree));
  });

  // --- working files -----------------------------------------------------------------------------

  app.get("/data/tasks/:task_id/working-files/last-revisions", async (c) => {
    const task = await loadTask(c, c.req.param("task_id"));
    return c.json(await lastTaskWorkingFiles(c, task.id));
  });

  app.get("/data/tasks/:task_id/working-files", async (c) => {
    const task = await loadTask(c, c.req.param("task_id"));
    return c.json(await taskWorkingFiles(c, task.id));
  });

  app.post("/data/tasks/:task_id/working-files/new", async (c) => {
    const body = await readLooseBody(c);
    const args = validate(NewWorkingFileBody, body);
    const task = await loadTask(c, c.req.param("task_id"));
    const user = c.get("user");
    const person = args.person_id ? await findRow<Dict>(c, "person", args.person_id) : user;
    if (!person) throw new ApiError(400, { error: "Cannot find given person." });
    const row = await transact(c, async () => {
      const software = args.software_id
        ? await getOr404<Dict>(c, "software", args.software_id)
        : await getOrCreateSoftware(c, DEFAULT_WORKING_FILE_SOFTWARE);
      await assignTaskIfNeeded(c, task, user.id);
      const revision = args.revision !== 0 ? args.revision : await nextWorkingRevision(c, task.id, args.name);
      const paths = await renderOr400(
        () => workingFilePath(c, task, { software, name: args.name, revision, mode: args.mode, sep: "/" }),
        (error) => error.toBody(body),
      );
      const inserted = await insertWorkingFile(c, task, {
        name: args.name,
        revision,
        path: `${paths.folder_path}${args.sep}${paths.file_name}`,
        comment: args.comment,
        // Zou stores no description on a new working file: it reads null until set by an update.
        description: args.description === "" ? null : args.description,
        person_id: String(person.id),
        software_id: String(software.id),
      });
      if (!inserted) throw new ApiError(400, { error: "The given working file already exists." });
      return inserted;
    });
    const [dict] = await presentWorkingFiles(c, [row]);
    return c.json(dict, 201);
  });

  app.get("/data/entities/:entity_id/working-files", async (c) => {
    const entity = await loadEntity(c, c.req.param("entity_id"));
    const taskId = c.req.query("task_id");
    return c.json(
      await entityWorkingFiles(c, entity.id, {
        taskId: taskId ? queryId(taskId) : undefined,
        name: c.req.query("name") || undefined,
        relations: (c.req.query("relations") ?? "").toLowerCase() === "true",
      }),
    );
  });

  app.get("/data/working-files/:working_file_id/file", async (c) => {
    const workingFile = await getOr404<WorkingFileRow>(c, "working_file", c.req.param("working_file_id"));
    await checkWorkingFileAccess(c, workingFile);
    const response = await sendStoredFile(c.req.raw, {
      path: workingFileContentPath(c.get("config"), workingFile.id),
      filename: workingFile.path ? workingFile.path.split(/[\\/]/).pop() || workingFile.id : workingFile.id,
      download: true,
    });
    return response ?? c.json({ error: true, message: `Working file not found for: ${workingFile.id}` }, 404);
  });

  app.post("/data/working-files/:working_file_id/file", async (c) => {
    const workingFile = await getOr404<WorkingFileRow>(c, "working_file", c.req.param("working_file_id"));
    await checkWorkingFileAccess(c, workingFile);
    const stored = await storeWorkingFileContent(c, workingFile);
    if (stored === null) throw badRequest("No file given: send the content as the multipart field \"file\".");
    const [dict] = await presentWorkingFiles(c, [stored]);
    return c.json(dict, 201);
  });

  app.put("/actions/working-files/:working_file_id/comment", async (c) => {
    const args = validate(CommentBody, await readLooseBody(c));
    const workingFile = await getOr404<WorkingFileRow>(c, "working_file", c.req.param("working_file_id"));
    await checkWorkingFileActionAccess(c, workingFile);
    const [dict] = await presentWorkingFiles(c, [await updateWorkingFile(c, workingFile, { comment: args.comment })]);
    return c.json(dict);
  });

  app.put("/actions/working-files/:working_file_id/modified", async (c) => {
    const workingFile = await getOr404<WorkingFileRow>(c, "working_file", c.req.param("working_file_id"));
    await checkWorkingFileActionAccess(c, workingFile);
    const [dict] = await presentWorkingFiles(c, [await updateWorkingFile(c, workingFile, {})]);
    return c.json(dict);
  });

  app.get("/data/files/:file_id", async (c) => {
    const id = c.req.param("file_id");
    const workingFile = await findRow<WorkingFileRow>(c, "working_file", id);
    if (workingFile) {
      await checkWorkingFileAccess(c, workingFile);
      return c.json((await presentWorkingFiles(c, [workingFile]))[0]);
    }
    const outputFile = await getOr404<OutputFileRow>(c, "output_file", id);
    const entity = await getOr404<EntityRow>(c, "entity", outputFile.entity_id);
    await checkProjectAccess(c, entity.project_id);
    return c.json((await presentOutputFiles(c, [outputFile]))[0]);
  });

  // --- output files of entities --------------------------------------------------------------------

  app.post("/data/entities/:entity_id/output-files/new", async (c) => {
    const body = await readLooseBody(c);
    validate(NewOutputFileBody, body);
    const entity = await loadEntity(c, c.req.param("entity_id"));
    return createOutputFile(c, body, { entity }, "error");
  });

  app.post("/data/entities/:entity_id/output-files/next-revision", async (c) => {
    const entity = await loadEntity(c, c.req.param("entity_id"));
    return nextRevisionResponse(c, { entity });
  });

  app.get("/data/entities/:entity_id/output-files/last-revisions", async (c) => {
    const entity = await loadEntity(c, c.req.param("entity_id"));
    const filters = outputFilters(c, ["output_type_id", "task_type_id", "representation", "file_status_id", "name"]);
    return c.json(await lastOutputFiles(c, { entityId: entity.id }, filters));
  });

  app.get("/data/entities/:entity_id/output-files", async (c) => {
    const entity = await loadEntity(c, c.req.param("entity_id"));
    const filters = outputFilters(c, ["output_type_id", "task_type_id", "representation", "file_status_id", "name"]);
    return c.json(await entityOutputFiles(c, entity.id, filters));
  });

  app.get("/data/entities/:entity_id/output-types/:output_type_id/output-files", async (c) => {
    const entity = await loadEntity(c, c.req.param("entity_id"));
    const outputType = await getOr404<Dict>(c, "output_type", c.req.param("output_type_id"));
    return c.json(await outputFilesOfType(c, { entityId: entity.id }, String(outputType.id), c.req.query("representation")));
  });

  app.get("/data/entities/:entity_id/output-types", async (c) => {
    const entity = await loadEntity(c, c.req.param("entity_id"));
    return c.json(await outputTypesOf(c, { entityId: entity.id }));
  });

  app.get("/data/projects/:project_id/output-files", async (c) => {
    const project = await getOr404<Dict>(c, "project", c.req.param("project_id"));
    await checkManagerProjectAccess(c, String(project.id));
    const filters = outputFilters(c, ["output_type_id", "task_type_id", "representation", "file_status_id", "name"]);
    return c.json(await projectOutputFiles(c, String(project.id), filters));
  });

  // --- output files of asset instances --------------------------------------------------------------

  const instanceBase = "/data/asset-instances/:asset_instance_id/entities/:temporal_entity_id";

  app.post(`${instanceBase}/output-files/new`, async (c) => {
    const body = await readLooseBody(c);
    validate(NewOutputFileBody, body);
    const instance = await getOr404<AssetInstanceRow>(c, "asset_instance", c.req.param("asset_instance_id"));
    const temporalEntity = await getOr404<EntityRow>(c, "entity", c.req.param("temporal_entity_id"));
    const entity = await loadEntity(c, instance.asset_id);
    return createOutputFile(c, body, { entity, instance, temporalEntity }, "message");
  });

  app.post(`${instanceBase}/output-files/next-revision`, async (c) => {
    const { instance, asset } = await loadInstance(c, c.req.param("asset_instance_id"));
    return nextRevisionResponse(c, { entity: asset, instanceId: instance.id, temporalEntityId: temporalEntityParam(c) });
  });

  app.get(`${instanceBase}/output-files/last-revisions`, async (c) => {
    const { instance } = await loadInstance(c, c.req.param("asset_instance_id"));
    const filters = outputFilters(c, ["output_type_id", "task_type_id", "representation", "file_status_id", "name"]);
    return c.json(await lastOutputFiles(c, { assetInstanceId: instance.id, temporalEntityId: temporalEntityParam(c) }, filters));
  });

  app.get(`${instanceBase}/output-types/:output_type_id/output-files`, async (c) => {
    const { instance } = await loadInstance(c, c.req.param("asset_instance_id"));
    const outputType = await getOr404<Dict>(c, "output_type", c.req.param("output_type_id"));
    const scope = { assetInstanceId: instance.id, temporalEntityId: temporalEntityParam(c) };
    return c.json(await outputFilesOfType(c, scope, String(outputType.id), c.req.query("representation")));
  });

  app.get(`${instanceBase}/output-types`, async (c) => {
    const { instance } = await loadInstance(c, c.req.param("asset_instance_id"));
    return c.json(await outputTypesOf(c, { assetInstanceId: instance.id, temporalEntityId: temporalEntityParam(c) }));
  });

  app.get("/data/asset-instances/:asset_instance_id/output-files", async (c) => {
    const { instance } = await loadInstance(c, c.req.param("asset_instance_id"));
    const filters = outputFilters(c, ["temporal_entity_id", "output_type_id", "task_type_id", "representation", "file_status_id", "name"]);
    return c.json(await instanceOutputFiles(c, instance.id, filters));
  });
}

/** The temporal entity id of an instance route, as given (Zou does not check that it exists). */
function temporalEntityParam(c: AppContext): string {
  return normalizeId(c.req.param("temporal_entity_id") ?? "");
}
