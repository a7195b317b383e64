/** Fixtures of the crud and permission tests: rows inserted straight into the database. */
import type { Db } from "../src/db/database";
import { newId, utcNow } from "../src/lib/ids";
import { signToken } from "../src/lib/jwt";
import type { TestServer } from "./helpers";

/** Inserts a row with a fresh id and timestamps; returns its id. */
export async function insertRow(db: Db, table: string, fields: Record<string, unknown>): Promise<string> {
  const now = utcNow();
  const id = (fields.id as string) ?? newId();
  await db.insertInto(table as never).values({ id, created_at: now, updated_at: now, ...fields } as never).execute();
  return id;
}

export async function idByName(db: Db, table: "entity_type" | "task_type" | "task_status" | "department" | "project_status", name: string): Promise<string> {
  const row = await db.selectFrom(table).select("id").where("name", "=", name).executeTakeFirstOrThrow();
  return row.id;
}

/** An asset (type Character) of a project. */
export async function asset(db: Db, projectId: string, name = `Asset ${newId().slice(0, 8)}`, createdBy?: string): Promise<string> {
  return insertRow(db, "entity", {
    name,
    project_id: projectId,
    entity_type_id: await idByName(db, "entity_type", "Character"),
    created_by: createdBy ?? null,
  });
}

/** A Modeling task (status Todo) on an entity. */
export async function task(db: Db, projectId: string, entityId: string, name = "main"): Promise<string> {
  const taskTypeId = (await db.selectFrom("task_type").select("id").where("name", "=", "Modeling").executeTakeFirstOrThrow()).id;
  return insertRow(db, "task", {
    name,
    project_id: projectId,
    entity_id: entityId,
    task_type_id: taskTypeId,
    task_status_id: await idByName(db, "task_status", "Todo"),
  });
}

export async function assign(db: Db, taskId: string, personId: string): Promise<void> {
  await db.insertInto("task_person_link").values({ task_id: taskId, person_id: personId } as never).execute();
}

/** A bot account and its API token (bots are checked against person.jti). */
export async function bot(server: TestServer): Promise<{ id: string; token: string }> {
  const id = newId();
  const { token, jti } = await signToken(server.config.secretKey, id, { type: "access", identityType: "bot" });
  await insertRow(server.db, "person", {
    id,
    first_name: "Robot",
    last_name: id.slice(0, 8),
    email: `bot-${id}@example.com`,
    role: "user",
    active: true,
    is_bot: true,
    jti,
  });
  return { id, token };
}

/** A closed project (status Closed). */
export async function closedProject(server: TestServer, name: string, team: Parameters<TestServer["project"]>[1] = []): Promise<string> {
  const closed = await idByName(server.db, "project_status", "Closed");
  const project = await server.project(name, team, { project_status_id: closed });
  return project.id ?? (await server.db.selectFrom("project").select("id").where("name", "=", name).executeTakeFirstOrThrow()).id;
}

/** Events stored since `since` (api_event rows), oldest first. */
export async function storedEvents(db: Db, name?: string): Promise<{ name: string; data: Record<string, unknown>; project_id: string | null }[]> {
  let query = db.selectFrom("api_event").select(["name", "data", "project_id", "created_at"]);
  if (name) query = query.where("name", "=", name);
  const rows = await query.execute();
  return rows.map((row) => ({ name: row.name, data: JSON.parse(String(row.data ?? "{}")), project_id: row.project_id }));
}
