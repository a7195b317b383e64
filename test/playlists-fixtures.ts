/**
 * The playlist tests' world: a project with a team of every role, an episode/sequence/two shots
 * with animation tasks, preview_file rows inserted directly and small media files generated with
 * ffmpeg at test time (testsrc/sine) or written as tiny pictures, stored in Zou's layout.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { newId, utcNow } from "../src/lib/ids";
import { storedFilePath } from "../src/services/attachments";
import { makeServer, type Person, type TestServer } from "./helpers";
import { fixtures } from "./tasks-fixtures";

export interface PlaylistWorld {
  server: TestServer;
  project: any;
  manager: Person;
  supervisor: Person;
  artist: Person;
  client: Person;
  vendor: Person;
  outsider: Person;
  shot1: string;
  shot2: string;
  episode: string;
  animation: string;
  task1: string;
  task2: string;
  /** Inserts a preview file row of a task (and its stored file when `store` is given). */
  preview(taskId: string, fields?: Record<string, unknown>): Promise<string>;
  /** Writes bytes where the file store keeps `<bucket>/<prefix>-<id>`. */
  store(bucket: string, prefix: string, id: string, bytes: Uint8Array | string): Promise<string>;
  /** Creates a playlist through the crud route as admin; returns its dict. */
  playlist(fields?: Record<string, unknown>): Promise<any>;
}

/** A 1×1 PNG. */
export const PNG = Uint8Array.from(atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="), (ch) => ch.charCodeAt(0));

/** Generates a short MP4 with ffmpeg (testsrc video, sine audio unless `silent`). */
export async function makeMovie(path: string, options: { seconds?: number; width?: number; height?: number; silent?: boolean } = {}): Promise<void> {
  const { seconds = 1, width = 160, height = 90, silent = false } = options;
  await mkdir(dirname(path), { recursive: true });
  const args = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", `testsrc=size=${width}x${height}:rate=25:duration=${seconds}`];
  if (!silent) args.push("-f", "lavfi", "-i", `sine=frequency=440:duration=${seconds}`);
  args.push("-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast");
  if (!silent) args.push("-c:a", "aac", "-shortest");
  args.push("-f", "mp4", path, "-y");
  const proc = Bun.spawn(args, { stdout: "ignore", stderr: "pipe" });
  const code = await proc.exited;
  if (code !== 0) throw new Error(`ffmpeg failed: ${await new Response(proc.stderr).text()}`);
}

export async function playlistWorld(): Promise<PlaylistWorld> {
  const server = await makeServer();
  const f = fixtures(server);
  const manager = await server.person("manager");
  const supervisor = await server.person("supervisor");
  const artist = await server.person("user");
  const client = await server.person("client");
  const vendor = await server.person("vendor");
  const outsider = await server.person("manager");
  const project = await server.project("Review Show", [manager, supervisor, artist, client, vendor], { production_type: "tvshow", fps: "25", resolution: "320x180" });
  const episode = await f.episode(project.id, "E01");
  const sequence = await f.sequence(project.id, "SQ01", episode);
  const shot1 = await f.shot(project.id, sequence, "SH010");
  const shot2 = await f.shot(project.id, sequence, "SH020");
  const animation = (await f.taskType("Animation")).id;
  const task1 = await f.task(project.id, shot1, animation);
  const task2 = await f.task(project.id, shot2, animation);
  const db = server.db;

  async function store(bucket: string, prefix: string, id: string, bytes: Uint8Array | string): Promise<string> {
    const path = storedFilePath(server.config.previewFolder, bucket, prefix, id);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
    return path;
  }

  async function preview(taskId: string, fields: Record<string, unknown> = {}): Promise<string> {
    const now = utcNow();
    const id = newId();
    await db.insertInto("preview_file").values({
      id, created_at: now, updated_at: now, name: id.slice(0, 13), original_name: "frame", revision: 1, position: 1,
      extension: "png", status: "ready", validation_status: "neutral", width: 64, height: 36, duration: 0, task_id: taskId,
      person_id: server.admin.id, source: "webgui", annotations: "[]", data: "{}", ...fields,
    } as any).execute();
    return id;
  }

  async function playlist(fields: Record<string, unknown> = {}) {
    const response = await server.json("POST", "/api/data/playlists", {
      body: { name: `Daily ${newId().slice(0, 8)}`, project_id: project.id, episode_id: episode, for_entity: "shot", ...fields },
    });
    if (response.status !== 201) throw new Error(`playlist creation failed: ${JSON.stringify(response.body)}`);
    return response.body;
  }

  return { server, project, manager, supervisor, artist, client, vendor, outsider, shot1, shot2, episode, animation, task1, task2, preview, store, playlist };
}

/** Polls a build job until it is no longer running (or the time is up). */
export async function waitForBuild(world: PlaylistWorld, playlistId: string, jobId: string, timeoutMs = 60_000): Promise<any> {
  const started = Date.now();
  for (;;) {
    const { body } = await world.server.json("GET", `/api/data/playlists/${playlistId}/jobs/${jobId}`);
    if (body?.status !== "running" || Date.now() - started > timeoutMs) return body;
    await Bun.sleep(100);
  }
}
