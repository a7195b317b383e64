import { sql } from "kysely";
import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type Person, type TestServer } from "./helpers";
import { fixtures, type Fixtures } from "./tasks-fixtures";

let server: TestServer;
let fx: Fixtures;
let manager: Person;
let artist: Person;
let otherArtist: Person;
let supervisor: Person;
let vendor: Person;
let client: Person;
let outsider: Person;
let project: any;
let sequenceId: string;
let animation: { id: string; department_id: string | null };
let layout: { id: string; department_id: string | null };
const statuses: Record<string, any> = {};
const UNKNOWN = "7a3c5b0e-1f2d-4c3b-9a8e-123456789abc";

beforeAll(async () => {
  server = await makeServer();
  fx = fixtures(server);
  manager = await server.person("manager", { first_name: "Maya", last_name: "Manager" });
  artist = await server.person("user", { first_name: "Arthur", last_name: "Artist" });
  otherArtist = await server.person("user", { first_name: "Olga", last_name: "Other" });
  supervisor = await server.person("supervisor", { first_name: "Sam", last_name: "Super" });
  vendor = await server.person("vendor", { first_name: "Vic", last_name: "Vendor" });
  client = await server.person("client", { first_name: "Cleo", last_name: "Client" });
  outsider = await server.person("user");
  project = await server.project("Comments Project", [manager, artist, otherArtist, supervisor, vendor, client]);
  sequenceId = await fx.sequence(project.id, "SQ01");
  animation = await fx.taskType("Animation");
  layout = await fx.taskType("Layout");
  for (const short of ["todo", "wip", "wfa", "retake", "done"]) statuses[short] = await fx.status(short);
});

async function newTask(name: string, assignee: Person | null = artist, taskTypeId = animation.id): Promise<string> {
  const shotId = await fx.shot(project.id, sequenceId, name);
  const taskId = await fx.task(project.id, shotId, taskTypeId);
  if (assignee) await fx.assign(taskId, assignee);
  return taskId;
}

const comment = (taskId: string, token: string, body: Record<string, unknown>) =>
  server.json("POST", `/api/actions/tasks/${taskId}/comment`, { token, body });

async function eventNames(filter: string): Promise<string[]> {
  const rows = await server.db.selectFrom("api_event").select("name").where(sql`cast(data as text)`, "like", `%${filter}%`).orderBy("created_at").execute();
  return rows.map((row) => row.name);
}

