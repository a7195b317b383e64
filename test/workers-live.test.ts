/**
 * `serve --workers 2` with the realtime stream: socket.io clients connected through either worker
 * (polling, websocket, polling then upgrade) receive every event once, whichever worker emitted it;
 * review rooms work across workers; login attempts are counted across workers; a stop signal
 * during start-up or serving ends with code 0 and the WAL written back.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { io, type Socket } from "socket.io-client";
import { ADMIN_EMAIL, ADMIN_PASSWORD, login, spawnServer, type SpawnedServer } from "./perf-server";
import { emptyPostgresDatabase, onPostgres } from "./helpers";

let server: SpawnedServer;
let token: string;
/** On PostgreSQL (TEST_DATABASE_URL) the workers serve an empty database of the test cluster. */
const databases: { url: string; drop(): Promise<void> }[] = [];
async function databaseEnv(): Promise<Record<string, string>> {
  if (!onPostgres) return {};
  const database = await emptyPostgresDatabase();
  databases.push(database);
  return { DATABASE_URL: database.url };
}
const sockets: Socket[] = [];

/** A request on a new connection (no keep-alive): the kernel picks the worker. */
async function fresh(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    keepalive: false,
    headers: { Authorization: `Bearer ${token}`, Connection: "close", ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

function client(transports: ("polling" | "websocket")[]): Socket {
  const socket = io(`${server.url}/events`, { extraHeaders: { Authorization: `Bearer ${token}` }, transports, reconnection: false, forceNew: true });
  sockets.push(socket);
  return socket;
}

function connected(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", (error) => reject(error));
  });
}

function next(socket: Socket, name: string, accept: (data: any) => boolean = () => true, timeoutMs = 5000): Promise<any> {
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

function workerPids(): number[] {
  return [...server.output().matchAll(/Worker \d+ started \(pid (\d+)\)/g)].map((m) => Number(m[1]));
}

/** Times the main thread of `pid` went to sleep (each request wakes a worker up at least once). */
function wakeUps(pid: number): number {
  try {
    return Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

beforeAll(async () => {
  server = await spawnServer(["--workers", "2"], /listening on (http:\/\/127\.0\.0\.1:\d+)\/api with 2 workers/, await databaseEnv());
  const admin = await login(server.url, ADMIN_EMAIL, ADMIN_PASSWORD);
  expect(admin.status).toBe(200);
  token = admin.token!;
}, 60_000);

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await server?.stop();
  for (const database of databases) await database.drop();
});

describe("serve --workers 2: the realtime stream", () => {
  test("clients of every transport, connected through either worker, get each event once, whichever worker emitted it", async () => {
    const pids = workerPids();
    const before = pids.map(wakeUps);
    const clients = [
      ...Array.from({ length: 3 }, () => client(["polling"])),
      ...Array.from({ length: 3 }, () => client(["websocket"])),
      ...Array.from({ length: 3 }, () => client(["polling", "websocket"])),
    ];
    await Promise.all(clients.map(connected));
    const seen = clients.map(() => [] as string[]);
    clients.forEach((socket, i) => socket.on("main:test", () => seen[i]!.push("main:test")));
    const emits = 12;
    for (let i = 0; i < emits; i += 1) expect((await fresh("GET", "/api/status/test-event")).status).toBe(200);
    const deadline = Date.now() + 10_000;
    while (seen.some((s) => s.length < emits) && Date.now() < deadline) await Bun.sleep(20);
    await Bun.sleep(200); // a duplicate would come right after
    for (const events of seen) expect(events.length).toBe(emits);
    // The polling-then-websocket clients did upgrade through the forwarding.
    for (const socket of clients.slice(6)) expect(socket.io.engine.transport.name).toBe("websocket");
    const after = pids.map(wakeUps);
    if (before.every((n) => n > 0)) for (let i = 0; i < pids.length; i += 1) expect(after[i]! - before[i]!).toBeGreaterThan(2);
    // GET /status, whichever worker answers: the stream is up with the owner's 9 clients (a
    // forwarding worker's count may lag by one request).
    const counts: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      const status = await fresh("GET", "/api/status");
      expect(status.body["event-stream-up"]).toBe(true);
      counts.push(status.body["event-stream-connections"]);
      await Bun.sleep(30);
    }
    expect(counts.slice(-4)).toEqual([9, 9, 9, 9]);
  }, 60_000);

  test("a review room joined through both workers: people and state reach each member", async () => {
    const project = await fresh("POST", "/api/data/projects", { name: "Rooms across workers" });
    expect(project.status).toBe(201);
    const playlist = await fresh("POST", "/api/data/playlists", { name: "Dailies", project_id: project.body.id });
    expect(playlist.status).toBe(201);
    const playlistId = playlist.body.id as string;
    const a = client(["polling", "websocket"]);
    const b = client(["polling"]);
    await Promise.all([connected(a), connected(b)]);
    const joinedA = next(a, "preview-room:room-people-updated", (d) => d.people?.length === 1);
    a.emit("preview-room:join", { playlist_id: playlistId, current_frame: 12 });
    await joinedA;
    const bothAtA = next(a, "preview-room:room-people-updated", (d) => d.people?.length === 1 && d.playlist_id === playlistId);
    const stateAtB = next(b, "preview-room:room-updated", (d) => d.current_frame === 12);
    b.emit("preview-room:join", { playlist_id: playlistId, current_frame: 99 });
    await Promise.all([bothAtA, stateAtB]);
    const moved = next(b, "preview-room:room-updated", (d) => d.local_id === "tab-a" && d.current_frame === 40);
    a.emit("preview-room:room-updated", { playlist_id: playlistId, current_frame: 40, local_id: "tab-a" });
    await moved;
    const annotation = next(a, "preview-room:add-annotation", (d) => d.marker === "from-b");
    b.emit("preview-room:add-annotation", { playlist_id: playlistId, marker: "from-b" });
    await annotation;
    // Project events emitted by whichever worker answered reach both members, each once.
    const updates = [0, 0];
    a.on("playlist:update", (d) => d.playlist_id === playlistId && (updates[0] += 1));
    b.on("playlist:update", (d) => d.playlist_id === playlistId && (updates[1] += 1));
    for (let i = 0; i < 8; i += 1) expect((await fresh("PUT", `/api/data/playlists/${playlistId}`, { name: `Dailies ${i}` })).status).toBe(200);
    const deadline = Date.now() + 10_000;
    while (updates.some((n) => n < 8) && Date.now() < deadline) await Bun.sleep(20);
    await Bun.sleep(200);
    expect(updates).toEqual([8, 8]);
  }, 60_000);
});

