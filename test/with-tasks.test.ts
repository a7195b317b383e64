import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type TestServer } from "./helpers";
import { addTask, createAsset, createEpisode, createSequence, createShot, ndjson, production, typeId, type Production } from "./entities-fixtures";
import { ASSET_FIELDS, ASSET_TASK_FIELDS, SHOT_FIELDS, SHOT_TASK_FIELDS } from "../src/services/with-tasks";

let server: TestServer;
let prod: Production;
let ep: any;
let seq: any;
let shots: any[];
let shotTasks: string[];
let hero: any;
let heroTask: string;

beforeAll(async () => {
  server = await makeServer();
  prod = await production(server, { production_type: "tvshow" });
  ep = await createEpisode(server, prod.project.id, "E01");
  seq = await createSequence(server, prod.project.id, "SQ01", ep.id);
  shots = [
    await createShot(server, prod.project.id, seq.id, "SH01", { nb_frames: 24, data: { frame_in: 1, frame_out: 24, fps: 25, note: "a" } }),
    await createShot(server, prod.project.id, seq.id, "SH02"),
  ];
  shotTasks = [
    await addTask(server, shots[0], "Animation", { assignees: [prod.artist, prod.vendor], fields: { due_date: "2024-05-01T00:00:00", estimation: 2.5, data: JSON.stringify({ k: 1 }) } }),
    await addTask(server, shots[0], "Layout", { assignees: [prod.artist] }),
    await addTask(server, shots[1], "Layout"),
  ];
  hero = await createAsset(server, prod.project.id, "Character", "Hero", { episode_id: ep.id, data: { size: 2 } });
  heroTask = await addTask(server, hero, "Modeling", { assignees: [prod.artist], forEntity: "Asset" });
  await createAsset(server, prod.project.id, "Prop", "Cup");
  await server.db.insertInto("subscription").values({ id: crypto.randomUUID(), person_id: prod.artist.id, task_id: heroTask } as any).execute();
});

