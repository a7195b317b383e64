/**
 * ShotGrid imports (csv.md part C): each route's payload mapping, idempotence on shotgun_id, the
 * remove routes (204), the error log, permissions and all-or-nothing 400s.
 */
import { beforeEach, describe, expect, test } from "bun:test";
import { makeServer, type Person, type TestServer } from "./helpers";

let server: TestServer;

const SG = {
  persons: [
    { id: 1, firstname: "John", lastname: "Doe", email: "john.doe@gmail.com", login: "john", sg_status_list: "act", permission_rule_set: { name: "Manager" }, department: { name: "Animation" }, type: "HumanUser" },
    { id: 2, firstname: "Ema", lastname: "Peel", email: "ema.peel@gmail.com", login: "ema", sg_status_list: "act", type: "HumanUser" },
    { id: 99, firstname: "Nobody", lastname: "Here", email: "changeme@email.com", login: "x", type: "HumanUser" },
  ],
  projects: [
    { id: 1, name: "Agent327", sg_status: "Active", sg_fps: 25, sg_empty: null, type: "Project" },
    { id: 2, name: "Cosmos Landromat", sg_status: "Closed", type: "Project" },
  ],
  projectconnections: [
    { id: 1, project: { type: "Project", id: 1, name: "Agent327" }, user: { type: "HumanUser", id: 1, name: "John Doe" }, type: "ProjectUserConnection" },
    { id: 2, project: { type: "Project", id: 1, name: "Agent327" }, user: { type: "HumanUser", id: 2, name: "Ema Peel" }, type: "ProjectUserConnection" },
    { id: 3, project: { type: "Project", id: 2, name: "Cosmos Landromat" }, user: { type: "HumanUser", id: 2, name: "Ema Peel" }, type: "ProjectUserConnection" },
  ],
  episodes: [{ id: 1, code: "E01", description: "first", project: { type: "Project", id: 1, name: "Agent327" }, type: "Episode" }],
  sequences: [
    { id: 1, code: "S01", description: "seq", project: { type: "Project", id: 1, name: "Agent327" }, episode: { type: "Episode", id: 1 }, type: "Sequence" },
    { id: 2, code: "S02", description: null, project: { type: "Project", id: 1, name: "Unknown project" }, type: "Sequence" },
  ],
  scenes: [{ id: 1, code: "SC01", project: { type: "Project", id: 1, name: "Agent327" }, sequence_sg_scenes_1_sequences: [{ type: "Sequence", id: 1 }], type: "Scene" }],
  assets: [
    { id: 1, code: "Sheep", description: "a sheep", sg_asset_type: "Character", project: { type: "Project", id: 1 }, parents: [], type: "Asset" },
    { id: 2, code: "Wool", description: "wool", sg_asset_type: "Props", project: { type: "Project", id: 1 }, parents: [{ type: "Asset", id: 1 }], type: "Asset" },
    { id: 3, code: "Typeless", description: "", sg_asset_type: null, project: { type: "Project", id: 1 }, type: "Asset" },
  ],
  steps: [
    { id: 1, code: "Modeling Shading", short_name: "shd", color: "255,0,0", entity_type: "Asset", type: "Step" },
    { id: 3, code: "Layout", short_name: "lay", color: "0,128,255", entity_type: "Shot", type: "Step" },
  ],
  status: [{ id: 1, name: "Work In Progress SG", code: "wip", bg_color: "0,0,255", type: "Status" }, { id: 2, name: "Hold", code: "hld", bg_color: null, type: "Status" }],
};

const SG_SHOT = {
  sg_cut_in: 0,
  code: "SH03",
  sg_sequence: { type: "Sequence", id: 1, name: "S01" },
  project: { type: "Project", id: 1, name: "Agent327" },
  assets: [{ type: "Asset", id: 1, name: "Sheep" }],
  sg_scene: { type: "Scene", id: 1, name: "SC01" },
  sg_cut_duration: 122,
  sg_custom_field: "test",
  type: "Shot",
  id: 1,
};

