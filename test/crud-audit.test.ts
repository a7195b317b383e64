/**
 * Crud permissions audited against models.json `crud` blocks (models.md §4.2, permissions.md §4):
 * the rules added or fixed by the audit, each through HTTP with its happy path and its 403.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type Person, type TestServer } from "./helpers";
import { insertRow } from "./crud-fixtures";

let server: TestServer;
beforeAll(async () => {
  server = await makeServer();
});

describe("playlists (/data/playlists)", () => {
  let supervisor: Person;
  let otherSupervisor: Person;
  let artist: Person;
  let vendor: Person;
  let manager: Person;
  let project: any;
  beforeAll(async () => {
    supervisor = await server.person("supervisor");
    otherSupervisor = await server.person("supervisor");
    artist = await server.person("user");
    vendor = await server.person("vendor");
    manager = await server.person("manager");
    project = await server.project("Playlist audit", [supervisor, otherSupervisor, artist, vendor, manager]);
  });

  test("a supervisor member creates one: created_by is them, episode 'all' and an unknown task type become null", async () => {
    const body = { name: "Dailies", project_id: project.id, episode_id: "all", task_type_id: "not-an-id", for_entity: "asset" };
    const { status, body: created } = await server.json("POST", "/api/data/playlists", { token: supervisor.token, body });
    expect(status).toBe(201);
    expect(created.created_by).toBe(supervisor.id);
    expect(created.episode_id).toBeNull();
    expect(created.task_type_id).toBeNull();
    expect(created.for_entity).toBe("asset");
  });

  test("an artist member cannot create one → 403; a bad for_entity → 400; no project_id → 400", async () => {
    const body = { name: "Artist list", project_id: project.id };
    expect((await server.json("POST", "/api/data/playlists", { token: artist.token, body })).status).toBe(403);
    const bad = await server.json("POST", "/api/data/playlists", { token: supervisor.token, body: { ...body, for_entity: "task" } });
    expect(bad.status).toBe(400);
    expect((await server.json("POST", "/api/data/playlists", { token: supervisor.token, body: { name: "x" } })).status).toBe(400);
  });

  test("reads: member 200, vendor member 403, non-member 403, unknown id 404", async () => {
    const id = await insertRow(server.db, "playlist", { name: "Readable", project_id: project.id });
    expect((await server.json("GET", `/api/data/playlists/${id}`, { token: artist.token })).status).toBe(200);
    expect((await server.json("GET", `/api/data/playlists/${id}`, { token: vendor.token })).status).toBe(403);
    const outsider = await server.person("user");
    expect((await server.json("GET", `/api/data/playlists/${id}`, { token: outsider.token })).status).toBe(403);
    expect((await server.json("GET", "/api/data/playlists/4a1a4dce-2b2b-4c4c-8d8d-000000000000")).status).toBe(404);
  });

  test("41: PUT by its creator supervisor 200 (shots normalised), by another supervisor 403, on a creatorless one 200 (403 when not a member)", async () => {
    const mine = await insertRow(server.db, "playlist", { name: "Mine", project_id: project.id, created_by: supervisor.id });
    const shots = [{ entity_id: "e1", preview_file_id: "p1", extra: 1 }, { entity_id: "e2" }];
    const { status, body } = await server.json("PUT", `/api/data/playlists/${mine}`, { token: supervisor.token, body: { shots } });
    expect(status).toBe(200);
    expect(body.shots).toEqual([{ entity_id: "e1", preview_file_id: "p1" }]);
    expect((await server.json("PUT", `/api/data/playlists/${mine}`, { token: otherSupervisor.token, body: { name: "x" } })).status).toBe(403);
    expect((await server.json("DELETE", `/api/data/playlists/${mine}`, { token: otherSupervisor.token })).status).toBe(403);
    expect((await server.json("PUT", `/api/data/playlists/${mine}`, { token: artist.token, body: { name: "x" } })).status).toBe(403);
    const orphan = await insertRow(server.db, "playlist", { name: "Orphan", project_id: project.id });
    expect((await server.json("PUT", `/api/data/playlists/${orphan}`, { token: otherSupervisor.token, body: { name: "Adopted" } })).status).toBe(200);
    const stranger = await server.person("supervisor");
    expect((await server.json("PUT", `/api/data/playlists/${orphan}`, { token: stranger.token, body: { name: "x" } })).status).toBe(403);
    expect((await server.json("DELETE", `/api/data/playlists/${orphan}`, { token: stranger.token })).status).toBe(403);
    const bad = await server.json("PUT", `/api/data/playlists/${orphan}`, { token: manager.token, body: { shots: "nope" } });
    expect(bad.status).toBe(400);
  });

  test("DELETE by the manager removes its notifications, build jobs and share links first", async () => {
    const id = await insertRow(server.db, "playlist", { name: "Doomed", project_id: project.id, created_by: supervisor.id });
    await insertRow(server.db, "notification", { type: "playlist-ready", person_id: artist.id, author_id: supervisor.id, playlist_id: id });
    await insertRow(server.db, "build_job", { playlist_id: id });
    await insertRow(server.db, "playlist_share_link", { token: `tok-${id}`, playlist_id: id, created_by: supervisor.id });
    expect((await server.json("DELETE", `/api/data/playlists/${id}`, { token: manager.token })).status).toBe(204);
    const db = server.db;
    expect(await db.selectFrom("playlist").select("id").where("id", "=", id).executeTakeFirst()).toBeUndefined();
    expect(await db.selectFrom("notification").select("id").where("playlist_id", "=", id).execute()).toEqual([]);
    expect(await db.selectFrom("build_job").select("id").where("playlist_id", "=", id).execute()).toEqual([]);
    expect(await db.selectFrom("playlist_share_link").select("id").where("playlist_id", "=", id).execute()).toEqual([]);
  });
});
