/**
 * The realtime stream (events.md §5): socket.io v4 on the API's own Bun server, path `/socket.io`,
 * namespace `/events`, polling and websocket. The handshake is authenticated like an API route,
 * through `authenticate` (cookie or bearer, revocation, active person, 2FA restriction). Every
 * event of the Broadcaster is pushed with its name and payload, but only to who may read it:
 * project events to the project's team and the admins, `notification:*` to the recipient, chat
 * events to the team of the chat's project, studio-wide reference data to everyone, anything else
 * without a project to the admins. Review rooms live in ./review-rooms.ts.
 */
import { Server as Engine } from "@socket.io/bun-engine";
import { Hono } from "hono";
import { Server as SocketServer, type Namespace, type Socket } from "socket.io";
import type { Config } from "../config";
import type { AppEnv, IdentityType, PersonRow } from "../context";
import type { Db } from "../db/database";
import { InProcessBroadcaster, registerStream, unregisterStream, type Broadcaster } from "../lib/broadcast";
import { chunks } from "../lib/chunks";
import { ApiError } from "../lib/errors";
import type { EmittedEvent, EventBus } from "../lib/events";
import { authenticate } from "./auth";
import { sessionGeneration } from "./session-cache";
import { ReviewRooms } from "./review-rooms";
import { isSocketRequest, SOCKET_PATH } from "./live-events-deferred";

export const EVENTS_NAMESPACE = "/events";

export interface LiveDeps {
  db: Db;
  config: Config;
  events: EventBus;
  /** Defaults to the in-process broadcaster of `events`. */
  broadcaster?: Broadcaster;
  /** How often to look for revoked sessions among the connected clients (ms, default 15 s). */
  revalidateEveryMs?: number;
}

export interface LiveSession {
  user: PersonRow;
  identityType: IdentityType;
}

/** What a connected socket knows about its person (kept in `socket.data`). */
interface SocketData {
  personId: string;
  /** The handshake request, replayed to re-authenticate room messages. */
  handshake: { url: string; headers: Record<string, string> };
  projectRooms: Set<string>;
}

/** Who receives an event. */
export type Audience =
  | { kind: "everyone" }
  | { kind: "admins" }
  | { kind: "project"; projectId: string }
  | { kind: "person"; personId: string }
  | { kind: "chat"; chatId: string };

/** Models whose events are studio-wide reference data every logged-in person may read. */
const STUDIO_WIDE = new Set([
  "person", "task-type", "task-status", "department", "organisation", "asset-type", "entity-type", "project-status",
  "project-template", "studio", "custom-action", "status-automation", "software", "hardware-item", "output-type",
  "file-status", "preview-background-file", "main",
]);

/** Events after which team memberships, roles or active flags may have changed. */
const MEMBERSHIP_EVENTS = new Set(["project:new", "project:update", "project:delete", "person:update", "person:delete"]);

const ADMINS_ROOM = "admins";
const personRoom = (id: string) => `person:${id}`;
const projectRoom = (id: string) => `project:${id}`;

export function audienceOf(event: EmittedEvent): Audience {
  const model = event.name.split(":")[0] ?? "";
  const data = event.data;
  if (model === "notification") {
    return typeof data.person_id === "string" ? { kind: "person", personId: data.person_id } : { kind: "admins" };
  }
  const projectId = event.projectId ?? (typeof data.project_id === "string" ? data.project_id : null);
  if (projectId) return { kind: "project", projectId };
  if (model === "chat" && typeof data.chat_id === "string") return { kind: "chat", chatId: data.chat_id };
  if (STUDIO_WIDE.has(model)) return { kind: "everyone" };
  return { kind: "admins" };
}

/**
 * Checks a handshake request as the auth middleware checks an API request, through a tiny Hono
 * app so that `authenticate` sees the same context it sees on a route (path `/socket.io/`, which
 * is not one of the paths a 2FA-restricted token may call).
 */
function handshakeAuthenticator(db: Db, config: Config, events: EventBus) {
  const sessions = new WeakMap<Request, LiveSession>();
  const probe = new Hono<AppEnv>();
  probe.all("*", async (c) => {
    c.set("db", db);
    c.set("config", config);
    c.set("events", events);
    c.set("projectRoles", new Map());
    try {
      const user = await authenticate(c);
      sessions.set(c.req.raw, { user, identityType: c.get("identityType") });
      return c.body(null, 204);
    } catch (error) {
      if (error instanceof ApiError) return c.json(error.body, error.status);
      throw error;
    }
  });
  return async (handshake: { url: string; headers: Record<string, string> }): Promise<LiveSession | null> => {
    const url = new URL(handshake.url, "http://localhost");
    const request = new Request(url, { headers: handshake.headers });
    const response = await probe.fetch(request);
    return response.status === 204 ? (sessions.get(request) ?? null) : null;
  };
}

