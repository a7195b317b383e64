/**
 * The table of ShotGrid importers (csv.md part C): how each Shotgun entity kind maps to Zou rows.
 * Each entry upserts on `shotgun_id` first, so importing the same payload twice changes nothing.
 * The runner (shotgun-import.ts) owns the transaction, skipping and error handling.
 */
import type { Db } from "../db/database";
import { setRelation } from "../db/rows";
import { reservedTypeIds, type ReservedTypeIds } from "./entities";
import { defaultTaskStatus } from "./tasks";
import { entityTypeId } from "./projects";
import {
  asInt, asLink, asList, asNumber, asText, byShotgunId, customFields, linkId, required, rgbToHex, saveRow, shotgunIdMap,
  shotgunIdOf, SkipEntry, type Entry, type ImportContext, type Imported, type Row, type ShotgunImporter,
} from "./shotgun-import";

const DEFAULT_COLOR = "#999999";

async function projectIdsByName(db: Db): Promise<Map<string, string>> {
  const rows = await db.selectFrom("project").select(["id", "name"]).execute();
  return new Map(rows.map((row) => [row.name, row.id]));
}

/** The project named by `entry.project.name` (Zou matches episodes, sequences, scenes and shots by name). */
function projectByName(entry: Entry, projects: Map<string, string>): string {
  const project = asLink("project", required(entry, "project"));
  const name = project ? asText("project.name", project.name) : null;
  const id = name === null ? undefined : projects.get(name);
  if (!id) throw new SkipEntry("unknown project");
  return id;
}

async function getOrCreateByName(db: Db, table: "department" | "project_status", name: string, color: string): Promise<string> {
  const found = await db.selectFrom(table).select("id").where("name", "=", name).executeTakeFirst();
  if (found) return found.id;
  return (await saveRow(db, table, undefined, { name, color })).id;
}

interface EntityState {
  types: ReservedTypeIds;
  projects: Map<string, string>;
}

async function entityState(ctx: ImportContext): Promise<EntityState> {
  return { types: await reservedTypeIds(ctx.db), projects: await projectIdsByName(ctx.db) };
}

/** Inserts or updates an entity row; `created_by` is the caller on creation. */
async function saveEntity(ctx: ImportContext, existing: Row | undefined, values: Row, typeName: string): Promise<Imported> {
  const row = existing
    ? await saveRow(ctx.db, "entity", existing, values)
    : await saveRow(ctx.db, "entity", undefined, { data: {}, status: "running", created_by: ctx.userId, ...values });
  return { table: "entity", row, typeName };
}

/** Replaces the casting (entity_link rows) of an entity and keeps its counter right. */
async function setCasting(db: Db, entityId: string, assetIds: string[]): Promise<void> {
  await setRelation(db, "entity", "entities_out", entityId, [...new Set(assetIds)]);
  const links = await db.selectFrom("entity_link").select("id").where("entity_in_id", "=", entityId).execute();
  await db.updateTable("entity").set({ nb_entities_out: links.length } as any).where("id", "=", entityId).execute();
}

const persons: ShotgunImporter = {
  async importEntry(ctx, entry) {
    const shotgunId = shotgunIdOf(entry);
    const email = asText("email", required(entry, "email"));
    if (email === "changeme@email.com") throw new SkipEntry("not a real person");
    const ruleSet = asLink("permission_rule_set", entry.permission_rule_set);
    const group = ruleSet ? asText("permission_rule_set.name", ruleSet.name) : null;
    const values: Row = {
      first_name: asText("firstname", required(entry, "firstname")) ?? "",
      last_name: asText("lastname", required(entry, "lastname")) ?? "",
      email,
      shotgun_id: shotgunId,
      desktop_login: asText("login", required(entry, "login")),
      active: (asText("sg_status_list", entry.sg_status_list) ?? "act") === "act",
      role: group === "Admin" ? "admin" : group === "Manager" ? "manager" : "user",
    };
    let existing = await byShotgunId(ctx.db, "person", shotgunId);
    if (!existing && email) {
      existing = (await ctx.db.selectFrom("person").selectAll().where("email", "=", email.toLowerCase()).executeTakeFirst()) as Row | undefined;
    }
    // Never change the role (nor deactivate) the admin running the import.
    if (existing?.id === ctx.userId) {
      delete values.role;
      delete values.active;
    }
    if (!existing) {
      const config = ctx.c.get("config");
      Object.assign(values, { locale: config.defaultLocale, timezone: config.defaultTimezone });
    }
    const row = await saveRow(ctx.db, "person", existing, values);
    const department = asLink("department", entry.department);
    const departmentName = department ? asText("department.name", department.name) : null;
    if (departmentName) {
      const departmentId = await getOrCreateByName(ctx.db, "department", departmentName, DEFAULT_COLOR);
      await setRelation(ctx.db, "person", "departments", row.id, [departmentId]);
    }
    return { table: "person", row };
  },
};

