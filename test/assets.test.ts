import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type TestServer } from "./helpers";
import { UNKNOWN_ID, addTask, createAsset, createEpisode, createSequence, createShot, production, recordEvents, typeId, type Production } from "./entities-fixtures";

let server: TestServer;
let prod: Production;
let characterId: string;

beforeAll(async () => {
  server = await makeServer();
  prod = await production(server);
  characterId = await typeId(server, "entity_type", "Character");
});

describe("asset types", () => {
  test("lists asset types only, as AssetType with task types", async () => {
    const { status, body } = await server.json("GET", "/api/data/asset-types", { token: prod.artist.token });
    expect(status).toBe(200);
    const names = body.map((t: any) => t.name);
    expect(names).toContain("Character");
    expect(names).not.toContain("Shot");
    expect(names).not.toContain("Concept");
    expect(body[0].type).toBe("AssetType");
    expect(Array.isArray(body[0].task_types)).toBe(true);
  });

  test("one asset type; a reserved type or unknown id is a 404", async () => {
    expect((await server.json("GET", `/api/data/asset-types/${characterId}`)).body.name).toBe("Character");
    const shotType = await typeId(server, "entity_type", "Shot");
    expect((await server.json("GET", `/api/data/asset-types/${shotType}`)).status).toBe(404);
    expect((await server.json("GET", `/api/data/asset-types/${UNKNOWN_ID}`)).status).toBe(404);
  });

  test("asset types of a project and of a shot", async () => {
    const p = await production(server);
    const asset = await createAsset(server, p.project.id, "Prop", "Sword");
    const seq = await createSequence(server, p.project.id, "SQ01");
    const shot = await createShot(server, p.project.id, seq.id, "SH01");
    await server.db.insertInto("entity_link").values({ id: crypto.randomUUID(), entity_in_id: shot.id, entity_out_id: asset.id, nb_occurences: 1, label: "", data: "{}" } as any).execute();
    const project = await server.json("GET", `/api/data/projects/${p.project.id}/asset-types`, { token: p.artist.token });
    expect(project.body.map((t: any) => t.name)).toEqual(["Prop"]);
    expect(project.body[0].type).toBe("AssetType");
    const shotTypes = await server.json("GET", `/api/data/shots/${shot.id}/asset-types`, { token: p.artist.token });
    expect(shotTypes.body.map((t: any) => t.name)).toEqual(["Prop"]);
    expect((await server.json("GET", `/api/data/projects/${p.project.id}/asset-types`, { token: p.outsider.token })).status).toBe(403);
  });
});

describe("asset creation", () => {
  test("a manager creates an asset; 201 with type Asset and an asset:new event", async () => {
    const events = recordEvents(server);
    const asset = await createAsset(server, prod.project.id, "Character", "Hero", { description: "The hero", data: { size: 2 } }, prod.manager.token);
    expect(asset.type).toBe("Asset");
    expect(asset.entity_type_id).toBe(characterId);
    expect(asset.data).toEqual({ size: 2 });
    expect(asset.created_by).toBe(prod.manager.id);
    expect(asset.canceled).toBe(false);
    expect(events.data("asset:new")).toEqual([{ asset_id: asset.id, asset_type: characterId, project_id: prod.project.id }]);
  });

  test("artists, non-members and unknown projects or types are refused", async () => {
    const url = `/api/data/projects/${prod.project.id}/asset-types/${characterId}/assets/new`;
    expect((await server.json("POST", url, { token: prod.artist.token, body: { name: "X" } })).status).toBe(403);
    expect((await server.json("POST", url, { token: prod.outsider.token, body: { name: "X" } })).status).toBe(403);
    expect((await server.json("POST", `/api/data/projects/${prod.project.id}/asset-types/${UNKNOWN_ID}/assets/new`, { body: { name: "X" } })).status).toBe(404);
    expect((await server.json("POST", `/api/data/projects/${UNKNOWN_ID}/asset-types/${characterId}/assets/new`, { body: { name: "X" } })).status).toBe(404);
  });

  test("a missing name or a bad episode id is a 400", async () => {
    const url = `/api/data/projects/${prod.project.id}/asset-types/${characterId}/assets/new`;
    const noName = await server.json("POST", url, { body: { description: "x" } });
    expect(noName.status).toBe(400);
    expect(noName.body.message).toBe("Validation error.");
    expect((await server.json("POST", url, { body: { name: "A", episode_id: "nope" } })).status).toBe(400);
    expect((await server.json("POST", url, { body: { name: "" } })).status).toBe(400);
  });
});