describe("shots with tasks", () => {
  test("plain JSON array with Zou's keys", async () => {
    const { status, body } = await server.json("GET", `/api/data/shots/with-tasks?project_id=${prod.project.id}`, { token: prod.artist.token });
    expect(status).toBe(200);
    expect(body.map((s: any) => s.name)).toEqual(["SH01", "SH02"]);
    const sh1 = body[0];
    expect(Object.keys(sh1)).toEqual([...SHOT_FIELDS.slice(0, -2), "tasks", "type"]);
    expect(sh1).toMatchObject({
      id: shots[0].id, type: "Shot", episode_id: ep.id, episode_name: "E01", sequence_id: seq.id, sequence_name: "SQ01",
      project_name: prod.project.name, fps: 25, frame_in: 1, frame_out: 24, nb_frames: 24, canceled: false,
      data: { frame_in: 1, frame_out: 24, fps: 25, note: "a" },
    });
    const animation = sh1.tasks.find((t: any) => t.id === shotTasks[0]);
    expect(Object.keys(animation)).toEqual(SHOT_TASK_FIELDS);
    expect(animation).toMatchObject({ due_date: "2024-05-01T00:00:00", estimation: 2.5, is_subscribed: false, data: { k: 1 }, priority: 0 });
    expect(animation.assignees.sort()).toEqual([prod.artist.id, prod.vendor.id].sort());
    expect(body[1].tasks.length).toBe(1);
  });

  test("compact=true: header with field names and positional rows", async () => {
    const { body } = await server.json("GET", `/api/data/shots/with-tasks?project_id=${prod.project.id}&compact=true`, { token: prod.artist.token });
    expect(body.compact).toBe(true);
    expect(body.shot_fields).toEqual(SHOT_FIELDS);
    expect(body.task_fields).toEqual(SHOT_TASK_FIELDS);
    expect(body.rows.length).toBe(2);
    const row = body.rows[0];
    expect(row[SHOT_FIELDS.indexOf("id")]).toBe(shots[0].id);
    expect(row[SHOT_FIELDS.indexOf("type")]).toBe("Shot");
    const tasks = row[SHOT_FIELDS.indexOf("tasks")];
    expect(tasks[0].length).toBe(SHOT_TASK_FIELDS.length);
  });

  test("stream=true&compact=true: NDJSON header line then one row per line", async () => {
    const response = await server.request("GET", `/api/data/shots/with-tasks?project_id=${prod.project.id}&episode_id=${ep.id}&stream=true&compact=true`, {
      token: prod.artist.token,
      headers: { Accept: "application/x-ndjson" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("ndjson");
    const lines = ndjson(await response.text());
    expect(lines[0]).toEqual({ compact: true, shot_fields: SHOT_FIELDS, task_fields: SHOT_TASK_FIELDS });
    expect(lines.length).toBe(3);
    expect(lines.slice(1).map((row: any[]) => row[SHOT_FIELDS.indexOf("name")])).toEqual(["SH01", "SH02"]);
  });

  test("stream without compact: header {compact:false} then dict lines", async () => {
    const response = await server.request("GET", `/api/data/shots/with-tasks?project_id=${prod.project.id}&stream=true`, { token: prod.artist.token });
    const lines = ndjson(await response.text());
    expect(lines[0]).toEqual({ compact: false });
    expect(lines[1].name).toBe("SH01");
    expect(Array.isArray(lines[1].tasks)).toBe(true);
  });

  test("episode filter, main and all", async () => {
    const other = await createSequence(server, prod.project.id, "SQ-MAIN");
    await createShot(server, prod.project.id, other.id, "SHM");
    const byEpisode = await server.json("GET", `/api/data/shots/with-tasks?project_id=${prod.project.id}&episode_id=${ep.id}`, { token: prod.artist.token });
    expect(byEpisode.body.map((s: any) => s.name)).toEqual(["SH01", "SH02"]);
    const main = await server.json("GET", `/api/data/shots/with-tasks?project_id=${prod.project.id}&episode_id=main`, { token: prod.artist.token });
    expect(main.body.map((s: any) => s.name)).toEqual(["SHM"]);
    const all = await server.json("GET", `/api/data/shots/with-tasks?project_id=${prod.project.id}&episode_id=all`, { token: prod.artist.token });
    expect(all.body.length).toBe(3);
  });

  test("400 on malformed ids, 403 without project for non-admins or for non-members", async () => {
    expect((await server.json("GET", "/api/data/shots/with-tasks?project_id=nope", { token: prod.artist.token })).status).toBe(400);
    expect((await server.json("GET", `/api/data/shots/with-tasks?project_id=${prod.project.id}&episode_id=bad`, { token: prod.artist.token })).status).toBe(400);
    expect((await server.json("GET", `/api/data/shots/with-tasks?project_id=${prod.project.id}&id=bad`, { token: prod.artist.token })).status).toBe(400);
    expect((await server.json("GET", "/api/data/shots/with-tasks", { token: prod.artist.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/shots/with-tasks?project_id=${prod.project.id}`, { token: prod.outsider.token })).status).toBe(403);
    expect((await server.json("GET", "/api/data/shots/with-tasks")).status).toBe(200);
  });

  test("vendors get only shots with an assigned task, carrying only their tasks", async () => {
    const { body } = await server.json("GET", `/api/data/shots/with-tasks?project_id=${prod.project.id}`, { token: prod.vendor.token });
    expect(body.map((s: any) => s.id)).toEqual([shots[0].id]);
    expect(body[0].tasks.map((t: any) => t.id)).toEqual([shotTasks[0]]);
  });
});

describe("assets with tasks", () => {
  test("plain array with Zou's keys and subscriptions", async () => {
    const { status, body } = await server.json("GET", `/api/data/assets/with-tasks?project_id=${prod.project.id}`, { token: prod.artist.token });
    expect(status).toBe(200);
    expect(body.map((a: any) => a.name)).toEqual(["Hero", "Cup"]);
    expect(Object.keys(body[0])).toEqual(ASSET_FIELDS);
    expect(body[0]).toMatchObject({ asset_type_name: "Character", episode_id: ep.id, preview_file_id: "", is_shared: false, data: { size: 2 }, ready_for: "None" });
    expect(body[1].episode_id).toBe("");
    expect(Object.keys(body[0].tasks[0])).toEqual(ASSET_TASK_FIELDS);
    expect(body[0].tasks[0]).toMatchObject({ id: heroTask, is_subscribed: true, last_preview_file_id: "", assignees: [prod.artist.id] });
  });

  test("casting episode ids, episode filter and NDJSON", async () => {
    const cup = (await server.json("GET", `/api/data/assets/all?project_id=${prod.project.id}&name=Cup`)).body[0];
    await server.db.insertInto("entity_link").values({ id: crypto.randomUUID(), entity_in_id: ep.id, entity_out_id: cup.id, nb_occurences: 1, label: "", data: "{}" } as any).execute();
    const response = await server.request("GET", `/api/data/assets/with-tasks?project_id=${prod.project.id}&episode_id=${ep.id}&stream=true&compact=true`, { token: prod.artist.token });
    expect(response.headers.get("content-type")).toContain("ndjson");
    const [header, ...rows] = ndjson(await response.text());
    expect(header).toEqual({ compact: true, asset_fields: ASSET_FIELDS, task_fields: ASSET_TASK_FIELDS });
    const byName = Object.fromEntries(rows.map((row: any[]) => [row[ASSET_FIELDS.indexOf("name")], row]));
    expect(Object.keys(byName).sort()).toEqual(["Cup", "Hero"]);
    expect(byName.Cup[ASSET_FIELDS.indexOf("casting_episode_ids")]).toEqual([ep.id]);
    const main = await server.json("GET", `/api/data/assets/with-tasks?project_id=${prod.project.id}&episode_id=main`, { token: prod.artist.token });
    expect(main.body.map((a: any) => a.name)).toEqual(["Cup"]);
  });

  test("vendor: not member 403, member without task [], assigned: one asset with only that task", async () => {
    const other = await production(server);
    const vendor = await server.person("vendor");
    const url = `/api/data/assets/with-tasks?project_id=${other.project.id}`;
    expect((await server.json("GET", url, { token: vendor.token })).status).toBe(403);
    await server.addToTeam(other.project.id, vendor);
    const asset = await createAsset(server, other.project.id, "Prop", "Lamp");
    await addTask(server, asset, "Modeling", { forEntity: "Asset" });
    expect((await server.json("GET", url, { token: vendor.token })).body).toEqual([]);
    const mine = await addTask(server, asset, "Shading", { assignees: [vendor], forEntity: "Asset" });
    const { body } = await server.json("GET", url, { token: vendor.token });
    expect(body.length).toBe(1);
    expect(body[0].tasks.map((t: any) => t.id)).toEqual([mine]);
  });

  test("without project, non-admins see assets of their projects only", async () => {
    const other = await production(server);
    await createAsset(server, other.project.id, "Prop", "Foreign");
    const { body } = await server.json("GET", "/api/data/assets/with-tasks", { token: prod.artist.token });
    expect(body.map((a: any) => a.name)).not.toContain("Foreign");
    expect(body.map((a: any) => a.name)).toContain("Hero");
    expect((await server.json("GET", "/api/data/assets/with-tasks?episode_id=bad", { token: prod.artist.token })).status).toBe(400);
  });
});

describe("sequences, episodes, edits and concepts with tasks", () => {
  test("sequences and episodes carry their own tasks", async () => {
    const seqTask = await addTask(server, { id: seq.id, project_id: prod.project.id }, "Layout");
    const sequences = await server.json("GET", `/api/data/sequences/with-tasks?project_id=${prod.project.id}&episode_id=${ep.id}`, { token: prod.artist.token });
    expect(sequences.status).toBe(200);
    expect(sequences.body.map((s: any) => s.id)).toEqual([seq.id]);
    expect(Object.keys(sequences.body[0])).toEqual(["id", "name", "status", "episode_id", "description", "frame_in", "frame_out", "fps", "preview_file_id", "canceled", "data", "tasks"]);
    expect(sequences.body[0].episode_id).toBe(ep.id);
    expect(sequences.body[0].tasks.map((t: any) => t.id)).toEqual([seqTask]);
    const episodes = await server.json("GET", `/api/data/episodes/with-tasks?project_id=${prod.project.id}`, { token: prod.artist.token });
    expect(episodes.body.map((e: any) => e.id)).toEqual([ep.id]);
    expect(episodes.body[0].status).toBe("running");
    expect((await server.json("GET", "/api/data/sequences/with-tasks", { token: prod.artist.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/episodes/with-tasks?project_id=x`, { token: prod.artist.token })).status).toBe(400);
    const vendorSeqs = await server.json("GET", `/api/data/sequences/with-tasks?project_id=${prod.project.id}`, { token: prod.vendor.token });
    expect(vendorSeqs.body.map((s: any) => s.id)).toEqual([seq.id]);
    expect(vendorSeqs.body[0].tasks).toEqual([]);
  });

  test("edits and concepts lists", async () => {
    const edit = (await server.json("POST", `/api/data/projects/${prod.project.id}/edits`, { body: { name: "Trailer", episode_id: ep.id } })).body;
    const editTask = await addTask(server, edit, "Edit");
    const edits = await server.json("GET", `/api/data/edits/with-tasks?project_id=${prod.project.id}`, { token: prod.artist.token });
    expect(edits.body.map((e: any) => e.id)).toEqual([edit.id]);
    expect(edits.body[0]).toMatchObject({ type: "Edit", episode_id: ep.id, episode_name: "E01", project_name: prod.project.name });
    expect(edits.body[0].tasks[0]).toMatchObject({ id: editTask, is_subscribed: false, assignees: [] });
    const concept = (await server.json("POST", `/api/data/projects/${prod.project.id}/concepts`, { token: prod.artist.token, body: { name: "Look", entity_concept_links: [hero.id] } })).body;
    const concepts = await server.json("GET", `/api/data/concepts/with-tasks?project_id=${prod.project.id}`, { token: prod.artist.token });
    expect(concepts.body.map((x: any) => x.id)).toEqual([concept.id]);
    expect(concepts.body[0]).toMatchObject({ type: "Concept", entity_concept_links: [hero.id], created_by: prod.artist.id, tasks: [] });
    expect((await server.json("GET", `/api/data/concepts/with-tasks?project_id=${prod.project.id}`, { token: prod.vendor.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/concepts/with-tasks?project_id=${prod.project.id}`, { token: prod.client.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/edits/with-tasks?project_id=bad`, { token: prod.artist.token })).status).toBe(400);
  });
});

describe("large answers", () => {
  test("a long list is a valid JSON array, and streamed as NDJSON lines", async () => {
    const p = await production(server);
    const s = await createSequence(server, p.project.id, "BIG");
    const layout = await typeId(server, "task_type", "Layout");
    const todo = await typeId(server, "task_status", "Todo");
    for (let i = 0; i < 150; i++) {
      const shot = await createShot(server, p.project.id, s.id, `SH${String(i).padStart(3, "0")}`);
      await server.db.insertInto("task").values({ id: crypto.randomUUID(), name: "main", project_id: p.project.id, entity_id: shot.id, task_type_id: layout, task_status_id: todo, difficulty: 3 } as any).execute();
    }
    const response = await server.request("GET", `/api/data/shots/with-tasks?project_id=${p.project.id}`, { token: p.artist.token });
    expect(response.headers.get("content-type")).toContain("application/json");
    const body = JSON.parse(await response.text());
    expect(body.length).toBe(150);
    expect(body.every((shot: any) => shot.tasks.length === 1)).toBe(true);
    const streamed = await server.request("GET", `/api/data/shots/with-tasks?project_id=${p.project.id}&stream=true&compact=true`, { token: p.artist.token });
    expect(streamed.body).toBeInstanceOf(ReadableStream);
    const [header, ...rows] = ndjson(await streamed.text());
    expect(header.compact).toBe(true);
    expect(rows.length).toBe(150);
    expect(rows.map((row: any[]) => row[SHOT_FIELDS.indexOf("name")])).toEqual(body.map((shot: any) => shot.name));
  });
});
