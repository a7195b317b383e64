import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type TestServer } from "./helpers";
import {
  asset, assign, crew, type Crew, entity, episode, idOf, insertRow, linkTaskType, recordEvents, sequence, shot, task, UNKNOWN_ID,
} from "./projects-fixtures";

let server: TestServer;
let p: Crew;
let events: ReturnType<typeof recordEvents>;
let hero: string;
let tree: string;
let house: string;
let seq: string;
let sh1: string;
let sh2: string;

beforeAll(async () => {
  server = await makeServer();
  events = recordEvents(server);
  p = await crew(server, {}, "Breakdown");
  hero = await asset(server, p.project.id, "Hero", "Character");
  tree = await asset(server, p.project.id, "Tree", "Prop");
  house = await asset(server, p.project.id, "House", "Environment");
  seq = await sequence(server, p.project.id, "SQ01");
  sh1 = await shot(server, p.project.id, "SH010", seq);
  sh2 = await shot(server, p.project.id, "SH020", seq);
});

const base = () => `/api/data/projects/${p.project.id}`;

describe("casting of one entity", () => {
  test("PUT replaces the casting, GET reads it sorted by asset type then name; events and nb_entities_out", async () => {
    events.clear();
    const body = [
      { asset_id: tree, nb_occurences: 3, label: "fixed" },
      { asset_id: hero, nb_occurences: 1 },
      { asset_id: house },
    ];
    const put = await server.json("PUT", `${base()}/entities/${sh1}/casting`, { token: p.manager.token, body });
    expect(put.status).toBe(200);
    expect(put.body).toEqual(body);
    expect(events.data("entity-link:new")).toHaveLength(2);
    expect(events.data("shot:casting-update")).toEqual([
      { shot_id: sh1, nb_entities_out: 2, added_asset_ids: [tree, hero], removed_asset_ids: [], project_id: p.project.id },
    ]);
    const get = await server.json("GET", `${base()}/entities/${sh1}/casting`, { token: p.artist.token });
    expect(get.status).toBe(200);
    expect(get.body).toEqual([
      { asset_id: hero, asset_name: "Hero", asset_type_name: "Character", ready_for: null, episode_id: null, preview_file_id: null, nb_occurences: 1, label: "", is_shared: false, project_id: p.project.id },
      { asset_id: tree, asset_name: "Tree", asset_type_name: "Prop", ready_for: null, episode_id: null, preview_file_id: null, nb_occurences: 3, label: "fixed", is_shared: false, project_id: p.project.id },
    ]);
    const row = await server.db.selectFrom("entity").select("nb_entities_out").where("id", "=", sh1).executeTakeFirstOrThrow();
    expect(row.nb_entities_out).toBe(2);

    events.clear();
    await server.json("PUT", `${base()}/entities/${sh1}/casting`, { body: [{ asset_id: tree, nb_occurences: 5, label: "fixed" }] });
    expect(events.data("entity-link:update")).toHaveLength(1);
    expect(events.data("shot:casting-update")[0]).toMatchObject({ nb_entities_out: 1, added_asset_ids: [], removed_asset_ids: [hero] });
    expect((await server.json("GET", `${base()}/entities/${sh1}/casting`)).body.map((c: any) => [c.asset_id, c.nb_occurences])).toEqual([[tree, 5]]);
  });

  test("canceled assets are left out of the casting read", async () => {
    const ghost = await asset(server, p.project.id, "Ghost", "Character", { canceled: true });
    await server.json("PUT", `${base()}/entities/${sh2}/casting`, { body: [{ asset_id: ghost, nb_occurences: 1 }, { asset_id: hero, nb_occurences: 2 }] });
    expect((await server.json("GET", `${base()}/entities/${sh2}/casting`)).body.map((c: any) => c.asset_id)).toEqual([hero]);
  });

  test("errors: vendors and non-members 403, writers must manage, unknown ids 404, other projects 403, bad bodies 400", async () => {
    const other = await server.project("Other breakdown");
    const foreignShot = await shot(server, other.id, "SH999", await sequence(server, other.id, "SQ99"));
    expect((await server.json("GET", `${base()}/entities/${sh1}/casting`, { token: p.vendor.token })).status).toBe(403);
    expect((await server.json("GET", `${base()}/entities/${sh1}/casting`, { token: p.outsider.token })).status).toBe(403);
    expect((await server.json("GET", `${base()}/entities/${UNKNOWN_ID}/casting`)).status).toBe(404);
    expect((await server.json("GET", `${base()}/entities/${foreignShot}/casting`)).status).toBe(403);
    expect((await server.json("PUT", `${base()}/entities/${sh1}/casting`, { token: p.artist.token, body: [] })).status).toBe(403);
    const notArray = await server.json("PUT", `${base()}/entities/${sh1}/casting`, { body: { asset_id: hero } });
    expect(notArray.status).toBe(400);
    expect(notArray.body.message).toBe("Request body must be a JSON array");
    expect((await server.json("PUT", `${base()}/entities/${sh1}/casting`, { body: [{ asset_id: UNKNOWN_ID, nb_occurences: 1 }] })).status).toBe(400);
    expect((await server.json("PUT", `${base()}/entities/${sh1}/casting`, { body: [{ asset_id: hero, nb_occurences: "many" }] })).status).toBe(400);
    expect((await server.json("GET", `/api/data/projects/${UNKNOWN_ID}/entities/${sh1}/casting`)).status).toBe(404);
  });

  test("batch PUT updates several entities at once; a foreign entity refuses the whole request", async () => {
    const res = await server.json("PUT", `${base()}/entities/casting`, {
      token: p.manager.token,
      body: { [sh1]: [{ asset_id: house, nb_occurences: 1 }], [sh2]: [] },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ [sh1]: [{ asset_id: house, nb_occurences: 1 }], [sh2]: [] });
    expect((await server.json("GET", `${base()}/entities/${sh2}/casting`)).body).toEqual([]);
    const other = await server.project("Batch other");
    const foreign = await asset(server, other.id, "Foreign");
    const refused = await server.json("PUT", `${base()}/entities/casting`, { body: { [sh2]: [{ asset_id: hero, nb_occurences: 1 }], [foreign]: [] } });
    expect(refused.status).toBe(403);
    expect((await server.json("GET", `${base()}/entities/${sh2}/casting`)).body).toEqual([]);
    expect((await server.json("PUT", `${base()}/entities/casting`, { body: [] })).status).toBe(400);
    expect((await server.json("PUT", `${base()}/entities/casting`, { body: { [sh1]: "x" } })).status).toBe(400);
    expect((await server.json("PUT", `${base()}/entities/casting`, { body: { [UNKNOWN_ID]: [] } })).status).toBe(404);
    expect((await server.json("PUT", `${base()}/entities/casting`, { token: p.supervisor.token, body: {} })).status).toBe(403);
  });

  test("asset casting (set dressing) emits asset:casting-update; asset type casting groups per asset", async () => {
    events.clear();
    await server.json("PUT", `${base()}/entities/${house}/casting`, { body: [{ asset_id: tree, nb_occurences: 4 }] });
    expect(events.data("asset:casting-update")[0]).toMatchObject({ asset_id: house, nb_entities_out: 1 });
    const environment = await idOf(server, "entity_type", "Environment");
    const res = await server.json("GET", `${base()}/asset-types/${environment}/casting`, { token: p.client.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      [house]: [{ asset_id: tree, name: "Tree", asset_name: "Tree", asset_type_name: "Prop", preview_file_id: null, nb_occurences: 4, label: "", is_shared: false, project_id: p.project.id }],
    });
    const shotType = await idOf(server, "entity_type", "Shot");
    expect((await server.json("GET", `${base()}/asset-types/${shotType}/casting`)).status).toBe(404);
    expect((await server.json("GET", `${base()}/asset-types/${UNKNOWN_ID}/casting`)).status).toBe(404);
    expect((await server.json("GET", `${base()}/asset-types/${environment}/casting`, { token: p.vendor.token })).status).toBe(403);
  });
});