describe("asset reads", () => {
  test("full asset with project and type names, tasks and relations", async () => {
    const asset = await createAsset(server, prod.project.id, "Character", "Villain");
    const taskId = await addTask(server, asset, "Modeling", { assignees: [prod.artist], forEntity: "Asset" });
    const { status, body } = await server.json("GET", `/api/data/assets/${asset.id}`, { token: prod.artist.token });
    expect(status).toBe(200);
    expect(body.type).toBe("Asset");
    expect(body.project_name).toBe(prod.project.name);
    expect(body.asset_type_name).toBe("Character");
    expect(body.asset_type_id).toBe(characterId);
    expect(body.source_id).toBeUndefined();
    expect(body.nb_frames).toBeUndefined();
    expect(body.entities_out).toEqual([]);
    expect(body.episode_id).toBe("");
    expect(body.tasks.map((t: any) => t.id)).toEqual([taskId]);
    expect(body.tasks[0].assignees).toEqual([prod.artist.id]);
  });

  test("403 for a non-member, 404 unknown, 404 for a shot id", async () => {
    const asset = await createAsset(server, prod.project.id, "Prop", "Shield");
    expect((await server.json("GET", `/api/data/assets/${asset.id}`, { token: prod.outsider.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/assets/${UNKNOWN_ID}`)).status).toBe(404);
    expect((await server.json("GET", `/api/data/assets/not-an-id`)).status).toBe(404);
    const seq = await createSequence(server, prod.project.id, "SQ-R");
    expect((await server.json("GET", `/api/data/assets/${seq.id}`)).status).toBe(404);
  });

  test("vendors read only assets with a task assigned to them", async () => {
    const asset = await createAsset(server, prod.project.id, "Prop", "Lamp");
    expect((await server.json("GET", `/api/data/assets/${asset.id}`, { token: prod.vendor.token })).status).toBe(403);
    await addTask(server, asset, "Shading", { assignees: [prod.vendor], forEntity: "Asset" });
    expect((await server.json("GET", `/api/data/assets/${asset.id}`, { token: prod.vendor.token })).status).toBe(200);
    expect((await server.json("GET", `/api/data/assets/${asset.id}/tasks`, { token: prod.vendor.token })).status).toBe(200);
  });

  test("tasks and task types of an asset", async () => {
    const asset = await createAsset(server, prod.project.id, "Prop", "Cup");
    await addTask(server, asset, "Modeling", { assignees: [prod.artist], forEntity: "Asset" });
    const tasks = await server.json("GET", `/api/data/assets/${asset.id}/tasks?relations=true`, { token: prod.artist.token });
    expect(tasks.status).toBe(200);
    expect(tasks.body[0].task_type_name).toBe("Modeling");
    expect(tasks.body[0].entity_name).toBe("Cup");
    expect(tasks.body[0].project_name).toBe(prod.project.name);
    expect(tasks.body[0].assignees).toEqual([prod.artist.id]);
    const types = await server.json("GET", `/api/data/assets/${asset.id}/task-types`, { token: prod.artist.token });
    expect(types.body.map((t: any) => t.name)).toEqual(["Modeling"]);
    expect(types.body[0].type).toBe("TaskType");
    expect((await server.json("GET", `/api/data/assets/${asset.id}/tasks`, { token: prod.outsider.token })).status).toBe(403);
  });
});

describe("asset lists", () => {
  test("/data/assets/all filters by project, and a non-member naming the project gets 403", async () => {
    const p = await production(server);
    const asset = await createAsset(server, p.project.id, "Character", "Alpha");
    const list = await server.json("GET", `/api/data/assets/all?project_id=${p.project.id}`, { token: p.artist.token });
    expect(list.status).toBe(200);
    expect(list.body.map((a: any) => a.id)).toEqual([asset.id]);
    expect(list.body[0].type).toBe("Asset");
    expect((await server.json("GET", `/api/data/assets?project_id=${p.project.id}`, { token: prod.artist.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/assets?project_id=bad`, { token: p.artist.token })).status).toBe(400);
  });

  test("without a project, non-admins only see assets of their projects", async () => {
    const p = await production(server);
    const mine = await createAsset(server, p.project.id, "Character", "Mine");
    const other = await production(server);
    await createAsset(server, other.project.id, "Character", "Theirs");
    const list = await server.json("GET", "/api/data/assets", { token: p.artist.token });
    expect(list.body.map((a: any) => a.id)).toEqual([mine.id]);
    const admin = await server.json("GET", "/api/data/assets");
    expect(admin.body.length).toBeGreaterThanOrEqual(2);
  });

  test("project lists and asset-type lists, vendors see assigned assets only", async () => {
    const p = await production(server);
    const a1 = await createAsset(server, p.project.id, "Character", "C1");
    const a2 = await createAsset(server, p.project.id, "Prop", "P1");
    await addTask(server, a2, "Modeling", { assignees: [p.vendor], forEntity: "Asset" });
    const all = await server.json("GET", `/api/data/projects/${p.project.id}/assets`, { token: p.artist.token });
    expect(all.body.map((a: any) => a.id).sort()).toEqual([a1.id, a2.id].sort());
    const vendor = await server.json("GET", `/api/data/projects/${p.project.id}/assets`, { token: p.vendor.token });
    expect(vendor.body.map((a: any) => a.id)).toEqual([a2.id]);
    const byType = await server.json("GET", `/api/data/projects/${p.project.id}/asset-types/${characterId}/assets`, { token: p.artist.token });
    expect(byType.body.map((a: any) => a.id)).toEqual([a1.id]);
    expect((await server.json("GET", `/api/data/projects/${p.project.id}/assets`, { token: prod.outsider.token })).status).toBe(403);
  });

  test("episode filter keeps assets of the episode and assets cast in it", async () => {
    const p = await production(server, { production_type: "tvshow" });
    const ep = await createEpisode(server, p.project.id, "E01");
    const own = await createAsset(server, p.project.id, "Character", "Own", { episode_id: ep.id });
    const cast = await createAsset(server, p.project.id, "Character", "Cast");
    await createAsset(server, p.project.id, "Character", "Elsewhere");
    await server.db.insertInto("entity_link").values({ id: crypto.randomUUID(), entity_in_id: ep.id, entity_out_id: cast.id, nb_occurences: 1, label: "", data: "{}" } as any).execute();
    const list = await server.json("GET", `/api/data/assets/all?project_id=${p.project.id}&episode_id=${ep.id}`, { token: p.artist.token });
    expect(list.body.map((a: any) => a.name).sort()).toEqual(["Cast", "Own"]);
  });

  test("vendor metadata masking hides descriptors of other departments", async () => {
    const p = await production(server);
    const dept = await server.db.selectFrom("department").select("id").where("name", "=", "Modeling").executeTakeFirstOrThrow();
    const descriptorId = crypto.randomUUID();
    await server.db.insertInto("metadata_descriptor").values({ id: descriptorId, project_id: p.project.id, entity_type: "Asset", name: "Secret", field_name: "secret", data_type: "string", choices: "[]", for_client: false, position: 1 } as any).execute();
    await server.db.insertInto("department_metadata_descriptor_link").values({ metadata_descriptor_id: descriptorId, department_id: dept.id } as any).execute();
    const asset = await createAsset(server, p.project.id, "Prop", "Masked", { data: { secret: "s", open: "o" } });
    await addTask(server, asset, "Modeling", { assignees: [p.vendor], forEntity: "Asset" });
    const vendor = await server.json("GET", `/api/data/projects/${p.project.id}/assets`, { token: p.vendor.token });
    expect(vendor.body[0].data).toEqual({ open: "o" });
    const artist = await server.json("GET", `/api/data/projects/${p.project.id}/assets`, { token: p.artist.token });
    expect(artist.body[0].data).toEqual({ secret: "s", open: "o" });
  });
});

describe("asset deletion", () => {
  test("an asset with tasks is only canceled; force removes it with its tasks", async () => {
    const asset = await createAsset(server, prod.project.id, "Prop", "Chair");
    const taskId = await addTask(server, asset, "Modeling", { forEntity: "Asset" });
    const events = recordEvents(server);
    expect((await server.request("DELETE", `/api/data/assets/${asset.id}`, { token: prod.manager.token })).status).toBe(204);
    const canceled = await server.json("GET", `/api/data/assets/${asset.id}`);
    expect(canceled.body.canceled).toBe(true);
    expect(events.names()).toContain("asset:update");
    expect((await server.request("DELETE", `/api/data/assets/${asset.id}?force=true`, { token: prod.manager.token })).status).toBe(204);
    expect((await server.json("GET", `/api/data/assets/${asset.id}`)).status).toBe(404);
    expect(await server.db.selectFrom("task").select("id").where("id", "=", taskId).executeTakeFirst()).toBeUndefined();
    expect(events.names()).toContain("asset:delete");
    expect(events.names()).toContain("task:delete");
  });

  test("an asset without task is deleted; artists may not delete others' assets; the creator may", async () => {
    const asset = await createAsset(server, prod.project.id, "Prop", "Table");
    expect((await server.request("DELETE", `/api/data/assets/${asset.id}`, { token: prod.artist.token })).status).toBe(403);
    expect((await server.request("DELETE", `/api/data/assets/${asset.id}`)).status).toBe(204);
    expect((await server.request("DELETE", `/api/data/assets/${asset.id}`)).status).toBe(404);
    const own = await createAsset(server, prod.project.id, "Prop", "Mine", {}, prod.manager.token);
    await server.db.updateTable("entity").set({ created_by: prod.artist.id } as any).where("id", "=", own.id).execute();
    expect((await server.request("DELETE", `/api/data/assets/${own.id}`, { token: prod.artist.token })).status).toBe(204);
  });
});

describe("casting and instances", () => {
  test("put and get the casting of an asset, cast-in of the cast asset", async () => {
    const set = await createAsset(server, prod.project.id, "Environment", "Kitchen");
    const prop = await createAsset(server, prod.project.id, "Prop", "Knife");
    const events = recordEvents(server);
    const put = await server.json("PUT", `/api/data/assets/${set.id}/casting`, { token: prod.manager.token, body: [{ asset_id: prop.id, nb_occurences: 3 }] });
    expect(put.status).toBe(200);
    expect(events.names()).toContain("asset:casting-update");
    const casting = await server.json("GET", `/api/data/assets/${set.id}/casting`, { token: prod.artist.token });
    expect(casting.body).toEqual([
      { asset_id: prop.id, asset_name: "Knife", asset_type_name: "Prop", ready_for: null, episode_id: null, preview_file_id: null, nb_occurences: 3, label: "",
        is_shared: false, project_id: prod.project.id },
    ]);
    const linked = await server.json("GET", `/api/data/assets/${set.id}/assets`, { token: prod.artist.token });
    expect(linked.body.map((a: any) => a.id)).toEqual([prop.id]);
    const castIn = await server.json("GET", `/api/data/assets/${prop.id}/cast-in`, { token: prod.artist.token });
    expect(castIn.body[0]).toMatchObject({ asset_id: set.id, asset_name: "Kitchen", asset_type_name: "Environment", nb_occurences: 3 });
    const setRow = await server.json("GET", `/api/data/assets/${set.id}`);
    expect(setRow.body.nb_entities_out).toBe(1);
  });

  test("casting writes need a manager and a list body", async () => {
    const set = await createAsset(server, prod.project.id, "Environment", "Garden");
    expect((await server.json("PUT", `/api/data/assets/${set.id}/casting`, { token: prod.artist.token, body: [] })).status).toBe(403);
    expect((await server.json("PUT", `/api/data/assets/${set.id}/casting`, { body: { asset_id: "x" } })).status).toBe(400);
    expect((await server.json("PUT", `/api/data/assets/${set.id}/casting`, { body: [{ asset_id: "nope" }] })).status).toBe(400);
    expect((await server.json("PUT", `/api/data/assets/${UNKNOWN_ID}/casting`, { body: [] })).status).toBe(404);
  });

  test("asset instances inside an asset", async () => {
    const set = await createAsset(server, prod.project.id, "Environment", "Forest");
    const tree = await createAsset(server, prod.project.id, "Prop", "Big Tree");
    const first = await server.json("POST", `/api/data/assets/${set.id}/asset-asset-instances`, { token: prod.artist.token, body: { asset_to_instantiate_id: tree.id } });
    expect(first.status).toBe(201);
    expect(first.body.name).toBe("Big_Tree_0001");
    expect(first.body.number).toBe(1);
    const second = await server.json("POST", `/api/data/assets/${set.id}/asset-asset-instances`, { body: { asset_to_instantiate_id: tree.id } });
    expect(second.body.number).toBe(2);
    const list = await server.json("GET", `/api/data/assets/${set.id}/asset-asset-instances`, { token: prod.artist.token });
    expect(list.body[tree.id].map((i: any) => i.number)).toEqual([1, 2]);
    expect((await server.json("POST", `/api/data/assets/${set.id}/asset-asset-instances`, { body: {} })).status).toBe(400);
    expect((await server.json("GET", `/api/data/assets/${set.id}/asset-asset-instances`, { token: prod.outsider.token })).status).toBe(403);
    const scenes = await server.json("GET", `/api/data/assets/${tree.id}/scene-asset-instances`, { token: prod.artist.token });
    expect(scenes.status).toBe(200);
    const shots = await server.json("GET", `/api/data/assets/${tree.id}/shot-asset-instances`, { token: prod.artist.token });
    expect(shots.body).toEqual({});
  });
});

describe("sharing", () => {
  test("share assets of a project, of a type, or by ids", async () => {
    const p = await production(server);
    const a = await createAsset(server, p.project.id, "Character", "S1");
    const b = await createAsset(server, p.project.id, "Prop", "S2");
    const all = await server.json("POST", `/api/actions/projects/${p.project.id}/assets/share`, { token: p.manager.token, body: { is_shared: true } });
    expect(all.status).toBe(200);
    expect(all.body.map((x: any) => x.is_shared)).toEqual([true, true]);
    const byType = await server.json("POST", `/api/actions/projects/${p.project.id}/asset-types/${characterId}/assets/share`, { token: p.manager.token, body: { is_shared: false } });
    expect(byType.body.map((x: any) => x.id)).toEqual([a.id]);
    const byIds = await server.json("POST", "/api/actions/assets/share", { token: p.manager.token, body: { is_shared: false, asset_ids: [b.id] } });
    expect(byIds.body.map((x: any) => [x.id, x.is_shared])).toEqual([[b.id, false]]);
    expect((await server.json("POST", "/api/actions/assets/share", { token: p.artist.token, body: { asset_ids: [b.id] } })).status).toBe(403);
    expect((await server.json("POST", "/api/actions/assets/share", { body: { asset_ids: ["x"] } })).status).toBe(400);
    // No ids: nothing is shared (not every asset), on both databases.
    expect(await server.json("POST", "/api/actions/assets/share", { body: { is_shared: true, asset_ids: [] } })).toEqual({ status: 200, body: [] });
    expect((await server.json("POST", `/api/actions/projects/${p.project.id}/assets/share`, { token: p.artist.token, body: {} })).status).toBe(403);
  });

  test("shared assets of other projects used in this one", async () => {
    const library = await production(server);
    const shared = await createAsset(server, library.project.id, "Prop", "Shared Lamp", { is_shared: true });
    const p = await production(server);
    const seq = await createSequence(server, p.project.id, "SQ1");
    const shot = await createShot(server, p.project.id, seq.id, "SH1");
    await server.db.insertInto("entity_link").values({ id: crypto.randomUUID(), entity_in_id: shot.id, entity_out_id: shared.id, nb_occurences: 1, label: "", data: "{}" } as any).execute();
    const used = await server.json("GET", `/api/data/projects/${p.project.id}/assets/shared-used`, { token: p.artist.token });
    expect(used.body.map((x: any) => x.id)).toEqual([shared.id]);
    const byEpisode = await server.json("GET", `/api/data/projects/${p.project.id}/episodes/all/assets/shared-used`, { token: p.artist.token });
    expect(byEpisode.body.map((x: any) => x.id)).toEqual([shared.id]);
    expect((await server.json("GET", `/api/data/projects/${p.project.id}/assets/shared-used`, { token: library.artist.token })).status).toBe(403);
  });
});
