/** The caller's own views and actions (`/data/user/*`, `/actions/user/*`) through HTTP. */
import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type Person, type TestServer } from "./helpers";
import { bot, createEntity, createNotification, createTask, production } from "./people-fixtures";

const UNKNOWN_ID = "3f4a9c2e-8b1d-4c6e-9a7f-2d5b8e1c0a93";

let server: TestServer;
let artist: Person;
let other: Person;
let manager: Person;
let supervisor: Person;
let robot: Person;
let fixture: Awaited<ReturnType<typeof production>>;
let assetTask: string;
let shotTask: string;
let doneTask: string;

beforeAll(async () => {
  server = await makeServer();
  artist = await server.person("user");
  other = await server.person("user");
  manager = await server.person("manager");
  supervisor = await server.person("supervisor");
  robot = await bot(server);
  fixture = await production(server, [artist, other, manager, supervisor]);
  assetTask = await createTask(server, fixture.project.id, fixture.assetId, fixture.modeling, { assignees: [artist] });
  shotTask = await createTask(server, fixture.project.id, fixture.shotId, fixture.animation, { assignees: [artist], status: "wfa" });
  const otherAsset = await createEntity(server, fixture.project.id, "Prop", "Sword");
  doneTask = await createTask(server, fixture.project.id, otherAsset, fixture.modeling, { assignees: [artist], status: "done" });
});

describe("bots and the user routes", () => {
  test("bots get 403 on every /data/user and /actions/user route", async () => {
    for (const [method, path] of [
      ["GET", "/api/data/user/context"], ["GET", "/api/data/user/tasks"], ["GET", "/api/data/user/notifications"],
      ["POST", "/api/actions/user/notifications/mark-all-as-read"], ["DELETE", "/api/actions/user/clear-avatar"],
    ] as const) {
      expect((await server.json(method, path, { token: robot.token })).status).toBe(403);
    }
  });
});

describe("context", () => {
  test("every key Kitsu reads; minimal persons for artists, full for managers", async () => {
    await server.addToTeam(fixture.project.id, await server.person("user"), "supervisor");
    const { status, body } = await server.json("GET", "/api/data/user/context", { token: artist.token });
    expect(status).toBe(200);
    for (const key of [
      "asset_types", "custom_actions", "status_automations", "departments", "studios", "notification_count", "persons",
      "project_status", "project_roles", "projects", "task_types", "task_status", "search_filters", "search_filter_groups",
      "preview_background_files", "plugins",
    ]) expect(body).toHaveProperty(key);
    expect(body.user_limit).toBeUndefined();
    expect(body.projects.map((p: any) => p.id)).toEqual([fixture.project.id]);
    const me = body.persons.find((p: any) => p.id === artist.id);
    expect(me.email).toBeUndefined();
    expect(me.departments).toEqual([]);
    expect(body.asset_types.every((t: any) => t.type === "AssetType")).toBe(true);
    expect(body.asset_types.map((t: any) => t.name)).toContain("Character");
    const asManager = await server.json("GET", "/api/data/user/context", { token: manager.token });
    expect(asManager.body.persons.find((p: any) => p.id === artist.id).email).toBe(artist.email);
    const asAdmin = await server.json("GET", "/api/data/user/context");
    expect(asAdmin.body.user_limit).toBe(server.config.userLimit);
  });

  test("project_roles lists explicit link roles only", async () => {
    const person = await server.person("user");
    await server.addToTeam(fixture.project.id, person, "supervisor");
    const { body } = await server.json("GET", "/api/data/user/context", { token: person.token });
    expect(body.project_roles).toEqual({ [fixture.project.id]: "supervisor" });
    expect((await server.json("GET", "/api/data/user/context", { token: artist.token })).body.project_roles).toEqual({});
  });
});

