/** The `shared` area through HTTP: guest review of a playlist through a share link, without a JWT. */
import { describe, expect, test, beforeAll } from "bun:test";
import { makeMovie, PNG, playlistWorld, type PlaylistWorld } from "./playlists-fixtures";
import { storedFilePath } from "../src/services/attachments";

let w: PlaylistWorld;
let playlistId: string;
let token: string;
let preview: string;
let movie: string;
let outside: string;
const UNKNOWN = "00000000-0000-4000-8000-000000000000";
const none = { token: null };

async function share(body: Record<string, unknown> = {}): Promise<string> {
  const response = await w.server.json("POST", `/api/data/playlists/${playlistId}/share`, { body });
  expect(response.status).toBe(201);
  return response.body.token;
}

beforeAll(async () => {
  w = await playlistWorld();
  const { server } = w;
  const status = await server.db.selectFrom("task_status").select("id").where("short_name", "=", "wfa").executeTakeFirstOrThrow();
  await server.db.updateTable("task_status").set({ is_client_allowed: false }).execute();
  await server.db.updateTable("task_status").set({ is_client_allowed: true }).where("short_name", "in", ["wfa", "retake"]).execute();
  for (const taskId of [w.task1, w.task2]) await server.db.updateTable("task").set({ task_status_id: status.id }).where("id", "=", taskId).execute();
  preview = await w.preview(w.task1, { revision: 1 });
  movie = await w.preview(w.task2, { revision: 1, extension: "mp4" });
  outside = await w.preview(w.task2, { revision: 1 });
  const other = await w.server.project("Other Show", []);
  const f = (await import("./tasks-fixtures")).fixtures(server);
  const otherShot = await f.shot(other.id, await f.sequence(other.id, "SQ99"), "SH999");
  outside = await w.preview(await f.task(other.id, otherShot, w.animation));
  await w.store("pictures", "thumbnails", preview, PNG);
  await w.store("pictures", "original", preview, PNG);
  await w.store("pictures", "thumbnails", outside, PNG);
  await makeMovie(storedFilePath(server.config.previewFolder, "movies", "previews", movie));
  const pl = await w.playlist({ name: "Client Review", for_client: true });
  playlistId = pl.id;
  await server.json("POST", `/api/actions/playlists/${playlistId}/add-entities`, {
    body: { entities: [{ entity_id: w.shot1, preview_file_id: preview }, { entity_id: w.shot2, preview_file_id: movie }] },
  });
  token = await share();
}, 60_000);

