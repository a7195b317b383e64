import { sql } from "kysely";
import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type Person, type TestServer } from "./helpers";
import { fixtures, type Fixtures } from "./tasks-fixtures";
import type { EmittedEvent } from "../src/lib/events";
import { listNotifications, unreadNotificationCount } from "../src/services/notifications";

let server: TestServer;
let fx: Fixtures;
let manager: Person;
let artist: Person;
let watcher: Person;
let seqWatcher: Person;
let bystander: Person;
let departmentMember: Person;
let project: any;
let sequenceId: string;
let animation: { id: string };
let wip: any;
let wfa: any;
const published: EmittedEvent[] = [];

beforeAll(async () => {
  server = await makeServer();
  fx = fixtures(server);
  server.events.subscribe((event) => published.push(event));
  manager = await server.person("manager", { first_name: "Mona", last_name: "Boss" });
  artist = await server.person("user", { first_name: "Ada", last_name: "Anim" });
  watcher = await server.person("user", { first_name: "Walt", last_name: "Watch" });
  seqWatcher = await server.person("user", { first_name: "Sean", last_name: "Seq" });
  bystander = await server.person("user", { first_name: "Bea", last_name: "Stander" });
  departmentMember = await server.person("user", { first_name: "Dora", last_name: "Dept" });
  project = await server.project("Notify Project", [manager, artist, watcher, seqWatcher, bystander, departmentMember]);
  await fx.joinDepartment(departmentMember, await fx.department("FX"));
  sequenceId = await fx.sequence(project.id, "SQ01");
  animation = await fx.taskType("Animation");
  wip = await fx.status("wip");
  wfa = await fx.status("wfa");
});

async function newTask(name: string): Promise<string> {
  const shot = await fx.shot(project.id, sequenceId, name);
  const taskId = await fx.task(project.id, shot, animation.id);
  await fx.assign(taskId, artist);
  return taskId;
}

async function subscribe(person: Person, taskId: string): Promise<void> {
  await server.db.insertInto("subscription").values({ id: crypto.randomUUID(), person_id: person.id, task_id: taskId } as any).execute();
}

const types = async (person: Person) => (await fx.notifications(person)).map((n) => n.type);

describe("comment notifications (events.md §6.1)", () => {
  test("assignees, task and sequence subscribers get `comment`; the author and others nothing", async () => {
    const taskId = await newTask("SH01");
    await subscribe(watcher, taskId);
    await server.db.insertInto("subscription").values({
      id: crypto.randomUUID(), person_id: seqWatcher.id, entity_id: sequenceId, task_type_id: animation.id,
    } as any).execute();
    const created = await server.json("POST", `/api/actions/tasks/${taskId}/comment`, { token: manager.token, body: { task_status_id: wip.id, comment: "go" } });
    expect(created.status).toBe(201);
    for (const person of [artist, watcher, seqWatcher]) {
      const notifications = await fx.notifications(person);
      expect(notifications.map((n) => [n.type, n.comment_id, n.task_id, n.author_id, Boolean(n.change), Boolean(n.read)])).toEqual([
        ["comment", created.body.id, taskId, manager.id, true, false],
      ]);
    }
    expect(await types(manager)).toEqual([]);
    expect(await types(bystander)).toEqual([]);
    const newEvents = published.filter((e) => e.name === "notification:new" && e.data.person_id === artist.id);
    expect(newEvents.length).toBeGreaterThan(0);
    expect(newEvents[0]!.data.project_id).toBe(project.id);
    const stored = await server.db.selectFrom("api_event").select("id").where("name", "=", "notification:new").execute();
    expect(stored).toEqual([]);
  });

  test("mentions by full name and by department add `mention` notifications; no status change → change false", async () => {
    const taskId = await newTask("SH02");
    const current = (await fx.getTask(taskId)).task_status_id;
    const created = await server.json("POST", `/api/actions/tasks/${taskId}/comment`, {
      token: manager.token, body: { task_status_id: current, comment: "@Ada Anim and @Bea Stander also @FX" },
    });
    expect([...created.body.mentions].sort()).toEqual([artist.id, bystander.id].sort());
    expect(created.body.department_mentions).toHaveLength(1);
    const onTask = async (person: Person) => (await fx.notifications(person)).filter((n) => n.task_id === taskId);
    expect((await onTask(artist)).map((n) => n.type).sort()).toEqual(["comment", "mention"]);
    expect((await onTask(bystander)).map((n) => n.type)).toEqual(["mention"]);
    expect((await onTask(departmentMember)).map((n) => n.type)).toEqual(["mention"]);
    const comment = (await onTask(artist)).find((n) => n.type === "comment")!;
    expect(Boolean(comment.change)).toBe(false);
  });

  test("a mention must be followed by a space or the end of the text", async () => {
    const taskId = await newTask("SH03");
    await server.json("POST", `/api/actions/tasks/${taskId}/comment`, { token: manager.token, body: { task_status_id: wip.id, comment: "@Bea Standerxyz hi" } });
    const mentions = await server.db.selectFrom("notification").select("id").where("task_id", "=", taskId).where("type", "=", "mention").execute();
    expect(mentions).toEqual([]);
  });

  test("editing a comment recreates its mention notifications", async () => {
    const taskId = await newTask("SH04");
    const created = await server.json("POST", `/api/actions/tasks/${taskId}/comment`, { token: manager.token, body: { task_status_id: wip.id, comment: "@Walt Watch look" } });
    await server.json("PUT", `/api/data/comments/${created.body.id}`, { token: manager.token, body: { text: "@Bea Stander look" } });
    const mentions = await server.db.selectFrom("notification").select("person_id").where("comment_id", "=", created.body.id).where("type", "=", "mention").execute();
    expect(mentions.map((m) => m.person_id)).toEqual([bystander.id]);
  });

  test("deleting a comment deletes its notifications and news", async () => {
    const taskId = await newTask("SH05");
    const created = await server.json("POST", `/api/actions/tasks/${taskId}/comment`, { token: manager.token, body: { task_status_id: wip.id, comment: "bye" } });
    const news = await server.db.selectFrom("news").select("id").where("comment_id", "=", created.body.id).execute();
    expect(news).toHaveLength(1);
    await server.request("DELETE", `/api/data/tasks/${taskId}/comments/${created.body.id}`, { token: manager.token });
    expect(await server.db.selectFrom("notification").select("id").where("comment_id", "=", created.body.id).execute()).toEqual([]);
    expect(await server.db.selectFrom("news").select("id").where("comment_id", "=", created.body.id).execute()).toEqual([]);
    const deleted = await server.db.selectFrom("api_event").select("data").where("name", "=", "news:delete").execute();
    expect(deleted.map((e) => JSON.parse(e.data as string).news_id)).toContain(news[0]!.id);
  });
});

