/** Fixtures of the CSV import/export tests: csv.md's "Cosmos Landromat" world, built in the database. */
import { newId, utcNow } from "../src/lib/ids";
import type { TestServer } from "./helpers";

export interface CsvWorld {
  project: any;
  taskTypes: Record<string, string>;
  johnDoe: string;
  johnDid: string;
  emaPeel: string;
}

function stamps() {
  const now = utcNow();
  return { id: newId(), created_at: now, updated_at: now };
}

/** Id of a task type (created when missing) with that name and entity kind. */
export async function taskTypeId(server: TestServer, name: string, forEntity: string, department?: string): Promise<string> {
  const found = await server.db.selectFrom("task_type").select("id").where("name", "=", name).where("for_entity", "=", forEntity).executeTakeFirst();
  if (found) return found.id;
  const dept = department ? await server.db.selectFrom("department").select("id").where("name", "=", department).executeTakeFirst() : undefined;
  const row = { ...stamps(), name, short_name: name.slice(0, 3).toLowerCase(), color: "#000000", priority: 1, for_entity: forEntity, department_id: dept?.id ?? null };
  await server.db.insertInto("task_type").values(row as any).execute();
  return row.id;
}

export async function personNamed(server: TestServer, first: string, last: string, email: string, fields: Record<string, unknown> = {}): Promise<string> {
  const row = { ...stamps(), first_name: first, last_name: last, email, role: "user", active: true, ...fields };
  await server.db.insertInto("person").values(row as any).execute();
  return row.id;
}

export async function descriptor(server: TestServer, projectId: string, entityType: string, name: string, fieldName: string, dataType = "string"): Promise<void> {
  await server.db
    .insertInto("metadata_descriptor")
    .values({ ...stamps(), project_id: projectId, entity_type: entityType, name, field_name: fieldName, data_type: dataType, choices: "[]", for_client: false, position: 1 } as any)
    .execute();
}

/**
 * A project "Cosmos Landromat" (tv show when asked) with asset task types Shaders / Concept /
 * Modeling, shot task types Layout / Animation, the Edit task type, and persons John Doe, John
 * Did and Ema Peel.
 */
export async function csvWorld(server: TestServer, options: { tvshow?: boolean; name?: string } = {}): Promise<CsvWorld> {
  const project = await server.project(options.name ?? "Cosmos Landromat", [], options.tvshow ? { production_type: "tvshow" } : {});
  const taskTypes: Record<string, string> = {
    Shaders: await taskTypeId(server, "Shaders", "Asset", "Modeling"),
    Concept: await taskTypeId(server, "Concept", "Asset"),
    Modeling: await taskTypeId(server, "Modeling", "Asset"),
    Layout: await taskTypeId(server, "Layout", "Shot"),
    Animation: await taskTypeId(server, "Animation", "Shot"),
    Edit: await taskTypeId(server, "Edit", "Edit"),
  };
  let priority = 1;
  for (const id of Object.values(taskTypes)) {
    await server.db.insertInto("project_task_type_link").values({ id: newId(), project_id: project.id, task_type_id: id, priority: priority++ } as any).execute();
  }
  const existing = async (email: string) => (await server.db.selectFrom("person").select("id").where("email", "=", email).executeTakeFirst())?.id;
  const johnDoe = (await existing("john.doe@gmail.com")) ?? (await personNamed(server, "John", "Doe", "john.doe@gmail.com"));
  const johnDid = (await existing("john.did@gmail.com")) ?? (await personNamed(server, "John", "Did", "john.did@gmail.com"));
  const emaPeel = (await existing("ema.peel@gmail.com")) ?? (await personNamed(server, "Ema", "Peel", "ema.peel@gmail.com"));
  return { project, taskTypes, johnDoe, johnDid, emaPeel };
}

/** Sends a CSV file as multipart field `file`. */
export function upload(server: TestServer, path: string, csv: string, token?: string, field = "file") {
  const form = new FormData();
  form.append(field, new Blob([csv], { type: "text/csv" }), "import.csv");
  return server.json("POST", path, { body: form, token });
}

/** Entities of a kind in a project, by name. */
export async function entitiesOf(server: TestServer, projectId: string, typeName: string): Promise<any[]> {
  return server.db
    .selectFrom("entity")
    .innerJoin("entity_type", "entity_type.id", "entity.entity_type_id")
    .selectAll("entity")
    .where("entity.project_id", "=", projectId)
    .where("entity_type.name", "=", typeName)
    .orderBy("entity.name")
    .execute();
}

export async function countRows(server: TestServer, table: "entity" | "task" | "entity_link" | "person" | "entity_type" | "comment"): Promise<number> {
  const row = await server.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
  return Number(row.n);
}
