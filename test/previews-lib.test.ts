/**
 * The building blocks of preview processing: the bounded job queue, ffmpeg's time limit and
 * argument arrays, frame times, encoding sizes, the storage layout and the stored-file responder.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JobQueue } from "../src/lib/job-queue";
import { FfmpegError, runTool } from "../src/lib/ffmpeg";
import { sendStoredFile, storedFileType } from "../src/lib/file-response";
import { zipArchive } from "../src/lib/bundles";
import { frameTime } from "../src/services/preview-media";
import { movieSizes, previewFps, previewResolution, previewKind, startPreviewProcessing } from "../src/services/preview-processing";
import { makeServer } from "./helpers";
import { storedFilePath } from "../src/services/attachments";

describe("job queue", () => {
  test("never runs more jobs than its concurrency, keeps arrival order, reports idle", async () => {
    const queue = new JobQueue(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const job = (n: number) => async () => {
      running += 1;
      peak = Math.max(peak, running);
      await Bun.sleep(10);
      order.push(n);
      running -= 1;
      return n;
    };
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => queue.run(`job ${n}`, job(n))));
    expect(results).toEqual([1, 2, 3, 4, 5]);
    expect(peak).toBe(2);
    queue.push("failing", async () => {
      throw new Error("boom");
    });
    await queue.idle();
    expect([queue.active, queue.pending]).toEqual([0, 0]);
    expect(() => new JobQueue(0)).toThrow();
  });
});

describe("ffmpeg runner", () => {
  test("a run past its time limit is killed and reported", async () => {
    const started = performance.now();
    const error = await runTool("ffmpeg", ["-f", "lavfi", "-i", "testsrc=rate=25", "-f", "null", "-"], 300).catch((e) => e);
    expect(error).toBeInstanceOf(FfmpegError);
    expect(error.message).toContain("time limit");
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  test("arguments are never read by a shell", async () => {
    const result = await runTool("ffprobe", ["-v", "error", "; touch /tmp/zou-bun-pwned"], 10_000);
    expect(result.exitCode).not.toBe(0);
    expect(await Bun.file("/tmp/zou-bun-pwned").exists()).toBe(false);
  });
});

describe("encoding parameters and names", () => {
  test("frame times as Zou formats them", () => {
    expect(frameTime(10, 24)).toBe("00:00:00.375");
    expect(frameTime(1, 24)).toBe("00:00:00.0");
    expect(frameTime(10, 25)).toBe("00:00:00.36");
    expect(frameTime(0, 25)).toBe("-00:00:00.04");
    expect(frameTime(3601 * 25 + 1, 25)).toBe("01:00:01.0");
  });

  test("fps, resolution and sizes (§3.3, §4)", () => {
    expect(previewFps({ fps: "23,976" }, null)).toBe("23.976");
    expect(previewFps({ fps: "24" }, JSON.stringify({ fps: 12 }))).toBe("12.000");
    expect(previewFps(undefined, null)).toBe("25.000");
    expect(previewResolution({ resolution: "x720" }, null)).toEqual([null, 720]);
    expect(previewResolution({ resolution: "1920x1080" }, { resolution: "2048x858" })).toEqual([2048, 858]);
    expect(previewResolution({ resolution: "bad" }, null)).toEqual([null, 1080]);
    expect(movieSizes([null, 120], { width: 320, height: 240 })).toEqual({ high: { width: 160, height: 120 }, low: { width: 1280, height: 960 } });
    expect(movieSizes([1920, 1080], { width: 10, height: 10 }).low).toEqual({ width: 1280, height: 720 });
    expect(movieSizes([null, 1080], { width: 999, height: 1000 }).high.width % 2).toBe(0);
    expect([previewKind("mov"), previewKind("jpe"), previewKind("blend"), previewKind("exe")]).toEqual(["movie", "picture", "file", null]);
  });

  test("Zou's storage layout, quirks included", () => {
    const id = "63e453f1-9655-49ad-acba-ff7f27c49e9d";
    expect(storedFilePath("/r", "pictures", "thumbnails", id)).toBe(`/r/pictures/thumbnails/63e/453/${id}`);
    expect(storedFilePath("/r", "pictures", "thumbnails-square", id)).toBe(`/r/pictures/thumbnails/squ/are/square-${id}`);
    expect(storedFilePath("/r", "pictures", "preview-backgrounds", id)).toBe(`/r/pictures/preview/bac/kgr/backgrounds-${id}`);
    expect(storedFilePath("/r", "movies", "lowdef", id)).toBe(`/r/movies/lowdef/63e/453/${id}`);
  });
});

describe("stored-file responder", () => {
  const folder = mkdtempSync(join(tmpdir(), "zou-bun-file-response-"));
  const path = join(folder, "data");
  writeFileSync(path, "0123456789");
  const request = (headers: Record<string, string> = {}, method = "GET") => new Request("http://x/file", { method, headers });

  test("types come from a safe list; runnable types are octet-stream attachments", () => {
    for (const ext of ["html", "htm", "svg", "xml", "js", "mjs", "xhtml", "css", "exe", ""]) expect(storedFileType(ext)).toEqual({ contentType: "application/octet-stream", inline: false });
    expect(storedFileType("PNG")).toEqual({ contentType: "image/png", inline: true });
    expect(storedFileType("zip").inline).toBe(false);
  });

  test("If-Range with an old validator gives the whole file; HEAD has no body; missing file is null", async () => {
    const full = (await sendStoredFile(request(), { path, extension: "txt" }))!;
    expect(full.status).toBe(200);
    const stale = (await sendStoredFile(request({ Range: "bytes=0-1", "If-Range": '"old"' }), { path, extension: "txt" }))!;
    expect(stale.status).toBe(200);
    const fresh = (await sendStoredFile(request({ Range: "bytes=0-1", "If-Range": full.headers.get("etag")! }), { path, extension: "txt" }))!;
    expect([fresh.status, await fresh.text()]).toEqual([206, "01"]);
    expect((await sendStoredFile(request({ "If-Match": '"other"' }), { path, extension: "txt" }))!.status).toBe(412);
    const head = (await sendStoredFile(request({}, "HEAD"), { path, extension: "txt" }))!;
    expect([head.headers.get("content-length"), await head.text()]).toEqual(["10", ""]);
    expect(await sendStoredFile(request(), { path: join(folder, "missing") })).toBeNull();
    const named = (await sendStoredFile(request(), { path, filename: "répertoire \"x\".txt", download: true }))!;
    expect(named.headers.get("content-disposition")).toBe(`attachment; filename="r_pertoire _x_.txt"; filename*=UTF-8''r%C3%A9pertoire%20_x_.txt`);
  });

  test("zip archives list their entries", () => {
    const zip = zipArchive([{ name: "a.txt", data: new TextEncoder().encode("hello") }]);
    const text = new TextDecoder().decode(zip);
    expect(text.startsWith("PK\u0003\u0004")).toBe(true);
    expect(text).toContain("a.txt");
    expect(text).toContain("hello");
  });
});

describe("start-up", () => {
  test("serve says when ffmpeg is missing", async () => {
    const server = await makeServer();
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => warnings.push(args.join(" "));
    process.env.FFPROBE_PATH = "/nonexistent/ffprobe";
    try {
      await startPreviewProcessing({ db: server.db, config: server.config, events: server.events });
    } finally {
      delete process.env.FFPROBE_PATH;
      console.warn = warn;
    }
    expect(warnings.join("\n")).toContain("ffmpeg and ffprobe are not available");
  });
});