const projects: ShotgunImporter<Map<string, string>> = {
  async prepare(ctx) {
    const statuses = new Map<string, string>();
    for (const entry of ctx.entries) {
      const name = asText("sg_status", entry.sg_status);
      if (name && !statuses.has(name)) statuses.set(name, await getOrCreateByName(ctx.db, "project_status", name, DEFAULT_COLOR));
    }
    return statuses;
  },
  async importEntry(ctx, entry, statuses) {
    const shotgunId = shotgunIdOf(entry);
    const status = asText("sg_status", required(entry, "sg_status"));
    const name = asText("name", required(entry, "name"));
    if (!name) throw new SkipEntry("no name");
    const values: Row = {
      name,
      shotgun_id: shotgunId,
      project_status_id: status ? statuses.get(status) : null,
      data: customFields(entry, ["sg_status"]),
    };
    const existing = await byShotgunId(ctx.db, "project", shotgunId);
    if (!values.project_status_id) {
      if (existing) delete values.project_status_id;
      else values.project_status_id = await getOrCreateByName(ctx.db, "project_status", "Open", "#FFFFFF");
    }
    const row = await saveRow(ctx.db, "project", existing, existing ? values : { production_style: "2d3d", ...values });
    return { table: "project", row };
  },
};

const episodes: ShotgunImporter<EntityState> = {
  prepare: entityState,
  async importEntry(ctx, entry, state) {
    const shotgunId = shotgunIdOf(entry);
    const values = {
      name: asText("code", required(entry, "code")) ?? "",
      shotgun_id: shotgunId,
      description: asText("description", required(entry, "description")),
      project_id: projectByName(entry, state.projects),
      entity_type_id: state.types.Episode,
    };
    return saveEntity(ctx, await byShotgunId(ctx.db, "entity", shotgunId, state.types.Episode), values, "Episode");
  },
};

const sequences: ShotgunImporter<EntityState & { episodes: Map<number, string> }> = {
  async prepare(ctx) {
    const state = await entityState(ctx);
    return { ...state, episodes: await shotgunIdMap(ctx.db, "entity", state.types.Episode) };
  },
  async importEntry(ctx, entry, state) {
    const shotgunId = shotgunIdOf(entry);
    const episodeShotgunId = linkId("episode", entry.episode);
    const values: Row = {
      name: asText("code", required(entry, "code")) ?? "",
      shotgun_id: shotgunId,
      description: asText("description", required(entry, "description")),
      project_id: projectByName(entry, state.projects),
      parent_id: episodeShotgunId === null ? null : (state.episodes.get(episodeShotgunId) ?? null),
      entity_type_id: state.types.Sequence,
    };
    const existing = await byShotgunId(ctx.db, "entity", shotgunId, state.types.Sequence);
    let similarQuery = ctx.db
      .selectFrom("entity")
      .selectAll()
      .where("name", "=", values.name)
      .where("project_id", "=", values.project_id)
      .where("entity_type_id", "=", state.types.Sequence);
    similarQuery = values.parent_id ? similarQuery.where("parent_id", "=", values.parent_id) : similarQuery.where("parent_id", "is", null);
    const similar = (await similarQuery.executeTakeFirst()) as Row | undefined;
    if (!existing && similar) {
      // A same-name sequence made by hand takes the Shotgun id.
      return saveEntity(ctx, similar, { description: values.description, shotgun_id: shotgunId }, "Sequence");
    }
    if (existing && similar && similar.id !== existing.id) {
      return saveEntity(ctx, existing, { description: values.description, shotgun_id: shotgunId }, "Sequence");
    }
    return saveEntity(ctx, existing, values, "Sequence");
  },
};