describe("todo lists", () => {
  test("tasks: assigned and not done; done-tasks: done ones", async () => {
    const todo = await server.json("GET", "/api/data/user/tasks", { token: artist.token });
    expect(todo.status).toBe(200);
    expect(todo.body.map((t: any) => t.id).sort()).toEqual([assetTask, shotTask].sort());
    const row = todo.body.find((t: any) => t.id === shotTask);
    expect(row).toMatchObject({ project_id: fixture.project.id, entity_name: "SH010", sequence_name: "SQ01", task_status_short_name: "wfa", assignees: [artist.id] });
    const done = await server.json("GET", "/api/data/user/done-tasks", { token: artist.token });
    expect(done.body.map((t: any) => t.id)).toEqual([doneTask]);
    expect((await server.json("GET", "/api/data/user/tasks", { token: other.token })).body).toEqual([]);
  });

  test("done-tasks: newest end date first, tasks without end date before them (PostgreSQL's NULL order)", async () => {
    const person = await server.person("user");
    await server.addToTeam(fixture.project.id, person, null);
    const task = async (name: string, endDate: string | null) =>
      createTask(server, fixture.project.id, await createEntity(server, fixture.project.id, "Prop", name), fixture.modeling, {
        assignees: [person], status: "done", fields: { end_date: endDate },
      });
    const older = await task("Done-Older", "2024-01-02T10:00:00");
    const undated = await task("Done-Undated", null);
    const newer = await task("Done-Newer", "2024-01-05T10:00:00");
    const done = await server.json("GET", "/api/data/user/done-tasks", { token: person.token });
    expect(done.body.map((t: any) => t.id)).toEqual([undated, newer, older]);
  });

  test("tasks to check: supervisors get feedback requests of their departments, artists nothing", async () => {
    const animation = await server.db.selectFrom("task_type").select("department_id").where("id", "=", fixture.animation).executeTakeFirstOrThrow();
    await server.db.insertInto("department_link").values({ person_id: supervisor.id, department_id: animation.department_id! }).execute();
    const check = await server.json("GET", "/api/data/user/tasks-to-check", { token: supervisor.token });
    expect(check.status).toBe(200);
    expect(check.body.map((t: any) => t.id)).toEqual([shotTask]);
    expect((await server.json("GET", "/api/data/user/tasks-to-check", { token: artist.token })).body).toEqual([]);
  });

  test("tasks and task types of an entity; 404 for unknown or wrong kind", async () => {
    const tasks = await server.json("GET", `/api/data/user/assets/${fixture.assetId}/tasks`, { token: artist.token });
    expect(tasks.body.map((t: any) => t.id)).toEqual([assetTask]);
    const types = await server.json("GET", `/api/data/user/shots/${fixture.shotId}/task-types`, { token: artist.token });
    expect(types.body.map((t: any) => t.id)).toEqual([fixture.animation]);
    expect((await server.json("GET", `/api/data/user/assets/${fixture.assetId}/tasks`, { token: other.token })).body).toEqual([]);
    expect(await server.json("GET", `/api/data/user/assets/${fixture.assetId}/task-types`, { token: other.token })).toEqual({ status: 200, body: [] });
    expect((await server.json("GET", `/api/data/user/assets/${fixture.shotId}/tasks`, { token: artist.token })).status).toBe(404);
    expect((await server.json("GET", `/api/data/user/sequences/${UNKNOWN_ID}/tasks`, { token: artist.token })).status).toBe(404);
  });

  test("entities of a project through the caller's tasks", async () => {
    const sequences = await server.json("GET", `/api/data/user/projects/${fixture.project.id}/sequences`, { token: artist.token });
    expect(sequences.body.map((s: any) => [s.id, s.type])).toEqual([[fixture.sequenceId, "Sequence"]]);
    // A team member without a task on a shot of the sequence does not get it (Zou user_service).
    const memberSequences = await server.json("GET", `/api/data/user/projects/${fixture.project.id}/sequences`, { token: other.token });
    expect(memberSequences.body).toEqual([]);
    expect((await server.json("GET", `/api/data/user/projects/${fixture.project.id}/sequences`, { token: (await server.person("user")).token })).body).toEqual([]);
    const shots = await server.json("GET", `/api/data/user/sequences/${fixture.sequenceId}/shots`, { token: artist.token });
    expect(shots.body.map((s: any) => s.id)).toEqual([fixture.shotId]);
    const assetTypes = await server.json("GET", `/api/data/user/projects/${fixture.project.id}/asset-types`, { token: artist.token });
    expect(assetTypes.body.map((t: any) => t.name).sort()).toEqual(["Character", "Prop"]);
    const typeId = assetTypes.body.find((t: any) => t.name === "Character").id;
    const assets = await server.json("GET", `/api/data/user/projects/${fixture.project.id}/asset-types/${typeId}/assets`, { token: artist.token });
    expect(assets.body.map((a: any) => [a.id, a.type])).toEqual([[fixture.assetId, "Asset"]]);
    expect((await server.json("GET", `/api/data/user/projects/${fixture.project.id}/episodes`, { token: artist.token })).body).toEqual([]);
    expect((await server.json("GET", `/api/data/user/projects/${UNKNOWN_ID}/sequences`, { token: artist.token })).status).toBe(404);
  });

  test("open projects of the caller", async () => {
    const mine = await server.json("GET", "/api/data/user/projects/open", { token: artist.token });
    expect(mine.body.map((p: any) => p.id)).toEqual([fixture.project.id]);
    expect((await server.json("GET", "/api/data/user/projects/open", { token: (await server.person("user")).token })).body).toEqual([]);
  });
});