export class LiveEvents {
  readonly engine: Engine;
  readonly io: SocketServer;
  readonly nsp: Namespace;
  readonly rooms: ReviewRooms;
  private readonly db: Db;
  private readonly events: EventBus;
  private readonly authenticateHandshake: ReturnType<typeof handshakeAuthenticator>;
  private readonly unsubscribe: () => void;
  /** Deliveries waiting for a lookup, kept in emission order. */
  private tail: Promise<void> | null = null;
  private readonly revalidateTimer: ReturnType<typeof setInterval>;
  private checkedGeneration = -1; // the first revalidation always checks
  private revalidating = false;

  constructor(deps: LiveDeps) {
    this.db = deps.db;
    this.events = deps.events;
    this.authenticateHandshake = handshakeAuthenticator(deps.db, deps.config, deps.events);
    const origins = deps.config.corsAllowedOrigins;
    this.engine = new Engine({
      path: SOCKET_PATH,
      ...(origins.length > 0 ? { cors: { origin: origins, credentials: true } } : {}),
    });
    this.io = new SocketServer({ serveClient: false });
    this.io.bind(this.engine);
    // Nothing is published on the main namespace: refuse it like an unauthenticated /events.
    this.io.use((_socket, next) => next(new Error("Use the /events namespace")));
    this.nsp = this.io.of(EVENTS_NAMESPACE);
    this.nsp.use((socket, next) => {
      this.admit(socket).then(
        (admitted) => next(admitted ? undefined : new Error("Unauthorized")),
        (error) => {
          console.error("socket handshake check failed", error);
          next(new Error("Unauthorized"));
        },
      );
    });
    this.rooms = new ReviewRooms(this.nsp, this.db, (socket) => this.sessionOf(socket));
    this.nsp.on("connection", (socket) => this.rooms.attach(socket));
    const broadcaster = deps.broadcaster ?? new InProcessBroadcaster(deps.events);
    this.unsubscribe = broadcaster.subscribe((event) => this.accept(event));
    registerStream(deps.events, { connections: () => this.connections() });
    this.revalidateTimer = setInterval(() => void this.revalidate(), deps.revalidateEveryMs ?? 15_000);
    this.revalidateTimer.unref?.();
  }

  connections(): number {
    return this.nsp.sockets.size;
  }

  /** The Bun.serve `fetch` and `websocket` handlers: socket.io under /socket.io, `fetch` for the rest. */
  serveHandlers(fetch: (request: Request, server: Bun.Server<any>) => Response | Promise<Response>) {
    const engineHandlers = this.engine.handler();
    return {
      fetch: (request: Request, server: Bun.Server<any>) => {
        if (isSocketRequest(request.url)) return this.engine.handleRequest(request, server);
        return fetch(request, server);
      },
      websocket: engineHandlers.websocket,
    };
  }

  /** The session of a connected socket, re-checked (token still valid, person still active). */
  async sessionOf(socket: Socket): Promise<LiveSession | null> {
    const data = socket.data as SocketData;
    const session = await this.authenticateHandshake(data.handshake);
    if (!session || session.user.id !== data.personId) return null;
    return session;
  }

  /**
   * After a write that may revoke sessions (logout, deactivation, API token renewal), checks every
   * connected client's token again and disconnects those no longer accepted.
   */
  async revalidate(): Promise<void> {
    const generation = sessionGeneration(this.db);
    if (this.revalidating || generation === this.checkedGeneration) return;
    this.revalidating = true;
    try {
      this.checkedGeneration = generation;
      for (const socket of [...this.nsp.sockets.values()]) {
        if (socket.connected && socket.data?.personId && !(await this.sessionOf(socket))) socket.disconnect(true);
      }
    } catch (error) {
      console.error("live session check failed", error);
    } finally {
      this.revalidating = false;
    }
  }

  close(): void {
    clearInterval(this.revalidateTimer);
    this.unsubscribe();
    unregisterStream(this.events);
    this.io.disconnectSockets(true);
    this.engine.close();
  }

  private async admit(socket: Socket): Promise<boolean> {
    const handshake = { url: String(socket.handshake.url), headers: { ...(socket.handshake.headers as Record<string, string>) } };
    const session = await this.authenticateHandshake(handshake);
    if (!session) return false;
    const data: SocketData = { personId: session.user.id, handshake, projectRooms: new Set() };
    socket.data = data;
    socket.join(personRoom(session.user.id));
    if (session.user.role === "admin") socket.join(ADMINS_ROOM);
    const links = await this.db.selectFrom("project_person_link").select("project_id").where("person_id", "=", session.user.id).execute();
    for (const link of links) this.joinProject(socket, link.project_id);
    return true;
  }