const scenes: ShotgunImporter<EntityState & { sequences: Map<number, string> }> = {
  async prepare(ctx) {
    const state = await entityState(ctx);
    return { ...state, sequences: await shotgunIdMap(ctx.db, "entity", state.types.Sequence) };
  },
  async importEntry(ctx, entry, state) {
    const shotgunId = shotgunIdOf(entry);
    const sequenceLinks = asList("sequence_sg_scenes_1_sequences", entry.sequence_sg_scenes_1_sequences);
    const sequenceShotgunId = sequenceLinks.length > 0 ? asInt("sequence_sg_scenes_1_sequences[0].id", sequenceLinks[0]!.id) : null;
    const values = {
      name: asText("code", required(entry, "code")) ?? "",
      shotgun_id: shotgunId,
      project_id: projectByName(entry, state.projects),
      entity_type_id: state.types.Scene,
      parent_id: sequenceShotgunId === null ? null : (state.sequences.get(sequenceShotgunId) ?? null),
    };
    return saveEntity(ctx, await byShotgunId(ctx.db, "entity", shotgunId, state.types.Scene), values, "Scene");
  },
};

interface ShotState extends EntityState {
  sequences: Map<number, string>;
  scenes: Map<number, string>;
  assets: Map<number, string>;
}

/** Asset rows (any non-reserved entity type) by Shotgun id. */
async function assetShotgunIds(db: Db, types: ReservedTypeIds): Promise<Map<number, string>> {
  const rows = await db
    .selectFrom("entity")
    .select(["id", "shotgun_id"])
    .where("shotgun_id", "is not", null)
    .where("entity_type_id", "not in", Object.values(types))
    .execute();
  return new Map(rows.map((row) => [Number(row.shotgun_id), row.id]));
}

const shots: ShotgunImporter<ShotState> = {
  async prepare(ctx) {
    const state = await entityState(ctx);
    return {
      ...state,
      sequences: await shotgunIdMap(ctx.db, "entity", state.types.Sequence),
      scenes: await shotgunIdMap(ctx.db, "entity", state.types.Scene),
      assets: await assetShotgunIds(ctx.db, state.types),
    };
  },
  async importEntry(ctx, entry, state) {
    const shotgunId = shotgunIdOf(entry);
    const frameIn = asNumber("sg_cut_in", required(entry, "sg_cut_in"));
    const duration = asNumber("sg_cut_duration", required(entry, "sg_cut_duration"));
    const frameOut = frameIn !== null && duration !== null ? frameIn + duration : frameIn;
    const sequenceShotgunId = linkId("sg_sequence", entry.sg_sequence);
    const sceneShotgunId = linkId("sg_scene", entry.sg_scene);
    const data = { ...customFields(entry, ["sg_cut_in", "sg_cut_out", "sg_sequence"]), frame_in: frameIn, frame_out: frameOut };
    const assetIds = asList("assets", entry.assets)
      .map((asset, index) => state.assets.get(asInt(`assets[${index}].id`, asset.id) ?? -1))
      .filter((id): id is string => Boolean(id));
    const values: Row = {
      name: asText("code", required(entry, "code")) ?? "",
      shotgun_id: shotgunId,
      project_id: projectByName(entry, state.projects),
      entity_type_id: state.types.Shot,
      parent_id: sequenceShotgunId === null ? null : (state.sequences.get(sequenceShotgunId) ?? null),
      source_id: sceneShotgunId === null ? null : (state.scenes.get(sceneShotgunId) ?? null),
    };
    const existing = await byShotgunId(ctx.db, "entity", shotgunId, state.types.Shot);
    const previousData = existing?.data ? (JSON.parse(existing.data) as Row) : {};
    values.data = { ...previousData, ...data };
    const result = await saveEntity(ctx, existing, values, "Shot");
    await setCasting(ctx.db, result.row.id, assetIds);
    return result;
  },
};

interface AssetState {
  types: ReservedTypeIds;
  projects: Map<number, string>;
  assetTypes: Map<string, string>;
  /** Parent asset Shotgun id → ids of its child assets. */
  children: Map<number, string[]>;
}

