import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type TestServer } from "./helpers";
import {
  asset, assign, crew, type Crew, entity, episode, idOf, insertRow, linkTaskType, recordEvents, sequence, task, UNKNOWN_ID,
} from "./projects-fixtures";

let server: TestServer;
let p: Crew;
let events: ReturnType<typeof recordEvents>;

beforeAll(async () => {
  server = await makeServer();
  events = recordEvents(server);
  p = await crew(server, {}, "Projects area");
});

const base = () => `/api/data/projects/${p.project.id}`;

describe("open and all projects", () => {
  test("open: admin sees every open project with its extra data; closed ones are left out", async () => {
    const closedStatus = await idOf(server, "project_status", "Closed");
    const closed = await server.project("Closed one", [p.artist], { project_status_id: closedStatus });
    const show = await server.project("A tv show", [p.artist], { production_type: "tvshow" });
    const ep2 = await episode(server, show.id, "E02");
    const ep1 = await episode(server, show.id, "E01");
    const taskType = await idOf(server, "task_type", "Modeling");
    await linkTaskType(server, show.id, taskType, 3);
    const { status, body } = await server.json("GET", "/api/data/projects/open");
    expect(status).toBe(200);
    const ids = body.map((x: any) => x.id);
    expect(ids).toContain(p.project.id);
    expect(ids).not.toContain(closed.id);
    const dict = body.find((x: any) => x.id === show.id);
    expect(dict.project_status_name).toBeUndefined();
    expect(dict.task_type_links).toBeUndefined();
    expect(dict.team).toEqual([p.artist.id]);
    expect(dict.task_types).toEqual([taskType]);
    expect(dict.task_types_priority).toEqual({ [taskType]: 3 });
    expect(dict.task_statuses_link).toEqual({});
    expect(dict.descriptors).toEqual([]);
    expect(dict.first_episode_id).toBe(ep1);
    expect(ep2).not.toBe(ep1);
    expect(dict.type).toBe("Project");
  });

  test("open: an artist gets only the open projects whose team they are in; ?name filters exactly", async () => {
    const artist = await server.person("user");
    expect((await server.json("GET", "/api/data/projects/open", { token: artist.token })).body).toEqual([]);
    await server.addToTeam(p.project.id, artist);
    const { body } = await server.json("GET", "/api/data/projects/open", { token: artist.token });
    expect(body.map((x: any) => x.id)).toEqual([p.project.id]);
    const named = await server.json("GET", `/api/data/projects/open?name=${encodeURIComponent("Projects area")}`);
    expect(named.body.map((x: any) => x.id)).toEqual([p.project.id]);
  });

  test("all: admins get every project (closed too), others their own; name lookup is case-insensitive, 404 when absent", async () => {
    const closedStatus = await idOf(server, "project_status", "Closed");
    const mine = await server.project("Closed but mine", [p.vendor], { project_status_id: closedStatus });
    const all = await server.json("GET", "/api/data/projects/all");
    expect(all.body.map((x: any) => x.id)).toContain(mine.id);
    expect(all.body.find((x: any) => x.id === mine.id).project_status_name).toBe("Closed");
    const own = await server.json("GET", "/api/data/projects/all", { token: p.vendor.token });
    expect(own.body.map((x: any) => x.id).sort()).toEqual([p.project.id, mine.id].sort());
    const byName = await server.json("GET", "/api/data/projects/all?name=closed%20BUT%20mine", { token: p.vendor.token });
    expect(byName.body.map((x: any) => x.id)).toEqual([mine.id]);
    expect((await server.json("GET", "/api/data/projects/all?name=Projects%20area", { token: p.outsider.token })).status).toBe(404);
    expect((await server.json("GET", "/api/data/projects/all?name=nope")).status).toBe(404);
  });
});

