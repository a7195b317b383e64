/**
 * Preview uploads and processing through HTTP (previews.md §2-§8): pictures, movies (job queue,
 * normalize=false, no_job), other files, refusals, broken movies, storage layout, media routes
 * with ranges and conditional requests, restart re-queue.
 */
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";

setDefaultTimeout(60_000);
import { existsSync, mkdirSync, copyFileSync, statSync } from "node:fs";
import { probe } from "../src/lib/ffmpeg";
import { resumePreviewProcessing } from "../src/services/preview-processing";
import { pendingFolder, pendingUploadPath, storePath } from "../src/services/preview-storage";
import { newId, utcNow } from "../src/lib/ids";
import { fileOf, jobsDone, makePreviewWorld, UNKNOWN, type PreviewWorld } from "./previews-fixtures";

let w: PreviewWorld;
beforeAll(async () => {
  w = await makePreviewWorld();
});

const get = (path: string, token = w.people.artist.token, headers: Record<string, string> = {}) => w.server.request("GET", `/api${path}`, { token, headers });
const row = (id: string) => w.server.db.selectFrom("preview_file").selectAll().where("id", "=", id).executeTakeFirst();

describe("picture previews", () => {
  let taskId: string;
  let previewId: string;
  beforeAll(async () => {
    taskId = await w.newTask("SH01");
    previewId = await w.newSlot(taskId);
  });

  test("a PNG upload is ready at once with its size, variants in Zou's layout, task bookkeeping and events", async () => {
    const events: string[] = [];
    const stop = w.server.events.subscribe((event) => events.push(event.name));
    const { status, body } = await w.upload(previewId, await fileOf(w.media.picture, "layout shot.PNG"));
    stop();
    expect(status).toBe(201);
    expect(body).toMatchObject({ id: previewId, status: "ready", extension: "png", original_name: "layout shot", width: 320, height: 240, revision: 1, position: 1 });
    expect(body.file_size).toBeGreaterThan(0);
    // As Zou's upload route: the row update is announced, then the comment and the file.
    expect(events.filter((name) => name.startsWith("preview-file:") || name === "comment:update")).toEqual([
      "preview-file:update",
      "comment:update",
      "preview-file:add-file",
    ]);
    const logged = await w.server.db.selectFrom("api_event").select(["data", "project_id"]).where("name", "=", "preview-file:update").execute();
    expect(logged.map((event) => JSON.parse(String(event.data)).preview_file_id)).toContain(previewId);
    const root = w.server.config.previewFolder;
    expect(existsSync(`${root}/pictures/thumbnails/${previewId.slice(0, 3)}/${previewId.slice(3, 6)}/${previewId}`)).toBe(true);
    expect(existsSync(`${root}/pictures/thumbnails/squ/are/square-${previewId}`)).toBe(true);
    expect(existsSync(storePath(w.server.config, "pictures", "original", previewId))).toBe(true);
    const sizes = async (prefix: string) => {
      const info = await probe(storePath(w.server.config, "pictures", prefix, previewId));
      return [info.width, info.height];
    };
    expect(await sizes("thumbnails")).toEqual([150, 100]);
    expect(await sizes("thumbnails-square")).toEqual([100, 100]);
    expect(await sizes("previews")).toEqual([1200, 900]);
    const task = await w.fx.getTask(taskId);
    expect(task.last_preview_file_id).toBe(previewId);
  });

  test("thumbnails, previews and originals are served as PNG with cache validators", async () => {
    for (const path of [
      `/pictures/thumbnails/preview-files/${previewId}.png`,
      `/pictures/thumbnails-square/preview-files/${previewId}.png`,
      `/pictures/previews/preview-files/${previewId}.png`,
      `/pictures/originals/preview-files/${previewId}.png`,
    ]) {
      const response = await get(path);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("image/png");
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      const etag = response.headers.get("etag")!;
      expect((await get(path, w.people.artist.token, { "If-None-Match": etag })).status).toBe(304);
    }
    const download = await get(`/pictures/originals/preview-files/${previewId}/download`);
    expect(download.status).toBe(200);
    expect(download.headers.get("content-disposition")).toBe('attachment; filename="cosmos_landromat_sq01_sh01_animation_v1.png"');
  });

  test("media routes: 403 for a non-member, 404 for an unknown id or a missing file", async () => {
    expect((await get(`/pictures/thumbnails/preview-files/${previewId}.png`, w.people.outsider.token)).status).toBe(403);
    expect((await get(`/pictures/originals/preview-files/${previewId}/download`, w.people.outsider.token)).status).toBe(403);
    expect((await get(`/pictures/thumbnails/preview-files/${UNKNOWN}.png`)).status).toBe(404);
    expect((await get(`/pictures/thumbnails/preview-files/not-an-id.png`)).status).toBe(404);
    expect((await get(`/movies/originals/preview-files/${previewId}.mp4`)).status).toBe(404);
    expect((await get(`/pictures/originals/preview-files/${previewId}.exe`)).status).toBe(400);
    expect((await w.server.request("GET", `/api/pictures/thumbnails/preview-files/${previewId}.png`, { token: null })).status).toBe(401);
  });

  test("the main preview of a shared entity is readable by any logged user", async () => {
    const task = await w.fx.getTask(taskId);
    await w.server.db.updateTable("entity").set({ preview_file_id: previewId, is_shared: true }).where("id", "=", task.entity_id).execute();
    expect((await get(`/pictures/thumbnails/preview-files/${previewId}.png`, w.people.outsider.token)).status).toBe(200);
    expect((await get(`/pictures/previews/preview-files/${previewId}.png`, w.people.outsider.token)).status).toBe(403);
    await w.server.db.updateTable("entity").set({ is_shared: false }).where("id", "=", task.entity_id).execute();
  });

  test("a re-upload is a 400; no file is a 400; unknown preview 404; members without action rights 403", async () => {
    const again = await w.upload(previewId, await fileOf(w.media.picture, "again.png"));
    expect(again.status).toBe(400);
    const slot = await w.newSlot(taskId);
    expect((await w.upload(slot, null)).body).toEqual({ error: true, message: "File not provided.", data: null });
    expect((await w.upload(UNKNOWN, await fileOf(w.media.picture, "x.png"))).status).toBe(404);
    expect((await w.upload(slot, await fileOf(w.media.picture, "x.png"), { token: w.people.bystander.token })).status).toBe(403);
    expect((await w.upload(slot, await fileOf(w.media.picture, "x.png"), { token: w.people.outsider.token })).status).toBe(403);
    expect((await row(slot))?.status).toBe("processing");
  });

  test("an unknown extension or an empty file is a 400 and the slot is deleted", async () => {
    const slot = await w.newSlot(taskId);
    const wrong = await w.upload(slot, new File(["<html></html>"], "page.html"));
    expect(wrong).toEqual({ status: 400, body: { error: true, message: "Wrong file format, extension: html", data: null } });
    expect(await row(slot)).toBeUndefined();
    const other = await w.newSlot(taskId);
    expect((await w.upload(other, new File([], "empty.mov"))).status).toBe(400);
    expect(await row(other)).toBeUndefined();
    const link = await w.server.db.selectFrom("comment_preview_link").selectAll().where("preview_file", "in", [slot, other]).execute();
    expect(link).toEqual([]);
  });

  test("a JPEG is stored as PNG; a garbage picture is a 400 without a row", async () => {
    const slot = await w.newSlot(taskId);
    const { status, body } = await w.upload(slot, await fileOf(w.media.jpeg, "photo.jpg"));
    expect(status).toBe(201);
    expect(body).toMatchObject({ extension: "png", width: 640, height: 360, status: "ready" });
    const bad = await w.newSlot(taskId);
    expect((await w.upload(bad, new File(["not a picture at all"], "fake.png"))).status).toBe(400);
    expect(await row(bad)).toBeUndefined();
  });
});

