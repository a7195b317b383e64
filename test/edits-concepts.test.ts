import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type TestServer } from "./helpers";
import { UNKNOWN_ID, addTask, createAsset, createEpisode, production, recordEvents, type Production } from "./entities-fixtures";

let server: TestServer;
let prod: Production;

beforeAll(async () => {
  server = await makeServer();
  prod = await production(server, { production_type: "tvshow" });
});

describe("edits", () => {
  test("create (manager), read, list; get-or-create by name", async () => {
    const ep = await createEpisode(server, prod.project.id, "E01");
    const events = recordEvents(server);
    const created = await server.json("POST", `/api/data/projects/${prod.project.id}/edits`, { token: prod.manager.token, body: { name: "Cut 1", episode_id: ep.id, data: { x: 1 } } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ type: "Edit", name: "Cut 1", parent_id: ep.id, data: { x: 1 } });
    expect(events.data("edit:new")).toEqual([{ edit_id: created.body.id, parent_id: ep.id, project_id: prod.project.id }]);
    const again = await server.json("POST", `/api/data/projects/${prod.project.id}/edits`, { body: { name: "Cut 1", episode_id: ep.id } });
    expect(again.body.id).toBe(created.body.id);
    const edit = created.body;
    const full = await server.json("GET", `/api/data/edits/${edit.id}`, { token: prod.artist.token });
    expect(full.body).toMatchObject({ id: edit.id, type: "Edit", episode_id: ep.id, episode_name: "E01", project_name: prod.project.name, tasks: [] });
    expect((await server.json("GET", `/api/data/edits?project_id=${prod.project.id}`, { token: prod.artist.token })).body.map((e: any) => [e.id, e.project_name])).toEqual([[edit.id, prod.project.name]]);
    expect((await server.json("GET", `/api/data/edits/all?project_id=${prod.project.id}`, { token: prod.artist.token })).body.length).toBe(1);
    expect((await server.json("GET", `/api/data/projects/${prod.project.id}/edits`, { token: prod.artist.token })).body.map((e: any) => e.id)).toEqual([edit.id]);
    expect((await server.json("GET", `/api/data/episodes/${ep.id}/edits`, { token: prod.artist.token })).body.map((e: any) => e.id)).toEqual([edit.id]);
  });

  test("refusals: artist create 403, outsider 403, bad body 400, unknown 404, no project for non-admins 403", async () => {
    const url = `/api/data/projects/${prod.project.id}/edits`;
    expect((await server.json("POST", url, { token: prod.artist.token, body: { name: "E" } })).status).toBe(403);
    expect((await server.json("POST", url, { body: { name: "" } })).status).toBe(400);
    expect((await server.json("POST", url, { body: { name: "E", episode_id: "bad" } })).status).toBe(400);
    expect((await server.json("POST", `/api/data/projects/${UNKNOWN_ID}/edits`, { body: { name: "E" } })).status).toBe(404);
    expect((await server.json("GET", `/api/data/edits/${UNKNOWN_ID}`)).status).toBe(404);
    expect((await server.json("GET", "/api/data/edits", { token: prod.artist.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/projects/${prod.project.id}/edits`, { token: prod.outsider.token })).status).toBe(403);
  });

  test("tasks, task types, previews, versions; edit tasks of an episode; soft then forced delete", async () => {
    const ep = await createEpisode(server, prod.project.id, "E02");
    const edit = (await server.json("POST", `/api/data/projects/${prod.project.id}/edits`, { body: { name: "Cut", episode_id: ep.id } })).body;
    const taskId = await addTask(server, edit, "Edit", { assignees: [prod.artist] });
    expect((await server.json("GET", `/api/data/edits/${edit.id}/tasks?relations=true`, { token: prod.artist.token })).body.map((t: any) => [t.id, t.assignees])).toEqual([[taskId, [prod.artist.id]]]);
    expect((await server.json("GET", `/api/data/edits/${edit.id}/task-types`, { token: prod.artist.token })).body.map((t: any) => t.name)).toEqual(["Edit"]);
    expect((await server.json("GET", `/api/data/edits/${edit.id}/preview-files`, { token: prod.artist.token })).body).toEqual({});
    expect((await server.json("GET", `/api/data/edits/${edit.id}/versions`, { token: prod.artist.token })).body).toEqual([]);
    expect((await server.json("GET", `/api/data/episodes/${ep.id}/edit-tasks`, { token: prod.artist.token })).body.map((t: any) => t.id)).toEqual([taskId]);
    expect((await server.json("GET", `/api/data/episodes/${ep.id}/edit-tasks`, { token: prod.vendor.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/edits/${edit.id}/tasks`, { token: prod.vendor.token })).status).toBe(403);
    expect((await server.request("DELETE", `/api/data/edits/${edit.id}`, { token: prod.artist.token })).status).toBe(403);
    expect((await server.request("DELETE", `/api/data/edits/${edit.id}`, { token: prod.manager.token })).status).toBe(204);
    expect((await server.json("GET", `/api/data/edits/${edit.id}`)).body.canceled).toBe(true);
    expect((await server.request("DELETE", `/api/data/edits/${edit.id}?force=true`, { token: prod.manager.token })).status).toBe(204);
    expect((await server.json("GET", `/api/data/edits/${edit.id}`)).status).toBe(404);
  });

  test("vendors list only edits with a task assigned to them", async () => {
    const p = await production(server);
    const e1 = (await server.json("POST", `/api/data/projects/${p.project.id}/edits`, { body: { name: "A" } })).body;
    await server.json("POST", `/api/data/projects/${p.project.id}/edits`, { body: { name: "B" } });
    await addTask(server, e1, "Edit", { assignees: [p.vendor] });
    expect((await server.json("GET", `/api/data/edits?project_id=${p.project.id}`, { token: p.vendor.token })).body.map((e: any) => e.id)).toEqual([e1.id]);
    expect((await server.json("GET", `/api/data/projects/${p.project.id}/edits`, { token: p.vendor.token })).body.map((e: any) => e.id)).toEqual([e1.id]);
    const withTasks = await server.json("GET", `/api/data/edits/with-tasks?project_id=${p.project.id}`, { token: p.vendor.token });
    expect(withTasks.body.map((e: any) => e.id)).toEqual([e1.id]);
  });
});

describe("concepts", () => {
  test("artists create concepts linked to assets; clients and vendors cannot", async () => {
    const asset = await createAsset(server, prod.project.id, "Character", "Hero");
    const events = recordEvents(server);
    const created = await server.json("POST", `/api/data/projects/${prod.project.id}/concepts`, {
      token: prod.artist.token,
      body: { name: "Hero look", entity_concept_links: [asset.id, { id: UNKNOWN_ID }], description: "first" },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ type: "Concept", name: "Hero look", entity_concept_links: [asset.id], created_by: prod.artist.id });
    expect(events.data("concept:new")).toEqual([{ concept_id: created.body.id, project_id: prod.project.id }]);
    for (const person of [prod.client, prod.vendor, prod.outsider]) {
      expect((await server.json("POST", `/api/data/projects/${prod.project.id}/concepts`, { token: person.token, body: { name: "X" } })).status).toBe(403);
    }
    expect((await server.json("POST", `/api/data/projects/${prod.project.id}/concepts`, { body: { name: "" } })).status).toBe(400);
    expect((await server.json("POST", `/api/data/projects/${prod.project.id}/concepts`, { body: { name: "Y", entity_concept_links: ["bad"] } })).status).toBe(400);
    expect((await server.json("POST", `/api/data/projects/${UNKNOWN_ID}/concepts`, { body: { name: "Y" } })).status).toBe(404);
  });

  test("reads and lists, with clients refused", async () => {
    const concept = (await server.json("POST", `/api/data/projects/${prod.project.id}/concepts`, { body: { name: "Mood" } })).body;
    const taskId = await addTask(server, concept, "Concept", { forEntity: "Concept", status: "Neutral" });
    const full = await server.json("GET", `/api/data/concepts/${concept.id}`, { token: prod.artist.token });
    expect(full.status).toBe(200);
    expect(full.body).toMatchObject({ id: concept.id, type: "Concept", project_name: prod.project.name, entities_out: [], entity_concept_links: [] });
    expect(full.body.tasks.map((t: any) => t.id)).toEqual([taskId]);
    expect((await server.json("GET", `/api/data/concepts/${concept.id}`, { token: prod.client.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/concepts/${concept.id}`, { token: prod.vendor.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/concepts/${UNKNOWN_ID}`)).status).toBe(404);
    const list = await server.json("GET", `/api/data/concepts?project_id=${prod.project.id}`, { token: prod.artist.token });
    expect(list.body.map((x: any) => x.name)).toContain("Mood");
    expect(list.body[0].project_name).toBe(prod.project.name);
    expect(Array.isArray(list.body[0].entity_concept_links)).toBe(true);
    expect((await server.json("GET", "/api/data/concepts", { token: prod.artist.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/concepts?project_id=${prod.project.id}`, { token: prod.client.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/projects/${prod.project.id}/concepts`, { token: prod.artist.token })).body.map((x: any) => x.name)).toContain("Mood");
    expect((await server.json("GET", `/api/data/projects/${prod.project.id}/concepts`, { token: prod.vendor.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/concepts/${concept.id}/tasks`, { token: prod.artist.token })).body.map((t: any) => t.id)).toEqual([taskId]);
    expect((await server.json("GET", `/api/data/concepts/${concept.id}/task-types`, { token: prod.artist.token })).body.map((t: any) => t.name)).toEqual(["Concept"]);
    expect((await server.json("GET", `/api/data/concepts/${concept.id}/preview-files`, { token: prod.artist.token })).body).toEqual({});
    expect((await server.json("GET", `/api/data/concepts/${concept.id}/tasks`, { token: prod.client.token })).status).toBe(403);
  });

  test("delete: creator may, others need manager; tasks make it a soft delete unless forced", async () => {
    const concept = (await server.json("POST", `/api/data/projects/${prod.project.id}/concepts`, { token: prod.artist.token, body: { name: "Temp" } })).body;
    await addTask(server, concept, "Concept", { forEntity: "Concept", status: "Neutral" });
    expect((await server.request("DELETE", `/api/data/concepts/${concept.id}`, { token: prod.supervisor.token })).status).toBe(403);
    expect((await server.request("DELETE", `/api/data/concepts/${concept.id}`, { token: prod.artist.token })).status).toBe(204);
    expect((await server.json("GET", `/api/data/concepts/${concept.id}`)).body.canceled).toBe(true);
    expect((await server.request("DELETE", `/api/data/concepts/${concept.id}?force=true`, { token: prod.artist.token })).status).toBe(204);
    expect((await server.json("GET", `/api/data/concepts/${concept.id}`)).status).toBe(404);
  });
});