describe("reply notifications (events.md §6.2)", () => {
  test("assignees, subscribers, previous repliers and the comment author get `reply`; mentions `reply-mention`", async () => {
    const taskId = await newTask("SH10");
    await subscribe(watcher, taskId);
    const created = await server.json("POST", `/api/actions/tasks/${taskId}/comment`, { token: manager.token, body: { task_status_id: wip.id, comment: "q" } });
    await server.db.deleteFrom("notification").execute();
    await server.json("POST", `/api/data/tasks/${taskId}/comments/${created.body.id}/reply`, { token: bystander.token, body: { text: "first" } }).catch(() => undefined);
    // bystander has no action rights and no mention: refused, nothing created
    expect(await server.db.selectFrom("notification").select("id").execute()).toEqual([]);
    const first = await server.json("POST", `/api/data/tasks/${taskId}/comments/${created.body.id}/reply`, { token: artist.token, body: { text: "first @Bea Stander" } });
    expect(first.status).toBe(200);
    expect(await types(manager)).toEqual(["reply"]);
    expect(await types(watcher)).toEqual(["reply"]);
    expect(await types(bystander)).toEqual(["reply-mention"]);
    expect(await types(artist)).toEqual([]);
    const second = await server.json("POST", `/api/data/tasks/${taskId}/comments/${created.body.id}/reply`, { token: manager.token, body: { text: "second" } });
    expect((await types(artist))).toEqual(["reply"]);
    const replyNotification = (await fx.notifications(artist))[0]!;
    expect(replyNotification.reply_id).toBe(second.body.id);
    await server.json("DELETE", `/api/data/tasks/${taskId}/comments/${created.body.id}/reply/${second.body.id}`, { token: manager.token });
    expect(await types(artist)).toEqual([]);
  });
});

describe("assignment notifications (events.md §6.3)", () => {
  test("assigning someone else notifies them; self-assignment and unassignment do not", async () => {
    const shot = await fx.shot(project.id, sequenceId, "SH20");
    const taskId = await fx.task(project.id, shot, animation.id);
    await server.json("PUT", `/api/actions/tasks/${taskId}/assign`, { token: manager.token, body: { person_id: watcher.id } });
    expect(await server.db.selectFrom("notification").select("type").where("task_id", "=", taskId).where("person_id", "=", watcher.id).execute())
      .toEqual([{ type: "assignation" }]);
    await server.json("PUT", `/api/actions/tasks/${taskId}/assign`, { token: manager.token, body: { person_id: manager.id } });
    expect(await server.db.selectFrom("notification").select("id").where("task_id", "=", taskId).where("person_id", "=", manager.id).execute()).toEqual([]);
    await server.json("PUT", "/api/actions/tasks/clear-assignation", { token: manager.token, body: { task_ids: [taskId] } });
    expect(await server.db.selectFrom("notification").select("id").where("task_id", "=", taskId).execute()).toHaveLength(1);
  });

  test("PUT /data/tasks with new assignees notifies them and emits task:assign", async () => {
    const shot = await fx.shot(project.id, sequenceId, "SH21");
    const taskId = await fx.task(project.id, shot, animation.id);
    const updated = await server.json("PUT", `/api/data/tasks/${taskId}`, { token: manager.token, body: { assignees: [bystander.id] } });
    expect(updated.status).toBe(200);
    expect(await server.db.selectFrom("notification").select("type").where("task_id", "=", taskId).where("person_id", "=", bystander.id).execute())
      .toEqual([{ type: "assignation" }]);
    const assign = await server.db.selectFrom("api_event").select("data").where("name", "=", "task:assign").where(sql`cast(data as text)`, "like", `%${taskId}%`).execute();
    expect(assign).toHaveLength(1);
  });
});