describe("team", () => {
  test("GET: members read it (full fields for managers, minimal for others) with project_role; others 403; unknown 404", async () => {
    const asManager = await server.json("GET", `${base()}/team`, { token: p.manager.token });
    expect(asManager.status).toBe(200);
    const artistRow = asManager.body.find((x: any) => x.id === p.artist.id);
    expect(artistRow.email).toBe(p.artist.email);
    expect(artistRow.project_role).toBeNull();
    expect(artistRow.password).toBeUndefined();
    const asArtist = await server.json("GET", `${base()}/team`, { token: p.artist.token });
    expect(asArtist.body.find((x: any) => x.id === p.manager.id).email).toBeUndefined();
    expect((await server.json("GET", `${base()}/team`, { token: p.outsider.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/projects/${UNKNOWN_ID}/team`)).status).toBe(404);
    expect((await server.json("GET", `/api/data/projects/not-an-id/team`)).status).toBe(404);
  });

  test("POST/PUT/DELETE: managers manage the team and per-project roles; every change emits project:update", async () => {
    const newcomer = await server.person("user");
    events.clear();
    const added = await server.json("POST", `${base()}/team`, { token: p.manager.token, body: { person_id: newcomer.id, role: "supervisor" } });
    expect(added.status).toBe(201);
    expect(added.body.id).toBe(p.project.id);
    expect(events.data("project:update")).toEqual([{ project_id: p.project.id }]);
    let team = (await server.json("GET", `${base()}/team`)).body;
    expect(team.find((x: any) => x.id === newcomer.id).project_role).toBe("supervisor");

    const role = await server.json("PUT", `${base()}/team/${newcomer.id}`, { token: p.manager.token, body: { role: "manager" } });
    expect(role.status).toBe(200);
    expect(role.body).toEqual({ project_id: p.project.id, person_id: newcomer.id, role: "manager" });
    // The link role now gives manager rights on this project only.
    expect((await server.json("GET", `${base()}/settings/status-automations`, { token: newcomer.token })).status).toBe(200);
    const reset = await server.json("PUT", `${base()}/team/${newcomer.id}`, { token: p.manager.token, body: { role: null } });
    expect(reset.body.role).toBeNull();
    expect((await server.json("GET", `${base()}/settings/status-automations`, { token: newcomer.token })).status).toBe(403);

    const removed = await server.request("DELETE", `${base()}/team/${newcomer.id}`, { token: p.manager.token });
    expect(removed.status).toBe(204);
    team = (await server.json("GET", `${base()}/team`)).body;
    expect(team.map((x: any) => x.id)).not.toContain(newcomer.id);
    expect(events.names().filter((n) => n === "project:update")).toHaveLength(4);
  });

  test("team writes: 403 for artists, 400 for bad bodies, admin role and non-members", async () => {
    const other = await server.person("user");
    expect((await server.json("POST", `${base()}/team`, { token: p.artist.token, body: { person_id: other.id } })).status).toBe(403);
    expect((await server.json("POST", `${base()}/team`, { token: p.outsider.token, body: { person_id: other.id } })).status).toBe(403);
    expect((await server.json("POST", `${base()}/team`, { body: {} })).status).toBe(400);
    const adminRole = await server.json("POST", `${base()}/team`, { body: { person_id: other.id, role: "admin" } });
    expect(adminRole.status).toBe(400);
    expect(adminRole.body.message).toBe("admin is a global role and cannot be set per project");
    expect((await server.json("POST", `${base()}/team`, { body: { person_id: UNKNOWN_ID } })).status).toBe(400);
    expect((await server.json("PUT", `${base()}/team/${other.id}`, { body: { role: "user" } })).body.message).toBe("Person is not a member of the project team");
    expect((await server.json("PUT", `${base()}/team/${p.artist.id}`, { body: { role: "admin" } })).status).toBe(400);
    expect((await server.json("PUT", `${base()}/team/${p.artist.id}`, { body: { role: "boss" } })).status).toBe(400);
    expect((await server.request("DELETE", `${base()}/team/${p.artist.id}`, { token: p.supervisor.token })).status).toBe(403);
  });
});

describe("workflow settings", () => {
  test("task types: add with a priority (kept when re-added), list, remove; members read, managers write", async () => {
    const layout = await idOf(server, "task_type", "Layout");
    const added = await server.json("POST", `${base()}/settings/task-types`, { token: p.manager.token, body: { task_type_id: layout, priority: 4 } });
    expect(added.status).toBe(201);
    expect(added.body.id).toBe(p.project.id);
    await server.json("POST", `${base()}/settings/task-types`, { body: { task_type_id: layout, priority: 9 } });
    const link = await server.db.selectFrom("project_task_type_link").select("priority").where("project_id", "=", p.project.id).where("task_type_id", "=", layout).execute();
    expect(link).toEqual([{ priority: 4 }]);
    const list = await server.json("GET", `${base()}/task-types`, { token: p.client.token });
    expect(list.status).toBe(200);
    expect(list.body.map((t: any) => t.id)).toContain(layout);
    expect(list.body[0].type).toBe("TaskType");
    expect((await server.json("GET", `${base()}/task-types`, { token: p.outsider.token })).status).toBe(403);
    expect((await server.json("POST", `${base()}/settings/task-types`, { token: p.artist.token, body: { task_type_id: layout } })).status).toBe(403);
    expect((await server.json("POST", `${base()}/settings/task-types`, { body: { task_type_id: UNKNOWN_ID } })).status).toBe(400);
    expect((await server.json("POST", `${base()}/settings/task-types`, { body: {} })).status).toBe(400);
    expect((await server.request("DELETE", `${base()}/settings/task-types/${layout}`, { token: p.manager.token })).status).toBe(204);
    expect((await server.json("GET", `${base()}/task-types`)).body.map((t: any) => t.id)).not.toContain(layout);
  });

  test("task statuses, asset types, status automations, backgrounds: add, list, remove", async () => {
    const wip = await idOf(server, "task_status", "Work In Progress");
    expect((await server.json("POST", `${base()}/settings/task-status`, { token: p.manager.token, body: { task_status_id: wip } })).status).toBe(201);
    const statuses = await server.json("GET", `${base()}/settings/task-status`, { token: p.artist.token });
    expect(statuses.body.map((s: any) => s.id)).toEqual([wip]);
    const open = (await server.json("GET", "/api/data/projects/open")).body.find((x: any) => x.id === p.project.id);
    expect(open.task_statuses_link[wip]).toEqual({ priority: null, roles_for_board: ["user", "admin", "supervisor", "manager", "vendor"] });
    expect((await server.request("DELETE", `${base()}/settings/task-status/${wip}`)).status).toBe(204);
    expect((await server.json("GET", `${base()}/settings/task-status`)).body).toEqual([]);

    const prop = await idOf(server, "entity_type", "Prop");
    expect((await server.json("POST", `${base()}/settings/asset-types`, { body: { asset_type_id: prop } })).status).toBe(201);
    expect((await server.json("GET", `/api/data/projects/${p.project.id}`)).body.asset_types).toEqual([prop]);
    expect((await server.json("POST", `${base()}/settings/asset-types`, { body: { asset_type_id: UNKNOWN_ID } })).body.message).toBe(`EntityType with id ${UNKNOWN_ID} not found`);
    expect((await server.request("DELETE", `${base()}/settings/asset-types/${prop}`, { token: p.artist.token })).status).toBe(403);
    expect((await server.request("DELETE", `${base()}/settings/asset-types/${prop}`)).status).toBe(204);

    const automation = await insertRow(server, "status_automation", { entity_type: "asset", out_field_type: "status" });
    expect((await server.json("POST", `${base()}/settings/status-automations`, { body: { status_automation_id: automation } })).status).toBe(201);
    expect((await server.json("GET", `${base()}/settings/status-automations`, { token: p.manager.token })).body.map((a: any) => a.id)).toEqual([automation]);
    expect((await server.json("GET", `${base()}/settings/status-automations`, { token: p.supervisor.token })).status).toBe(403);
    expect((await server.request("DELETE", `${base()}/settings/status-automations/${automation}`)).status).toBe(204);

    const background = await insertRow(server, "preview_background_file", { name: "Studio HDRI" });
    expect((await server.json("POST", `${base()}/settings/preview-background-files`, { body: { preview_background_file_id: background } })).status).toBe(201);
    expect((await server.json("GET", `${base()}/settings/preview-background-files`, { token: p.vendor.token })).body.map((b: any) => b.id)).toEqual([background]);
    expect((await server.json("POST", `${base()}/settings/preview-background-files`, { token: p.artist.token, body: { preview_background_file_id: background } })).status).toBe(403);
    expect((await server.request("DELETE", `${base()}/settings/preview-background-files/${background}`)).status).toBe(204);
    expect((await server.json("GET", `${base()}/settings/preview-background-files`)).body).toEqual([]);
  });

  test("settings/batch adds task types with priorities, statuses and asset types (unknown ids skipped); vector 55", async () => {
    const other = await server.project("Batch target");
    const rigging = await idOf(server, "task_type", "Rigging");
    const shading = await idOf(server, "task_type", "Shading");
    const done = await idOf(server, "task_status", "Done");
    const fx = await idOf(server, "entity_type", "FX");
    await linkTaskType(server, other.id, shading, 1);
    const body = {
      task_types: [{ task_type_id: rigging, priority: 2 }, { task_type_id: UNKNOWN_ID }],
      task_status_ids: [done, UNKNOWN_ID],
      asset_type_ids: [fx],
      replace_task_types: true,
    };
    const res = await server.json("POST", `/api/data/projects/${other.id}/settings/batch`, { body });
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(other.id);
    const read = (await server.json("GET", `/api/data/projects/${other.id}`)).body;
    expect(read.task_types).toEqual([rigging]);
    const open = (await server.json("GET", "/api/data/projects/open")).body.find((x: any) => x.id === other.id);
    expect(open.task_types_priority).toEqual({ [rigging]: 2 });
    expect(read.task_statuses).toEqual([done]);
    expect(read.asset_types).toEqual([fx]);
    expect((await server.json("POST", `${base()}/settings/batch`, { token: p.artist.token, body })).status).toBe(403);
    expect((await server.json("POST", `${base()}/settings/batch`, { body: { task_types: "nope" } })).status).toBe(400);
  });
});

describe("metadata descriptors", () => {
  test("create: field name slug, departments, 201 and metadata-descriptor:new; validation 400s", async () => {
    const modeling = await idOf(server, "department", "Modeling");
    events.clear();
    const res = await server.json("POST", `${base()}/metadata-descriptors`, {
      token: p.manager.token,
      body: { entity_type: "Asset", name: "Épaisseur du trait", data_type: "list", choices: ["a", "b"], departments: [modeling] },
    });
    expect(res.status).toBe(201);
    expect(res.body.field_name).toBe("epaisseur_du_trait");
    // The write answers the plain row (Zou); the departments show in reads.
    expect(res.body).not.toHaveProperty("departments");
    const read = await server.json("GET", `${base()}/metadata-descriptors/${res.body.id}`, { token: p.manager.token });
    expect(read.body.departments).toEqual([modeling]);
    expect(res.body.choices).toEqual(["a", "b"]);
    expect(res.body.type).toBe("MetadataDescriptor");
    expect(events.data("metadata-descriptor:new")).toEqual([{ metadata_descriptor_id: res.body.id, project_id: p.project.id }]);

    const post = (body: unknown) => server.json("POST", `${base()}/metadata-descriptors`, { body });
    expect((await post({ name: "X", data_type: "colour" })).body.message).toBe("Invalid data_type");
    expect((await post({ name: "X", entity_type: "Playlist" })).status).toBe(400);
    expect((await post({ name: "X", entity_type: "Task" })).body.message).toBe("Task metadata descriptors require a task_type_id.");
    expect((await post({ name: "X", entity_type: "Shot", task_type_id: UNKNOWN_ID })).status).toBe(400);
    expect((await post({ name: "Épaisseur du trait" })).body.message).toBe("Metadata descriptor already exists.");
    expect((await post({})).body.message).toBe("Validation error.");
    const taskType = await idOf(server, "task_type", "Layout");
    expect((await post({ name: "Take", entity_type: "Task", task_type_id: taskType })).status).toBe(201);
  });

  test("permissions: artists 403, non-member managers 403 (vector 54), supervisors only for their departments", async () => {
    const animation = await idOf(server, "department", "Animation");
    const fxDepartment = await idOf(server, "department", "FX");
    await server.db.insertInto("department_link").values({ person_id: p.supervisor.id, department_id: animation }).execute();
    const post = (token: string, body: unknown) => server.json("POST", `${base()}/metadata-descriptors`, { token, body });
    expect((await post(p.artist.token, { name: "Artist field" })).status).toBe(403);
    expect((await post(p.outsider.token, { name: "Outsider field" })).status).toBe(403);
    expect((await post(p.supervisor.token, { name: "No department" })).status).toBe(403);
    expect((await post(p.supervisor.token, { name: "Other department", departments: [fxDepartment] })).status).toBe(403);
    expect((await post(p.supervisor.token, { name: "Anim field", departments: [animation] })).status).toBe(201);
    expect((await server.json("POST", `/api/data/projects/${UNKNOWN_ID}/metadata-descriptors`, { body: { name: "x" } })).status).toBe(404);
  });

  test("list and read: ordered, clients see for_client ones only, another project's id is a 404", async () => {
    const other = await server.project("Descriptor elsewhere");
    const secret = (await server.json("POST", `${base()}/metadata-descriptors`, { body: { name: "Internal notes", entity_type: "Shot" } })).body;
    const shared = (await server.json("POST", `${base()}/metadata-descriptors`, { body: { name: "Client notes", entity_type: "Shot", for_client: true } })).body;
    const all = await server.json("GET", `${base()}/metadata-descriptors`, { token: p.artist.token });
    expect(all.body.map((d: any) => d.id)).toContain(secret.id);
    const client = await server.json("GET", `${base()}/metadata-descriptors`, { token: p.client.token });
    expect(client.body.map((d: any) => d.id)).toEqual([shared.id]);
    expect((await server.json("GET", `${base()}/metadata-descriptors/${shared.id}`, { token: p.client.token })).status).toBe(200);
    // As in Zou, a member reads any descriptor by id; only the list is filtered.
    expect((await server.json("GET", `${base()}/metadata-descriptors/${secret.id}`, { token: p.client.token })).status).toBe(200);
    expect((await server.json("GET", `/api/data/projects/${other.id}/metadata-descriptors/${secret.id}`)).status).toBe(404);
    expect((await server.json("GET", `${base()}/metadata-descriptors`, { token: p.outsider.token })).status).toBe(403);
    const open = (await server.json("GET", "/api/data/projects/open", { token: p.client.token })).body.find((x: any) => x.id === p.project.id);
    expect(open.descriptors.map((d: any) => d.id)).toEqual([shared.id]);
  });

  test("update renames the field and moves stored values; delete removes them", async () => {
    const descriptor = (await server.json("POST", `${base()}/metadata-descriptors`, { body: { name: "Difficulty level", entity_type: "Asset" } })).body;
    const hero = await asset(server, p.project.id, "Hero", "Character", { data: JSON.stringify({ difficulty_level: "hard", other: 1 }) });
    const res = await server.json("PUT", `${base()}/metadata-descriptors/${descriptor.id}`, { token: p.manager.token, body: { name: "Complexity", choices: ["easy", "hard"] } });
    expect(res.status).toBe(200);
    expect(res.body.field_name).toBe("complexity");
    expect(res.body.choices).toEqual(["easy", "hard"]);
    let row = await server.db.selectFrom("entity").select("data").where("id", "=", hero).executeTakeFirstOrThrow();
    expect(JSON.parse(row.data as string)).toEqual({ complexity: "hard", other: 1 });
    expect((await server.json("PUT", `${base()}/metadata-descriptors/${descriptor.id}`, { body: { data_type: "nope" } })).status).toBe(400);
    expect((await server.json("PUT", `${base()}/metadata-descriptors/${descriptor.id}`, { body: { name: "" } })).body.message).toBe("Name cannot be empty.");
    expect((await server.json("PUT", `${base()}/metadata-descriptors/${descriptor.id}`, { token: p.artist.token, body: { name: "x" } })).status).toBe(403);
    expect((await server.json("PUT", `${base()}/metadata-descriptors/${UNKNOWN_ID}`, { body: { name: "x" } })).status).toBe(404);
    expect((await server.request("DELETE", `${base()}/metadata-descriptors/${descriptor.id}`, { token: p.artist.token })).status).toBe(403);
    events.clear();
    expect((await server.request("DELETE", `${base()}/metadata-descriptors/${descriptor.id}`, { token: p.manager.token })).status).toBe(204);
    expect(events.names()).toContain("metadata-descriptor:delete");
    row = await server.db.selectFrom("entity").select("data").where("id", "=", hero).executeTakeFirstOrThrow();
    expect(JSON.parse(row.data as string)).toEqual({ other: 1 });
  });

  test("reorder sets positions; the others follow by name", async () => {
    const project = await server.project("Reorder project");
    const url = `/api/data/projects/${project.id}/metadata-descriptors`;
    const a = (await server.json("POST", url, { body: { name: "Alpha", entity_type: "Edit" } })).body;
    const b = (await server.json("POST", url, { body: { name: "Beta", entity_type: "Edit" } })).body;
    const g = (await server.json("POST", url, { body: { name: "Gamma", entity_type: "Edit" } })).body;
    const res = await server.json("POST", `${url}/reorder`, { body: { entity_type: "Edit", descriptor_ids: [g.id] } });
    expect(res.status).toBe(200);
    expect(res.body.map((d: any) => [d.id, d.position])).toEqual([[g.id, 1], [a.id, 2], [b.id, 3]]);
    expect((await server.json("POST", `${url}/reorder`, { body: { entity_type: "Edit", descriptor_ids: [UNKNOWN_ID] } })).status).toBe(400);
    expect((await server.json("POST", `${url}/reorder`, { body: { entity_type: "Edit", descriptor_ids: [] } })).status).toBe(400);
    expect((await server.json("POST", `${base()}/metadata-descriptors/reorder`, { token: p.artist.token, body: { entity_type: "Edit", descriptor_ids: [a.id] } })).status).toBe(403);
  });

  test("all-projects routes act on every open project the caller manages", async () => {
    const managed = await server.project("Managed by the manager", [p.manager]);
    const create = await server.json("POST", "/api/data/metadata-descriptors/all-projects", {
      token: p.manager.token, body: { entity_type: "Project", name: "Budget code", data_type: "string" },
    });
    expect(create.status).toBe(201);
    expect(create.body.map((d: any) => d.project_id).sort()).toEqual([p.project.id, managed.id].sort());
    expect((await server.json("POST", "/api/data/metadata-descriptors/all-projects", { token: p.artist.token, body: { name: "x" } })).status).toBe(403);
    expect((await server.json("POST", "/api/data/metadata-descriptors/all-projects", { body: { name: "x", entity_type: "Task" } })).status).toBe(400);

    const update = await server.json("PUT", "/api/data/metadata-descriptors/all-projects/budget_code", {
      token: p.manager.token, body: { entity_type: "Project", name: "Cost code", for_client: true },
    });
    expect(update.status).toBe(200);
    expect(update.body.map((d: any) => d.field_name)).toEqual(["cost_code", "cost_code"]);
    const reorder = await server.json("POST", "/api/actions/metadata-descriptors/all-projects/reorder", {
      token: p.manager.token, body: { entity_type: "Project", field_order: ["cost_code"] },
    });
    expect(reorder.status).toBe(200);
    expect(reorder.body.every((d: any) => d.field_name !== "cost_code" || d.position === 1)).toBe(true);
    const removed = await server.json("DELETE", "/api/data/metadata-descriptors/all-projects/cost_code?entity_type=Project", { token: p.manager.token });
    expect(removed.status).toBe(200);
    expect(removed.body).toHaveLength(2);
    expect((await server.json("DELETE", "/api/data/metadata-descriptors/all-projects/cost_code", { token: p.manager.token })).status).toBe(400);
  });
});

describe("milestones and schedule items", () => {
  test("milestones are listed for members in compact form", async () => {
    const id = await insertRow(server, "milestone", { project_id: p.project.id, name: "Delivery", date: "2030-01-10" });
    const res = await server.json("GET", `${base()}/milestones`, { token: p.vendor.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual([{ id, date: "2030-01-10", name: "Delivery", project_id: p.project.id, task_type_id: null }]);
    expect((await server.json("GET", `${base()}/milestones`, { token: p.outsider.token })).status).toBe(403);
  });

  test("task type items are created on demand, listed, and vendors are refused", async () => {
    const project = await server.project("Schedule project", [p.artist, p.vendor]);
    const modeling = await idOf(server, "task_type", "Modeling");
    await linkTaskType(server, project.id, modeling, 1);
    await linkTaskType(server, project.id, await idOf(server, "task_type", "Layout"), 2);
    // Only task types used by a task of the project get an item (Zou get_task_types_for_project).
    await task(server, project.id, await asset(server, project.id, "Scheduled hero"), "Modeling", "Asset");
    events.clear();
    const res = await server.json("GET", `/api/data/projects/${project.id}/schedule-items/task-types`, { token: p.artist.token });
    expect(res.status).toBe(200);
    expect(res.body).toHaveLength(1);
    expect(res.body[0].task_type_id).toBe(modeling);
    expect(res.body[0].object_id).toBeNull();
    expect(res.body[0].type).toBeUndefined();
    expect(events.names()).toEqual(["schedule-item:new"]);
    const again = await server.json("GET", `/api/data/projects/${project.id}/schedule-items/task-types`);
    expect(again.body.map((i: any) => i.id)).toEqual([res.body[0].id]);
    const all = await server.json("GET", `/api/data/projects/${project.id}/schedule-items`);
    expect(all.body.map((i: any) => i.type)).toEqual(["ScheduleItem"]);
    expect((await server.json("GET", `/api/data/projects/${project.id}/schedule-items`, { token: p.vendor.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/projects/${project.id}/schedule-items/task-types`, { token: p.vendor.token })).status).toBe(403);
  });

  test("per task type lists for episodes, sequences, asset types and edits, with names", async () => {
    const project = await server.project("Schedule show", [p.artist], { production_type: "tvshow" });
    const layout = await idOf(server, "task_type", "Layout");
    const ep1 = await episode(server, project.id, "E01");
    const ep2 = await episode(server, project.id, "E02");
    await sequence(server, project.id, "SQ02", ep1);
    await sequence(server, project.id, "SQ01", ep1);
    await sequence(server, project.id, "SQ03", ep2);
    await asset(server, project.id, "Tree", "Prop", { source_id: ep2 });
    await entity(server, project.id, "Edit", "Trailer", { parent_id: ep1 });
    await entity(server, project.id, "Edit", "Old cut", { parent_id: ep1, canceled: true });
    const url = (kind: string, query = "") => `/api/data/projects/${project.id}/schedule-items/${layout}/${kind}${query}`;
    const episodes = await server.json("GET", url("episodes"), { token: p.artist.token });
    expect(episodes.status).toBe(200);
    expect(episodes.body.map((i: any) => [i.name, i.object_id])).toEqual([["E01", ep1], ["E02", ep2]]);
    const sequences = await server.json("GET", url("sequences", `?episode_id=${ep1}`));
    expect(sequences.body.map((i: any) => i.name)).toEqual(["SQ01", "SQ02"]);
    expect((await server.json("GET", url("sequences"))).body).toHaveLength(3);
    expect((await server.json("GET", url("asset-types"))).body.map((i: any) => i.name)).toEqual(["Prop"]);
    expect((await server.json("GET", url("asset-types", `?episode_id=${ep1}`))).body).toEqual([]);
    expect((await server.json("GET", url("edits"))).body.map((i: any) => i.name)).toEqual(["Trailer"]);
    expect((await server.json("GET", `/api/data/projects/${project.id}/schedule-items/not-an-id/episodes`)).status).toBe(400);
    expect((await server.json("GET", `/api/data/projects/${project.id}/schedule-items/${UNKNOWN_ID}/episodes`)).status).toBe(404);
    expect((await server.json("GET", url("episodes", "?episode_id=bad"))).status).toBe(400);
    expect((await server.json("GET", url("episodes"), { token: p.outsider.token })).status).toBe(403);
  });
});

describe("budgets", () => {
  test("create (revision increments, 200), list, read, update, delete with events", async () => {
    events.clear();
    const first = await server.json("POST", `${base()}/budgets`, { token: p.manager.token, body: { name: "Quote" } });
    expect(first.status).toBe(200);
    expect(first.body.revision).toBe(1);
    expect(first.body.currency).toBe("USD");
    const second = await server.json("POST", `${base()}/budgets`, { body: { name: "Quote v2", currency: "EUR" } });
    expect(second.body.revision).toBe(2);
    expect(events.data("budget:create")).toEqual([
      { budget_id: first.body.id, project_id: p.project.id },
      { budget_id: second.body.id, project_id: p.project.id },
    ]);
    const list = await server.json("GET", `${base()}/budgets`, { token: p.manager.token });
    expect(list.body).toEqual([
      { id: first.body.id, project_id: p.project.id, revision: 1, name: "Quote", currency: "USD" },
      { id: second.body.id, project_id: p.project.id, revision: 2, name: "Quote v2", currency: "EUR" },
    ]);
    const read = await server.json("GET", `${base()}/budgets/${first.body.id}`);
    expect(read.body.type).toBe("Budget");
    const updated = await server.json("PUT", `${base()}/budgets/${first.body.id}`, { body: { name: "Quote v1" } });
    expect(updated.body.name).toBe("Quote v1");
    expect(updated.body.currency).toBe("USD");
    expect((await server.request("DELETE", `${base()}/budgets/${second.body.id}`)).status).toBe(204);
    expect(events.names()).toContain("budget:delete");
  });

  test("budget errors: 403 for non-managers, 404 for unknown or other-project budgets, 400 for bad ids and bodies", async () => {
    const budget = (await server.json("POST", `${base()}/budgets`, { body: { name: "Checked" } })).body;
    const other = await server.project("Budget elsewhere");
    expect((await server.json("GET", `${base()}/budgets`, { token: p.supervisor.token })).status).toBe(403);
    expect((await server.json("POST", `${base()}/budgets`, { token: p.artist.token, body: { name: "x" } })).status).toBe(403);
    expect((await server.json("GET", `${base()}/budgets/${UNKNOWN_ID}`)).status).toBe(404);
    expect((await server.json("GET", `/api/data/projects/${other.id}/budgets/${budget.id}`)).status).toBe(404);
    expect((await server.json("GET", `${base()}/budgets/not-an-id`)).status).toBe(400);
    expect((await server.json("POST", `${base()}/budgets`, { body: { name: "" } })).status).toBe(400);
  });

  test("entries: create, list, read, update (exceptions cleaned), delete", async () => {
    const budget = (await server.json("POST", `${base()}/budgets`, { body: { name: "With entries" } })).body;
    const department = await idOf(server, "department", "Modeling");
    const url = `${base()}/budgets/${budget.id}/entries`;
    const created = await server.json("POST", url, {
      token: p.manager.token,
      body: { department_id: department, person_id: p.artist.id, start_date: "2030-02-01", months_duration: 3, daily_salary: 250.5, position: "lead", seniority: "senior" },
    });
    expect(created.status).toBe(200);
    expect(created.body.type).toBe("BudgetEntry");
    expect(created.body.daily_salary).toBe(250.5);
    expect(created.body.exceptions).toEqual({});
    const list = await server.json("GET", url);
    expect(list.body).toHaveLength(1);
    expect(list.body[0].type).toBeUndefined();
    expect(list.body[0].start_date).toBe("2030-02-01");
    const updated = await server.json("PUT", `${url}/${created.body.id}`, { body: { months_duration: 4, exceptions: { "2030-03": "300", "2030-04": 0, "2030-05": null } } });
    expect(updated.status).toBe(200);
    expect(updated.body.months_duration).toBe(4);
    expect(updated.body.exceptions).toEqual({ "2030-03": 300 });
    expect(updated.body.position).toBe("lead");
    expect((await server.json("GET", `${url}/${created.body.id}`)).body.id).toBe(created.body.id);
    expect((await server.json("GET", `${url}/${UNKNOWN_ID}`)).status).toBe(404);
    expect((await server.json("POST", url, { body: { department_id: department } })).status).toBe(400);
    expect((await server.json("POST", url, { body: { department_id: UNKNOWN_ID, start_date: "2030-01-01", months_duration: 1, daily_salary: 1 } })).status).toBe(400);
    expect((await server.json("POST", url, { body: { department_id: department, start_date: "2030-01-01", months_duration: 1, daily_salary: 1, position: "boss" } })).status).toBe(400);
    expect((await server.json("GET", url, { token: p.artist.token })).status).toBe(403);
    events.clear();
    expect((await server.request("DELETE", `${url}/${created.body.id}`)).status).toBe(204);
    expect(events.data("budget-entry:delete")).toEqual([{ budget_id: budget.id, budget_entry_id: created.body.id, project_id: p.project.id }]);
  });

  test("time spents per department, person and month: admin only", async () => {
    const project = await server.project("Budget time", [p.artist]);
    const hero = await asset(server, project.id, "Budget hero");
    const modelingTask = await task(server, project.id, hero, "Modeling", "Asset");
    await insertRow(server, "time_spent", { task_id: modelingTask, person_id: p.artist.id, date: "2030-01-05", duration: 60 });
    await insertRow(server, "time_spent", { task_id: modelingTask, person_id: p.artist.id, date: "2030-02-05", duration: 30 });
    const department = await idOf(server, "department", "Modeling");
    const res = await server.json("GET", `/api/data/projects/${project.id}/budgets/time-spents`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ [department]: { total: 90, [p.artist.id]: { total: 90, "2030-01": 60, "2030-02": 30 } } });
    expect((await server.json("GET", `/api/data/projects/${project.id}/budgets/time-spents`, { token: p.manager.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/projects/${UNKNOWN_ID}/budgets/time-spents`)).status).toBe(404);
  });
});

describe("time spents and days off of a project", () => {
  test("time spents (members), per task type grouped by person (managers), days off (not clients/vendors)", async () => {
    const project = await server.project("Time project", [p.artist, p.manager, p.client, p.supervisor]);
    const hero = await asset(server, project.id, "Time hero");
    const modelingTask = await task(server, project.id, hero, "Modeling", "Asset");
    const ts1 = await insertRow(server, "time_spent", { task_id: modelingTask, person_id: p.artist.id, date: "2030-01-05", duration: 60 });
    await insertRow(server, "time_spent", { task_id: modelingTask, person_id: p.artist.id, date: "2030-03-05", duration: 30 });
    const all = await server.json("GET", `/api/data/projects/${project.id}/time-spents`, { token: p.artist.token });
    expect(all.body).toHaveLength(2);
    expect(all.body[0].type).toBe("TimeSpent");
    expect((await server.json("GET", `/api/data/projects/${project.id}/time-spents`, { token: p.vendor.token })).status).toBe(403);
    const modeling = await idOf(server, "task_type", "Modeling", { for_entity: "Asset" });
    const byType = await server.json("GET", `/api/data/projects/${project.id}/task-types/${modeling}/time-spents?start_date=2030-01-01&end_date=2030-01-31`, { token: p.manager.token });
    expect(byType.status).toBe(200);
    expect(Object.keys(byType.body)).toEqual([p.artist.id]);
    expect(byType.body[p.artist.id].map((t: any) => t.id)).toEqual([ts1]);
    expect((await server.json("GET", `/api/data/projects/${project.id}/task-types/${modeling}/time-spents?start_date=nope`)).status).toBe(400);
    expect((await server.json("GET", `/api/data/projects/${project.id}/task-types/bad/time-spents`)).status).toBe(400);
    expect((await server.json("GET", `/api/data/projects/${project.id}/task-types/${modeling}/time-spents`, { token: p.artist.token })).status).toBe(403);

    await insertRow(server, "day_off", { person_id: p.artist.id, date: "2030-01-10", end_date: "2030-01-12", description: "Holidays" });
    await insertRow(server, "day_off", { person_id: p.outsider.id, date: "2030-01-10", end_date: "2030-01-12" });
    const asManager = await server.json("GET", `/api/data/projects/${project.id}/day-offs?start_date=2030-01-01&end_date=2030-01-31`, { token: p.manager.token });
    // Grouped by person id, as Zou.
    expect(Object.keys(asManager.body)).toEqual([p.artist.id]);
    expect(asManager.body[p.artist.id][0].description).toBe("Holidays");
    const asSupervisor = await server.json("GET", `/api/data/projects/${project.id}/day-offs`, { token: p.supervisor.token });
    expect(asSupervisor.body[p.artist.id][0].description).toBeUndefined();
    expect((await server.json("GET", `/api/data/projects/${project.id}/day-offs?start_date=2030-02-01`)).body).toEqual({});
    expect((await server.json("GET", `/api/data/projects/${project.id}/day-offs`, { token: p.client.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/projects/${project.id}/day-offs?end_date=x`)).status).toBe(400);
  });
});

describe("production schedule versions", () => {
  test("task links from production, from another version, then applied to the tasks", async () => {
    const project = await server.project("Schedule versions", [p.manager, p.artist, p.client]);
    const hero = await asset(server, project.id, "Version hero");
    const t1 = await task(server, project.id, hero, "Modeling", "Asset", { start_date: "2030-01-01T00:00:00", due_date: "2030-01-10T00:00:00", estimation: 5 });
    await assign(server, t1, p.artist);
    const v1 = await insertRow(server, "production_schedule_version", { name: "v1", project_id: project.id });
    const v2 = await insertRow(server, "production_schedule_version", { name: "v2", project_id: project.id });
    const fromProduction = await server.json("POST", `/api/actions/production-schedule-versions/${v1}/set-task-links-from-production`, { token: p.manager.token });
    expect(fromProduction.status).toBe(200);
    expect(fromProduction.body).toEqual({ success: true, task_link_count: 1 });
    const links = await server.json("GET", `/api/data/production-schedule-versions/${v1}/task-links?relations=true`, { token: p.artist.token });
    expect(links.status).toBe(200);
    expect(links.body).toHaveLength(1);
    expect(links.body[0].assignees).toEqual([p.artist.id]);
    expect(links.body[0].start_date).toBe("2030-01-01T00:00:00");
    expect((await server.json("GET", `/api/data/production-schedule-versions/${v1}/task-links`, { token: p.client.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/production-schedule-versions/${UNKNOWN_ID}/task-links`)).status).toBe(404);

    await server.db.updateTable("production_schedule_version_task_link").set({ due_date: "2030-02-01T00:00:00", estimation: 8 }).execute();
    const copy = await server.json("POST", `/api/actions/production-schedule-versions/${v2}/set-task-links-from-production-schedule-version`, {
      body: { production_schedule_version_id: v1 },
    });
    expect(copy.body).toEqual({ success: true, task_link_count: 1 });
    const version = await server.db.selectFrom("production_schedule_version").selectAll().where("id", "=", v2).executeTakeFirstOrThrow();
    expect(version.production_schedule_from).toBe(v1);
    expect((await server.json("POST", `/api/actions/production-schedule-versions/${v2}/set-task-links-from-production-schedule-version`, { body: { production_schedule_version_id: v2 } })).status).toBe(400);
    expect((await server.json("POST", `/api/actions/production-schedule-versions/${v2}/set-task-links-from-production-schedule-version`, { body: {} })).status).toBe(400);
    const elsewhere = await insertRow(server, "production_schedule_version", { name: "v1", project_id: p.project.id });
    expect((await server.json("POST", `/api/actions/production-schedule-versions/${v2}/set-task-links-from-production-schedule-version`, { body: { production_schedule_version_id: elsewhere } })).status).toBe(400);

    events.clear();
    const applied = await server.json("POST", `/api/actions/production-schedule-versions/${v2}/apply-to-production`, { token: p.manager.token });
    expect(applied.body).toEqual({ success: true, task_count: 1 });
    const updatedTask = await server.db.selectFrom("task").selectAll().where("id", "=", t1).executeTakeFirstOrThrow();
    expect(updatedTask.due_date).toBe("2030-02-01T00:00:00");
    expect(Number(updatedTask.estimation)).toBe(8);
    expect(events.names()).toEqual(expect.arrayContaining(["task:update", "production_schedule_version:update", "project:update"]));
    const projectRow = await server.db.selectFrom("project").select("from_schedule_version_id").where("id", "=", project.id).executeTakeFirstOrThrow();
    expect(projectRow.from_schedule_version_id).toBe(v2);
    expect((await server.json("POST", `/api/actions/production-schedule-versions/${v2}/apply-to-production`, { token: p.artist.token })).status).toBe(403);
  });
});




describe("unknown projects", () => {
  test("project routes answer 404 for an unknown or malformed project id", async () => {
    const routes = [
      "team", "task-types", "settings/task-status", "settings/status-automations", "settings/preview-background-files",
      "metadata-descriptors", "milestones", "schedule-items", "schedule-items/task-types", "time-spents", "day-offs", "budgets",
    ];
    for (const route of routes) {
      const res = await server.json("GET", `/api/data/projects/${UNKNOWN_ID}/${route}`);
      expect([route, res.status]).toEqual([route, 404]);
    }
    for (const route of ["team", "task-types", "milestones", "metadata-descriptors"]) {
      expect((await server.json("GET", `/api/data/projects/nope/${route}`)).status).toBe(404);
    }
    const writes: [string, string, unknown][] = [
      ["POST", "team", { person_id: p.artist.id }],
      ["POST", "settings/asset-types", { asset_type_id: UNKNOWN_ID }],
      ["POST", "settings/batch", {}],
      ["POST", "metadata-descriptors/reorder", { entity_type: "Asset", descriptor_ids: [UNKNOWN_ID] }],
      ["POST", "budgets", { name: "x" }],
    ];
    for (const [method, route, body] of writes) {
      expect((await server.json(method, `/api/data/projects/${UNKNOWN_ID}/${route}`, { body })).status).toBe(404);
    }
  });
});