describe("filters and filter groups", () => {
  let filterId: string;
  let groupId: string;

  test("create, list grouped, update and delete a filter", async () => {
    const created = await server.json("POST", "/api/data/user/filters", {
      token: artist.token, body: { name: "Heroes", query: "hero", list_type: "asset", project_id: fixture.project.id },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ type: "SearchFilter", name: "Heroes", search_query: "hero", person_id: artist.id, is_shared: false });
    filterId = created.body.id;
    await server.json("POST", "/api/data/user/filters", { token: artist.token, body: { name: "All", query: "x", list_type: "todos" } });
    const list = await server.json("GET", "/api/data/user/filters", { token: artist.token });
    expect(list.body.asset[fixture.project.id].map((f: any) => f.id)).toEqual([filterId]);
    expect(list.body.todos.all).toHaveLength(1);
    const updated = await server.json("PUT", `/api/data/user/filters/${filterId}`, { token: artist.token, body: { name: "Hero list", search_query: "heroes" } });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ name: "Hero list", search_query: "heroes" });
    expect((await server.json("PUT", `/api/data/user/filters/${filterId}`, { token: other.token, body: { name: "x" } })).status).toBe(404);
    expect((await server.json("DELETE", `/api/data/user/filters/${filterId}`, { token: other.token })).status).toBe(404);
    expect((await server.json("DELETE", `/api/data/user/filters/${filterId}`, { token: artist.token })).status).toBe(204);
    expect((await server.json("DELETE", `/api/data/user/filters/${filterId}`, { token: artist.token })).status).toBe(404);
  });

  test("400 on a bad filter body", async () => {
    expect((await server.json("POST", "/api/data/user/filters", { token: artist.token, body: { query: "x" } })).status).toBe(400);
    expect((await server.json("POST", "/api/data/user/filters", { token: artist.token, body: { name: "x", query: "y", project_id: "nope" } })).status).toBe(400);
    expect((await server.json("POST", "/api/data/user/filters", { token: artist.token, body: { name: "x", query: "y", project_id: UNKNOWN_ID } })).status).toBe(400);
  });

  test("filter groups: create, read, update, delete removes its filters", async () => {
    const created = await server.json("POST", "/api/data/user/filter-groups", {
      token: artist.token, body: { name: "Mine", color: "#FF0000", list_type: "asset", project_id: fixture.project.id },
    });
    expect(created.status).toBe(201);
    groupId = created.body.id;
    const filter = await server.json("POST", "/api/data/user/filters", {
      token: artist.token, body: { name: "In group", query: "q", list_type: "asset", search_filter_group_id: groupId },
    });
    expect(filter.body.search_filter_group_id).toBe(groupId);
    expect((await server.json("GET", `/api/data/user/filter-groups/${groupId}`, { token: artist.token })).body.color).toBe("#FF0000");
    expect((await server.json("GET", `/api/data/user/filter-groups/${groupId}`, { token: other.token })).status).toBe(404);
    const groups = await server.json("GET", "/api/data/user/filter-groups", { token: artist.token });
    expect(groups.body.asset[fixture.project.id][0].id).toBe(groupId);
    const updated = await server.json("PUT", `/api/data/user/filter-groups/${groupId}`, { token: artist.token, body: { color: "#00FF00", is_shared: "true" } });
    // An artist cannot share: is_shared stays false.
    expect(updated.body).toMatchObject({ color: "#00FF00", is_shared: false });
    expect((await server.json("PUT", `/api/data/user/filter-groups/${groupId}`, { token: artist.token, body: { is_shared: "maybe" } })).status).toBe(400);
    expect((await server.json("DELETE", `/api/data/user/filter-groups/${groupId}`, { token: artist.token })).status).toBe(204);
    const row = await server.db.selectFrom("search_filter").select("id").where("id", "=", filter.body.id).executeTakeFirst();
    expect(row).toBeUndefined();
    expect((await server.json("POST", "/api/data/user/filter-groups", { token: artist.token, body: { name: "No color" } })).status).toBe(400);
  });
});

