/**
 * Issue 15 item 3: several zou-bun instances on one PostgreSQL database. Two (then three) real
 * `serve` processes on one fresh, empty database sharing PREVIEW_FOLDER: migrations and the
 * first admin made once, a logout through one refused by the other at once, a comment posted
 * through one delivered to a socket client of the other, a movie job queued by one processed
 * exactly once (also when another instance starts while it runs). Also the broadcaster's relay
 * of events above NOTIFY's 8000 bytes. Skipped unless TEST_DATABASE_URL is a postgres:// URL.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
import { io, type Socket } from "socket.io-client";
import { emptyPostgresDatabase, onPostgres } from "./helpers";
import { EventBus, type EmittedEvent } from "../src/lib/events";
import { openDatabase } from "../src/db/database";
import { prepareDatabase } from "../src/services/database-setup";
import { loadConfig } from "../src/config";
import { startPostgresInstance, type PostgresInstance } from "../src/lib/postgres-instance";
import { attachJobClaimer, claimJob } from "../src/lib/job-queue";
import { cleanPartialUploads } from "../src/lib/uploads";
import { PostgresChangeSignal } from "../src/lib/change-signal-postgres";
import { advisoryLockClaimer, PostgresLink } from "../src/lib/postgres-link";

const root = resolve(import.meta.dir, "..");
const bun = join(root, "node_modules/.bin/bun");
const cli = join(root, "src/cli.ts");

interface Instance {
  proc: ReturnType<typeof Bun.spawn>;
  base: string;
  url: string;
  output: () => string;
}

let database: { url: string; drop(): Promise<void> } | null = null;
let databaseUrl = "";
let folder = "";
const instances: Instance[] = [];
const sockets: Socket[] = [];

async function startInstance(): Promise<Instance> {
  const port = 20000 + Math.floor(Math.random() * 30000);
  const proc = Bun.spawn([bun, "run", cli, "serve", "--host", "127.0.0.1", "--port", String(port)], {
    cwd: folder,
    env: {
      PATH: process.env.PATH ?? "",
      DATABASE_URL: databaseUrl,
      DATABASE_POOL_SIZE: "4",
      SECRET_KEY: "a-test-secret-key-shared-by-every-instance-0123456789",
      PREVIEW_FOLDER: join(folder, "previews"),
      TMP_DIR: join(folder, "tmp"),
      ZOU_ADMIN_PASSWORD: "admin-password",
      FFMPEG_PRESET: "ultrafast",
      JOB_QUEUE_CONCURRENCY: "1",
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  let text = "";
  const decoder = new TextDecoder();
  for (const stream of [proc.stdout, proc.stderr] as ReadableStream<Uint8Array>[]) {
    void (async () => {
      const reader = stream.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value);
      }
    })();
  }
  const instance: Instance = { proc, base: `http://127.0.0.1:${port}/api`, url: `http://127.0.0.1:${port}`, output: () => text };
  instances.push(instance);
  return instance;
}

async function listening(instance: Instance): Promise<void> {
  for (let i = 0; ; i++) {
    if (i > 1200) throw new Error(`the server did not start:\n${instance.output()}`);
    if (instance.proc.exitCode !== null) throw new Error(`the server exited:\n${instance.output()}`);
    if (await fetch(instance.base).then((r) => r.ok, () => false)) return;
    await Bun.sleep(50);
  }
}

async function api(instance: Instance, token: string, method: string, path: string, body?: unknown) {
  const isForm = body instanceof FormData;
  const response = await fetch(`${instance.base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(isForm || body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : isForm ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as any };
}

async function login(instance: Instance): Promise<string> {
  const response = await fetch(`${instance.base}/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: "admin@example.com", password: "admin-password" }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as any).access_token as string;
}

function next(socket: Socket, name: string, accept: (data: any) => boolean, timeoutMs = 10_000): Promise<any> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} within ${timeoutMs} ms`)), timeoutMs);
    const listener = (data: any) => {
      if (!accept(data)) return;
      clearTimeout(timer);
      socket.off(name, listener);
      resolve(data);
    };
    socket.on(name, listener);
  });
}

async function socketOf(instance: Instance, token: string): Promise<Socket> {
  const socket = io(`${instance.url}/events`, { extraHeaders: { Authorization: `Bearer ${token}` }, transports: ["websocket"], reconnection: false, forceNew: true });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", (error) => reject(error));
  });
  return socket;
}

function ffmpeg(args: string[]): void {
  const result = Bun.spawnSync(["ffmpeg", "-hide_banner", "-loglevel", "error", ...args, "-y"]);
  if (result.exitCode !== 0) throw new Error(`ffmpeg failed: ${result.stderr.toString()}`);
}

describe.skipIf(!onPostgres)("several instances on one PostgreSQL database", () => {
  let a: Instance;
  let b: Instance;
  let token = "";
  let projectId = "";
  let taskId = "";
  let statusId = "";

  beforeAll(async () => {
    database = await emptyPostgresDatabase();
    databaseUrl = database.url;
    folder = mkdtempSync(join(tmpdir(), "zou-bun-instances-"));
    // Both start together on the empty database: migrations and the first admin must happen once.
    a = await startInstance();
    b = await startInstance();
    await Promise.all([listening(a), listening(b)]);
  }, 120_000);

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    for (const instance of instances) instance.proc.kill("SIGKILL");
    await Promise.all(instances.map((instance) => instance.proc.exited));
    await database?.drop();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  test("two instances starting together on an empty database migrate once and create one first admin", async () => {
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      const migrations = await db.query("SELECT name FROM kysely_migration ORDER BY name");
      expect(migrations.rows.map((row) => row.name)).toEqual(["0001_initial", "0002_search_index", "0003_instances", "0004_change_log"]);
      expect((await db.query("SELECT email FROM person")).rows).toEqual([{ email: "admin@example.com" }]);
      const statuses = await db.query("SELECT short_name, count(*)::int AS n FROM task_status GROUP BY short_name HAVING count(*) > 1");
      expect(statuses.rows).toEqual([]);
    } finally {
      await db.end();
    }
    const created = instances.filter((instance) => instance.output().includes("Created the first admin account"));
    expect(created.length).toBe(1);
  });

  test("a logout through one instance is refused by the other at once", async () => {
    const session = await login(a);
    // B caches the session...
    expect((await api(b, session, "GET", "/auth/authenticated")).status).toBe(200);
    expect((await api(b, session, "GET", "/auth/authenticated")).status).toBe(200);
    // ...and refuses it on the very next request after the logout through A.
    expect((await api(a, session, "GET", "/auth/logout")).status).toBe(200);
    expect((await api(b, session, "GET", "/auth/authenticated")).status).toBe(401);
  });

  test("a write through one instance is seen by the next request to the other (cached answers too)", async () => {
    token = await login(a);
    const before = await api(b, token, "GET", "/data/projects");
    expect(before.status).toBe(200);
    const project = await api(a, token, "POST", "/data/projects", { name: "Shared" });
    expect(project.status).toBe(201);
    projectId = project.body.id;
    const after = await api(b, token, "GET", "/data/projects");
    expect(after.body.map((p: any) => p.id)).toContain(projectId);
  });

  test("a comment posted through one instance reaches a socket client of the other, once", async () => {
    const types = await api(a, token, "GET", "/data/asset-types");
    const character = types.body.find((t: any) => t.name === "Character");
    const asset = await api(a, token, "POST", `/data/projects/${projectId}/asset-types/${character.id}/assets/new`, { name: "Hero" });
    expect(asset.status).toBe(201);
    const taskTypes = await api(a, token, "GET", "/data/task-types");
    const modeling = taskTypes.body.find((t: any) => t.name === "Modeling");
    const tasks = await api(a, token, "POST", `/actions/projects/${projectId}/task-types/${modeling.id}/assets/create-tasks`, {});
    expect(tasks.status).toBe(201);
    taskId = tasks.body[0].id;
    const statuses = await api(a, token, "GET", "/data/task-status");
    statusId = statuses.body.find((s: any) => s.short_name === "wip").id;

    const onB = await socketOf(b, token);
    const onA = await socketOf(a, token);
    const seenOnA: string[] = [];
    onA.on("comment:new", (data) => seenOnA.push(data.comment_id));
    const arrivedOnB = next(onB, "comment:new", (data) => data.task_id === taskId);
    const comment = await api(a, token, "POST", `/actions/tasks/${taskId}/comment`, { task_status_id: statusId, comment: "from A" });
    expect(comment.status).toBe(201);
    expect((await arrivedOnB).comment_id).toBe(comment.body.id);
    // The client of A receives it once (its own instance's event is not delivered again from the channel).
    await Bun.sleep(500);
    expect(seenOnA.filter((id) => id === comment.body.id).length).toBe(1);
  }, 30_000);

  test("a movie queued by one instance is processed exactly once, also when another instance starts meanwhile", async () => {
    const movie = join(folder, "long.mov");
    ffmpeg(["-f", "lavfi", "-i", "testsrc=size=640x360:rate=25:duration=6", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", movie]);
    const comment = await api(a, token, "POST", `/actions/tasks/${taskId}/comment`, { task_status_id: statusId, comment: "v1" });
    const slot = await api(a, token, "POST", `/actions/tasks/${taskId}/comments/${comment.body.id}/add-preview`, {});
    expect(slot.status).toBe(201);
    const previewId = slot.body.id as string;
    const onB = await socketOf(b, token);
    const updates: string[] = [];
    onB.on("preview-file:update", (data) => updates.push(data.preview_file_id));
    const form = new FormData();
    form.append("file", new File([await Bun.file(movie).arrayBuffer()], "long.mov"));
    const upload = await api(a, token, "POST", `/pictures/preview-files/${previewId}`, form);
    expect(upload.status).toBe(201);
    expect(upload.body.status).toBe("processing");

    // A third instance starts while A processes the movie: its start-up pass must leave it alone.
    const c = await startInstance();
    await listening(c);
    const whenStarted = await api(b, token, "GET", `/data/preview-files/${previewId}`);
    if (whenStarted.body.status !== "processing") console.warn("the movie was done before the third instance started: its start-up pass had nothing to skip");
    for (let i = 0; ; i++) {
      const preview = await api(b, token, "GET", `/data/preview-files/${previewId}`);
      if (preview.body.status !== "processing") {
        expect(preview.body.status).toBe("ready");
        break;
      }
      if (i > 600) throw new Error("the movie was not processed in time");
      await Bun.sleep(100);
    }
    await Bun.sleep(1000);
    expect(c.output()).not.toContain("re-queued");
    // Two preview-file:update events: one for the upload (as Zou's upload route sends), one from the
    // single processing; a second processing would add a third.
    expect(updates.filter((id) => id === previewId).length).toBe(2);
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      const events = await db.query("SELECT count(*)::int AS n FROM api_event WHERE name = 'preview-file:update' AND data::jsonb ->> 'preview_file_id' = $1", [previewId]);
      expect(events.rows[0].n).toBe(2);
    } finally {
      await db.end();
    }
  }, 120_000);
});

describe.skipIf(!onPostgres)("the PostgreSQL broadcaster and job claims, in one process", () => {
  let url = "";
  let unitDatabase: { url: string; drop(): Promise<void> } | null = null;
  const started: PostgresInstance[] = [];
  const dbs: ReturnType<typeof openDatabase>[] = [];

  beforeAll(async () => {
    unitDatabase = await emptyPostgresDatabase();
    url = unitDatabase.url;
    for (let i = 0; i < 2; i++) dbs.push(openDatabase(url, 2));
    await prepareDatabase(dbs[0]!, loadConfig({ DATABASE_URL: url, SECRET_KEY: "x".repeat(40), ZOU_ADMIN_PASSWORD: "admin-password" }));
  }, 60_000);

  afterAll(async () => {
    for (const instance of started) await instance.close();
    for (const db of dbs) await db.destroy();
    await unitDatabase?.drop();
  });

  test("events above NOTIFY's limit travel through the relay table; small ones inline; none twice", async () => {
    const buses = [new EventBus(), new EventBus()];
    const one = await startPostgresInstance(dbs[0]!, url, buses[0]!);
    const two = await startPostgresInstance(dbs[1]!, url, buses[1]!);
    started.push(one, two);
    const atOne: EmittedEvent[] = [];
    const atTwo: EmittedEvent[] = [];
    one.broadcaster.subscribe((event) => atOne.push(event));
    two.broadcaster.subscribe((event) => atTwo.push(event));
    const big: EmittedEvent = { name: "test:big", data: { text: "x".repeat(20_000) }, projectId: null, userId: null };
    const small: EmittedEvent = { name: "test:small", data: { n: 1 }, projectId: null, userId: null };
    buses[0]!.publish(big);
    buses[0]!.publish(small);
    await one.broadcaster.flushed();
    for (let i = 0; i < 100 && atTwo.length < 2; i++) await Bun.sleep(20);
    expect(atTwo.map((event) => event.name)).toEqual(["test:big", "test:small"]);
    expect(atTwo[0]!.data.text).toBe(big.data.text);
    await Bun.sleep(100);
    expect(atOne.map((event) => event.name)).toEqual(["test:big", "test:small"]);
  });

  test("a job claimed by one instance cannot be claimed by another until released", async () => {
    const claim = await claimJob(dbs[0]!, "preview test-job");
    expect(claim).not.toBeNull();
    expect(await claimJob(dbs[0]!, "preview test-job")).toBeNull();
    expect(await claimJob(dbs[1]!, "preview test-job")).toBeNull();
    await claim!.release();
    const other = await claimJob(dbs[1]!, "preview test-job");
    expect(other).not.toBeNull();
    await other!.release();
  });

  test("a write through one database instance reaches the other's write log; a write outside zou-bun moves its signal", async () => {
    const { externalVersion, refreshChangeSignal } = await import("../src/lib/change-signal");
    const { writeLogPosition, writesSince } = await import("../src/db/write-tracker");
    await refreshChangeSignal(dbs[1]!);
    const before = externalVersion(dbs[1]!);
    await dbs[0]!.updateTable("person").set({ phone: "123" }).where("phone", "=", "none").execute();
    const position = writeLogPosition();
    await refreshChangeSignal(dbs[1]!);
    // Told by the change log: the other instance's record, not a drop-all.
    expect(writesSince(position)!.map((r) => [r.table, r.kind, r.match.get("phone"), r.sets.get("phone")])).toEqual([["person", "update", ["none"], ["123"]]]);
    expect(externalVersion(dbs[1]!)).toBe(before);
    // Its own writes do not move its own signal either.
    await dbs[1]!.updateTable("person").set({ phone: "456" }).where("phone", "=", "none").execute();
    await refreshChangeSignal(dbs[1]!);
    expect(externalVersion(dbs[1]!)).toBe(before);
    // A write that is not zou-bun's (psql): the trigger-moved sequence.
    const outside = new pg.Client({ connectionString: url });
    await outside.connect();
    await outside.query("update person set phone = '789' where phone = 'none'");
    await outside.end();
    await refreshChangeSignal(dbs[1]!);
    expect(externalVersion(dbs[1]!)).toBeGreaterThan(before);
  });
});

describe("the pieces that need no database", () => {
  test("a refresh asked while a read runs waits for a read started after it (a commit in between is seen)", async () => {
    const reads: ((value: number) => void)[] = [];
    const signal = new PostgresChangeSignal(() => new Promise<number>((resolve) => reads.push(resolve)).then((sequence) => ({ sequence, explained: true })));
    const first = signal.refresh();
    const second = signal.refresh();
    const third = signal.refresh();
    expect(reads.length).toBe(1);
    reads[0]!(5);
    await first;
    expect(signal.version()).toBe(5);
    await Bun.sleep(0);
    expect(reads.length).toBe(2); // one read shared by the two callers that arrived meanwhile
    reads[1]!(7);
    await Promise.all([second, third]);
    expect(signal.version()).toBe(7);
    signal.moved();
    expect(signal.version()).toBe(8);
  });

  test("a failed read moves the version (caches miss rather than serve what may be stale)", async () => {
    const signal = new PostgresChangeSignal(() => Promise.reject(new Error("down")));
    const before = signal.version();
    await signal.refresh();
    expect(signal.version()).toBeGreaterThan(before);
  });

  test("with the link down a job is still claimed, in this process only", async () => {
    const db = {};
    attachJobClaimer(db, advisoryLockClaimer(new PostgresLink("postgres://nobody@127.0.0.1:1/none")));
    const claim = await claimJob(db, "preview offline");
    expect(claim).not.toBeNull();
    expect(await claimJob(db, "preview offline")).toBeNull();
    await claim!.release();
    expect(await claimJob(db, "preview offline")).not.toBeNull();
  });
});

describe("partial uploads with a shared PREVIEW_FOLDER", () => {
  test("on PostgreSQL an instance starting or stopping removes only staged files untouched for 15 minutes", async () => {
    const previews = mkdtempSync(join(tmpdir(), "zou-bun-staging-"));
    try {
      const config = { ...loadConfig({ SECRET_KEY: "x".repeat(40) }), databaseUrl: "postgres://u@127.0.0.1/db", previewFolder: previews, tmpFolder: join(previews, "tmp") };
      const staging = join(previews, ".uploads");
      mkdirSync(staging, { recursive: true });
      writeFileSync(join(staging, "in-flight"), "x");
      writeFileSync(join(staging, "left-by-a-crash"), "x");
      const old = new Date(Date.now() - 3600_000);
      utimesSync(join(staging, "left-by-a-crash"), old, old);
      expect(await cleanPartialUploads(config)).toBe(1);
      expect(readdirSync(staging)).toEqual(["in-flight"]);
    } finally {
      rmSync(previews, { recursive: true, force: true });
    }
  });
});