describe("movie previews", () => {
  let taskId: string;
  let movieId: string;
  beforeAll(async () => {
    taskId = await w.newTask("SH10");
    movieId = await w.newSlot(taskId);
  });

  test("a movie is queued (processing), then ready with H.264 high and low definition, thumbnails and tile", async () => {
    const updates: string[] = [];
    const stop = w.server.events.subscribe((event) => {
      if (event.name === "preview-file:update") updates.push(String(event.data.preview_file_id));
    });
    const { status, body } = await w.upload(movieId, await fileOf(w.media.movie, "anim v1.mov"));
    expect(status).toBe(201);
    expect(body).toMatchObject({ status: "processing", extension: "mp4", original_name: "anim v1" });
    await jobsDone();
    stop();
    expect(updates).toContain(movieId);
    const ready = (await row(movieId))!;
    expect(ready.status).toBe("ready");
    expect([ready.width, ready.height]).toEqual([320, 240]);
    expect(Number(ready.duration)).toBeGreaterThan(0.9);
    const data = JSON.parse(String(ready.data));
    expect(data).toMatchObject({ original_width: 320, original_height: 240 });
    const high = await probe(storePath(w.server.config, "movies", "previews", movieId));
    expect([high.codec, high.width, high.height, high.hasAudio, Math.round(high.fps)]).toEqual(["h264", 320, 240, true, 25]);
    const low = await probe(storePath(w.server.config, "movies", "lowdef", movieId));
    expect([low.width, low.height]).toEqual([1280, 960]);
    const tile = await probe(storePath(w.server.config, "pictures", "tiles", movieId));
    expect([tile.width, tile.height]).toEqual([1072, 400]);
    expect((await probe(storePath(w.server.config, "pictures", "thumbnails", movieId))).width).toBe(150);
    expect((await w.fx.getTask(taskId)).last_preview_file_id).toBe(movieId);
    expect(existsSync(pendingFolder(w.server.config)) ? (await Array.fromAsync(new Bun.Glob(`${movieId}*`).scan(pendingFolder(w.server.config)))) : []).toEqual([]);
  });

  test("movies stream with ranges (206, 416) and conditional requests (304)", async () => {
    const path = `/movies/originals/preview-files/${movieId}.mp4`;
    const full = await get(path);
    expect(full.status).toBe(200);
    expect(full.headers.get("content-type")).toBe("video/mp4");
    const size = Number(full.headers.get("content-length"));
    expect(size).toBe(statSync(storePath(w.server.config, "movies", "previews", movieId)).size);
    const part = await get(path, w.people.artist.token, { Range: "bytes=0-99" });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 0-99/${size}`);
    expect((await part.arrayBuffer()).byteLength).toBe(100);
    const tail = await get(path, w.people.artist.token, { Range: "bytes=-10" });
    expect(tail.headers.get("content-range")).toBe(`bytes ${size - 10}-${size - 1}/${size}`);
    expect((await get(path, w.people.artist.token, { Range: `bytes=${size}-` })).status).toBe(416);
    expect((await get(path, w.people.artist.token, { Range: "bytes=0-1,5-6" })).status).toBe(416);
    expect((await get(path, w.people.artist.token, { "If-None-Match": full.headers.get("etag")! })).status).toBe(304);
    expect((await get(path, w.people.artist.token, { "If-Modified-Since": full.headers.get("last-modified")! })).status).toBe(304);
    expect((await get(`/movies/low/preview-files/${movieId}.mp4`)).status).toBe(200);
    expect((await get(`/movies/source/preview-files/${movieId}.mp4`)).status).toBe(404);
    expect((await get(`/movies/tiles/preview-files/${movieId}.png`)).headers.get("content-type")).toBe("image/png");
    const download = await get(`/movies/originals/preview-files/${movieId}/download`);
    expect(download.headers.get("content-disposition")).toBe('attachment; filename="cosmos_landromat_sq01_sh10_animation_v1.mp4"');
    expect((await get(path, w.people.outsider.token)).status).toBe(403);
    expect((await get(`/movies/originals/preview-files/${UNKNOWN}.mp4`)).status).toBe(404);
  });

  test("a broken movie ends broken with a message; the server keeps answering", async () => {
    const slot = await w.newSlot(taskId);
    const { status, body } = await w.upload(slot, await fileOf(w.media.broken, "broken.mp4"));
    expect(status).toBe(201);
    expect(body.status).toBe("processing");
    await jobsDone();
    const broken = (await row(slot))!;
    expect(broken.status).toBe("broken");
    expect(JSON.parse(String(broken.data)).processing_error).toContain("ffprobe");
    expect((await get(`/movies/originals/preview-files/${slot}.mp4`)).status).toBe(404);
  });

  test("no_job=true answers once processed; a silent movie gets a soundtrack", async () => {
    const slot = await w.newSlot(taskId);
    const { status, body } = await w.upload(slot, await fileOf(w.media.silentMovie, "silent.mp4"), { query: "?no_job=true" });
    expect(status).toBe(201);
    expect(body.status).toBe("ready");
    expect((await probe(storePath(w.server.config, "movies", "previews", slot))).hasAudio).toBe(true);
  });

  test("normalize=false stores the upload as it is", async () => {
    const slot = await w.newSlot(taskId);
    const { body } = await w.upload(slot, await fileOf(w.media.silentMovie, "raw.mp4"), { query: "?normalize=false&no_job=true" });
    expect(body.status).toBe("ready");
    expect(statSync(storePath(w.server.config, "movies", "previews", slot)).size).toBe(statSync(w.media.silentMovie).size);
    expect(existsSync(storePath(w.server.config, "movies", "lowdef", slot))).toBe(false);
  });

  test("without ffmpeg a movie upload is a clear 500 and leaves no row", async () => {
    const slot = await w.newSlot(taskId);
    process.env.FFMPEG_PATH = "/nonexistent/ffmpeg";
    try {
      const { status, body } = await w.upload(slot, await fileOf(w.media.movie, "m.mov"));
      expect(status).toBe(500);
      expect(body.message).toBe("Movie preview normalization failed.");
      expect(body.data.reason).toContain("FFMPEG_PATH");
    } finally {
      delete process.env.FFMPEG_PATH;
    }
    expect(await row(slot)).toBeUndefined();
  });

  test("a restart re-queues movies left processing; those whose upload is gone end broken", async () => {
    const now = utcNow();
    const base = { created_at: now, updated_at: now, name: "x", revision: 9, position: 1, extension: "mp4", status: "processing", task_id: taskId, original_name: "left" };
    const kept = newId();
    const lost = newId();
    await w.server.db.insertInto("preview_file").values([{ ...base, id: kept }, { ...base, id: lost, revision: 10 }] as any).execute();
    mkdirSync(pendingFolder(w.server.config), { recursive: true });
    copyFileSync(w.media.movie, pendingUploadPath(w.server.config, kept, true, "mov"));
    const result = await resumePreviewProcessing({ db: w.server.db, config: w.server.config, events: w.server.events });
    expect(result.requeued).toBeGreaterThanOrEqual(1);
    expect(result.broken).toBeGreaterThanOrEqual(1);
    await jobsDone();
    expect((await row(kept))?.status).toBe("ready");
    expect((await row(lost))?.status).toBe("broken");
  });
});

describe("other files", () => {
  test("a PDF is stored in the files bucket and served as application/pdf; an SVG only as a download", async () => {
    const taskId = await w.newTask("SH20");
    const pdf = await w.newSlot(taskId);
    const { status, body } = await w.upload(pdf, new File(["%PDF-1.4 fake"], "notes.pdf"));
    expect(status).toBe(201);
    expect(body).toMatchObject({ extension: "pdf", status: "ready", original_name: "notes" });
    expect(existsSync(storePath(w.server.config, "files", "previews", pdf))).toBe(true);
    const served = await get(`/pictures/originals/preview-files/${pdf}.pdf`);
    expect(served.headers.get("content-type")).toBe("application/pdf");
    expect(served.headers.get("content-security-policy")).toBe("default-src 'none'; sandbox");
    const svg = await w.newSlot(taskId);
    await w.upload(svg, new File(['<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'], "evil.svg"));
    const svgServed = await get(`/pictures/originals/preview-files/${svg}.svg`);
    expect(svgServed.status).toBe(200);
    expect(svgServed.headers.get("content-type")).toBe("application/octet-stream");
    expect(svgServed.headers.get("content-disposition")).toStartWith("attachment");
    const download = await get(`/pictures/originals/preview-files/${svg}/download`);
    expect(download.headers.get("content-type")).toBe("application/octet-stream");
    expect(download.headers.get("content-disposition")).toContain("attachment");
  });
});
