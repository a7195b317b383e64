/**
 * Crud rules of the studio reference data (models.md §4.2): departments, studios, project statuses,
 * task types, task statuses, entity (asset) types, output types, file statuses, softwares, hardware
 * items, custom actions, status automations, preview background files, salary scales, project
 * templates, search filters (+ groups), plugins and the event log (api_event).
 */
import type { AppContext } from "../../context";
import type { Db } from "../../db/database";
import { transact } from "../../db/transaction";
import { chunks } from "../../lib/chunks";
import { ApiError, badRequest } from "../../lib/errors";
import { newId, utcNow } from "../../lib/ids";
import { blockVendor, checkAdmin, checkManager } from "../../services/permissions";
import type { Dict, Row } from "../engine";
import type { ModelRules, RuleSet } from "./index";

/** 400 `{message}` (no `error` key), as Zou's crud answers its own refusals. */
function refused(message: string): ApiError {
  return new ApiError(400, { message });
}

const anyUser = async () => {};
/** List and read open to every logged-in user; writes stay admin-only. */
const readable: ModelRules = { list: anyUser, read: anyUser, readDependsOn: [] };

/** `?force=true` on a delete. */
export function forceParam(c: AppContext): boolean {
  return (c.req.query("force") ?? "").toLowerCase() === "true";
}

/** Is `name` already used by another row of `table` (exact or case-insensitive match)? */
async function nameTaken(
  db: Db,
  table: "task_type" | "entity_type" | "preview_background_file" | "project_template",
  name: unknown,
  options: { exceptId?: string; caseInsensitive?: boolean } = {},
): Promise<boolean> {
  if (typeof name !== "string") return false;
  let query = db.selectFrom(table).select("id");
  query = options.caseInsensitive ? query.where((eb) => eb(eb.fn("lower", ["name"]), "=", name.toLowerCase())) : query.where("name", "=", name);
  if (options.exceptId) query = query.where("id", "!=", options.exceptId);
  return Boolean(await query.executeTakeFirst());
}

const taskType: ModelRules = {
  ...readable,
  beforeCreate: async (c, values) => {
    if (await nameTaken(c.get("db"), "task_type", values.name)) throw badRequest("A task type with similar name already exists");
  },
  beforeUpdate: async (c, row, values) => {
    if (await nameTaken(c.get("db"), "task_type", values.name, { exceptId: row.id })) {
      throw badRequest("A task type with similar name already exists");
    }
  },
  // Used by schedule items or workflows (projects, templates): refused unless ?force=true, which
  // removes those uses first. The task type also leaves the asset types listing it.
  beforeDelete: async (c, row) => {
    const db = c.get("db");
    const uses = [
      db.selectFrom("schedule_item").select("id").where("task_type_id", "=", row.id),
      db.selectFrom("project_task_type_link").select("id").where("task_type_id", "=", row.id),
      db.selectFrom("project_template_task_type_link").select("id").where("task_type_id", "=", row.id),
    ];
    const used = (await Promise.all(uses.map((q) => q.executeTakeFirst()))).some(Boolean);
    if (used && !forceParam(c)) {
      throw badRequest("This task type is used in schedules or project workflows. Use force=true to delete it anyway.");
    }
    await db.deleteFrom("schedule_item").where("task_type_id", "=", row.id).execute();
    await db.deleteFrom("project_task_type_link").where("task_type_id", "=", row.id).execute();
    await db.deleteFrom("project_template_task_type_link").where("task_type_id", "=", row.id).execute();
    await db.deleteFrom("task_type_asset_type_link").where("task_type_id", "=", row.id).execute();
  },
};

/**
 * Flagging a status as default unflags the current default of the same family (normal tasks or
 * concept tasks). Zou unflags the first default found whatever its family; we keep one default per family.
 */
async function clearOtherDefaultStatus(c: AppContext, row: Row): Promise<void> {
  if (!row.is_default) return;
  const forConcept = Boolean(row.for_concept);
  await c
    .get("db")
    .updateTable("task_status")
    .set({ is_default: false, updated_at: utcNow() } as never)
    .where("id", "!=", row.id)
    .where("is_default", "=", true as never)
    .where((eb) => (forConcept ? eb("for_concept", "=", true as never) : eb.or([eb("for_concept", "=", false as never), eb("for_concept", "is", null)])))
    .execute();
}

const taskStatus: ModelRules = {
  ...readable,
  afterCreate: async (c, row) => clearOtherDefaultStatus(c, row),
  afterUpdate: async (c, row) => clearOtherDefaultStatus(c, row),
};

const entityType: ModelRules = {
  ...readable,
  event: () => ({ name: "asset-type", key: "asset_type_id" }),
  relationsOnUpdate: true,
  beforeCreate: async (c, values) => {
    if (await nameTaken(c.get("db"), "entity_type", values.name, { caseInsensitive: true })) {
      throw badRequest("Entity type with this name already exists");
    }
  },
  beforeUpdate: async (c, row, values) => {
    if (await nameTaken(c.get("db"), "entity_type", values.name, { exceptId: row.id, caseInsensitive: true })) {
      throw badRequest("Entity type with this name already exists");
    }
  },
};

const notVendorList: ModelRules = { list: async (c) => blockVendor(c) };