describe("reading a shared playlist", () => {
  test("the playlist with entity names, task type and status colour, project name and fps; no JWT needed", async () => {
    const { status, body } = await w.server.json("GET", `/api/shared/playlists/${token}`, none);
    expect(status).toBe(200);
    expect(body).toMatchObject({ id: playlistId, project_name: "Review Show", project_fps: "25", build_jobs: [] });
    expect(body.shots[0]).toMatchObject({ id: w.shot1, name: "SH010", parent_name: "SQ01", preview_file_id: preview, preview_file_task_id: w.task1, preview_file_annotations: [] });
    expect(body.shots[0].preview_file_task_type).toMatchObject({ id: w.animation, name: "Animation" });
    expect(body.shots[0].task_status_color).toBeString();
  });

  test("context: project, task types, statuses and entities", async () => {
    const { status, body } = await w.server.json("GET", `/api/shared/playlists/${token}/context`, none);
    expect(status).toBe(200);
    expect(body.project).toMatchObject({ id: w.project.id, name: "Review Show", fps: "25", resolution: "320x180", team: [] });
    expect(body.entities.map((e: any) => e.name)).toEqual(["SH010", "SH020"]);
    expect(Array.isArray(body.task_statuses)).toBe(true);
    expect(Array.isArray(body.task_types)).toBe(true);
  });

  test("an unknown token is a 404", async () => {
    for (const path of ["", "/context", "/comments", `/preview-files/${preview}`, `/pictures/thumbnails/preview-files/${preview}.png`]) {
      expect((await w.server.json("GET", `/api/shared/playlists/${UNKNOWN}${path}`, none)).status).toBe(404);
    }
  });

  test("an expired link and a revoked link are refused (404)", async () => {
    const expired = await share({ expiration_date: "2001-01-01T00:00:00" });
    expect((await w.server.json("GET", `/api/shared/playlists/${expired}`, none)).status).toBe(404);
    expect((await w.server.json("GET", `/api/shared/playlists/${expired}/pictures/thumbnails/preview-files/${preview}.png`, none)).status).toBe(404);
    expect((await w.server.json("POST", `/api/shared/playlists/${expired}/guest`, { ...none, body: { first_name: "Late" } })).status).toBe(404);
    const revoked = await share();
    await w.server.json("DELETE", `/api/data/playlists/${playlistId}/share/${revoked}`);
    expect((await w.server.json("GET", `/api/shared/playlists/${revoked}`, none)).status).toBe(404);
  });

  test("a password link: 404 without or with a wrong password, 200 with it; five failures lock it", async () => {
    const locked = await share({ password: "open sesame" });
    expect((await w.server.json("GET", `/api/shared/playlists/${locked}`, none)).status).toBe(404);
    expect((await w.server.json("GET", `/api/shared/playlists/${locked}?password=wrong`, none)).status).toBe(404);
    expect((await w.server.json("GET", `/api/shared/playlists/${locked}/context?password=wrong`, none)).status).toBe(404);
    expect((await w.server.json("GET", `/api/shared/playlists/${locked}/comments`, none)).status).toBe(404);
    expect((await w.server.json("GET", `/api/shared/playlists/${locked}?password=open%20sesame`, none)).status).toBe(200);
    expect((await w.server.json("GET", `/api/shared/playlists/${locked}/context?password=open%20sesame`, none)).status).toBe(200);
    for (let i = 0; i < 5; i++) await w.server.json("GET", `/api/shared/playlists/${locked}?password=guess${i}`, none);
    expect((await w.server.json("GET", `/api/shared/playlists/${locked}?password=open%20sesame`, none)).status).toBe(404);
  });
});

describe("media of a shared playlist", () => {
  test("previews of the playlist's entities only; files served with their types; 404 when missing", async () => {
    const { server } = w;
    const record = await server.json("GET", `/api/shared/playlists/${token}/preview-files/${preview}`, none);
    expect(record.status).toBe(200);
    expect(record.body).toMatchObject({ id: preview, type: "PreviewFile", extension: "png" });
    expect((await server.json("GET", `/api/shared/playlists/${token}/preview-files/${outside}`, none)).status).toBe(404);
    expect((await server.json("GET", `/api/shared/playlists/${token}/pictures/thumbnails/preview-files/${outside}.png`, none)).status).toBe(404);
    const thumbnail = await server.request("GET", `/api/shared/playlists/${token}/pictures/thumbnails/preview-files/${preview}.png`, none);
    expect(thumbnail.status).toBe(200);
    expect(thumbnail.headers.get("content-type")).toBe("image/png");
    expect((await server.request("GET", `/api/shared/playlists/${token}/pictures/originals/preview-files/${preview}.png`, none)).status).toBe(200);
    expect((await server.request("GET", `/api/shared/playlists/${token}/pictures/originals/preview-files/${preview}.exe`, none)).status).toBe(400);
    expect((await server.request("GET", `/api/shared/playlists/${token}/pictures/originals/preview-files/${preview}.pdf`, none)).status).toBe(404);
    const download = await server.request("GET", `/api/shared/playlists/${token}/preview-files/${preview}/download`, none);
    expect(download.status).toBe(200);
    expect(download.headers.get("content-disposition")).toStartWith("attachment");
    const video = await server.request("GET", `/api/shared/playlists/${token}/movies/originals/preview-files/${movie}.mp4`, { ...none, headers: { Range: "bytes=0-99" } });
    expect(video.status).toBe(206);
    expect(video.headers.get("content-type")).toBe("video/mp4");
    expect((await server.request("GET", `/api/shared/playlists/${token}/movies/tiles/preview-files/${movie}.png`, none)).status).toBe(404);
    expect((await server.request("GET", `/api/shared/playlists/${token}/preview-files/${UNKNOWN}`, none)).status).toBe(404);
  });
});

