#!/usr/bin/env bun
/**
 * Benchmark of preview processing (issue 10, see bench/README.md):
 *  (a) time from the end of a movie upload (the 201) to the preview being `ready`, for a
 *      SECONDS-long 1920x1080 25 fps clip with sound, next to the time the same ffmpeg commands
 *      take run one after the other without the server (probe, high-def and low-def encodes,
 *      thumbnails, tile): the floor;
 *  (b) peak RSS of the process serving the app while a MB-sized file streams up (multipart, as
 *      an "other file" preview, so no ffmpeg runs), next to its idle RSS;
 *  (c) four movie uploads at once: statuses, 5xx count, time until all are ready.
 *
 * The app is served by Bun.serve on 127.0.0.1 in this process (in-memory database, temporary
 * preview folder); clips are generated with ffmpeg and removed at the end.
 *
 *   node_modules/.bin/bun bench/previews.ts [--seconds 10] [--upload-mb 1024] [--preset slow]
 */
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fitPictures, makeTile, normalizeMovie, probe } from "../src/lib/ffmpeg";
import { movieSizes, VARIANTS } from "../src/services/preview-processing";
import { makePreviewWorld, jobsDone } from "../test/previews-fixtures";

function option(name: string, fallback: number | string): string {
  const index = process.argv.indexOf(name);
  return index === -1 ? String(fallback) : process.argv[index + 1]!;
}
const seconds = Number(option("--seconds", 10));
const uploadMb = Number(option("--upload-mb", 1024));
const preset = option("--preset", "slow");

const w = await makePreviewWorld();
process.env.FFMPEG_PRESET = preset;
await w.server.db.updateTable("project").set({ resolution: "1920x1080", fps: "25" }).where("id", "=", w.project.id).execute();
const folder = w.server.config.tmpFolder;
const clip = join(folder, "bench-clip.mov");
const small = join(folder, "bench-small.mov");
Bun.spawnSync(["mkdir", "-p", folder]);
const generate = (out: string, size: string, duration: number) =>
  Bun.spawnSync(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", `testsrc=size=${size}:rate=25:duration=${duration}`,
    "-f", "lavfi", "-i", `sine=frequency=440:duration=${duration}`, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
    "-c:a", "aac", "-shortest", out, "-y"]);
generate(clip, "1920x1080", seconds);
generate(small, "640x360", 2);

const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: w.server.app.fetch, maxRequestBodySize: 4 * 1024 ** 3, idleTimeout: 255 });
const base = `http://127.0.0.1:${server.port}/api`;
const auth = { Authorization: `Bearer ${w.people.artist.token}` };
const status = async (id: string) => (await w.server.db.selectFrom("preview_file").select("status").where("id", "=", id).executeTakeFirst())?.status;

async function uploadMovie(path: string, name: string): Promise<{ id: string; code: number; uploadedAt: number }> {
  const id = await w.newSlot(await w.newTask(`B${Math.random().toString(36).slice(2, 8)}`));
  const form = new FormData();
  form.append("file", Bun.file(path), name);
  const response = await fetch(`${base}/pictures/preview-files/${id}`, { method: "POST", headers: auth, body: form });
  await response.arrayBuffer();
  return { id, code: response.status, uploadedAt: performance.now() };
}

async function waitReady(id: string): Promise<string> {
  for (;;) {
    const current = await status(id);
    if (current !== "processing") return String(current);
    await Bun.sleep(50);
  }
}

// (a) upload end → ready, and the floor
const upload = await uploadMovie(clip, "clip.mov");
const final = await waitReady(upload.id);
const serverSeconds = (performance.now() - upload.uploadedAt) / 1000;

