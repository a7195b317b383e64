/** The realtime stream over a real port: socket.io handshake auth, scoped delivery, review rooms, status. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { io, type Socket } from "socket.io-client";
import { makeServer, type Person, type TestServer } from "./helpers";
import { createTask, production, statusId } from "./people-fixtures";
import { signToken, ACCESS_TOKEN_SECONDS } from "../src/lib/jwt";
import { newId, utcNow } from "../src/lib/ids";
import { audienceOf, serveWithLiveEvents, type LiveEvents } from "../src/services/live-events";

let server: TestServer;
let live: LiveEvents;
let stop: () => void;
let base: string;
const sockets: Socket[] = [];

beforeAll(async () => {
  server = await makeServer();
  const started = serveWithLiveEvents(server.app, { db: server.db, config: server.config, events: server.events, revalidateEveryMs: 50 }, { hostname: "127.0.0.1", port: 0 });
  live = started.live;
  stop = () => {
    live.close();
    started.server.stop(true);
  };
  base = `http://127.0.0.1:${started.server.port}`;
});

afterAll(() => {
  for (const socket of sockets) socket.close();
  stop();
});

function client(headers: Record<string, string>, transports: ("polling" | "websocket")[] = ["polling", "websocket"]): Socket {
  const socket = io(`${base}/events`, { extraHeaders: headers, transports, reconnection: false, forceNew: true });
  sockets.push(socket);
  return socket;
}
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** Resolves "connected" or the connect error message. */
function outcome(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    socket.once("connect", () => resolve("connected"));
    socket.once("connect_error", (error) => resolve(`refused: ${error.message}`));
  });
}

async function connected(person: Person, transports?: ("polling" | "websocket")[]): Promise<Socket> {
  const socket = client(bearer(person.token), transports);
  expect(await outcome(socket)).toBe("connected");
  return socket;
}

/** Collects every event a socket receives. */
function recorder(socket: Socket): { name: string; data: any }[] {
  const seen: { name: string; data: any }[] = [];
  socket.onAny((name, data) => seen.push({ name, data }));
  return seen;
}

