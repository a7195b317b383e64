/**
 * Actions on preview files (previews.md §9) and the other media families: extract-frame,
 * extract-tile, set-main-preview, update-position, update-annotations, annotated frames, batch
 * comments with previews, the running list, avatars, preview backgrounds, attachment thumbnails,
 * and stored attachments served safely (issue 8 item 1).
 */
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { probe } from "../src/lib/ffmpeg";
import { mergeAnnotations } from "../src/services/preview-files";
import { newId, utcNow } from "../src/lib/ids";
import { fileOf, jobsDone, makePreviewWorld, UNKNOWN, type PreviewWorld } from "./previews-fixtures";

setDefaultTimeout(60_000);

let w: PreviewWorld;
let taskId: string;
let movieId: string;
let pictureId: string;
beforeAll(async () => {
  w = await makePreviewWorld();
  taskId = await w.newTask("SH01");
  movieId = await w.newSlot(taskId);
  const movie = await w.upload(movieId, await fileOf(w.media.movie, "anim.mov"), { query: "?no_job=true" });
  if (movie.body.status !== "ready") throw new Error(`movie not ready: ${JSON.stringify(movie.body)}`);
  pictureId = await w.newSlot(taskId);
  await w.upload(pictureId, await fileOf(w.media.picture, "still.png"));
});

const call = (method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}) =>
  w.server.json(method, `/api${path}`, { token, body, headers });
const raw = (path: string, token: string) => w.server.request("GET", `/api${path}`, { token });

describe("extract-frame, extract-tile, set-main-preview", () => {
  test("extract-frame: managers get the PNG of a frame; artists 403; pictures 404; unknown 404; bad frame 400", async () => {
    const frame = await raw(`/actions/preview-files/${movieId}/extract-frame?frame_number=10`, w.people.manager.token);
    expect(frame.status).toBe(200);
    expect(frame.headers.get("content-type")).toBe("image/png");
    expect((await frame.arrayBuffer()).byteLength).toBeGreaterThan(100);
    expect((await raw(`/actions/preview-files/${movieId}/extract-frame`, w.people.artist.token)).status).toBe(403);
    expect((await raw(`/actions/preview-files/${pictureId}/extract-frame`, w.people.manager.token)).status).toBe(404);
    expect((await raw(`/actions/preview-files/${UNKNOWN}/extract-frame`, w.people.manager.token)).status).toBe(404);
    expect((await raw(`/actions/preview-files/${movieId}/extract-frame?frame_number=abc`, w.people.manager.token)).status).toBe(400);
  });

  test("extract-tile regenerates the tile; pictures are a 400; non-members 403", async () => {
    const tile = await raw(`/actions/preview-files/${movieId}/extract-tile`, w.people.artist.token);
    expect(tile.status).toBe(200);
    expect(tile.headers.get("content-type")).toBe("image/png");
    expect((await raw(`/actions/preview-files/${pictureId}/extract-tile`, w.people.artist.token)).status).toBe(400);
    expect((await raw(`/actions/preview-files/${movieId}/extract-tile`, w.people.outsider.token)).status).toBe(403);
  });

  test("set-main-preview sets the entity thumbnail (from a frame for movies); clients 403; frame on a picture 400", async () => {
    const events: string[] = [];
    const stop = w.server.events.subscribe((event) => events.push(event.name));
    const set = await call("PUT", `/actions/preview-files/${movieId}/set-main-preview`, w.people.artist.token, { frame_number: 5 });
    stop();
    expect(set.status).toBe(200);
    expect(set.body.preview_file_id).toBe(movieId);
    expect(set.body.type).toBe("Shot");
    expect(events).toEqual(expect.arrayContaining(["preview-file:set-main", "shot:update"]));
    expect((await call("PUT", `/actions/preview-files/${movieId}/set-main-preview`, w.people.client.token, {})).status).toBe(403);
    expect((await call("PUT", `/actions/preview-files/${pictureId}/set-main-preview`, w.people.artist.token, { frame_number: 2 })).status).toBe(400);
    expect((await call("PUT", `/actions/preview-files/${UNKNOWN}/set-main-preview`, w.people.artist.token, {})).status).toBe(404);
  });
});