describe("notifications", () => {
  let first: string;
  let second: string;

  beforeAll(async () => {
    first = await createNotification(server, artist, other, assetTask, { created_at: "2024-01-01T10:00:00" });
    second = await createNotification(server, artist, other, shotTask, { created_at: "2024-02-01T10:00:00", type: "mention" });
    await createNotification(server, other, artist, assetTask);
  });

  test("list the caller's notifications, newest first, with filters", async () => {
    const list = await server.json("GET", "/api/data/user/notifications", { token: artist.token });
    expect(list.status).toBe(200);
    expect(list.body.map((n: any) => n.id)).toEqual([second, first]);
    expect(list.body[0]).toMatchObject({ type: "Notification", notification_type: "mention", task_id: shotTask, project_id: fixture.project.id, read: false });
    const after = await server.json("GET", "/api/data/user/notifications?after=2024-01-15", { token: artist.token });
    expect(after.body.map((n: any) => n.id)).toEqual([second]);
    const typed = await server.json("GET", "/api/data/user/notifications?type=comment", { token: artist.token });
    expect(typed.body.map((n: any) => n.id)).toEqual([first]);
    expect((await server.json("GET", "/api/data/user/notifications?read=maybe", { token: artist.token })).status).toBe(400);
    expect((await server.json("GET", "/api/data/user/notifications?after=yesterday", { token: artist.token })).status).toBe(400);
  });

  test("read one, mark read and unread, 404 for someone else's", async () => {
    expect((await server.json("GET", `/api/data/user/notifications/${first}`, { token: artist.token })).body.id).toBe(first);
    expect((await server.json("GET", `/api/data/user/notifications/${first}`, { token: other.token })).status).toBe(404);
    const marked = await server.json("PUT", `/api/data/user/notifications/${first}`, { token: artist.token, body: { read: true } });
    expect(marked.status).toBe(200);
    expect(marked.body.read).toBe(true);
    expect((await server.json("PUT", `/api/data/user/notifications/${first}`, { token: other.token, body: { read: true } })).status).toBe(404);
    expect((await server.json("PUT", `/api/data/user/notifications/${first}`, { token: artist.token, body: {} })).status).toBe(400);
    const unread = await server.json("GET", "/api/data/user/notifications?read=false", { token: artist.token });
    expect(unread.body.map((n: any) => n.id)).toEqual([second]);
    expect((await server.json("GET", "/api/data/user/context", { token: artist.token })).body.notification_count).toBe(1);
  });

  test("mark all as read", async () => {
    const answer = await server.json("POST", "/api/actions/user/notifications/mark-all-as-read", { token: artist.token });
    expect(answer).toEqual({ status: 200, body: { success: true } });
    expect((await server.json("GET", "/api/data/user/notifications?read=false", { token: artist.token })).body).toEqual([]);
    const events = (await server.db.selectFrom("api_event").select("name").execute()).map((e) => e.name);
    expect(events).toContain("notification:all-read");
  });
});

