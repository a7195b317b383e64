/**
 * Entity routes answering as Zou 1.0.67 does (issue 9): keys and values found by comparing the
 * answers with a recording of the real Zou.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type TestServer } from "./helpers";
import { addTask, createAsset, createEpisode, createSequence, createShot, ndjson, production, recordEvents, type Production } from "./entities-fixtures";

let server: TestServer;
let prod: Production;
let ep: any;
let seq: any;
let shot: any;
let hero: any;
let heroTask: string;

beforeAll(async () => {
  server = await makeServer();
  prod = await production(server, { production_type: "tvshow" });
  ep = await createEpisode(server, prod.project.id, "E01");
  seq = await createSequence(server, prod.project.id, "SQ01", ep.id);
  shot = await createShot(server, prod.project.id, seq.id, "SH010", { nb_frames: 48 });
  hero = await createAsset(server, prod.project.id, "Character", "Hero", { data: { tier: "A" } });
  heroTask = await addTask(server, hero, "Modeling", { assignees: [prod.artist], forEntity: "Asset", fields: { data: JSON.stringify({ note: "x" }) } });
});

describe("tasks[].data in asset, edit and concept answers", () => {
  test("asset detail and with-tasks list carry each task's data", async () => {
    const detail = await server.json("GET", `/api/data/assets/${hero.id}`);
    expect(detail.status).toBe(200);
    expect(detail.body.tasks[0]).toMatchObject({ id: heroTask, data: { note: "x" } });
    const list = await server.json("GET", `/api/data/assets/with-tasks?project_id=${prod.project.id}`);
    expect(list.body.find((a: any) => a.id === hero.id).tasks[0].data).toEqual({ note: "x" });
  });

  test("compact NDJSON asset list: task_fields end with data (19 fields)", async () => {
    const response = await server.request("GET", `/api/data/assets/with-tasks?project_id=${prod.project.id}&stream=true&compact=true`);
    const [header, ...rows] = ndjson(await response.text());
    expect(header.task_fields.length).toBe(19);
    expect(header.task_fields.at(-1)).toBe("data");
    const row = rows.find((r: any[]) => r[0] === hero.id);
    const task = row[header.asset_fields.indexOf("tasks")][0];
    expect(task.length).toBe(19);
    expect(task.at(-1)).toEqual({ note: "x" });
  });

  test("edit and concept details and lists carry task data", async () => {
    const edit = (await server.json("POST", `/api/data/projects/${prod.project.id}/edits`, { body: { name: "ED01", episode_id: ep.id } })).body;
    await addTask(server, edit, "Edit", { fields: { data: JSON.stringify({ cut: 2 }) } });
    expect((await server.json("GET", `/api/data/edits/${edit.id}`)).body.tasks[0].data).toEqual({ cut: 2 });
    const edits = await server.json("GET", `/api/data/edits/with-tasks?project_id=${prod.project.id}`);
    expect(edits.body[0].tasks[0].data).toEqual({ cut: 2 });
    const concept = (await server.json("POST", `/api/data/projects/${prod.project.id}/concepts`, { body: { name: "Look" } })).body;
    await addTask(server, concept, "Concept", { forEntity: "Concept" });
    expect((await server.json("GET", `/api/data/concepts/${concept.id}`)).body.tasks[0]).toHaveProperty("data", null);
    const concepts = await server.json("GET", `/api/data/concepts/with-tasks?project_id=${prod.project.id}`);
    expect(concepts.body[0].tasks[0]).toHaveProperty("data", null);
  });
});

describe("asset types", () => {
  test("the scene camera-instances listing creates the Camera asset type once (Zou's get-or-create)", async () => {
    const before = await server.json("GET", "/api/data/asset-types", { token: prod.artist.token });
    expect(before.body.map((t: any) => t.name)).not.toContain("Camera");
    const entityTypes = (await server.json("GET", "/api/data/entity-types")).body.length;
    const scene = (await server.json("POST", `/api/data/projects/${prod.project.id}/scenes`, { body: { name: "SC01", sequence_id: seq.id } })).body;
    const events = recordEvents(server);
    for (let i = 0; i < 2; i++) {
      const res = await server.json("GET", `/api/data/scenes/${scene.id}/camera-instances`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({});
    }
    expect(events.data("asset-type:new")).toEqual([{ asset_type_id: expect.any(String) }]);
    const after = await server.json("GET", "/api/data/asset-types", { token: prod.artist.token });
    expect(after.body.length).toBe(before.body.length + 1);
    expect(after.body.map((t: any) => t.name)).toContain("Camera");
    expect((await server.json("GET", "/api/data/entity-types")).body.length).toBe(entityTypes + 1);
  });
});

describe("casting answers", () => {
  test("entries carry the asset's is_shared and project_id; episodes and all-sequences castings list every container as Zou does", async () => {
    const base = `/api/data/projects/${prod.project.id}`;
    const prop = await createAsset(server, prod.project.id, "Prop", "Sword");
    expect((await server.json("PUT", `${base}/entities/${shot.id}/casting`, { body: [{ asset_id: hero.id, nb_occurences: 1 }] })).status).toBe(200);
    expect((await server.json("PUT", `${base}/entities/${seq.id}/casting`, { body: [{ asset_id: prop.id, nb_occurences: 1 }] })).status).toBe(200);
    const one = await server.json("GET", `${base}/entities/${shot.id}/casting`, { token: prod.artist.token });
    expect(one.body).toEqual([expect.objectContaining({ asset_id: hero.id, is_shared: false, project_id: prod.project.id })]);
    const episodes = await server.json("GET", `${base}/episodes/casting`, { token: prod.artist.token });
    // the episode (cast through its shot), and also the shot and the sequence
    expect(Object.keys(episodes.body).sort()).toEqual([ep.id, seq.id, shot.id].sort());
    expect(episodes.body[ep.id]).toEqual([expect.objectContaining({ asset_id: hero.id, name: "Hero", is_shared: false, project_id: prod.project.id })]);
    const sequences = await server.json("GET", `${base}/sequences/all/casting`, { token: prod.artist.token });
    expect(Object.keys(sequences.body).sort()).toEqual([seq.id, shot.id].sort());
    expect(sequences.body[seq.id]).toEqual([expect.objectContaining({ asset_id: prop.id, sequence_name: "E01", is_shared: false, project_id: prod.project.id })]);
    const bySequence = await server.json("GET", `${base}/sequences/${seq.id}/casting`, { token: prod.artist.token });
    expect(bySequence.body[shot.id]).toEqual([expect.objectContaining({ asset_id: hero.id, sequence_name: "SQ01", is_shared: false })]);
  });
});

describe("POST /data/entities/:id/tasks", () => {
  test("accepts a single {task_type_id}; a wrong type is a 400", async () => {
    const layout = (await server.db.selectFrom("task_type").select("id").where("name", "=", "Layout").executeTakeFirstOrThrow()).id;
    await server.db.insertInto("project_task_type_link").values({ id: crypto.randomUUID(), project_id: prod.project.id, task_type_id: layout, priority: 1 } as any).execute();
    const res = await server.json("POST", `/api/data/entities/${shot.id}/tasks`, { body: { task_type_id: layout } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual([expect.objectContaining({ name: "main", entity_id: shot.id, task_type_id: layout })]);
    expect((await server.json("POST", `/api/data/entities/${shot.id}/tasks`, { body: { task_type_id: 5 } })).status).toBe(400);
  });
});

describe("asset instances", () => {
  test("an instance created without description has a null description (scene and asset instances)", async () => {
    const prop = await createAsset(server, prod.project.id, "Prop", "Lamp");
    const onAsset = await server.json("POST", `/api/data/assets/${hero.id}/asset-asset-instances`, { body: { asset_to_instantiate_id: prop.id } });
    expect(onAsset.status).toBe(201);
    expect(onAsset.body.description).toBeNull();
    const listed = await server.json("GET", `/api/data/assets/${hero.id}/asset-asset-instances`);
    expect(listed.body[prop.id][0].description).toBeNull();
    const scene = (await server.json("POST", `/api/data/projects/${prod.project.id}/scenes`, { body: { name: "SC02", sequence_id: seq.id } })).body;
    const onScene = await server.json("POST", `/api/data/scenes/${scene.id}/asset-instances`, { body: { asset_id: prop.id } });
    expect(onScene.status).toBe(201);
    expect(onScene.body.description).toBeNull();
    const described = await server.json("POST", `/api/data/scenes/${scene.id}/asset-instances`, { body: { asset_id: prop.id, description: "left" } });
    expect(described.body.description).toBe("left");
  });
});

describe("episodes", () => {
  test("the first episode of a new tv show has an empty description, like episodes created by name", async () => {
    const created = await server.json("POST", "/api/data/projects", { body: { name: "Show with E01", production_type: "tvshow" } });
    expect(created.status).toBe(201);
    const episodes = await server.json("GET", `/api/data/projects/${created.body.id}/episodes`);
    expect(episodes.body.map((e: any) => [e.name, e.description])).toEqual([["E01", ""]]);
    const second = await server.json("POST", `/api/data/projects/${created.body.id}/episodes`, { body: { name: "E02" } });
    expect(second.body.description).toBe("");
  });
});

describe("quotas", () => {
  test("weeks are ISO weeks (Python's isocalendar): 2021-03-17 is 2021-11, 2021-01-01 is 2020-53", async () => {
    const p = await production(server, { fps: "25" });
    const sq = await createSequence(server, p.project.id, "SQ01");
    const s1 = await createShot(server, p.project.id, sq.id, "SH01", { nb_frames: 60 });
    const s2 = await createShot(server, p.project.id, sq.id, "SH02", { nb_frames: 10 });
    await addTask(server, s1, "Animation", { assignees: [p.artist], fields: { end_date: "2021-03-17T10:00:00" } });
    await addTask(server, s2, "Animation", { assignees: [p.artist], fields: { end_date: "2021-01-01T10:00:00" } });
    const animation = (await server.db.selectFrom("task_type").select("id").where("name", "=", "Animation").executeTakeFirstOrThrow()).id;
    const res = await server.json("GET", `/api/data/projects/${p.project.id}/quotas/${animation}?count_mode=feedback`, { token: p.artist.token });
    expect(res.status).toBe(200);
    expect(res.body.total.week.frames).toEqual({ "2021-11": 60, "2020-53": 10 });
    expect(res.body.total.week.entries).toEqual({ "2021": 1, "2020": 1 });
  });
});

describe("entity links", () => {
  test("created_at carries microseconds; paging by cursor_created_at visits links created in the same second once each", async () => {
    const p = await production(server);
    const sq = await createSequence(server, p.project.id, "SQ01");
    const sh = await createShot(server, p.project.id, sq.id, "SH01");
    const assets = [];
    for (const name of ["A1", "A2", "A3", "A4", "A5"]) assets.push(await createAsset(server, p.project.id, "Prop", name));
    const put = await server.json("PUT", `/api/data/projects/${p.project.id}/entities/${sh.id}/casting`, {
      body: assets.map((a) => ({ asset_id: a.id, nb_occurences: 1 })),
    });
    expect(put.status).toBe(200);
    const all = await server.json("GET", `/api/data/projects/${p.project.id}/entity-links`);
    expect(all.body).toHaveLength(5);
    for (const link of all.body) expect(link.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    const seen: string[] = [];
    let cursor = "2000-01-01T00:00:00";
    for (let i = 0; i < 10; i++) {
      const page = await server.json("GET", `/api/data/projects/${p.project.id}/entity-links?cursor_created_at=${cursor}&limit=2`);
      if (page.body.data.length === 0) break;
      seen.push(...page.body.data.map((l: any) => l.id));
      cursor = page.body.data.at(-1).created_at;
    }
    expect(seen.sort()).toEqual(all.body.map((l: any) => l.id).sort());
  });
});