const customAction: ModelRules = {
  ...notVendorList,
  beforeCreate: async (_c, values) => {
    if (typeof values.name !== "string" || values.name.trim() === "") throw badRequest("name is required");
  },
  beforeUpdate: async (_c, _row, values) => {
    if ("name" in values && (typeof values.name !== "string" || values.name.trim() === "")) throw badRequest("name cannot be empty");
  },
};

const statusAutomation: ModelRules = {
  ...notVendorList,
  beforeDelete: async (c, row) => {
    const link = await c
      .get("db")
      .selectFrom("project_status_automation_link")
      .select("project_id")
      .where("status_automation_id", "=", row.id)
      .executeTakeFirst();
    if (link) throw refused("This automation is used in a project.");
  },
};

/** is_default=true on one background file resets the flag on every other one. */
async function resetOtherDefaultBackgrounds(c: AppContext, row: Row): Promise<void> {
  if (!row.is_default) return;
  await c
    .get("db")
    .updateTable("preview_background_file")
    .set({ is_default: false } as never)
    .where("id", "!=", row.id)
    .where("is_default", "=", true as never)
    .execute();
}

const previewBackgroundFile: ModelRules = {
  ...readable,
  beforeCreate: async (c, values) => {
    if (await nameTaken(c.get("db"), "preview_background_file", values.name)) {
      throw badRequest("A preview background file with similar name already exists");
    }
  },
  beforeUpdate: async (c, row, values) => {
    if (await nameTaken(c.get("db"), "preview_background_file", values.name, { exceptId: row.id })) {
      throw badRequest("A preview background file with similar name already exists");
    }
  },
  afterCreate: async (c, row) => resetOtherDefaultBackgrounds(c, row),
  afterUpdate: async (c, row) => resetOtherDefaultBackgrounds(c, row),
  // Projects or templates still using the file make the delete fail (foreign keys, 400). The
  // stored image and its thumbnail go after commit when REMOVE_FILES is on (crud engine).
};

const POSITIONS = ["supervisor", "lead", "artist"];
const SENIORITIES = ["senior", "mid", "junior"];

/** Creates the missing department × position × seniority salary scales (salary 0). */
export async function ensureSalaryScales(db: Db): Promise<void> {
  const departments = await db.selectFrom("department").select("id").execute();
  const scales = await db.selectFrom("salary_scale").select(["department_id", "position", "seniority"]).execute();
  const present = new Set(scales.map((s) => `${s.department_id}/${s.position}/${s.seniority}`));
  const now = utcNow();
  const missing = [];
  for (const department of departments) {
    for (const position of POSITIONS) {
      for (const seniority of SENIORITIES) {
        if (present.has(`${department.id}/${position}/${seniority}`)) continue;
        missing.push({ id: newId(), created_at: now, updated_at: now, department_id: department.id, position, seniority, salary: 0 });
      }
    }
  }
  for (const part of chunks(missing, 200)) await db.insertInto("salary_scale").values(part as never).execute();
}

const salaryScale: ModelRules = {
  list: async (c) => {
    checkAdmin(c);
    await transact(c, (db) => ensureSalaryScales(db));
  },
  create: async (c) => {
    checkAdmin(c);
    throw badRequest("Salary scales cannot be created");
  },
  protectedOnUpdate: ["department_id"],
};

/** Template columns a create takes: name, description, production settings, file tree, data, descriptors. */
const TEMPLATE_CREATE_KEYS = new Set([
  "name", "description", "fps", "ratio", "resolution", "production_type", "production_style", "max_retakes",
  "is_clients_isolated", "is_preview_download_allowed", "is_set_preview_automated", "is_publish_default_for_artists",
  "is_single_preview_per_revision", "is_frame_in_numbering", "revision_padding", "homepage",
  "hd_bitrate_compression", "ld_bitrate_compression", "file_tree", "data", "metadata_descriptors",
]);
const TEMPLATE_DUPLICATE = "A project template with this name already exists";

const projectTemplate: ModelRules = {
  list: async (c) => checkManager(c),
  read: async (c) => checkManager(c),
  relationsOnCreate: false,
  protectedOnUpdate: ["type", "task_types", "task_statuses", "asset_types", "status_automations"],
  prepareBody: async (_c, body, mode) => {
    if (mode === "update") return body;
    const kept: Dict = {};
    for (const [key, value] of Object.entries(body)) {
      if (TEMPLATE_CREATE_KEYS.has(key) && !(key === "production_style" && value === null)) kept[key] = value;
    }
    if (typeof kept.name !== "string" || kept.name.trim() === "") throw refused("name is required");
    return kept;
  },
  beforeCreate: async (c, values) => {
    if (await nameTaken(c.get("db"), "project_template", values.name)) throw refused(TEMPLATE_DUPLICATE);
  },
  beforeUpdate: async (c, row, values) => {
    if (await nameTaken(c.get("db"), "project_template", values.name, { exceptId: row.id })) throw refused(TEMPLATE_DUPLICATE);
  },
};

export const referenceRules: RuleSet = {
  department: readable,
  studio: readable,
  project_status: readable,
  task_type: taskType,
  task_status: taskStatus,
  entity_type: entityType,
  output_type: readable,
  file_status: readable,
  software: readable,
  custom_action: customAction,
  status_automation: statusAutomation,
  preview_background_file: previewBackgroundFile,
  salary_scale: salaryScale,
  project_template: projectTemplate,
  // Admin-only models served by the engine's defaults: hardware_item, search_filter,
  // search_filter_group, plugin. The event log lists at most 1000 rows without paging (as Zou).
  api_event: { maxListRows: 1000 },
};
