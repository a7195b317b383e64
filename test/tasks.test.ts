import { sql } from "kysely";
import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type Person, type TestServer } from "./helpers";
import { fixtures, type Fixtures } from "./tasks-fixtures";

let server: TestServer;
let fx: Fixtures;
let manager: Person;
let artist: Person;
let supervisor: Person;
let outsider: Person;
let vendor: Person;
let client: Person;
let project: any;
let sequenceId: string;
let shotIds: string[];
let animation: { id: string; department_id: string | null };
let layout: { id: string; department_id: string | null };
let modeling: { id: string; department_id: string | null };

const UNKNOWN = "7a3c5b0e-1f2d-4c3b-9a8e-123456789abc";

beforeAll(async () => {
  server = await makeServer();
  fx = fixtures(server);
  manager = await server.person("manager");
  artist = await server.person("user");
  supervisor = await server.person("supervisor");
  outsider = await server.person("user");
  vendor = await server.person("vendor");
  client = await server.person("client");
  project = await server.project("Tasks Project", [manager, artist, supervisor, vendor, client]);
  sequenceId = await fx.sequence(project.id, "SQ01");
  shotIds = [];
  for (const name of ["SH01", "SH02", "SH03"]) shotIds.push(await fx.shot(project.id, sequenceId, name));
  animation = await fx.taskType("Animation");
  layout = await fx.taskType("Layout");
  modeling = await fx.taskType("Modeling", "Asset");
});

const createShotTasks = (taskTypeId: string, body?: unknown, token = manager.token) =>
  server.json("POST", `/api/actions/projects/${project.id}/task-types/${taskTypeId}/shots/create-tasks`, { token, body: body ?? {} });

describe("create tasks", () => {
  test("a manager creates a task of a type for every shot, once", async () => {
    const { status, body } = await createShotTasks(animation.id);
    expect(status).toBe(201);
    expect(body).toHaveLength(3);
    expect(body[0].type).toBe("Task");
    expect(body[0].name).toBe("main");
    expect(body[0].task_type_id).toBe(animation.id);
    expect(body[0].task_type_name).toBe("Animation");
    expect(body[0].task_status_short_name).toBe("todo");
    expect(body[0].assignees).toEqual([]);
    expect(body[0].assigner_id).toBe(manager.id);
    expect(body.map((t: any) => t.entity_id).sort()).toEqual([...shotIds].sort());
    const again = await createShotTasks(animation.id);
    expect(again.status).toBe(201);
    expect(again.body).toEqual([]);
    const events = await server.db.selectFrom("api_event").select("name").where("name", "=", "task:new").execute();
    expect(events.length).toBe(3);
  });

  test("listed shots only; shots of another project are skipped", async () => {
    const other = await server.project("Other Project", [manager]);
    const otherSeq = await fx.sequence(other.id, "SQX");
    const otherShot = await fx.shot(other.id, otherSeq, "SHX");
    const { status, body } = await createShotTasks(layout.id, [shotIds[0], otherShot]);
    expect(status).toBe(201);
    expect(body.map((t: any) => t.entity_id)).toEqual([shotIds[0]]);
  });

  test("artists, outsiders get 403; unknown task type or project 404", async () => {
    expect((await createShotTasks(layout.id, {}, artist.token)).status).toBe(403);
    expect((await createShotTasks(layout.id, {}, outsider.token)).status).toBe(403);
    expect((await createShotTasks(UNKNOWN)).status).toBe(404);
    const missingProject = await server.json("POST", `/api/actions/projects/${UNKNOWN}/task-types/${layout.id}/shots/create-tasks`, { token: manager.token, body: {} });
    expect(missingProject.status).toBe(404);
    const notAShot = await createShotTasks(layout.id, [sequenceId]);
    expect(notAShot.status).toBe(404);
    const badEpisode = await server.json("POST", `/api/actions/projects/${project.id}/task-types/${layout.id}/shots/create-tasks?episode_id=bad`, { token: manager.token, body: {} });
    expect(badEpisode.status).toBe(400);
  });

  test("assets, edits, concepts and create-tasks/{entity_type}", async () => {
    const assetId = await fx.asset(project.id, "Hero");
    const assets = await server.json("POST", `/api/actions/projects/${project.id}/task-types/${modeling.id}/assets/create-tasks`, { token: manager.token, body: {} });
    expect(assets.status).toBe(201);
    expect(assets.body.map((t: any) => t.entity_id)).toEqual([assetId]);

    const editId = await fx.edit(project.id, "Edit01");
    const editType = await fx.taskType("Edit", "Edit");
    const edits = await server.json("POST", `/api/actions/projects/${project.id}/task-types/${editType.id}/edits/create-tasks`, { token: manager.token, body: {} });
    expect(edits.body.map((t: any) => t.entity_id)).toEqual([editId]);

    const conceptId = await fx.concept(project.id, "Concept01");
    const conceptType = await fx.taskType("Concept", "Concept");
    const concepts = await server.json("POST", `/api/actions/projects/${project.id}/task-types/${conceptType.id}/concepts/create-tasks`, { token: artist.token, body: {} });
    expect(concepts.status).toBe(201);
    expect(concepts.body[0].entity_id).toBe(conceptId);
    expect(concepts.body[0].task_status_short_name).toBe("neutral");
    const vendorConcepts = await server.json("POST", `/api/actions/projects/${project.id}/task-types/${conceptType.id}/concepts/create-tasks`, { token: vendor.token, body: {} });
    expect(vendorConcepts.status).toBe(403);

    const storyboard = await fx.taskType("Storyboard");
    const bySeq = await server.json("POST", `/api/actions/projects/${project.id}/task-types/${storyboard.id}/create-tasks/sequence`, { token: manager.token, body: {} });
    expect(bySeq.status).toBe(201);
    expect(bySeq.body.map((t: any) => t.entity_id)).toEqual([sequenceId]);
    const unknownType = await server.json("POST", `/api/actions/projects/${project.id}/task-types/${storyboard.id}/create-tasks/nothing`, { token: manager.token, body: {} });
    expect(unknownType.status).toBe(404);
  });
});