describe("commenting a task", () => {
  test("status changes drive the task: real start, end date, retakes, done date, last comment date", async () => {
    const taskId = await newTask("SH01");
    const wip = await comment(taskId, artist.token, { task_status_id: statuses.wip.id, comment: "started" });
    expect(wip.status).toBe(201);
    expect(wip.body.object_id).toBe(taskId);
    expect(wip.body.text).toBe("started");
    expect(wip.body.task_status.short_name).toBe("wip");
    expect(wip.body.person.id).toBe(artist.id);
    expect(wip.body.attachment_files).toEqual([]);
    let task = await fx.getTask(taskId);
    expect(task.task_status_id).toBe(statuses.wip.id);
    expect(task.real_start_date).toBe(wip.body.created_at);
    expect(task.last_comment_date).toBe(wip.body.created_at);
    const wfa = await comment(taskId, artist.token, { task_status_id: statuses.wfa.id, comment: "please check" });
    task = await fx.getTask(taskId);
    expect(task.end_date).toBe(wfa.body.created_at);
    const retake = await comment(taskId, manager.token, { task_status_id: statuses.retake.id, comment: "again" });
    expect(retake.status).toBe(201);
    task = await fx.getTask(taskId);
    expect(task.retake_count).toBe(1);
    expect(task.end_date).toBeNull();
    expect(task.real_start_date).toBe(wip.body.created_at);
    await comment(taskId, manager.token, { task_status_id: statuses.done.id, comment: "good" });
    task = await fx.getTask(taskId);
    expect(task.done_date).not.toBeNull();
    const names = await eventNames(taskId);
    expect(names).toContain("comment:new");
    expect(names).toContain("task:status-changed");
    expect(names).toContain("task:to-review");
    expect(names).toContain("task:update");
  });

  test("400 without a status, 404 unknown status or task, 403 for a non-member", async () => {
    const taskId = await newTask("SH02");
    const missing = await comment(taskId, artist.token, { comment: "x" });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toBe("Validation error.");
    expect((await comment(taskId, artist.token, { task_status_id: UNKNOWN })).status).toBe(404);
    expect((await comment(UNKNOWN, artist.token, { task_status_id: statuses.wip.id })).status).toBe(404);
    expect((await comment(taskId, outsider.token, { task_status_id: statuses.wip.id })).status).toBe(403);
  });

  test("managers may set person, date and for_client; others may not", async () => {
    const taskId = await newTask("SH03");
    const byManager = await comment(taskId, manager.token, {
      task_status_id: statuses.todo.id, comment: "note", person_id: artist.id, created_at: "2024-01-02 10:00:00", for_client: true,
    });
    expect(byManager.body.person_id).toBe(artist.id);
    expect(byManager.body.created_at).toBe("2024-01-02T10:00:00");
    expect(byManager.body.for_client).toBe(true);
    const byArtist = await comment(taskId, artist.token, {
      task_status_id: statuses.todo.id, comment: "note", person_id: manager.id, created_at: "2024-01-02 10:00:00", for_client: true,
    });
    expect(byArtist.body.person_id).toBe(artist.id);
    expect(byArtist.body.for_client).toBe(false);
    expect(byArtist.body.created_at).not.toBe("2024-01-02T10:00:00");
  });

  test("retakes are capped by the project's max_retakes", async () => {
    const capped = await server.project("Capped", [manager, artist], { max_retakes: 1 });
    const seq = await fx.sequence(capped.id, "SQ");
    const shot = await fx.shot(capped.id, seq, "SH");
    const taskId = await fx.task(capped.id, shot, animation.id);
    expect((await comment(taskId, manager.token, { task_status_id: statuses.retake.id })).status).toBe(201);
    await comment(taskId, manager.token, { task_status_id: statuses.wip.id });
    const refused = await comment(taskId, manager.token, { task_status_id: statuses.retake.id });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toBe("No more retakes allowed on this task");
  });

  test("artists only set statuses allowed to artists; clients only client-allowed ones", async () => {
    const locked = await server.db.insertInto("task_status").values({
      id: crypto.randomUUID(), name: "Locked", short_name: "lock", color: "#000000", is_artist_allowed: false, is_client_allowed: false,
    } as any).returning("id").executeTakeFirstOrThrow();
    const taskId = await newTask("SH04");
    expect((await comment(taskId, artist.token, { task_status_id: locked.id })).status).toBe(403);
    expect((await comment(taskId, client.token, { task_status_id: locked.id })).status).toBe(403);
    expect((await comment(taskId, client.token, { task_status_id: statuses.wip.id, comment: "client note" })).status).toBe(201);
    expect((await comment(taskId, manager.token, { task_status_id: locked.id })).status).toBe(201);
  });

  test("mention rule (vectors 28-35)", async () => {
    const taskId = await newTask("SH05");
    const current = (await fx.getTask(taskId)).task_status_id;
    expect((await comment(taskId, otherArtist.token, { task_status_id: current, comment: "me too" })).status).toBe(403);
    await comment(taskId, manager.token, { task_status_id: current, comment: "@Olga Other have a look" });
    expect((await comment(taskId, otherArtist.token, { task_status_id: current, comment: "ok" })).status).toBe(201);
    expect((await comment(taskId, otherArtist.token, { task_status_id: statuses.wip.id })).status).toBe(403);
    await comment(taskId, manager.token, { task_status_id: current, comment: "@Vic Vendor too" });
    expect((await comment(taskId, vendor.token, { task_status_id: current })).status).toBe(403);
    const first = await comment(taskId, manager.token, { task_status_id: current, comment: "thread" });
    expect((await server.json("POST", `/api/actions/tasks/${taskId}/comments/${first.body.id}/add-preview`, { token: otherArtist.token, body: {} })).status).toBe(403);
    const reply = await server.json("POST", `/api/data/tasks/${taskId}/comments/${first.body.id}/reply`, { token: otherArtist.token, body: { text: "answer" } });
    expect(reply.status).toBe(200);
    const own = await comment(taskId, otherArtist.token, { task_status_id: current, comment: "mine" });
    expect((await server.json("PUT", `/api/data/comments/${own.body.id}`, { token: otherArtist.token, body: { task_status_id: statuses.wip.id } })).status).toBe(403);
    const assignedOwn = await comment(taskId, artist.token, { task_status_id: current, comment: "assigned" });
    expect((await server.json("PUT", `/api/data/comments/${assignedOwn.body.id}`, { token: artist.token, body: { task_status_id: statuses.wip.id } })).status).toBe(200);
    expect((await fx.getTask(taskId)).task_status_id).toBe(statuses.wip.id);
    await server.db.deleteFrom("project_person_link").where("project_id", "=", project.id).where("person_id", "=", otherArtist.id).execute();
    expect((await comment(taskId, otherArtist.token, { task_status_id: statuses.wip.id, comment: "gone" })).status).toBe(403);
    await server.addToTeam(project.id, otherArtist);
  });

  test("department mentions grant the mention rule to the department's members", async () => {
    const taskId = await newTask("SH06");
    const department = await fx.department("Layout");
    const layouter = await server.person("user");
    await server.addToTeam(project.id, layouter);
    await fx.joinDepartment(layouter, department);
    const current = (await fx.getTask(taskId)).task_status_id;
    await comment(taskId, manager.token, { task_status_id: current, comment: "@Layout please" });
    expect((await comment(taskId, layouter.token, { task_status_id: current, comment: "on it" })).status).toBe(201);
  });
});