/** The next `name` event at `socket` (whose payload passes `accept`, when given). */
function next(socket: Socket, name: string, accept: (data: any) => boolean = () => true, timeoutMs = 3000): Promise<any> {
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

/** Fires `main:test` (delivered to everyone, after every earlier event) and waits for it at each socket. */
async function flush(...targets: Socket[]): Promise<void> {
  const waits = targets.map((socket) => next(socket, "main:test"));
  expect((await server.request("GET", "/api/status/test-event")).status).toBe(200);
  await Promise.all(waits);
}

describe("handshake", () => {
  test("a connection without a token is refused", async () => {
    expect(await outcome(client({}))).toStartWith("refused");
    expect(await outcome(client({}, ["websocket"]))).toStartWith("refused");
  });

  test("a bad, revoked, 2FA-restricted token or an inactive person is refused", async () => {
    expect(await outcome(client(bearer("not-a-jwt")))).toStartWith("refused");
    const artist = await server.person("user");
    const { token } = await signToken(server.config.secretKey, artist.id, { type: "access", identityType: "person", lifetime: ACCESS_TOKEN_SECONDS });
    expect(await outcome(client(bearer(token)))).toBe("connected");
    expect((await server.request("GET", "/api/auth/logout", { token })).status).toBe(200);
    expect(await outcome(client(bearer(token)))).toStartWith("refused");

    const restricted = await signToken(server.config.secretKey, artist.id, {
      type: "access", identityType: "person", lifetime: ACCESS_TOKEN_SECONDS, extra: { requires_2fa_setup: true },
    });
    expect(await outcome(client(bearer(restricted.token)))).toStartWith("refused");

    const leaver = await server.person("user", { active: false });
    expect(await outcome(client(bearer(leaver.token)))).toStartWith("refused");
  });

  test("a connected client whose session is revoked (logout) is disconnected", async () => {
    const artist = await server.person("user");
    const { token } = await signToken(server.config.secretKey, artist.id, { type: "access", identityType: "person", lifetime: ACCESS_TOKEN_SECONDS });
    const socket = client(bearer(token));
    expect(await outcome(socket)).toBe("connected");
    const other = await connected(await server.person("user"));
    const gone = new Promise<string>((resolve) => socket.once("disconnect", (reason) => resolve(reason)));
    expect((await server.request("GET", "/api/auth/logout", { token })).status).toBe(200);
    expect(await gone).toBe("io server disconnect");
    await Bun.sleep(120);
    expect(other.connected).toBe(true);
  });

  test("the cookie is accepted, over polling and over websocket only", async () => {
    const artist = await server.person("user");
    expect(await outcome(client({ Cookie: `access_token_cookie=${artist.token}` }))).toBe("connected");
    expect(await outcome(client({ Cookie: `access_token_cookie=${artist.token}` }, ["websocket"]))).toBe("connected");
    expect(await outcome(client(bearer(artist.token), ["websocket"]))).toBe("connected");
  });

  test("the main namespace is refused", async () => {
    const artist = await server.person("user");
    const socket = io(base, { extraHeaders: bearer(artist.token), reconnection: false, forceNew: true });
    sockets.push(socket);
    expect(await outcome(socket)).toStartWith("refused");
  });
});

describe("delivery", () => {
  test("a comment arrives as comment:new at a member and an admin, not at a non-member; the status change as task:update", async () => {
    const artist = await server.person("user");
    const outsider = await server.person("user");
    const { project, assetId, modeling } = await production(server, [artist]);
    const taskId = await createTask(server, project.id, assetId, modeling, { assignees: [artist] });
    const member = await connected(artist);
    const admin = await connected(server.admin, ["websocket"]);
    const stranger = await connected(outsider);
    const memberSeen = recorder(member);
    const strangerSeen = recorder(stranger);

    const wip = await statusId(server, "wip");
    const arrivals = [next(member, "comment:new"), next(member, "task:update"), next(admin, "comment:new")];
    const posted = await server.json("POST", `/api/actions/tasks/${taskId}/comment`, {
      token: artist.token,
      body: { task_status_id: wip, comment: "first pass" },
    });
    expect(posted.status).toBe(201);
    const [comment, taskUpdate, adminComment] = await Promise.all(arrivals);
    expect(comment).toMatchObject({ comment_id: posted.body.id, task_id: taskId, task_status_id: wip, project_id: project.id });
    expect(comment.id).toBeUndefined();
    expect(taskUpdate).toEqual({ task_id: taskId, project_id: project.id });
    expect(adminComment.comment_id).toBe(posted.body.id);

    await flush(member, stranger);
    expect(strangerSeen.map((e) => e.name)).toEqual(["main:test"]);
    expect(memberSeen.map((e) => e.name)).toContain("comment:new");
  });

  test("a task status change through PUT arrives as task:update", async () => {
    const artist = await server.person("user");
    const { project, assetId, modeling } = await production(server, [artist]);
    const taskId = await createTask(server, project.id, assetId, modeling);
    const member = await connected(artist);
    const arrival = next(member, "task:update");
    const done = await statusId(server, "done");
    expect((await server.request("PUT", `/api/data/tasks/${taskId}`, { body: { task_status_id: done } })).status).toBe(200);
    expect(await arrival).toMatchObject({ task_id: taskId, project_id: project.id });
  });

  test("someone added to the team while connected receives the project's events from then on", async () => {
    const artist = await server.person("user");
    const { project } = await production(server, []);
    const socket = await connected(artist);
    const seen = recorder(socket);
    const added = next(socket, "project:update");
    const response = await server.request("POST", `/api/data/projects/${project.id}/team`, { body: { person_id: artist.id } });
    expect(response.status).toBe(201);
    expect((await added).project_id).toBe(project.id);
    const sequence = next(socket, "sequence:new");
    expect((await server.request("POST", `/api/data/projects/${project.id}/sequences`, { body: { name: "SQ99" } })).status).toBe(201);
    expect((await sequence).project_id).toBe(project.id);
    expect(seen.some((e) => e.name === "sequence:new")).toBe(true);
  });

  test("notifications go to their recipient only; studio-wide events to everyone", async () => {
    const artist = await server.person("user");
    const other = await server.person("user");
    const mine = await connected(artist);
    const theirs = await connected(other);
    const otherSeen = recorder(theirs);
    const read = next(mine, "notification:all-read");
    expect((await server.request("POST", "/api/actions/user/notifications/mark-all-as-read", { token: artist.token })).status).toBe(200);
    expect(await read).toEqual({ person_id: artist.id });
    const typeArrivals = [next(mine, "task-type:new"), next(theirs, "task-type:new")];
    expect((await server.request("POST", "/api/data/task-types", { body: { name: `Live ${newId().slice(0, 6)}` } })).status).toBe(201);
    await Promise.all(typeArrivals);
    await flush(theirs);
    expect(otherSeen.some((e) => e.name.startsWith("notification:"))).toBe(false);
  });

  test("joining an entity's chat arrives as chat:joined at the project's team only", async () => {
    const artist = await server.person("user");
    const outsider = await server.person("user");
    const { assetId } = await production(server, [artist]);
    const member = await connected(artist);
    const stranger = await connected(outsider);
    const strangerSeen = recorder(stranger);
    const joined = next(member, "chat:joined");
    const response = await server.request("POST", `/api/actions/user/chats/${assetId}/join`, { token: artist.token });
    expect(response.status).toBeLessThan(300);
    expect(await joined).toMatchObject({ person_id: artist.id });
    await flush(stranger);
    expect(strangerSeen.map((e) => e.name)).toEqual(["main:test"]);
  });

  test("audience rules", () => {
    const event = (name: string, data: Record<string, unknown>, projectId: string | null = null) => ({ name, data, projectId, userId: null });
    expect(audienceOf(event("comment:new", { comment_id: "c", project_id: "p" }, "p"))).toEqual({ kind: "project", projectId: "p" });
    expect(audienceOf(event("project:new", { project_id: "p" }))).toEqual({ kind: "project", projectId: "p" });
    expect(audienceOf(event("notification:new", { person_id: "x", project_id: "p" }, "p"))).toEqual({ kind: "person", personId: "x" });
    expect(audienceOf(event("person:update", { person_id: "x" }))).toEqual({ kind: "everyone" });
    expect(audienceOf(event("task-status:new", { task_status_id: "s" }))).toEqual({ kind: "everyone" });
    expect(audienceOf(event("chat:joined", { chat_id: "c", person_id: "x" }))).toEqual({ kind: "chat", chatId: "c" });
    expect(audienceOf(event("asset_instance:new", { asset_id: "a" }))).toEqual({ kind: "admins" });
  });
});

describe("status", () => {
  test("GET /api/status reports the stream up with its connection count", async () => {
    const artist = await server.person("user");
    await connected(artist);
    const response = await fetch(`${base}/api/status`);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body["event-stream-up"]).toBe(true);
    expect(body["event-stream-connections"]).toBe(live.connections());
    expect(live.connections()).toBeGreaterThan(0);
  });
});