describe("positions and annotations", () => {
  test("update-position moves a preview inside its revision and renumbers; action rights needed", async () => {
    const task = await w.newTask("SH02");
    const comment = await call("POST", `/actions/tasks/${task}/comment`, w.people.artist.token, { task_status_id: w.wfa.id, comment: "three" });
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      ids.push((await call("POST", `/actions/tasks/${task}/comments/${comment.body.id}/add-preview`, w.people.artist.token, {})).body.id);
    }
    const moved = await call("PUT", `/actions/preview-files/${ids[2]}/update-position`, w.people.artist.token, { position: 1 });
    expect(moved.status).toBe(200);
    expect(moved.body.map((p: any) => [p.id, p.position])).toEqual([[ids[2], 1], [ids[0], 2], [ids[1], 3]]);
    const ignored = await call("PUT", `/actions/preview-files/${ids[0]}/update-position`, w.people.artist.token, { position: 9 });
    expect(ignored.body.map((p: any) => p.id)).toEqual([ids[2], ids[0], ids[1]]);
    expect((await call("PUT", `/actions/preview-files/${ids[0]}/update-position`, w.people.bystander.token, { position: 1 })).status).toBe(403);
    expect((await call("PUT", `/actions/preview-files/${ids[0]}/update-position`, w.people.artist.token, { position: "x" })).status).toBe(400);
    expect((await call("PUT", `/actions/preview-files/${UNKNOWN}/update-position`, w.people.artist.token, { position: 1 })).status).toBe(404);
  });

  test("update-annotations merges additions, updates and deletions as Zou does", async () => {
    const add = await call("PUT", `/actions/preview-files/${movieId}/update-annotations`, w.people.manager.token, {
      additions: [{ time: 0.04, drawing: { objects: [{ id: "a", type: "path" }, { type: "text" }] } }, { time: 1, drawing: { objects: [{ id: "z" }] } }],
    });
    expect(add.status).toBe(200);
    expect(add.body.annotations).toHaveLength(2);
    const generated = add.body.annotations[0].drawing.objects[1].id;
    expect(typeof generated).toBe("string");
    const merged = await call("PUT", `/actions/preview-files/${movieId}/update-annotations`, w.people.client.token, {
      additions: [{ time: 0.04, drawing: { objects: [{ id: "a", type: "dup" }, { id: "b" }] } }],
      updates: [{ time: 0.04, drawing: { objects: [{ id: "a", type: "circle" }, { id: "unknown" }] } }],
      deletions: [{ time: 1, objects: ["z"] }],
    });
    expect(merged.status).toBe(200);
    expect(merged.body.annotations).toEqual([{ time: 0.04, drawing: { objects: [{ id: generated, type: "text" }, { id: "b" }, { id: "a", type: "circle" }] } }]);
    expect((await call("PUT", `/actions/preview-files/${movieId}/update-annotations`, w.people.artist.token, {})).status).toBe(403);
    expect((await call("PUT", `/actions/preview-files/${movieId}/update-annotations`, w.people.manager.token, { additions: "x" })).status).toBe(400);
    expect((await call("PUT", `/actions/preview-files/${UNKNOWN}/update-annotations`, w.people.manager.token, {})).status).toBe(404);
  });

  test("mergeAnnotations keeps previous objects without ids and drops emptied times", () => {
    expect(mergeAnnotations([{ time: 2, drawing: { objects: [{ id: "x" }] } }], [], [], [{ time: 2, objects: ["x"] }])).toEqual([]);
  });

  test("extract-annotated-frame: manager only, frame needed for movies, picture without annotation 400", async () => {
    const frame = await raw(`/actions/preview-files/${movieId}/extract-annotated-frame?frame_number=2`, w.people.manager.token);
    expect(frame.status).toBe(200);
    expect((await raw(`/actions/preview-files/${movieId}/extract-annotated-frame`, w.people.manager.token)).status).toBe(400);
    expect((await raw(`/actions/preview-files/${movieId}/extract-annotated-frame?frame_number=0`, w.people.manager.token)).status).toBe(400);
    expect((await raw(`/actions/preview-files/${movieId}/extract-annotated-frame?frame_number=2`, w.people.artist.token)).status).toBe(403);
    expect((await raw(`/actions/preview-files/${pictureId}/extract-annotated-frame`, w.people.manager.token)).status).toBe(400);
    expect((await raw(`/actions/preview-files/${pictureId}/extract-annotated-frames`, w.people.manager.token)).status).toBe(400);
    expect((await raw(`/actions/preview-files/${UNKNOWN}/extract-annotated-frames-pdf`, w.people.manager.token)).status).toBe(404);
    expect((await raw(`/actions/preview-files/${movieId}/extract-annotated-frame?frame_number=20`, w.people.manager.token)).status).toBe(400);
    const zip = await raw(`/actions/preview-files/${movieId}/extract-annotated-frames`, w.people.manager.token);
    expect(zip.status).toBe(200);
    expect(zip.headers.get("content-type")).toBe("application/zip");
    expect(zip.headers.get("content-disposition")).toBe('attachment; filename="cosmos_landromat_sq01_sh01_animation_v1_annotated_frames.zip"');
    const zipBytes = new Uint8Array(await zip.arrayBuffer());
    expect(new TextDecoder().decode(zipBytes.slice(0, 2))).toBe("PK");
    expect(new TextDecoder().decode(zipBytes)).toContain("cosmos_landromat_sq01_sh01_animation_v1_frame_2.png");
    const pdf = await raw(`/actions/preview-files/${movieId}/extract-annotated-frames-pdf`, w.people.manager.token);
    expect(pdf.headers.get("content-type")).toBe("application/pdf");
    expect(new TextDecoder().decode(new Uint8Array(await pdf.arrayBuffer()).slice(0, 8))).toBe("%PDF-1.4");
    await call("PUT", `/actions/preview-files/${pictureId}/update-annotations`, w.people.manager.token, {
      additions: [{ time: 0, width: 320, height: 240, drawing: { objects: [{ id: "p", type: "path", stroke: "#ff0000", strokeWidth: 4, path: [["M", 10, 10], ["L", 200, 200]] }, { id: "t", type: "text", text: "<ok>", left: 5, top: 5, fill: "#00ff00" }] } }],
    });
    const drawn = await raw(`/actions/preview-files/${pictureId}/extract-annotated-frame`, w.people.manager.token);
    expect(drawn.status).toBe(200);
    expect(drawn.headers.get("content-type")).toBe("image/png");
  });
});