describe("casting of sequences and episodes", () => {
  test("sequence casting and all-sequences casting are keyed by shot id with the sequence name", async () => {
    await server.json("PUT", `${base()}/entities/${sh1}/casting`, { body: [{ asset_id: hero, nb_occurences: 2 }] });
    await server.json("PUT", `${base()}/entities/${sh2}/casting`, { body: [{ asset_id: tree, nb_occurences: 1 }] });
    const entry = (asset: string, name: string, type: string, nb: number) => ({
      asset_id: asset, name, asset_name: name, asset_type_name: type, sequence_name: "SQ01", preview_file_id: null, nb_occurences: nb, label: "",
      is_shared: false, project_id: p.project.id,
    });
    const expected = { [sh1]: [entry(hero, "Hero", "Character", 2)], [sh2]: [entry(tree, "Tree", "Prop", 1)] };
    const bySequence = await server.json("GET", `${base()}/sequences/${seq}/casting`, { token: p.artist.token });
    expect(bySequence.status).toBe(200);
    expect(bySequence.body).toEqual(expected);
    expect(Object.keys(bySequence.body)).toEqual([sh1, sh2]);
    expect((await server.json("GET", `${base()}/sequences/all/casting`)).body).toEqual(expected);
    expect((await server.json("GET", `${base()}/sequences/${UNKNOWN_ID}/casting`)).status).toBe(404);
    expect((await server.json("GET", `${base()}/sequences/${sh1}/casting`)).status).toBe(404);
    expect((await server.json("GET", `${base()}/sequences/${seq}/casting`, { token: p.vendor.token })).status).toBe(403);
  });

  test("tv shows: casting a shot casts the asset in its episode; episode casting removal cleans its shots", async () => {
    const show = await crew(server, { production_type: "tvshow" }, "Breakdown show");
    const url = `/api/data/projects/${show.project.id}`;
    const ep = await episode(server, show.project.id, "E01");
    const sq = await sequence(server, show.project.id, "SQ01", ep);
    const s1 = await shot(server, show.project.id, "SH010", sq);
    const prop = await asset(server, show.project.id, "Lamp", "Prop");
    const chair = await asset(server, show.project.id, "Chair", "Prop");
    events.clear();
    await server.json("PUT", `${url}/entities/${s1}/casting`, { body: [{ asset_id: prop, nb_occurences: 2 }, { asset_id: chair, nb_occurences: 1 }] });
    expect(events.data("asset:update").map((d: any) => d.asset_id).sort()).toEqual([prop, chair].sort());
    // The episode links are announced by asset:update only, as in Zou: entity-link:new for the shot's links.
    expect(events.data("entity-link:new").map((d: any) => d.entity_in_id)).toEqual([s1, s1]);
    const episodes = await server.json("GET", `${url}/episodes/casting`, { token: show.artist.token });
    expect(episodes.status).toBe(200);
    expect(episodes.body[ep].map((c: any) => [c.asset_id, c.nb_occurences])).toEqual([[chair, 1], [prop, 1]]);
    expect((await server.json("GET", `${url}/episodes/${ep}/sequences/all/casting`)).body[s1]).toHaveLength(2);
    expect((await server.json("GET", `${url}/episodes/main/sequences/all/casting`)).body).toEqual({});
    expect((await server.json("GET", `${url}/episodes/${UNKNOWN_ID}/sequences/all/casting`)).body).toEqual({});

    events.clear();
    await server.json("PUT", `${url}/entities/${ep}/casting`, { body: [{ asset_id: chair, nb_occurences: 1 }] });
    expect(events.data("episode:casting-update")[0]).toMatchObject({ episode_id: ep, nb_entities_out: 1, removed_asset_ids: [prop] });
    expect(events.data("shot:casting-update")[0]).toMatchObject({ shot_id: s1, nb_entities_out: 1 });
    expect((await server.json("GET", `${url}/entities/${s1}/casting`)).body.map((c: any) => c.asset_id)).toEqual([chair]);
    expect((await server.json("GET", `${url}/episodes/casting`, { token: show.vendor.token })).status).toBe(403);
  });

  test("casting updates refresh nb_assets_ready of the shot tasks", async () => {
    const project = await server.project("Ready stats");
    const layout = await idOf(server, "task_type", "Layout", { for_entity: "Shot" });
    const animation = await idOf(server, "task_type", "Animation", { for_entity: "Shot" });
    await linkTaskType(server, project.id, layout, 1);
    await linkTaskType(server, project.id, animation, 2);
    const sq = await sequence(server, project.id, "SQ01");
    const s1 = await shot(server, project.id, "SH010", sq);
    const layoutTask = await task(server, project.id, s1, "Layout", "Shot");
    const animationTask = await task(server, project.id, s1, "Animation", "Shot");
    const readyForLayout = await asset(server, project.id, "Ready for layout", "Prop", { ready_for: layout });
    const readyForAnimation = await asset(server, project.id, "Ready for animation", "Prop", { ready_for: animation });
    await server.json("PUT", `/api/data/projects/${project.id}/entities/${s1}/casting`, {
      body: [{ asset_id: readyForLayout, nb_occurences: 1 }, { asset_id: readyForAnimation, nb_occurences: 1 }],
    });
    const tasks = await server.db.selectFrom("task").select(["id", "nb_assets_ready"]).where("entity_id", "=", s1).execute();
    const byId = Object.fromEntries(tasks.map((t) => [t.id, t.nb_assets_ready]));
    expect(byId[layoutTask]).toBe(2);
    expect(byId[animationTask]).toBe(1);
  });
});