describe("attachments", () => {
  test("multipart comments store file-N attachments, downloadable, removable", async () => {
    const taskId = await newTask("SH10");
    const form = new FormData();
    form.append("task_status_id", statuses.wip.id);
    form.append("comment", "with files");
    form.append("checklist", JSON.stringify([{ text: "check", checked: false }]));
    form.append("file-0", new File(["hello world"], "notes.txt", { type: "text/plain" }));
    form.append("file-1", new File([new Uint8Array([1, 2, 3])], "data.BIN", { type: "application/octet-stream" }));
    const response = await server.request("POST", `/api/actions/tasks/${taskId}/comment`, { token: artist.token, body: form });
    expect(response.status).toBe(201);
    const created = await response.json();
    expect(created.checklist).toEqual([{ text: "check", checked: false }]);
    expect(created.attachment_files.map((a: any) => [a.name, a.extension, a.size])).toEqual([["notes.txt", "txt", 11], ["data.BIN", "bin", 3]]);
    const attachment = created.attachment_files[0];
    const download = await server.request("GET", `/api/data/attachment-files/${attachment.id}/file/notes.txt`, { token: artist.token });
    expect(download.status).toBe(200);
    expect(download.headers.get("content-type")).toContain("text/plain");
    expect(await download.text()).toBe("hello world");
    expect((await server.request("GET", `/api/data/attachment-files/${attachment.id}/file/notes.txt`, { token: outsider.token })).status).toBe(403);
    expect((await server.request("GET", `/api/data/attachment-files/${UNKNOWN}/file/notes.txt`)).status).toBe(404);

    const listed = await server.json("GET", `/api/data/tasks/${taskId}/attachment-files`);
    expect(listed.body.map((a: any) => a.id).sort()).toEqual(created.attachment_files.map((a: any) => a.id).sort());
    expect(listed.body[0].comment.id).toBe(created.id);
    expect((await server.json("GET", `/api/data/tasks/${taskId}/attachment-files`, { token: manager.token })).status).toBe(403);
    const projectList = await server.json("GET", `/api/data/projects/${project.id}/attachment-files`);
    expect(projectList.body.length).toBeGreaterThanOrEqual(2);

    const add = new FormData();
    add.append("file-0", new File(["more"], "more.txt", { type: "text/plain" }));
    const heard: string[] = [];
    const stopListening = server.events.subscribe((event) => heard.push(event.name));
    const added = await server.request("POST", `/api/actions/tasks/${taskId}/comments/${created.id}/add-attachment`, { token: artist.token, body: add });
    stopListening();
    expect(added.status).toBe(201);
    // Zou's route announces nothing: no comment:update in the event log for it.
    expect(heard).toEqual([]);
    const addedBody = await added.json();
    expect(addedBody.map((a: any) => a.name)).toEqual(["more.txt"]);
    const refused = new FormData();
    refused.append("file-0", new File(["x"], "x.txt"));
    expect((await server.request("POST", `/api/actions/tasks/${taskId}/comments/${created.id}/add-attachment`, { token: otherArtist.token, body: refused })).status).toBe(403);
    expect((await server.json("POST", `/api/actions/tasks/${taskId}/comments/${created.id}/add-attachment`, { token: artist.token, body: { file: "no" } })).status).toBe(400);
    expect((await server.json("POST", `/api/actions/tasks/${taskId}/comments/${UNKNOWN}/add-attachment`, { token: artist.token, body: {} })).status).toBe(404);

    const path = `/api/data/tasks/${taskId}/comments/${created.id}/attachments/${attachment.id}`;
    expect((await server.request("DELETE", path, { token: otherArtist.token })).status).toBe(403);
    expect((await server.request("DELETE", `/api/data/tasks/${taskId}/comments/${created.id}/attachments/${UNKNOWN}`, { token: artist.token })).status).toBe(404);
    expect((await server.request("DELETE", path, { token: artist.token })).status).toBe(204);
    expect((await server.request("GET", `/api/data/attachment-files/${attachment.id}/file/notes.txt`, { token: artist.token })).status).toBe(404);
  });

  test("a broken checklist is a 400", async () => {
    const taskId = await newTask("SH11");
    const form = new FormData();
    form.append("task_status_id", statuses.wip.id);
    form.append("checklist", "{not json");
    const response = await server.request("POST", `/api/actions/tasks/${taskId}/comment`, { token: artist.token, body: form });
    expect(response.status).toBe(400);
  });
});

