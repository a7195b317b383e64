/** Fixtures of the projects, breakdown and production-crud tests: rows written straight to the database. */
import { newId, utcNow } from "../src/lib/ids";
import type { Person, TestServer } from "./helpers";

export const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";

export interface Crew {
  project: any;
  manager: Person;
  artist: Person;
  supervisor: Person;
  client: Person;
  vendor: Person;
  /** A manager who is not in the team. */
  outsider: Person;
}

/** A project whose team has a manager, an artist, a supervisor, a client and a vendor. */
export async function crew(server: TestServer, fields: Record<string, unknown> = {}, name?: string): Promise<Crew> {
  const manager = await server.person("manager");
  const artist = await server.person("user");
  const supervisor = await server.person("supervisor");
  const client = await server.person("client");
  const vendor = await server.person("vendor");
  const outsider = await server.person("manager");
  const project = await server.project(name, [manager, artist, supervisor, client, vendor], fields);
  return { project, manager, artist, supervisor, client, vendor, outsider };
}

/** Inserts a row with base columns; returns its id. */
export async function insertRow(server: TestServer, table: string, values: Record<string, unknown>): Promise<string> {
  const now = utcNow();
  const id = newId();
  await server.db.insertInto(table as any).values({ id, created_at: now, updated_at: now, ...values } as any).execute();
  return id;
}

export async function idOf(server: TestServer, table: string, name: string, extra: Record<string, unknown> = {}): Promise<string> {
  let query = server.db.selectFrom(table as any).select("id").where("name", "=", name);
  for (const [key, value] of Object.entries(extra)) query = query.where(key as any, "=", value);
  return ((await query.executeTakeFirstOrThrow()) as { id: string }).id;
}

/** The id of a reserved entity type (created when missing, e.g. Scene). */
export async function entityTypeOf(server: TestServer, name: string): Promise<string> {
  const found = await server.db.selectFrom("entity_type").select("id").where("name", "=", name).executeTakeFirst();
  return found ? found.id : insertRow(server, "entity_type", { name });
}

export async function entity(server: TestServer, projectId: string, typeName: string, name: string, fields: Record<string, unknown> = {}): Promise<string> {
  return insertRow(server, "entity", {
    name, project_id: projectId, entity_type_id: await entityTypeOf(server, typeName), status: "running",
    canceled: false, is_shared: false, nb_entities_out: 0, data: "{}", ...fields,
  });
}

export const asset = (server: TestServer, projectId: string, name: string, type = "Character", fields: Record<string, unknown> = {}) =>
  entity(server, projectId, type, name, fields);
export const episode = (server: TestServer, projectId: string, name: string) => entity(server, projectId, "Episode", name);
export const sequence = (server: TestServer, projectId: string, name: string, episodeId?: string) =>
  entity(server, projectId, "Sequence", name, { parent_id: episodeId ?? null });
export const shot = (server: TestServer, projectId: string, name: string, sequenceId: string) =>
  entity(server, projectId, "Shot", name, { parent_id: sequenceId });

export async function task(server: TestServer, projectId: string, entityId: string, taskTypeName: string, forEntity: string, fields: Record<string, unknown> = {}): Promise<string> {
  return insertRow(server, "task", {
    name: "main", project_id: projectId, entity_id: entityId,
    task_type_id: await idOf(server, "task_type", taskTypeName, { for_entity: forEntity }),
    task_status_id: await idOf(server, "task_status", "Todo"), difficulty: 3, ...fields,
  });
}

export async function assign(server: TestServer, taskId: string, person: Person): Promise<void> {
  await server.db.insertInto("task_person_link").values({ task_id: taskId, person_id: person.id } as any).execute();
}

/** Collects the events published from now on. */
export function recordEvents(server: TestServer) {
  const seen: { name: string; data: any }[] = [];
  server.events.subscribe((event) => seen.push({ name: event.name, data: event.data }));
  return {
    names: () => seen.map((e) => e.name),
    data: (name: string) => seen.filter((e) => e.name === name).map((e) => e.data),
    clear: () => seen.splice(0),
  };
}

export async function linkTaskType(server: TestServer, projectId: string, taskTypeId: string, priority: number | null = null): Promise<void> {
  await insertRow(server, "project_task_type_link", { project_id: projectId, task_type_id: taskTypeId, priority });
}