describe("entity links", () => {
  test("managers list them (plain, paged or by cursor) and delete one", async () => {
    const plain = await server.json("GET", `${base()}/entity-links`, { token: p.manager.token });
    expect(plain.status).toBe(200);
    expect(plain.body.length).toBeGreaterThan(0);
    expect(plain.body[0]).toMatchObject({ type: "EntityLink" });
    expect(Object.keys(plain.body[0]).sort()).toEqual(["created_at", "data", "entity_in_id", "entity_out_id", "id", "label", "nb_occurences", "type"]);
    const paged = await server.json("GET", `${base()}/entity-links?page=1&limit=1`);
    expect(paged.body.total).toBe(plain.body.length);
    expect(paged.body.data).toHaveLength(1);
    expect(paged.body.limit).toBe(1);
    const cursor = await server.json("GET", `${base()}/entity-links?cursor_created_at=2000-01-01T00:00:00&limit=2`);
    expect(cursor.body.limit).toBe(2);
    expect(cursor.body.data.length).toBeLessThanOrEqual(2);
    expect((await server.json("GET", `${base()}/entity-links`, { token: p.artist.token })).status).toBe(403);
    expect((await server.json("GET", `${base()}/entity-links?page=x`)).status).toBe(400);

    const link = plain.body[0];
    const removed = await server.json("DELETE", `${base()}/entity-links/${link.id}`, { token: p.manager.token });
    expect(removed.status).toBe(200);
    expect(removed.body.id).toBe(link.id);
    expect((await server.json("DELETE", `${base()}/entity-links/${link.id}`)).status).toBe(404);
    const other = await server.project("Links elsewhere", [p.manager]);
    const second = plain.body[1];
    if (second) expect((await server.json("DELETE", `/api/data/projects/${other.id}/entity-links/${second.id}`)).status).toBe(403);
  });
});

