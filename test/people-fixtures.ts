/** Production fixtures for the user/persons/time tests: entities, tasks, assignments, comments, notifications. */
import type { TestServer, Person } from "./helpers";
import { newId, utcNow } from "../src/lib/ids";

export async function entityTypeId(server: TestServer, name: string): Promise<string> {
  const row = await server.db.selectFrom("entity_type").select("id").where("name", "=", name).executeTakeFirst();
  if (row) return row.id;
  const id = newId();
  const now = utcNow();
  await server.db.insertInto("entity_type").values({ id, created_at: now, updated_at: now, name } as any).execute();
  return id;
}

export async function createEntity(
  server: TestServer,
  projectId: string,
  typeName: string,
  name: string,
  fields: Record<string, unknown> = {},
): Promise<string> {
  const id = newId();
  const now = utcNow();
  await server.db
    .insertInto("entity")
    .values({ id, created_at: now, updated_at: now, name, project_id: projectId, entity_type_id: await entityTypeId(server, typeName), ...fields } as any)
    .execute();
  return id;
}

export async function taskTypeId(server: TestServer, name: string, forEntity = "Asset"): Promise<string> {
  const row = await server.db.selectFrom("task_type").select("id").where("name", "=", name).where("for_entity", "=", forEntity).executeTakeFirst();
  return row!.id;
}

export async function statusId(server: TestServer, shortName: string): Promise<string> {
  const row = await server.db.selectFrom("task_status").select("id").where("short_name", "=", shortName).executeTakeFirstOrThrow();
  return row.id;
}

export async function createTask(
  server: TestServer,
  projectId: string,
  entityId: string,
  typeId: string,
  options: { status?: string; assignees?: Person[]; fields?: Record<string, unknown> } = {},
): Promise<string> {
  const id = newId();
  const now = utcNow();
  await server.db
    .insertInto("task")
    .values({
      id, created_at: now, updated_at: now, name: "main", project_id: projectId, entity_id: entityId, task_type_id: typeId,
      task_status_id: await statusId(server, options.status ?? "todo"), duration: 0, estimation: 0, ...options.fields,
    } as any)
    .execute();
  for (const person of options.assignees ?? []) {
    await server.db.insertInto("task_person_link").values({ task_id: id, person_id: person.id } as any).execute();
  }
  return id;
}

/** A project with a member artist assigned to an asset task, a sequence and a shot task. */
export async function production(server: TestServer, team: Person[] = []) {
  const project = await server.project(undefined, team);
  const assetId = await createEntity(server, project.id, "Character", "Hero");
  const sequenceId = await createEntity(server, project.id, "Sequence", "SQ01");
  const shotId = await createEntity(server, project.id, "Shot", "SH010", { parent_id: sequenceId });
  const modeling = await taskTypeId(server, "Modeling", "Asset");
  const animation = await taskTypeId(server, "Animation", "Shot");
  return { project, assetId, sequenceId, shotId, modeling, animation };
}

export async function createComment(server: TestServer, taskId: string, author: Person, text: string, status = "wip"): Promise<string> {
  const id = newId();
  const now = utcNow();
  await server.db
    .insertInto("comment")
    .values({ id, created_at: now, updated_at: now, object_id: taskId, object_type: "Task", text, person_id: author.id, task_status_id: await statusId(server, status) } as any)
    .execute();
  return id;
}

export async function createNotification(
  server: TestServer,
  recipient: Person,
  author: Person,
  taskId: string,
  fields: Record<string, unknown> = {},
): Promise<string> {
  const id = newId();
  const now = utcNow();
  await server.db
    .insertInto("notification")
    .values({ id, created_at: now, updated_at: now, person_id: recipient.id, author_id: author.id, task_id: taskId, type: "comment", read: false, change: false, ...fields } as any)
    .execute();
  return id;
}

/** A bot person and its token. */
export async function bot(server: TestServer, role = "user"): Promise<Person> {
  const person = await server.person(role as any, { is_bot: true });
  const { signToken, ACCESS_TOKEN_SECONDS } = await import("../src/lib/jwt");
  const { token, jti } = await signToken(server.config.secretKey, person.id, { type: "access", identityType: "bot", lifetime: ACCESS_TOKEN_SECONDS });
  await server.db.updateTable("person").set({ jti }).where("id", "=", person.id).execute();
  return { ...person, token };
}
