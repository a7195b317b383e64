/** The team of a project: members with their project role. */
import type { AppContext } from "../context";
import { badRequest } from "../lib/errors";
import { chunks } from "../lib/chunks";
import { isUuid, normalizeId } from "../lib/ids";
import { type Role } from "./permissions";
import { departmentIdsByPerson, presentPerson } from "./persons";
import { type Dict, type Row, emitProjectUpdate, projectDict, touchProject } from "./project-base";

// ---------------------------------------------------------------------------------------------
// Team

const LINK_ROLES = ["user", "supervisor", "manager", "client", "vendor"];

function checkLinkRole(role: unknown): string | null {
  if (role === null || role === undefined) return null;
  if (role === "admin") throw badRequest("admin is a global role and cannot be set per project");
  if (typeof role !== "string" || !LINK_ROLES.includes(role)) throw badRequest(`${String(role)} is not a role`);
  return role;
}

/** `GET /data/projects/<id>/team`: members with `project_role` (full fields and departments for managers). */
export async function listTeam(c: AppContext, projectId: string, role: Role): Promise<Dict[]> {
  const db = c.get("db");
  const links = await db.selectFrom("project_person_link").select(["person_id", "role"]).where("project_id", "=", projectId).execute();
  const roleMap = new Map(links.map((l) => [l.person_id, l.role ?? null]));
  const ids = links.map((l) => l.person_id);
  const persons: Row[] = [];
  for (const chunk of chunks(ids)) persons.push(...((await db.selectFrom("person").selectAll().where("id", "in", chunk).execute()) as Row[]));
  const departments = await departmentIdsByPerson(db, ids);
  const full = role === "admin" || role === "manager";
  return persons
    .sort((a, b) => `${a.first_name} ${a.last_name}`.localeCompare(`${b.first_name} ${b.last_name}`))
    // Zou's minimal (safe) person dicts carry an empty `departments` list.
    .map((person) => ({ ...presentPerson(c, person, full ? "full" : "minimal", full ? (departments.get(person.id) ?? []) : []), project_role: roleMap.get(person.id) ?? null }));
}

/** Adds a person to the team (optionally with a project role); returns the project dict. */
export async function addTeamMember(c: AppContext, project: Row, personId: unknown, role: unknown): Promise<Dict> {
  const linkRole = checkLinkRole(role);
  if (!isUuid(personId)) throw badRequest(`Person with id ${String(personId)} not found`);
  const db = c.get("db");
  const person = await db.selectFrom("person").select("id").where("id", "=", normalizeId(personId)).executeTakeFirst();
  if (!person) throw badRequest(`Person with id ${String(personId)} not found`);
  const existing = await db
    .selectFrom("project_person_link")
    .select("person_id")
    .where("project_id", "=", project.id)
    .where("person_id", "=", person.id)
    .executeTakeFirst();
  if (!existing) {
    await db.insertInto("project_person_link").values({ project_id: project.id, person_id: person.id, role: linkRole } as any).execute();
  } else if (linkRole !== null) {
    await db.updateTable("project_person_link").set({ role: linkRole }).where("project_id", "=", project.id).where("person_id", "=", person.id).execute();
  }
  await touchProject(c, project.id);
  await emitProjectUpdate(c, project.id);
  return projectDict(c, project.id);
}

export async function removeTeamMember(c: AppContext, projectId: string, personId: string): Promise<void> {
  const db = c.get("db");
  if (isUuid(personId)) {
    await db.deleteFrom("project_person_link").where("project_id", "=", projectId).where("person_id", "=", normalizeId(personId)).execute();
  }
  await touchProject(c, projectId);
  await emitProjectUpdate(c, projectId);
}

export async function updateTeamMemberRole(c: AppContext, projectId: string, personId: string, role: unknown): Promise<Dict> {
  const linkRole = checkLinkRole(role);
  const db = c.get("db");
  const link = isUuid(personId)
    ? await db.selectFrom("project_person_link").select("person_id").where("project_id", "=", projectId).where("person_id", "=", normalizeId(personId)).executeTakeFirst()
    : undefined;
  if (!link) throw badRequest("Person is not a member of the project team");
  await db.updateTable("project_person_link").set({ role: linkRole }).where("project_id", "=", projectId).where("person_id", "=", link.person_id).execute();
  await emitProjectUpdate(c, projectId);
  return { project_id: projectId, person_id: link.person_id, role: linkRole };
}