describe("crud tasks", () => {
  test("POST /data/tasks needs manager access and a matching task type", async () => {
    const shotId = await fx.shot(project.id, sequenceId, "SH10");
    const body = { project_id: project.id, entity_id: shotId, task_type_id: animation.id };
    expect((await server.json("POST", "/api/data/tasks", { token: artist.token, body })).status).toBe(403);
    const created = await server.json("POST", "/api/data/tasks", { token: manager.token, body });
    expect(created.status).toBe(201);
    expect(created.body.name).toBe("main");
    expect(created.body.assignees).toEqual([]);
    const duplicate = await server.json("POST", "/api/data/tasks", { token: manager.token, body });
    expect(duplicate.status).toBe(400);
    expect(duplicate.body.message).toBe("Task already exists.");
    const mismatch = await server.json("POST", "/api/data/tasks", { token: manager.token, body: { ...body, task_type_id: modeling.id } });
    expect(mismatch.status).toBe(400);
  });
});

describe("assignment", () => {
  let taskId: string;
  beforeAll(async () => {
    const shotId = await fx.shot(project.id, sequenceId, "SH20");
    taskId = await fx.task(project.id, shotId, animation.id);
  });

  test("a manager assigns a person, who joins the team and is notified", async () => {
    const newcomer = await server.person("user");
    const { status, body } = await server.json("PUT", `/api/actions/tasks/${taskId}/assign`, { token: manager.token, body: { person_id: newcomer.id } });
    expect(status).toBe(200);
    expect(body.assignees).toEqual([newcomer.id]);
    const link = await server.db.selectFrom("project_person_link").selectAll().where("project_id", "=", project.id).where("person_id", "=", newcomer.id).executeTakeFirst();
    expect(link).toBeDefined();
    const notifications = await fx.notifications(newcomer);
    expect(notifications.map((n) => n.type)).toEqual(["assignation"]);
    expect(notifications[0]!.author_id).toBe(manager.id);
    const names = (await server.db.selectFrom("api_event").select("name").where(sql`cast(data as text)`, "like", `%${taskId}%`).execute()).map((e) => e.name);
    expect(names).toContain("task:assign");
    expect(names).toContain("task:update");
  });

  test("assign: 400 without person, 400 unknown person, 404 unknown task, 403 for an artist assigning others", async () => {
    expect((await server.json("PUT", `/api/actions/tasks/${taskId}/assign`, { token: manager.token, body: {} })).status).toBe(400);
    expect((await server.json("PUT", `/api/actions/tasks/${taskId}/assign`, { token: manager.token, body: { person_id: UNKNOWN } })).status).toBe(400);
    expect((await server.json("PUT", `/api/actions/tasks/${UNKNOWN}/assign`, { token: manager.token, body: { person_id: artist.id } })).status).toBe(404);
    expect((await server.json("PUT", `/api/actions/tasks/${taskId}/assign`, { token: artist.token, body: { person_id: outsider.id } })).status).toBe(403);
    const bot = await server.person("user", { is_bot: true });
    expect((await server.json("PUT", `/api/actions/tasks/${taskId}/assign`, { token: manager.token, body: { person_id: bot.id } })).status).toBe(403);
  });

  test("an artist self-assigns only tasks of their department (vector 48)", async () => {
    const shotId = await fx.shot(project.id, sequenceId, "SH21");
    const other = await fx.task(project.id, shotId, animation.id);
    const refused = await server.json("PUT", `/api/actions/persons/${artist.id}/assign`, { token: artist.token, body: { task_ids: [other] } });
    expect(refused.status).toBe(200);
    expect(refused.body).toEqual([]);
    const department = animation.department_id!;
    const dancer = await server.person("user");
    await server.addToTeam(project.id, dancer);
    await fx.joinDepartment(dancer, department);
    const accepted = await server.json("PUT", `/api/actions/persons/${dancer.id}/assign`, { token: dancer.token, body: { task_ids: [other, UNKNOWN] } });
    expect(accepted.status).toBe(200);
    expect(accepted.body.map((t: any) => t.id)).toEqual([other]);
    expect(await fx.notifications(dancer)).toEqual([]);
  });

  test("persons/{id}/assign: 400 without task_ids, 404 unknown person", async () => {
    expect((await server.json("PUT", `/api/actions/persons/${artist.id}/assign`, { token: manager.token, body: {} })).status).toBe(400);
    expect((await server.json("PUT", `/api/actions/persons/${UNKNOWN}/assign`, { token: manager.token, body: { task_ids: [taskId] } })).status).toBe(404);
  });

  test("clear-assignation removes one or all assignees, skipping forbidden tasks", async () => {
    await fx.assign(taskId, artist);
    const refused = await server.json("PUT", "/api/actions/tasks/clear-assignation", { token: outsider.token, body: { task_ids: [taskId] } });
    expect(refused.body).toEqual([]);
    const self = await server.json("PUT", "/api/actions/tasks/clear-assignation", { token: artist.token, body: { task_ids: [taskId], person_id: artist.id } });
    expect(self.body).toEqual([taskId]);
    const all = await server.json("PUT", "/api/actions/tasks/clear-assignation", { token: manager.token, body: { task_ids: [taskId] } });
    expect(all.status).toBe(200);
    expect(all.body).toEqual([taskId]);
    const links = await server.db.selectFrom("task_person_link").selectAll().where("task_id", "=", taskId).execute();
    expect(links).toEqual([]);
    expect((await server.json("PUT", "/api/actions/tasks/clear-assignation", { token: manager.token, body: {} })).status).toBe(400);
  });

  test("set-priority: managers yes, artists skipped (vector 49), 400 on a bad priority", async () => {
    const skipped = await server.json("PUT", "/api/actions/tasks/set-priority", { token: artist.token, body: { task_ids: [taskId], priority: 3 } });
    expect(skipped.status).toBe(200);
    expect(skipped.body).toEqual([]);
    expect((await fx.getTask(taskId)).priority).toBe(0);
    const done = await server.json("PUT", "/api/actions/tasks/set-priority", { token: manager.token, body: { task_ids: [taskId], priority: 3 } });
    expect(done.body.map((t: any) => t.priority)).toEqual([3]);
    expect((await server.json("PUT", "/api/actions/tasks/set-priority", { token: manager.token, body: { task_ids: [taskId], priority: "x" } })).status).toBe(400);
  });
});