describe("reading comments", () => {
  let taskId: string;
  let studioComment: any;
  let clientComment: any;
  let forClientComment: any;
  beforeAll(async () => {
    taskId = await newTask("SH20");
    studioComment = (await comment(taskId, manager.token, { task_status_id: statuses.wip.id, comment: "internal" })).body;
    clientComment = (await comment(taskId, client.token, { task_status_id: statuses.wip.id, comment: "from client" })).body;
    forClientComment = (await comment(taskId, manager.token, { task_status_id: statuses.wip.id, comment: "shared", for_client: true })).body;
  });

  test("newest first, with person, status, previews, acknowledgements", async () => {
    const { status, body } = await server.json("GET", `/api/data/tasks/${taskId}/comments`, { token: manager.token });
    expect(status).toBe(200);
    expect(body.map((c: any) => c.id)).toEqual([forClientComment.id, clientComment.id, studioComment.id]);
    expect(body[0].person).toEqual({ first_name: "Maya", last_name: "Manager", full_name: "Maya Manager", has_avatar: false, id: manager.id, role: "manager" });
    expect(body[0].task_status).toMatchObject({ short_name: "wip", id: statuses.wip.id });
    for (const key of ["acknowledgements", "previews", "mentions", "attachment_files", "replies"]) expect(body[0][key]).toEqual([]);
  });

  test("artists do not see client comments; clients see theirs and for_client ones without studio authors", async () => {
    const asArtist = await server.json("GET", `/api/data/tasks/${taskId}/comments`, { token: artist.token });
    expect(asArtist.body.map((c: any) => c.id)).toEqual([forClientComment.id, studioComment.id]);
    const asClient = await server.json("GET", `/api/data/tasks/${taskId}/comments`, { token: client.token });
    expect(asClient.body.map((c: any) => c.id)).toEqual([forClientComment.id, clientComment.id]);
    expect(asClient.body[0].person).toBeNull();
    expect(asClient.body[1].person.id).toBe(client.id);
  });

  test("single comment reads (vectors 26, 27)", async () => {
    expect((await server.json("GET", `/api/data/comments/${studioComment.id}`, { token: client.token })).status).toBe(403);
    const shared = await server.json("GET", `/api/data/comments/${forClientComment.id}`, { token: client.token });
    expect(shared.status).toBe(200);
    expect(shared.body.person).toBeNull();
    expect(shared.body.editor_id).toBeNull();
    const asManager = await server.json("GET", `/api/data/comments/${studioComment.id}?relations=true`, { token: manager.token });
    expect(asManager.body.person.full_name).toBe("Maya Manager");
    expect(asManager.body.previews).toEqual([]);
    expect((await server.json("GET", `/api/data/tasks/${taskId}/comments/${clientComment.id}`, { token: artist.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/tasks/${taskId}/comments/${studioComment.id}`, { token: artist.token })).status).toBe(200);
    expect((await server.json("GET", `/api/data/tasks/${taskId}/comments/${UNKNOWN}`, { token: artist.token })).status).toBe(404);
    expect((await server.json("GET", "/api/data/comments", { token: manager.token })).status).toBe(403);
  });

  test("client comments with a studio preview are kept but blanked", async () => {
    const t = await newTask("SH21");
    const review = (await comment(t, artist.token, { task_status_id: statuses.wfa.id, comment: "secret text" })).body;
    await server.json("POST", `/api/actions/tasks/${t}/comments/${review.id}/add-preview`, { token: artist.token, body: {} });
    const asClient = await server.json("GET", `/api/data/tasks/${t}/comments`, { token: client.token });
    expect(asClient.body).toHaveLength(1);
    expect(asClient.body[0].text).toBe("");
    expect(asClient.body[0].previews).toHaveLength(1);
  });
});

describe("acknowledgements and replies", () => {
  test("ack toggles the caller's acknowledgement", async () => {
    const taskId = await newTask("SH30");
    const c1 = (await comment(taskId, manager.token, { task_status_id: statuses.wip.id, comment: "hi" })).body;
    const path = `/api/data/tasks/${taskId}/comments/${c1.id}/ack`;
    const on = await server.json("POST", path, { token: artist.token });
    expect(on.status).toBe(200);
    expect(on.body.acknowledgements).toEqual([artist.id]);
    const off = await server.json("POST", path, { token: artist.token });
    expect(off.body.acknowledgements).toEqual([]);
    expect((await server.json("POST", path, { token: outsider.token })).status).toBe(403);
    expect((await server.json("POST", `/api/data/tasks/${taskId}/comments/${UNKNOWN}/ack`, { token: artist.token })).status).toBe(404);
  });

  test("replies: append, delete by author or admin only", async () => {
    const taskId = await newTask("SH31");
    const c1 = (await comment(taskId, manager.token, { task_status_id: statuses.wip.id, comment: "question" })).body;
    const reply = await server.json("POST", `/api/data/tasks/${taskId}/comments/${c1.id}/reply`, { token: artist.token, body: { text: "answer @Maya Manager" } });
    expect(reply.status).toBe(200);
    expect(reply.body.text).toBe("answer @Maya Manager");
    expect(reply.body.person_id).toBe(artist.id);
    expect(reply.body.mentions).toEqual([manager.id]);
    expect((await server.json("POST", `/api/data/tasks/${taskId}/comments/${c1.id}/reply`, { token: outsider.token, body: { text: "x" } })).status).toBe(403);
    expect((await server.json("POST", `/api/data/tasks/${taskId}/comments/${c1.id}/reply`, { token: artist.token, body: { text: 3 } })).status).toBe(400);
    const stored = await server.json("GET", `/api/data/comments/${c1.id}`);
    expect(stored.body.replies[0].person.id).toBe(artist.id);
    const path = `/api/data/tasks/${taskId}/comments/${c1.id}/reply/${reply.body.id}`;
    expect((await server.json("DELETE", path, { token: manager.token })).status).toBe(403);
    expect((await server.json("DELETE", `/api/data/tasks/${taskId}/comments/${c1.id}/reply/${UNKNOWN}`, { token: artist.token })).status).toBe(404);
    const deleted = await server.json("DELETE", path, { token: artist.token });
    expect(deleted.status).toBe(200);
    expect(deleted.body.replies).toEqual([]);
  });
});

describe("editing and deleting comments", () => {
  test("authors edit text (mentions recomputed), status edits recompute the task", async () => {
    const taskId = await newTask("SH40");
    const c1 = (await comment(taskId, artist.token, { task_status_id: statuses.wip.id, comment: "v1" })).body;
    const edited = await server.json("PUT", `/api/data/comments/${c1.id}`, { token: artist.token, body: { text: "v2 @Maya Manager", task_status_id: statuses.wfa.id } });
    expect(edited.status).toBe(200);
    expect(edited.body.text).toBe("v2 @Maya Manager");
    expect(edited.body.editor_id).toBe(artist.id);
    const mentions = await server.db.selectFrom("comment_mentions").select("person").where("comment", "=", c1.id).execute();
    expect(mentions.map((m) => m.person)).toEqual([manager.id]);
    expect((await fx.getTask(taskId)).task_status_id).toBe(statuses.wfa.id);
    const names = await eventNames(c1.id);
    expect(names.filter((n) => n === "comment:update").length).toBe(2);
    expect((await server.json("PUT", `/api/data/comments/${c1.id}`, { token: otherArtist.token, body: { text: "hack" } })).status).toBe(403);
    expect((await server.json("PUT", `/api/data/comments/${c1.id}`, { token: artist.token, body: { for_client: true } })).status).toBe(403);
    expect((await server.json("PUT", `/api/data/comments/${c1.id}`, { token: manager.token, body: { for_client: true } })).status).toBe(200);
  });

  test("pin needs a department supervisor; checklist toggles need the assignment", async () => {
    const taskId = await newTask("SH41");
    const c1 = (await comment(taskId, manager.token, { task_status_id: statuses.wip.id, comment: "todo", checklist: [{ text: "a", checked: false }] })).body;
    expect((await server.json("PUT", `/api/data/comments/${c1.id}`, { token: artist.token, body: { pinned: true } })).status).toBe(403);
    expect((await server.json("PUT", `/api/data/comments/${c1.id}`, { token: supervisor.token, body: { pinned: true } })).status).toBe(200);
    const toggled = await server.json("PUT", `/api/data/comments/${c1.id}`, { token: artist.token, body: { checklist: [{ text: "a", checked: true }] } });
    expect(toggled.status).toBe(200);
    expect(toggled.body.checklist).toEqual([{ text: "a", checked: true }]);
    expect((await server.json("PUT", `/api/data/comments/${c1.id}`, { token: otherArtist.token, body: { checklist: [] } })).status).toBe(403);
  });

  test("deleting the last comment restores the previous status; others' comments need a manager", async () => {
    const taskId = await newTask("SH42");
    await comment(taskId, artist.token, { task_status_id: statuses.wip.id, comment: "a" });
    const last = (await comment(taskId, artist.token, { task_status_id: statuses.wfa.id, comment: "b" })).body;
    expect((await server.request("DELETE", `/api/data/tasks/${taskId}/comments/${last.id}`, { token: otherArtist.token })).status).toBe(403);
    expect((await server.request("DELETE", `/api/data/tasks/${taskId}/comments/${UNKNOWN}`, { token: artist.token })).status).toBe(404);
    expect((await server.request("DELETE", `/api/data/tasks/${taskId}/comments/${last.id}`, { token: artist.token })).status).toBe(204);
    const task = await fx.getTask(taskId);
    expect(task.task_status_id).toBe(statuses.wip.id);
    expect(task.end_date).toBeNull();
    const names = await eventNames(last.id);
    expect(names).toContain("comment:delete");
    const statusEvents = await eventNames(taskId);
    expect(statusEvents.filter((n) => n === "task:status-changed").length).toBe(3);
    const first = await server.db.selectFrom("comment").select("id").where("object_id", "=", taskId).executeTakeFirstOrThrow();
    expect((await server.request("DELETE", `/api/data/comments/${first.id}`, { token: manager.token })).status).toBe(204);
    expect((await fx.getTask(taskId)).task_status_id).toBe(statuses.todo.id);
  });
});

describe("comment-many and move", () => {
  test("a manager comments many tasks at once; artists only their tasks", async () => {
    const t1 = await newTask("SH50");
    const t2 = await newTask("SH51", otherArtist);
    const items = [
      { object_id: t1, task_status_id: statuses.retake.id, comment: "retake 1" },
      { object_id: t2, task_status_id: statuses.retake.id, comment: "retake 1" },
    ];
    const path = `/api/actions/projects/${project.id}/tasks/comment-many`;
    const asManager = await server.json("POST", path, { token: manager.token, body: items });
    expect(asManager.status).toBe(201);
    expect(asManager.body.map((c: any) => c.text)).toEqual(["retake 1", "retake 1"]);
    expect((await fx.getTask(t1)).retake_count).toBe(1);
    const asArtist = await server.json("POST", path, { token: artist.token, body: items.map((i) => ({ ...i, task_status_id: statuses.wip.id })) });
    expect(asArtist.status).toBe(201);
    expect(asArtist.body.map((c: any) => c.object_id)).toEqual([t1]);
    expect((await server.json("POST", path, { token: outsider.token, body: items })).status).toBe(403);
    expect((await server.json("POST", path, { token: manager.token, body: { not: "a list" } })).status).toBe(400);
    expect((await server.json("POST", `/api/actions/projects/${UNKNOWN}/tasks/comment-many`, { token: manager.token, body: items })).status).toBe(404);
  });

  test("move a comment onto a sibling task (vector 37)", async () => {
    const from = await newTask("SH60");
    const shot = (await fx.getTask(from)).entity_id;
    const to = await fx.task(project.id, shot, layout.id);
    const c1 = (await comment(from, manager.token, { task_status_id: statuses.wip.id, comment: "wrong task" })).body;
    const path = `/api/actions/tasks/${from}/comments/${c1.id}/move`;
    expect((await server.json("POST", path, { token: artist.token, body: { task_id: to } })).status).toBe(403);
    expect((await server.json("POST", path, { token: manager.token, body: {} })).status).toBe(400);
    const elsewhere = await newTask("SH61");
    expect((await server.json("POST", path, { token: manager.token, body: { task_id: elsewhere } })).status).toBe(400);
    const moved = await server.json("POST", path, { token: manager.token, body: { task_id: to } });
    expect(moved.status).toBe(200);
    expect(moved.body.object_id).toBe(to);
    expect((await fx.getTask(from)).task_status_id).toBe(statuses.todo.id);
    expect((await fx.getTask(to)).task_status_id).toBe(statuses.wip.id);
  });
});

describe("status automations and hashtags", () => {
  test("an automation linked to the project moves the next task", async () => {
    const shot = await fx.shot(project.id, sequenceId, "SH70");
    const layoutTask = await fx.task(project.id, shot, layout.id);
    const animTask = await fx.task(project.id, shot, animation.id);
    const automation = await server.db.insertInto("status_automation").values({
      id: crypto.randomUUID(), entity_type: "shot", in_task_type_id: layout.id, in_task_status_id: statuses.done.id,
      out_field_type: "status", out_task_type_id: animation.id, out_task_status_id: statuses.wip.id,
    } as any).returning("id").executeTakeFirstOrThrow();
    await server.db.insertInto("project_status_automation_link").values({ project_id: project.id, status_automation_id: automation.id }).execute();
    await comment(layoutTask, manager.token, { task_status_id: statuses.done.id, comment: "layout done" });
    const anim = await fx.getTask(animTask);
    expect(anim.task_status_id).toBe(statuses.wip.id);
    const created = await server.db.selectFrom("comment").select("text").where("object_id", "=", animTask).executeTakeFirstOrThrow();
    expect(created.text).toBe("Change triggered by Layout set to Done");
  });

  test("#all copies the comment on sibling tasks without changing their status", async () => {
    const shot = await fx.shot(project.id, sequenceId, "SH71");
    const a = await fx.task(project.id, shot, layout.id);
    const b = await fx.task(project.id, shot, animation.id);
    await comment(a, manager.token, { task_status_id: statuses.wip.id, comment: "note for everyone #all" });
    const copies = await server.db.selectFrom("comment").selectAll().where("object_id", "=", b).execute();
    expect(copies.map((c) => c.text)).toEqual(["note for everyone #all"]);
    expect((await fx.getTask(b)).task_status_id).toBe(statuses.todo.id);
  });
});
