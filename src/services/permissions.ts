/**
 * The one place that computes a person's effective role on a project (permissions.md §1.3) and the
 * checks every route asks. Each check throws Zou's 403 (or 404 for an unknown project).
 */
import type { AppContext, PersonRow } from "../context";
import { forbidden, notFound } from "../lib/errors";

export type Role = "admin" | "manager" | "supervisor" | "user" | "client" | "vendor";

export function isAdmin(user: Pick<PersonRow, "role">): boolean {
  return user.role === "admin";
}

/** Global role is admin or manager ("studio manager or admin"). */
export function isManagerGlobally(user: Pick<PersonRow, "role">): boolean {
  return user.role === "admin" || user.role === "manager";
}

/**
 * The caller's team link on a project: `undefined` when not a member, else the link role
 * (null = inherits the global role). Memoised per request. 404 when the project does not exist.
 */
export async function projectLink(c: AppContext, projectId: string): Promise<string | null | undefined> {
  const memo = c.get("projectRoles");
  if (memo.has(projectId)) return memo.get(projectId);
  const db = c.get("db");
  const user = c.get("user");
  const row = await db
    .selectFrom("project")
    .leftJoin("project_person_link", (join) =>
      join.onRef("project_person_link.project_id", "=", "project.id").on("project_person_link.person_id", "=", user.id),
    )
    .select(["project.id as project_id", "project_person_link.person_id", "project_person_link.role"])
    .where("project.id", "=", projectId)
    .executeTakeFirst();
  if (!row) throw notFound();
  const link = row.person_id ? (row.role ?? null) : undefined;
  memo.set(projectId, link);
  return link;
}

/** True when the caller is in the project team (admins are not members by default). */
export async function isMember(c: AppContext, projectId: string): Promise<boolean> {
  return (await projectLink(c, projectId)) !== undefined;
}

/**
 * The caller's effective role on a project: `admin` for global admins; the link role for members
 * with one; else the global role. For non-members returns the global role (callers check membership).
 */
export async function effectiveRole(c: AppContext, projectId: string | null | undefined): Promise<Role> {
  const user = c.get("user");
  if (isAdmin(user) || !projectId) return user.role as Role;
  const link = await projectLink(c, projectId);
  if (link && link !== "admin") return link as Role;
  return user.role as Role;
}

export function checkAdmin(c: AppContext): void {
  if (!isAdmin(c.get("user"))) throw forbidden();
}

/** Global role admin or manager. */
export function checkManager(c: AppContext): void {
  if (!isManagerGlobally(c.get("user"))) throw forbidden();
}

/** Admin, or member of the project (any role). Returns the effective role. */
export async function checkProjectAccess(c: AppContext, projectId: string | null | undefined): Promise<Role> {
  const user = c.get("user");
  if (isAdmin(user)) return "admin";
  if (!projectId || !(await isMember(c, projectId))) throw forbidden();
  return effectiveRole(c, projectId);
}

/** Admin, or a member whose effective role is manager. */
export async function checkManagerProjectAccess(c: AppContext, projectId: string | null | undefined): Promise<Role> {
  const role = await checkProjectAccess(c, projectId);
  if (role !== "admin" && role !== "manager") throw forbidden();
  return role;
}

/** Admin, or a member whose effective role is manager or supervisor. */
export async function checkSupervisorProjectAccess(c: AppContext, projectId: string | null | undefined): Promise<Role> {
  const role = await checkProjectAccess(c, projectId);
  if (role !== "admin" && role !== "manager" && role !== "supervisor") throw forbidden();
  return role;
}

/** Vendors get 403 (`block_access_to_vendor`), with the effective role on `projectId` when given. */
export async function blockVendor(c: AppContext, projectId?: string | null): Promise<void> {
  if ((await effectiveRole(c, projectId)) === "vendor") throw forbidden();
}

/** Ids of the projects the caller is a member of (for list filtering). */
export async function memberProjectIds(c: AppContext): Promise<string[]> {
  const rows = await c
    .get("db")
    .selectFrom("project_person_link")
    .select("project_id")
    .where("person_id", "=", c.get("user").id)
    .execute();
  return rows.map((r) => r.project_id);
}

/** Ids of the open projects the caller is a member of. */
export async function openMemberProjectIds(c: AppContext): Promise<string[]> {
  const rows = await c
    .get("db")
    .selectFrom("project_person_link")
    .innerJoin("project", "project.id", "project_person_link.project_id")
    .innerJoin("project_status", "project_status.id", "project.project_status_id")
    .select("project.id")
    .where("project_person_link.person_id", "=", c.get("user").id)
    .where("project_status.name", "=", "Open")
    .execute();
  return rows.map((r) => r.id);
}

/** The caller's department ids. */
export async function userDepartmentIds(c: AppContext, personId = c.get("user").id): Promise<string[]> {
  const rows = await c.get("db").selectFrom("department_link").select("department_id").where("person_id", "=", personId).execute();
  return rows.map((r) => r.department_id);
}

/**
 * `check_entity_access`: vendors must have at least one task on the entity assigned to them.
 */
export async function checkEntityAccess(c: AppContext, entity: { id: string; project_id: string | null }): Promise<void> {
  if ((await effectiveRole(c, entity.project_id)) !== "vendor") return;
  const row = await c
    .get("db")
    .selectFrom("task")
    .innerJoin("task_person_link", "task_person_link.task_id", "task.id")
    .select("task.id")
    .where("task.entity_id", "=", entity.id)
    .where("task_person_link.person_id", "=", c.get("user").id)
    .executeTakeFirst();
  if (!row) throw forbidden();
}

/** `check_task_access`: project access, then entity access. */
export async function checkTaskAccess(c: AppContext, task: { project_id: string; entity_id: string }): Promise<Role> {
  const role = await checkProjectAccess(c, task.project_id);
  await checkEntityAccess(c, { id: task.entity_id, project_id: task.project_id });
  return role;
}

/** Is the caller (or `personId`) assigned to the task? */
export async function isAssigned(c: AppContext, taskId: string, personId = c.get("user").id): Promise<boolean> {
  const row = await c
    .get("db")
    .selectFrom("task_person_link")
    .select("task_id")
    .where("task_id", "=", taskId)
    .where("person_id", "=", personId)
    .executeTakeFirst();
  return Boolean(row);
}

/**
 * `check_task_action_access`: admin; else member and: manager or client; assignee; supervisor with
 * no departments or the task type's department; creator of the task's entity.
 */
export async function checkTaskActionAccess(
  c: AppContext,
  task: { id: string; project_id: string; entity_id: string; task_type_id: string },
): Promise<Role> {
  const user = c.get("user");
  if (isAdmin(user)) return "admin";
  const role = await checkProjectAccess(c, task.project_id);
  if (role === "manager" || role === "client") return role;
  if (await isAssigned(c, task.id)) return role;
  const db = c.get("db");
  if (role === "supervisor") {
    const departments = await userDepartmentIds(c);
    if (departments.length === 0) return role;
    const taskType = await db.selectFrom("task_type").select("department_id").where("id", "=", task.task_type_id).executeTakeFirst();
    if (taskType?.department_id && departments.includes(taskType.department_id)) return role;
  }
  const entity = await db.selectFrom("entity").select("created_by").where("id", "=", task.entity_id).executeTakeFirst();
  if (entity?.created_by === user.id) return role;
  throw forbidden();
}

/** `check_person_access`: admin or the person themselves. */
export function checkPersonAccess(c: AppContext, personId: string): void {
  const user = c.get("user");
  if (!isAdmin(user) && user.id !== personId) throw forbidden();
}
