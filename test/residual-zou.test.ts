/**
 * Remaining differences of issue 9 on served routes: values found by comparing our answers with a
 * recording of the real Zou 1.0.67 (zou-diff), checked against Zou's services.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type TestServer } from "./helpers";
import { addTask, createAsset, createEpisode, createSequence, createShot, production, type Production } from "./entities-fixtures";

let server: TestServer;
let prod: Production;
let ep: any;
let seq: any;
let hero: any;

beforeAll(async () => {
  server = await makeServer();
  prod = await production(server, { production_type: "tvshow" });
  ep = await createEpisode(server, prod.project.id, "E01");
  seq = await createSequence(server, prod.project.id, "SQ01", ep.id);
  await createShot(server, prod.project.id, seq.id, "SH010", { nb_frames: 48 });
  hero = await createAsset(server, prod.project.id, "Character", "Hero");
  await addTask(server, hero, "Modeling", { assignees: [prod.artist], forEntity: "Asset" });
});

describe("text None where Zou writes str(None)", () => {
  test("assets with tasks and asset detail: ready_for is \"None\" when unset", async () => {
    const list = await server.json("GET", `/api/data/assets/with-tasks?project_id=${prod.project.id}`);
    expect(list.body.find((a: any) => a.id === hero.id).ready_for).toBe("None");
    const detail = await server.json("GET", `/api/data/assets/${hero.id}`);
    expect(detail.status).toBe(200);
    expect(detail.body.ready_for).toBe("None");
  });

  test("episodes with tasks: episode_id is \"None\"; sequences keep their episode id", async () => {
    const episodes = await server.json("GET", `/api/data/episodes/with-tasks?project_id=${prod.project.id}`);
    expect(episodes.body.find((e: any) => e.id === ep.id).episode_id).toBe("None");
    const sequences = await server.json("GET", `/api/data/sequences/with-tasks?project_id=${prod.project.id}`);
    expect(sequences.body.find((s: any) => s.id === seq.id).episode_id).toBe(ep.id);
  });
});

describe("GET /data/persons/task-dates", () => {
  test("dates come from start and due dates only; missing ones are the text \"None\" (Zou's str(None))", async () => {
    // The artist's only task has no start date and no due date, but an end date.
    const shotTask = await addTask(server, hero, "Shading", { assignees: [prod.supervisor], forEntity: "Asset", fields: { end_date: "2024-05-01T10:00:00" } });
    expect(shotTask).toBeTruthy();
    const { status, body } = await server.json("GET", `/api/data/persons/task-dates?project_id=${prod.project.id}`);
    expect(status).toBe(200);
    expect(body.find((e: any) => e.person_id === prod.artist.id)).toEqual({ person_id: prod.artist.id, min_date: "None", max_date: "None", busy_periods: [] });
    expect(body.find((e: any) => e.person_id === prod.supervisor.id)).toMatchObject({ min_date: "None", max_date: "None" });
  });
});

describe("POST /data/metadata-descriptors/all-projects", () => {
  test("answers the created descriptors without a departments key, as Zou", async () => {
    const { status, body } = await server.json("POST", "/api/data/metadata-descriptors/all-projects", { body: { entity_type: "Shot", name: "AllProj", data_type: "string" } });
    expect(status).toBe(201);
    expect(body.length).toBeGreaterThan(0);
    for (const descriptor of body) {
      expect(descriptor).toMatchObject({ field_name: "allproj", entity_type: "Shot", type: "MetadataDescriptor" });
      expect("departments" in descriptor).toBe(false);
    }
  });
});

describe("asset-type:new of the Camera type", () => {
  test("the event logged by the camera-instances listing carries asset_type_id (Zou 1.0.67's payload)", async () => {
    const scene = (await server.json("POST", `/api/data/projects/${prod.project.id}/scenes`, { body: { name: "SC01", sequence_id: seq.id } })).body;
    expect((await server.json("GET", `/api/data/scenes/${scene.id}/camera-instances`)).status).toBe(200);
    const { body } = await server.json("GET", "/api/data/events/last?limit=1");
    expect(body[0].name).toBe("asset-type:new");
    const camera = (await server.json("GET", "/api/data/asset-types")).body.find((t: any) => t.name === "Camera");
    expect(body[0].data).toEqual({ asset_type_id: camera.id });
  });
});
