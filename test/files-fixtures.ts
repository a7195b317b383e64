/**
 * The fixture world of file-tree.md §6 ("Cosmos Landromat" on the simple tree), inserted directly
 * with Kysely so the files tests do not depend on the entity and task routes.
 */
import { getBuiltinTree } from "../src/lib/file-tree";
import { newId, utcNow } from "../src/lib/ids";
import { makeServer, type Person, type TestServer } from "./helpers";

const base = () => {
  const now = utcNow();
  return { id: newId(), created_at: now, updated_at: now };
};

async function getOrCreate(server: TestServer, table: string, name: string, values: Record<string, unknown> = {}): Promise<any> {
  const db = server.db as any;
  const found = await db.selectFrom(table).selectAll().where("name", "=", name).executeTakeFirst();
  if (found) {
    if (Object.keys(values).length > 0) await db.updateTable(table).set(values).where("id", "=", found.id).execute();
    return { ...found, ...values };
  }
  const row = { ...base(), name, ...values };
  await db.insertInto(table).values(row).execute();
  return row;
}

export async function insertEntity(server: TestServer, fields: { name: string; project_id: string; entity_type_id: string; parent_id?: string | null; created_by?: string }): Promise<any> {
  const row = { ...base(), status: "running", data: "{}", ...fields };
  await server.db.insertInto("entity").values(row as any).execute();
  return row;
}

export async function insertTask(server: TestServer, fields: { project_id: string; entity_id: string; task_type_id: string; name?: string }, assignees: Person[] = []): Promise<any> {
  const status = await server.db.selectFrom("task_status").select("id").where("short_name", "=", "todo").executeTakeFirstOrThrow();
  const row = { ...base(), name: "Master", task_status_id: status.id, data: "{}", ...fields };
  await server.db.insertInto("task").values(row as any).execute();
  for (const person of assignees) {
    await server.db.insertInto("task_person_link").values({ task_id: row.id, person_id: person.id } as any).execute();
  }
  return row;
}

export async function insertWorkingFile(server: TestServer, task: any, fields: Record<string, unknown>): Promise<any> {
  const row = { ...base(), task_id: task.id, entity_id: task.entity_id, name: "main", revision: 1, ...fields };
  await server.db.insertInto("working_file").values(row as any).execute();
  return row;
}

export async function insertOutputFile(server: TestServer, fields: Record<string, unknown>): Promise<any> {
  const status = await getOrCreate(server, "file_status", "To review", { color: "#FFFFFF" });
  const row = { ...base(), name: "main", revision: 1, representation: "", file_status_id: status.id, ...fields };
  await server.db.insertInto("output_file").values(row as any).execute();
  return row;
}

export async function insertAssetInstance(server: TestServer, fields: { asset_id: string; name: string; number: number; target_asset_id?: string | null; entity_id?: string | null }): Promise<any> {
  const row = { ...base(), data: "{}", ...fields };
  await server.db.insertInto("asset_instance").values(row as any).execute();
  return row;
}

export type FilesWorld = Awaited<ReturnType<typeof makeFilesWorld>>;

/**
 * Project "Cosmos Landromat" (simple tree) with a manager, an artist, a vendor (assigned to the
 * asset task only) and a non-member; asset Tree (Props), Rabbit (Character); episode E01 >
 * sequence S01 > shot P01 and scene SC01; task types Shaders (Modeling, shd) and Animation; tasks
 * "Master" on Tree, P01, SC01 and E01; softwares Blender and 3dsMax; output types Cache, Images,
 * Materials, Texture; instances Tree_0001 (of Tree) and Rabbit_0001 (of Rabbit, inside Tree).
 */