  private joinProject(socket: Socket, projectId: string): void {
    (socket.data as SocketData).projectRooms.add(projectId);
    socket.join(projectRoom(projectId));
  }

  /** Receives a broadcast event: delivers it now, or after the lookups it needs, in emission order. */
  private accept(event: EmittedEvent): void {
    const audience = audienceOf(event);
    const needsLookup = audience.kind === "chat" || MEMBERSHIP_EVENTS.has(event.name);
    if (!needsLookup && !this.tail) {
      this.deliver(event, audience);
      return;
    }
    const run = async () => {
      if (MEMBERSHIP_EVENTS.has(event.name)) await this.syncMemberships();
      const target = audience.kind === "chat" ? await this.chatAudience(audience.chatId) : audience;
      this.deliver(event, target);
    };
    const next = (this.tail ?? Promise.resolve()).then(run).catch((error) => console.error("live event delivery failed", error));
    this.tail = next;
    void next.then(() => {
      if (this.tail === next) this.tail = null;
    });
  }

  private deliver(event: EmittedEvent, audience: Audience): void {
    if (this.nsp.sockets.size === 0) return;
    switch (audience.kind) {
      case "everyone":
        this.nsp.emit(event.name, event.data);
        return;
      case "admins":
        this.nsp.to(ADMINS_ROOM).emit(event.name, event.data);
        return;
      case "project":
        this.nsp.to([projectRoom(audience.projectId), ADMINS_ROOM]).emit(event.name, event.data);
        return;
      case "person":
        this.nsp.to(personRoom(audience.personId)).emit(event.name, event.data);
        return;
      case "chat":
        return;
    }
  }

  private async chatAudience(chatId: string): Promise<Audience> {
    const row = await this.db
      .selectFrom("chat")
      .innerJoin("entity", "entity.id", "chat.object_id")
      .select("entity.project_id")
      .where("chat.id", "=", chatId)
      .executeTakeFirst();
    return row?.project_id ? { kind: "project", projectId: row.project_id } : { kind: "admins" };
  }

  /** Re-reads the role, active flag and teams of every connected person; updates their rooms. */
  private async syncMemberships(): Promise<void> {
    const sockets = [...this.nsp.sockets.values()].filter((socket) => socket.data?.personId);
    if (sockets.length === 0) return;
    const personIds = [...new Set(sockets.map((socket) => (socket.data as SocketData).personId))];
    const persons = new Map<string, { role: string; active: unknown }>();
    const teams = new Map<string, Set<string>>();
    for (const part of chunks(personIds)) {
      const rows = await this.db.selectFrom("person").select(["id", "role", "active"]).where("id", "in", part).execute();
      for (const row of rows) persons.set(row.id, row);
      const links = await this.db.selectFrom("project_person_link").select(["person_id", "project_id"]).where("person_id", "in", part).execute();
      for (const link of links) {
        if (!teams.has(link.person_id)) teams.set(link.person_id, new Set());
        teams.get(link.person_id)!.add(link.project_id);
      }
    }
    for (const socket of sockets) {
      const data = socket.data as SocketData;
      const person = persons.get(data.personId);
      if (!person || !person.active) {
        socket.disconnect(true);
        continue;
      }
      if (person.role === "admin") socket.join(ADMINS_ROOM);
      else socket.leave(ADMINS_ROOM);
      const projects = teams.get(data.personId) ?? new Set<string>();
      for (const projectId of [...data.projectRooms]) {
        if (!projects.has(projectId)) {
          data.projectRooms.delete(projectId);
          socket.leave(projectRoom(projectId));
        }
      }
      for (const projectId of projects) if (!data.projectRooms.has(projectId)) this.joinProject(socket, projectId);
    }
  }
}

type ServeOptions = Omit<Bun.Serve.Options<any>, "fetch" | "websocket"> & Record<string, unknown>;

/**
 * Starts the API and its realtime stream on one Bun server: `Bun.serve(options)` with the app's
 * fetch, socket.io under `/socket.io` and the websocket handler socket.io needs.
 */
export function serveWithLiveEvents(
  app: { fetch: (request: Request, server: Bun.Server<any>) => Response | Promise<Response> },
  deps: LiveDeps,
  options: ServeOptions,
): { server: Bun.Server<any>; live: LiveEvents } {
  const live = new LiveEvents(deps);
  const server = Bun.serve({ ...(options as object), ...live.serveHandlers(app.fetch) } as Bun.Serve.Options<any>);
  return { server, live };
}
