/** Crud rules of: project and its settings (milestones, schedule items, budgets, production schedule versions, metadata descriptors, task type/status links). */
import { forgetStoredFilesOfRows } from "../../services/stored-files";
import { sql } from "kysely";
import type { AppContext } from "../../context";
import { serialize } from "../../db/serialize";
import { badRequest, badRequestPlain, forbidden } from "../../lib/errors";
import { isUuid, normalizeId } from "../../lib/ids";
import {
  checkAdmin,
  checkManagerProjectAccess,
  checkProjectAccess,
  isAdmin,
  openMemberProjectIds,
  projectLink,
  userDepartmentIds,
} from "../../services/permissions";
import * as projects from "../../services/projects";
import type { AnySelect, Dict, Row } from "../engine";
import type { RuleSet } from "./index";

const PRODUCTION_STYLES = ["2d", "2dpaper", "3d", "2d3d", "ar", "vfx", "stop-motion", "motion-design", "archviz", "commercial", "catalog", "immersive", "nft", "video-game", "vr"];

/** Zou's project field checks (production_style, resolution), on the raw body. */
function checkProjectBody(body: Dict): void {
  if ("production_style" in body) {
    if (body.production_style === null) body.production_style = "2d3d";
    if (typeof body.production_style !== "string" || !PRODUCTION_STYLES.includes(body.production_style)) {
      throw badRequest("Invalid production_style");
    }
  }
  const resolution = body.resolution;
  if (resolution !== undefined && resolution !== null && resolution !== "") {
    if (typeof resolution !== "string" || !/^(\d{3,4}x\d{3,4}|x\d{3,4})$/.test(resolution)) {
      throw badRequest(`Invalid resolution ${String(resolution)}. Expected format: '1920x1080' or 'x1080'.`);
    }
  }
}

/** A crud body's `project_id`: required, well formed and existing (400 otherwise). */
async function bodyProjectId(c: AppContext, body: Dict): Promise<string> {
  const raw = body.project_id;
  if (!isUuid(raw)) throw badRequest("A valid project_id is required.");
  const id = normalizeId(raw);
  const found = await c.get("db").selectFrom("project").select("id").where("id", "=", id).executeTakeFirst();
  if (!found) throw badRequest(`Project ${id} not found.`);
  return id;
}

/** Members of the project who are neither vendors nor clients. */
async function checkScheduleReader(c: AppContext, projectId: string): Promise<void> {
  const role = await checkProjectAccess(c, projectId);
  if (role === "vendor" || role === "client") throw forbidden();
}

/** Scope of a list to one project given as `?project_id=` (readers only), else admin-only. */
function projectScopedList(check: (c: AppContext, projectId: string) => Promise<void>) {
  return async (c: AppContext) => {
    const raw = c.req.query("project_id");
    if (raw === undefined) {
      checkAdmin(c);
      return;
    }
    if (!isUuid(raw)) throw badRequest("One of the ID sent in parameter is not properly formatted.");
    await projectLinkOr403(c, normalizeId(raw));
    await check(c, normalizeId(raw));
  };
}

/** Unknown project ids read as a refusal on list filters. */
async function projectLinkOr403(c: AppContext, projectId: string): Promise<void> {
  if (isAdmin(c.get("user"))) return;
  try {
    await projectLink(c, projectId);
  } catch {
    throw forbidden();
  }
}

const noRows = (q: AnySelect) => q.where(sql<boolean>`1 = 0`);

