import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type TestServer } from "./helpers";
import { UNKNOWN_ID, addTask, createAsset, createEpisode, createSequence, createShot, production, recordEvents, typeId, type Production } from "./entities-fixtures";

let server: TestServer;
let prod: Production;

beforeAll(async () => {
  server = await makeServer();
  prod = await production(server);
});

describe("crud /data/entities", () => {
  test("POST needs a manager of the project; created_by is forced; kind event", async () => {
    const character = await typeId(server, "entity_type", "Character");
    const events = recordEvents(server);
    const body = { name: "Crud Hero", project_id: prod.project.id, entity_type_id: character, created_by: prod.artist.id };
    const created = await server.json("POST", "/api/data/entities", { token: prod.manager.token, body });
    expect(created.status).toBe(201);
    expect(created.body.type).toBe("Asset");
    expect(created.body.created_by).toBe(prod.manager.id);
    expect(created.body.entities_out).toEqual([]);
    expect(events.data("asset:new")).toEqual([{ asset_id: created.body.id, project_id: prod.project.id }]);
    expect((await server.json("POST", "/api/data/entities", { token: prod.artist.token, body })).status).toBe(403);
    expect((await server.json("POST", "/api/data/entities", { body: { ...body, status: "weird" } })).status).toBe(400);
    expect((await server.json("POST", "/api/data/entities", { body: { ...body, nope: 1 } })).status).toBe(400);
  });

  test("GET one gives the computed type; list is scoped for non-admins, vendors assigned only", async () => {
    const seq = await createSequence(server, prod.project.id, "SQ-CRUD");
    const shot = await createShot(server, prod.project.id, seq.id, "SH-CRUD");
    const read = await server.json("GET", `/api/data/entities/${shot.id}`, { token: prod.artist.token });
    expect(read.status).toBe(200);
    expect(read.body.type).toBe("Shot");
    expect((await server.json("GET", `/api/data/entities/${shot.id}`, { token: prod.outsider.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/entities/${shot.id}`, { token: prod.vendor.token })).status).toBe(403);
    expect((await server.json("GET", "/api/data/entities/not-an-id")).status).toBe(400);
    expect((await server.json("GET", `/api/data/entities/${UNKNOWN_ID}`)).status).toBe(404);
    const list = await server.json("GET", "/api/data/entities", { token: prod.artist.token });
    const types = new Map(list.body.map((e: any) => [e.id, e.type]));
    expect(types.get(shot.id)).toBe("Shot");
    expect(types.get(seq.id)).toBe("Sequence");
    const other = await production(server);
    const foreign = await createSequence(server, other.project.id, "SQ-F");
    expect(list.body.map((e: any) => e.id)).not.toContain(foreign.id);
    expect((await server.json("GET", "/api/data/entities", { token: prod.vendor.token })).body).toEqual([]);
    await addTask(server, shot, "Layout", { assignees: [prod.vendor] });
    expect((await server.json("GET", "/api/data/entities", { token: prod.vendor.token })).body.map((e: any) => e.id)).toEqual([shot.id]);
  });

  test("PUT merges data, ignores protected keys, checks uniqueness, emits the kind's update", async () => {
    const a = await createAsset(server, prod.project.id, "Prop", "Fork", { data: { a: 1, b: 2 } });
    await createAsset(server, prod.project.id, "Prop", "Spoon");
    const events = recordEvents(server);
    const res = await server.json("PUT", `/api/data/entities/${a.id}`, { token: prod.manager.token, body: { data: { b: 3, c: 4 }, project_id: UNKNOWN_ID, created_by: prod.artist.id } });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ a: 1, b: 3, c: 4 });
    expect(res.body.project_id).toBe(prod.project.id);
    expect(res.body.created_by).not.toBe(prod.artist.id);
    expect(res.body.type).toBe("Asset");
    expect(events.data("asset:update")).toEqual([{ asset_id: a.id, project_id: prod.project.id }]);
    const clash = await server.json("PUT", `/api/data/entities/${a.id}`, { token: prod.manager.token, body: { name: "Spoon" } });
    expect(clash.status).toBe(400);
    expect((await server.json("PUT", `/api/data/entities/${a.id}`, { token: prod.manager.token, body: { status: "bogus" } })).status).toBe(400);
    expect((await server.json("PUT", `/api/data/entities/${a.id}`, { token: prod.manager.token, body: { source_id: "null" } })).body.source_id).toBe(null);
  });

  test("PUT permissions: artist only on own entities; supervisors only data of their departments' descriptors", async () => {
    const p = await production(server);
    const own = await createAsset(server, p.project.id, "Prop", "Own");
    await server.db.updateTable("entity").set({ created_by: p.artist.id } as any).where("id", "=", own.id).execute();
    const other = await createAsset(server, p.project.id, "Prop", "Other");
    expect((await server.json("PUT", `/api/data/entities/${own.id}`, { token: p.artist.token, body: { description: "mine" } })).status).toBe(200);
    expect((await server.json("PUT", `/api/data/entities/${other.id}`, { token: p.artist.token, body: { description: "x" } })).status).toBe(403);
    expect((await server.json("PUT", `/api/data/entities/${other.id}`, { token: prod.outsider.token, body: { description: "x" } })).status).toBe(403);
    // A supervisor without department may change data; with one, only keys of their descriptors.
    expect((await server.json("PUT", `/api/data/entities/${other.id}`, { token: p.supervisor.token, body: { data: { free: 1 } } })).status).toBe(200);
    expect((await server.json("PUT", `/api/data/entities/${other.id}`, { token: p.supervisor.token, body: { name: "Renamed" } })).status).toBe(403);
    const modeling = await typeId(server, "department" as any, "Modeling");
    await server.db.insertInto("department_link").values({ person_id: p.supervisor.id, department_id: modeling } as any).execute();
    const descriptor = crypto.randomUUID();
    await server.db.insertInto("metadata_descriptor").values({ id: descriptor, project_id: p.project.id, entity_type: "Asset", name: "Poly", field_name: "poly", data_type: "number", choices: "[]", for_client: false, position: 1 } as any).execute();
    await server.db.insertInto("department_metadata_descriptor_link").values({ metadata_descriptor_id: descriptor, department_id: modeling } as any).execute();
    expect((await server.json("PUT", `/api/data/entities/${other.id}`, { token: p.supervisor.token, body: { data: { poly: 5 } } })).status).toBe(200);
    expect((await server.json("PUT", `/api/data/entities/${other.id}`, { token: p.supervisor.token, body: { data: { free: 2 } } })).status).toBe(403);
  });

  test("DELETE removes links, refuses entities with tasks (400), creator or manager only", async () => {
    const set = await createAsset(server, prod.project.id, "Environment", "Attic");
    const prop = await createAsset(server, prod.project.id, "Prop", "Trunk");
    await server.db.insertInto("entity_link").values({ id: crypto.randomUUID(), entity_in_id: set.id, entity_out_id: prop.id, nb_occurences: 1, label: "", data: "{}" } as any).execute();
    expect((await server.request("DELETE", `/api/data/entities/${prop.id}`, { token: prod.artist.token })).status).toBe(403);
    const events = recordEvents(server);
    expect((await server.request("DELETE", `/api/data/entities/${prop.id}`, { token: prod.manager.token })).status).toBe(204);
    expect(events.data("asset:delete")).toEqual([{ asset_id: prop.id, project_id: prod.project.id }]);
    await addTask(server, set, "Modeling", { forEntity: "Asset" });
    expect((await server.json("DELETE", `/api/data/entities/${set.id}`, { token: prod.manager.token })).status).toBe(400);
  });
});

describe("casting stats", () => {
  test("an asset's ready_for drives nb_assets_ready of the shot tasks; deleting it recounts the shot", async () => {
    const p = await production(server);
    const layout = await typeId(server, "task_type", "Layout");
    const animation = await typeId(server, "task_type", "Animation");
    for (const [taskTypeId, priority] of [[layout, 1], [animation, 2]] as const) {
      await server.db.insertInto("project_task_type_link").values({ id: crypto.randomUUID(), project_id: p.project.id, task_type_id: taskTypeId, priority } as any).execute();
    }
    const seq = await createSequence(server, p.project.id, "SQ1");
    const shot = await createShot(server, p.project.id, seq.id, "SH1");
    const layoutTask = await addTask(server, shot, "Layout");
    const animationTask = await addTask(server, shot, "Animation");
    const asset = await createAsset(server, p.project.id, "Prop", "Ready Prop");
    expect((await server.json("PUT", `/api/data/projects/${p.project.id}/entities/${shot.id}/casting`, { body: [{ asset_id: asset.id, nb_occurences: 1 }] })).status).toBe(200);
    const ready = async (id: string) => (await server.db.selectFrom("task").select("nb_assets_ready").where("id", "=", id).executeTakeFirstOrThrow()).nb_assets_ready;
    expect(await ready(layoutTask)).toBe(0);
    expect((await server.json("PUT", `/api/data/entities/${asset.id}`, { body: { ready_for: layout } })).status).toBe(200);
    expect(await ready(layoutTask)).toBe(1);
    expect(await ready(animationTask)).toBe(0);
    await server.json("PUT", `/api/data/entities/${asset.id}`, { body: { ready_for: animation } });
    expect(await ready(animationTask)).toBe(1);
    expect((await server.request("DELETE", `/api/data/assets/${asset.id}?force=true`)).status).toBe(204);
    expect(await ready(layoutTask)).toBe(0);
    expect((await server.json("GET", `/api/data/shots/${shot.id}`)).body.nb_entities_out).toBe(0);
  });
});

describe("entities area", () => {
  test("POST /data/entities/:id/tasks creates main tasks per task type with the default status", async () => {
    const p = await production(server);
    const asset = await createAsset(server, p.project.id, "Prop", "Bowl");
    const modeling = await typeId(server, "task_type", "Modeling", { for_entity: "Asset" });
    const layout = await typeId(server, "task_type", "Layout");
    await server.db.insertInto("project_task_type_link").values({ id: crypto.randomUUID(), project_id: p.project.id, task_type_id: modeling, priority: 1 } as any).execute();
    const events = recordEvents(server);
    const res = await server.json("POST", `/api/data/entities/${asset.id}/tasks`, { token: p.artist.token, body: { task_type_ids: [modeling] } });
    expect(res.status).toBe(201);
    expect(res.body.length).toBe(1);
    expect(res.body[0]).toMatchObject({ name: "main", entity_id: asset.id, task_type_id: modeling, task_status_short_name: "todo", task_type_name: "Modeling", assignees: [] });
    expect(events.names()).toContain("task:new");
    expect((await server.json("POST", `/api/data/entities/${asset.id}/tasks`, { body: { task_type_ids: [modeling] } })).body).toEqual([]);
    expect((await server.json("POST", `/api/data/entities/${asset.id}/tasks`, { body: { task_type_ids: [layout] } })).status).toBe(400);
    // An empty list means every task type valid for the entity (all exist already here).
    expect((await server.json("POST", `/api/data/entities/${asset.id}/tasks`, { body: { task_type_ids: [] } })).status).toBe(201);
    expect((await server.json("POST", `/api/data/entities/${asset.id}/tasks`, { body: { task_type_ids: [UNKNOWN_ID] } })).status).toBe(404);
    expect((await server.json("POST", `/api/data/entities/${asset.id}/tasks`, { token: p.client.token, body: { task_type_ids: [modeling] } })).status).toBe(403);
    expect((await server.json("POST", `/api/data/entities/${UNKNOWN_ID}/tasks`, { body: { task_type_ids: [modeling] } })).status).toBe(404);
  });

  test("news, preview files and time spents of an entity", async () => {
    const p = await production(server);
    const seq = await createSequence(server, p.project.id, "SQ1");
    const shot = await createShot(server, p.project.id, seq.id, "SH1");
    const taskId = await addTask(server, shot, "Animation");
    const commentId = crypto.randomUUID();
    const todo = await typeId(server, "task_status", "Todo");
    await server.db.insertInto("comment").values({ id: commentId, created_at: "2024-01-01T10:00:00", updated_at: "2024-01-01T10:00:00", object_id: taskId, object_type: "Task", text: "hi", task_status_id: todo, person_id: p.artist.id } as any).execute();
    await server.db.insertInto("news").values({ id: crypto.randomUUID(), created_at: "2024-01-01T10:00:00", updated_at: "2024-01-01T10:00:00", change: true, author_id: p.artist.id, comment_id: commentId, task_id: taskId } as any).execute();
    const news = await server.json("GET", `/api/data/entities/${shot.id}/news`, { token: p.artist.token });
    expect(news.status).toBe(200);
    expect(news.body.total).toBe(1);
    expect(news.body.data[0]).toMatchObject({ type: "News", task_id: taskId, task_status_id: todo, full_entity_name: "SQ1 / SH1", change: true, task_entity_id: shot.id });
    expect(news.body.data[0].person.id).toBe(p.artist.id);
    const previewId = crypto.randomUUID();
    await server.db.insertInto("preview_file").values({ id: previewId, created_at: "2024-01-01T10:00:00", updated_at: "2024-01-01T10:00:00", name: "v1", revision: 1, position: 1, extension: "png", task_id: taskId } as any).execute();
    const previews = await server.json("GET", `/api/data/entities/${shot.id}/preview-files`, { token: p.artist.token });
    expect(previews.body.map((x: any) => x.id)).toEqual([previewId]);
    expect(previews.body[0].type).toBeUndefined();
    await server.db.insertInto("time_spent").values({ id: crypto.randomUUID(), created_at: "2024-01-01T10:00:00", updated_at: "2024-01-01T10:00:00", duration: 60, date: "2024-01-01", task_id: taskId, person_id: p.artist.id } as any).execute();
    const spents = await server.json("GET", `/api/data/entities/${shot.id}/time-spents`, { token: p.artist.token });
    expect(spents.body.map((x: any) => x.duration)).toEqual([60]);
    for (const sub of ["news", "preview-files", "time-spents", "entities-linked/with-tasks"]) {
      expect((await server.json("GET", `/api/data/entities/${shot.id}/${sub}`, { token: prod.artist.token })).status).toBe(403);
      expect((await server.json("GET", `/api/data/entities/${UNKNOWN_ID}/${sub}`)).status).toBe(404);
    }
  });

  test("news of an episode: the episode's name and id, short author as in the project feed", async () => {
    const p = await production(server);
    const episode = await createEpisode(server, p.project.id, "EP-NEWS");
    const taskId = await addTask(server, episode, "Animation");
    const newsId = crypto.randomUUID();
    await server.db.insertInto("news").values({ id: newsId, created_at: "2024-01-02T10:00:00", updated_at: "2024-01-02T10:00:00", change: false, author_id: p.artist.id, task_id: taskId } as any).execute();
    const news = await server.json("GET", `/api/data/entities/${episode.id}/news`);
    expect(news.status).toBe(200);
    expect(news.body).toMatchObject({ total: 1, nb_pages: 1, limit: 2000, offset: 0, page: 1 });
    expect(news.body.stats).toBeUndefined();
    expect(news.body.data[0]).toMatchObject({ id: newsId, full_entity_name: "EP-NEWS", episode_id: episode.id, task_entity_id: episode.id });
    const feed = await server.json("GET", `/api/data/projects/${p.project.id}/news`);
    expect(feed.body.data[0]).toEqual(news.body.data[0]);
    expect(Object.keys(news.body.data[0].person).sort()).toEqual(["first_name", "full_name", "has_avatar", "id", "last_name", "role"]);
  });

  test("entities linked to an entity (concepts) with their tasks", async () => {
    const p = await production(server);
    const asset = await createAsset(server, p.project.id, "Character", "Linked");
    const concept = (await server.json("POST", `/api/data/projects/${p.project.id}/concepts`, { body: { name: "Sketch", entity_concept_links: [asset.id] } })).body;
    const taskId = await addTask(server, concept, "Concept", { forEntity: "Concept", status: "Neutral", assignees: [p.artist] });
    const res = await server.json("GET", `/api/data/entities/${asset.id}/entities-linked/with-tasks`, { token: p.artist.token });
    expect(res.status).toBe(200);
    expect(res.body.map((x: any) => [x.id, x.type])).toEqual([[concept.id, "Concept"]]);
    expect(res.body[0].entity_concept_links).toEqual([asset.id]);
    expect(res.body[0].tasks.map((t: any) => [t.id, t.assignees])).toEqual([[taskId, [p.artist.id]]]);
  });

  test("bulk delete: canceled or forced entities go, entities with tasks are canceled, other projects skipped", async () => {
    const p = await production(server);
    const seq = await createSequence(server, p.project.id, "SQ1");
    const withTask = await createShot(server, p.project.id, seq.id, "SH1");
    await addTask(server, withTask, "Layout");
    const bare = await createAsset(server, p.project.id, "Prop", "Bare");
    const foreign = await createAsset(server, prod.project.id, "Prop", "Foreign");
    const url = `/api/actions/projects/${p.project.id}/delete-entities`;
    expect((await server.json("POST", url, { token: p.artist.token, body: [bare.id] })).status).toBe(403);
    expect((await server.json("POST", url, { token: p.manager.token, body: { foo: 1 } })).status).toBe(400);
    expect((await server.json("POST", url, { token: p.manager.token, body: ["bad"] })).status).toBe(400);
    expect((await server.json("POST", `/api/actions/projects/${UNKNOWN_ID}/delete-entities`, { body: [] })).status).toBe(404);
    const first = await server.json("POST", url, { token: p.manager.token, body: [withTask.id, bare.id, foreign.id, seq.id, UNKNOWN_ID] });
    expect(first.status).toBe(200);
    expect(first.body.sort()).toEqual([withTask.id, bare.id].sort());
    expect((await server.json("GET", `/api/data/shots/${withTask.id}`)).body.canceled).toBe(true);
    expect((await server.json("GET", `/api/data/assets/${bare.id}`)).status).toBe(404);
    expect((await server.json("GET", `/api/data/assets/${foreign.id}`)).status).toBe(200);
    const second = await server.json("POST", url, { token: p.manager.token, body: [withTask.id] });
    expect(second.body).toEqual([withTask.id]);
    expect((await server.json("GET", `/api/data/shots/${withTask.id}`)).status).toBe(404);
  });
});
