/**
 * Crud rules (models.md §4.2, permissions.md §4.3–§4.5) of: task, comment, attachment file,
 * preview file, news, notification, subscription.
 */
import { sql } from "kysely";
import type { AppContext } from "../../context";
import type { RuleSet } from "./index";
import type { AnySelect, Dict, Row } from "../engine";
import { isTrue, serialize } from "../../db/serialize";
import { badRequest, forbidden } from "../../lib/errors";
import { isUuid, normalizeId, queryId, utcNow } from "../../lib/ids";
import {
  checkManagerProjectAccess,
  checkProjectAccess,
  checkTaskAccess,
  checkTaskActionAccess,
  effectiveRole,
  isAdmin,
  isMember,
  openMemberProjectIds,
  userDepartmentIds,
} from "../../services/permissions";
import {
  applyAssigneesDiff,
  assigneesByTask,
  defaultTaskStatus,
  entityKind,
  isAssignedTo,
  removePreviewFile,
  removeTask,
  vendorProjectIds,
  type TaskRow,
} from "../../services/tasks";
import {
  afterCommentEdit,
  checkCommentAccess,
  checkCommentDelete,
  checkStatusAccess,
  deleteComment,
  presentComment,
  type CommentRow,
} from "../../services/comments";
import { projectTaskReads } from "../../services/list-reads";
import { attachmentFileAccess, presentAttachmentRows, removeAttachmentFile } from "../../services/attachments";

const PLANNING_FIELDS = new Set(["priority", "start_date", "due_date", "estimation", "difficulty", "data"]);
const IGNORED_KEYS = new Set(["id", "created_at", "updated_at", "type", "project_id"]);

async function taskOf(c: AppContext, taskId: string | null): Promise<TaskRow | undefined> {
  if (!taskId) return undefined;
  return c.get("db").selectFrom("task").selectAll().where("id", "=", taskId).executeTakeFirst();
}

/** Keys of `body` whose value differs from the stored row (JSON compared by value). */
function changedKeys(row: Row, body: Dict): string[] {
  return Object.keys(body).filter((key) => {
    if (IGNORED_KEYS.has(key)) return false;
    if (!(key in row)) return true;
    const stored = serialize("comment", row)[key];
    return JSON.stringify(stored ?? null) !== JSON.stringify(body[key] ?? null);
  });
}

/** Supervisor (member) with no departments or the task type's department. */
async function isDepartmentSupervisor(c: AppContext, projectId: string, taskTypeId: string | null): Promise<boolean> {
  if (!(await isMember(c, projectId)) || (await effectiveRole(c, projectId)) !== "supervisor") return false;
  const departments = await userDepartmentIds(c);
  if (departments.length === 0) return true;
  if (!taskTypeId) return false;
  const taskType = await c.get("db").selectFrom("task_type").select("department_id").where("id", "=", taskTypeId).executeTakeFirst();
  return Boolean(taskType?.department_id && departments.includes(taskType.department_id));
}

/** Stashes per-request values between before/after hooks (keyed by the body object). */
const assigneesBefore = new WeakMap<object, string[]>();

