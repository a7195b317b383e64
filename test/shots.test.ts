import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type TestServer } from "./helpers";
import { UNKNOWN_ID, addTask, createAsset, createEpisode, createSequence, createShot, production, recordEvents, typeId, type Production } from "./entities-fixtures";

let server: TestServer;
let prod: Production;

beforeAll(async () => {
  server = await makeServer();
  prod = await production(server);
});

describe("creation", () => {
  test("episodes, sequences, shots and scenes are created by managers (get-or-create by name)", async () => {
    const events = recordEvents(server);
    const ep = await server.json("POST", `/api/data/projects/${prod.project.id}/episodes`, { token: prod.manager.token, body: { name: "E01", status: "bogus" } });
    expect(ep.status).toBe(201);
    expect(ep.body.type).toBe("Episode");
    expect(ep.body.status).toBe("running");
    const seq = await server.json("POST", `/api/data/projects/${prod.project.id}/sequences`, { token: prod.manager.token, body: { name: "SQ01", episode_id: ep.body.id } });
    expect(seq.body.type).toBe("Sequence");
    expect(seq.body.parent_id).toBe(ep.body.id);
    const shot = await server.json("POST", `/api/data/projects/${prod.project.id}/shots`, {
      token: prod.manager.token,
      body: { name: "SH010", sequence_id: seq.body.id, nb_frames: 48, data: { frame_in: 1001, frame_out: 1048, fps: 24 } },
    });
    expect(shot.status).toBe(201);
    expect(shot.body).toMatchObject({ type: "Shot", parent_id: seq.body.id, nb_frames: 48, data: { frame_in: 1001, frame_out: 1048, fps: 24 } });
    const again = await server.json("POST", `/api/data/projects/${prod.project.id}/shots`, { body: { name: "SH010", sequence_id: seq.body.id } });
    expect(again.body.id).toBe(shot.body.id);
    const scene = await server.json("POST", `/api/data/projects/${prod.project.id}/scenes`, { token: prod.manager.token, body: { name: "SC01", sequence_id: seq.body.id } });
    expect(scene.body.type).toBe("Scene");
    expect(events.names()).toEqual(expect.arrayContaining(["episode:new", "sequence:new", "shot:new", "scene:new"]));
    expect(events.data("shot:new")[0]).toEqual({ shot_id: shot.body.id, episode_id: ep.body.id, project_id: prod.project.id });
    expect(events.data("shot:new").length).toBe(1);
  });

  test("refusals: artist 403, unknown project 404, bad body 400, sequence of another project 404", async () => {
    const url = `/api/data/projects/${prod.project.id}/shots`;
    expect((await server.json("POST", url, { token: prod.artist.token, body: { name: "X" } })).status).toBe(403);
    expect((await server.json("POST", url, { token: prod.outsider.token, body: { name: "X" } })).status).toBe(403);
    expect((await server.json("POST", `/api/data/projects/${UNKNOWN_ID}/shots`, { body: { name: "X" } })).status).toBe(404);
    expect((await server.json("POST", url, { body: { sequence_id: UNKNOWN_ID } })).status).toBe(400);
    expect((await server.json("POST", url, { body: { name: "X", nb_frames: "many" } })).status).toBe(400);
    expect((await server.json("POST", url, { body: { name: "X", sequence_id: UNKNOWN_ID } })).status).toBe(404);
    const other = await production(server);
    const foreign = await createSequence(server, other.project.id, "SQF");
    expect((await server.json("POST", url, { body: { name: "X", sequence_id: foreign.id } })).status).toBe(404);
    expect((await server.json("POST", `/api/data/projects/${prod.project.id}/sequences`, { body: { name: "S", episode_id: UNKNOWN_ID } })).status).toBe(404);
    expect((await server.json("POST", `/api/data/projects/${prod.project.id}/episodes`, { body: {} })).status).toBe(400);
    expect((await server.json("POST", `/api/data/projects/${prod.project.id}/scenes`, { token: prod.artist.token, body: { name: "S" } })).status).toBe(403);
  });
});

