/** Reorders and project workflow links (routes.tsv area crud, models.md §4.2). */
import { describe, expect, test, beforeAll } from "bun:test";
import { makeServer, type Person, type TestServer } from "./helpers";
import { idByName, storedEvents } from "./crud-fixtures";

let server: TestServer;
let manager: Person;
let artist: Person;
let outsider: Person;
let project: any;
let modeling: string;
let layout: string;
let wip: string;
let done: string;

beforeAll(async () => {
  server = await makeServer();
  manager = await server.person("manager");
  artist = await server.person("user");
  outsider = await server.person("manager");
  project = await server.project("Workflow", [manager, artist]);
  modeling = await idByName(server.db, "task_type", "Modeling");
  layout = await idByName(server.db, "task_type", "Layout");
  wip = await idByName(server.db, "task_status", "Work In Progress");
  done = await idByName(server.db, "task_status", "Done");
});

const UNKNOWN_ID = "3f4a9c2e-8b1d-4c6e-9a7f-2d5b8e1c0a93";

describe("POST /actions/task-types/reorder", () => {
  test("sets priorities 1..n in the given order (admin)", async () => {
    const { status, body } = await server.json("POST", "/api/actions/task-types/reorder", { body: { task_type_ids: [layout, modeling] } });
    expect(status).toBe(200);
    const byId = Object.fromEntries(body.map((t: any) => [t.id, t.priority]));
    expect(byId).toEqual({ [layout]: 1, [modeling]: 2 });
    expect(body[0].type).toBe("TaskType");
    expect((await server.json("GET", `/api/data/task-types/${modeling}`)).body.priority).toBe(2);
    expect((await storedEvents(server.db, "task-type:update")).map((e) => e.data.task_type_id)).toEqual([layout, modeling]);
  });

  test("403 for non-admins, 400 for a bad body or an unknown id", async () => {
    expect((await server.json("POST", "/api/actions/task-types/reorder", { token: manager.token, body: { task_type_ids: [modeling] } })).status).toBe(403);
    const missing = await server.json("POST", "/api/actions/task-types/reorder", { body: {} });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toBe("Validation error.");
    expect((await server.json("POST", "/api/actions/task-types/reorder", { body: { task_type_ids: ["nope"] } })).status).toBe(400);
    expect((await server.json("POST", "/api/actions/task-types/reorder", { body: { task_type_ids: [UNKNOWN_ID] } })).status).toBe(400);
  });
});

describe("POST /data/task-type-links", () => {
  test("creates the link, then updates its priority (upsert), 201", async () => {
    const first = await server.json("POST", "/api/data/task-type-links", { token: manager.token, body: { project_id: project.id, task_type_id: modeling, priority: 2 } });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ project_id: project.id, task_type_id: modeling, priority: 2, type: "ProjectTaskTypeLink" });
    const second = await server.json("POST", "/api/data/task-type-links", { token: manager.token, body: { project_id: project.id, task_type_id: modeling, priority: "3" } });
    expect(second.status).toBe(201);
    expect(second.body.id).toBe(first.body.id);
    const links = await server.db.selectFrom("project_task_type_link").selectAll().where("project_id", "=", project.id).execute();
    expect(links.map((l) => l.priority)).toEqual([3]);
  });

  test("priority defaults to 1", async () => {
    const link = await server.json("POST", "/api/data/task-type-links", { body: { project_id: project.id, task_type_id: layout } });
    expect(link.body.priority).toBe(1);
  });

  test("403 for an artist member or a manager outside the team; 400 for bad bodies", async () => {
    const body = { project_id: project.id, task_type_id: modeling };
    expect((await server.json("POST", "/api/data/task-type-links", { token: artist.token, body })).status).toBe(403);
    expect((await server.json("POST", "/api/data/task-type-links", { token: outsider.token, body })).status).toBe(403);
    expect((await server.json("POST", "/api/data/task-type-links", { body: { project_id: project.id } })).status).toBe(400);
    expect((await server.json("POST", "/api/data/task-type-links", { body: { ...body, priority: "first" } })).status).toBe(400);
    expect((await server.json("POST", "/api/data/task-type-links", { body: { project_id: project.id, task_type_id: UNKNOWN_ID } })).status).toBe(400);
  });
});

describe("POST /data/task-status-links", () => {
  test("upserts priority and board roles", async () => {
    const first = await server.json("POST", "/api/data/task-status-links", { token: manager.token, body: { project_id: project.id, task_status_id: wip, priority: 4 } });
    expect(first.status).toBe(201);
    expect(first.body.roles_for_board).toEqual(["user", "admin", "supervisor", "manager", "vendor"]);
    const second = await server.json("POST", "/api/data/task-status-links", {
      token: manager.token,
      body: { project_id: project.id, task_status_id: wip, priority: 1, roles_for_board: ["manager"] },
    });
    expect(second.body).toMatchObject({ id: first.body.id, priority: 1, roles_for_board: ["manager"] });
    const badRole = await server.json("POST", "/api/data/task-status-links", { body: { project_id: project.id, task_status_id: wip, roles_for_board: ["boss"] } });
    expect(badRole.status).toBe(400);
  });
});

describe("project reorders", () => {
  test("task-status-links/reorder sets priorities and keeps board roles", async () => {
    const { status, body } = await server.json("POST", `/api/actions/projects/${project.id}/task-status-links/reorder`, {
      token: manager.token,
      body: { task_status_ids: [done, wip] },
    });
    expect(status).toBe(200);
    const byStatus = Object.fromEntries(body.map((link: any) => [link.task_status_id, link]));
    expect(byStatus[done].priority).toBe(1);
    expect(byStatus[wip].priority).toBe(2);
    expect(byStatus[wip].roles_for_board).toEqual(["manager"]);
  });

  test("task-type-links/reorder sets priorities", async () => {
    const { status, body } = await server.json("POST", `/api/actions/projects/${project.id}/task-type-links/reorder`, {
      token: manager.token,
      body: { task_type_ids: [layout, modeling] },
    });
    expect(status).toBe(200);
    expect(Object.fromEntries(body.map((link: any) => [link.task_type_id, link.priority]))).toEqual({ [layout]: 1, [modeling]: 2 });
    const updates = await storedEvents(server.db, "project:update");
    expect(updates.at(-1)).toMatchObject({ project_id: project.id, data: { project_id: project.id } });
  });

  test("404 for an unknown project, 403 for an artist member, 400 for a bad body", async () => {
    const body = { task_type_ids: [modeling] };
    expect((await server.json("POST", `/api/actions/projects/${UNKNOWN_ID}/task-type-links/reorder`, { body })).status).toBe(404);
    expect((await server.json("POST", `/api/actions/projects/${project.id}/task-type-links/reorder`, { token: artist.token, body })).status).toBe(403);
    expect((await server.json("POST", `/api/actions/projects/${project.id}/task-status-links/reorder`, { token: outsider.token, body: { task_status_ids: [wip] } })).status).toBe(403);
    expect((await server.json("POST", `/api/actions/projects/${project.id}/task-type-links/reorder`, { body: { task_type_ids: "all" } })).status).toBe(400);
  });
});