const floorStart = performance.now();
const info = await probe(clip);
const sizes = movieSizes([1920, 1080], info);
const work = (name: string) => join(folder, `floor-${name}`);
await normalizeMovie(clip, work("high.mp4"), { ...sizes.high, fps: "25.000", bitrate: "28M", hasAudio: info.hasAudio });
await normalizeMovie(clip, work("low.mp4"), { ...sizes.low, fps: "25.000", bitrate: "6M", hasAudio: info.hasAudio });
const measured = await probe(work("high.mp4"));
await fitPictures(work("high.mp4"), [{ path: work("original.png") }, ...VARIANTS.map((v) => {
  const [width, height] = v.size(measured.width, measured.height);
  return { path: work(`${v.prefix}.png`), width, height };
})], measured);
await makeTile(work("high.mp4"), work("tile.png"));
const floorSeconds = (performance.now() - floorStart) / 1000;

// (b) RSS while a large file streams up
Bun.gc(true);
await Bun.sleep(500);
const idleRss = process.memoryUsage().rss;
let peakRss = idleRss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 20);
const bigId = await w.newSlot(await w.newTask("BIG"));
const boundary = "----zoubunbench";
const head = new TextEncoder().encode(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.zip"\r\nContent-Type: application/zip\r\n\r\n`);
const tail = new TextEncoder().encode(`\r\n--${boundary}--\r\n`);
const chunk = new Uint8Array(1024 * 1024).fill(42);
let sent = -1;
const body = new ReadableStream<Uint8Array>({
  pull(controller) {
    if (sent === -1) controller.enqueue(head);
    else if (sent < uploadMb) controller.enqueue(chunk);
    else if (sent === uploadMb) controller.enqueue(tail);
    else controller.close();
    sent += 1;
  },
});
const bigStart = performance.now();
const big = await fetch(`${base}/pictures/preview-files/${bigId}`, {
  method: "POST",
  headers: { ...auth, "Content-Type": `multipart/form-data; boundary=${boundary}` },
  body,
  duplex: "half",
} as RequestInit);
await big.arrayBuffer();
const bigSeconds = (performance.now() - bigStart) / 1000;
clearInterval(sampler);

// (c) four uploads at once
const concurrentStart = performance.now();
const four = await Promise.all([1, 2, 3, 4].map((i) => uploadMovie(small, `small${i}.mov`)));
await jobsDone();
const fourStatuses = await Promise.all(four.map((u) => status(u.id)));
const concurrentSeconds = (performance.now() - concurrentStart) / 1000;

server.stop(true);
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
const result = {
  clip: { seconds, size: "1920x1080", fps: 25, bytes: statSync(clip).size, preset },
  upload_to_ready_s: Number(serverSeconds.toFixed(2)),
  final_status: final,
  ffmpeg_floor_s: Number(floorSeconds.toFixed(2)),
  ratio: Number((serverSeconds / floorSeconds).toFixed(3)),
  big_upload: { mb: uploadMb, status: big.status, seconds: Number(bigSeconds.toFixed(1)), idle_rss_mb: mb(idleRss), peak_rss_mb: mb(peakRss), growth_mb: mb(peakRss - idleRss) },
  four_uploads: { codes: four.map((u) => u.code), statuses: fourStatuses, five_xx: four.filter((u) => u.code >= 500).length, seconds: Number(concurrentSeconds.toFixed(1)) },
  cpus: navigator.hardwareConcurrency,
};
console.log(`upload end -> ready: ${result.upload_to_ready_s} s; same ffmpeg commands alone: ${result.ffmpeg_floor_s} s (x${result.ratio})`);
console.log(`${uploadMb} MB upload: idle RSS ${result.big_upload.idle_rss_mb} MB, peak ${result.big_upload.peak_rss_mb} MB (+${result.big_upload.growth_mb} MB)`);
console.log(`four uploads at once: ${result.four_uploads.codes.join(",")} -> ${result.four_uploads.statuses.join(",")} in ${result.four_uploads.seconds} s`);
console.log(JSON.stringify(result));
rmSync(join(w.server.config.previewFolder, ".."), { recursive: true, force: true });
process.exit(0);
