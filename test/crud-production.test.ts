import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type TestServer } from "./helpers";
import { asset, assign, crew, type Crew, idOf, insertRow, recordEvents, sequence, shot, task, UNKNOWN_ID } from "./projects-fixtures";

let server: TestServer;
let p: Crew;
let events: ReturnType<typeof recordEvents>;
let closedStatus: string;

beforeAll(async () => {
  server = await makeServer();
  events = recordEvents(server);
  p = await crew(server, {}, "Crud production");
  closedStatus = await idOf(server, "project_status", "Closed");
});

describe("project crud", () => {
  test("list: admins all, others the open projects they belong to (vector 12)", async () => {
    const closed = await server.project("Closed crud", [p.artist], { project_status_id: closedStatus });
    const all = await server.json("GET", "/api/data/projects");
    expect(all.body.map((x: any) => x.id)).toEqual(expect.arrayContaining([p.project.id, closed.id]));
    const artist = await server.json("GET", "/api/data/projects", { token: p.artist.token });
    expect(artist.body.map((x: any) => x.id)).toEqual([p.project.id]);
    const stranger = await server.person("user");
    expect((await server.json("GET", "/api/data/projects", { token: stranger.token })).body).toEqual([]);
  });

  test("create: admin only (vectors 1, 3), Open status by default, style and resolution checked", async () => {
    events.clear();
    const created = await server.json("POST", "/api/data/projects", { body: { name: "Cosmos Landromat 2" } });
    expect(created.status).toBe(201);
    expect(created.body.project_status_id).toBe(await idOf(server, "project_status", "Open"));
    expect(created.body.production_style).toBe("2d3d");
    expect(created.body.fps).toBe("25");
    expect(created.body.team).toEqual([]);
    expect(events.data("project:new")).toEqual([{ project_id: created.body.id }]);
    expect((await server.json("POST", "/api/data/projects", { token: p.artist.token, body: { name: "No" } })).status).toBe(403);
    expect((await server.json("POST", "/api/data/projects", { token: p.manager.token, body: { name: "No" } })).status).toBe(403);
    const style = await server.json("POST", "/api/data/projects", { body: { name: "Bad style", production_style: "cubism" } });
    expect(style.status).toBe(400);
    expect(style.body.message).toBe("Invalid production_style");
    expect((await server.json("POST", "/api/data/projects", { body: { name: "Null style", production_style: null } })).body.production_style).toBe("2d3d");
    expect((await server.json("POST", "/api/data/projects", { body: { name: "Bad res", resolution: "big" } })).status).toBe(400);
    expect((await server.json("POST", "/api/data/projects", { body: { name: "Partial res", resolution: "x1080" } })).status).toBe(201);
    expect((await server.json("POST", "/api/data/projects", { body: { name: "Cosmos Landromat 2" } })).status).toBe(400);
  });

  test("a tv show is created with a first episode E01 and first_episode_id", async () => {
    events.clear();
    const created = await server.json("POST", "/api/data/projects", { body: { name: "Show crud", production_type: "tvshow" } });
    expect(created.status).toBe(201);
    const episodeRow = await server.db.selectFrom("entity").selectAll().where("project_id", "=", created.body.id).executeTakeFirstOrThrow();
    expect(episodeRow.name).toBe("E01");
    expect(episodeRow.created_by).toBe(server.admin.id);
    expect(created.body.first_episode_id).toBe(episodeRow.id);
    expect(events.data("episode:new")).toEqual([{ episode_id: episodeRow.id, project_id: created.body.id }]);
    const open = (await server.json("GET", "/api/data/projects/open")).body.find((x: any) => x.id === created.body.id);
    expect(open.first_episode_id).toBe(episodeRow.id);
  });

  test("a new project gets the Project-scoped descriptors of the other open projects; a template applies its workflow", async () => {
    await server.json("POST", `/api/data/projects/${p.project.id}/metadata-descriptors`, { body: { name: "Client name", entity_type: "Project" } });
    const modeling = await idOf(server, "task_type", "Modeling");
    const template = await insertRow(server, "project_template", {
      name: "Template A", fps: "24", production_style: "3d", revision_padding: 0,
      metadata_descriptors: JSON.stringify([{ entity_type: "Shot", name: "Lens", data_type: "string", choices: [] }]),
    });
    await insertRow(server, "project_template_task_type_link", { project_template_id: template, task_type_id: modeling, priority: 2 });
    const created = await server.json("POST", "/api/data/projects", { body: { name: "From template", project_template_id: template, fps: "30" } });
    expect(created.status).toBe(201);
    expect(created.body.fps).toBe("30");
    expect(created.body.production_style).toBe("3d");
    // The extra data (priorities, descriptors) is served by the open projects list, as Zou.
    const read = (await server.json("GET", "/api/data/projects/open")).body.find((x: any) => x.id === created.body.id);
    expect(read.task_types_priority).toEqual({ [modeling]: 2 });
    expect(read.descriptors.map((d: any) => d.field_name).sort()).toEqual(["client_name", "lens"]);
    expect((await server.json("POST", "/api/data/projects", { body: { name: "Bad template", project_template_id: UNKNOWN_ID } })).status).toBe(400);
  });

  test("read: members (vector 13-like), with relations and project_status_name only (Zou); others 403", async () => {
    const res = await server.json("GET", `/api/data/projects/${p.project.id}`, { token: p.vendor.token });
    expect(res.status).toBe(200);
    expect(res.body.project_status_name).toBe("Open");
    expect(res.body.team).toHaveLength(5);
    expect(res.body).not.toHaveProperty("task_statuses_link");
    expect((await server.json("GET", `/api/data/projects/${p.project.id}`, { token: p.outsider.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/projects/${UNKNOWN_ID}`)).status).toBe(404);
  });

  test("update: manager members (vectors 2, 4); team is ignored; tv show switch creates E01", async () => {
    const project = await server.project("Update crud", [p.manager, p.artist]);
    const res = await server.json("PUT", `/api/data/projects/${project.id}`, { token: p.manager.token, body: { description: "New", team: [] } });
    expect(res.status).toBe(200);
    expect(res.body.description).toBe("New");
    expect((await server.json("GET", `/api/data/projects/${project.id}`)).body.team).toHaveLength(2);
    expect((await server.json("PUT", `/api/data/projects/${project.id}`, { body: { name: "Renamed by admin" } })).status).toBe(200);
    expect((await server.json("PUT", `/api/data/projects/${project.id}`, { token: p.artist.token, body: { name: "x" } })).status).toBe(403);
    expect((await server.json("PUT", `/api/data/projects/${project.id}`, { token: p.outsider.token, body: { name: "x" } })).status).toBe(403);
    expect((await server.json("PUT", `/api/data/projects/${project.id}`, { body: { production_style: "nope" } })).status).toBe(400);
    const show = await server.json("PUT", `/api/data/projects/${project.id}`, { body: { production_type: "tvshow" } });
    expect(show.body.first_episode_id).toBeString();
  });

  test("delete: open projects 400 (even for non-admins), closed ones admin only; force removes the data", async () => {
    const project = await server.project("Delete crud", [p.manager]);
    const refused = await server.json("DELETE", `/api/data/projects/${project.id}`, { token: p.manager.token });
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ error: true, message: "Only closed projects can be deleted" });
    await server.json("PUT", `/api/data/projects/${project.id}`, { body: { project_status_id: closedStatus } });
    expect((await server.json("DELETE", `/api/data/projects/${project.id}`, { token: p.manager.token })).status).toBe(403);

    const seq = await sequence(server, project.id, "SQ01");
    const sh = await shot(server, project.id, "SH01", seq);
    const hero = await asset(server, project.id, "Hero");
    const shotTask = await task(server, project.id, sh, "Layout", "Shot");
    await assign(server, shotTask, p.manager);
    await insertRow(server, "entity_link", { entity_in_id: sh, entity_out_id: hero, nb_occurences: 1, label: "" });
    await insertRow(server, "comment", { object_id: shotTask, object_type: "Task", person_id: p.manager.id, text: "hi" });
    await insertRow(server, "milestone", { project_id: project.id, name: "M" });
    await insertRow(server, "production_schedule_version", { project_id: project.id, name: "v1" });
    const withoutForce = await server.json("DELETE", `/api/data/projects/${project.id}`);
    expect(withoutForce.status).toBe(400);
    events.clear();
    expect((await server.request("DELETE", `/api/data/projects/${project.id}?force=true`)).status).toBe(204);
    expect(events.data("project:delete")).toEqual([{ project_id: project.id }]);
    expect((await server.json("GET", `/api/data/projects/${project.id}`)).status).toBe(404);
    for (const table of ["entity", "task", "milestone", "production_schedule_version", "project_person_link"]) {
      const rows = await server.db.selectFrom(table as any).select("project_id" as any).where("project_id" as any, "=", project.id).execute();
      expect(rows).toEqual([]);
    }
    expect(await server.db.selectFrom("comment").select("id").where("object_id", "=", shotTask).execute()).toEqual([]);
    expect(await server.db.selectFrom("person").select("id").where("id", "=", p.manager.id).execute()).toHaveLength(1);
  });
});

describe("schedule crud models", () => {
  test("milestones: managers create/update/delete; members read, vendors not; list admin only", async () => {
    const created = await server.json("POST", "/api/data/milestones", { token: p.manager.token, body: { project_id: p.project.id, name: "Delivery", date: "2030-05-01" } });
    expect(created.status).toBe(201);
    expect((await server.json("POST", "/api/data/milestones", { token: p.artist.token, body: { project_id: p.project.id, name: "x" } })).status).toBe(403);
    expect((await server.json("POST", "/api/data/milestones", { token: p.manager.token, body: { name: "x" } })).status).toBe(400);
    expect((await server.json("GET", `/api/data/milestones/${created.body.id}`, { token: p.artist.token })).status).toBe(200);
    expect((await server.json("GET", `/api/data/milestones/${created.body.id}`, { token: p.vendor.token })).status).toBe(403);
    expect((await server.json("GET", "/api/data/milestones", { token: p.manager.token })).status).toBe(403);
    expect((await server.json("PUT", `/api/data/milestones/${created.body.id}`, { token: p.manager.token, body: { name: "Final" } })).body.name).toBe("Final");
    expect((await server.json("PUT", `/api/data/milestones/${created.body.id}`, { token: p.supervisor.token, body: { name: "x" } })).status).toBe(403);
    expect((await server.request("DELETE", `/api/data/milestones/${created.body.id}`, { token: p.manager.token })).status).toBe(204);
  });

  test("schedule items: admin creates (duplicates 400), supervisors of the department update, man_days strings ignored", async () => {
    const layout = await idOf(server, "task_type", "Layout");
    const body = { project_id: p.project.id, task_type_id: layout, start_date: "2030-01-01", end_date: "2030-02-01" };
    events.clear();
    const created = await server.json("POST", "/api/data/schedule-items", { body });
    expect(created.status).toBe(201);
    expect(events.data("schedule-item:new")).toEqual([{ schedule_item_id: created.body.id, project_id: p.project.id }]);
    const duplicate = await server.json("POST", "/api/data/schedule-items", { body });
    expect(duplicate.status).toBe(400);
    expect(duplicate.body.message).toBe("A similar schedule item already exists");
    expect((await server.json("POST", "/api/data/schedule-items", { token: p.manager.token, body: { ...body, task_type_id: null } })).status).toBe(403);
    const update = await server.json("PUT", `/api/data/schedule-items/${created.body.id}`, { token: p.manager.token, body: { man_days: "ten", end_date: "2030-03-01" } });
    expect(update.status).toBe(200);
    expect(update.body.man_days).toBeNull();
    expect(update.body.end_date).toBe("2030-03-01");
    const layoutDepartment = await idOf(server, "department", "Layout");
    const supervisor = await server.person("supervisor");
    await server.addToTeam(p.project.id, supervisor);
    await server.db.insertInto("department_link").values({ person_id: supervisor.id, department_id: await idOf(server, "department", "FX") }).execute();
    expect((await server.json("PUT", `/api/data/schedule-items/${created.body.id}`, { token: supervisor.token, body: { man_days: 3 } })).status).toBe(403);
    await server.db.insertInto("department_link").values({ person_id: supervisor.id, department_id: layoutDepartment }).execute();
    expect((await server.json("PUT", `/api/data/schedule-items/${created.body.id}`, { token: supervisor.token, body: { man_days: 3 } })).body.man_days).toBe(3);
    expect((await server.json("PUT", `/api/data/schedule-items/${created.body.id}`, { token: p.artist.token, body: { man_days: 3 } })).status).toBe(403);
  });

  test("production schedule versions: members list with ?project_id (not clients/vendors), managers write, admin deletes", async () => {
    const created = await server.json("POST", "/api/data/production-schedule-versions", { token: p.manager.token, body: { project_id: p.project.id, name: "Plan A" } });
    expect(created.status).toBe(201);
    expect((await server.json("POST", "/api/data/production-schedule-versions", { token: p.artist.token, body: { project_id: p.project.id, name: "x" } })).status).toBe(403);
    const list = await server.json("GET", `/api/data/production-schedule-versions?project_id=${p.project.id}`, { token: p.artist.token });
    expect(list.status).toBe(200);
    expect(list.body.map((v: any) => v.id)).toEqual([created.body.id]);
    expect((await server.json("GET", `/api/data/production-schedule-versions?project_id=${p.project.id}`, { token: p.client.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/production-schedule-versions?project_id=${p.project.id}`, { token: p.outsider.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/production-schedule-versions?project_id=${UNKNOWN_ID}`, { token: p.artist.token })).status).toBe(403);
    expect((await server.json("GET", "/api/data/production-schedule-versions", { token: p.manager.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/production-schedule-versions/${created.body.id}`, { token: p.vendor.token })).status).toBe(403);
    expect((await server.json("PUT", `/api/data/production-schedule-versions/${created.body.id}`, { token: p.manager.token, body: { locked: true } })).body.locked).toBe(true);
    expect((await server.json("PUT", `/api/data/production-schedule-versions/${created.body.id}`, { token: p.artist.token, body: { locked: false } })).status).toBe(403);
    await server.db.updateTable("project").set({ from_schedule_version_id: created.body.id }).where("id", "=", p.project.id).execute();
    expect((await server.request("DELETE", `/api/data/production-schedule-versions/${created.body.id}`, { token: p.manager.token })).status).toBe(403);
    expect((await server.request("DELETE", `/api/data/production-schedule-versions/${created.body.id}`)).status).toBe(204);
    const project = await server.db.selectFrom("project").select("from_schedule_version_id").where("id", "=", p.project.id).executeTakeFirstOrThrow();
    expect(project.from_schedule_version_id).toBeNull();
  });

  test("schedule version task links: task and version of one project, manager writes, readers by project", async () => {
    const version = await insertRow(server, "production_schedule_version", { project_id: p.project.id, name: "Links" });
    const hero = await asset(server, p.project.id, "Link hero");
    const heroTask = await task(server, p.project.id, hero, "Modeling", "Asset");
    const other = await server.project("Links other");
    const otherTask = await task(server, other.id, await asset(server, other.id, "Other hero"), "Modeling", "Asset");
    const created = await server.json("POST", "/api/data/production-schedule-version-task-links", {
      token: p.manager.token, body: { production_schedule_version_id: version, task_id: heroTask, estimation: 2, assignees: [p.artist.id] },
    });
    expect(created.status).toBe(201);
    expect(created.body.assignees).toEqual([p.artist.id]);
    expect((await server.json("POST", "/api/data/production-schedule-version-task-links", { body: { production_schedule_version_id: version, task_id: otherTask } })).status).toBe(400);
    expect((await server.json("POST", "/api/data/production-schedule-version-task-links", { token: p.artist.token, body: { production_schedule_version_id: version, task_id: heroTask } })).status).toBe(403);
    const list = await server.json("GET", `/api/data/production-schedule-version-task-links?project_id=${p.project.id}`, { token: p.artist.token });
    expect(list.body.map((l: any) => l.id)).toEqual([created.body.id]);
    expect((await server.json("GET", `/api/data/production-schedule-version-task-links?project_id=${other.id}`)).body).toEqual([]);
    expect((await server.json("GET", `/api/data/production-schedule-version-task-links/${created.body.id}`, { token: p.client.token })).status).toBe(403);
    const updated = await server.json("PUT", `/api/data/production-schedule-version-task-links/${created.body.id}`, { token: p.manager.token, body: { estimation: 4, task_id: otherTask } });
    expect(updated.body.estimation).toBe(4);
    expect(updated.body.task_id).toBe(heroTask);
    expect((await server.request("DELETE", `/api/data/production-schedule-version-task-links/${created.body.id}`, { token: p.artist.token })).status).toBe(403);
    expect((await server.request("DELETE", `/api/data/production-schedule-version-task-links/${created.body.id}`, { token: p.manager.token })).status).toBe(204);
  });

  test("budgets and budget entries stay admin only on the crud routes; PUT ignores revision", async () => {
    expect((await server.json("GET", "/api/data/budgets", { token: p.manager.token })).status).toBe(403);
    const created = await server.json("POST", "/api/data/budgets", { body: { project_id: p.project.id, name: "Crud budget", revision: 1 } });
    expect(created.status).toBe(201);
    expect((await server.json("PUT", `/api/data/budgets/${created.body.id}`, { body: { revision: 7, name: "Renamed" } })).body.revision).toBe(1);
    expect((await server.json("GET", `/api/data/budget-entries`, { token: p.manager.token })).status).toBe(403);
  });
});

describe("metadata descriptor crud", () => {
  test("list: non-admins get the descriptors of their open projects, with departments; data_type checked on writes", async () => {
    const modeling = await idOf(server, "department", "Modeling");
    const mine = await server.json("POST", `/api/data/projects/${p.project.id}/metadata-descriptors`, { body: { name: "Crud field", departments: [modeling] } });
    const other = await server.project("Descriptor crud other");
    const theirs = await server.json("POST", `/api/data/projects/${other.id}/metadata-descriptors`, { body: { name: "Other field" } });
    const list = await server.json("GET", "/api/data/metadata-descriptors", { token: p.artist.token });
    expect(list.status).toBe(200);
    const ids = list.body.map((d: any) => d.id);
    expect(ids).toContain(mine.body.id);
    expect(ids).not.toContain(theirs.body.id);
    expect(list.body.find((d: any) => d.id === mine.body.id).departments).toEqual([modeling]);
    expect((await server.json("GET", `/api/data/metadata-descriptors/${mine.body.id}`, { token: p.artist.token })).status).toBe(403);
    const bad = await server.json("POST", "/api/data/metadata-descriptors", { body: { project_id: p.project.id, entity_type: "Asset", name: "Bad", field_name: "bad", data_type: "colour" } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe("Invalid data_type");
    expect((await server.json("PUT", `/api/data/metadata-descriptors/${mine.body.id}`, { body: { data_type: "colour" } })).status).toBe(400);
    expect((await server.json("PUT", `/api/data/metadata-descriptors/${mine.body.id}`, { body: { data_type: "number" } })).body.data_type).toBe("number");
  });
});