describe("task listings", () => {
  let taskId: string;
  beforeAll(async () => {
    const shotId = await fx.shot(project.id, sequenceId, "SH30");
    taskId = await fx.task(project.id, shotId, layout.id, { estimation: 10, duration: 4, start_date: "2024-03-01T00:00:00", due_date: "2024-03-10T00:00:00" });
    await fx.assign(taskId, artist);
  });

  test("full task with assignees, type, status, entity, sequence and project", async () => {
    const { status, body } = await server.json("GET", `/api/data/tasks/${taskId}/full`, { token: artist.token });
    expect(status).toBe(200);
    expect(body.type).toBe("Task");
    expect(body.assignees).toEqual([artist.id]);
    expect(body.persons.map((p: any) => p.id)).toEqual([artist.id]);
    expect(body.persons[0].password).toBeUndefined();
    expect(body.task_type.name).toBe("Layout");
    expect(body.task_status.short_name).toBe("todo");
    expect(body.entity.type).toBe("Shot");
    expect(body.sequence.name).toBe("SQ01");
    expect(body.project.id).toBe(project.id);
    expect((await server.json("GET", `/api/data/tasks/${taskId}/full`, { token: outsider.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/tasks/${taskId}/full`, { token: vendor.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/tasks/${UNKNOWN}/full`)).status).toBe(404);
  });

  test("open tasks: paging, filters, stats, Kitsu's shape", async () => {
    const { status, body } = await server.json("GET", `/api/data/tasks/open-tasks?limit=2&page=1&project_id=${project.id}`, { token: manager.token });
    expect(status).toBe(200);
    expect(body.data).toHaveLength(2);
    expect(body.is_more).toBe(true);
    expect(body.limit).toBe(2);
    expect(body.page).toBe(1);
    expect(body.stats.total).toBeGreaterThan(2);
    const mine = await server.json("GET", `/api/data/tasks/open-tasks?person_id=${artist.id}&task_type_id=${layout.id}`, { token: manager.token });
    expect(mine.body.data.map((t: any) => t.id)).toEqual([taskId]);
    const row = mine.body.data[0];
    expect(row.entity_name).toBe("SH30");
    expect(row.sequence_name).toBe("SQ01");
    expect(row.entity_type_name).toBe("Shot");
    expect(row.type_name).toBe("Layout");
    expect(row.status_short_name).toBe("todo");
    expect(row.project_name).toBe("Tasks Project");
    expect(mine.body.stats).toEqual({ total: 1, total_duration: 4, total_estimation: 10, status: [{ task_status_id: row.task_status_id, amount: 1 }] });
    const unassigned = await server.json("GET", `/api/data/tasks/open-tasks?person_id=unassigned&project_id=${project.id}`, { token: manager.token });
    expect(unassigned.body.data.every((t: any) => t.assignees.length === 0)).toBe(true);
    const outsiderView = await server.json("GET", "/api/data/tasks/open-tasks", { token: outsider.token });
    expect(outsiderView.body.data).toEqual([]);
    const vendorView = await server.json("GET", "/api/data/tasks/open-tasks", { token: vendor.token });
    // As in Zou, a vendor member sees the open tasks of the project, not only their own.
    expect(vendorView.body.data.length).toBeGreaterThan(0);
    expect((await server.json("GET", "/api/data/tasks/open-tasks?project_id=nope")).status).toBe(400);
    expect((await server.json("GET", "/api/data/tasks/open-tasks?start_date=2024-99-99")).status).toBe(400);
    expect((await server.json("GET", "/api/data/tasks/open-tasks?page=x")).status).toBe(400);
  });

  test("open tasks stats per project and task type", async () => {
    const { status, body } = await server.json("GET", "/api/data/tasks/open-tasks/stats", { token: manager.token });
    expect(status).toBe(200);
    const stats = body[project.id];
    expect(stats.amount).toBeGreaterThan(3);
    expect(stats.task_types.find((row: any) => row.task_type_id === layout.id).amount).toBeGreaterThan(0);
    expect((await server.json("GET", "/api/data/tasks/open-tasks/stats", { token: outsider.token })).body).toEqual({});
  });

  test("person tasks, done tasks and related tasks", async () => {
    const todo = await server.json("GET", `/api/data/persons/${artist.id}/tasks`, { token: artist.token });
    expect(todo.status).toBe(200);
    expect(todo.body.map((t: any) => t.id)).toContain(taskId);
    const entry = todo.body.find((t: any) => t.id === taskId);
    expect(entry.last_comment).toEqual({});
    expect(entry.task_estimation).toBe(10);
    expect((await server.json("GET", `/api/data/persons/${artist.id}/done-tasks`, { token: manager.token })).body).toEqual([]);
    expect((await server.json("GET", `/api/data/persons/${artist.id}/tasks`, { token: vendor.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/persons/${UNKNOWN}/tasks`)).status).toBe(404);
    const related = await server.json("GET", `/api/data/persons/${artist.id}/related-tasks/${layout.id}`, { token: artist.token });
    expect(related.body.map((t: any) => t.id)).toContain(taskId);
  });

  test("tasks of an entity for a task type", async () => {
    const task = await fx.getTask(taskId);
    const { status, body } = await server.json("GET", `/api/data/entities/${task.entity_id}/task-types/${layout.id}/tasks`, { token: artist.token });
    expect(status).toBe(200);
    expect(body.map((t: any) => t.id)).toEqual([taskId]);
    expect((await server.json("GET", `/api/data/entities/${task.entity_id}/task-types/${layout.id}/tasks`, { token: outsider.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/entities/${UNKNOWN}/task-types/${layout.id}/tasks`)).status).toBe(404);
  });

  test("task dates: admin, managers of the project; artists 403", async () => {
    const admin = await server.json("GET", "/api/data/persons/task-dates");
    expect(admin.status).toBe(200);
    const entry = admin.body.find((e: any) => e.person_id === artist.id);
    expect(entry.min_date).toBe("2024-03-01 00:00:00");
    expect(entry.max_date).toBe("2024-03-10 00:00:00");
    expect(entry.busy_periods).toEqual([]);
    const asManager = await server.json("GET", `/api/data/persons/task-dates?project_id=${project.id}`, { token: manager.token });
    expect(asManager.body.map((e: any) => e.person_id)).toContain(artist.id);
    expect((await server.json("GET", "/api/data/persons/task-dates", { token: artist.token })).status).toBe(403);
    expect((await server.json("GET", "/api/data/persons/task-dates?project_id=bad")).status).toBe(400);
  });

  test("project dumps: tasks (member, paged), comments, admin-only notifications/previews/subscriptions", async () => {
    const all = await server.json("GET", `/api/data/projects/${project.id}/tasks`, { token: artist.token });
    expect(all.status).toBe(200);
    expect(Array.isArray(all.body)).toBe(true);
    const paged = await server.json("GET", `/api/data/projects/${project.id}/tasks?page=1&limit=2`, { token: artist.token });
    expect(paged.body.data).toHaveLength(2);
    expect(paged.body.total).toBe(all.body.length);
    expect(paged.body.nb_pages).toBe(Math.ceil(all.body.length / 2));
    expect((await server.json("GET", `/api/data/projects/${project.id}/tasks`, { token: outsider.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/projects/${project.id}/tasks?page=x`)).status).toBe(400);
    expect((await server.json("GET", `/api/data/projects/${project.id}/comments`, { token: client.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/projects/${project.id}/comments`, { token: artist.token })).status).toBe(200);
    for (const dump of ["notifications", "preview-files", "subscriptions"]) {
      expect((await server.json("GET", `/api/data/projects/${project.id}/${dump}`, { token: manager.token })).status).toBe(403);
      expect((await server.json("GET", `/api/data/projects/${project.id}/${dump}`)).status).toBe(200);
      expect((await server.json("GET", `/api/data/projects/${UNKNOWN}/${dump}`)).status).toBe(404);
    }
  });
});

describe("paged project dumps", () => {
  test("comments, notifications and preview files of a project: newest first, by pages, past the end empty", async () => {
    const dumpProject = await server.project("Dump Project", [manager, artist]);
    const sequence = await fx.sequence(dumpProject.id, "SQ90");
    const shot = await fx.shot(dumpProject.id, sequence, "SH90");
    const taskId = await fx.task(dumpProject.id, shot, animation.id);
    await fx.assign(taskId, artist);
    const wip = await fx.status("wip");
    const commentIds: string[] = [];
    for (const text of ["one", "two", "three"]) {
      const posted = await server.json("POST", `/api/actions/tasks/${taskId}/comment`, { token: manager.token, body: { task_status_id: wip.id, comment: text } });
      expect(posted.status).toBe(201);
      commentIds.push(posted.body.id);
    }
    const preview = await server.json("POST", `/api/actions/tasks/${taskId}/comments/${commentIds[0]}/add-preview`, { token: manager.token, body: {} });
    expect(preview.status).toBe(201);

    const base = `/api/data/projects/${dumpProject.id}`;
    const all = await server.json("GET", `${base}/comments`);
    expect(all.body.map((row: any) => row.id).sort()).toEqual([...commentIds].sort());
    const stamps = all.body.map((row: any) => row.updated_at);
    expect([...stamps].sort().reverse()).toEqual(stamps);
    const first = await server.json("GET", `${base}/comments?page=1&limit=2`);
    expect(first.body).toMatchObject({ total: 3, nb_pages: 2, limit: 2, offset: 0, page: 1 });
    const second = await server.json("GET", `${base}/comments?page=2&limit=2`);
    expect(second.body.data).toHaveLength(1);
    expect([...first.body.data, ...second.body.data].map((row: any) => row.id)).toEqual(all.body.map((row: any) => row.id));
    expect((await server.json("GET", `${base}/comments?page=3&limit=2`)).body).toEqual({ data: [], total: 0, nb_pages: 2, limit: 2, offset: 4, page: 3 });

    const stored = await server.db.selectFrom("notification").select("id").where("task_id", "=", taskId).execute();
    expect(stored.length).toBeGreaterThan(0);
    const notifications = await server.json("GET", `${base}/notifications?page=1&limit=100`);
    expect(notifications.body.total).toBe(stored.length);
    expect(notifications.body.data.map((row: any) => row.id).sort()).toEqual(stored.map((row) => row.id).sort());

    const previews = await server.json("GET", `${base}/preview-files`);
    expect(previews.body.map((row: any) => row.id)).toEqual([preview.body.id]);
    expect((await server.json("GET", `${base}/preview-files?page=1`)).body).toMatchObject({ total: 1, nb_pages: 1, limit: 100, page: 1 });
  });
});

describe("deletion", () => {
  test("delete-tasks removes listed tasks of the project with their comments", async () => {
    const shotId = await fx.shot(project.id, sequenceId, "SH40");
    const taskId = await fx.task(project.id, shotId, animation.id);
    const wip = await fx.status("wip");
    expect((await server.json("POST", `/api/actions/tasks/${taskId}/comment`, { token: manager.token, body: { task_status_id: wip.id, comment: "go" } })).status).toBe(201);
    expect((await server.json("POST", `/api/actions/projects/${project.id}/delete-tasks`, { token: artist.token, body: [taskId] })).status).toBe(403);
    expect((await server.json("POST", `/api/actions/projects/${project.id}/delete-tasks`, { token: manager.token, body: { nope: 1 } })).status).toBe(400);
    const { status, body } = await server.json("POST", `/api/actions/projects/${project.id}/delete-tasks`, { token: manager.token, body: [taskId, UNKNOWN] });
    expect(status).toBe(200);
    expect(body).toEqual([taskId]);
    expect((await server.json("GET", `/api/data/tasks/${taskId}`)).status).toBe(404);
    const comments = await server.db.selectFrom("comment").select("id").where("object_id", "=", taskId).execute();
    expect(comments).toEqual([]);
  });

  test("crud DELETE without force refuses a commented task, with force removes it", async () => {
    const shotId = await fx.shot(project.id, sequenceId, "SH41");
    const taskId = await fx.task(project.id, shotId, animation.id);
    const wip = await fx.status("wip");
    await server.json("POST", `/api/actions/tasks/${taskId}/comment`, { token: manager.token, body: { task_status_id: wip.id, comment: "go" } });
    expect((await server.json("DELETE", `/api/data/tasks/${taskId}`, { token: artist.token })).status).toBe(403);
    expect((await server.json("DELETE", `/api/data/tasks/${taskId}`, { token: manager.token })).status).toBe(400);
    expect((await server.request("DELETE", `/api/data/tasks/${taskId}?force=true`, { token: manager.token })).status).toBe(204);
    const event = await server.db.selectFrom("api_event").select("data").where("name", "=", "task:delete").where(sql`cast(data as text)`, "like", `%${taskId}%`).executeTakeFirst();
    expect(JSON.parse(event!.data as string)).toMatchObject({ task_id: taskId, entity_id: shotId, task_type_id: animation.id, project_id: project.id });
  });

  test("delete every task of a task type: admin only", async () => {
    const shotId = await fx.shot(project.id, sequenceId, "SH42");
    const fx2 = await fx.taskType("FX");
    const taskId = await fx.task(project.id, shotId, fx2.id);
    expect((await server.request("DELETE", `/api/actions/projects/${project.id}/task-types/${fx2.id}/delete-tasks`, { token: manager.token })).status).toBe(403);
    expect((await server.request("DELETE", `/api/actions/projects/${UNKNOWN}/task-types/${fx2.id}/delete-tasks`)).status).toBe(404);
    expect((await server.request("DELETE", `/api/actions/projects/${project.id}/task-types/${fx2.id}/delete-tasks`)).status).toBe(204);
    expect((await server.json("GET", `/api/data/tasks/${taskId}`)).status).toBe(404);
  });
});

describe("previews on comments and main preview", () => {
  let taskId: string;
  let commentId: string;
  beforeAll(async () => {
    const shotId = await fx.shot(project.id, sequenceId, "SH50");
    taskId = await fx.task(project.id, shotId, animation.id);
    await fx.assign(taskId, artist);
    const wfa = await fx.status("wfa");
    const comment = await server.json("POST", `/api/actions/tasks/${taskId}/comment`, { token: artist.token, body: { task_status_id: wfa.id, comment: "v1" } });
    commentId = comment.body.id;
  });

  test("add-preview creates revision 1 then the next position; extra preview at the same revision", async () => {
    const first = await server.json("POST", `/api/actions/tasks/${taskId}/comments/${commentId}/add-preview`, { token: artist.token, body: {} });
    expect(first.status).toBe(201);
    expect(first.body.revision).toBe(1);
    expect(first.body.position).toBe(1);
    expect(first.body.status).toBe("processing");
    expect(first.body.task_id).toBe(taskId);
    const extra = await server.json("POST", `/api/actions/tasks/${taskId}/comments/${commentId}/preview-files/${first.body.id}`, { token: artist.token, body: {} });
    expect(extra.status).toBe(201);
    expect(extra.body.revision).toBe(1);
    expect(extra.body.position).toBe(2);
    const news = await server.db.selectFrom("news").selectAll().where("comment_id", "=", commentId).executeTakeFirst();
    expect(news!.preview_file_id).toBe(extra.body.id);
    const comments = await server.json("GET", `/api/data/tasks/${taskId}/comments`, { token: artist.token });
    expect(comments.body[0].previews.map((p: any) => p.id)).toEqual([first.body.id, extra.body.id]);
    const previews = await server.json("GET", `/api/data/tasks/${taskId}/previews`, { token: artist.token });
    expect(previews.body).toHaveLength(2);
    expect((await server.json("GET", `/api/data/tasks/${taskId}/previews`, { token: outsider.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/tasks/${UNKNOWN}/previews`, { token: artist.token })).status).toBe(404);
    const wrongPreview = await server.json("POST", `/api/actions/tasks/${taskId}/comments/${commentId}/preview-files/${UNKNOWN}`, { token: artist.token, body: {} });
    expect(wrongPreview.status).toBe(404);
  });

  test("add-preview: 403 for a member without action rights, 404 unknown comment, 400 bad revision, 400 taken revision", async () => {
    const bystander = await server.person("user");
    await server.addToTeam(project.id, bystander);
    expect((await server.json("POST", `/api/actions/tasks/${taskId}/comments/${commentId}/add-preview`, { token: bystander.token, body: {} })).status).toBe(403);
    expect((await server.json("POST", `/api/actions/tasks/${taskId}/comments/${UNKNOWN}/add-preview`, { token: artist.token, body: {} })).status).toBe(404);
    expect((await server.json("POST", `/api/actions/tasks/${taskId}/comments/${commentId}/add-preview`, { token: artist.token, body: { revision: "x" } })).status).toBe(400);
    const wfa = await fx.status("wfa");
    const second = await server.json("POST", `/api/actions/tasks/${taskId}/comment`, { token: artist.token, body: { task_status_id: wfa.id, comment: "v2" } });
    const taken = await server.json("POST", `/api/actions/tasks/${taskId}/comments/${second.body.id}/add-preview`, { token: artist.token, body: { revision: 1 } });
    expect(taken.status).toBe(400);
  });

  test("set-main-preview: the last preview becomes the entity thumbnail; clients refused", async () => {
    const { status, body } = await server.json("PUT", `/api/actions/tasks/${taskId}/set-main-preview`, { token: artist.token, body: {} });
    expect(status).toBe(200);
    expect(body.type).toBe("Shot");
    expect(body.preview_file_id).toBeTruthy();
    expect((await server.json("PUT", `/api/actions/tasks/${taskId}/set-main-preview`, { token: client.token, body: {} })).status).toBe(403);
    expect((await server.json("PUT", "/api/actions/tasks/set-main-preview", { token: manager.token, body: {} })).status).toBe(400);
    expect((await server.json("PUT", "/api/actions/tasks/set-main-preview", { token: client.token, body: { task_ids: [taskId] } })).status).toBe(403);
    const bulk = await server.json("PUT", "/api/actions/tasks/set-main-preview", { token: manager.token, body: { task_ids: [taskId] } });
    expect(bulk.status).toBe(200);
    expect(bulk.body).toHaveLength(1);
    const shotId = await fx.shot(project.id, sequenceId, "SH51");
    const bare = await fx.task(project.id, shotId, animation.id);
    const none = await server.json("PUT", `/api/actions/tasks/${bare}/set-main-preview`, { token: manager.token, body: {} });
    expect(none.status).toBe(400);
    expect(none.body.message).toContain("no preview file");
  });

  test("removing a preview from a comment: assignee yes, other artist no, wrong comment 404", async () => {
    const added = await server.json("POST", `/api/actions/tasks/${taskId}/comments/${commentId}/add-preview`, { token: artist.token, body: {} });
    const path = `/api/actions/tasks/${taskId}/comments/${commentId}/preview-files/${added.body.id}`;
    expect((await server.request("DELETE", path, { token: outsider.token })).status).toBe(403);
    expect((await server.request("DELETE", `${path}?force=true`, { token: artist.token })).status).toBe(403);
    expect((await server.request("DELETE", `/api/actions/tasks/${taskId}/comments/${UNKNOWN}/preview-files/${added.body.id}`, { token: artist.token })).status).toBe(404);
    expect((await server.request("DELETE", path, { token: artist.token })).status).toBe(204);
    const row = await server.db.selectFrom("preview_file").select("id").where("id", "=", added.body.id).executeTakeFirst();
    expect(row).toBeUndefined();
  });

  test("to-review moves the task to a review status", async () => {
    const { status, body } = await server.json("PUT", `/api/actions/tasks/${taskId}/to-review`, { token: artist.token, body: { comment: "check", revision: 2 } });
    expect(status).toBe(200);
    expect(body.comment).toBe("check");
    expect(body.entity.type).toBe("Shot");
    expect(body.person.id).toBe(artist.id);
    expect((await server.json("PUT", `/api/actions/tasks/${taskId}/to-review`, { token: outsider.token, body: {} })).status).toBe(403);
    expect((await server.json("PUT", `/api/actions/tasks/${taskId}/to-review`, { token: artist.token, body: { person_id: UNKNOWN } })).status).toBe(400);
    expect((await server.json("PUT", `/api/actions/tasks/${UNKNOWN}/to-review`, { token: artist.token, body: {} })).status).toBe(404);
  });
});