describe("serve --workers 2: the socket owner crashes", () => {
  test("it is restarted on its loopback port; clients reconnect through either worker and get events again", async () => {
    const socket = io(`${server.url}/events`, { extraHeaders: { Authorization: `Bearer ${token}` }, transports: ["polling", "websocket"], forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 500 });
    sockets.push(socket);
    await connected(socket);
    const owner = Number(/Worker 0 started \(pid (\d+)\)/.exec(server.output())![1]);
    // The namespace's "connect" (after the handshake check), not the manager's "reconnect".
    const reconnected = new Promise<void>((resolve) => socket.once("disconnect", () => socket.once("connect", () => resolve())));
    process.kill(owner, "SIGKILL");
    await reconnected;
    expect(server.output()).toMatch(/Worker 0 restarted \(pid \d+\)/);
    let seen = 0;
    socket.on("main:test", () => (seen += 1));
    for (let i = 0; i < 6; i += 1) expect((await fresh("GET", "/api/status/test-event")).status).toBe(200);
    const deadline = Date.now() + 10_000;
    while (seen < 6 && Date.now() < deadline) await Bun.sleep(20);
    expect(seen).toBe(6);
  }, 60_000);
});

describe("serve --workers 2: shared security state", () => {
  test("failed logins from one address, spread over both workers, hit the limit as with one process", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 24; i += 1) {
      const res = await fetch(`${server.url}/api/auth/login`, {
        method: "POST",
        keepalive: false,
        headers: { "Content-Type": "application/json", Connection: "close" },
        body: JSON.stringify({ email: `nobody${i}@example.com`, password: "wrong" }),
      });
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    // LOGIN_RATE_LIMIT defaults to 20 attempts a minute per address.
    expect(statuses.slice(0, 20).every((s) => s !== 429)).toBe(true);
    expect(statuses.slice(20)).toEqual([429, 429, 429, 429]);
  }, 60_000);
});

describe("serve --workers 2: stopping", () => {
  test("SIGTERM while the workers start: exit code 0", async () => {
    const early = await spawnServer(["--workers", "2"], /Worker 1 started \(pid (\d+)\)/, await databaseEnv());
    try {
      early.process.kill("SIGTERM");
      expect(await early.process.exited).toBe(0);
      expect(early.output()).not.toContain("exited (");
    } finally {
      await early.stop();
    }
  }, 60_000);

  test("SIGTERM while serving with socket clients: exit code 0, the WAL (SQLite) written back", async () => {
    expect((await fresh("PUT", `/api/data/persons/${(await fresh("GET", "/api/auth/authenticated")).body.user.id}`, { first_name: "Last" })).status).toBe(200);
    server.process.kill("SIGTERM");
    expect(await server.process.exited).toBe(0);
    expect(server.output()).toContain("Stopped.");
    const wal = `${server.databaseFile}-wal`;
    if (!onPostgres) expect(!existsSync(wal) || statSync(wal).size === 0).toBe(true);
  }, 60_000);
});