const SG_TASK = {
  cached_display_name: "Shading",
  created_by: { id: 1, name: "John Doe", type: "HumanUser" },
  due_date: "2017-02-28",
  duration: 7200,
  entity: { id: 1, name: "Sheep", type: "Asset" },
  id: 20,
  project: { id: 1, name: "Agent327", type: "Project" },
  sg_sort_order: null,
  sg_status_list: "wip",
  start_date: "2017-02-20",
  step: { id: 1, name: "Modeling Shading", type: "Step" },
  task_assignees: [{ id: 2, name: "Ema Peel", type: "HumanUser" }],
  type: "Task",
};

async function load(kind: keyof typeof SG | "project-connections" | "shots" | "tasks" | "versions" | "notes", body?: unknown) {
  const key = kind === "project-connections" ? "projectconnections" : kind;
  const response = await server.json("POST", `/api/import/shotgun/${kind}`, { body: body ?? SG[key as keyof typeof SG] });
  expect(response.status).toBe(200);
  return response.body as any[];
}

async function loadAll() {
  for (const kind of ["persons", "projects", "projectconnections", "status", "steps", "episodes", "sequences", "scenes", "assets"] as const) await load(kind);
}

async function rows(table: string, where: Record<string, unknown> = {}): Promise<any[]> {
  let q = server.db.selectFrom(table as any).selectAll();
  for (const [key, value] of Object.entries(where)) q = q.where(key as any, "=", value);
  return q.execute();
}

beforeEach(async () => {
  server = await makeServer();
});

describe("persons and projects", () => {
  test("persons: created with role, active flag, login and department; changeme entries skipped; twice is idempotent", async () => {
    const first = await load("persons");
    expect(first.length).toBe(2);
    expect(first.map((p) => p.type)).toEqual(["Person", "Person"]);
    expect(first[0]).toMatchObject({ first_name: "John", last_name: "Doe", shotgun_id: 1, desktop_login: "john", role: "manager", active: true });
    expect(first[0].password).toBeUndefined();
    expect(first[0].locale).toBe(server.config.defaultLocale);
    const again = await load("persons");
    expect(again.map((p) => p.id)).toEqual(first.map((p) => p.id));
    expect((await rows("person")).length).toBe(3);
    const john = (await rows("person", { shotgun_id: 1 }))[0];
    const [department] = await rows("department", { name: "Animation" });
    expect(await rows("department_link", { person_id: john.id })).toEqual([{ person_id: john.id, department_id: department.id }]);

    const disabled = await load("persons", [{ email: "james.doe@gmail.com", firstname: "James", lastname: "Doe", login: "jamie", id: 3, sg_status_list: "dis", type: "HumanUser" }]);
    expect(disabled[0]).toMatchObject({ active: false, role: "user", desktop_login: "jamie", shotgun_id: 3 });
    const admin = await load("persons", [{ email: "james.doe@gmail.com", firstname: "James", lastname: "Doe", login: "jamie", id: 3, permission_rule_set: { name: "Admin" } }]);
    expect(admin[0]).toMatchObject({ id: disabled[0].id, role: "admin" });
  });

  test("projects: statuses from sg_status, custom sg_* fields in data, upsert by shotgun_id", async () => {
    const projects = await load("projects");
    expect(projects.map((p) => p.name)).toEqual(["Agent327", "Cosmos Landromat"]);
    expect(projects[0].data).toEqual({ sg_fps: 25 });
    const [active] = await rows("project_status", { name: "Active" });
    expect(projects[0].project_status_id).toBe(active.id);
    const renamed = await load("projects", [{ id: 1, name: "Agent 327", sg_status: "Active" }]);
    expect(renamed[0].id).toBe(projects[0].id);
    expect((await rows("project")).length).toBe(2);
  });

  test("project connections: team links keep their shotgun id; alias route; twice is idempotent; removal", async () => {
    await load("persons");
    await load("projects");
    const result = await load("project-connections");
    expect(result.length).toBe(3);
    expect(result[0].type).toBe("Project");
    await load("projectconnections");
    const [agent] = await rows("project", { shotgun_id: 1 });
    expect((await rows("project_person_link", { project_id: agent.id })).length).toBe(2);
    const removed = await server.request("POST", "/api/import/shotgun/remove/project-connection", { body: { id: 2 } });
    expect(removed.status).toBe(204);
    expect(await removed.text()).toBe("");
    expect((await rows("project_person_link", { project_id: agent.id })).length).toBe(1);
    expect((await server.request("POST", "/api/import/shotgun/remove/projectconnection", { body: { id: 999 } })).status).toBe(204);
  });
});

