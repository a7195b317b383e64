/** The `playlists` area through HTTP: lists, playlist with previews, entity previews, temp playlists, entries, notifications, crud shapes. */
import { describe, expect, test, beforeAll } from "bun:test";
import { playlistWorld, type PlaylistWorld } from "./playlists-fixtures";

let w: PlaylistWorld;
const UNKNOWN = "00000000-0000-4000-8000-000000000000";

beforeAll(async () => {
  w = await playlistWorld();
}, 60_000);

describe("crud shapes (zou-diff) and the client rule of issue 9", () => {
  test("POST answers build_jobs []; GET lists build job ids; shots stay a list", async () => {
    const created = await w.playlist();
    expect(created.build_jobs).toEqual([]);
    expect(created.shots).toBeNull();
    await w.server.json("POST", `/api/actions/playlists/${created.id}/add-entity`, { body: { entity_id: w.shot1 } });
    await w.server.db.insertInto("build_job").values({ id: crypto.randomUUID(), playlist_id: created.id, status: "failed", job_type: "movie", created_at: "2024-01-01T00:00:00", updated_at: "2024-01-01T00:00:00" }).execute();
    const read = await w.server.json("GET", `/api/data/playlists/${created.id}`);
    expect(read.status).toBe(200);
    expect(read.body.shots).toEqual([{ entity_id: w.shot1 }]);
    expect(read.body.build_jobs).toHaveLength(1);
    expect(typeof read.body.build_jobs[0]).toBe("string");
    expect((await w.server.json("GET", `/api/data/playlists/${created.id}?relations=false`)).body.build_jobs).toBeUndefined();
    const listed = await w.server.json("GET", `/api/data/playlists?relations=true`);
    expect(listed.body.find((pl: any) => pl.id === created.id).build_jobs).toHaveLength(1);
    expect((await w.server.json("GET", `/api/data/playlists`)).body[0].build_jobs).toBeUndefined();
  });

  test("PUT shots must be a list; items without preview are dropped, other keys too", async () => {
    const pl = await w.playlist();
    expect((await w.server.json("PUT", `/api/data/playlists/${pl.id}`, { body: { shots: "nope" } })).status).toBe(400);
    const preview = await w.preview(w.task1);
    const put = await w.server.json("PUT", `/api/data/playlists/${pl.id}`, {
      body: { shots: [{ entity_id: w.shot1, preview_file_id: preview, extra: 1 }, { entity_id: w.shot2 }] },
    });
    expect(put.status).toBe(200);
    expect(put.body.shots).toEqual([{ entity_id: w.shot1, preview_file_id: preview }]);
  });

  test("a client reads a for_client playlist but gets 403 on another (stricter than Zou, on purpose)", async () => {
    const internal = await w.playlist({ for_client: false });
    const forClient = await w.playlist({ for_client: true });
    const token = w.client.token;
    expect((await w.server.json("GET", `/api/data/playlists/${internal.id}`, { token })).status).toBe(403);
    expect((await w.server.json("GET", `/api/data/projects/${w.project.id}/playlists/${internal.id}`, { token })).status).toBe(403);
    expect((await w.server.json("GET", `/api/data/playlists/${forClient.id}`, { token })).status).toBe(200);
    expect((await w.server.json("GET", `/api/data/projects/${w.project.id}/playlists/${forClient.id}`, { token })).status).toBe(200);
  });
});

