/**
 * Answers of the user, projects, time spents and files routes checked against Zou 1.0.67's
 * services (user_service, projects_service, schedule_service, time_spents_service, files_service):
 * which rows, which keys, which codes.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type Person, type TestServer } from "./helpers";
import { asset, assign, crew, type Crew, idOf, insertRow, sequence, shot, task, UNKNOWN_ID } from "./projects-fixtures";
import { makeFilesWorld } from "./files-fixtures";

let server: TestServer;
let p: Crew;
let sequenceWithMine: string;
let sequenceWithOthers: string;
let shotTask: string;

beforeAll(async () => {
  server = await makeServer();
  p = await crew(server, {}, "Zou parity");
  sequenceWithMine = await sequence(server, p.project.id, "SQ01");
  sequenceWithOthers = await sequence(server, p.project.id, "SQ02");
  const mine = await shot(server, p.project.id, "SH010", sequenceWithMine);
  const theirs = await shot(server, p.project.id, "SH020", sequenceWithOthers);
  shotTask = await task(server, p.project.id, mine, "Animation", "Shot");
  await assign(server, shotTask, p.artist);
  await assign(server, await task(server, p.project.id, theirs, "Animation", "Shot"), p.supervisor);
});

const get = (path: string, who?: Person) => server.json("GET", `/api${path}`, who ? { token: who.token } : {});

describe("user lists", () => {
  test("user sequences: only those holding a shot with a task assigned to the caller; 404 for an unknown project", async () => {
    const mine = await get(`/data/user/projects/${p.project.id}/sequences`, p.artist);
    expect(mine.status).toBe(200);
    expect(mine.body.map((s: any) => [s.id, s.type])).toEqual([[sequenceWithMine, "Sequence"]]);
    expect((await get(`/data/user/projects/${p.project.id}/sequences`, p.supervisor)).body.map((s: any) => s.id)).toEqual([sequenceWithOthers]);
    expect((await get(`/data/user/projects/${p.project.id}/sequences`, p.manager)).body).toEqual([]);
    expect((await get(`/data/user/projects/${UNKNOWN_ID}/sequences`, p.artist)).status).toBe(404);
    expect((await get(`/data/user/projects/not-an-id/sequences`, p.artist)).status).toBe(404);
  });

  test("user entity lists: only the caller's tasks and what holds them; 404 for unknown parents", async () => {
    const hero = await asset(server, p.project.id, "Parity hero");
    const prop = await asset(server, p.project.id, "Parity prop", "Prop");
    const heroTask = await task(server, p.project.id, hero, "Modeling", "Asset");
    await assign(server, heroTask, p.artist);
    await task(server, p.project.id, prop, "Modeling", "Asset");
    const types = await get(`/data/user/projects/${p.project.id}/asset-types`, p.artist);
    expect(types.body.map((t: any) => [t.name, t.type])).toEqual([["Character", "AssetType"]]);
    const character = types.body[0].id;
    expect((await get(`/data/user/projects/${p.project.id}/asset-types/${character}/assets`, p.artist)).body.map((a: any) => a.id)).toEqual([hero]);
    expect((await get(`/data/user/assets/${hero}/tasks`, p.artist)).body.map((t: any) => t.id)).toEqual([heroTask]);
    expect((await get(`/data/user/assets/${hero}/tasks`, p.supervisor)).body).toEqual([]);
    expect((await get(`/data/user/shots/${(await get(`/data/user/sequences/${sequenceWithMine}/shots`, p.artist)).body[0].id}/tasks`, p.artist)).body.map((t: any) => t.id)).toEqual([shotTask]);
    expect((await get(`/data/user/sequences/${sequenceWithOthers}/shots`, p.artist)).body).toEqual([]);
    expect((await get(`/data/user/projects/${p.project.id}/episodes`, p.artist)).body).toEqual([]);
    for (const path of [`/data/user/assets/${UNKNOWN_ID}/tasks`, `/data/user/shots/${UNKNOWN_ID}/tasks`, `/data/user/sequences/${UNKNOWN_ID}/shots`,
      `/data/user/projects/${UNKNOWN_ID}/asset-types`, `/data/user/projects/${UNKNOWN_ID}/episodes`]) {
      expect((await get(path, p.artist)).status).toBe(404);
    }
  });

  test("user time spents without dates: empty list, as Zou; a range lists them", async () => {
    await server.json("POST", `/api/actions/tasks/${shotTask}/time-spents/2021-03-15/persons/${p.artist.id}`, { token: p.artist.token, body: { duration: 60 } });
    expect((await get("/data/user/time-spents", p.artist)).body).toEqual([]);
    expect((await get("/data/user/time-spents?start_date=2021-03-01&end_date=2021-03-31", p.artist)).body).toHaveLength(1);
    expect((await get(`/data/persons/${p.artist.id}/time-spents`)).body).toEqual([]);
  });

  test("a malformed date is a 404 on user day-offs and user task time spents, a 400 on user time spents", async () => {
    expect((await get("/data/user/day-offs/2021-13-45", p.artist)).status).toBe(404);
    expect((await get(`/data/user/tasks/${shotTask}/time-spents/not-a-date`, p.artist)).status).toBe(404);
    expect((await get("/data/user/time-spents/not-a-date", p.artist)).status).toBe(400);
    expect((await get("/data/user/day-offs/2021-03-15", p.artist)).body).toEqual({});
  });

  test("user episodes: the auto-created E01 of a tv show has an empty description, as Zou", async () => {
    const show = (await server.json("POST", "/api/data/projects", { body: { name: "Parity show", production_type: "tvshow" } })).body;
    await server.addToTeam(show.id, p.artist);
    const ep = show.first_episode_id;
    const seq = await sequence(server, show.id, "ESQ", ep);
    const sh = await shot(server, show.id, "ESH", seq);
    await assign(server, await task(server, show.id, sh, "Animation", "Shot"), p.artist);
    const episodes = await get(`/data/user/projects/${show.id}/episodes`, p.artist);
    expect(episodes.body.map((e: any) => [e.id, e.name, e.description, e.type])).toEqual([[ep, "E01", "", "Episode"]]);
  });
});

describe("user filters and filter groups", () => {
  const post = (path: string, who: Person, body: Record<string, unknown>) => server.json("POST", `/api${path}`, { token: who.token, body });

  test("a non-manager cannot create a shared filter; a project manager can; an empty name is a 400", async () => {
    const byArtist = await post("/data/user/filters", p.artist, { name: "Shared?", query: "q", list_type: "asset", project_id: p.project.id, is_shared: true });
    expect(byArtist.status).toBe(201);
    expect(byArtist.body.is_shared).toBe(false);
    const byManager = await post("/data/user/filters", p.manager, { name: "Team view", query: "q", list_type: "asset", project_id: p.project.id, is_shared: true });
    expect(byManager.body.is_shared).toBe(true);
    const noProject = await post("/data/user/filters", p.manager, { name: "Nowhere", query: "q", is_shared: true });
    expect(noProject.body.is_shared).toBe(false);
    expect((await post("/data/user/filters", p.artist, { name: "", query: "q" })).status).toBe(400);
    expect((await post("/data/user/filter-groups", p.artist, { name: "", color: "#000000" })).status).toBe(400);
    // A shared filter shows in the lists of the others; a private one does not.
    const seen = await get("/data/user/filters", p.supervisor);
    expect(seen.body.asset[p.project.id].map((f: any) => f.id)).toEqual([byManager.body.id]);
  });

  test("a filter and its group share is_shared (400 otherwise)", async () => {
    const group = await post("/data/user/filter-groups", p.manager, { name: "Shared group", color: "#ff0000", list_type: "asset", project_id: p.project.id, is_shared: true });
    expect(group.body.is_shared).toBe(true);
    const mismatch = await post("/data/user/filters", p.manager, { name: "Private in shared", query: "q", list_type: "asset", project_id: p.project.id, search_filter_group_id: group.body.id });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.message).toBe("A search filter should have the same value for is_shared than its search filter group.");
    const unknownGroup = await post("/data/user/filters", p.manager, { name: "Lost", query: "q", search_filter_group_id: UNKNOWN_ID });
    expect(unknownGroup.status).toBe(404);
  });

  test("updates: sharing needs manager access on the project sent; a group's filters follow its sharing; admins reach anyone's", async () => {
    const put = (path: string, who: Person, body: Record<string, unknown>) => server.json("PUT", `/api${path}`, { token: who.token, body });
    const mine = await post("/data/user/filters", p.artist, { name: "Artist filter", query: "q", list_type: "shot", project_id: p.project.id });
    expect((await put(`/data/user/filters/${mine.body.id}`, p.artist, { is_shared: true, project_id: p.project.id })).body.is_shared).toBe(false);
    const managers = await post("/data/user/filters", p.manager, { name: "Manager filter", query: "q", list_type: "shot", project_id: p.project.id });
    expect((await put(`/data/user/filters/${managers.body.id}`, p.manager, { is_shared: true })).body.is_shared).toBe(false);
    expect((await put(`/data/user/filters/${managers.body.id}`, p.manager, { is_shared: true, project_id: p.project.id })).body.is_shared).toBe(true);
    const group = await post("/data/user/filter-groups", p.manager, { name: "Group", color: "#123456", list_type: "shot", project_id: p.project.id, is_shared: true });
    const inGroup = await post("/data/user/filters", p.manager, { name: "In group", query: "q", list_type: "shot", project_id: p.project.id, is_shared: true, search_filter_group_id: group.body.id });
    expect(inGroup.status).toBe(201);
    expect((await put(`/data/user/filter-groups/${group.body.id}`, p.manager, { is_shared: false })).body.is_shared).toBe(false);
    const row = await server.db.selectFrom("search_filter").select("is_shared").where("id", "=", inGroup.body.id).executeTakeFirstOrThrow();
    expect(Boolean(row.is_shared)).toBe(false);
    expect((await put(`/data/user/filters/${mine.body.id}`, p.manager, { name: "Not mine" })).status).toBe(404);
    expect((await server.json("PUT", `/api/data/user/filters/${mine.body.id}`, { body: { name: "Renamed by admin" } })).body.name).toBe("Renamed by admin");
    expect((await server.json("DELETE", `/api/data/user/filters/${mine.body.id}`)).status).toBe(204);
  });

  test("filter groups are listed newest first", async () => {
    const owner = await server.person("user");
    const project = await server.project("Group order", [owner]);
    const older = await insertRow(server, "search_filter_group", { name: "Older", color: "#000000", list_type: "asset", person_id: owner.id, project_id: project.id, created_at: "2024-01-01T00:00:00" });
    const newer = await insertRow(server, "search_filter_group", { name: "Newer", color: "#000000", list_type: "asset", person_id: owner.id, project_id: project.id, created_at: "2024-02-01T00:00:00" });
    const { body } = await get("/data/user/filter-groups", owner);
    expect(body.asset[project.id].map((g: any) => g.id)).toEqual([newer, older]);
  });

  test("GET filter-groups/{id}: 200 to its owner and to admins, 404 to others", async () => {
    const group = await post("/data/user/filter-groups", p.artist, { name: "Mine", color: "#00ff00", list_type: "asset", project_id: p.project.id });
    const id = group.body.id;
    const asOwner = await get(`/data/user/filter-groups/${id}`, p.artist);
    expect(asOwner.status).toBe(200);
    expect(asOwner.body).toMatchObject({ id, name: "Mine", type: "SearchFilterGroup", person_id: p.artist.id });
    expect((await get(`/data/user/filter-groups/${id}`)).status).toBe(200);
    expect((await get(`/data/user/filter-groups/${id}`, p.manager)).status).toBe(404);
  });
});

describe("projects", () => {
  test("open projects carry Zou's extra data without project_status_name nor task_type_links", async () => {
    const open = (await get("/data/projects/open", p.artist)).body.find((x: any) => x.id === p.project.id);
    expect(open).toHaveProperty("task_types_priority");
    expect(open).toHaveProperty("task_statuses_link");
    expect(open).toHaveProperty("descriptors");
    expect(open.project_status_name).toBeUndefined();
    expect(open.task_type_links).toBeUndefined();
    const context = (await get("/data/user/context", p.artist)).body.projects.find((x: any) => x.id === p.project.id);
    expect(context.task_type_links).toBeUndefined();
  });

  test("one project: relations and project_status_name only", async () => {
    const { status, body } = await get(`/data/projects/${p.project.id}`, p.artist);
    expect(status).toBe(200);
    expect(body.project_status_name).toBe("Open");
    expect(body.team).toContain(p.artist.id);
    for (const key of ["descriptors", "task_type_links", "task_types_priority", "task_statuses_link"]) expect(body).not.toHaveProperty(key);
  });

  test("all projects: admins get status names and descriptors, others the plain rows", async () => {
    const asAdmin = (await get("/data/projects/all")).body.find((x: any) => x.id === p.project.id);
    expect(asAdmin.project_status_name).toBe("Open");
    expect(asAdmin.descriptors).toEqual([]);
    const asArtist = (await get("/data/projects/all", p.artist)).body.find((x: any) => x.id === p.project.id);
    expect(asArtist.type).toBe("Project");
    expect(asArtist).not.toHaveProperty("project_status_name");
    expect(asArtist).not.toHaveProperty("descriptors");
  });

  test("team: departments listed for managers, empty for the others", async () => {
    const department = await insertRow(server, "department", { name: "Parity dept", color: "#000000" });
    await server.db.insertInto("department_link" as any).values({ person_id: p.artist.id, department_id: department } as any).execute();
    const asManager = (await get(`/data/projects/${p.project.id}/team`, p.manager)).body.find((x: any) => x.id === p.artist.id);
    expect(asManager.departments).toEqual([department]);
    const asArtist = (await get(`/data/projects/${p.project.id}/team`, p.artist)).body.find((x: any) => x.id === p.artist.id);
    expect(asArtist.departments).toEqual([]);
  });

  test("day offs of a project are grouped by person id", async () => {
    await insertRow(server, "day_off", { person_id: p.supervisor.id, date: "2031-02-02", end_date: "2031-02-03", description: "Off" });
    const { status, body } = await get(`/data/projects/${p.project.id}/day-offs?start_date=2031-02-01&end_date=2031-02-28`, p.manager);
    expect(status).toBe(200);
    expect(Object.keys(body)).toEqual([p.supervisor.id]);
    expect(body[p.supervisor.id][0]).toMatchObject({ type: "DayOff", date: "2031-02-02", description: "Off" });
  });

  test("budget time spents leave out task types without department", async () => {
    const project = await server.project("Budget parity", [p.artist]);
    const department = await insertRow(server, "department", { name: "Budget dept", color: "#000000" });
    const withDept = await insertRow(server, "task_type", { name: "Parity dept type", for_entity: "Asset", department_id: department });
    const hero = await asset(server, project.id, "Budget hero");
    const t1 = await insertRow(server, "task", { name: "a", project_id: project.id, entity_id: hero, task_type_id: withDept, task_status_id: await idOf(server, "task_status", "Todo") });
    const noDept = await insertRow(server, "task_type", { name: "Parity free type", for_entity: "Asset" });
    const t2 = await insertRow(server, "task", { name: "b", project_id: project.id, entity_id: hero, task_type_id: noDept, task_status_id: await idOf(server, "task_status", "Todo") });
    await insertRow(server, "time_spent", { task_id: t1, person_id: p.artist.id, date: "2021-03-15", duration: 90 });
    await insertRow(server, "time_spent", { task_id: t2, person_id: p.artist.id, date: "2021-03-16", duration: 30 });
    const { body } = await get(`/data/projects/${project.id}/budgets/time-spents`);
    expect(Object.keys(body)).toEqual([department]);
    expect(body[department]).toEqual({ total: 90, [p.artist.id]: { total: 90, "2021-03": 90 } });
  });

  test("schedule items per episode and per sequence: 400 for a malformed project id", async () => {
    const animation = await idOf(server, "task_type", "Animation", { for_entity: "Shot" });
    for (const kind of ["episodes", "sequences"]) {
      const res = await get(`/data/projects/not-a-uuid/schedule-items/${animation}/${kind}`);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe(true);
      expect((await get(`/data/projects/${UNKNOWN_ID}/schedule-items/${animation}/${kind}`)).status).toBe(404);
      // Non-admins fail the access check first: the project is unknown to them.
      expect((await get(`/data/projects/not-a-uuid/schedule-items/${animation}/${kind}`, p.manager)).status).toBe(404);
    }
  });

  test("quotas use ISO week numbers (2021-03-17 is week 11)", async () => {
    const project = await server.project("Quota parity", [p.artist], { fps: "25" });
    const seq = await sequence(server, project.id, "QSQ");
    const quotaShot = await shot(server, project.id, "QSH", seq);
    await server.db.updateTable("entity").set({ nb_frames: 50 } as any).where("id", "=", quotaShot).execute();
    const t = await task(server, project.id, quotaShot, "Animation", "Shot", { end_date: "2021-03-17T10:00:00" });
    await assign(server, t, p.artist);
    const animation = await idOf(server, "task_type", "Animation", { for_entity: "Shot" });
    const { body } = await get(`/data/projects/${project.id}/quotas/${animation}?count_mode=feedback`);
    expect(Object.keys(body.total.week.frames)).toEqual(["2021-11"]);
  });

  test("metadata descriptor writes answer the plain row (no departments)", async () => {
    const created = await server.json("POST", `/api/data/projects/${p.project.id}/metadata-descriptors`, { body: { entity_type: "Shot", name: "Parity level", data_type: "string" } });
    expect(created.status).toBe(201);
    expect(created.body).not.toHaveProperty("departments");
    expect(created.body.field_name).toBe("parity_level");
    const updated = await server.json("PUT", `/api/data/projects/${p.project.id}/metadata-descriptors/${created.body.id}`, { body: { name: "Parity level 2" } });
    expect(updated.status).toBe(200);
    expect(updated.body).not.toHaveProperty("departments");
    const listed = (await get(`/data/projects/${p.project.id}/metadata-descriptors`)).body.find((d: any) => d.id === created.body.id);
    expect(listed.departments).toEqual([]);
  });

  test("hardware items per department: the item rows without department_id", async () => {
    const department = await insertRow(server, "department", { name: "Hardware dept", color: "#000000" });
    const item = await insertRow(server, "hardware_item", { name: "Parity workstation", short_name: "pws", monthly_cost: 100, inventory_amount: 0 });
    await server.json("POST", `/api/data/departments/${department}/hardware-items`, { body: { hardware_item_id: item } });
    const { body } = await get("/data/departments/hardware-items");
    expect(body[department].map((h: any) => h.id)).toEqual([item]);
    expect(body[department][0]).not.toHaveProperty("department_id");
    expect(body[department][0].type).toBe("HardwareItem");
  });
});

describe("files", () => {
  test("a new working file has a null description, as Zou stores none", async () => {
    const world = await makeFilesWorld();
    const res = await world.server.json("POST", `/api/data/tasks/${world.tasks.shot.id}/working-files/new`, { body: { name: "main" } });
    expect(res.status).toBe(201);
    expect(res.body.description).toBeNull();
    const listed = await world.server.json("GET", `/api/data/tasks/${world.tasks.shot.id}/working-files`);
    expect(listed.body[0].description).toBeNull();
  });
});

describe("project templates", () => {
  test("workflow links: admins add, managers list, others 403; 404 for an unknown template", async () => {
    const template = (await server.json("POST", "/api/data/project-templates", { body: { name: "Parity template" } })).body;
    const base = `/api/data/project-templates/${template.id}`;
    const modeling = await idOf(server, "task_type", "Modeling");
    const wip = await idOf(server, "task_status", "Work In Progress");
    const character = await idOf(server, "entity_type", "Character");
    const link = await server.json("POST", `${base}/task-types`, { body: { task_type_id: modeling, priority: 2 } });
    expect(link.status).toBe(201);
    expect(link.body).toMatchObject({ type: "ProjectTemplateTaskTypeLink", project_template_id: template.id, task_type_id: modeling, priority: 2 });
    const statusLink = await server.json("POST", `${base}/task-statuses`, { body: { task_status_id: wip } });
    expect(statusLink.body.roles_for_board).toEqual(["user", "admin", "supervisor", "manager", "vendor"]);
    expect((await server.json("POST", `${base}/asset-types`, { body: { asset_type_id: character } })).body).toEqual({ id: character, name: "Character" });
    expect((await server.json("POST", `${base}/asset-types`, { body: { asset_type_id: "nope" } })).status).toBe(400);
    const types = await server.json("GET", `${base}/task-types`, { token: p.manager.token });
    expect(types.body.map((t: any) => [t.id, t.priority, t.type])).toEqual([[modeling, 2, "TaskType"]]);
    expect((await server.json("GET", `${base}/task-statuses`)).body[0]).toMatchObject({ id: wip, type: "TaskStatus", priority: null });
    expect((await server.json("GET", `${base}/asset-types`)).body).toEqual([{ id: character, name: "Character" }]);
    expect((await server.json("GET", `${base}/status-automations`)).body).toEqual([]);
    const read = (await server.json("GET", base)).body;
    expect(read.task_types).toEqual([modeling]);
    expect(read.asset_types).toEqual([character]);
    expect((await server.json("GET", `${base}/task-types`, { token: p.artist.token })).status).toBe(403);
    expect((await server.json("POST", `${base}/task-types`, { token: p.manager.token, body: { task_type_id: modeling } })).status).toBe(403);
    const missing = await server.json("GET", `/api/data/project-templates/${UNKNOWN_ID}/task-types`);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ message: "Project template not found" });
    const reordered = await server.json("POST", `/api/actions/project-templates/${template.id}/task-types/reorder`, { body: { task_type_ids: [modeling] } });
    expect(reordered.body[0].priority).toBe(1);
    expect((await server.json("DELETE", `${base}/task-types/${modeling}`)).status).toBe(204);
    expect((await server.json("GET", `${base}/task-types`)).body).toEqual([]);
  });

  test("snapshot of a project, descriptor snapshot and default background", async () => {
    const modeling = await idOf(server, "task_type", "Modeling");
    await server.json("POST", `/api/data/projects/${p.project.id}/settings/task-types`, { body: { task_type_id: modeling, priority: 3 } });
    const snap = await server.json("POST", `/api/data/project-templates/from-project/${p.project.id}`, { body: { name: "From parity project" } });
    expect(snap.status).toBe(201);
    expect(snap.body).toMatchObject({ type: "ProjectTemplate", name: "From parity project" });
    expect(snap.body.metadata_descriptors.map((d: any) => d.field_name)).toContain("parity_level_2");
    const types = (await server.json("GET", `/api/data/project-templates/${snap.body.id}/task-types`)).body;
    expect(types.find((t: any) => t.id === modeling).priority).toBe(3);
    expect((await server.json("POST", `/api/data/project-templates/from-project/${p.project.id}`, { body: { name: "From parity project" } })).status).toBe(400);
    expect((await server.json("POST", `/api/data/project-templates/from-project/${UNKNOWN_ID}`, { body: { name: "Nope" } })).status).toBe(404);
    expect((await server.json("POST", `/api/data/project-templates/from-project/${p.project.id}`, { token: p.manager.token, body: { name: "Nope" } })).status).toBe(403);

    const descriptors = await server.json("PUT", `/api/data/project-templates/${snap.body.id}/metadata-descriptors`, {
      body: { metadata_descriptors: [{ name: "Lens size", entity_type: "Shot", data_type: "string" }] },
    });
    expect(descriptors.status).toBe(200);
    expect(descriptors.body.metadata_descriptors).toEqual([
      { name: "Lens size", field_name: "lens_size", entity_type: "Shot", data_type: "string", choices: [], for_client: false, departments: [], position: null },
    ]);
    expect((await server.json("PUT", `/api/data/project-templates/${snap.body.id}/metadata-descriptors`, { body: { metadata_descriptors: "x" } })).status).toBe(400);

    const background = await insertRow(server, "preview_background_file", { name: "Parity HDR", archived: false, is_default: false, extension: "hdr" });
    const notLinked = await server.json("PUT", `/api/data/project-templates/${snap.body.id}/default-preview-background-file`, { body: { default_preview_background_file_id: background } });
    expect(notLinked.status).toBe(400);
    await server.json("POST", `/api/data/project-templates/${snap.body.id}/preview-background-files`, { body: { preview_background_file_id: background } });
    const set = await server.json("PUT", `/api/data/project-templates/${snap.body.id}/default-preview-background-file`, { body: { default_preview_background_file_id: background } });
    expect(set.body.default_preview_background_file_id).toBe(background);
    expect((await server.json("GET", `/api/data/project-templates/${snap.body.id}/preview-background-files`)).body).toEqual([{ id: background, name: "Parity HDR", is_default: false }]);
  });
});