describe("breakdown", () => {
  test("episodes, sequences, scenes: parents resolved by shotgun id, projects by name; unknown projects skipped", async () => {
    await load("projects");
    const [episode] = await load("episodes");
    expect(episode).toMatchObject({ type: "Episode", name: "E01", shotgun_id: 1, description: "first" });
    const sequences = await load("sequences");
    expect(sequences.length).toBe(1);
    expect(sequences[0]).toMatchObject({ type: "Sequence", parent_id: episode.id });
    const [scene] = await load("scenes");
    expect(scene).toMatchObject({ type: "Scene", name: "SC01", parent_id: sequences[0].id });
    await load("sequences");
    expect((await rows("entity", { shotgun_id: 1 })).length).toBe(3);
  });

  test("shots: frame range from cut in + duration, custom fields, scene as source, casting; update merges data", async () => {
    await load("projects");
    await load("sequences");
    await load("scenes");
    await load("assets");
    const [shot] = await load("shots", [SG_SHOT]);
    const [sequence] = await rows("entity", { name: "S01" });
    const [scene] = await rows("entity", { name: "SC01" });
    const [sheep] = await rows("entity", { name: "Sheep" });
    expect(shot).toMatchObject({ type: "Shot", name: "SH03", parent_id: sequence.id, source_id: scene.id });
    expect(shot.data).toMatchObject({ frame_in: 0, frame_out: 122, sg_custom_field: "test" });
    expect((await rows("entity_link", { entity_in_id: shot.id })).map((l) => l.entity_out_id)).toEqual([sheep.id]);
    const [again] = await load("shots", [{ ...SG_SHOT, sg_custom_field_2: "test 2" }]);
    expect(again.id).toBe(shot.id);
    expect(again.data).toMatchObject({ sg_custom_field: "test", sg_custom_field_2: "test 2" });
    const listed = await server.json("GET", "/api/data/shots/all");
    expect(listed.body.length).toBe(1);
  });

  test("assets: asset types created, typeless assets ignored, parents get their children as casting, twice idempotent", async () => {
    await load("projects");
    const assets = await load("assets");
    expect(assets.map((a) => a.name)).toEqual(["Sheep", "Wool"]);
    expect(assets[0].type).toBe("Asset");
    await load("assets");
    expect((await server.json("GET", "/api/data/assets/all")).body.length).toBe(2);
    const [sheep, wool] = assets;
    expect((await rows("entity_link", { entity_in_id: sheep.id })).map((l) => l.entity_out_id)).toEqual([wool.id]);
    expect((await rows("entity_type", { name: "Props" })).length).toBe(1);
  });
});