describe("asset instances", () => {
  test("scenes: create numbered instances, list them per asset, camera instances; permissions", async () => {
    const scene = await entity(server, p.project.id, "Scene", "SC01", { parent_id: seq });
    events.clear();
    const first = await server.json("POST", `/api/data/scenes/${scene}/asset-instances`, { token: p.artist.token, body: { asset_id: hero, description: "main" } });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ type: "AssetInstance", asset_id: hero, scene_id: scene, number: 1, name: "Hero_0001", description: "main" });
    const second = await server.json("POST", `/api/data/scenes/${scene}/asset-instances`, { body: { asset_id: hero } });
    expect(second.body.number).toBe(2);
    expect(events.data("asset_instance:new")[0]).toEqual({ scene_id: scene, asset_id: hero, asset_instance_id: first.body.id });
    const list = await server.json("GET", `/api/data/scenes/${scene}/asset-instances`, { token: p.artist.token });
    expect(Object.keys(list.body)).toEqual([hero]);
    expect(list.body[hero].map((i: any) => i.number)).toEqual([1, 2]);

    const camera = await entity(server, p.project.id, "Camera", "Cam A");
    await server.json("POST", `/api/data/scenes/${scene}/asset-instances`, { body: { asset_id: camera } });
    const cameras = await server.json("GET", `/api/data/scenes/${scene}/camera-instances`);
    expect(Object.keys(cameras.body)).toEqual([camera]);

    expect((await server.json("GET", `/api/data/scenes/${scene}/asset-instances`, { token: p.vendor.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/scenes/${scene}/asset-instances`, { token: p.outsider.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/scenes/${sh1}/asset-instances`)).status).toBe(404);
    expect((await server.json("POST", `/api/data/scenes/${scene}/asset-instances`, { body: {} })).status).toBe(400);
    expect((await server.json("POST", `/api/data/scenes/${scene}/asset-instances`, { body: { asset_id: UNKNOWN_ID } })).status).toBe(400);
    expect((await server.json("POST", `/api/data/scenes/${UNKNOWN_ID}/asset-instances`, { body: { asset_id: hero } })).status).toBe(404);
  });

  test("shots: attach and detach instances; vendors need a task on the shot to read", async () => {
    const scene = await entity(server, p.project.id, "Scene", "SC02", { parent_id: seq });
    const instance = (await server.json("POST", `/api/data/scenes/${scene}/asset-instances`, { body: { asset_id: tree } })).body;
    events.clear();
    const attached = await server.json("POST", `/api/data/shots/${sh1}/asset-instances`, { token: p.artist.token, body: { asset_instance_id: instance.id } });
    expect(attached.status).toBe(201);
    expect(attached.body.id).toBe(sh1);
    expect(events.data("asset_instance:add-to-shot")).toEqual([{ shot_id: sh1, asset_instance_id: instance.id }]);
    const list = await server.json("GET", `/api/data/shots/${sh1}/asset-instances`);
    expect(list.body[tree].map((i: any) => i.id)).toEqual([instance.id]);

    expect((await server.json("GET", `/api/data/shots/${sh1}/asset-instances`, { token: p.vendor.token })).status).toBe(403);
    const vendorTask = await task(server, p.project.id, sh1, "Layout", "Shot");
    await assign(server, vendorTask, p.vendor);
    expect((await server.json("GET", `/api/data/shots/${sh1}/asset-instances`, { token: p.vendor.token })).status).toBe(200);

    expect((await server.json("POST", `/api/data/shots/${sh1}/asset-instances`, { body: { asset_instance_id: UNKNOWN_ID } })).status).toBe(404);
    expect((await server.json("POST", `/api/data/shots/${sh1}/asset-instances`, { body: { asset_instance_id: "nope" } })).status).toBe(400);
    expect((await server.json("POST", `/api/data/shots/${hero}/asset-instances`, { body: { asset_instance_id: instance.id } })).status).toBe(404);
    expect((await server.json("POST", `/api/data/shots/${sh1}/asset-instances`, { token: p.outsider.token, body: { asset_instance_id: instance.id } })).status).toBe(403);

    expect((await server.request("DELETE", `/api/data/shots/${sh1}/asset-instances/${instance.id}`, { token: p.outsider.token })).status).toBe(403);
    expect((await server.request("DELETE", `/api/data/shots/${sh1}/asset-instances/${instance.id}`, { token: p.artist.token })).status).toBe(204);
    expect((await server.json("GET", `/api/data/shots/${sh1}/asset-instances`)).body).toEqual({});
    expect((await server.request("DELETE", `/api/data/shots/${sh1}/asset-instances/${UNKNOWN_ID}`)).status).toBe(404);
    expect(await insertRow(server, "asset_instance", { asset_id: hero, number: 9 })).toBeString();
  });
});
