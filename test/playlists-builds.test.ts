/** Playlist files through HTTP: the movie build job (ffmpeg concat on the job queue), its download and deletion, and the ZIP. */
import { sql } from "kysely";
import { describe, expect, test, beforeAll } from "bun:test";
import { probe } from "../src/lib/ffmpeg";
import { storedFilePath } from "../src/services/attachments";
import { makeMovie, PNG, playlistWorld, waitForBuild, type PlaylistWorld } from "./playlists-fixtures";

let w: PlaylistWorld;
const UNKNOWN = "00000000-0000-4000-8000-000000000000";

beforeAll(async () => {
  w = await playlistWorld();
}, 60_000);

/** A playlist of two movie previews (one without sound), their files generated with ffmpeg. */
async function moviePlaylist(): Promise<{ id: string; previews: string[] }> {
  const a = await w.preview(w.task1, { extension: "mp4", revision: 1 });
  const b = await w.preview(w.task2, { extension: "mp4", revision: 1 });
  await makeMovie(storedFilePath(w.server.config.previewFolder, "movies", "previews", a), { seconds: 1 });
  await makeMovie(storedFilePath(w.server.config.previewFolder, "movies", "previews", b), { seconds: 1, silent: true });
  const pl = await w.playlist({ name: "Movie Review" });
  await w.server.json("POST", `/api/actions/playlists/${pl.id}/add-entities`, {
    body: { entities: [{ entity_id: w.shot1, preview_file_id: a }, { entity_id: w.shot2, preview_file_id: b }] },
  });
  return { id: pl.id, previews: [a, b] };
}