export const productionRules: RuleSet = {
  project: {
    list: async (c) => {
      if (isAdmin(c.get("user"))) return;
      const ids = await openMemberProjectIds(c);
      return ids.length ? (q) => q.where("project.id", "in", ids) : noRows;
    },
    read: async (c, row) => {
      await checkProjectAccess(c, row.id);
    },
    create: async (c, body) => {
      checkAdmin(c);
      checkProjectBody(body);
      if (body.project_template_id !== undefined && body.project_template_id !== null && !isUuid(body.project_template_id)) {
        throw badRequest("Wrong project_template_id.");
      }
    },
    update: async (c, row, body) => {
      await checkManagerProjectAccess(c, row.id);
      checkProjectBody(body);
    },
    delete: async (c, row) => {
      if (await projects.isProjectOpen(c.get("db"), row)) throw badRequestPlain("Only closed projects can be deleted");
      checkAdmin(c);
    },
    extraKeys: ["project_template_id"],
    protectedOnUpdate: ["team"],
    beforeCreate: async (c, values) => {
      if (!values.project_status_id) values.project_status_id = await projects.getOrCreateProjectStatusId(c.get("db"), "Open");
      if (values.production_style === null || values.production_style === undefined) values.production_style = "2d3d";
    },
    afterCreate: async (c, row, body) => {
      if (body.project_template_id) await projects.applyTemplate(c, row.id, normalizeId(body.project_template_id as string), body);
      const current = await c.get("db").selectFrom("project").select("production_type").where("id", "=", row.id).executeTakeFirstOrThrow();
      if (current.production_type === "tvshow") await projects.ensureFirstEpisode(c, row.id);
      await projects.copyProjectDescriptors(c, row.id);
    },
    afterUpdate: async (c, row) => {
      if (row.production_type === "tvshow") await projects.ensureFirstEpisode(c, row.id);
    },
    customDelete: async (c, row) => {
      if ((c.req.query("force") ?? "").toLowerCase() !== "true") return false;
      await forgetStoredFilesOfRows(c, await projects.removeProjectData(c.get("db"), row.id));
      await projects.emit(c, "project:delete", { project_id: row.id }, null);
      return true;
    },
    present: async (c, row, dict, mode) => {
      if (mode === "read") return projects.presentProjectDetail(c, row);
      if (mode === "create" || mode === "update") {
        const current = (await c.get("db").selectFrom("project").selectAll().where("id", "=", row.id).executeTakeFirst()) as Row | undefined;
        const result: Dict = current ? { ...dict, ...serialize("project", current) } : dict;
        if (result.production_type === "tvshow") {
          const episode = await projects.firstEpisodeId(c.get("db"), row.id);
          if (episode) result.first_episode_id = episode;
        }
        return result;
      }
      return dict;
    },
  },

  milestone: {
    read: async (c, row) => {
      await checkScheduleVendor(c, row.project_id);
    },
    create: async (c, body) => {
      await checkManagerProjectAccess(c, await bodyProjectId(c, body));
    },
    update: async (c, row) => {
      await checkManagerProjectAccess(c, row.project_id);
    },
    delete: async (c, row) => {
      await checkManagerProjectAccess(c, row.project_id);
    },
  },

  schedule_item: {
    update: async (c, row, body) => {
      await checkSupervisorTaskTypeAccess(c, row.project_id, row.task_type_id);
      if (typeof body.man_days === "string") delete body.man_days;
    },
    beforeCreate: async (c, values) => {
      let query = c.get("db").selectFrom("schedule_item").select("id");
      for (const key of ["project_id", "task_type_id", "object_id"]) {
        query = values[key] ? query.where(key as any, "=", values[key]) : query.where(key as any, "is", null);
      }
      if (await query.executeTakeFirst()) throw badRequest("A similar schedule item already exists");
    },
  },

  budget: { protectedOnUpdate: ["revision"] },
  budget_entry: { protectedOnUpdate: ["budget_id"] },

  production_schedule_version: {
    list: projectScopedList(checkScheduleReader),
    read: async (c, row) => {
      await checkScheduleReader(c, row.project_id);
    },
    create: async (c, body) => {
      await checkManagerProjectAccess(c, await bodyProjectId(c, body));
    },
    update: async (c, row) => {
      await checkManagerProjectAccess(c, row.project_id);
    },
    beforeDelete: async (c, row) => {
      await projects.detachScheduleVersion(c, row);
    },
  },

  production_schedule_version_task_link: {
    list: projectScopedList(checkScheduleReader),
    extraFilters: {
      project_id: (q, value) =>
        q.where("production_schedule_version_task_link.production_schedule_version_id", "in", (eb: any) =>
          eb.selectFrom("production_schedule_version").select("production_schedule_version.id").where("production_schedule_version.project_id", "=", normalizeId(value)),
        ),
    },
    read: async (c, row) => {
      await checkScheduleReader(c, await versionProjectId(c, row.production_schedule_version_id));
    },
    create: async (c, body) => {
      if (!isUuid(body.production_schedule_version_id)) throw badRequest("A valid production_schedule_version_id is required.");
      if (!isUuid(body.task_id)) throw badRequest("A valid task_id is required.");
      const db = c.get("db");
      const version = await db.selectFrom("production_schedule_version").select("project_id").where("id", "=", normalizeId(body.production_schedule_version_id)).executeTakeFirst();
      if (!version) throw badRequest("Production schedule version not found.");
      await checkManagerProjectAccess(c, version.project_id);
      const task = await db.selectFrom("task").select("project_id").where("id", "=", normalizeId(body.task_id)).executeTakeFirst();
      if (!task) throw badRequest("Task not found.");
      if (task.project_id !== version.project_id) throw badRequest("Task and production schedule version must belong to the same project.");
    },
    update: async (c, row) => {
      await checkManagerProjectAccess(c, await versionProjectId(c, row.production_schedule_version_id));
    },
    delete: async (c, row) => {
      await checkManagerProjectAccess(c, await versionProjectId(c, row.production_schedule_version_id));
    },
    protectedOnUpdate: ["task_id", "production_schedule_version_id"],
  },

  metadata_descriptor: {
    list: async (c) => {
      if (isAdmin(c.get("user"))) return;
      const ids = await openMemberProjectIds(c);
      return ids.length ? (q) => q.where("metadata_descriptor.project_id", "in", ids) : noRows;
    },
    create: async (c, body) => {
      checkAdmin(c);
      if ("data_type" in body && body.data_type !== null) projects.checkDataType(body.data_type);
    },
    update: async (c, _row, body) => {
      checkAdmin(c);
      if ("data_type" in body && body.data_type !== null) projects.checkDataType(body.data_type);
    },
    // The plain list carries the department ids of each descriptor.
    relationsInPlainList: true,
  },
};

async function versionProjectId(c: AppContext, versionId: string): Promise<string> {
  const version = await c.get("db").selectFrom("production_schedule_version").select("project_id").where("id", "=", versionId).executeTakeFirstOrThrow();
  return version.project_id;
}

/** Project members who are not vendors (milestone reads). */
async function checkScheduleVendor(c: AppContext, projectId: string | null): Promise<void> {
  const role = await checkProjectAccess(c, projectId);
  if (role === "vendor") throw forbidden();
}

/** `check_supervisor_project_task_type_access`: admin, manager, or supervisor of the task type's department. */
async function checkSupervisorTaskTypeAccess(c: AppContext, projectId: string | null, taskTypeId: string | null): Promise<void> {
  if (isAdmin(c.get("user"))) return;
  const role = await checkProjectAccess(c, projectId);
  if (role === "manager") return;
  if (role === "supervisor") {
    const departments = await userDepartmentIds(c);
    if (departments.length === 0) return;
    const taskType = taskTypeId
      ? await c.get("db").selectFrom("task_type").select("department_id").where("id", "=", taskTypeId).executeTakeFirst()
      : undefined;
    if (taskType?.department_id && departments.includes(taskType.department_id)) return;
  }
  throw forbidden();
}