const assets: ShotgunImporter<AssetState> = {
  async prepare(ctx) {
    const assetTypes = new Map<string, string>();
    for (const entry of ctx.entries) {
      const name = asText("sg_asset_type", entry.sg_asset_type);
      if (name && !assetTypes.has(name)) assetTypes.set(name, (await entityTypeId(ctx.db, name, true))!);
    }
    return { types: await reservedTypeIds(ctx.db), projects: await shotgunIdMap(ctx.db, "project"), assetTypes, children: new Map() };
  },
  async importEntry(ctx, entry, state) {
    const shotgunId = shotgunIdOf(entry);
    const typeName = asText("sg_asset_type", required(entry, "sg_asset_type"));
    const projectShotgunId = linkId("project", required(entry, "project"));
    const parents = asList("parents", entry.parents).map((parent, index) => asInt(`parents[${index}].id`, parent.id));
    const values: Row = {
      name: asText("code", required(entry, "code")) ?? "",
      shotgun_id: shotgunId,
      description: asText("description", required(entry, "description")),
      entity_type_id: typeName ? state.assetTypes.get(typeName) : null,
      project_id: projectShotgunId === null ? null : (state.projects.get(projectShotgunId) ?? null),
    };
    const existing = (await ctx.db
      .selectFrom("entity")
      .selectAll()
      .where("shotgun_id", "=", shotgunId)
      .where("entity_type_id", "not in", Object.values(state.types))
      .executeTakeFirst()) as Row | undefined;
    if (!existing && (!values.entity_type_id || !values.project_id)) throw new SkipEntry("asset without type or project");
    if (!values.entity_type_id) delete values.entity_type_id;
    if (!values.project_id) delete values.project_id;
    const result = await saveEntity(ctx, existing, values, "Asset");
    for (const parent of parents) {
      if (parent === null) continue;
      const list = state.children.get(parent) ?? [];
      list.push(result.row.id);
      state.children.set(parent, list);
    }
    return result;
  },
  async finish(ctx, state) {
    // An asset may have several parents: the parents' casting lists their children.
    const assetIds = await assetShotgunIds(ctx.db, state.types);
    for (const [parentShotgunId, childIds] of state.children) {
      const parentId = assetIds.get(parentShotgunId);
      if (parentId) await setCasting(ctx.db, parentId, childIds);
    }
  },
};

const steps: ShotgunImporter = {
  async importEntry(ctx, entry) {
    const shotgunId = shotgunIdOf(entry);
    const code = asText("code", required(entry, "code")) ?? "";
    const color = rgbToHex(entry.color ?? "0,0,0");
    const forEntity = asText("entity_type", entry.entity_type) ?? "Asset";
    const departmentId = await getOrCreateByName(ctx.db, "department", code.split(" ")[0]!, color);
    const values: Row = {
      name: code,
      short_name: asText("short_name", entry.short_name) ?? "",
      shotgun_id: shotgunId,
      color,
      for_entity: forEntity,
      department_id: departmentId,
    };
    let existing = await byShotgunId(ctx.db, "task_type", shotgunId);
    if (!existing) {
      existing = (await ctx.db.selectFrom("task_type").selectAll().where("name", "=", code).where("for_entity", "=", forEntity).executeTakeFirst()) as
        | Row
        | undefined;
    } else {
      const same = await ctx.db
        .selectFrom("task_type")
        .select("id")
        .where("name", "=", code)
        .where("for_entity", "=", forEntity)
        .where("department_id", "=", departmentId)
        .executeTakeFirst();
      if (same) {
        delete values.name;
        delete values.for_entity;
        delete values.department_id;
      }
    }
    return { table: "task_type", row: await saveRow(ctx.db, "task_type", existing, values) };
  },
};

const status: ShotgunImporter = {
  async importEntry(ctx, entry) {
    const shotgunId = shotgunIdOf(entry);
    const values = {
      name: asText("name", required(entry, "name")) ?? "",
      short_name: asText("code", required(entry, "code")) ?? "",
      shotgun_id: shotgunId,
      color: rgbToHex(entry.bg_color ?? "0,0,0"),
    };
    let existing = await byShotgunId(ctx.db, "task_status", shotgunId);
    if (!existing) {
      existing = (await ctx.db.selectFrom("task_status").selectAll().where("short_name", "=", values.short_name).executeTakeFirst()) as Row | undefined;
    }
    return { table: "task_status", row: await saveRow(ctx.db, "task_status", existing, values) };
  },
};