export const taskRules: RuleSet = {
  task: {
    keepIdOnCreate: true,
    // One project's tasks (`?project_id=`, Kitsu's and gazu's project task lists) are kept.
    listReads: async (c) => {
      const projectId = c.req.query("project_id");
      if (!isUuid(projectId)) return null;
      return projectTaskReads(c.get("db"), c.get("user").id, normalizeId(projectId), c.req.query("episode_id") !== undefined);
    },
    list: async (c) => {
      const user = c.get("user");
      if (isAdmin(user)) return;
      if (user.role === "vendor") {
        return (q: AnySelect) =>
          q.where("task.id", "in", (eb: any) => eb.selectFrom("task_person_link").select("task_id").where("person_id", "=", user.id));
      }
      const projectIds = await openMemberProjectIds(c);
      if (projectIds.length === 0) return (q: AnySelect) => q.where(sql<boolean>`1 = 0`);
      const vendorProjects = await vendorProjectIds(c, projectIds);
      const assigned = (eb: any) => eb.selectFrom("task_person_link").select("task_id").where("person_id", "=", user.id);
      return (q: AnySelect) =>
        q.where("task.project_id", "in", projectIds).where((eb: any) =>
          vendorProjects.length === 0
            ? eb.val(true)
            : eb.or([eb("task.project_id", "not in", vendorProjects), eb("task.id", "in", assigned(eb))]));
    },
    extraFilters: {
      episode_id: (q, value) => {
        const episodeId = queryId(value);
        return q.where("task.entity_id", "in", (eb: any) =>
          eb.selectFrom("entity as shot")
            .innerJoin("entity as sequence", "sequence.id", "shot.parent_id")
            .select("shot.id")
            .where("sequence.parent_id", "=", episodeId));
      },
    },
    read: async (c, row) => {
      await checkTaskAccess(c, { project_id: row.project_id, entity_id: row.entity_id });
    },
    create: async (c, data) => {
      const db = c.get("db");
      let projectId = isUuid(data.project_id) ? normalizeId(String(data.project_id)) : null;
      if (!projectId && isUuid(data.entity_id)) {
        const entity = await db.selectFrom("entity").select("project_id").where("id", "=", normalizeId(String(data.entity_id))).executeTakeFirst();
        projectId = entity?.project_id ?? null;
      }
      if (!projectId) throw badRequest("project_id is required.");
      await checkManagerProjectAccess(c, projectId);
    },
    beforeCreate: async (c, values) => {
      const db = c.get("db");
      if (!values.name) values.name = "main";
      if (!values.entity_id) throw badRequest("entity_id is required.");
      if (!values.task_type_id) throw badRequest("task_type_id is required.");
      const entity = await db
        .selectFrom("entity")
        .innerJoin("entity_type", "entity_type.id", "entity.entity_type_id")
        .select(["entity.project_id", "entity_type.name"])
        .where("entity.id", "=", values.entity_id)
        .executeTakeFirst();
      const taskType = await db.selectFrom("task_type").select("for_entity").where("id", "=", values.task_type_id).executeTakeFirst();
      if (!entity || !taskType) throw badRequest("The change conflicts with records referencing this one.");
      if (!values.project_id) values.project_id = entity.project_id;
      if ((taskType.for_entity ?? "Asset") !== entityKind(entity.name)) {
        throw badRequest("The task type does not match the entity type.");
      }
      const duplicate = await db
        .selectFrom("task")
        .select("id")
        .where("name", "=", values.name)
        .where("project_id", "=", values.project_id)
        .where("task_type_id", "=", values.task_type_id)
        .where("entity_id", "=", values.entity_id)
        .executeTakeFirst();
      if (duplicate) throw badRequest("Task already exists.");
      if (!values.task_status_id) values.task_status_id = (await defaultTaskStatus(db, entity.name === "Concept")).id;
      // Zou's generic create leaves the assigner empty unless the body gives one.
    },
    update: async (c, row, data) => {
      if (isAdmin(c.get("user"))) return;
      await checkProjectAccess(c, row.project_id);
      const role = await effectiveRole(c, row.project_id);
      if (role === "manager") return;
      if (role === "supervisor") {
        const keys = Object.keys(data).filter((key) => !IGNORED_KEYS.has(key));
        if (keys.every((key) => PLANNING_FIELDS.has(key)) && (await isDepartmentSupervisor(c, row.project_id, row.task_type_id))) return;
      }
      throw forbidden();
    },
    beforeUpdate: async (c, row, values, body) => {
      if (values.data !== undefined && values.data !== null) {
        const stored = (typeof row.data === "string" ? JSON.parse(row.data) : row.data) ?? {};
        const sent = JSON.parse(String(values.data));
        values.data = JSON.stringify({ ...(typeof stored === "object" ? stored : {}), ...(typeof sent === "object" ? sent : {}) });
      }
      if (values.task_status_id && values.task_status_id !== row.task_status_id) {
        const status = await c.get("db").selectFrom("task_status").select("is_feedback_request").where("id", "=", values.task_status_id).executeTakeFirst();
        if (status && isTrue(status.is_feedback_request)) values.end_date = utcNow();
      }
      if ("assignees" in body) assigneesBefore.set(body, (await assigneesByTask(c.get("db"), [row.id])).get(row.id) ?? []);
    },
    afterUpdate: async (c, row, _previous, body) => {
      const before = assigneesBefore.get(body);
      if (before) {
        const after = (await assigneesByTask(c.get("db"), [row.id])).get(row.id) ?? [];
        await applyAssigneesDiff(c, row as TaskRow, before, after);
      }
    },
    delete: async (c, row) => {
      await checkManagerProjectAccess(c, row.project_id);
    },
    customDelete: async (c, row) => {
      const force = (c.req.query("force") ?? "").toLowerCase() === "true";
      await removeTask(c, row as TaskRow, force);
      return true;
    },
  },

  comment: {
    readMalformedIdAsNotFound: true,
    protectedOnUpdate: ["mentions", "department_mentions", "acknowledgements", "previews", "attachment_files", "object_id", "object_type", "person_id", "editor_id"],
    read: async (c, row) => {
      const task = await taskOf(c, row.object_id);
      if (!task) {
        if (!isAdmin(c.get("user"))) throw forbidden();
        return;
      }
      await checkCommentAccess(c, row as CommentRow, task);
    },
    present: async (c, row, dict, mode) => {
      if (mode !== "read") return dict;
      const relations = (c.req.query("relations") ?? "true").toLowerCase() === "true";
      const withPreviews = (c.req.query("with_previews") ?? "").toLowerCase() === "true";
      const task = await taskOf(c, row.object_id);
      const role = task && !isAdmin(c.get("user")) ? await effectiveRole(c, task.project_id) : "admin";
      return presentComment(c, row as CommentRow, { relations, withPreviews, role });
    },
    update: async (c, row, data) => {
      const user = c.get("user");
      if (isAdmin(user)) return;
      const task = await taskOf(c, row.object_id);
      if (!task) throw forbidden();
      const role = await checkProjectAccess(c, task.project_id);
      if (role === "manager") return;
      const changed = changedKeys(row, data);
      if (changed.includes("for_client")) throw forbidden();
      if (row.person_id === user.id) {
        if (changed.includes("task_status_id")) {
          const statusId = isUuid(data.task_status_id) ? normalizeId(String(data.task_status_id)) : null;
          const status = statusId ? await c.get("db").selectFrom("task_status").selectAll().where("id", "=", statusId).executeTakeFirst() : undefined;
          if (!status) throw badRequest("Unknown task status.");
          await checkTaskActionAccess(c, { id: task.id, project_id: task.project_id!, entity_id: task.entity_id!, task_type_id: task.task_type_id! });
          checkStatusAccess(role, status);
        }
        return;
      }
      if (changed.some((key) => key !== "pinned" && key !== "checklist")) throw forbidden();
      const departmentSupervisor = await isDepartmentSupervisor(c, task.project_id!, task.task_type_id);
      if (changed.includes("pinned") && !departmentSupervisor) throw forbidden();
      if (changed.includes("checklist") && !departmentSupervisor && !(await isAssignedTo(c.get("db"), task.id, user.id))) throw forbidden();
    },
    beforeUpdate: async (c, _row, values) => {
      values.editor_id = c.get("user").id;
    },
    afterUpdate: async (c, row, previous) => {
      await afterCommentEdit(c, row as CommentRow, previous as CommentRow);
    },
    delete: async (c, row) => {
      await checkCommentDelete(c, row as CommentRow, await taskOf(c, row.object_id));
    },
    customDelete: async (c, row) => {
      await deleteComment(c, row as CommentRow);
      return true;
    },
  },

  attachment_file: {
    read: async (c, row) => {
      await attachmentFileAccess(c, row as any);
    },
    present: async (c, row) => (await presentAttachmentRows(c, [row]))[0]!,
    presentList: (c, rows) => presentAttachmentRows(c, rows),
    beforeDelete: async (c, row) => {
      await removeAttachmentFile(c, row.id);
    },
  },

  preview_file: {
    list: async (c) => {
      const user = c.get("user");
      if (isAdmin(user)) return;
      const projectIds = await openMemberProjectIds(c);
      if (projectIds.length === 0) return (q: AnySelect) => q.where(sql<boolean>`1 = 0`);
      const vendorProjects = await vendorProjectIds(c, projectIds);
      const others = projectIds.filter((id) => !vendorProjects.includes(id));
      return (q: AnySelect) =>
        q.where((eb: any) => {
          const visible = [];
          if (others.length) {
            visible.push(eb("preview_file.task_id", "in", eb.selectFrom("task").select("task.id").where("task.project_id", "in", others)));
          }
          if (vendorProjects.length) {
            visible.push(eb("preview_file.task_id", "in", eb.selectFrom("task")
              .innerJoin("task_person_link", "task_person_link.task_id", "task.id")
              .select("task.id")
              .where("task.project_id", "in", vendorProjects)
              .where("task_person_link.person_id", "=", user.id)));
          }
          return eb.or(visible);
        });
    },
    read: async (c, row) => {
      if (isAdmin(c.get("user"))) return;
      const task = await taskOf(c, row.task_id);
      if (!task) throw forbidden();
      const role = await checkProjectAccess(c, task.project_id);
      if (role === "vendor" && !(await isAssignedTo(c.get("db"), task.id, c.get("user").id))) throw forbidden();
    },
    update: async (c, row) => {
      if (isAdmin(c.get("user"))) return;
      const task = await taskOf(c, row.task_id);
      if (!task) throw forbidden();
      const role = await checkProjectAccess(c, task.project_id);
      if (role === "manager") return;
      if (!(await isAssignedTo(c.get("db"), task.id, c.get("user").id))) throw forbidden();
    },
    beforeUpdate: async (c, row, values) => {
      if (values.revision === undefined || values.revision === null || Number(values.revision) === Number(row.revision)) return;
      if (Number(row.position ?? 1) !== 1 || !row.task_id) return;
      const taken = await c
        .get("db")
        .selectFrom("preview_file")
        .select("id")
        .where("task_id", "=", row.task_id)
        .where("revision", "=", Number(values.revision))
        .where("position", "=", 1)
        .where("id", "!=", row.id)
        .executeTakeFirst();
      if (taken) throw badRequest(`Revision ${values.revision} already exists for this task.`);
    },
    afterUpdate: async (c, row, previous) => {
      if (Number(row.revision) === Number(previous.revision) || Number(previous.position ?? 1) !== 1 || !row.task_id) return;
      await c
        .get("db")
        .updateTable("preview_file")
        .set({ revision: row.revision, updated_at: utcNow() })
        .where("task_id", "=", row.task_id)
        .where("revision", "=", previous.revision)
        .where("id", "!=", row.id)
        .execute();
    },
    delete: async (c, row) => {
      const task = await taskOf(c, row.task_id);
      if (!task) {
        if (!isAdmin(c.get("user"))) throw forbidden();
        return;
      }
      await checkManagerProjectAccess(c, task.project_id);
    },
    customDelete: async (c, row) => {
      await removePreviewFile(c, row.id, (c.req.query("force") ?? "").toLowerCase() === "true");
      return true;
    },
  },
};