describe("shots", () => {
  test("full shot with sequence, episode, frame range and tasks", async () => {
    const p = await production(server);
    const ep = await createEpisode(server, p.project.id, "E01");
    const seq = await createSequence(server, p.project.id, "SQ01", ep.id);
    const shot = await createShot(server, p.project.id, seq.id, "SH01", { data: { frame_in: 1, frame_out: 24, fps: 25 }, nb_frames: 24 });
    const taskId = await addTask(server, shot, "Animation", { assignees: [p.artist] });
    const { status, body } = await server.json("GET", `/api/data/shots/${shot.id}`, { token: p.artist.token });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      type: "Shot", name: "SH01", sequence_id: seq.id, sequence_name: "SQ01", episode_id: ep.id, episode_name: "E01",
      project_name: p.project.name, frame_in: 1, frame_out: 24, fps: 25, nb_frames: 24, entities_out: [],
    });
    expect(body.tasks.map((t: any) => t.id)).toEqual([taskId]);
    expect((await server.json("GET", `/api/data/shots/${shot.id}`, { token: p.vendor.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/shots/${shot.id}`, { token: prod.artist.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/shots/${UNKNOWN_ID}`)).status).toBe(404);
    expect((await server.json("GET", `/api/data/shots/${seq.id}`)).status).toBe(404);
  });

  test("/data/shots/all: project filter required for non-admins; sequence_id resolves the project", async () => {
    const p = await production(server);
    const seq = await createSequence(server, p.project.id, "SQ01");
    const sh1 = await createShot(server, p.project.id, seq.id, "SH01");
    await createShot(server, p.project.id, seq.id, "SH02");
    const byProject = await server.json("GET", `/api/data/shots/all?project_id=${p.project.id}&name=sh01`, { token: p.artist.token });
    expect(byProject.status).toBe(200);
    expect(byProject.body.map((s: any) => s.id)).toEqual([sh1.id]);
    expect(byProject.body[0]).toMatchObject({ type: "Shot", project_name: p.project.name, sequence_name: "SQ01" });
    const bySequence = await server.json("GET", `/api/data/shots?sequence_id=${seq.id}`, { token: p.artist.token });
    expect(bySequence.body.map((s: any) => s.name)).toEqual(["SH01", "SH02"]);
    expect((await server.json("GET", "/api/data/shots", { token: p.artist.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/shots/all?project_id=${p.project.id}&name=SH01`, { token: prod.artist.token })).status).toBe(403);
    expect((await server.json("GET", "/api/data/shots")).status).toBe(200);
    expect((await server.json("GET", `/api/data/shots?project_id=nope`, { token: p.artist.token })).status).toBe(400);
  });

  test("PUT /data/shots replaces fields; managers only", async () => {
    const p = await production(server);
    const seq = await createSequence(server, p.project.id, "SQ01");
    const shot = await createShot(server, p.project.id, seq.id, "SH01", { data: { a: 1 } });
    const events = recordEvents(server);
    const res = await server.json("PUT", `/api/data/shots/${shot.id}`, { token: p.manager.token, body: { nb_frames: 100, data: { b: 2 }, project_id: UNKNOWN_ID, unknown: 1 } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ nb_frames: 100, data: { b: 2 }, project_id: p.project.id, type: "Shot" });
    expect(events.data("shot:update")).toEqual([{ shot_id: shot.id, project_id: p.project.id }]);
    expect((await server.json("PUT", `/api/data/shots/${shot.id}`, { token: p.artist.token, body: { nb_frames: 1 } })).status).toBe(403);
    expect((await server.json("PUT", `/api/data/shots/${shot.id}`, { body: { nb_frames: "x" } })).status).toBe(400);
    expect((await server.json("PUT", `/api/data/shots/${shot.id}`, { body: { name: "" } })).status).toBe(400);
    expect((await server.json("PUT", `/api/data/shots/${UNKNOWN_ID}`, { body: { nb_frames: 1 } })).status).toBe(404);
  });

  test("soft delete then force delete", async () => {
    const p = await production(server);
    const seq = await createSequence(server, p.project.id, "SQ01");
    const shot = await createShot(server, p.project.id, seq.id, "SH01");
    const taskId = await addTask(server, shot, "Layout");
    const todo = await typeId(server, "task_status", "Todo");
    const commentId = crypto.randomUUID();
    await server.db.insertInto("comment").values({ id: commentId, created_at: "2024-01-01T10:00:00", updated_at: "2024-01-01T10:00:00", object_id: taskId, object_type: "Task", text: "hi", task_status_id: todo, person_id: p.artist.id } as any).execute();
    await server.db.insertInto("preview_file").values({ id: crypto.randomUUID(), created_at: "2024-01-01T10:00:00", updated_at: "2024-01-01T10:00:00", name: "v1", revision: 1, position: 1, extension: "png", task_id: taskId } as any).execute();
    await server.db.insertInto("time_spent").values({ id: crypto.randomUUID(), duration: 30, date: "2024-01-01", task_id: taskId, person_id: p.artist.id } as any).execute();
    expect((await server.request("DELETE", `/api/data/shots/${shot.id}`, { token: p.artist.token })).status).toBe(403);
    expect((await server.request("DELETE", `/api/data/shots/${shot.id}`, { token: p.manager.token })).status).toBe(204);
    expect((await server.json("GET", `/api/data/shots/${shot.id}`)).body.canceled).toBe(true);
    const events = recordEvents(server);
    expect((await server.request("DELETE", `/api/data/shots/${shot.id}?force=true`, { token: p.manager.token })).status).toBe(204);
    expect((await server.json("GET", `/api/data/shots/${shot.id}`)).status).toBe(404);
    expect(events.names()).toEqual(expect.arrayContaining(["task:delete", "shot:delete"]));
    for (const [table, column] of [["task", "id"], ["comment", "object_id"], ["preview_file", "task_id"], ["time_spent", "task_id"]] as const) {
      expect(await server.db.selectFrom(table as any).select("id").where(column as any, "=", taskId).executeTakeFirst()).toBeUndefined();
    }
  });

  test("tasks, task types, assets, previews and versions of a shot", async () => {
    const p = await production(server);
    const seq = await createSequence(server, p.project.id, "SQ01");
    const shot = await createShot(server, p.project.id, seq.id, "SH01");
    const taskId = await addTask(server, shot, "Animation");
    const prop = await createAsset(server, p.project.id, "Prop", "Box");
    await server.db.insertInto("entity_link").values({ id: crypto.randomUUID(), entity_in_id: shot.id, entity_out_id: prop.id, nb_occurences: 1, label: "", data: "{}" } as any).execute();
    const now = "2024-01-02T10:00:00";
    const p1 = crypto.randomUUID();
    const p2 = crypto.randomUUID();
    for (const [id, revision, position] of [[p1, 1, 1], [p2, 1, 2]] as const) {
      await server.db.insertInto("preview_file").values({ id, created_at: now, updated_at: now, name: `p${position}`, revision, position, extension: "png", task_id: taskId, status: "ready", annotations: "[]" } as any).execute();
    }
    const tasks = await server.json("GET", `/api/data/shots/${shot.id}/tasks`, { token: p.artist.token });
    expect(tasks.body.map((t: any) => t.id)).toEqual([taskId]);
    expect(tasks.body[0].assignees).toBeUndefined();
    const types = await server.json("GET", `/api/data/shots/${shot.id}/task-types`, { token: p.artist.token });
    expect(types.body.map((t: any) => t.name)).toEqual(["Animation"]);
    const assets = await server.json("GET", `/api/data/shots/${shot.id}/assets`, { token: p.artist.token });
    expect(assets.body.map((a: any) => [a.id, a.type])).toEqual([[prop.id, "Asset"]]);
    const previews = await server.json("GET", `/api/data/shots/${shot.id}/preview-files`, { token: p.artist.token });
    const animation = await typeId(server, "task_type", "Animation");
    expect(Object.keys(previews.body)).toEqual([animation]);
    expect(previews.body[animation].map((f: any) => f.id)).toEqual([p1]);
    expect(previews.body[animation][0].previews.map((f: any) => f.id)).toEqual([p2]);
    const versions = await server.json("GET", `/api/data/shots/${shot.id}/versions`, { token: p.artist.token });
    expect(versions.body).toEqual([]);
    for (const sub of ["tasks", "task-types", "assets", "preview-files", "versions"]) {
      expect((await server.json("GET", `/api/data/shots/${shot.id}/${sub}`, { token: prod.artist.token })).status).toBe(403);
      expect((await server.json("GET", `/api/data/shots/${UNKNOWN_ID}/${sub}`)).status).toBe(404);
    }
  });

  test("shot history: a name or frame range change older than a minute writes a version", async () => {
    const p = await production(server);
    const seq = await createSequence(server, p.project.id, "SQ01");
    const shot = await createShot(server, p.project.id, seq.id, "SH01", { data: { frame_in: 1, frame_out: 10 } });
    await server.db.updateTable("entity").set({ updated_at: "2020-01-01T00:00:00" } as any).where("id", "=", shot.id).execute();
    const res = await server.json("PUT", `/api/data/entities/${shot.id}`, { token: p.manager.token, body: { data: { frame_out: 20 } } });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ frame_in: 1, frame_out: 20 });
    expect(res.body.type).toBe("Shot");
    const versions = await server.json("GET", `/api/data/shots/${shot.id}/versions`, { token: p.artist.token });
    expect(versions.body.length).toBe(1);
    expect(versions.body[0]).toMatchObject({ type: "ShotVersion", name: "SH01", entity_id: shot.id, data: { frame_in: 1, frame_out: 20 } });
    await server.json("PUT", `/api/data/entities/${shot.id}`, { token: p.manager.token, body: { data: { frame_out: 30 } } });
    expect((await server.json("GET", `/api/data/shots/${shot.id}/versions`)).body.length).toBe(1);
  });
});

describe("sequences and episodes", () => {
  test("full reads, lists, project lists and their permissions", async () => {
    const p = await production(server, { production_type: "tvshow" });
    const ep = await createEpisode(server, p.project.id, "E01");
    const seq = await createSequence(server, p.project.id, "SQ01", ep.id);
    const seq2 = await createSequence(server, p.project.id, "SQ02");
    const fullSeq = await server.json("GET", `/api/data/sequences/${seq.id}`, { token: p.artist.token });
    expect(fullSeq.body).toMatchObject({ type: "Sequence", project_name: p.project.name, episode_id: ep.id, episode_name: "E01" });
    const fullEp = await server.json("GET", `/api/data/episodes/${ep.id}`, { token: p.artist.token });
    expect(fullEp.body).toMatchObject({ type: "Episode", project_name: p.project.name });
    expect((await server.json("GET", `/api/data/sequences?project_id=${p.project.id}`, { token: p.artist.token })).body.map((s: any) => s.id)).toEqual([seq.id, seq2.id]);
    expect((await server.json("GET", `/api/data/sequences?episode_id=${ep.id}`, { token: p.artist.token })).body.map((s: any) => s.id)).toEqual([seq.id]);
    expect((await server.json("GET", "/api/data/sequences", { token: p.artist.token })).status).toBe(403);
    expect((await server.json("GET", "/api/data/episodes", { token: p.artist.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/episodes?project_id=${p.project.id}`, { token: p.artist.token })).body.map((e: any) => e.id)).toEqual([ep.id]);
    expect((await server.json("GET", `/api/data/projects/${p.project.id}/sequences`, { token: p.artist.token })).body.length).toBe(2);
    expect((await server.json("GET", `/api/data/projects/${p.project.id}/episodes`, { token: p.artist.token })).body[0].type).toBe("Episode");
    expect((await server.json("GET", `/api/data/episodes/${ep.id}/sequences`, { token: p.artist.token })).body.map((s: any) => s.id)).toEqual([seq.id]);
    expect((await server.json("GET", `/api/data/episodes/not-an-id/sequences`, { token: p.artist.token })).body).toEqual([]);
    expect((await server.json("GET", `/api/data/projects/${p.project.id}/sequences`, { token: prod.artist.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/projects/${UNKNOWN_ID}/sequences`)).status).toBe(404);
    expect((await server.json("GET", `/api/data/sequences/${UNKNOWN_ID}`)).status).toBe(404);
    expect((await server.json("GET", `/api/data/episodes/${seq.id}`)).status).toBe(404);
  });

  test("episode shots, shot tasks, asset tasks; sequence shots, tasks, task types; vendor refused", async () => {
    const p = await production(server);
    const ep = await createEpisode(server, p.project.id, "E01");
    const seq = await createSequence(server, p.project.id, "SQ01", ep.id);
    const shot = await createShot(server, p.project.id, seq.id, "SH01");
    const shotTask = await addTask(server, shot, "Layout", { assignees: [p.vendor] });
    const asset = await createAsset(server, p.project.id, "Prop", "Cube", { episode_id: ep.id });
    const assetTask = await addTask(server, asset, "Modeling", { forEntity: "Asset" });
    const seqTask = await addTask(server, { id: seq.id, project_id: p.project.id }, "Layout");
    expect((await server.json("GET", `/api/data/episodes/${ep.id}/shots`, { token: p.artist.token })).body.map((s: any) => s.id)).toEqual([shot.id]);
    expect((await server.json("GET", `/api/data/episodes/${ep.id}/shot-tasks`, { token: p.artist.token })).body.map((t: any) => t.id)).toEqual([shotTask]);
    expect((await server.json("GET", `/api/data/episodes/${ep.id}/asset-tasks`, { token: p.artist.token })).body.map((t: any) => t.id)).toEqual([assetTask]);
    expect((await server.json("GET", `/api/data/episodes/${ep.id}/task-types`, { token: p.artist.token })).body.map((t: any) => t.name)).toEqual(["Layout"]);
    expect((await server.json("GET", `/api/data/episodes/${ep.id}/tasks`, { token: p.artist.token })).body).toEqual([]);
    expect((await server.json("GET", `/api/data/sequences/${seq.id}/shots`, { token: p.artist.token })).body.map((s: any) => s.id)).toEqual([shot.id]);
    expect((await server.json("GET", `/api/data/sequences/${seq.id}/shot-tasks`, { token: p.artist.token })).body.map((t: any) => t.id)).toEqual([shotTask]);
    expect((await server.json("GET", `/api/data/sequences/${seq.id}/tasks`, { token: p.artist.token })).body.map((t: any) => t.id)).toEqual([seqTask]);
    expect((await server.json("GET", `/api/data/sequences/${seq.id}/task-types`, { token: p.artist.token })).body.map((t: any) => t.name)).toEqual(["Layout"]);
    expect((await server.json("GET", `/api/data/sequences/${seq.id}/scenes`, { token: p.artist.token })).body).toEqual([]);
    // Vendors: blocked from the shot-tasks lists; see only their sequences.
    expect((await server.json("GET", `/api/data/sequences/${seq.id}/shot-tasks`, { token: p.vendor.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/episodes/${ep.id}/shot-tasks`, { token: p.vendor.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/sequences?project_id=${p.project.id}`, { token: p.vendor.token })).body.map((s: any) => s.id)).toEqual([seq.id]);
    expect((await server.json("GET", `/api/data/episodes?project_id=${p.project.id}`, { token: p.vendor.token })).body.map((e: any) => e.id)).toEqual([ep.id]);
    expect((await server.json("GET", `/api/data/sequences/${seq.id}/shots`, { token: p.vendor.token })).body.map((s: any) => s.id)).toEqual([shot.id]);
    expect((await server.json("GET", `/api/data/episodes/${ep.id}/shots`, { token: prod.artist.token })).status).toBe(403);
  });

  test("deleting a sequence: manager only; children are a 400 without force; force cascades", async () => {
    const p = await production(server);
    const ep = await createEpisode(server, p.project.id, "E01");
    const seq = await createSequence(server, p.project.id, "SQ01", ep.id);
    const shot = await createShot(server, p.project.id, seq.id, "SH01");
    await addTask(server, shot, "Layout");
    expect((await server.request("DELETE", `/api/data/sequences/${seq.id}`, { token: p.artist.token })).status).toBe(403);
    const refused = await server.json("DELETE", `/api/data/sequences/${seq.id}`, { token: p.manager.token });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toContain("still linked");
    const events = recordEvents(server);
    expect((await server.request("DELETE", `/api/data/episodes/${ep.id}?force=true`, { token: p.manager.token })).status).toBe(204);
    expect((await server.json("GET", `/api/data/shots/${shot.id}`)).status).toBe(404);
    expect((await server.json("GET", `/api/data/sequences/${seq.id}`)).status).toBe(404);
    expect(events.names()).toEqual(expect.arrayContaining(["shot:delete", "sequence:delete", "episode:delete"]));
  });
});

describe("scenes", () => {
  test("scene reads, shots of a scene, link and unlink; vendors blocked from scene lists", async () => {
    const p = await production(server);
    const seq = await createSequence(server, p.project.id, "SQ01");
    const shot = await createShot(server, p.project.id, seq.id, "SH01");
    const scene = (await server.json("POST", `/api/data/projects/${p.project.id}/scenes`, { body: { name: "SC01", sequence_id: seq.id } })).body;
    const full = await server.json("GET", `/api/data/scenes/${scene.id}`, { token: p.artist.token });
    expect(full.body).toMatchObject({ type: "Scene", sequence_id: seq.id, sequence_name: "SQ01", project_name: p.project.name });
    const linked = await server.json("POST", `/api/data/scenes/${scene.id}/shots`, { token: p.artist.token, body: { shot_id: shot.id } });
    expect(linked.status).toBe(201);
    expect(linked.body.source_id).toBe(scene.id);
    expect((await server.json("GET", `/api/data/scenes/${scene.id}/shots`, { token: p.artist.token })).body.map((s: any) => s.id)).toEqual([shot.id]);
    expect((await server.request("DELETE", `/api/data/scenes/${scene.id}/shots/${shot.id}`, { token: p.artist.token })).status).toBe(204);
    expect((await server.json("GET", `/api/data/scenes/${scene.id}/shots`)).body).toEqual([]);
    expect((await server.json("POST", `/api/data/scenes/${scene.id}/shots`, { body: {} })).status).toBe(400);
    expect((await server.json("GET", `/api/data/scenes/all?project_id=${p.project.id}`, { token: p.artist.token })).body.map((s: any) => s.id)).toEqual([scene.id]);
    expect((await server.json("GET", `/api/data/scenes/all?project_id=${p.project.id}`, { token: p.vendor.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/scenes/with-tasks?project_id=${p.project.id}`, { token: p.vendor.token })).status).toBe(403);
    const withTasks = await server.json("GET", `/api/data/scenes/with-tasks?project_id=${p.project.id}`, { token: p.artist.token });
    expect(withTasks.body.map((s: any) => s.id)).toEqual([scene.id]);
    expect((await server.json("GET", `/api/data/projects/${p.project.id}/scenes`, { token: p.artist.token })).body.map((s: any) => s.id)).toEqual([scene.id]);
    expect((await server.json("GET", `/api/data/sequences/${seq.id}/scenes`, { token: p.artist.token })).body.map((s: any) => s.id)).toEqual([scene.id]);
    expect((await server.json("GET", `/api/data/scenes/${scene.id}/tasks`, { token: p.artist.token })).body).toEqual([]);
    expect((await server.json("GET", `/api/data/scenes/${scene.id}/task-types`, { token: p.artist.token })).body).toEqual([]);
    expect((await server.request("DELETE", `/api/data/scenes/${scene.id}`, { token: p.artist.token })).status).toBe(403);
    expect((await server.request("DELETE", `/api/data/scenes/${scene.id}`, { token: p.manager.token })).status).toBe(204);
    expect((await server.json("GET", `/api/data/scenes/${scene.id}`)).status).toBe(404);
  });
});

describe("stats", () => {
  test("episode stats count tasks per episode, task type and status, with frames", async () => {
    const p = await production(server, { production_type: "tvshow" });
    const ep = await createEpisode(server, p.project.id, "E01");
    const seq = await createSequence(server, p.project.id, "SQ01", ep.id);
    const s1 = await createShot(server, p.project.id, seq.id, "SH01", { nb_frames: 10 });
    const s2 = await createShot(server, p.project.id, seq.id, "SH02", { nb_frames: 20 });
    await addTask(server, s1, "Layout", { status: "Done", fields: { retake_count: 2, nb_drawings: 5 } });
    await addTask(server, s2, "Layout", { status: "Retake", fields: { retake_count: 1, nb_drawings: 7 } });
    const layout = await typeId(server, "task_type", "Layout");
    const done = await typeId(server, "task_status", "Done");
    const retake = await typeId(server, "task_status", "Retake");
    const stats = await server.json("GET", `/api/data/projects/${p.project.id}/episodes/stats`, { token: p.artist.token });
    expect(stats.status).toBe(200);
    expect(stats.body[ep.id][layout][done]).toEqual({ name: "done", color: "#22d160", count: 1, frames: 10, drawings: 5 });
    expect(stats.body[ep.id].all[retake]).toEqual({ name: "retake", color: "#ff3860", count: 1, frames: 20, drawings: 7 });
    expect(stats.body.all.all[done].count).toBe(1);
    expect(stats.body.all[layout][retake].frames).toBe(20);

    const retakes = await server.json("GET", `/api/data/projects/${p.project.id}/episodes/retake-stats`, { token: p.artist.token });
    expect(retakes.status).toBe(200);
    const bucket = retakes.body[ep.id][layout];
    expect(bucket.max_retake_count).toBe(2);
    expect(bucket.done).toEqual({ count: 1, frames: 10, drawings: 5 });
    expect(bucket.retake).toEqual({ count: 1, frames: 20, drawings: 7 });
    expect(bucket.evolution["1"]).toEqual({ done: { count: 0, frames: 0, drawings: 0 }, retake: { count: 2, frames: 30, drawings: 12 }, other: { count: 0, frames: 0, drawings: 0 } });
    expect(bucket.evolution["2"]).toEqual({ done: { count: 0, frames: 0, drawings: 0 }, retake: { count: 1, frames: 10, drawings: 5 }, other: { count: 1, frames: 20, drawings: 7 } });
    expect(retakes.body.all.all.max_retake_count).toBe(2);
    expect((await server.json("GET", `/api/data/projects/${p.project.id}/episodes/stats`, { token: prod.artist.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/projects/${UNKNOWN_ID}/episodes/retake-stats`)).status).toBe(404);
  });

  test("quotas: raw counts per person and total; bad count_mode 400; person quotas for self", async () => {
    const p = await production(server, { fps: "24" });
    const seq = await createSequence(server, p.project.id, "SQ01");
    const shot = await createShot(server, p.project.id, seq.id, "SH01", { nb_frames: 48 });
    await addTask(server, shot, "Animation", { assignees: [p.artist], fields: { end_date: "2024-03-05T10:00:00", real_start_date: "2024-03-04T09:00:00" } });
    const animation = await typeId(server, "task_type", "Animation");
    const raw = await server.json("GET", `/api/data/projects/${p.project.id}/quotas/${animation}?count_mode=feedback`, { token: p.artist.token });
    expect(raw.status).toBe(200);
    expect(raw.body[p.artist.id].day.frames["2024-03-05"]).toBe(48);
    expect(raw.body[p.artist.id].day.seconds["2024-03-05"]).toBe(2);
    expect(raw.body.total.month.count["2024-03"]).toBe(1);
    expect(raw.body.total.week.frames["2024-10"]).toBe(48);
    const weighted = await server.json("GET", `/api/data/projects/${p.project.id}/quotas/${animation}`, { token: p.artist.token });
    expect(weighted.body[p.artist.id].day.frames).toEqual({ "2024-03-04": 24, "2024-03-05": 24 });
    expect(weighted.body.total.month.count["2024-03"]).toBe(1);
    expect((await server.json("GET", `/api/data/projects/${p.project.id}/quotas/${animation}?count_mode=bad`)).status).toBe(400);
    const mine = await server.json("GET", `/api/data/projects/${p.project.id}/quotas/persons/${p.artist.id}?count_mode=feedback`, { token: p.artist.token });
    expect(mine.body[animation].day.frames["2024-03-05"]).toBe(48);
    expect((await server.json("GET", `/api/data/projects/${p.project.id}/quotas/persons/${p.manager.id}`, { token: p.artist.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/projects/${p.project.id}/quotas/persons/${p.artist.id}`, { token: p.supervisor.token })).status).toBe(200);
    expect((await server.json("GET", `/api/data/projects/${p.project.id}/quotas/${animation}`, { token: prod.artist.token })).status).toBe(403);
  });

  test("set-shot-nb-frames uses the newest preview of the task type and the project fps", async () => {
    const p = await production(server, { fps: "24000/1001" });
    const seq = await createSequence(server, p.project.id, "SQ01");
    const shot = await createShot(server, p.project.id, seq.id, "SH01");
    const taskId = await addTask(server, shot, "Animation");
    await server.db.insertInto("preview_file").values({ id: crypto.randomUUID(), created_at: "2024-01-01T00:00:00", updated_at: "2024-01-01T00:00:00", name: "a", revision: 1, position: 1, extension: "mp4", task_id: taskId, duration: 1 } as any).execute();
    await server.db.insertInto("preview_file").values({ id: crypto.randomUUID(), created_at: "2024-01-02T00:00:00", updated_at: "2024-01-02T00:00:00", name: "b", revision: 2, position: 1, extension: "mp4", task_id: taskId, duration: 10 } as any).execute();
    const animation = await typeId(server, "task_type", "Animation");
    const url = `/api/actions/projects/${p.project.id}/task-types/${animation}/set-shot-nb-frames`;
    const res = await server.json("POST", url, { token: p.manager.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual([{ id: shot.id, nb_frames: 240 }]);
    expect((await server.json("GET", `/api/data/shots/${shot.id}`)).body.nb_frames).toBe(240);
    expect((await server.json("POST", url, { token: p.artist.token })).status).toBe(403);
    expect((await server.json("POST", `${url}?episode_id=bad`, { token: p.manager.token })).status).toBe(400);
    expect((await server.json("POST", `/api/actions/projects/${p.project.id}/task-types/${UNKNOWN_ID}/set-shot-nb-frames`, { token: p.manager.token })).status).toBe(404);
  });
});

describe("full entities and parent criteria (routes over services/shots.ts and services/sequences.ts)", () => {
  test("GET of a shot, scene, sequence or episode: unknown id 404 before access 403, wrong kind 404, names filled", async () => {
    const p = await production(server);
    const ep = await createEpisode(server, p.project.id, "E01");
    const seq = await createSequence(server, p.project.id, "SQ01", ep.id);
    const shot = await createShot(server, p.project.id, seq.id, "SH01");
    const scene = (await server.json("POST", `/api/data/projects/${p.project.id}/scenes`, { body: { name: "SC01", sequence_id: seq.id } })).body;
    for (const [plural, id] of [["shots", shot.id], ["scenes", scene.id], ["sequences", seq.id], ["episodes", ep.id]] as const) {
      expect((await server.json("GET", `/api/data/${plural}/${UNKNOWN_ID}`, { token: p.outsider.token })).status).toBe(404);
      expect((await server.json("GET", `/api/data/${plural}/${id}`, { token: p.outsider.token })).status).toBe(403);
      expect((await server.json("GET", `/api/data/${plural}/${plural === "shots" ? seq.id : shot.id}`)).status).toBe(404);
    }
    const project_name = p.project.name;
    expect((await server.json("GET", `/api/data/episodes/${ep.id}`, { token: p.artist.token })).body).toMatchObject({ id: ep.id, type: "Episode", project_name });
    expect((await server.json("GET", `/api/data/sequences/${seq.id}`, { token: p.artist.token })).body).toMatchObject({
      id: seq.id, project_name, episode_id: ep.id, episode_name: "E01",
    });
    expect((await server.json("GET", `/api/data/scenes/${scene.id}`, { token: p.artist.token })).body).toMatchObject({
      id: scene.id, project_name, sequence_id: seq.id, sequence_name: "SQ01", episode_id: ep.id, episode_name: "E01",
    });
    expect((await server.json("GET", `/api/data/shots/${shot.id}`, { token: p.artist.token })).body).toMatchObject({
      id: shot.id, project_name, sequence_id: seq.id, sequence_name: "SQ01", episode_id: ep.id, episode_name: "E01",
    });
  });

  test("sequence_id and episode_id criteria: malformed 400, unknown 404, known narrows to the parent", async () => {
    const p = await production(server);
    const ep = await createEpisode(server, p.project.id, "E01");
    const seq = await createSequence(server, p.project.id, "SQ01", ep.id);
    await createSequence(server, p.project.id, "SQ02");
    const shot = await createShot(server, p.project.id, seq.id, "SH01");
    expect((await server.json("GET", "/api/data/shots?sequence_id=not-an-id")).status).toBe(400);
    expect((await server.json("GET", `/api/data/shots?sequence_id=${UNKNOWN_ID}`)).status).toBe(404);
    expect((await server.json("GET", `/api/data/shots?sequence_id=${seq.id}`)).body.map((s: any) => s.id)).toEqual([shot.id]);
    expect((await server.json("GET", "/api/data/sequences?episode_id=not-an-id")).status).toBe(400);
    expect((await server.json("GET", `/api/data/sequences?episode_id=${UNKNOWN_ID}`)).status).toBe(404);
    expect((await server.json("GET", `/api/data/sequences?episode_id=${ep.id}`, { token: p.artist.token })).body.map((s: any) => s.id)).toEqual([seq.id]);
  });

  test("linking a shot to a scene and back emits shot:add-to-scene and shot:remove-from-scene", async () => {
    const p = await production(server);
    const seq = await createSequence(server, p.project.id, "SQ01");
    const shot = await createShot(server, p.project.id, seq.id, "SH01");
    const scene = (await server.json("POST", `/api/data/projects/${p.project.id}/scenes`, { body: { name: "SC01", sequence_id: seq.id } })).body;
    const events = recordEvents(server);
    const linked = await server.json("POST", `/api/data/scenes/${scene.id}/shots`, { body: { shot_id: shot.id } });
    expect(linked.status).toBe(201);
    expect(linked.body).toMatchObject({ id: shot.id, source_id: scene.id });
    expect((await server.request("DELETE", `/api/data/scenes/${scene.id}/shots/${shot.id}`)).status).toBe(204);
    expect(events.data("shot:add-to-scene")).toEqual([{ scene_id: scene.id, shot_id: shot.id, project_id: p.project.id }]);
    expect(events.data("shot:remove-from-scene")).toEqual([{ scene_id: scene.id, shot_id: shot.id, project_id: p.project.id }]);
    expect((await server.json("POST", `/api/data/scenes/${scene.id}/shots`, { body: { shot_id: UNKNOWN_ID } })).status).toBe(404);
  });
});
