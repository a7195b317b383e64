/**
 * CSV imports of assets, shots and edits (csv.md A.2-A.5): metadata columns, task status /
 * comment / assignation columns, implicit asset types, episodes and sequences. Lookups (entities,
 * task types, statuses, persons, descriptors) are loaded once per import; tasks of entities whose
 * rows carry no task column are created in bulk once the whole file went through.
 */
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import type { CsvRow } from "../lib/csv";
import { createComment } from "./comments";
import { emitEntityEvent, entityData, presentEntity, requestTypeIds, type EntityKind, type EntityRow } from "./entities";
import { insertEntity } from "./entity-writes";
import { entityTypeId } from "./projects";
import { newId, utcNow } from "../lib/ids";
import { assignTask, createTasksForEntities, defaultTaskStatus, emit as emitTaskEvent, type TaskRow, type TaskStatusRow, type TaskTypeRow } from "./tasks";
import { invalid, parseInteger, required, RowError, strToBool, type Dict, type Row, type RowImporter } from "./csv-import";

type ImportedKind = "assets" | "shots" | "edits";

const KIND: Record<ImportedKind, EntityKind> = { assets: "Asset", shots: "Shot", edits: "Edit" };

interface TaskUpdate {
  taskType: TaskTypeRow;
  status: TaskStatusRow | null;
  comment: string | null;
  hasCommentColumn: boolean;
  assignees: string[];
}

/** Persons by id, lower-case full name and lower-case email. */
async function personResolver(db: Db): Promise<(cell: string) => string> {
  const rows = await db.selectFrom("person").select(["id", "first_name", "last_name", "email"]).execute();
  const keys = new Map<string, string>();
  for (const p of rows) {
    keys.set(p.id, p.id);
    keys.set(`${p.first_name ?? ""} ${p.last_name ?? ""}`.trim().toLowerCase(), p.id);
    if (p.email) keys.set(p.email.toLowerCase(), p.id);
  }
  return (cell: string) => {
    const id = keys.get(cell) ?? keys.get(cell.trim().toLowerCase());
    if (!id) throw new RowError(`Person not found for ${cell}`);
    return id;
  };
}

