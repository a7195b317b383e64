/** Applying a project template to an existing project (POST /data/projects/<id>/apply-template/<tid>). */
import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type Person, type TestServer } from "./helpers";
import { idOf, UNKNOWN_ID } from "./projects-fixtures";

let server: TestServer;
let manager: Person;

beforeAll(async () => {
  server = await makeServer();
  manager = await server.person("manager");
});

describe("apply a template to a project", () => {
  test("a new project gets what it lacks and keeps what it has", async () => {
    const modeling = await idOf(server, "task_type", "Modeling");
    const animation = await idOf(server, "task_type", "Animation");
    const character = await idOf(server, "entity_type", "Character");
    const wip = await idOf(server, "task_status", "Work In Progress");
    const created = await server.json("POST", "/api/data/project-templates", { body: { name: "Series template", fps: "30" } });
    expect(created.status).toBe(201);
    const base = `/api/data/project-templates/${created.body.id}`;
    expect((await server.json("POST", `${base}/task-types`, { body: { task_type_id: modeling, priority: 2 } })).status).toBe(201);
    expect((await server.json("POST", `${base}/task-types`, { body: { task_type_id: animation, priority: 1 } })).status).toBe(201);
    expect((await server.json("POST", `${base}/task-statuses`, { body: { task_status_id: wip } })).status).toBe(201);
    expect((await server.json("POST", `${base}/asset-types`, { body: { asset_type_id: character } })).status).toBe(201);
    await server.json("PUT", `${base}/metadata-descriptors`, { body: { metadata_descriptors: [{ name: "Lens", entity_type: "Shot", data_type: "string" }] } });

    const project = await server.project("Applied project", [], { fps: "24" });
    // The project already has Animation at its own priority: the link is kept as it is.
    await server.json("POST", `/api/data/projects/${project.id}/settings/task-types`, { body: { task_type_id: animation, priority: 7 } });

    const applied = await server.json("POST", `/api/data/projects/${project.id}/apply-template/${created.body.id}`);
    expect(applied.status).toBe(200);
    expect(applied.body).toMatchObject({ id: project.id, type: "Project", fps: "30" });
    expect([...applied.body.task_types].sort()).toEqual([animation, modeling].sort());
    expect(applied.body.asset_types).toEqual([character]);
    expect(applied.body.task_statuses).toContain(wip);

    const links = () => server.db.selectFrom("project_task_type_link").select(["task_type_id", "priority"]).where("project_id", "=", project.id).execute();
    const priorities = new Map((await links()).map((l) => [l.task_type_id, l.priority]));
    expect(priorities.get(animation)).toBe(7);
    expect(priorities.get(modeling)).toBe(2);
    const descriptors = (await server.json("GET", `/api/data/projects/${project.id}/metadata-descriptors`)).body as any[];
    expect(descriptors.map((d) => [d.name, d.entity_type])).toEqual([["Lens", "Shot"]]);

    // Applying again adds nothing twice.
    expect((await server.json("POST", `/api/data/projects/${project.id}/apply-template/${created.body.id}`)).status).toBe(200);
    expect(((await server.json("GET", `/api/data/projects/${project.id}/metadata-descriptors`)).body as any[]).length).toBe(1);
    expect((await links()).length).toBe(2);
  });

  test("unknown ids are 404, non-admins 403", async () => {
    const project = await server.project("Other project");
    const template = await server.json("POST", "/api/data/project-templates", { body: { name: "Other template" } });
    const missingTemplate = await server.json("POST", `/api/data/projects/${project.id}/apply-template/${UNKNOWN_ID}`);
    expect(missingTemplate.status).toBe(404);
    expect(missingTemplate.body).toEqual({ message: "Project template not found" });
    expect((await server.json("POST", `/api/data/projects/${UNKNOWN_ID}/apply-template/${template.body.id}`)).status).toBe(404);
    expect((await server.json("POST", `/api/data/projects/${project.id}/apply-template/${template.body.id}`, { token: manager.token })).status).toBe(403);
  });
});
