import { sql } from "kysely";
import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type Person, type TestServer } from "./helpers";
import { fixtures, type Fixtures } from "./tasks-fixtures";

let server: TestServer;
let fx: Fixtures;
let manager: Person;
let artist: Person;
let supervisor: Person;
let vendor: Person;
let outsider: Person;
let project: any;
let other: any;
let sequenceId: string;
let animation: { id: string; department_id: string | null };
const UNKNOWN = "7a3c5b0e-1f2d-4c3b-9a8e-123456789abc";

beforeAll(async () => {
  server = await makeServer();
  fx = fixtures(server);
  manager = await server.person("manager");
  artist = await server.person("user");
  supervisor = await server.person("supervisor");
  vendor = await server.person("vendor");
  outsider = await server.person("user");
  project = await server.project("Crud Tasks", [manager, artist, supervisor, vendor]);
  other = await server.project("Elsewhere", [outsider]);
  sequenceId = await fx.sequence(project.id, "SQ01");
  animation = await fx.taskType("Animation");
});

async function newTask(projectId: string, name: string, fields: Record<string, unknown> = {}): Promise<string> {
  const seq = projectId === project.id ? sequenceId : await fx.sequence(projectId, `SQ-${name}`);
  const shot = await fx.shot(projectId, seq, name);
  return fx.task(projectId, shot, animation.id, fields);
}

