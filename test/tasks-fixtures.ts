/** Fixtures of the tasks/comments tests: entities, tasks and lookups inserted straight into the database. */
import type { TestServer, Person } from "./helpers";
import { newId, utcNow } from "../src/lib/ids";

export interface Fixtures {
  entityType(name: string): Promise<string>;
  asset(projectId: string, name: string, typeName?: string, fields?: Record<string, unknown>): Promise<string>;
  episode(projectId: string, name: string): Promise<string>;
  sequence(projectId: string, name: string, episodeId?: string | null): Promise<string>;
  shot(projectId: string, sequenceId: string, name: string, fields?: Record<string, unknown>): Promise<string>;
  edit(projectId: string, name: string): Promise<string>;
  concept(projectId: string, name: string): Promise<string>;
  taskType(name: string, forEntity?: string): Promise<{ id: string; department_id: string | null }>;
  status(shortName: string): Promise<any>;
  department(name: string): Promise<string>;
  joinDepartment(person: Person, departmentId: string): Promise<void>;
  task(projectId: string, entityId: string, taskTypeId: string, fields?: Record<string, unknown>): Promise<string>;
  assign(taskId: string, person: Person): Promise<void>;
  getTask(taskId: string): Promise<any>;
  notifications(person: Person): Promise<any[]>;
}

export function fixtures(server: TestServer): Fixtures {
  const db = server.db;
  const base = () => {
    const now = utcNow();
    return { id: newId(), created_at: now, updated_at: now };
  };
  async function entityType(name: string): Promise<string> {
    const found = await db.selectFrom("entity_type").select("id").where("name", "=", name).executeTakeFirst();
    if (found) return found.id;
    const row = { ...base(), name };
    await db.insertInto("entity_type").values(row).execute();
    return row.id;
  }
  async function entity(projectId: string, typeName: string, name: string, fields: Record<string, unknown> = {}): Promise<string> {
    const row = { ...base(), name, project_id: projectId, entity_type_id: await entityType(typeName), ...fields };
    await db.insertInto("entity").values(row as any).execute();
    return row.id;
  }
  return {
    entityType,
    asset: (projectId, name, typeName = "Character", fields = {}) => entity(projectId, typeName, name, fields),
    episode: (projectId, name) => entity(projectId, "Episode", name),
    sequence: (projectId, name, episodeId = null) => entity(projectId, "Sequence", name, { parent_id: episodeId }),
    shot: (projectId, sequenceId, name, fields = {}) => entity(projectId, "Shot", name, { parent_id: sequenceId, ...fields }),
    edit: (projectId, name) => entity(projectId, "Edit", name),
    concept: (projectId, name) => entity(projectId, "Concept", name),
    async taskType(name, forEntity = "Shot") {
      return db.selectFrom("task_type").select(["id", "department_id"]).where("name", "=", name).where("for_entity", "=", forEntity).executeTakeFirstOrThrow();
    },
    status: (shortName) => db.selectFrom("task_status").selectAll().where("short_name", "=", shortName).executeTakeFirstOrThrow(),
    async department(name) {
      return (await db.selectFrom("department").select("id").where("name", "=", name).executeTakeFirstOrThrow()).id;
    },
    async joinDepartment(person, departmentId) {
      await db.insertInto("department_link").values({ person_id: person.id, department_id: departmentId } as any).execute();
    },
    async task(projectId, entityId, taskTypeId, fields = {}) {
      const todo = await db.selectFrom("task_status").select("id").where("short_name", "=", "todo").executeTakeFirstOrThrow();
      const row = { ...base(), name: "main", project_id: projectId, entity_id: entityId, task_type_id: taskTypeId, task_status_id: todo.id, ...fields };
      await db.insertInto("task").values(row as any).execute();
      return row.id;
    },
    async assign(taskId, person) {
      await db.insertInto("task_person_link").values({ task_id: taskId, person_id: person.id }).execute();
    },
    getTask: (taskId) => db.selectFrom("task").selectAll().where("id", "=", taskId).executeTakeFirstOrThrow(),
    notifications: (person) => db.selectFrom("notification").selectAll().where("person_id", "=", person.id).orderBy("created_at").execute(),
  };
}