describe("news (events.md §7)", () => {
  test("a news row per comment with change and created_at, and news:new; none for concept tasks", async () => {
    const taskId = await newTask("SH30");
    const created = await server.json("POST", `/api/actions/tasks/${taskId}/comment`, { token: artist.token, body: { task_status_id: wfa.id, comment: "review" } });
    const news = await server.db.selectFrom("news").selectAll().where("comment_id", "=", created.body.id).executeTakeFirstOrThrow();
    expect(Boolean(news.change)).toBe(true);
    expect(news.author_id).toBe(artist.id);
    expect(news.task_id).toBe(taskId);
    expect(news.created_at!.slice(0, 19)).toBe(created.body.created_at);
    const event = await server.db.selectFrom("api_event").select(["data", "project_id"]).where("name", "=", "news:new").where(sql`cast(data as text)`, "like", `%${news.id}%`).executeTakeFirstOrThrow();
    expect(JSON.parse(event.data as string)).toEqual({ news_id: news.id, task_status_id: wfa.id, task_type_id: animation.id, project_id: project.id });

    const concept = await fx.concept(project.id, "C1");
    const conceptType = await fx.taskType("Concept", "Concept");
    const conceptTask = await fx.task(project.id, concept, conceptType.id);
    const onConcept = await server.json("POST", `/api/actions/tasks/${conceptTask}/comment`, { token: manager.token, body: { task_status_id: wip.id, comment: "c" } });
    expect(await server.db.selectFrom("news").select("id").where("comment_id", "=", onConcept.body.id).execute()).toEqual([]);
  });
});

describe("reading notifications", () => {
  test("the reader shape of events.md §6.5, newest first, filters and unread count", async () => {
    const reader = await server.person("user", { first_name: "Rita", last_name: "Reader" });
    await server.addToTeam(project.id, reader);
    const taskId = await newTask("SH40");
    await fx.assign(taskId, reader);
    await server.json("POST", `/api/actions/tasks/${taskId}/comment`, { token: manager.token, body: { task_status_id: wip.id, comment: "first" } });
    const second = await server.json("POST", `/api/actions/tasks/${taskId}/comment`, { token: manager.token, body: { task_status_id: wfa.id, comment: "second @Rita Reader" } });
    const items = await listNotifications(server.db, { id: reader.id, role: "user" });
    expect(items.map((n) => [n.notification_type, n.comment_text])).toEqual([
      ["mention", "second @Rita Reader"], ["comment", "second @Rita Reader"], ["comment", "first"],
    ]);
    const item = items[0]!;
    expect(item.type).toBe("Notification");
    expect(item.project_name).toBe("Notify Project");
    expect(item.full_entity_name).toBe("SQ01 / SH40");
    expect(item.task_type_id).toBe(animation.id);
    expect(item.task_status_id).toBe(wfa.id);
    expect(item.mentions).toEqual([reader.id]);
    expect(item.comment_id).toBe(second.body.id);
    expect(item.read).toBe(false);
    expect(await unreadNotificationCount(server.db, reader.id)).toBe(3);
    const mentionsOnly = await listNotifications(server.db, { id: reader.id, role: "user" }, { type: "mention" });
    expect(mentionsOnly).toHaveLength(1);
    const watching = await listNotifications(server.db, { id: reader.id, role: "user" }, { watching: true });
    expect(watching).toEqual([]);
  });

  test("GET /data/user/notifications serves the caller's notifications", async () => {
    const taskId = await newTask("SH41");
    await server.json("POST", `/api/actions/tasks/${taskId}/comment`, { token: manager.token, body: { task_status_id: wip.id, comment: "for the artist" } });
    const { status, body } = await server.json("GET", "/api/data/user/notifications", { token: artist.token });
    expect(status).toBe(200);
    expect(body[0].comment_text).toBe("for the artist");
    expect(body[0].notification_type).toBe("comment");
  });
});