export async function makeEntityImporter(c: AppContext, db: Db, kind: ImportedKind, project: Row, update: boolean): Promise<RowImporter> {
  const entityKind = KIND[kind];
  const types = await requestTypeIds(c);
  const isTvShow = project.production_type === "tvshow";
  const userId = c.get("user")?.id ?? null;
  const resolvePerson = await personResolver(db);

  const descriptors = await db
    .selectFrom("metadata_descriptor")
    .select(["name", "field_name", "data_type"])
    .where("project_id", "=", project.id)
    .where("entity_type", "=", entityKind)
    .execute();
  const taskTypes = (await db
    .selectFrom("task_type")
    .innerJoin("project_task_type_link", "project_task_type_link.task_type_id", "task_type.id")
    .selectAll("task_type")
    .where("project_task_type_link.project_id", "=", project.id)
    .orderBy("task_type.priority")
    .orderBy("task_type.name")
    .execute()) as TaskTypeRow[];
  const applicable = taskTypes.filter((t) => (entityKind === "Asset" ? !t.for_entity || t.for_entity === "Asset" : t.for_entity === entityKind));
  const shotTaskTypes = new Map(taskTypes.filter((t) => t.for_entity === "Shot").map((t) => [t.name, t.id]));
  const statuses = (await db.selectFrom("task_status").selectAll().execute()) as TaskStatusRow[];
  const statusByKey = new Map<string, TaskStatusRow>();
  for (const s of statuses) {
    if (s.short_name) statusByKey.set(s.short_name.toLowerCase(), s);
    if (s.name && !statusByKey.has(s.name.toLowerCase())) statusByKey.set(s.name.toLowerCase(), s);
  }

  // Entities of the project, by their natural key (ids only: full rows are read when a row hits one).
  const entities = await db.selectFrom("entity").select(["id", "name", "parent_id", "entity_type_id"]).where("project_id", "=", project.id).execute();
  const reserved = new Set<string>(Object.values(types));
  const episodes = new Map<string, { id: string }>();
  const sequences = new Map<string, { id: string }>();
  const own = new Map<string, string>();
  for (const e of entities) {
    if (e.entity_type_id === types.Episode) episodes.set(e.name, e);
    else if (e.entity_type_id === types.Sequence) sequences.set(`${e.parent_id ?? ""}|${e.name}`, e);
    else if (kind === "shots" && e.entity_type_id === types.Shot) own.set(`${e.parent_id ?? ""}|${e.name}`, e.id);
    else if (kind === "edits" && e.entity_type_id === types.Edit) own.set(`${e.parent_id ?? ""}|${e.name}`, e.id);
    else if (kind === "assets" && !reserved.has(e.entity_type_id)) own.set(e.name, e.id);
  }
  entities.length = 0;
  const existingRow = async (key: string): Promise<EntityRow | undefined> => {
    const id = own.get(key);
    return id ? ((await db.selectFrom("entity").selectAll().where("id", "=", id).executeTakeFirst()) as EntityRow | undefined) : undefined;
  };
  const assetTypes = new Map((await db.selectFrom("entity_type").select(["id", "name"]).execute()).map((t) => [t.name, t.id]));
  const workflows = new Map<string, Set<string>>();
  if (kind === "assets") {
    for (const link of await db.selectFrom("task_type_asset_type_link").select(["asset_type_id", "task_type_id"]).execute()) {
      if (!workflows.has(link.asset_type_id)) workflows.set(link.asset_type_id, new Set());
      workflows.get(link.asset_type_id)!.add(link.task_type_id);
    }
  }
  const hasTaskType = (entityTypeId: string, taskType: TaskTypeRow): boolean => {
    const workflow = workflows.get(entityTypeId);
    return !workflow || workflow.size === 0 || workflow.has(taskType.id);
  };
  /** Entities whose tasks are created in bulk at the end (one small record per entity). */
  const deferred: { id: string; project_id: string; entity_type_id: string }[] = [];
  const defer = (entity: EntityRow) => {
    if (applicable.length > 0) deferred.push({ id: entity.id, project_id: entity.project_id, entity_type_id: entity.entity_type_id });
  };
  const defaultStatus = await defaultTaskStatus(db);

  async function episodeNamed(name: string): Promise<{ id: string }> {
    let episode = episodes.get(name);
    if (!episode) {
      const row = await insertEntity(db, { projectId: project.id, entityTypeId: types.Episode, name, description: "", createdBy: userId });
      await emitEntityEvent(c, "Episode", "new", row);
      episode = { id: row.id };
      episodes.set(name, episode);
    }
    return episode;
  }

  async function sequenceNamed(name: string, episodeId: string | null): Promise<{ id: string }> {
    const key = `${episodeId ?? ""}|${name}`;
    let sequence = sequences.get(key);
    if (!sequence) {
      const row = await insertEntity(db, { projectId: project.id, entityTypeId: types.Sequence, name, parentId: episodeId, description: "", createdBy: userId });
      await emitEntityEvent(c, "Sequence", "new", row);
      sequence = { id: row.id };
      sequences.set(key, sequence);
    }
    return sequence;
  }

  function metadata(row: CsvRow, data: Dict): void {
    for (const descriptor of descriptors) {
      if (!row.has(descriptor.name)) continue;
      const cell = row.get(descriptor.name) ?? "";
      if (descriptor.data_type === "boolean" && cell !== "") {
        const flag = strToBool(cell);
        if (flag === null) throw invalid("");
        data[descriptor.field_name] = flag ? "true" : "false";
      } else if (descriptor.data_type === "person" && cell !== "") {
        data[descriptor.field_name] = resolvePerson(cell);
      } else {
        data[descriptor.field_name] = cell;
      }
    }
  }

  function taskUpdates(row: CsvRow): TaskUpdate[] {
    const updates: TaskUpdate[] = [];
    for (const taskType of applicable) {
      const name = taskType.name ?? "";
      const statusCell = row.get(name);
      const commentCell = row.get(`${name} comment`);
      const hasCommentColumn = row.has(`${name} comment`);
      const assignCell = kind === "edits" ? null : row.get(`${name} assignations`);
      let status: TaskStatusRow | null = null;
      if (statusCell) {
        status = statusByKey.get(statusCell.toLowerCase()) ?? null;
        if (!status) throw new RowError(`Task status not found for ${statusCell}`);
      }
      const assignees = (assignCell ?? "")
        .split(",")
        .map((p) => p.trim())
        .filter(Boolean)
        .map(resolvePerson);
      if (status || commentCell || assignees.length > 0) {
        updates.push({ taskType, status, comment: commentCell, hasCommentColumn, assignees });
      }
    }
    return updates;
  }

  /**
   * Creates the "main" task of `taskType` for each entity lacking one (default status, the caller
   * as assigner, `task:new` each), inserted 50 rows per statement: the bulk part of big imports.
   */
  async function bulkCreateTasks(taskType: TaskTypeRow, list: { id: string; project_id: string }[]): Promise<void> {
    const existing = new Set(
      (await db.selectFrom("task").select("entity_id").where("task_type_id", "=", taskType.id).where("entity_id", "in", list.map((e) => e.id)).execute()).map((r) => r.entity_id),
    );
    const now = utcNow();
    const seen = new Set<string>();
    const rows = [];
    for (const entity of list) {
      if (existing.has(entity.id) || seen.has(entity.id)) continue;
      seen.add(entity.id);
      rows.push({
        id: newId(), created_at: now, updated_at: now, name: "main", duration: 0, estimation: 0, completion_rate: 0, project_id: entity.project_id,
        task_type_id: taskType.id, task_status_id: defaultStatus.id, entity_id: entity.id, assigner_id: userId,
      });
    }
    for (let start = 0; start < rows.length; start += 50) await db.insertInto("task").values(rows.slice(start, start + 50) as any).execute();
    for (const row of rows) await emitTaskEvent(c, "task:new", { task_id: row.id }, row.project_id);
  }

  /** Task updates applied once the file went through (tasks then exist in bulk). */
  const pending: { entity: { id: string; project_id: string }; updates: TaskUpdate[] }[] = [];
  const later = (entity: EntityRow, updates: TaskUpdate[], created = false) => {
    // On a task just created with the default status, a default status alone changes nothing.
    const noop = (u: TaskUpdate) =>
      hasTaskType(entity.entity_type_id, u.taskType) && u.assignees.length === 0 && !u.hasCommentColumn && !u.comment && u.status?.id === defaultStatus.id;
    const effective = created ? updates.filter((u) => !noop(u)) : updates;
    if (effective.length > 0) pending.push({ entity: { id: entity.id, project_id: entity.project_id }, updates: effective });
  };

  /**
   * Applies task updates: the task of each listed type (created when missing), assignees not yet
   * assigned, then a comment when the file has the comment column or the status changes.
   */
  async function applyPendingUpdates(): Promise<void> {
    for (let start = 0; start < pending.length; start += 500) {
      const part = pending.slice(start, start + 500);
      const rows = (await db.selectFrom("task").selectAll().where("entity_id", "in", part.map((p) => p.entity.id)).execute()) as TaskRow[];
      const tasks = new Map(rows.map((t) => [`${t.entity_id}|${t.task_type_id}`, t]));
      for (const { entity, updates } of part) {
        for (const u of updates) {
          const key = `${entity.id}|${u.taskType.id}`;
          let task = tasks.get(key);
          if (!task) {
            await createTasksForEntities(c, u.taskType, [{ ...entity, type_name: entityKind }]);
            task = (await db.selectFrom("task").selectAll().where("entity_id", "=", entity.id).where("task_type_id", "=", u.taskType.id).executeTakeFirstOrThrow()) as TaskRow;
          }
          for (const personId of u.assignees) task = await assignTask(c, task, personId);
          const current = statuses.find((s) => s.id === task!.task_status_id) ?? null;
          const status = u.status ?? current;
          if (status && (u.hasCommentColumn || (u.status && u.status.id !== task.task_status_id))) {
            try {
              await createComment(c, { task, status, text: u.comment ?? "", personId: userId! });
              task = (await db.selectFrom("task").selectAll().where("id", "=", task.id).executeTakeFirstOrThrow()) as TaskRow;
            } catch (error) {
              if ((error as { status?: number }).status !== 400) throw error;
            }
          }
          tasks.set(key, task);
        }
      }
    }
  }

  const rowOfKind = {
    async assets(row: CsvRow): Promise<EntityRow> {
      const name = required(row, "Name") ?? "";
      const typeName = required(row, "Type");
      if (!typeName || typeName.trim() === "") throw new RowError("An asset type is required in the Type column");
      let episodeId: string | null = null;
      if (row.has("Episode")) {
        if (!isTvShow) throw new RowError("An episode column is present for a production that isn't a TV Show");
        const episodeName = row.get("Episode") ?? "";
        if (episodeName !== "MP") episodeId = (await episodeNamed(episodeName)).id;
      }
      let typeId = assetTypes.get(typeName);
      if (!typeId) {
        typeId = (await entityTypeId(db, typeName, true))!;
        assetTypes.set(typeName, typeId);
      }
      const existing = await existingRow(name);
      if (existing && !update) {
        defer(existing);
        return existing;
      }
      const data = entityData(existing?.data);
      if (row.has("Resolution")) data.resolution = row.get("Resolution") ?? "";
      metadata(row, data);
      let readyFor: string | null | undefined;
      if (row.has("Ready for")) {
        const cell = row.get("Ready for") ?? "";
        if (cell === "") readyFor = null;
        else {
          readyFor = shotTaskTypes.get(cell);
          if (!readyFor) throw new RowError(`Task type not found for ${cell}`);
        }
      }
      const description = row.has("Description") ? (row.get("Description") ?? "") : undefined;
      const updates = taskUpdates(row);
      let entity: EntityRow;
      if (!existing) {
        entity = await insertEntity(db, {
          projectId: project.id, entityTypeId: typeId, name, sourceId: episodeId, description: description ?? "", data, createdBy: userId,
        });
        if (readyFor) entity = (await db.updateTable("entity").set({ ready_for: readyFor }).where("id", "=", entity.id).returningAll().executeTakeFirstOrThrow()) as EntityRow;
        await emitEntityEvent(c, "Asset", "new", entity, { asset_type: typeId });
      } else {
        const values: Row = { name, entity_type_id: typeId, source_id: episodeId, data: JSON.stringify(data), updated_at: new Date().toISOString().slice(0, 19) };
        if (description !== undefined) values.description = description;
        if (readyFor !== undefined) values.ready_for = readyFor;
        entity = (await db.updateTable("entity").set(values).where("id", "=", existing.id).returningAll().executeTakeFirstOrThrow()) as EntityRow;
        await emitEntityEvent(c, "Asset", "update", entity, { asset_type: typeId });
      }
      own.set(name, entity.id);
      defer(entity);
      later(entity, updates, !existing);
      return entity;
    },

    async shots(row: CsvRow): Promise<EntityRow> {
      let episodeId: string | null = null;
      if (isTvShow) episodeId = (await episodeNamed(required(row, "Episode") ?? "")).id;
      const sequence = await sequenceNamed(required(row, "Sequence") ?? "", episodeId);
      const name = required(row, "Name") ?? "";
      const existing = await existingRow(`${sequence.id}|${name}`);
      if (existing && !update) return existing;
      const data = entityData(existing?.data);
      const pick = (first: string, fallback: string) => row.get(first) || row.get(fallback);
      const frameIn = pick("Frame In", "In");
      const frameOut = pick("Frame Out", "Out");
      const frames = pick("Nb Frames", "Frames");
      const toInt = (value: string, field: string) => {
        const n = parseInteger(value);
        if (n === null) throw new RowError(`${field} must be an integer, got '${value}'`);
        return n;
      };
      if (frameIn) data.frame_in = toInt(frameIn, "frame_in");
      if (frameOut) data.frame_out = toInt(frameOut, "frame_out");
      if (row.has("FPS")) data.fps = row.get("FPS") ?? "";
      if (row.has("Resolution")) data.resolution = row.get("Resolution") ?? "";
      metadata(row, data);
      let nbFrames: number | null = existing?.nb_frames ?? null;
      if (frames) nbFrames = toInt(frames, "nb_frames");
      else if (typeof data.frame_in === "number" && typeof data.frame_out === "number" && data.frame_out > data.frame_in) {
        nbFrames = data.frame_out - data.frame_in + 1;
      }
      const description = row.has("Description") ? (row.get("Description") ?? "") : undefined;
      const updates = taskUpdates(row);
      let entity: EntityRow;
      if (!existing) {
        entity = await insertEntity(db, {
          projectId: project.id, entityTypeId: types.Shot, name, parentId: sequence.id, description: description ?? null, data, nbFrames, createdBy: userId,
        });
        await emitEntityEvent(c, "Shot", "new", entity, { episode_id: episodeId });
        own.set(`${sequence.id}|${name}`, entity.id);
        defer(entity);
        later(entity, updates, true);
      } else {
        const values: Row = { nb_frames: nbFrames, data: JSON.stringify(data), updated_at: new Date().toISOString().slice(0, 19) };
        if (description !== undefined) values.description = description;
        entity = (await db.updateTable("entity").set(values).where("id", "=", existing.id).returningAll().executeTakeFirstOrThrow()) as EntityRow;
        await emitEntityEvent(c, "Shot", "update", entity, { episode_id: episodeId });
        own.set(`${sequence.id}|${name}`, entity.id);
        later(entity, updates);
      }
      return entity;
    },

    async edits(row: CsvRow): Promise<EntityRow> {
      const name = required(row, "Name") ?? "";
      let episodeId: string | null = null;
      if (row.has("Episode")) {
        if (!isTvShow) throw new RowError("An episode column is present for a production that isn't a TV Show");
        episodeId = (await episodeNamed(row.get("Episode") ?? "")).id;
      }
      const key = `${episodeId ?? ""}|${name}`;
      const existing = await existingRow(key);
      if (existing && !update) return existing;
      const data = entityData(existing?.data);
      metadata(row, data);
      const description = row.has("Description") ? (row.get("Description") ?? "") : undefined;
      const updates = taskUpdates(row);
      let entity: EntityRow;
      if (!existing) {
        entity = await insertEntity(db, {
          projectId: project.id, entityTypeId: types.Edit, name, parentId: episodeId, description: description ?? "", data, createdBy: userId,
        });
        await emitEntityEvent(c, "Edit", "new", entity, { parent_id: episodeId });
        own.set(key, entity.id);
        defer(entity);
        later(entity, updates, true);
      } else {
        const values: Row = { data: JSON.stringify(data), updated_at: new Date().toISOString().slice(0, 19) };
        if (description !== undefined) values.description = description;
        entity = (await db.updateTable("entity").set(values).where("id", "=", existing.id).returningAll().executeTakeFirstOrThrow()) as EntityRow;
        await emitEntityEvent(c, "Edit", "update", entity, { parent_id: episodeId });
        own.set(key, entity.id);
        later(entity, updates);
      }
      return entity;
    },
  }[kind];

  return {
    async row(row) {
      return presentEntity(await rowOfKind(row), entityKind);
    },
    async finish() {
      for (const taskType of applicable) {
        const list = deferred.filter((e) => hasTaskType(e.entity_type_id, taskType));
        for (let start = 0; start < list.length; start += 500) await bulkCreateTasks(taskType, list.slice(start, start + 500));
      }
      await applyPendingUpdates();
    },
  };
}