describe("batch comments and the running list", () => {
  test("a batch comment creates comments with their previews; refused statuses are 403", async () => {
    const task = await w.newTask("SH03");
    const form = new FormData();
    form.append("comments", JSON.stringify([{ task_status_id: w.wfa.id, comment: "first" }, { task_status_id: w.wfa.id, comment: "second" }]));
    form.append("preview_file-0", await fileOf(w.media.picture, "one.png"));
    form.append("preview_file-1", new File(["x"], "bad.exe"));
    const { status, body } = await w.server.json("POST", `/api/actions/tasks/${task}/batch-comment`, { token: w.people.artist.token, body: form });
    expect(status).toBe(201);
    expect(body.map((comment: any) => comment.text)).toEqual(["first", "second"]);
    expect(body[0].previews).toHaveLength(1);
    expect(body[0].previews[0]).toMatchObject({ status: "ready", extension: "png", revision: 1 });
    expect(body[1].previews).toEqual([]);
    const done = await w.fx.status("done");
    const refused = new FormData();
    refused.append("comments", JSON.stringify([{ task_status_id: done.id, comment: "no" }]));
    await w.server.db.updateTable("task_status").set({ is_artist_allowed: false }).where("id", "=", done.id).execute();
    expect((await w.server.json("POST", `/api/actions/tasks/${task}/batch-comment`, { token: w.people.artist.token, body: refused })).status).toBe(403);
    expect((await w.server.json("POST", `/api/actions/tasks/${UNKNOWN}/batch-comment`, { token: w.people.artist.token, body: refused })).status).toBe(404);
    const many = new FormData();
    many.append("comments", JSON.stringify([{ object_id: task, task_status_id: w.wfa.id, comment: "multi" }]));
    const multi = await w.server.json("POST", "/api/actions/tasks/batch-comment", { token: w.people.manager.token, body: many });
    expect(multi.status).toBe(201);
    expect(multi.body[0].object_id).toBe(task);
    expect((await w.server.json("POST", "/api/actions/tasks/batch-comment", { token: w.people.outsider.token, body: many })).status).toBe(403);
    const bare = await w.server.json("POST", `/api/actions/tasks/${task}/batch-comment`, { token: w.people.artist.token, body: [{ task_status_id: w.wfa.id }] });
    expect(bare).toEqual({ status: 400, body: { error: true, message: "Missing required parameter: comments", data: null } });
  });

  test("batch comment: every item is checked before any is written (unknown task or status 404, bad item 400)", async () => {
    const task = await w.newTask("SH04");
    const countComments = async () => (await w.server.db.selectFrom("comment").select("id").where("object_id", "=", task).execute()).length;
    const post = (items: unknown) => w.server.json("POST", "/api/actions/tasks/batch-comment", { token: w.people.manager.token, body: { comments: items } });
    const good = { object_id: task, task_status_id: w.wfa.id, comment: "ok" };
    expect((await post([good, { object_id: UNKNOWN, task_status_id: w.wfa.id }])).status).toBe(404);
    expect((await post([good, { object_id: "nope", task_status_id: w.wfa.id }])).status).toBe(404);
    expect((await post([good, { object_id: task, task_status_id: UNKNOWN }])).status).toBe(404);
    expect((await post([good, { task_id: task }])).status).toBe(404);
    expect(await post([good, "text"])).toEqual({ status: 400, body: { error: true, message: "Each comment must be an object.", data: null } });
    expect(await countComments()).toBe(0);
    const done = await post([{ task_id: task, task_status_id: w.wfa.id, comment: "by task_id" }]);
    expect(done.status).toBe(201);
    expect(done.body.map((comment: any) => comment.text)).toEqual(["by task_id"]);
    expect(await countComments()).toBe(1);
  });

  test("running previews: admin only, newest first with project and task type", async () => {
    const stuck = newId();
    await w.server.db.insertInto("preview_file").values({ id: stuck, created_at: utcNow(), updated_at: utcNow(), name: "s", revision: 50, position: 1, status: "broken", task_id: taskId } as any).execute();
    const { status, body } = await call("GET", "/data/playlists/preview-files/running?limit=5", w.server.admin.token);
    expect(status).toBe(200);
    const entry = body.find((p: any) => p.id === stuck);
    expect(entry).toMatchObject({ project_id: w.project.id, task_type_id: w.taskTypeId, full_entity_name: "SQ01 / SH01" });
    expect((await call("GET", "/data/playlists/preview-files/running", w.people.manager.token)).status).toBe(403);
    expect((await call("GET", "/data/playlists/preview-files/running?limit=x", w.server.admin.token)).status).toBe(400);
    expect((await call("GET", "/data/playlists/preview-files/running?cursor_preview_file_id=bad", w.server.admin.token)).status).toBe(400);
  });
});