describe("guests", () => {
  let guest: any;

  test("a guest is created (201), then reused by name or id (200); bad input 400", async () => {
    const created = await w.server.json("POST", `/api/shared/playlists/${token}/guest`, { ...none, body: { first_name: "Ann", last_name: "Client" } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ first_name: "Ann", last_name: "Client", role: "client", is_guest: true });
    expect(created.body.password).toBeUndefined();
    guest = created.body;
    const again = await w.server.json("POST", `/api/shared/playlists/${token}/guest`, { ...none, body: { first_name: "Ann", last_name: "Client" } });
    expect(again).toMatchObject({ status: 200, body: { id: guest.id } });
    const byId = await w.server.json("POST", `/api/shared/playlists/${token}/guest`, { ...none, body: { guest_id: guest.id } });
    expect(byId).toMatchObject({ status: 200, body: { id: guest.id } });
    expect((await w.server.json("POST", `/api/shared/playlists/${token}/guest`, { ...none, body: { first_name: 5 } })).status).toBe(400);
    expect((await w.server.json("POST", `/api/shared/playlists/${token}/guest`, { ...none, body: { guest_id: "x" } })).status).toBe(400);
  });

  test("a guest comments on a playlist task with a client-allowed status, edits and deletes it; others are refused", async () => {
    const { server } = w;
    const status = await server.db.selectFrom("task_status").selectAll().where("is_client_allowed", "=", true).executeTakeFirstOrThrow();
    const managerOnly = await server.db.selectFrom("task_status").selectAll().where("is_client_allowed", "=", false).executeTakeFirstOrThrow();
    const base = `/api/shared/playlists/${token}/comments`;
    const post = (body: Record<string, unknown>) => server.json("POST", base, { ...none, body });

    expect((await post({ guest_id: guest.id, task_id: w.task1 })).status).toBe(400);
    expect((await post({ guest_id: guest.id, task_id: w.task1, task_status_id: managerOnly.id, text: "x" })).status).toBe(403);
    const otherTask = await server.db.selectFrom("task").select("id").where("id", "not in", [w.task1, w.task2]).executeTakeFirstOrThrow();
    expect((await post({ guest_id: guest.id, task_id: otherTask.id, task_status_id: status.id, text: "x" })).status).toBe(403);
    expect((await post({ guest_id: w.artist.id, task_id: w.task1, task_status_id: status.id, text: "x" })).status).toBe(403);

    const created = await post({ guest_id: guest.id, task_id: w.task1, task_status_id: status.id, text: "Looks great" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ text: "Looks great", for_client: true, person_id: guest.id, object_id: w.task1 });
    const comment = created.body.id;

    const listed = await server.json("GET", base, none);
    expect(listed.status).toBe(200);
    expect(listed.body.map((c: any) => c.id)).toContain(comment);
    expect(listed.body.find((c: any) => c.id === comment).person.is_guest).toBe(true);

    // Another guest of the same link cannot touch it.
    const intruder = (await server.json("POST", `/api/shared/playlists/${token}/guest`, { ...none, body: { first_name: "Eve" } })).body;
    expect((await server.json("PUT", `${base}/${comment}`, { ...none, body: { guest_id: intruder.id, text: "hacked" } })).status).toBe(403);
    expect((await server.json("DELETE", `${base}/${comment}?guest_id=${intruder.id}`, none)).status).toBe(403);
    // A guest of another link neither.
    const otherLink = await share();
    const foreign = (await server.json("POST", `/api/shared/playlists/${otherLink}/guest`, { ...none, body: { first_name: "Ann", last_name: "Client" } })).body;
    expect(foreign.id).not.toBe(guest.id);
    expect((await server.json("PUT", `${base}/${comment}`, { ...none, body: { guest_id: foreign.id, text: "hacked" } })).status).toBe(403);

    const edited = await server.json("PUT", `${base}/${comment}`, { ...none, body: { guest_id: guest.id, text: "Actually, retake", checklist: [{ text: "a", checked: false }] } });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ text: "Actually, retake", editor_id: guest.id });
    expect((await server.json("PUT", `${base}/${comment}`, { ...none, body: { guest_id: guest.id, task_status_id: managerOnly.id } })).status).toBe(403);
    expect((await server.json("PUT", `${base}/${UNKNOWN}`, { ...none, body: { guest_id: guest.id, text: "x" } })).status).toBe(404);

    // Attachments: upload, download through the link, remove.
    const form = new FormData();
    form.append("guest_id", guest.id);
    form.append("file", new File(["hello notes"], "notes.txt", { type: "text/plain" }));
    const attached = await server.json("POST", `${base}/${comment}/attachments`, { ...none, body: form });
    expect(attached.status).toBe(201);
    const attachment = attached.body.attachment_files[0];
    expect(attachment.name).toBe("notes.txt");
    const file = await server.request("GET", `/api/shared/playlists/${token}/attachment-files/${attachment.id}/file/notes.txt`, none);
    expect(file.status).toBe(200);
    expect(await file.text()).toBe("hello notes");
    expect((await server.json("GET", `/api/shared/playlists/${otherLink}/attachment-files/${attachment.id}/file/notes.txt`, none)).status).toBe(200);
    expect((await server.json("GET", `/api/shared/playlists/${token}/attachment-files/${UNKNOWN}/file/x.txt`, none))).toEqual({ status: 404, body: { error: "Attachment not found" } });
    expect((await server.json("DELETE", `${base}/${comment}/attachments/${attachment.id}?guest_id=${intruder.id}`, none)).status).toBe(403);
    expect((await server.request("DELETE", `${base}/${comment}/attachments/${attachment.id}?guest_id=${guest.id}`, none)).status).toBe(204);
    expect((await server.json("DELETE", `${base}/${comment}/attachments/${attachment.id}?guest_id=${guest.id}`, none)).status).toBe(404);

    expect((await server.request("DELETE", `${base}/${comment}?guest_id=${guest.id}`, none)).status).toBe(204);
    expect((await server.db.selectFrom("comment").select("id").where("id", "=", comment).executeTakeFirst())).toBeUndefined();
  });

  test("guest annotations merge additions, updates and deletions on a preview of the playlist", async () => {
    const { server } = w;
    const path = `/api/shared/playlists/${token}/annotations`;
    const first = await server.json("PUT", path, {
      ...none,
      body: { guest_id: guest.id, preview_file_id: preview, additions: [{ time: 0, drawing: { objects: [{ id: "a", type: "path" }, { type: "text" }] } }] },
    });
    expect(first.status).toBe(200);
    expect(first.body.annotations[0].drawing.objects).toHaveLength(2);
    const generated = first.body.annotations[0].drawing.objects[1].id;
    expect(generated).toBeString();
    const second = await server.json("PUT", path, {
      ...none,
      body: { guest_id: guest.id, preview_file_id: preview, updates: [{ time: 0, drawing: { objects: [{ id: "a", type: "circle" }] } }], deletions: [{ time: 0, objects: [generated] }] },
    });
    expect(second.body.annotations).toEqual([{ time: 0, drawing: { objects: [{ id: "a", type: "circle" }] } }]);
    expect((await server.json("PUT", path, { ...none, body: { guest_id: guest.id, preview_file_id: outside, additions: [] } })).status).toBe(404);
    expect((await server.json("PUT", path, { ...none, body: { guest_id: guest.id } })).status).toBe(400);
    expect((await server.json("PUT", path, { ...none, body: { guest_id: guest.id, preview_file_id: preview, additions: "x" } })).status).toBe(400);
    expect((await server.json("PUT", path, { ...none, body: { guest_id: w.client.id, preview_file_id: preview, additions: [] } })).status).toBe(403);
  });

  test("a link without comments refuses guest comments and annotations (403)", async () => {
    const readOnly = await share({ can_comment: false });
    const viewer = (await w.server.json("POST", `/api/shared/playlists/${readOnly}/guest`, { ...none, body: { first_name: "Viewer" } })).body;
    const status = await w.server.db.selectFrom("task_status").select("id").where("is_client_allowed", "=", true).executeTakeFirstOrThrow();
    expect((await w.server.json("POST", `/api/shared/playlists/${readOnly}/comments`, { ...none, body: { guest_id: viewer.id, task_id: w.task1, task_status_id: status.id } })).status).toBe(403);
    expect((await w.server.json("PUT", `/api/shared/playlists/${readOnly}/annotations`, { ...none, body: { guest_id: viewer.id, preview_file_id: preview } })).status).toBe(403);
  });
});
