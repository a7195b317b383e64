/**
 * Task routes answering as Zou 1.0.67 does (issue 9): key names and shapes found by zou-diff,
 * filters and visibility read from Zou's services.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type Person, type TestServer } from "./helpers";
import { fixtures, type Fixtures } from "./tasks-fixtures";
import { newId } from "../src/lib/ids";

let server: TestServer;
let fx: Fixtures;
let manager: Person;
let artist: Person;
let vendor: Person;
let client: Person;
let outsider: Person;
let project: any;
let other: any;
let episodeId: string;
let shotE1: string;
let shotE2: string;
let assetId: string;
let conceptId: string;
let animation: { id: string };
let layout: { id: string };
let modeling: { id: string };
let conceptType: { id: string };
let assignedTask: string;
let doneTask: string;
let unassignedTask: string;
let layoutTask: string;
let assetTask: string;
let conceptTask: string;
let otherTask: string;

beforeAll(async () => {
  server = await makeServer();
  fx = fixtures(server);
  manager = await server.person("manager");
  artist = await server.person("user");
  vendor = await server.person("vendor");
  client = await server.person("client");
  outsider = await server.person("user");
  project = await server.project("Zou Tasks", [manager, artist, vendor, client]);
  other = await server.project("Other Zou Tasks", [manager]);
  episodeId = await fx.episode(project.id, "E01");
  const episode2 = await fx.episode(project.id, "E02");
  const sq1 = await fx.sequence(project.id, "SQ01", episodeId);
  const sq2 = await fx.sequence(project.id, "SQ02", episode2);
  shotE1 = await fx.shot(project.id, sq1, "SH010");
  shotE2 = await fx.shot(project.id, sq2, "SH020");
  assetId = await fx.asset(project.id, "Hero");
  conceptId = await fx.concept(project.id, "Idea");
  animation = await fx.taskType("Animation");
  layout = await fx.taskType("Layout");
  modeling = await fx.taskType("Modeling", "Asset");
  conceptType = await fx.taskType("Concept", "Concept");
  const done = await fx.status("done");
  assignedTask = await fx.task(project.id, shotE1, animation.id, { estimation: 5, duration: 2 });
  doneTask = await fx.task(project.id, shotE2, animation.id, { task_status_id: done.id });
  unassignedTask = await fx.task(project.id, shotE2, layout.id);
  layoutTask = await fx.task(project.id, shotE1, layout.id);
  assetTask = await fx.task(project.id, assetId, modeling.id);
  conceptTask = await fx.task(project.id, conceptId, conceptType.id);
  const otherSq = await fx.sequence(other.id, "SQX");
  otherTask = await fx.task(other.id, await fx.shot(other.id, otherSq, "SHX"), animation.id);
  await fx.assign(assignedTask, artist);
  await fx.assign(doneTask, artist);
  await fx.assign(layoutTask, artist);
  await fx.assign(assetTask, artist);
  await fx.assign(otherTask, artist);
  // The asset is cast in episode E01.
  await server.db.insertInto("entity_link").values({ id: newId(), entity_in_id: episodeId, entity_out_id: assetId, nb_occurences: 1, label: "", data: "{}" } as any).execute();
});

describe("open tasks", () => {
  test("rows carry Zou's open-task names; stats.status is a list of {task_status_id, amount}", async () => {
    const { status, body } = await server.json("GET", `/api/data/tasks/open-tasks?project_id=${project.id}`, { token: manager.token });
    expect(status).toBe(200);
    const row = body.data.find((t: any) => t.id === assignedTask);
    expect(row).toMatchObject({ type_name: "Animation", status_name: "Todo", status_short_name: "todo", task_type_for_entity: "Shot", estimation: 5, duration: 2 });
    expect(typeof row.type_color).toBe("string");
    expect(typeof row.status_color).toBe("string");
    for (const key of ["task_type_name", "task_status_name", "task_estimation", "task_duration", "task_start_date", "task_due_date", "last_comment"]) {
      expect(row).not.toHaveProperty(key);
    }
    expect(Array.isArray(body.stats.status)).toBe(true);
    for (const entry of body.stats.status) expect(Object.keys(entry).sort()).toEqual(["amount", "task_status_id"]);
  });

  test("done tasks stay in the pool; concept tasks only in the totals", async () => {
    const { body } = await server.json("GET", `/api/data/tasks/open-tasks?project_id=${project.id}`, { token: manager.token });
    const ids = body.data.map((t: any) => t.id);
    expect(ids).toContain(doneTask);
    expect(ids).not.toContain(conceptTask);
    expect(body.stats.total).toBe(5);
    const amounts = body.stats.status.reduce((sum: number, entry: any) => sum + entry.amount, 0);
    expect(amounts).toBe(6);
    const concepts = await server.json("GET", `/api/data/tasks/open-tasks?task_type_id=${conceptType.id}`, { token: manager.token });
    expect(concepts.body.data.map((t: any) => t.id)).toEqual([conceptTask]);
  });

  test("a vendor member sees the project's tasks, unassigned ones too", async () => {
    const { body } = await server.json("GET", `/api/data/tasks/open-tasks?person_id=unassigned&project_id=${project.id}`, { token: vendor.token });
    expect(body.data.map((t: any) => t.id)).toEqual([unassignedTask]);
  });

  test("page 0 is the first page, a limit below 1 is 1", async () => {
    const { status, body } = await server.json("GET", `/api/data/tasks/open-tasks?project_id=${project.id}&page=0&limit=0`, { token: manager.token });
    expect(status).toBe(200);
    expect(body.page).toBe(1);
    expect(body.limit).toBe(1);
    expect(body.data).toHaveLength(1);
    expect(body.is_more).toBe(true);
  });

  test("an empty page keeps the list shape of the stats; a foreign project_id is a 403", async () => {
    const { body } = await server.json("GET", "/api/data/tasks/open-tasks", { token: outsider.token });
    expect(body).toEqual({ data: [], stats: { total_duration: 0, total_estimation: 0, total: 0, status: [] }, limit: 100, page: 1, is_more: false });
    expect((await server.json("GET", `/api/data/tasks/open-tasks?project_id=${project.id}`, { token: outsider.token })).status).toBe(403);
  });

  test("department_id keeps tasks with an assignee of the department; priority is the task type's", async () => {
    const modelingDepartment = await fx.department("Modeling");
    await fx.joinDepartment(artist, modelingDepartment);
    const { body } = await server.json("GET", `/api/data/tasks/open-tasks?project_id=${project.id}&department_id=${modelingDepartment}`, { token: manager.token });
    expect(body.data.map((t: any) => t.id).sort()).toEqual([assignedTask, doneTask, layoutTask, assetTask].sort());
    await server.db.updateTable("task_type").set({ priority: 7 }).where("id", "=", layout.id).execute();
    const byPriority = await server.json("GET", `/api/data/tasks/open-tasks?project_id=${project.id}&priority=7`, { token: manager.token });
    expect(byPriority.body.data.map((t: any) => t.id).sort()).toEqual([unassignedTask, layoutTask].sort());
  });

  test("stats: flat task type rows per project, no nested maps", async () => {
    const { status, body } = await server.json("GET", "/api/data/tasks/open-tasks/stats", { token: manager.token });
    expect(status).toBe(200);
    const stats = body[project.id];
    expect(Object.keys(stats).sort()).toEqual(["amount", "amount_done", "task_types", "total_duration", "total_estimation"]);
    expect(stats.amount).toBe(5);
    expect(stats.amount_done).toBe(1);
    expect(Array.isArray(stats.task_types)).toBe(true);
    const doneRow = stats.task_types.find((row: any) => row.amount_done === 1);
    expect(Object.keys(doneRow).sort()).toEqual(["amount", "amount_done", "project_id", "task_status_id", "task_type_id", "total_duration", "total_estimation"]);
    expect(doneRow).toMatchObject({ project_id: project.id, task_type_id: animation.id, amount: 1 });
    expect(stats.task_types.some((row: any) => row.task_type_id === conceptType.id)).toBe(false);
  });
});

describe("full task", () => {
  test("is_subscribed follows the caller's subscription; the assigner carries its departments", async () => {
    const department = await fx.department("Animation");
    await fx.joinDepartment(manager, department);
    await server.db.updateTable("task").set({ assigner_id: manager.id }).where("id", "=", assignedTask).execute();
    const before = await server.json("GET", `/api/data/tasks/${assignedTask}/full`, { token: artist.token });
    expect(before.status).toBe(200);
    expect(before.body.is_subscribed).toBe(false);
    expect(before.body.assigner.id).toBe(manager.id);
    expect(before.body.assigner.departments).toEqual([department]);
    expect(before.body.episode.name).toBe("E01");
    expect((await server.json("POST", `/api/actions/user/tasks/${assignedTask}/subscribe`, { token: artist.token })).status).toBeLessThan(300);
    const after = await server.json("GET", `/api/data/tasks/${assignedTask}/full`, { token: artist.token });
    expect(after.body.is_subscribed).toBe(true);
  });
});

describe("to-do lists", () => {
  test("person tasks give episode_ids / episode_names of the episodes an asset is cast in", async () => {
    for (const path of [`/api/data/persons/${artist.id}/tasks`, "/api/data/user/tasks"]) {
      const { body } = await server.json("GET", path, { token: artist.token });
      const asset = body.find((t: any) => t.id === assetTask);
      expect(asset.episode_ids).toEqual([episodeId]);
      expect(asset.episode_names).toEqual(["E01"]);
      expect(body.find((t: any) => t.id === assignedTask)).not.toHaveProperty("episode_ids");
    }
  });

  test("an admin outside the team checks the tasks of every open project", async () => {
    const wfa = await fx.status("wfa");
    await server.db.updateTable("task").set({ task_status_id: wfa.id }).where("id", "=", layoutTask).execute();
    const { body } = await server.json("GET", "/api/data/user/tasks-to-check");
    expect(body.map((t: any) => t.id)).toEqual([layoutTask]);
    expect(body[0]).not.toHaveProperty("episode_ids");
    await server.db.updateTable("task").set({ task_status_id: (await fx.status("todo")).id }).where("id", "=", layoutTask).execute();
  });

  test("a manager checks the tasks of every department; a supervisor those of their departments", async () => {
    const wfa = await fx.status("wfa");
    const animationDepartment = await fx.department("Animation");
    const supervisor = await server.person("supervisor");
    await server.addToTeam(project.id, supervisor);
    await fx.joinDepartment(supervisor, animationDepartment);
    const joined = await server.db.selectFrom("department_link").select("department_id").where("person_id", "=", manager.id).execute();
    if (!joined.some((row) => row.department_id === animationDepartment)) await fx.joinDepartment(manager, animationDepartment);
    await server.db.updateTable("task_type").set({ department_id: await fx.department("Modeling") }).where("id", "=", layout.id).execute();
    await server.db.updateTable("task").set({ task_status_id: wfa.id }).where("id", "=", layoutTask).execute();
    const managerView = await server.json("GET", "/api/data/user/tasks-to-check", { token: manager.token });
    expect(managerView.body.map((t: any) => t.id)).toEqual([layoutTask]);
    const supervisorView = await server.json("GET", "/api/data/user/tasks-to-check", { token: supervisor.token });
    expect(supervisorView.body).toEqual([]);
    await server.db.updateTable("task").set({ task_status_id: (await fx.status("todo")).id }).where("id", "=", layoutTask).execute();
  });

  test("related tasks look at every open project and answer clients too", async () => {
    const { status, body } = await server.json("GET", `/api/data/persons/${artist.id}/related-tasks/${animation.id}`, { token: client.token });
    expect(status).toBe(200);
    expect(body.map((t: any) => t.id).sort()).toEqual([assignedTask, doneTask, otherTask].sort());
  });
});

describe("project tasks", () => {
  test("task_type_id and episode_id filter the dump", async () => {
    const byType = await server.json("GET", `/api/data/projects/${project.id}/tasks?task_type_id=${layout.id}`, { token: manager.token });
    expect(byType.body.map((t: any) => t.id).sort()).toEqual([unassignedTask, layoutTask].sort());
    const byEpisode = await server.json("GET", `/api/data/projects/${project.id}/tasks?episode_id=${episodeId}`, { token: manager.token });
    expect(byEpisode.body.map((t: any) => t.id).sort()).toEqual([assignedTask, layoutTask].sort());
    const both = await server.json("GET", `/api/data/projects/${project.id}/tasks?episode_id=${episodeId}&task_type_id=${layout.id}&page=1`, { token: manager.token });
    expect(both.body.data.map((t: any) => t.id)).toEqual([layoutTask]);
    expect(both.body.total).toBe(1);
    expect((await server.json("GET", `/api/data/projects/${project.id}/tasks?episode_id=nope`, { token: manager.token })).status).toBe(400);
  });
});

describe("task writes", () => {
  test("POST /data/tasks leaves the assigner empty", async () => {
    const asset2 = await fx.asset(project.id, "Villain");
    const { status, body } = await server.json("POST", "/api/data/tasks", {
      body: { project_id: project.id, task_type_id: modeling.id, entity_id: asset2, name: "main" },
    });
    expect(status).toBe(201);
    expect(body.assigner_id).toBeNull();
  });

  test("POST /data/entities/{id}/tasks with {task_type_id} creates the entity's missing task types", async () => {
    for (const taskType of [animation, layout]) {
      await server.db.insertInto("project_task_type_link").values({ id: newId(), project_id: project.id, task_type_id: taskType.id, priority: 1 } as any).execute();
    }
    const shot = await fx.shot(project.id, await fx.sequence(project.id, "SQ09", episodeId), "SH090");
    await fx.task(project.id, shot, animation.id);
    const { status, body } = await server.json("POST", `/api/data/entities/${shot}/tasks`, { token: manager.token, body: { task_type_id: layout.id } });
    expect(status).toBe(201);
    expect(body.map((t: any) => t.task_type_id)).toEqual([layout.id]);
    expect(body[0]).toMatchObject({ name: "main", entity_id: shot, task_type_name: "Layout", task_status_short_name: "todo", assignees: [] });
  });

  test("to-review moves the status without an end date; the person carries its departments", async () => {
    const { status, body } = await server.json("PUT", `/api/actions/tasks/${unassignedTask}/to-review`, { body: { person_id: artist.id, comment: "look" } });
    expect(status).toBe(200);
    expect(body.end_date).toBeNull();
    expect(body.person.departments).toEqual([await fx.department("Modeling")]);
    expect(body.comment).toBe("look");
  });
});