describe("subscriptions", () => {
  test("subscribe to a task, check, unsubscribe", async () => {
    expect((await server.json("GET", `/api/data/user/tasks/${assetTask}/subscribed`, { token: other.token })).body).toBe(false);
    const subscribed = await server.json("POST", `/api/actions/user/tasks/${assetTask}/subscribe`, { token: other.token });
    expect(subscribed.status).toBe(201);
    expect(subscribed.body).toMatchObject({ type: "Subscription", task_id: assetTask, person_id: other.id });
    const again = await server.json("POST", `/api/actions/user/tasks/${assetTask}/subscribe`, { token: other.token });
    expect(again.body.id).toBe(subscribed.body.id);
    expect((await server.json("GET", `/api/data/user/tasks/${assetTask}/subscribed`, { token: other.token })).body).toBe(true);
    expect((await server.json("DELETE", `/api/actions/user/tasks/${assetTask}/unsubscribe`, { token: other.token })).status).toBe(204);
    expect((await server.json("GET", `/api/data/user/tasks/${assetTask}/subscribed`, { token: other.token })).body).toBe(false);
    expect((await server.json("GET", `/api/data/user/tasks/${UNKNOWN_ID}/subscribed`, { token: other.token })).body).toBe(false);
    expect((await server.json("POST", `/api/actions/user/tasks/${UNKNOWN_ID}/subscribe`, { token: other.token })).status).toBe(404);
  });

  test("bulk subscribe and unsubscribe", async () => {
    const bulk = await server.json("POST", "/api/actions/user/tasks/subscribe", { token: other.token, body: { task_ids: [assetTask, shotTask, UNKNOWN_ID] } });
    expect(bulk.status).toBe(201);
    expect(bulk.body).toHaveLength(2);
    const removed = await server.json("POST", "/api/actions/user/tasks/unsubscribe", { token: other.token, body: { task_ids: [assetTask, shotTask] } });
    expect(removed).toEqual({ status: 200, body: [assetTask, shotTask] });
    expect(await server.json("POST", "/api/actions/user/tasks/subscribe", { token: other.token, body: { task_ids: [] } })).toEqual({ status: 201, body: [] });
    expect((await server.json("POST", "/api/actions/user/tasks/subscribe", { token: other.token, body: { task_ids: "x" } })).status).toBe(400);
    expect((await server.json("POST", "/api/actions/user/tasks/subscribe", { token: other.token, body: { task_ids: ["bad"] } })).status).toBe(400);
  });

  test("sequence subscriptions per task type", async () => {
    const base = `/api/actions/user/sequences/${fixture.sequenceId}/task-types/${fixture.animation}`;
    expect((await server.json("POST", `${base}/subscribe`, { token: other.token })).status).toBe(201);
    expect((await server.json("GET", `/api/data/user/sequences/${fixture.sequenceId}/task-types/${fixture.animation}/subscribed`, { token: other.token })).body).toBe(true);
    expect((await server.json("GET", `/api/data/user/entities/${fixture.sequenceId}/task-types/${fixture.animation}/subscribed`, { token: other.token })).body).toBe(true);
    const ids = await server.json("GET", `/api/data/user/projects/${fixture.project.id}/task-types/${fixture.animation}/sequence-subscriptions`, { token: other.token });
    expect(ids.body).toEqual([fixture.sequenceId]);
    expect((await server.json("DELETE", `${base}/unsubscribe`, { token: other.token })).status).toBe(204);
    expect((await server.json("GET", `/api/data/user/sequences/${fixture.sequenceId}/task-types/${fixture.animation}/subscribed`, { token: other.token })).body).toBe(false);
    expect((await server.json("POST", `/api/actions/user/sequences/${fixture.shotId}/task-types/${fixture.animation}/subscribe`, { token: other.token })).status).toBe(404);
    expect((await server.json("GET", `/api/data/user/projects/${fixture.project.id}/task-types/${UNKNOWN_ID}/sequence-subscriptions`, { token: other.token })).status).toBe(404);
  });
});