describe("project and episode lists", () => {
  test("summaries without shots, with first_preview_file_id, newest first, 20 per page", async () => {
    const { server } = w;
    const preview = await w.preview(w.task1);
    const pl = await w.playlist({ name: "With preview" });
    await server.json("POST", `/api/actions/playlists/${pl.id}/add-entity`, { body: { entity_id: w.shot1, preview_file_id: preview } });
    await server.db.updateTable("playlist").set({ updated_at: "2999-01-01T00:00:00" }).where("id", "=", pl.id).execute();
    const list = await server.json("GET", `/api/data/projects/${w.project.id}/playlists?sort_by=updated_at&page=1`);
    expect(list.status).toBe(200);
    expect(list.body[0].id).toBe(pl.id);
    expect(list.body[0].first_preview_file_id).toBe(preview);
    expect(list.body[0].shots).toBeUndefined();
    expect(list.body.length).toBeLessThanOrEqual(20);
    expect((await server.json("GET", `/api/data/projects/${w.project.id}/playlists?page=99`)).body).toEqual([]);
    expect((await server.json("GET", `/api/data/projects/${w.project.id}/playlists?page=abc`)).status).toBe(400);
    const byType = await server.json("GET", `/api/data/projects/${w.project.id}/playlists?task_type_id=${w.animation}`);
    expect(byType.body).toEqual([]);
  });

  test("clients get for_client playlists only; vendors and non-members 403; unknown project 404", async () => {
    const { server } = w;
    await w.playlist({ for_client: true });
    const clientList = await server.json("GET", `/api/data/projects/${w.project.id}/playlists`, { token: w.client.token });
    expect(clientList.status).toBe(200);
    expect(clientList.body.length).toBeGreaterThan(0);
    expect(clientList.body.every((pl: any) => pl.for_client === true)).toBe(true);
    expect((await server.json("GET", `/api/data/projects/${w.project.id}/playlists`, { token: w.vendor.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/projects/${w.project.id}/playlists`, { token: w.outsider.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/projects/${UNKNOWN}/playlists`)).status).toBe(404);
  });

  test("episode lists: an episode, main, all; unknown episode 404", async () => {
    const { server } = w;
    const main = await w.playlist({ episode_id: "main", name: "Main pack" });
    const all = await w.playlist({ episode_id: null, is_for_all: true, name: "All assets" });
    const episode = await server.json("GET", `/api/data/projects/${w.project.id}/episodes/${w.episode}/playlists`);
    expect(episode.status).toBe(200);
    expect(episode.body.every((pl: any) => pl.episode_id === w.episode)).toBe(true);
    expect((await server.json("GET", `/api/data/projects/${w.project.id}/episodes/main/playlists`)).body.map((pl: any) => pl.id)).toEqual([main.id]);
    expect((await server.json("GET", `/api/data/projects/${w.project.id}/episodes/all/playlists`)).body.map((pl: any) => pl.id)).toEqual([all.id]);
    expect((await server.json("GET", `/api/data/projects/${w.project.id}/episodes/${UNKNOWN}/playlists`)).status).toBe(404);
    expect((await server.json("GET", `/api/data/projects/${w.project.id}/episodes/${w.episode}/playlists`, { token: w.vendor.token })).status).toBe(403);
  });

  test("/playlists/all and /build-jobs are admin only", async () => {
    const { server } = w;
    const all = await server.json("GET", `/api/data/projects/${w.project.id}/playlists/all`);
    expect(all.status).toBe(200);
    expect(Array.isArray(all.body[0].build_jobs)).toBe(true);
    expect(Array.isArray(all.body[0].shots)).toBe(true);
    expect((await server.json("GET", `/api/data/projects/${w.project.id}/playlists/all`, { token: w.manager.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/projects/${w.project.id}/build-jobs`)).status).toBe(200);
    expect((await server.json("GET", `/api/data/projects/${w.project.id}/build-jobs`, { token: w.manager.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/projects/${UNKNOWN}/build-jobs`)).status).toBe(404);
  });
});

describe("a playlist with its preview revisions", () => {
  test("entries get their entity's previews per task type and the chosen preview's details", async () => {
    const { server } = w;
    const v1 = await w.preview(w.task1, { revision: 1 });
    const v2 = await w.preview(w.task1, { revision: 2, extension: "mp4", duration: 1.5 });
    const v2b = await w.preview(w.task1, { revision: 2, position: 2 });
    const pl = await w.playlist();
    await server.json("POST", `/api/actions/playlists/${pl.id}/add-entities`, { body: { entities: [{ entity_id: w.shot1, preview_file_id: v2 }, { entity_id: w.shot2 }] } });
    const { status, body } = await server.json("GET", `/api/data/projects/${w.project.id}/playlists/${pl.id}`, { token: w.artist.token });
    expect(status).toBe(200);
    expect(body.build_jobs).toEqual([]);
    const [first, second] = body.shots;
    expect(first.id).toBe(w.shot1);
    expect(first.preview_file_id).toBe(v2);
    expect(first.preview_file_extension).toBe("mp4");
    expect(first.preview_file_revision).toBe(2);
    expect(first.preview_file_duration).toBe(1.5);
    expect(first.preview_file_task_id).toBe(w.task1);
    const revisions = first.preview_files[w.animation];
    expect(revisions.map((p: any) => p.id).slice(0, 1)).toEqual([v2]);
    expect(revisions[0].previews.map((p: any) => p.id)).toEqual([v2b]);
    expect(revisions.flatMap((p: any) => [p.id, ...p.previews.map((q: any) => q.id)])).toContain(v1);
    expect(second.preview_files).toEqual([]);
    expect("preview_file_id" in second).toBe(false);
    expect((await server.json("GET", `/api/data/projects/${w.project.id}/playlists/${UNKNOWN}`)).status).toBe(404);
    expect((await server.json("GET", `/api/data/projects/${w.project.id}/playlists/${pl.id}`, { token: w.vendor.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/projects/${w.project.id}/playlists/${pl.id}`, { token: w.outsider.token })).status).toBe(403);
  });
});

describe("previews of an entity (Kitsu's task panel)", () => {
  test("grouped by task type with revisions mixed; vendors only when assigned; 404 unknown", async () => {
    const { server } = w;
    const preview = await w.preview(w.task2, { revision: 7, data: JSON.stringify({ original_width: 1920 }) });
    const { status, body } = await server.json("GET", `/api/data/playlists/entities/${w.shot2}/preview-files`, { token: w.client.token });
    expect(status).toBe(200);
    const item = body[w.animation].find((p: any) => p.id === preview);
    expect(item).toMatchObject({ revision: 7, extension: "png", status: "ready", task_id: w.task2, original_name: "frame", original_width: 1920, previews: [] });
    expect((await server.json("GET", `/api/data/playlists/entities/${w.shot2}/preview-files`, { token: w.vendor.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/playlists/entities/${w.shot2}/preview-files`, { token: w.outsider.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/playlists/entities/${UNKNOWN}/preview-files`)).status).toBe(404);
    await server.db.insertInto("task_person_link").values({ task_id: w.task2, person_id: w.vendor.id }).execute();
    expect((await server.json("GET", `/api/data/playlists/entities/${w.shot2}/preview-files`, { token: w.vendor.token })).status).toBe(200);
    await server.db.deleteFrom("task_person_link").where("person_id", "=", w.vendor.id).execute();
  });

  test("the shot's own preview-files route answers the same dicts (Zou's keys: sizes, original_*, annotations)", async () => {
    const { server } = w;
    const preview = await w.preview(w.task2, { revision: 8 });
    const viaShot = await server.json("GET", `/api/data/shots/${w.shot2}/preview-files`);
    const viaPlaylists = await server.json("GET", `/api/data/playlists/entities/${w.shot2}/preview-files`);
    expect(viaShot.status).toBe(200);
    expect(viaShot.body).toEqual(viaPlaylists.body);
    const item = viaShot.body[w.animation].find((p: any) => p.id === preview);
    expect(Object.keys(item).sort()).toEqual(
      ["annotations", "created_at", "duration", "extension", "height", "id", "original_duration", "original_file_size", "original_height", "original_name", "original_width", "previews", "revision", "status", "task_id", "width"],
    );
    expect(item.annotations).toEqual([]);
  });
});

describe("temporary playlists", () => {
  test("one entry per task with its latest preview; 400 bad body; vendor unassigned 403; unknown project 404", async () => {
    const { server } = w;
    const preview = await w.preview(w.task2, { revision: 50 });
    const { status, body } = await server.json("POST", `/api/data/projects/${w.project.id}/playlists/temp?sort=true`, { body: { task_ids: [w.task2] } });
    expect(status).toBe(200);
    expect(body[0]).toMatchObject({ id: w.shot2, name: "SH020", parent_name: "SQ01", sequence_name: "SQ01", episode_id: "", asset_type_id: "", preview_file_id: preview, preview_file_task_id: w.task2 });
    expect(body[0].preview_files[w.animation][0].id).toBe(preview);
    expect((await server.json("POST", `/api/data/projects/${w.project.id}/playlists/temp`, { body: { task_ids: "x" } })).status).toBe(400);
    expect((await server.json("POST", `/api/data/projects/${w.project.id}/playlists/temp`, { body: { task_ids: [w.task2] }, token: w.vendor.token })).status).toBe(403);
    expect((await server.json("POST", `/api/data/projects/${w.project.id}/playlists/temp`, { body: { task_ids: [w.task2] }, token: w.outsider.token })).status).toBe(403);
    expect((await server.json("POST", `/api/data/projects/${UNKNOWN}/playlists/temp`, { body: { task_ids: [] } })).status).toBe(404);
  });
});

describe("adding entities", () => {
  test("add-entity uses the newest preview when none is given, emits playlist:add_entity; rights and bad input", async () => {
    const { server } = w;
    const events: string[] = [];
    const off = server.events.subscribe((event) => events.push(event.name));
    const newest = await w.preview(w.task1, { revision: 90 });
    const pl = await w.playlist({ task_type_id: w.animation });
    const added = await server.json("POST", `/api/actions/playlists/${pl.id}/add-entity`, { body: { entity_id: w.shot1 }, token: w.manager.token });
    off();
    expect(added.status).toBe(200);
    expect(added.body.shots).toEqual([{ entity_id: w.shot1, preview_file_id: newest }]);
    expect(events).toContain("playlist:add_entity");
    expect((await server.json("POST", `/api/actions/playlists/${pl.id}/add-entity`, { body: { entity_id: w.shot1 }, token: w.artist.token })).status).toBe(403);
    expect((await server.json("POST", `/api/actions/playlists/${pl.id}/add-entities`, { body: { entities: [{ entity_id: w.shot1 }] }, token: w.artist.token })).status).toBe(403);
    expect((await server.json("POST", `/api/actions/playlists/${UNKNOWN}/add-entity`, { body: { entity_id: w.shot1 } })).status).toBe(404);
    expect((await server.json("POST", `/api/actions/playlists/${pl.id}/add-entity`, { body: { entity_id: "nope" } })).status).toBe(400);
    expect((await server.json("POST", `/api/actions/playlists/${pl.id}/add-entities`, { body: { entities: "nope" } })).status).toBe(400);
    expect((await server.json("POST", `/api/actions/playlists/${pl.id}/add-entity`, { body: { entity_id: UNKNOWN } })).status).toBe(404);
  });
});

describe("notify clients", () => {
  test("a playlist-ready notification for client members; supervisors 403", async () => {
    const { server } = w;
    const pl = await w.playlist({ for_client: true });
    const response = await server.json("POST", `/api/data/playlists/${pl.id}/notify-clients`, { body: {}, token: w.manager.token });
    expect(response).toEqual({ status: 200, body: { status: "success" } });
    const rows = await server.db.selectFrom("notification").selectAll().where("playlist_id", "=", pl.id).execute();
    expect(rows.map((row) => [row.person_id, row.type])).toEqual([[w.client.id, "playlist-ready"]]);
    expect((await server.json("POST", `/api/data/playlists/${pl.id}/notify-clients`, { body: {}, token: w.supervisor.token })).status).toBe(403);
    expect((await server.json("POST", `/api/data/playlists/${UNKNOWN}/notify-clients`, { body: {} })).status).toBe(404);
    expect((await server.json("POST", `/api/data/playlists/${pl.id}/notify-clients`, { body: { studio_id: "x" } })).status).toBe(400);
  });
});

describe("share links (managers)", () => {
  test("create 201 without the password, list, revoke, invite; supervisors 403; foreign token 404", async () => {
    const { server } = w;
    const pl = await w.playlist();
    const other = await w.playlist();
    const created = await server.json("POST", `/api/data/playlists/${pl.id}/share`, { body: { password: "s3cret", expiration_date: "2999-01-01T00:00:00Z" }, token: w.manager.token });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ playlist_id: pl.id, has_password: true, is_active: true, can_comment: true, expiration_date: "2999-01-01T00:00:00" });
    expect(created.body.password).toBeUndefined();
    const token = created.body.token;
    expect((await server.json("GET", `/api/data/playlists/${pl.id}/share`, { token: w.manager.token })).body.map((l: any) => l.token)).toEqual([token]);
    expect((await server.json("GET", `/api/data/playlists/${pl.id}/share`, { token: w.supervisor.token })).status).toBe(403);
    expect((await server.json("POST", `/api/data/playlists/${pl.id}/share`, { body: {}, token: w.client.token })).status).toBe(403);
    expect((await server.json("POST", `/api/data/playlists/${pl.id}/share`, { body: { expiration_date: "soon" } })).status).toBe(400);
    expect((await server.json("POST", `/api/data/playlists/${pl.id}/share`, { body: { can_comment: "yes" } })).status).toBe(400);
    expect((await server.json("GET", `/api/data/playlists/${UNKNOWN}/share`)).status).toBe(404);

    const invite = await server.json("POST", `/api/data/playlists/${pl.id}/share/${token}/invite`, { body: { emails: ["Client@Example.com", "client@example.com"], person_ids: [w.client.id] } });
    expect(invite.status).toBe(200);
    expect(invite.body.sent.sort()).toEqual(["Client@Example.com", w.client.email].sort());
    expect((await server.json("POST", `/api/data/playlists/${pl.id}/share/${token}/invite`, { body: { emails: ["not an email"] } })).status).toBe(400);
    expect((await server.json("POST", `/api/data/playlists/${other.id}/share/${token}/invite`, { body: { emails: [] } })).status).toBe(404);

    expect((await server.json("DELETE", `/api/data/playlists/${other.id}/share/${token}`)).status).toBe(404);
    const revoked = await server.json("DELETE", `/api/data/playlists/${pl.id}/share/${token}`, { token: w.manager.token });
    expect(revoked.status).toBe(200);
    expect(revoked.body.is_active).toBe(false);
    expect((await server.json("GET", `/api/data/playlists/${pl.id}/share`)).body).toEqual([]);
  });
});