describe("steps, statuses, tasks, versions, notes", () => {
  test("steps become task types with a department named by the first word; statuses upsert by short name", async () => {
    const steps = await load("steps");
    expect(steps[0]).toMatchObject({ type: "TaskType", name: "Modeling Shading", short_name: "shd", color: "#ff0000", for_entity: "Asset", shotgun_id: 1 });
    const [modeling] = await rows("department", { name: "Modeling" });
    expect(steps[0].department_id).toBe(modeling.id);
    const wipBefore = (await rows("task_status", { short_name: "wip" }))[0];
    const statuses = await load("status");
    expect(statuses[0]).toMatchObject({ type: "TaskStatus", id: wipBefore.id, name: "Work In Progress SG", color: "#0000ff", shotgun_id: 1 });
    expect(statuses[1]).toMatchObject({ short_name: "hld", color: "#000000" });
    await load("steps");
    expect((await rows("task_type", { shotgun_id: 1 })).length).toBe(1);
  });

  test("tasks: type, status, entity, assigner and assignees resolved by shotgun ids; twice idempotent; remove", async () => {
    await loadAll();
    const [task] = await load("tasks", [SG_TASK, { ...SG_TASK, id: 21, step: null }]);
    const [sheep] = await rows("entity", { name: "Sheep" });
    const [john] = await rows("person", { shotgun_id: 1 });
    const [ema] = await rows("person", { shotgun_id: 2 });
    const [wip] = await rows("task_status", { short_name: "wip" });
    const [shading] = await rows("task_type", { shotgun_id: 1 });
    expect(task).toMatchObject({ type: "Task", name: "Shading", duration: 7200, shotgun_id: 20, entity_id: sheep.id, assigner_id: john.id, task_status_id: wip.id, task_type_id: shading.id, start_date: "2017-02-20T00:00:00", due_date: "2017-02-28T00:00:00" });
    expect((await rows("task_person_link", { task_id: task.id })).map((l) => l.person_id)).toEqual([ema.id]);
    await load("tasks", [SG_TASK]);
    expect((await rows("task")).length).toBe(1);

    const [version] = await load("versions", [
      { id: 5, code: "v001", description: "first", user: { id: 2 }, sg_task: { id: 20 }, sg_uploaded_movie: { url: "https://example.com/m.mp4", name: "m.mp4" } },
      { id: 6, code: "v002", description: "no task", user: null, sg_task: null, sg_uploaded_movie: null },
    ]);
    expect(version).toMatchObject({ type: "PreviewFile", name: "v001", source: "Shotgun", task_id: task.id, person_id: ema.id, uploaded_movie_url: "https://example.com/m.mp4", shotgun_id: 5 });
    const [note] = await load("notes", [
      { id: 7, content: "Looks good", tasks: [{ id: 20 }], user: { id: 1 }, created_at: "2017-03-01T10:20:30+01:00" },
      { id: 8, content: "orphan", tasks: [], user: { id: 1 }, created_at: "2017-03-01T10:20:30" },
    ]);
    expect(note).toMatchObject({ type: "Comment", text: "Looks good", object_id: task.id, object_type: "Task", person_id: john.id, created_at: "2017-03-01T10:20:30", shotgun_id: 7 });

    expect((await server.request("POST", "/api/import/shotgun/remove/note", { body: { id: 7 } })).status).toBe(204);
    expect((await server.request("POST", "/api/import/shotgun/remove/version", { body: { id: 5 } })).status).toBe(204);
    expect((await rows("preview_file")).length).toBe(0);
    expect((await server.request("POST", "/api/import/shotgun/remove/task", { body: { id: 20 } })).status).toBe(204);
    expect(await rows("task")).toEqual([]);
    expect(await rows("comment")).toEqual([]);
  });
});

describe("remove routes", () => {
  test("shot, asset, sequence, scene, episode, step, status, person and project are found by shotgun id and removed", async () => {
    await loadAll();
    await load("shots", [SG_SHOT]);
    const remove = (kind: string, id: number) => server.request("POST", `/api/import/shotgun/remove/${kind}`, { body: { id } });
    expect((await remove("shot", 1)).status).toBe(204);
    expect((await server.json("GET", "/api/data/shots/all")).body).toEqual([]);
    const [wool] = await rows("entity", { name: "Wool" });
    expect((await remove("asset", 2)).status).toBe(204);
    expect(await rows("entity", { id: wool.id })).toEqual([]);
    expect((await remove("scene", 1)).status).toBe(204);
    expect((await remove("sequence", 1)).status).toBe(204);
    expect((await remove("episode", 1)).status).toBe(204);
    expect((await rows("entity", { shotgun_id: 1 })).map((e) => e.name)).toEqual(["Sheep"]);
    expect((await remove("step", 3)).status).toBe(204);
    expect(await rows("task_type", { shotgun_id: 3 })).toEqual([]);
    expect((await remove("status", 2)).status).toBe(204);
    expect((await remove("person", 2)).status).toBe(400);
    expect((await rows("person", { shotgun_id: 2 })).length).toBe(1);
    await load("persons", [{ id: 5, firstname: "Tmp", lastname: "Person", email: "tmp@example.com", login: "tmp" }]);
    expect((await remove("person", 5)).status).toBe(204);
    expect(await rows("person", { shotgun_id: 5 })).toEqual([]);
    const [cosmos] = await rows("project", { shotgun_id: 2 });
    expect((await remove("project", 2)).status).toBe(204);
    expect(await rows("project", { id: cosmos.id })).toEqual([]);
  });

  test("an asset whose tasks have working files is canceled instead", async () => {
    await loadAll();
    await load("tasks", [SG_TASK]);
    const [task] = await rows("task");
    await server.db.insertInto("working_file").values({ id: crypto.randomUUID(), name: "main", revision: 1, task_id: task.id, entity_id: task.entity_id } as any).execute();
    expect((await server.request("POST", "/api/import/shotgun/remove/asset", { body: { id: 1 } })).status).toBe(204);
    const [sheep] = await rows("entity", { name: "Sheep" });
    expect(Boolean(sheep.canceled)).toBe(true);
  });

  test("refusals: bad body 400; an artist 403; a project manager may remove its project's shots only", async () => {
    await loadAll();
    await load("shots", [SG_SHOT]);
    expect((await server.json("POST", "/api/import/shotgun/remove/shot", { body: { id: "one" } })).status).toBe(400);
    expect((await server.json("POST", "/api/import/shotgun/remove/shot", { body: [1] })).status).toBe(400);
    const artist = await server.person("user");
    expect((await server.json("POST", "/api/import/shotgun/remove/shot", { token: artist.token, body: { id: 1 } })).status).toBe(403);
    expect((await server.json("POST", "/api/import/shotgun/remove/shot", { token: artist.token, body: { id: 404 } })).status).toBe(403);
    const manager = await server.person("manager");
    expect((await server.json("POST", "/api/import/shotgun/remove/shot", { token: manager.token, body: { id: 1 } })).status).toBe(403);
    expect((await server.json("POST", "/api/import/shotgun/remove/step", { token: manager.token, body: { id: 1 } })).status).toBe(403);
    const [agent] = await rows("project", { shotgun_id: 1 });
    await server.addToTeam(agent.id, manager);
    expect((await server.request("POST", "/api/import/shotgun/remove/shot", { token: manager.token, body: { id: 1 } })).status).toBe(204);
  });
});