describe("task crud", () => {
  let t1: string;
  let t2: string;
  let foreign: string;
  beforeAll(async () => {
    t1 = await newTask(project.id, "SH01");
    t2 = await newTask(project.id, "SH02");
    foreign = await newTask(other.id, "SHX");
    await fx.assign(t1, vendor);
  });

  test("lists are scoped: members see open member projects, vendors their assignments (vector 47)", async () => {
    const ids = async (token: string) => (await server.json("GET", "/api/data/tasks", { token })).body.map((t: any) => t.id).sort();
    expect(await ids(artist.token)).toEqual([t1, t2].sort());
    expect(await ids(vendor.token)).toEqual([t1]);
    expect(await ids(outsider.token)).toEqual([foreign]);
    const stranger = await server.person("user");
    expect(await ids(stranger.token)).toEqual([]);
    expect((await ids(server.admin.token)).length).toBe(3);
  });

  test("artists with a vendor link role only see their assignments on that project", async () => {
    const linked = await server.person("user");
    await server.addToTeam(project.id, linked, "vendor");
    const list = await server.json("GET", "/api/data/tasks", { token: linked.token });
    expect(list.body).toEqual([]);
    expect((await server.json("GET", `/api/data/tasks/${t2}`, { token: linked.token })).status).toBe(403);
  });

  test("read one: member yes, vendor only assigned entities, outsider 403, 404 unknown, 400 malformed", async () => {
    const read = await server.json("GET", `/api/data/tasks/${t1}`, { token: artist.token });
    expect(read.status).toBe(200);
    expect(read.body.assignees).toEqual([vendor.id]);
    expect((await server.json("GET", `/api/data/tasks/${t1}`, { token: vendor.token })).status).toBe(200);
    expect((await server.json("GET", `/api/data/tasks/${t2}`, { token: vendor.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/tasks/${t1}`, { token: outsider.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/tasks/${UNKNOWN}`)).status).toBe(404);
    expect((await server.json("GET", "/api/data/tasks/not-an-id")).status).toBe(400);
  });

  test("episode_id filter goes through the parent sequence", async () => {
    const episode = await fx.episode(project.id, "E01");
    const seq = await fx.sequence(project.id, "SQ-E01", episode);
    const shot = await fx.shot(project.id, seq, "SH-E01");
    const inEpisode = await fx.task(project.id, shot, animation.id);
    const { status, body } = await server.json("GET", `/api/data/tasks?episode_id=${episode}`, { token: manager.token });
    expect(status).toBe(200);
    expect(body.map((t: any) => t.id)).toEqual([inEpisode]);
    expect((await server.json("GET", "/api/data/tasks?episode_id=bad", { token: manager.token })).status).toBe(400);
  });

  test("PUT: managers anything; supervisors planning fields of their departments; artists 403; data merged", async () => {
    const t = await newTask(project.id, "SH10", { data: JSON.stringify({ a: 1 }) });
    const byManager = await server.json("PUT", `/api/data/tasks/${t}`, { token: manager.token, body: { name: "renamed", data: { b: 2 } } });
    expect(byManager.status).toBe(200);
    expect(byManager.body.name).toBe("renamed");
    expect(byManager.body.data).toEqual({ a: 1, b: 2 });
    expect((await server.json("PUT", `/api/data/tasks/${t}`, { token: artist.token, body: { priority: 2 } })).status).toBe(403);
    expect((await server.json("PUT", `/api/data/tasks/${t}`, { token: supervisor.token, body: { priority: 2, due_date: "2024-05-01" } })).status).toBe(200);
    expect((await server.json("PUT", `/api/data/tasks/${t}`, { token: supervisor.token, body: { name: "no" } })).status).toBe(403);
    const lead = await server.person("supervisor");
    await server.addToTeam(project.id, lead);
    await fx.joinDepartment(lead, await fx.department("Modeling"));
    expect((await server.json("PUT", `/api/data/tasks/${t}`, { token: lead.token, body: { priority: 1 } })).status).toBe(403);
    const bad = await server.json("PUT", `/api/data/tasks/${t}`, { token: manager.token, body: { due_date: "not a date" } });
    expect(bad.status).toBe(400);
    const event = await server.db.selectFrom("api_event").select("name").where("name", "=", "task:update").where(sql`cast(data as text)`, "like", `%${t}%`).executeTakeFirst();
    expect(event).toBeDefined();
  });

  test("DELETE: manager of the project; artists 403; unknown 404", async () => {
    const t = await newTask(project.id, "SH20");
    expect((await server.request("DELETE", `/api/data/tasks/${t}`, { token: artist.token })).status).toBe(403);
    expect((await server.request("DELETE", `/api/data/tasks/${UNKNOWN}`, { token: manager.token })).status).toBe(404);
    expect((await server.request("DELETE", `/api/data/tasks/${t}`, { token: manager.token })).status).toBe(204);
  });
});

describe("preview file crud (vectors 45, 46)", () => {
  let assignedPreview: string;
  let otherPreview: string;
  let foreignPreview: string;
  beforeAll(async () => {
    const t1 = await newTask(project.id, "SH30");
    const t2 = await newTask(project.id, "SH31");
    const t3 = await newTask(other.id, "SH32");
    await fx.assign(t1, vendor);
    await fx.assign(t1, artist);
    const insert = async (taskId: string) => {
      const id = crypto.randomUUID();
      await server.db.insertInto("preview_file").values({ id, name: id.slice(0, 13), task_id: taskId, revision: 1, position: 1, extension: "png", status: "ready" } as any).execute();
      return id;
    };
    assignedPreview = await insert(t1);
    otherPreview = await insert(t2);
    foreignPreview = await insert(t3);
  });

  test("artists read previews of their projects only; vendors of their assigned tasks only", async () => {
    expect((await server.json("GET", `/api/data/preview-files/${otherPreview}`, { token: artist.token })).status).toBe(200);
    expect((await server.json("GET", `/api/data/preview-files/${foreignPreview}`, { token: artist.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/preview-files/${otherPreview}`, { token: vendor.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/preview-files/${assignedPreview}`, { token: vendor.token })).status).toBe(200);
    const list = await server.json("GET", "/api/data/preview-files", { token: vendor.token });
    expect(list.body.map((p: any) => p.id)).toEqual([assignedPreview]);
    const artistList = await server.json("GET", "/api/data/preview-files", { token: artist.token });
    expect(artistList.body.map((p: any) => p.id).sort()).toEqual([assignedPreview, otherPreview].sort());
  });

  test("update: manager or assignee of the preview's task; delete: manager", async () => {
    expect((await server.json("PUT", `/api/data/preview-files/${assignedPreview}`, { token: artist.token, body: { description: "mine" } })).status).toBe(200);
    expect((await server.json("PUT", `/api/data/preview-files/${otherPreview}`, { token: artist.token, body: { description: "not mine" } })).status).toBe(403);
    expect((await server.json("PUT", `/api/data/preview-files/${otherPreview}`, { token: manager.token, body: { validation_status: "validated" } })).status).toBe(200);
    expect((await server.json("PUT", `/api/data/preview-files/${otherPreview}`, { token: manager.token, body: { validation_status: "great" } })).status).toBe(400);
    expect((await server.request("DELETE", `/api/data/preview-files/${otherPreview}`, { token: artist.token })).status).toBe(403);
    expect((await server.request("DELETE", `/api/data/preview-files/${otherPreview}`, { token: manager.token })).status).toBe(204);
    const event = await server.db.selectFrom("api_event").select("name").where("name", "=", "preview-file:delete").where(sql`cast(data as text)`, "like", `%${otherPreview}%`).executeTakeFirst();
    expect(event).toBeDefined();
  });
});

describe("admin-only models (vector 25) and attachment files", () => {
  test("news, notifications, subscriptions are admin only", async () => {
    for (const route of ["news", "notifications", "subscriptions"]) {
      expect((await server.json("GET", `/api/data/${route}`, { token: manager.token })).status).toBe(403);
      expect((await server.json("GET", `/api/data/${route}`)).status).toBe(200);
    }
  });

  test("notifications crud serializes the type as notification_type", async () => {
    const t = await newTask(project.id, "SH40");
    await server.json("PUT", `/api/actions/tasks/${t}/assign`, { token: manager.token, body: { person_id: artist.id } });
    const { body } = await server.json("GET", `/api/data/notifications?person_id=${artist.id}`);
    expect(body[0].type).toBe("Notification");
    expect(body[0].notification_type).toBe("assignation");
  });

  test("attachment files: readable through the comment's task; 403 when attached to nothing", async () => {
    const t = await newTask(project.id, "SH41");
    const wip = await fx.status("wip");
    const form = new FormData();
    form.append("task_status_id", wip.id);
    form.append("file-0", new File(["x"], "x.txt", { type: "text/plain" }));
    const created = await (await server.request("POST", `/api/actions/tasks/${t}/comment`, { token: manager.token, body: form })).json();
    const attachmentId = created.attachment_files[0].id;
    const read = await server.json("GET", `/api/data/attachment-files/${attachmentId}`, { token: artist.token });
    expect(read.status).toBe(200);
    expect(read.body.comment.id).toBe(created.id);
    expect(read.body.chat_message).toBeNull();
    expect((await server.json("GET", `/api/data/attachment-files/${attachmentId}`, { token: outsider.token })).status).toBe(403);
    const orphan = crypto.randomUUID();
    await server.db.insertInto("attachment_file").values({ id: orphan, name: "o.txt", extension: "txt", size: 1 } as any).execute();
    expect((await server.json("GET", `/api/data/attachment-files/${orphan}`)).status).toBe(403);
    const list = await server.json("GET", "/api/data/attachment-files");
    expect(list.body.find((file: any) => file.id === attachmentId).comment.id).toBe(created.id);
    expect(list.body.find((file: any) => file.id === orphan)).toMatchObject({ comment: null, chat_message: null });
  });

  test("comment crud: list admin only; delete own, others need a manager", async () => {
    const t = await newTask(project.id, "SH42");
    await fx.assign(t, artist);
    const wip = await fx.status("wip");
    const mine = await server.json("POST", `/api/actions/tasks/${t}/comment`, { token: artist.token, body: { task_status_id: wip.id } });
    expect((await server.json("GET", "/api/data/comments", { token: artist.token })).status).toBe(403);
    expect((await server.request("DELETE", `/api/data/comments/${mine.body.id}`, { token: supervisor.token })).status).toBe(403);
    expect((await server.request("DELETE", `/api/data/comments/${mine.body.id}`, { token: artist.token })).status).toBe(204);
  });
});