export async function makeFilesWorld(options: { tree?: "simple" | "default" | null } = {}) {
  const server = await makeServer();
  const manager = await server.person("manager");
  const artist = await server.person("user");
  const supervisor = await server.person("supervisor");
  const vendor = await server.person("vendor");
  const client = await server.person("client");
  const outsider = await server.person("user");
  const treeName = options.tree === undefined ? "simple" : options.tree;
  const fileTree = treeName ? JSON.stringify(getBuiltinTree(treeName)) : null;
  const project = await server.project("Cosmos Landromat", [manager, artist, supervisor, vendor, client], { file_tree: fileTree });
  const otherProject = await server.project("Other Production", [manager, artist], { file_tree: JSON.stringify(getBuiltinTree("simple")) });

  const types = {
    props: await getOrCreate(server, "entity_type", "Props"),
    character: await getOrCreate(server, "entity_type", "Character"),
    episode: await getOrCreate(server, "entity_type", "Episode"),
    sequence: await getOrCreate(server, "entity_type", "Sequence"),
    shot: await getOrCreate(server, "entity_type", "Shot"),
    scene: await getOrCreate(server, "entity_type", "Scene"),
  };
  const departments = {
    modeling: await getOrCreate(server, "department", "Modeling", { color: "#000000" }),
    animation: await getOrCreate(server, "department", "Animation", { color: "#000000" }),
  };
  const taskTypes = {
    shaders: await getOrCreate(server, "task_type", "Shaders", { short_name: "shd", department_id: departments.modeling.id, for_entity: "Asset" }),
    animation: await getOrCreate(server, "task_type", "Animation", { short_name: "anim", department_id: departments.animation.id, for_entity: "Shot" }),
  };

  const p = project.id;
  const tree = await insertEntity(server, { name: "Tree", project_id: p, entity_type_id: types.props.id });
  const rabbit = await insertEntity(server, { name: "Rabbit", project_id: p, entity_type_id: types.character.id });
  const episode = await insertEntity(server, { name: "E01", project_id: p, entity_type_id: types.episode.id });
  const sequence = await insertEntity(server, { name: "S01", project_id: p, entity_type_id: types.sequence.id, parent_id: episode.id });
  const shot = await insertEntity(server, { name: "P01", project_id: p, entity_type_id: types.shot.id, parent_id: sequence.id });
  const scene = await insertEntity(server, { name: "SC01", project_id: p, entity_type_id: types.scene.id, parent_id: sequence.id });
  const otherAsset = await insertEntity(server, { name: "Tree", project_id: otherProject.id, entity_type_id: types.props.id });

  const tasks = {
    asset: await insertTask(server, { project_id: p, entity_id: tree.id, task_type_id: taskTypes.shaders.id }, [vendor]),
    shot: await insertTask(server, { project_id: p, entity_id: shot.id, task_type_id: taskTypes.animation.id }),
    scene: await insertTask(server, { project_id: p, entity_id: scene.id, task_type_id: taskTypes.animation.id }),
    episode: await insertTask(server, { project_id: p, entity_id: episode.id, task_type_id: taskTypes.animation.id }),
    other: await insertTask(server, { project_id: otherProject.id, entity_id: otherAsset.id, task_type_id: taskTypes.shaders.id }),
  };

  const softwares = {
    blender: await getOrCreate(server, "software", "Blender", { short_name: "bdr", file_extension: ".blend" }),
    max: await getOrCreate(server, "software", "3dsMax", { short_name: "max", file_extension: ".max" }),
  };
  const outputTypes = {
    cache: await getOrCreate(server, "output_type", "Cache", { short_name: "cch" }),
    images: await getOrCreate(server, "output_type", "Images", { short_name: "img" }),
    materials: await getOrCreate(server, "output_type", "Materials", { short_name: "mtl" }),
    texture: await getOrCreate(server, "output_type", "Texture", { short_name: "tx" }),
  };
  const instances = {
    tree: await insertAssetInstance(server, { asset_id: tree.id, name: "Tree_0001", number: 1 }),
    rabbitInTree: await insertAssetInstance(server, { asset_id: rabbit.id, name: "Rabbit_0001", number: 1, target_asset_id: tree.id }),
  };

  return {
    server,
    people: { admin: server.admin, manager, artist, supervisor, vendor, client, outsider },
    project,
    otherProject,
    types,
    departments,
    taskTypes,
    entities: { tree, rabbit, episode, sequence, shot, scene, otherAsset },
    tasks,
    softwares,
    outputTypes,
    instances,
  };
}

/** The events named `name` stored so far. */
export async function storedEvents(server: TestServer, name: string): Promise<{ data: any; project_id: string | null }[]> {
  const rows = await server.db.selectFrom("api_event").select(["data", "project_id"]).where("name", "=", name).execute();
  return rows.map((row) => ({ data: typeof row.data === "string" ? JSON.parse(row.data) : row.data, project_id: row.project_id }));
}
