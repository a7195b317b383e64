/**
 * Fixtures of the preview tests: media generated with ffmpeg at test time (never committed), a
 * project with a team, a task with a comment, and upload helpers.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeServer, type Person, type TestServer } from "./helpers";
import { fixtures, type Fixtures } from "./tasks-fixtures";
import { sharedJobQueue } from "../src/lib/job-queue";

export const UNKNOWN = "7a3c5b0e-1f2d-4c3b-9a8e-123456789abc";

export interface Media {
  movie: string;
  silentMovie: string;
  picture: string;
  jpeg: string;
  broken: string;
}

function ffmpeg(args: string[]): void {
  const result = Bun.spawnSync(["ffmpeg", "-hide_banner", "-loglevel", "error", ...args, "-y"]);
  if (result.exitCode !== 0) throw new Error(`ffmpeg failed: ${result.stderr.toString()}`);
}

/** Small, short media: a 1 s 320×240 25 fps movie with sound, one without, a PNG, a JPEG, garbage. */
export function makeMedia(): Media {
  const folder = join(tmpdir(), `zou-bun-media-${process.pid}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(folder, { recursive: true });
  const media: Media = {
    movie: join(folder, "movie.mov"),
    silentMovie: join(folder, "silent.mp4"),
    picture: join(folder, "picture.png"),
    jpeg: join(folder, "photo.jpg"),
    broken: join(folder, "broken.mp4"),
  };
  ffmpeg(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=1", "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", media.movie]);
  ffmpeg(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", media.silentMovie]);
  ffmpeg(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=1:duration=1", "-frames:v", "1", media.picture]);
  ffmpeg(["-f", "lavfi", "-i", "testsrc=size=640x360:rate=1:duration=1", "-frames:v", "1", media.jpeg]);
  // A file that claims to be an MP4 and is not one.
  writeFileSync(media.broken, Buffer.concat([Buffer.from("\x00\x00\x00\x20ftypisom"), Buffer.alloc(4096, 7)]));
  return media;
}

export interface PreviewWorld {
  server: TestServer;
  fx: Fixtures;
  media: Media;
  people: Record<"manager" | "artist" | "bystander" | "supervisor" | "client" | "vendor" | "outsider", Person>;
  project: any;
  sequenceId: string;
  taskTypeId: string;
  wfa: any;
  /** A new shot task assigned to the artist. */
  newTask(name: string): Promise<string>;
  /** A comment on the task by the artist, then a preview slot on it; returns the preview id. */
  newSlot(taskId: string): Promise<string>;
  upload(previewId: string, file: File | null, options?: { token?: string; query?: string }): Promise<{ status: number; body: any }>;
}

export const fileOf = async (path: string, name: string) => new File([await Bun.file(path).arrayBuffer()], name);

export async function makePreviewWorld(): Promise<PreviewWorld> {
  process.env.FFMPEG_PRESET = "ultrafast";
  const server = await makeServer();
  const fx = fixtures(server);
  const media = makeMedia();
  const people = {
    manager: await server.person("manager"),
    artist: await server.person("user"),
    bystander: await server.person("user"),
    supervisor: await server.person("supervisor"),
    client: await server.person("client"),
    vendor: await server.person("vendor"),
    outsider: await server.person("user"),
  };
  const { outsider: _, ...team } = people;
  const project = await server.project("Cosmos Landromat", Object.values(team), { fps: "25", resolution: "320x240" });
  const sequenceId = await fx.sequence(project.id, "SQ01");
  const taskTypeId = (await fx.taskType("Animation")).id;
  const wfa = await fx.status("wfa");

  async function newTask(name: string): Promise<string> {
    const shotId = await fx.shot(project.id, sequenceId, name);
    const taskId = await fx.task(project.id, shotId, taskTypeId);
    await fx.assign(taskId, people.artist);
    return taskId;
  }
  async function newSlot(taskId: string): Promise<string> {
    const comment = await server.json("POST", `/api/actions/tasks/${taskId}/comment`, { token: people.artist.token, body: { task_status_id: wfa.id, comment: "v" } });
    if (comment.status !== 201) throw new Error(`comment failed: ${JSON.stringify(comment.body)}`);
    const slot = await server.json("POST", `/api/actions/tasks/${taskId}/comments/${comment.body.id}/add-preview`, { token: people.artist.token, body: {} });
    if (slot.status !== 201) throw new Error(`add-preview failed: ${JSON.stringify(slot.body)}`);
    return slot.body.id;
  }
  async function upload(previewId: string, file: File | null, options: { token?: string; query?: string } = {}) {
    const form = new FormData();
    if (file) form.append("file", file);
    else form.append("other", "x");
    return server.json("POST", `/api/pictures/preview-files/${previewId}${options.query ?? ""}`, { token: options.token ?? people.artist.token, body: form });
  }
  return { server, fx, media, people, project, sequenceId, taskTypeId, wfa, newTask, newSlot, upload };
}

/** Waits for queued preview jobs to finish. */
export const jobsDone = () => sharedJobQueue().idle();