describe("the caller's time, logins and avatar", () => {
  test("time spents of the caller, by date and by task; day offs", async () => {
    await server.json("POST", `/api/actions/tasks/${assetTask}/time-spents/2024-05-02/persons/${artist.id}`, { token: artist.token, body: { duration: 30 } });
    expect((await server.json("GET", "/api/data/user/time-spents", { token: artist.token })).body).toEqual([]);
    expect((await server.json("GET", "/api/data/user/time-spents?start_date=2024-05-01&end_date=2024-05-02", { token: artist.token })).body).toHaveLength(1);
    expect((await server.json("GET", "/api/data/user/time-spents?start_date=2024-05-03&end_date=2024-05-09", { token: artist.token })).body).toHaveLength(0);
    expect((await server.json("GET", "/api/data/user/time-spents?end_date=2024-05-09", { token: artist.token })).status).toBe(400);
    expect((await server.json("GET", "/api/data/user/time-spents/2024-05-02", { token: artist.token })).body[0].duration).toBe(30);
    expect((await server.json("GET", "/api/data/user/time-spents/2024-5-2x", { token: artist.token })).status).toBe(400);
    expect((await server.json("GET", `/api/data/user/tasks/${assetTask}/time-spents/2024-05-02`, { token: artist.token })).body.duration).toBe(30);
    expect((await server.json("GET", `/api/data/user/tasks/${assetTask}/time-spents/2024-05-03`, { token: artist.token })).body).toBeNull();
    expect((await server.json("GET", `/api/data/user/tasks/${UNKNOWN_ID}/time-spents/2024-05-03`, { token: artist.token })).status).toBe(404);
    await server.json("POST", "/api/data/day-offs", { token: artist.token, body: { person_id: artist.id, date: "2024-05-10", end_date: "2024-05-10" } });
    expect((await server.json("GET", "/api/data/user/day-offs/2024-05-10", { token: artist.token })).body.date).toBe("2024-05-10");
    expect((await server.json("GET", "/api/data/user/day-offs/2024-05-11", { token: artist.token })).body).toEqual({});
  });

  test("desktop login logs of the caller", async () => {
    expect((await server.json("POST", "/api/data/user/desktop-login-logs", { token: artist.token, body: {} })).status).toBe(201);
    expect((await server.json("POST", "/api/data/user/desktop-login-logs", { token: artist.token, body: { date: "not a date" } })).status).toBe(400);
    expect((await server.json("GET", "/api/data/user/desktop-login-logs", { token: artist.token })).body).toHaveLength(1);
  });

  test("clear avatar", async () => {
    await server.db.updateTable("person").set({ has_avatar: true }).where("id", "=", artist.id).execute();
    expect((await server.json("DELETE", "/api/actions/user/clear-avatar", { token: artist.token })).status).toBe(204);
    const row = await server.db.selectFrom("person").select("has_avatar").where("id", "=", artist.id).executeTakeFirstOrThrow();
    expect(Boolean(row.has_avatar)).toBe(false);
  });
});