describe("import refusals", () => {
  test("imports are for admins: a manager gets 403 and nothing is written", async () => {
    const manager: Person = await server.person("manager");
    const response = await server.json("POST", "/api/import/shotgun/projects", { token: manager.token, body: SG.projects });
    expect(response.status).toBe(403);
    expect(await rows("project")).toEqual([]);
    expect((await server.json("POST", "/api/import/shotgun/persons", { token: null, body: SG.persons })).status).toBe(401);
  });

  test("a body that is not a list of objects, or a value of the wrong type, is a 400 and nothing is written", async () => {
    expect((await server.json("POST", "/api/import/shotgun/projects", { body: { id: 1 } })).status).toBe(400);
    expect((await server.json("POST", "/api/import/shotgun/projects", { body: [1, 2] })).status).toBe(400);
    const bad = await server.json("POST", "/api/import/shotgun/projects", { body: [SG.projects[0], { id: "two", name: "Bad", sg_status: "Active" }] });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain("Entry 1");
    expect(await rows("project")).toEqual([]);
    // A project of the same name made by hand: the names clash, the whole request is refused.
    await server.project("Cosmos Landromat");
    const clash = await server.json("POST", "/api/import/shotgun/projects", { body: SG.projects });
    expect(clash.status).toBe(400);
    expect(clash.body.message).toContain("Entry 1");
    expect((await rows("project", { name: "Agent327" })).length).toBe(0);
    const badColor = await server.json("POST", "/api/import/shotgun/steps", { body: [{ ...SG.steps[0], color: "red" }] });
    expect(badColor.status).toBe(400);
    expect(await rows("task_type", { shotgun_id: 1 })).toEqual([]);
  });
});

describe("error log", () => {
  test("errors are recorded (201), listed and deleted (204); unknown or malformed ids are 404", async () => {
    const artist = await server.person("user");
    const created = await server.json("POST", "/api/import/shotgun/errors", { token: artist.token, body: { event: "Shot_New", id: 12 } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ type: "DataImportError", source: "shotgun", event_data: { event: "Shot_New", id: 12 } });
    const listed = await server.json("GET", "/api/import/shotgun/errors", { token: artist.token });
    expect(listed.body.map((e: any) => e.id)).toEqual([created.body.id]);
    expect((await server.request("DELETE", `/api/import/shotgun/errors/${created.body.id}`)).status).toBe(204);
    expect((await server.json("GET", "/api/import/shotgun/errors")).body).toEqual([]);
    expect((await server.json("DELETE", `/api/import/shotgun/errors/${created.body.id}`)).status).toBe(404);
    expect((await server.json("DELETE", "/api/import/shotgun/errors/not-an-id")).status).toBe(404);
    expect((await server.json("POST", "/api/import/shotgun/errors", { body: "{broken" , headers: { "Content-Type": "application/json" } })).status).toBe(400);
  });
});