describe("movie builds", () => {
  test("a manager builds the movie: job running then succeeded, events, download as an attachment, delete", async () => {
    const { server } = w;
    const pl = await moviePlaylist();
    const events: { name: string; data: any }[] = [];
    const off = server.events.subscribe((event) => events.push(event));
    const started = await server.json("GET", `/api/data/playlists/${pl.id}/build/mp4`, { token: w.manager.token });
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ status: "running", job_type: "movie", playlist_id: pl.id, type: "BuildJob" });
    const jobId = started.body.id;
    // A second build while this one runs is refused.
    expect((await server.json("GET", `/api/data/playlists/${pl.id}/build/mp4`)).status).toBe(409);
    const early = await server.json("GET", `/api/data/playlists/${pl.id}/jobs/${jobId}/build/mp4`);
    if (early.status !== 200) expect(early).toEqual({ status: 400, body: { error: true, message: "Build is not finished", data: null } });

    const done = await waitForBuild(w, pl.id, jobId);
    off();
    expect(done.status).toBe("succeeded");
    expect(done.ended_at).toBeString();
    expect(events.map((e) => e.name)).toEqual(expect.arrayContaining(["build-job:new", "build-job:update"]));
    expect(events.find((e) => e.name === "build-job:update")!.data).toMatchObject({ build_job_id: jobId, playlist_id: pl.id, status: "succeeded" });
    // As Zou records them: the build starts in the manager's request and ends in a worker, without a user.
    // The event row is written just after the job's status (which waitForBuild saw): wait for it.
    const storedEvents = () => server.db.selectFrom("api_event").select(["name", "user_id"]).where("name", "in", ["build-job:new", "build-job:update"]).where(sql`cast(data as text)`, "like", `%${jobId}%`).execute();
    let stored = await storedEvents();
    for (let i = 0; i < 100 && stored.length < 2; i++) {
      await Bun.sleep(50);
      stored = await storedEvents();
    }
    expect(stored.find((e) => e.name === "build-job:new")?.user_id).toBe(w.manager.id);
    expect(stored.find((e) => e.name === "build-job:update")?.user_id).toBeNull();

    const download = await server.request("GET", `/api/data/playlists/${pl.id}/jobs/${jobId}/build/mp4`);
    expect(download.status).toBe(200);
    expect(download.headers.get("content-type")).toBe("video/mp4");
    expect(download.headers.get("content-disposition")).toMatch(/^attachment; filename="\d{8}_\d{6}_review_show_e01_movie_review\.mp4"$/);
    const movie = storedFilePath(server.config.previewFolder, "movies", "playlists", jobId);
    const info = await probe(movie);
    expect(info.duration).toBeGreaterThan(1.8);
    expect(info.hasAudio).toBe(true);
    const range = await server.request("GET", `/api/data/playlists/${pl.id}/jobs/${jobId}/build/mp4`, { headers: { Range: "bytes=0-9" } });
    expect(range.status).toBe(206);

    const playlist = await server.json("GET", `/api/data/projects/${w.project.id}/playlists/${pl.id}`);
    expect(playlist.body.build_jobs[0]).toEqual({ id: jobId, status: "succeeded", created_at: done.created_at });
    expect((await server.json("GET", `/api/data/projects/${w.project.id}/build-jobs`)).body.map((j: any) => j.id)).toContain(jobId);

    expect((await server.json("GET", `/api/data/playlists/${pl.id}/jobs/${jobId}`, { token: w.supervisor.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/playlists/${pl.id}/jobs/${UNKNOWN}`)).status).toBe(404);
    expect((await server.json("DELETE", `/api/data/playlists/${pl.id}/jobs/${jobId}`, { token: w.artist.token })).status).toBe(403);
    const removed = await server.request("DELETE", `/api/data/playlists/${pl.id}/jobs/${jobId}`, { token: w.manager.token });
    expect(removed.status).toBe(204);
    expect(await Bun.file(movie).exists()).toBe(false);
    expect((await server.json("GET", `/api/data/playlists/${pl.id}/jobs/${jobId}`)).status).toBe(404);
  }, 120_000);

  test("only managers build; unknown playlist 404; a playlist without movies ends failed", async () => {
    const { server } = w;
    const pl = await w.playlist();
    expect((await server.json("GET", `/api/data/playlists/${pl.id}/build/mp4`, { token: w.supervisor.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/playlists/${pl.id}/build/mp4`, { token: w.outsider.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/playlists/${UNKNOWN}/build/mp4`)).status).toBe(404);
    const started = await server.json("GET", `/api/data/playlists/${pl.id}/build/mp4?full=true`);
    const done = await waitForBuild(w, pl.id, started.body.id);
    expect(done.status).toBe("failed");
    expect((await server.json("GET", `/api/data/playlists/${pl.id}/jobs/${done.id}/build/mp4`)).body.message).toBe("Build is not finished");
  }, 60_000);

  test("a build left running by a stopped server is marked failed instead of blocking (no 409)", async () => {
    const { server } = w;
    const pl = await w.playlist();
    const stale = crypto.randomUUID();
    await server.db.insertInto("build_job").values({ id: stale, playlist_id: pl.id, status: "running", job_type: "movie", created_at: "2024-01-01T00:00:00", updated_at: "2024-01-01T00:00:00" }).execute();
    await w.store("movies", "playlists", stale, "old movie");
    const started = await server.json("GET", `/api/data/playlists/${pl.id}/build/mp4`);
    expect(started.status).toBe(200);
    expect((await server.json("GET", `/api/data/playlists/${pl.id}/jobs/${stale}`)).body.status).toBe("failed");
    await waitForBuild(w, pl.id, started.body.id);
    // Deleting the playlist removes its build jobs and their stored movies.
    expect((await server.request("DELETE", `/api/data/playlists/${pl.id}`)).status).toBe(204);
    expect(await Bun.file(storedFilePath(server.config.previewFolder, "movies", "playlists", stale)).exists()).toBe(false);
  }, 60_000);

  test("build jobs: clients read them on for_client playlists only, supervisors never; delete emits build-job:delete", async () => {
    const { server } = w;
    const jobOn = async (playlistId: string) => {
      const id = crypto.randomUUID();
      await server.db.insertInto("build_job").values({ id, playlist_id: playlistId, status: "failed", job_type: "movie", created_at: "2024-01-01T00:00:00", updated_at: "2024-01-01T00:00:00" }).execute();
      return id;
    };
    const forClient = await w.playlist({ for_client: true });
    const internal = await w.playlist();
    const clientJob = await jobOn(forClient.id);
    const internalJob = await jobOn(internal.id);
    expect((await server.json("GET", `/api/data/playlists/${forClient.id}/jobs/${clientJob}`, { token: w.client.token })).status).toBe(200);
    expect((await server.json("GET", `/api/data/playlists/${internal.id}/jobs/${internalJob}`, { token: w.client.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/playlists/${forClient.id}/jobs/${clientJob}`, { token: w.supervisor.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/playlists/${forClient.id}/jobs/${internalJob}`)).status).toBe(404);
    const events: string[] = [];
    const off = server.events.subscribe((event) => events.push(event.name));
    expect((await server.request("DELETE", `/api/data/playlists/${internal.id}/jobs/${internalJob}`, { token: w.manager.token })).status).toBe(204);
    off();
    expect(events).toContain("build-job:delete");
  });

  test("a broken movie makes the build fail without a 5xx", async () => {
    const { server } = w;
    const bad = await w.preview(w.task1, { extension: "mp4", revision: 40 });
    await w.store("movies", "previews", bad, "this is not a movie");
    const pl = await w.playlist();
    await server.json("POST", `/api/actions/playlists/${pl.id}/add-entity`, { body: { entity_id: w.shot1, preview_file_id: bad } });
    const started = await server.json("GET", `/api/data/playlists/${pl.id}/build/mp4`);
    expect(started.status).toBe(200);
    expect((await waitForBuild(w, pl.id, started.body.id)).status).toBe("failed");
  }, 60_000);
});

describe("ZIP download", () => {
  test("every preview of each entry's revision under Zou's names; clients only on for_client playlists (vector 40)", async () => {
    const { server } = w;
    const p1 = await w.preview(w.task1, { revision: 60 });
    const p2 = await w.preview(w.task1, { revision: 60, position: 2 });
    await w.store("pictures", "original", p1, PNG);
    await w.store("pictures", "original", p2, PNG);
    const internal = await w.playlist({ name: "Zip Me" });
    const forClient = await w.playlist({ name: "Zip Client", for_client: true });
    for (const pl of [internal, forClient]) {
      await server.json("POST", `/api/actions/playlists/${pl.id}/add-entity`, { body: { entity_id: w.shot1, preview_file_id: p1 } });
    }
    const response = await server.request("GET", `/api/data/playlists/${internal.id}/download/zip`, { token: w.supervisor.token });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/zip");
    expect(response.headers.get("content-disposition")).toBe('attachment; filename="review_show_e01_zip_me.zip"');
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(bytes.subarray(0, 4).toString("hex")).toBe("504b0304");
    const text = bytes.toString("latin1");
    expect(text).toContain("review_show_e01_sq01_sh010_animation_v60.png");
    expect(text).toContain("review_show_e01_sq01_sh010_animation_v60-2.png");
    // The archive is a valid ZIP: unzip lists both entries.
    const path = `${server.config.tmpFolder}/check.zip`;
    await Bun.write(path, bytes);
    const listing = Bun.spawnSync(["python3", "-c", "import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); print(z.testzip()); print(len(z.namelist()))", path]);
    expect(listing.stdout.toString().trim().split("\n")).toEqual(["None", "2"]);

    expect((await server.request("GET", `/api/data/playlists/${internal.id}/download/zip`, { token: w.client.token })).status).toBe(403);
    expect((await server.request("GET", `/api/data/playlists/${forClient.id}/download/zip`, { token: w.client.token })).status).toBe(200);
    expect((await server.request("GET", `/api/data/playlists/${internal.id}/download/zip`, { token: w.artist.token })).status).toBe(403);
    expect((await server.request("GET", `/api/data/playlists/${internal.id}/download/zip`, { token: w.vendor.token })).status).toBe(403);
    expect((await server.request("GET", `/api/data/playlists/${UNKNOWN}/download/zip`)).status).toBe(404);
  });
});
