/** News feeds, the event log routes and entity chats. */
import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type Person, type TestServer } from "./helpers";
import { bot, createComment, createTask, production, statusId } from "./people-fixtures";
import { newId, utcNow } from "../src/lib/ids";

const UNKNOWN_ID = "3f4a9c2e-8b1d-4c6e-9a7f-2d5b8e1c0a93";

let server: TestServer;
let artist: Person;
let vendor: Person;
let outsider: Person;
let manager: Person;
let fixture: Awaited<ReturnType<typeof production>>;
let taskId: string;
let newsIds: string[] = [];

async function addNews(author: Person, status: string, change: boolean, createdAt: string): Promise<string> {
  const commentId = await createComment(server, taskId, author, `${status} note`, status);
  await server.db.updateTable("comment").set({ created_at: createdAt }).where("id", "=", commentId).execute();
  const id = newId();
  await server.db
    .insertInto("news")
    .values({ id, created_at: createdAt, updated_at: createdAt, change, author_id: author.id, comment_id: commentId, task_id: taskId } as any)
    .execute();
  return id;
}

async function addEvent(name: string, projectId: string | null, createdAt: string, userId: string | null = null): Promise<string> {
  const id = newId();
  await server.db
    .insertInto("api_event")
    .values({ id, created_at: createdAt, updated_at: createdAt, name, project_id: projectId, user_id: userId, data: JSON.stringify({ project_id: projectId }) })
    .execute();
  return id;
}

beforeAll(async () => {
  server = await makeServer();
  artist = await server.person("user");
  vendor = await server.person("vendor");
  outsider = await server.person("user");
  manager = await server.person("manager");
  fixture = await production(server, [artist, vendor, manager]);
  taskId = await createTask(server, fixture.project.id, fixture.shotId, fixture.animation, { assignees: [artist] });
  newsIds = [
    await addNews(artist, "wip", true, "2024-01-01T10:00:00"),
    await addNews(manager, "retake", true, "2024-01-02T10:00:00"),
    await addNews(artist, "wip", false, "2024-01-03T10:00:00"),
  ];
});