describe("avatars, preview backgrounds, attachment thumbnails", () => {
  const avatarForm = async (name = "me.png") => {
    const form = new FormData();
    form.append("file", await fileOf(w.media.jpeg, name));
    return form;
  };

  test("a person sets their avatar (400×400); others 403; unknown 404; wrong extension 400; read by anyone", async () => {
    const artist = w.people.artist;
    expect((await call("GET", `/pictures/thumbnails/persons/${artist.id}.png`, artist.token)).status).toBe(404);
    const set = await w.server.json("POST", `/api/pictures/thumbnails/persons/${artist.id}`, { token: artist.token, body: await avatarForm() });
    expect(set).toEqual({ status: 201, body: { thumbnail_path: `/api/pictures/thumbnails/persons/${artist.id}.png` } });
    const avatar = await raw(`/pictures/thumbnails/persons/${artist.id}.png`, w.people.outsider.token);
    expect(avatar.status).toBe(200);
    expect((await raw(`/pictures/thumbnails/persons/${artist.id}`, w.people.outsider.token)).status).toBe(200);
    const person = await w.server.db.selectFrom("person").select("has_avatar").where("id", "=", artist.id).executeTakeFirstOrThrow();
    expect(Boolean(person.has_avatar)).toBe(true);
    expect((await w.server.json("POST", `/api/pictures/thumbnails/persons/${artist.id}.png`, { token: w.people.manager.token, body: await avatarForm() })).status).toBe(403);
    expect((await w.server.json("POST", `/api/pictures/thumbnails/persons/${UNKNOWN}`, { body: await avatarForm() })).status).toBe(404);
    expect((await w.server.json("POST", `/api/pictures/thumbnails/persons/${artist.id}`, { token: artist.token, body: await avatarForm("me.gif") })).status).toBe(400);
  });

  test("project pictures: managers of the project write, members read; organisation logo: admin writes", async () => {
    const set = await w.server.json("POST", `/api/pictures/thumbnails/projects/${w.project.id}`, { token: w.people.manager.token, body: await avatarForm() });
    expect(set.status).toBe(201);
    expect((await raw(`/pictures/thumbnails/projects/${w.project.id}.png`, w.people.artist.token)).status).toBe(200);
    expect((await raw(`/pictures/thumbnails/projects/${w.project.id}.png`, w.people.outsider.token)).status).toBe(403);
    expect((await w.server.json("POST", `/api/pictures/thumbnails/projects/${w.project.id}`, { token: w.people.artist.token, body: await avatarForm() })).status).toBe(403);
    const organisation = await w.server.json("GET", "/api/data/organisations");
    const orgId = organisation.body[0]?.id;
    if (orgId) {
      expect((await w.server.json("POST", `/api/pictures/thumbnails/organisations/${orgId}`, { token: w.people.manager.token, body: await avatarForm() })).status).toBe(403);
      expect((await w.server.json("POST", `/api/pictures/thumbnails/organisations/${orgId}`, { body: await avatarForm() })).status).toBe(201);
      expect((await raw(`/pictures/thumbnails/organisations/${orgId}.png`, w.people.vendor.token)).status).toBe(200);
    }
  });

  test("preview background files: admin uploads an HDR; served by extension; other extensions refused", async () => {
    const id = newId();
    await w.server.db.insertInto("preview_background_file").values({ id, created_at: utcNow(), updated_at: utcNow(), name: "studio" } as any).execute();
    // A 4×2 Radiance picture (flat RGBE scanlines); ffmpeg 5.1 cannot decode HDR, so no thumbnail is asserted.
    const header = new TextEncoder().encode("#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 2 +X 4\n");
    const pixels = new Uint8Array(32).map((_, i) => [128, 64, 32, 129][i % 4]!);
    const form = new FormData();
    form.append("file", new File([header, pixels], "studio.hdr"));
    expect((await w.server.json("POST", `/api/pictures/preview-background-files/${id}`, { token: w.people.manager.token, body: form })).status).toBe(403);
    const stored = await w.server.json("POST", `/api/pictures/preview-background-files/${id}`, { body: form });
    expect(stored.status).toBe(201);
    expect(stored.body).toMatchObject({ extension: "hdr", original_name: "studio" });
    const file = await raw(`/pictures/preview-background-files/${id}.hdr`, w.people.artist.token);
    expect(file.status).toBe(200);
    expect(file.headers.get("content-type")).toBe("image/vnd.radiance");
    expect((await raw(`/pictures/preview-background-files/${id}.png`, w.people.artist.token)).status).toBe(404);
    expect([200, 404]).toContain((await raw(`/pictures/thumbnails/preview-background-files/${id}.png`, w.people.artist.token)).status);
    expect((await raw(`/pictures/thumbnails/preview-background-files/${UNKNOWN}.png`, w.people.artist.token)).status).toBe(404);
    const wrong = new FormData();
    wrong.append("file", new File(["x"], "x.exr"));
    expect((await w.server.json("POST", `/api/pictures/preview-background-files/${id}`, { body: wrong })).status).toBe(400);
    expect((await w.server.json("POST", `/api/pictures/preview-background-files/${UNKNOWN}`, { body: wrong })).status).toBe(404);
  });

  test("attachments: picture thumbnails made on demand; evil HTML, SVG and a PNG sent as text/html served safely", async () => {
    const form = new FormData();
    form.append("task_status_id", w.wfa.id);
    form.append("comment", "files");
    form.append("file-0", await fileOf(w.media.picture, "shot.png"));
    form.append("file-1", new File(["<script>alert(document.cookie)</script>"], "evil.html", { type: "text/html" }));
    form.append("file-2", new File(['<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'], "evil.svg", { type: "image/svg+xml" }));
    form.append("file-3", new File(["<script>alert(1)</script>"], "fake.png", { type: "text/html" }));
    const comment = await w.server.json("POST", `/api/actions/tasks/${taskId}/comment`, { token: w.people.artist.token, body: form });
    expect(comment.status).toBe(201);
    const [png, html, svg, fake] = comment.body.attachment_files;
    const thumbnail = await raw(`/pictures/thumbnails/attachment-files/${png.id}.png`, w.people.artist.token);
    expect(thumbnail.status).toBe(200);
    const thumbnailPath = `${w.server.config.previewFolder}/pictures/thumbnails/${png.id.slice(0, 3)}/${png.id.slice(3, 6)}/${png.id}`;
    expect([(await probe(thumbnailPath)).width, (await probe(thumbnailPath)).height]).toEqual([150, 100]);
    expect((await raw(`/pictures/thumbnails/attachment-files/${html.id}.png`, w.people.artist.token)).status).toBe(404);
    expect((await raw(`/pictures/thumbnails/attachment-files/${png.id}.png`, w.people.outsider.token)).status).toBe(403);

    for (const attachment of [html, svg]) {
      const served = await raw(`/data/attachment-files/${attachment.id}/file/${attachment.name}`, w.people.artist.token);
      expect(served.status).toBe(200);
      expect(served.headers.get("content-type")).toBe("application/octet-stream");
      expect(served.headers.get("content-disposition")).toStartWith("attachment");
      expect(served.headers.get("x-content-type-options")).toBe("nosniff");
      expect(served.headers.get("content-security-policy")).toBe("default-src 'none'; sandbox");
    }
    const fakePng = await raw(`/data/attachment-files/${fake.id}/file/fake.png`, w.people.artist.token);
    expect(fakePng.headers.get("content-type")).toBe("image/png");
    expect(fakePng.headers.get("content-security-policy")).toBe("default-src 'none'; sandbox");
    expect(fakePng.headers.get("x-content-type-options")).toBe("nosniff");
    const ranged = await w.server.request("GET", `/api/data/attachment-files/${html.id}/file/evil.html`, { token: w.people.artist.token, headers: { Range: "bytes=0-7" } });
    expect(ranged.status).toBe(206);
    expect(await ranged.text()).toBe("<script>");
  });

  test("a working file download is an attachment with the safe headers", async () => {
    await jobsDone();
    const task = await w.fx.getTask(taskId);
    const wf = { body: { id: newId() } };
    await w.server.db.insertInto("working_file").values({
      id: wf.body.id, created_at: utcNow(), updated_at: utcNow(), name: "main", revision: 1, task_id: taskId, entity_id: task.entity_id,
      person_id: w.people.artist.id, path: "/prod/scene",
    } as any).execute();
    const form = new FormData();
    form.append("file", new File(["<html><script>x</script></html>"], "scene.html"));
    expect((await w.server.request("POST", `/api/data/working-files/${wf.body.id}/file`, { token: w.people.artist.token, body: form })).status).toBe(201);
    const served = await raw(`/data/working-files/${wf.body.id}/file`, w.people.artist.token);
    expect(served.status).toBe(200);
    expect(served.headers.get("content-disposition")).toStartWith("attachment");
    expect(served.headers.get("content-security-policy")).toBe("default-src 'none'; sandbox");
  });
});
