/** Fixtures of the entity tests (assets, shots, edits, concepts, entities, with-tasks). */
import { newId, utcNow } from "../src/lib/ids";
import type { Person, TestServer } from "./helpers";

export interface Production {
  project: any;
  manager: Person;
  artist: Person;
  supervisor: Person;
  client: Person;
  vendor: Person;
  outsider: Person;
}

/** A project whose team has a manager, an artist, a supervisor, a client and a vendor. */
export async function production(server: TestServer, fields: Record<string, unknown> = {}): Promise<Production> {
  const manager = await server.person("manager");
  const artist = await server.person("user");
  const supervisor = await server.person("supervisor");
  const client = await server.person("client");
  const vendor = await server.person("vendor");
  const outsider = await server.person("manager");
  const project = await server.project(undefined, [manager, artist, supervisor, client, vendor], fields);
  return { project, manager, artist, supervisor, client, vendor, outsider };
}

export async function typeId(server: TestServer, table: "entity_type" | "task_type" | "task_status", name: string, extra: Record<string, unknown> = {}): Promise<string> {
  let q = server.db.selectFrom(table as any).select("id").where("name", "=", name);
  for (const [key, value] of Object.entries(extra)) q = q.where(key as any, "=", value);
  const row = (await q.executeTakeFirstOrThrow()) as { id: string };
  return row.id;
}

/** Inserts a task directly (tasks have their own routes elsewhere). */
export async function addTask(
  server: TestServer,
  entity: { id: string; project_id: string },
  taskTypeName: string,
  options: { assignees?: Person[]; status?: string; fields?: Record<string, unknown>; forEntity?: string } = {},
): Promise<string> {
  const taskTypeId = await typeId(server, "task_type", taskTypeName, options.forEntity ? { for_entity: options.forEntity } : {});
  const statusId = await typeId(server, "task_status", options.status ?? "Todo");
  const id = newId();
  const now = utcNow();
  await server.db
    .insertInto("task")
    .values({
      id, created_at: now, updated_at: now, name: "main", project_id: entity.project_id, entity_id: entity.id,
      task_type_id: taskTypeId, task_status_id: statusId, difficulty: 3, priority: 0, duration: 0, estimation: 0,
      retake_count: 0, nb_assets_ready: 0, nb_drawings: 0, data: null, ...(options.fields ?? {}),
    } as any)
    .execute();
  for (const person of options.assignees ?? []) {
    await server.db.insertInto("task_person_link").values({ task_id: id, person_id: person.id } as any).execute();
  }
  return id;
}

/** Names of the events emitted since `since` (index in the recorded list). */
export function recordEvents(server: TestServer): { names: () => string[]; data: (name: string) => any[] } {
  const seen: { name: string; data: any }[] = [];
  server.events.subscribe((event) => seen.push({ name: event.name, data: event.data }));
  return {
    names: () => seen.map((e) => e.name),
    data: (name) => seen.filter((e) => e.name === name).map((e) => e.data),
  };
}

export const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";

export async function createSequence(server: TestServer, projectId: string, name: string, episodeId?: string): Promise<any> {
  const res = await server.json("POST", `/api/data/projects/${projectId}/sequences`, { body: { name, episode_id: episodeId } });
  if (res.status !== 201) throw new Error(`sequence: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function createShot(server: TestServer, projectId: string, sequenceId: string, name: string, extra: Record<string, unknown> = {}): Promise<any> {
  const res = await server.json("POST", `/api/data/projects/${projectId}/shots`, { body: { name, sequence_id: sequenceId, ...extra } });
  if (res.status !== 201) throw new Error(`shot: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function createEpisode(server: TestServer, projectId: string, name: string): Promise<any> {
  const res = await server.json("POST", `/api/data/projects/${projectId}/episodes`, { body: { name } });
  if (res.status !== 201) throw new Error(`episode: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function createAsset(server: TestServer, projectId: string, typeName: string, name: string, extra: Record<string, unknown> = {}, token?: string): Promise<any> {
  const assetTypeId = await typeId(server, "entity_type", typeName);
  const res = await server.json("POST", `/api/data/projects/${projectId}/asset-types/${assetTypeId}/assets/new`, { body: { name, ...extra }, token });
  if (res.status !== 201) throw new Error(`asset: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Parses an NDJSON body into its lines. */
export function ndjson(text: string): any[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line));
}