describe("review rooms", () => {
  async function playlist(projectId: string): Promise<string> {
    const id = newId();
    const now = utcNow();
    await server.db.insertInto("playlist").values({ id, created_at: now, updated_at: now, name: `Review ${id.slice(0, 4)}`, shots: "[]", project_id: projectId } as any).execute();
    return id;
  }

  test("two members in a room see each other's room-updated; people lists follow join, leave and disconnect", async () => {
    const lead = await server.person("supervisor");
    const artist = await server.person("user");
    const outsider = await server.person("user");
    const { project } = await production(server, [lead, artist]);
    const playlistId = await playlist(project.id);
    const a = await connected(lead);
    const b = await connected(artist, ["websocket"]);
    const c = await connected(outsider);

    let people = next(a, "preview-room:room-people-updated");
    a.emit("preview-room:join", { playlist_id: playlistId, current_frame: 12, is_playing: false });
    expect((await people).people).toEqual([lead.id]);

    const joinSeenByA = next(a, "preview-room:room-people-updated");
    const stateForB = next(b, "preview-room:room-updated");
    b.emit("preview-room:join", { playlist_id: playlistId, current_frame: 99 });
    expect((await joinSeenByA).people.sort()).toEqual([lead.id, artist.id].sort());
    const initial = await stateForB;
    expect(initial.current_frame).toBe(12);
    expect(initial.playlist_id).toBe(playlistId);

    // Room messages reach the whole room, the sender included (as Zou's emit to a room does).
    let atB = next(b, "preview-room:room-updated", (data) => data.local_id === "tab-a");
    a.emit("preview-room:room-updated", { playlist_id: playlistId, current_frame: 40, is_playing: true, local_id: "tab-a" });
    const fromA = await atB;
    expect(fromA).toMatchObject({ playlist_id: playlistId, current_frame: 40, is_playing: true, user_id: lead.id, local_id: "tab-a", only_newcomer: false });

    const atA = next(a, "preview-room:room-updated", (data) => data.local_id === "tab-b");
    b.emit("preview-room:room-updated", { playlist_id: playlistId, current_frame: 41, local_id: "tab-b" });
    expect(await atA).toMatchObject({ current_frame: 41, user_id: artist.id, local_id: "tab-b" });

    const annotation = next(b, "preview-room:add-annotation");
    a.emit("preview-room:add-annotation", { playlist_id: playlistId, frame: 40, annotation: { type: "path" } });
    expect(await annotation).toEqual({ playlist_id: playlistId, frame: 40, annotation: { type: "path" } });

    // A non-member can neither join nor drive the room.
    const cSeen = recorder(c);
    const aSeen = recorder(a);
    c.emit("preview-room:join", { playlist_id: playlistId });
    c.emit("preview-room:room-updated", { playlist_id: playlistId, current_frame: 666 });
    atB = next(b, "preview-room:room-updated", (data) => data.local_id === "tab-a2");
    a.emit("preview-room:room-updated", { playlist_id: playlistId, current_frame: 50, local_id: "tab-a2" });
    expect((await atB).current_frame).toBe(50);
    expect(cSeen).toEqual([]);
    expect(aSeen.every((e) => e.data.current_frame !== 666)).toBe(true);
    expect(live.rooms.people(playlistId).sort()).toEqual([lead.id, artist.id].sort());

    people = next(a, "preview-room:room-people-updated");
    b.disconnect();
    expect((await people).people).toEqual([lead.id]);
    a.emit("preview-room:leave", { playlist_id: playlistId });
    await Bun.sleep(50);
    expect(live.rooms.people(playlistId)).toEqual([]);
  });

  test("access is checked on every message: removed from the team or logged out, a client no longer drives the room", async () => {
    const lead = await server.person("supervisor");
    const artist = await server.person("user");
    const third = await server.person("user");
    const { project } = await production(server, [lead, artist, third]);
    const playlistId = await playlist(project.id);
    const a = await connected(lead);
    const b = await connected(artist);
    const c = await connected(third);
    for (const socket of [a, b, c]) {
      const joined = next(socket, "preview-room:room-updated");
      socket.emit("preview-room:join", { playlist_id: playlistId });
      await joined;
    }
    const seenByA = recorder(a);
    expect((await server.request("DELETE", `/api/data/projects/${project.id}/team/${artist.id}`)).status).toBe(204);
    b.emit("preview-room:room-updated", { playlist_id: playlistId, current_frame: 7, local_id: "removed" });
    expect((await server.request("GET", "/api/auth/logout", { token: third.token })).status).toBe(200);
    c.emit("preview-room:room-updated", { playlist_id: playlistId, current_frame: 8, local_id: "logged-out" });
    const check = next(a, "preview-room:room-updated", (data) => data.local_id === "still-here");
    a.emit("preview-room:room-updated", { playlist_id: playlistId, current_frame: 9, local_id: "still-here" });
    expect((await check).current_frame).toBe(9);
    expect(seenByA.filter((e) => e.name === "preview-room:room-updated").map((e) => e.data.local_id)).toEqual(["still-here"]);
  });
});