interface TaskState {
  projects: Map<number, string>;
  persons: Map<number, string>;
  taskTypes: Map<number, string>;
  statuses: Map<string, string>;
  entities: Record<string, Map<number, string>>;
  defaultStatusId: string;
}

const tasks: ShotgunImporter<TaskState> = {
  async prepare(ctx) {
    const types = await reservedTypeIds(ctx.db);
    const statusRows = await ctx.db.selectFrom("task_status").select(["id", "short_name"]).execute();
    return {
      projects: await shotgunIdMap(ctx.db, "project"),
      persons: await shotgunIdMap(ctx.db, "person"),
      taskTypes: await shotgunIdMap(ctx.db, "task_type"),
      statuses: new Map(statusRows.map((row) => [row.short_name, row.id])),
      entities: {
        Asset: await assetShotgunIds(ctx.db, types),
        Shot: await shotgunIdMap(ctx.db, "entity", types.Shot),
        Scene: await shotgunIdMap(ctx.db, "entity", types.Scene),
        Sequence: await shotgunIdMap(ctx.db, "entity", types.Sequence),
        Episode: await shotgunIdMap(ctx.db, "entity", types.Episode),
      },
      defaultStatusId: (await defaultTaskStatus(ctx.db)).id,
    };
  },
  accept: (_ctx, entry) => required(entry, "step") !== null && required(entry, "project") !== null,
  async importEntry(ctx, entry, state) {
    const shotgunId = shotgunIdOf(entry);
    const entity = asLink("entity", required(entry, "entity"));
    const entityType = entity ? asText("entity.type", entity.type) : null;
    const entityShotgunId = entity ? asInt("entity.id", entity.id) : null;
    const entityId = entityType && entityShotgunId !== null ? state.entities[entityType]?.get(entityShotgunId) : undefined;
    const taskTypeId = state.taskTypes.get(linkId("step", entry.step) ?? -1);
    const projectId = state.projects.get(linkId("project", entry.project) ?? -1);
    if (!entityId || !taskTypeId || !projectId) throw new SkipEntry("unresolved entity, step or project");
    const statusName = asText("sg_status_list", required(entry, "sg_status_list"));
    const assignerShotgunId = linkId("created_by", required(entry, "created_by"));
    const assignees = asList("task_assignees", required(entry, "task_assignees"))
      .map((person, index) => state.persons.get(asInt(`task_assignees[${index}].id`, person.id) ?? -1))
      .filter((id): id is string => Boolean(id));
    const values: Row = {
      name: asText("cached_display_name", required(entry, "cached_display_name")) ?? "main",
      shotgun_id: shotgunId,
      start_date: asText("start_date", required(entry, "start_date")),
      due_date: asText("due_date", required(entry, "due_date")),
      sort_order: asInt("sg_sort_order", required(entry, "sg_sort_order")) ?? 0,
      duration: asNumber("duration", required(entry, "duration")) ?? 0,
      task_type_id: taskTypeId,
      task_status_id: (statusName && state.statuses.get(statusName)) || state.defaultStatusId,
      project_id: projectId,
      entity_id: entityId,
      assigner_id: assignerShotgunId === null ? null : (state.persons.get(assignerShotgunId) ?? null),
    };
    const sameKey = (await ctx.db
      .selectFrom("task")
      .selectAll()
      .where("name", "=", values.name)
      .where("project_id", "=", projectId)
      .where("task_type_id", "=", taskTypeId)
      .where("entity_id", "=", entityId)
      .executeTakeFirst()) as Row | undefined;
    const existing = (await byShotgunId(ctx.db, "task", shotgunId)) ?? sameKey;
    if (existing && sameKey) {
      // Another task already holds this (name, project, type, entity): keep those.
      for (const key of ["name", "project_id", "task_type_id", "entity_id"]) delete values[key];
    }
    const row = await saveRow(ctx.db, "task", existing, values);
    await setRelation(ctx.db, "task", "assignees", row.id, assignees);
    return { table: "task", row };
  },
};