describe("news", () => {
  test("project feed: newest first, paged, with stats of status changes", async () => {
    const feed = await server.json("GET", `/api/data/projects/${fixture.project.id}/news`, { token: artist.token });
    expect(feed.status).toBe(200);
    expect(feed.body.total).toBe(3);
    expect(feed.body.data.map((n: any) => n.id)).toEqual([...newsIds].reverse());
    expect(feed.body.data[0]).toMatchObject({
      type: "News", task_id: taskId, project_id: fixture.project.id, full_entity_name: "SQ01 / SH010", change: false,
      task_status_id: await statusId(server, "wip"), person: { id: artist.id },
    });
    expect(feed.body.stats).toEqual({ [await statusId(server, "wip")]: 1, [await statusId(server, "retake")]: 1 });
    const page = await server.json("GET", `/api/data/projects/${fixture.project.id}/news?page=2&limit=2`, { token: artist.token });
    expect(page.body).toMatchObject({ total: 3, nb_pages: 2, limit: 2, offset: 2, page: 2 });
    expect(page.body.data.map((n: any) => n.id)).toEqual([newsIds[0]]);
    const byAuthor = await server.json("GET", `/api/data/projects/${fixture.project.id}/news?person_id=${manager.id}`, { token: artist.token });
    expect(byAuthor.body.data.map((n: any) => n.id)).toEqual([newsIds[1]]);
    const after = await server.json("GET", `/api/data/projects/${fixture.project.id}/news?after=2024-01-02T12:00:00`, { token: artist.token });
    expect(after.body.total).toBe(1);
  });

  test("feed errors: 403 non-member, 404 unknown project, 400 bad arguments", async () => {
    expect((await server.json("GET", `/api/data/projects/${fixture.project.id}/news`, { token: outsider.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/projects/${UNKNOWN_ID}/news`)).status).toBe(404);
    expect((await server.json("GET", `/api/data/projects/${fixture.project.id}/news?page=zero`)).status).toBe(400);
    expect((await server.json("GET", `/api/data/projects/${fixture.project.id}/news?task_type_id=bad`)).status).toBe(400);
  });

  test("feed of all open projects of the caller", async () => {
    expect((await server.json("GET", "/api/data/projects/news", { token: artist.token })).body.total).toBe(3);
    expect((await server.json("GET", "/api/data/projects/news", { token: outsider.token })).body.total).toBe(0);
    expect((await server.json("GET", `/api/data/projects/news?project_id=${fixture.project.id}`)).body.total).toBe(3);
  });

  test("one news item: members, not vendors", async () => {
    const one = await server.json("GET", `/api/data/projects/${fixture.project.id}/news/${newsIds[1]}`, { token: artist.token });
    expect(one.status).toBe(200);
    expect(one.body.id).toBe(newsIds[1]);
    expect((await server.json("GET", `/api/data/projects/${fixture.project.id}/news/${newsIds[1]}`, { token: vendor.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/projects/${fixture.project.id}/news/${UNKNOWN_ID}`, { token: artist.token })).status).toBe(404);
  });
});

describe("event log", () => {
  let otherProject: any;
  let eventIds: string[];

  beforeAll(async () => {
    otherProject = await server.project("Other");
    await server.db.deleteFrom("api_event").execute();
    eventIds = [
      await addEvent("task:update", fixture.project.id, "2024-03-01T10:00:00", artist.id),
      await addEvent("preview-file:add-file", fixture.project.id, "2024-03-02T10:00:00"),
      await addEvent("task:new", otherProject.id, "2024-03-03T10:00:00"),
      await addEvent("person:update", null, "2024-03-04T10:00:00"),
    ];
  });

  test("admin sees every event, newest first, with filters", async () => {
    const all = await server.json("GET", "/api/data/events/last");
    expect(all.body.map((e: any) => e.id)).toEqual([...eventIds].reverse());
    expect(all.body[0]).toEqual({ id: eventIds[3], created_at: "2024-03-04T10:00:00", name: "person:update", user_id: null, project_id: null, data: { project_id: null } });
    expect((await server.json("GET", "/api/data/events/last?only_files=true")).body.map((e: any) => e.id)).toEqual([eventIds[1]]);
    expect((await server.json("GET", "/api/data/events/last?name=task:new")).body.map((e: any) => e.id)).toEqual([eventIds[2]]);
    expect((await server.json("GET", "/api/data/events/last?after=2024-03-02&before=2024-03-03T12:00:00")).body).toHaveLength(2);
    expect((await server.json("GET", "/api/data/events/last?limit=1")).body).toHaveLength(1);
    expect((await server.json("GET", `/api/data/events/last?cursor_event_id=${eventIds[2]}`)).body.map((e: any) => e.id)).toEqual([eventIds[1], eventIds[0]]);
    expect((await server.json("GET", "/api/data/events/last?name_prefixes=task")).body).toHaveLength(2);
    expect((await server.json("GET", "/api/data/events/last?name_suffixes=update")).body).toHaveLength(2);
    expect((await server.json("GET", `/api/data/events/last?person_ids=${artist.id}`)).body.map((e: any) => e.id)).toEqual([eventIds[0]]);
  });

  test("bad arguments are 400", async () => {
    for (const query of ["after=03/03/2024", "limit=abc", `cursor_event_id=${UNKNOWN_ID}`, "name_prefixes=Task!", "person_ids=nope", "project_id=nope"]) {
      expect((await server.json("GET", `/api/data/events/last?${query}`)).status).toBe(400);
    }
  });

  test("a global manager gets their projects' events; a project elsewhere is 403", async () => {
    const mine = await server.json("GET", "/api/data/events/last", { token: manager.token });
    expect(mine.body.map((e: any) => e.id)).toEqual([eventIds[1], eventIds[0]]);
    expect((await server.json("GET", `/api/data/events/last?project_id=${otherProject.id}`, { token: manager.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/events/last?project_id=${fixture.project.id}`, { token: manager.token })).status).toBe(200);
  });

  test("an artist is refused, unless manager of the given project", async () => {
    expect((await server.json("GET", "/api/data/events/last", { token: artist.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/events/last?project_id=${UNKNOWN_ID}`, { token: artist.token })).status).toBe(403);
    const lead = await server.person("user");
    await server.addToTeam(fixture.project.id, lead, "manager");
    expect((await server.json("GET", "/api/data/events/last", { token: lead.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/events/last?project_id=${fixture.project.id}`, { token: lead.token })).status).toBe(200);
  });

  test("event names (managers) and login logs (admins)", async () => {
    const names = await server.json("GET", "/api/data/events/names", { token: manager.token });
    expect(names.body).toEqual(["person:update", "preview-file:add-file", "task:new", "task:update"]);
    expect((await server.json("GET", "/api/data/events/names", { token: artist.token })).status).toBe(403);
    const now = utcNow();
    await server.db.insertInto("login_log").values({ id: newId(), created_at: now, updated_at: now, person_id: artist.id, ip_address: "10.0.0.1", origin: "web" }).execute();
    const logs = await server.json("GET", "/api/data/events/login-logs/last");
    expect(logs.body).toHaveLength(1);
    expect(logs.body[0]).toMatchObject({ person_id: artist.id, ip_address: "10.0.0.1", origin: "web" });
    expect((await server.json("GET", `/api/data/events/login-logs/last?person_ids=${manager.id}`)).body).toEqual([]);
    expect((await server.json("GET", "/api/data/events/login-logs/last", { token: manager.token })).status).toBe(403);
    expect((await server.json("GET", "/api/data/events/login-logs/last?before=never")).status).toBe(400);
  });

  test("login logs page with cursor_login_log_id (older rows only); an unknown or malformed cursor is a 400", async () => {
    await server.db.deleteFrom("login_log").execute();
    const ids = [newId(), newId(), newId()];
    for (const [index, id] of ids.entries()) {
      const at = `2024-05-0${index + 1}T08:00:00`;
      await server.db.insertInto("login_log").values({ id, created_at: at, updated_at: at, person_id: artist.id, ip_address: "10.0.0.2", origin: "web" }).execute();
    }
    const all = await server.json("GET", "/api/data/events/login-logs/last");
    expect(all.body.map((log: any) => log.id)).toEqual([...ids].reverse());
    const older = await server.json("GET", `/api/data/events/login-logs/last?cursor_login_log_id=${ids[2]}&limit=1`);
    expect(older.body.map((log: any) => log.id)).toEqual([ids[1]]);
    expect((await server.json("GET", `/api/data/events/login-logs/last?after=2024-05-01T12:00:00&before=2024-05-03`)).body.map((log: any) => log.id)).toEqual([ids[1]]);
    for (const cursor of [UNKNOWN_ID, "nope"]) {
      const refused = await server.json("GET", `/api/data/events/login-logs/last?cursor_login_log_id=${cursor}`);
      expect(refused.status).toBe(400);
      expect(refused.body.message).toBe(`Invalid cursor_login_log_id: ${cursor}`);
    }
  });
});

describe("chats", () => {
  test("join, post, read and delete messages; events are live only", async () => {
    const heard: string[] = [];
    const stop = server.events.subscribe((event) => heard.push(event.name));
    const chat = await server.json("GET", `/api/data/entities/${fixture.shotId}/chat`, { token: artist.token });
    expect(chat.status).toBe(200);
    expect(chat.body).toMatchObject({ type: "Chat", object_id: fixture.shotId, participants: [], messages: [] });
    const notParticipant = await server.json("POST", `/api/data/entities/${fixture.shotId}/chat/messages`, { token: artist.token, body: { message: "Hi" } });
    expect(notParticipant.status).toBe(400);
    expect((await server.json("POST", `/api/actions/user/chats/${fixture.shotId}/join`, { token: artist.token })).status).toBe(200);
    const posted = await server.json("POST", `/api/data/entities/${fixture.shotId}/chat/messages`, { token: artist.token, body: { message: "Hi" } });
    expect(posted.status).toBe(201);
    expect(posted.body).toMatchObject({ type: "ChatMessage", text: "Hi", person_id: artist.id });
    expect("attachment_files" in posted.body).toBe(false);
    expect((await server.json("POST", `/api/data/entities/${fixture.shotId}/chat/messages`, { token: artist.token, body: {} })).status).toBe(400);
    const messages = await server.json("GET", `/api/data/entities/${fixture.shotId}/chat/messages`, { token: manager.token });
    expect(messages.body.map((m: any) => m.id)).toEqual([posted.body.id]);
    const one = await server.json("GET", `/api/data/entities/${fixture.shotId}/chat/messages/${posted.body.id}`, { token: manager.token });
    expect(one.body.text).toBe("Hi");
    const mine = await server.json("GET", "/api/data/user/chats", { token: artist.token });
    expect(mine.body).toHaveLength(1);
    expect(mine.body[0]).toMatchObject({ object_id: fixture.shotId, entity_name: "SQ01 / SH010", project_id: fixture.project.id });
    expect((await server.json("DELETE", `/api/data/entities/${fixture.shotId}/chat/messages/${posted.body.id}`, { token: manager.token })).status).toBe(403);
    expect((await server.json("DELETE", `/api/data/entities/${fixture.shotId}/chat/messages/${posted.body.id}`, { token: artist.token })).status).toBe(204);
    expect((await server.json("GET", `/api/data/entities/${fixture.shotId}/chat/messages/${posted.body.id}`, { token: artist.token })).status).toBe(404);
    expect((await server.json("DELETE", `/api/actions/user/chats/${fixture.shotId}/join`, { token: artist.token })).status).toBe(204);
    expect((await server.json("GET", "/api/data/user/chats", { token: artist.token })).body).toEqual([]);
    stop();
    expect(heard).toEqual(expect.arrayContaining(["chat:joined", "chat:new-message", "chat:deleted-message", "chat:left"]));
    const stored = (await server.db.selectFrom("api_event").select("name").where("name", "like", "chat:%").execute()).length;
    expect(stored).toBe(0);
  });

  test("multipart messages with attachments", async () => {
    await server.json("POST", `/api/actions/user/chats/${fixture.shotId}/join`, { token: manager.token });
    const form = new FormData();
    form.append("message", "With a file");
    form.append("file", new File(["hello"], "notes.txt", { type: "text/plain" }));
    const posted = await server.json("POST", `/api/data/entities/${fixture.shotId}/chat/messages`, { token: manager.token, body: form });
    expect(posted.status).toBe(201);
    expect(posted.body.attachment_files).toHaveLength(1);
    expect(posted.body.attachment_files[0]).toMatchObject({ name: "notes.txt", extension: "txt" });
    const listed = await server.json("GET", `/api/data/entities/${fixture.shotId}/chat/messages`, { token: manager.token });
    expect(listed.body[0].attachment_files[0].name).toBe("notes.txt");
  });

  test("403 for non-members and unassigned vendors, 404 unknown entity, bots refused on join", async () => {
    expect((await server.json("GET", `/api/data/entities/${fixture.shotId}/chat`, { token: outsider.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/entities/${fixture.shotId}/chat/messages`, { token: vendor.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/entities/${UNKNOWN_ID}/chat`)).status).toBe(404);
    expect((await server.json("POST", `/api/actions/user/chats/${fixture.shotId}/join`, { token: outsider.token })).status).toBe(403);
    const robot = await bot(server);
    expect((await server.json("POST", `/api/actions/user/chats/${fixture.shotId}/join`, { token: robot.token })).status).toBe(403);
  });
});
