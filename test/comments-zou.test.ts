/**
 * Answers of the comments, news, events, chats, notifications and persons routes compared with
 * Zou 1.0.67 (issue 9): nested person forms, keys and values Kitsu and gazu read.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type Person, type TestServer } from "./helpers";
import { fixtures, type Fixtures } from "./tasks-fixtures";

let server: TestServer;
let fx: Fixtures;
let manager: Person;
let artist: Person;
let client: Person;
let project: any;
let sequenceId: string;
let animation: { id: string; department_id: string | null };
let departmentId: string;
const statuses: Record<string, any> = {};

const AUTHOR_KEYS = ["first_name", "full_name", "has_avatar", "id", "last_name", "role"];

beforeAll(async () => {
  server = await makeServer();
  fx = fixtures(server);
  manager = await server.person("manager", { first_name: "Maya", last_name: "Manager" });
  artist = await server.person("user", { first_name: "Arthur", last_name: "Artist" });
  client = await server.person("client", { first_name: "Cleo", last_name: "Client" });
  project = await server.project("Zou Shapes", [manager, artist, client]);
  sequenceId = await fx.sequence(project.id, "SQ01");
  animation = await fx.taskType("Animation");
  departmentId = await fx.department("Animation");
  await fx.joinDepartment(manager, departmentId);
  for (const short of ["todo", "wip", "wfa", "retake", "done"]) statuses[short] = await fx.status(short);
});

async function newTask(name: string, assignee: Person | null = artist): Promise<string> {
  const shotId = await fx.shot(project.id, sequenceId, name);
  const taskId = await fx.task(project.id, shotId, animation.id);
  if (assignee) await fx.assign(taskId, assignee);
  return taskId;
}

const comment = (taskId: string, token: string, body: Record<string, unknown>) =>
  server.json("POST", `/api/actions/tasks/${taskId}/comment`, { token, body });

describe("nested persons", () => {
  test("comment lists, single comments, replies and news carry the author form with role and full_name", async () => {
    const taskId = await newTask("SH01");
    const posted = await comment(taskId, manager.token, { task_status_id: statuses.wip.id, comment: "go" });
    expect(posted.status).toBe(201);
    const reply = await server.json("POST", `/api/data/tasks/${taskId}/comments/${posted.body.id}/reply`, { token: artist.token, body: { text: "ok" } });
    expect(reply.status).toBe(200);
    expect(reply.body.person).toEqual({ id: artist.id, first_name: "Arthur", last_name: "Artist", full_name: "Arthur Artist", has_avatar: false, role: "user" });

    const list = await server.json("GET", `/api/data/tasks/${taskId}/comments`, { token: manager.token });
    expect(Object.keys(list.body[0].person).sort()).toEqual(AUTHOR_KEYS);
    expect(list.body[0].person.full_name).toBe("Maya Manager");
    expect(list.body[0].person.role).toBe("manager");

    const one = await server.json("GET", `/api/data/comments/${posted.body.id}`, { token: manager.token });
    expect(Object.keys(one.body.person).sort()).toEqual(AUTHOR_KEYS);
    expect(Object.keys(one.body.replies[0].person).sort()).toEqual(AUTHOR_KEYS);
    expect(one.body.replies[0].person.role).toBe("user");

    const news = await server.json("GET", `/api/data/projects/${project.id}/news`, { token: manager.token });
    expect(Object.keys(news.body.data[0].person).sort()).toEqual(AUTHOR_KEYS);
    const item = await server.json("GET", `/api/data/projects/${project.id}/news/${news.body.data[0].id}`, { token: manager.token });
    expect(item.body.person.role).toBe("manager");
  });

  test("the posted comment has the full author; comment-many and to-review add its departments; full task assigner too", async () => {
    const taskId = await newTask("SH02");
    const posted = await comment(taskId, manager.token, { task_status_id: statuses.wip.id, comment: "one" });
    expect(posted.body.person.email).toBe(manager.email);
    expect("departments" in posted.body.person).toBe(false);
    const many = await server.json("POST", `/api/actions/projects/${project.id}/tasks/comment-many`, {
      token: manager.token, body: [{ object_id: taskId, task_status_id: statuses.wfa.id, comment: "two" }],
    });
    expect(many.status).toBe(201);
    expect(many.body[0].person.departments).toEqual([departmentId]);
    const review = await server.json("PUT", `/api/actions/tasks/${taskId}/to-review`, { token: manager.token, body: {} });
    expect(review.body.person.departments).toEqual([departmentId]);
    await server.db.updateTable("task").set({ assigner_id: manager.id }).where("id", "=", taskId).execute();
    const full = await server.json("GET", `/api/data/tasks/${taskId}/full`, { token: manager.token });
    expect(full.body.assigner.departments).toEqual([departmentId]);
    expect(full.body.assigner.full_name).toBe("Maya Manager");
  });
});

describe("comments", () => {
  test("links is a list, never null", async () => {
    const taskId = await newTask("SH10");
    const posted = await comment(taskId, manager.token, { task_status_id: statuses.wip.id, comment: "x" });
    expect(posted.body.links).toEqual([]);
    const list = await server.json("GET", `/api/data/tasks/${taskId}/comments`, { token: manager.token });
    expect(list.body[0].links).toEqual([]);
    const all = await server.json("GET", `/api/data/comments?object_id=${taskId}`);
    expect(all.body[0].links).toEqual([]);
  });

  test("previews of the comment list carry width, height and duration", async () => {
    const taskId = await newTask("SH11");
    const posted = await comment(taskId, manager.token, { task_status_id: statuses.wip.id, comment: "x" });
    const added = await server.json("POST", `/api/actions/tasks/${taskId}/comments/${posted.body.id}/add-preview`, { token: manager.token, body: {} });
    expect(added.status).toBe(201);
    await server.db.updateTable("preview_file").set({ width: 1920, height: 1080, duration: 2.5 }).where("id", "=", added.body.id).execute();
    const list = await server.json("GET", `/api/data/tasks/${taskId}/comments`, { token: manager.token });
    expect(list.body[0].previews[0]).toMatchObject({ id: added.body.id, width: 1920, height: 1080, duration: 2.5 });
  });

  test("GET a task's comment answers the comment row and its replies, without relations", async () => {
    const taskId = await newTask("SH12");
    const posted = await comment(taskId, manager.token, { task_status_id: statuses.wip.id, comment: "x" });
    const { status, body } = await server.json("GET", `/api/data/tasks/${taskId}/comments/${posted.body.id}`);
    expect(status).toBe(200);
    expect(body.id).toBe(posted.body.id);
    expect(body.replies).toEqual([]);
    for (const key of ["person", "previews", "mentions", "acknowledgements", "attachment_files"]) expect(key in body).toBe(false);
  });
});

describe("persons", () => {
  test("the first admin gets empty phone and desktop login strings, as Zou's create-admin", async () => {
    const { createAdmin } = await import("../src/services/accounts");
    const id = await createAdmin(server.db, server.config, "first-admin@example.com", "long-enough-password");
    const { body } = await server.json("GET", `/api/data/persons/${id}`);
    expect(body.phone).toBe("");
    expect(body.desktop_login).toBe("");
  });
});

describe("event payloads", () => {
  const stored = async (name: string) =>
    (await server.db.selectFrom("api_event").selectAll().where("name", "=", name).orderBy("created_at").execute()).map((row) => ({
      ...row, data: JSON.parse(String(row.data)),
    }));

  test("comment:new carries Zou's keys only", async () => {
    const taskId = await newTask("SH20");
    const posted = await comment(taskId, manager.token, { task_status_id: statuses.wip.id, comment: "x" });
    const event = (await stored("comment:new")).find((e) => e.data.comment_id === posted.body.id)!;
    expect(event.data).toEqual({ comment_id: posted.body.id, task_id: taskId, task_status_id: statuses.wip.id, project_id: project.id });
  });

  test("a person's own filters emit no event (departments.test.ts covers software links)", async () => {
    const filter = await server.json("POST", "/api/data/user/filters", {
      token: manager.token, body: { name: "mine", query: "x", list_type: "asset", project_id: project.id },
    });
    expect(filter.status).toBe(201);
    const names = (await server.db.selectFrom("api_event").select("name").distinct().execute()).map((row) => row.name);
    expect(names.filter((name) => name.startsWith("search-filter"))).toEqual([]);
  });

  test("task:to-review of PUT to-review: Zou's publish payload, without a project", async () => {
    const taskId = await newTask("SH22");
    expect((await server.json("PUT", `/api/actions/tasks/${taskId}/to-review`, { token: artist.token, body: { comment: "look" } })).status).toBe(200);
    const event = (await stored("task:to-review")).find((e) => e.data.task_id === taskId)!;
    expect(Object.keys(event.data).sort()).toEqual([
      "change_status", "comment", "entity_shotgun_id", "entity_type_name", "person_shotgun_id", "preview_path",
      "previous_task_status_id", "project_shotgun_id", "task_id", "task_shotgun_id",
    ]);
    expect(event.data).toMatchObject({ entity_type_name: "Shot", comment: "look", change_status: true });
    expect(event.project_id).toBeNull();
  });

  test("preview-file:set-main carries entity_id and preview_file_id only", async () => {
    const taskId = await newTask("SH23");
    const posted = await comment(taskId, manager.token, { task_status_id: statuses.wip.id, comment: "x" });
    const added = await server.json("POST", `/api/actions/tasks/${taskId}/comments/${posted.body.id}/add-preview`, { token: manager.token, body: {} });
    expect((await server.json("PUT", `/api/actions/tasks/${taskId}/set-main-preview`, { token: manager.token, body: {} })).status).toBe(200);
    const event = (await stored("preview-file:set-main")).find((e) => e.data.preview_file_id === added.body.id)!;
    expect(Object.keys(event.data).sort()).toEqual(["entity_id", "preview_file_id", "project_id"]);
  });

  test("events of one second keep their order in events/last", async () => {
    const taskId = await newTask("SH21");
    await comment(taskId, manager.token, { task_status_id: statuses.wip.id, comment: "x" });
    const { body } = await server.json("GET", "/api/data/events/last?limit=4");
    // The comment's events, newest first: news, then the task update, then comment:new.
    const names: string[] = body.map((event: any) => event.name);
    expect(names.indexOf("news:new")).toBeLessThan(names.indexOf("comment:new"));
    const rows = await server.db.selectFrom("api_event").select("created_at").orderBy("created_at", "desc").limit(1).execute();
    expect(String(rows[0]!.created_at)).toMatch(/\.\d{6}$/);
  });
});

describe("notifications", () => {
  test("reader form: no comment gives null status and text; no playlist gives empty strings and false", async () => {
    const shotId = await fx.shot(project.id, sequenceId, "SH30");
    const taskId = await fx.task(project.id, shotId, animation.id);
    const assigned = await server.json("PUT", `/api/actions/tasks/${taskId}/assign`, { token: manager.token, body: { person_id: artist.id } });
    expect(assigned.status).toBe(200);
    await comment(taskId, manager.token, { task_status_id: statuses.wip.id, comment: "start" });
    const { body } = await server.json("GET", "/api/data/user/notifications", { token: artist.token });
    const assignation = body.find((n: any) => n.task_id === taskId && n.notification_type === "assignation");
    const commented = body.find((n: any) => n.task_id === taskId && n.notification_type === "comment");
    expect(assignation).toMatchObject({ comment_id: null, task_status_id: null, comment_text: null, reply_text: "" });
    expect(commented).toMatchObject({ task_status_id: statuses.wip.id, comment_text: "start" });
    for (const item of [assignation, commented]) {
      expect(item).toMatchObject({ playlist_id: null, playlist_name: "", playlist_for_entity: "", playlist_is_for_all: false });
    }
  });

  test("a playlist notification carries the playlist's name, flags and episode", async () => {
    const episodeId = await fx.episode(project.id, "E01");
    const now = new Date().toISOString().slice(0, 19);
    const playlistId = crypto.randomUUID();
    await server.db.insertInto("playlist").values({
      id: playlistId, created_at: now, updated_at: now, name: "Daily", project_id: project.id, episode_id: episodeId, for_entity: "shot", is_for_all: true,
    } as any).execute();
    const notificationId = crypto.randomUUID();
    await server.db.insertInto("notification").values({
      id: notificationId, created_at: now, updated_at: now, read: false, change: false, type: "playlist-ready",
      person_id: client.id, author_id: manager.id, playlist_id: playlistId,
    } as any).execute();
    const { body } = await server.json("GET", `/api/data/user/notifications/${notificationId}`, { token: client.token });
    expect(body).toMatchObject({
      playlist_id: playlistId, playlist_name: "Daily", playlist_for_entity: "shot", playlist_is_for_all: true,
      episode_id: episodeId, project_id: project.id, full_entity_name: "", comment_text: null,
    });
  });

  test("PUT answers the notification row", async () => {
    const { body: list } = await server.json("GET", "/api/data/user/notifications", { token: artist.token });
    const { status, body } = await server.json("PUT", `/api/data/user/notifications/${list[0].id}`, { token: artist.token, body: { read: true } });
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual([
      "author_id", "change", "comment_id", "created_at", "id", "notification_type", "person_id", "playlist_id", "read", "reply_id", "task_id", "type", "updated_at",
    ]);
    expect(body).toMatchObject({ id: list[0].id, person_id: artist.id, read: true, type: "Notification" });
  });
});

describe("chats", () => {
  test("the chat answers an empty messages list; a posted message without files has no attachment_files; the crud read lists them", async () => {
    const shotId = await fx.shot(project.id, sequenceId, "SH40");
    expect((await server.json("POST", `/api/actions/user/chats/${shotId}/join`, { token: artist.token })).status).toBe(200);
    const posted = await server.json("POST", `/api/data/entities/${shotId}/chat/messages`, { token: artist.token, body: { message: "hello" } });
    expect(posted.status).toBe(201);
    expect("attachment_files" in posted.body).toBe(false);
    const chat = await server.json("GET", `/api/data/entities/${shotId}/chat`, { token: artist.token });
    expect(chat.body.messages).toEqual([]);
    expect(chat.body.participants).toEqual([artist.id]);
    const one = await server.json("GET", `/api/data/chat-messages/${posted.body.id}`);
    expect(one.body.attachment_files).toEqual([]);
  });
});

describe("auth", () => {
  test("GET /auth/email-otp without email is a 400 naming the parameter", async () => {
    const { status, body } = await server.json("GET", "/api/auth/email-otp", { token: null });
    expect(status).toBe(400);
    expect(body).toEqual({ error: true, message: "Missing required parameter: email", data: null });
  });

  test("invite without a mail server stays a clear 400 (on purpose, README)", async () => {
    const { status, body } = await server.json("GET", `/api/actions/persons/${artist.id}/invite`);
    expect(status).toBe(400);
    expect(body.message).toContain("MAIL_SERVER");
  });
});

describe("deleting comments (issue 9 item 4)", () => {
  test("a manager no longer in the team gets 403 deleting their own comment, on both routes; back in the team they may", async () => {
    const other = await server.person("manager", { first_name: "Max", last_name: "Gone" });
    await server.addToTeam(project.id, other);
    const taskId = await newTask("SH50");
    const first = await comment(taskId, other.token, { task_status_id: statuses.wip.id, comment: "mine" });
    const second = await comment(taskId, other.token, { task_status_id: statuses.wip.id, comment: "mine too" });
    expect(first.status).toBe(201);
    await server.db.deleteFrom("project_person_link").where("project_id", "=", project.id).where("person_id", "=", other.id).execute();
    expect((await server.json("DELETE", `/api/data/tasks/${taskId}/comments/${second.body.id}`, { token: other.token })).status).toBe(403);
    expect((await server.json("DELETE", `/api/data/comments/${first.body.id}`, { token: other.token })).status).toBe(403);
    await server.addToTeam(project.id, other);
    expect((await server.json("DELETE", `/api/data/tasks/${taskId}/comments/${second.body.id}`, { token: other.token })).status).toBe(204);
    expect((await server.json("DELETE", `/api/data/comments/${first.body.id}`, { token: other.token })).status).toBe(204);
  });
});

describe("departments and crud reads", () => {
  test("software of all departments: plain rows grouped by department", async () => {
    const software = await server.json("POST", "/api/data/softwares", { body: { name: "Krita", short_name: "kra", file_extension: "kra" } });
    expect(software.status).toBe(201);
    expect((await server.json("POST", `/api/data/departments/${departmentId}/software-licenses`, { body: { software_id: software.body.id } })).status).toBe(201);
    const { body } = await server.json("GET", "/api/data/departments/software-licenses");
    expect(body[departmentId].map((row: any) => row.id)).toEqual([software.body.id]);
    expect("department_id" in body[departmentId][0]).toBe(false);
  });

  test("GET /data/comments/{malformed id} is Zou's 404", async () => {
    const { status, body } = await server.json("GET", "/api/data/comments/not-an-id");
    expect(status).toBe(404);
    expect(body.error).toBe(true);
    expect((await server.json("GET", "/api/data/tasks/not-an-id")).status).toBe(400);
  });
});