const versions: ShotgunImporter<Map<number, string>> = {
  prepare: (ctx) => shotgunIdMap(ctx.db, "person"),
  accept: (_ctx, entry) => required(entry, "sg_task") !== null,
  async importEntry(ctx, entry, personsMap) {
    const shotgunId = shotgunIdOf(entry);
    const task = await byShotgunId(ctx.db, "task", linkId("sg_task", entry.sg_task));
    if (!task) throw new SkipEntry("unknown task");
    const userShotgunId = linkId("user", entry.user);
    const movie = asLink("sg_uploaded_movie", required(entry, "sg_uploaded_movie"));
    const values: Row = {
      name: asText("code", required(entry, "code")),
      shotgun_id: shotgunId,
      description: asText("description", required(entry, "description")),
      source: "Shotgun",
      task_id: task.id,
    };
    if (userShotgunId !== null) values.person_id = personsMap.get(userShotgunId) ?? null;
    if (movie) {
      values.uploaded_movie_url = asText("sg_uploaded_movie.url", movie.url);
      values.uploaded_movie_name = asText("sg_uploaded_movie.name", movie.name);
    }
    let existing = await byShotgunId(ctx.db, "preview_file", shotgunId);
    if (!existing && values.name !== null) {
      existing = (await ctx.db.selectFrom("preview_file").selectAll().where("name", "=", values.name).where("task_id", "=", task.id).executeTakeFirst()) as
        | Row
        | undefined;
    }
    return { table: "preview_file", row: await saveRow(ctx.db, "preview_file", existing, values) };
  },
};

const notes: ShotgunImporter<Map<number, string>> = {
  prepare: (ctx) => shotgunIdMap(ctx.db, "person"),
  async importEntry(ctx, entry, personsMap) {
    const shotgunId = shotgunIdOf(entry);
    const taskLinks = asList("tasks", required(entry, "tasks"));
    const task = taskLinks.length > 0 ? await byShotgunId(ctx.db, "task", asInt("tasks[0].id", taskLinks[0]!.id)) : undefined;
    if (!task) throw new SkipEntry("note not linked to a known task");
    const personId = personsMap.get(linkId("user", required(entry, "user")) ?? -1);
    if (!personId) throw new SkipEntry("unknown author");
    const createdAt = asText("created_at", required(entry, "created_at"));
    const values: Row = {
      text: asText("content", required(entry, "content")) ?? "",
      shotgun_id: shotgunId,
      object_id: task.id,
      object_type: "Task",
      person_id: personId,
      task_status_id: task.task_status_id,
    };
    if (createdAt) values.created_at = createdAt.slice(0, 19);
    const existing = await byShotgunId(ctx.db, "comment", shotgunId);
    if (existing) delete values.task_status_id;
    return { table: "comment", row: await saveRow(ctx.db, "comment", existing, values) };
  },
};

const projectConnections: ShotgunImporter = {
  async importEntry(ctx, entry) {
    const shotgunId = shotgunIdOf(entry);
    const projectShotgunId = linkId("project", required(entry, "project"));
    const userShotgunId = linkId("user", required(entry, "user"));
    const link = await ctx.db.selectFrom("project_person_link").selectAll().where("shotgun_id", "=", shotgunId).executeTakeFirst();
    let projectId = link?.project_id;
    if (!link) {
      const project = await byShotgunId(ctx.db, "project", projectShotgunId);
      const person = await byShotgunId(ctx.db, "person", userShotgunId);
      if (!project || !person) throw new SkipEntry("unknown project or person");
      projectId = project.id;
      const existing = await ctx.db
        .selectFrom("project_person_link")
        .select("person_id")
        .where("project_id", "=", project.id)
        .where("person_id", "=", person.id)
        .executeTakeFirst();
      if (existing) {
        await ctx.db.updateTable("project_person_link").set({ shotgun_id: shotgunId }).where("project_id", "=", project.id).where("person_id", "=", person.id).execute();
      } else {
        await ctx.db.insertInto("project_person_link").values({ project_id: project.id, person_id: person.id, shotgun_id: shotgunId, role: null } as any).execute();
      }
    }
    const project = (await ctx.db.selectFrom("project").selectAll().where("id", "=", projectId!).executeTakeFirstOrThrow()) as Row;
    return { table: "project", row: project };
  },
};

/** `POST /import/shotgun/<key>` → its importer. */
export const SHOTGUN_IMPORTERS: Record<string, ShotgunImporter> = {
  persons,
  projects,
  episodes,
  sequences,
  scenes,
  shots,
  assets,
  steps,
  status,
  tasks,
  versions,
  notes,
  "project-connections": projectConnections,
  projectconnections: projectConnections,
};
