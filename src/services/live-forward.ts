/**
 * In a worker that does not own the realtime stream (workers.ts): `/socket.io/` requests are
 * forwarded to the socket owner's loopback port, and a WebSocket upgrade is accepted here and
 * joined to a WebSocket opened to the owner, message for message in both directions. Everything
 * else goes to the app. socket.io's sessions, rooms and review rooms thus all live in one process,
 * whichever worker the kernel hands each connection to.
 */
import type { ServerWebSocket } from "bun";
import { registerStream, unregisterStream } from "../lib/broadcast";
import type { LiveDeps } from "./live-events";
import { isSocketRequest, pathStartOf, serveWithDeferredLiveEvents } from "./live-events-deferred";

type Fetch = (request: Request, server: Bun.Server<any>) => Response | Promise<Response>;

/**
 * One forwarded WebSocket. The owner's side is opened first; the client's side is accepted once it
 * is, so a client never holds a WebSocket that leads nowhere.
 */
interface Tunnel {
  upstream: WebSocket;
  /** The client's side, once its upgrade completed. */
  client: ServerWebSocket<{ tunnel: Tunnel }> | null;
  /** Owner messages received before the client's side opened (socket.io's open packet). */
  pending: (string | Uint8Array)[];
  /** The owner's close, when it came before the client's side opened. */
  upstreamClosed: { code: number; reason: string } | null;
  closed: boolean;
}

/** Headers that describe one hop, not the request (RFC 9110 §7.6.1), and those fetch sets itself. */
const HOP_HEADERS = new Set([
  "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length",
  "accept-encoding", "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-accept",
]);

function forwardedHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (!HOP_HEADERS.has(name)) out[name] = value;
  });
  return out;
}

/** How long a forwarded request waits for a starting socket owner, and between two tries. */
const OWNER_WAIT_MS = 5000;
const OWNER_RETRY_MS = 100;

function unavailable(): Response {
  return Response.json({ error: true, message: "The realtime stream is restarting, try again." }, { status: 503, headers: { "Retry-After": "1" } });
}

/** Where the socket owner answers its number of connected clients on its loopback port. */
const CONNECTIONS_PATH = "/_zou-bun/stream-connections";
const CONNECTIONS_MAX_AGE_MS = 2_000;

export class SocketForwarder {
  private readonly origin: string;
  private readonly tunnels = new Set<ServerWebSocket<{ tunnel: Tunnel }>>();
  /** The owner's last known number of clients (for GET /status), refreshed when older than 2 s. */
  private ownerConnections = { count: 0, at: 0, asking: false };

  constructor(ownerPort: number) {
    this.origin = `127.0.0.1:${ownerPort}`;
  }

  /** The owner's clients as last heard (the answer after the first call may lag by a request). */
  connections(): number {
    const known = this.ownerConnections;
    if (!known.asking && Date.now() - known.at > CONNECTIONS_MAX_AGE_MS) {
      known.asking = true;
      fetch(`http://${this.origin}${CONNECTIONS_PATH}`)
        .then((answer) => answer.json() as Promise<{ connections: number }>)
        .then((body) => (known.count = Number(body.connections) || 0))
        .catch(() => (known.count = 0))
        .finally(() => {
          known.at = Date.now();
          known.asking = false;
        });
    }
    return known.count;
  }

  /** The Bun.serve `fetch` and `websocket` handlers: forwarding under /socket.io, `fetch` for the rest. */
  serveHandlers(fetch: Fetch) {
    return {
      fetch: (request: Request, server: Bun.Server<any>): Response | Promise<Response | undefined> | undefined => {
        const url = request.url;
        if (!isSocketRequest(url)) return fetch(request, server);
        const target = url.slice(pathStartOf(url));
        if (request.headers.get("upgrade")?.toLowerCase() === "websocket") return this.upgrade(request, server, target);
        return this.forward(request, target);
      },
      websocket: {
        open: (ws: ServerWebSocket<{ tunnel: Tunnel }>) => this.open(ws),
        message: (ws: ServerWebSocket<{ tunnel: Tunnel }>, message: string | Buffer) => {
          const { upstream } = ws.data.tunnel;
          if (upstream.readyState === WebSocket.OPEN) upstream.send(message);
        },
        close: (ws: ServerWebSocket<{ tunnel: Tunnel }>, code: number, reason: string) => {
          this.tunnels.delete(ws);
          const { tunnel } = ws.data;
          tunnel.closed = true;
          tunnel.upstream.close(validCloseCode(code), reason);
        },
        idleTimeout: 120,
      },
    };
  }

  /** Closes the forwarded WebSockets (at shutdown; their clients reconnect to another worker). */
  close(): void {
    for (const ws of this.tunnels) ws.close(1001, "server stopping");
    this.tunnels.clear();
  }

  private async forward(request: Request, target: string): Promise<Response> {
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    const body = hasBody ? await request.arrayBuffer() : undefined;
    // The owner may be starting (or restarting): its port is tried again for a few seconds
    // before the client is told to come back.
    const giveUpAt = Date.now() + OWNER_WAIT_MS;
    for (;;) {
      try {
        const answer = await fetch(`http://${this.origin}${target}`, {
          method: request.method,
          headers: forwardedHeaders(request.headers),
          body,
          redirect: "manual",
          signal: request.signal, // a client gone ends its long-poll at the owner too
        });
        const headers = new Headers(answer.headers);
        headers.delete("content-length");
        headers.delete("content-encoding");
        headers.delete("transfer-encoding");
        return new Response(answer.body, { status: answer.status, headers });
      } catch {
        if (request.signal.aborted || Date.now() >= giveUpAt) return unavailable();
        await Bun.sleep(OWNER_RETRY_MS);
      }
    }
  }

  /**
   * A client's WebSocket upgrade: the owner's side is opened first, tried again like `forward` while
   * the owner starts (a client's socket.io handshake that met a closed tunnel would hang until
   * its connect timeout), then the client's side is accepted. 503 when the owner stays away.
   */
  private async upgrade(request: Request, server: Bun.Server<any>, target: string): Promise<Response | undefined> {
    const headers = forwardedHeaders(request.headers);
    const giveUpAt = Date.now() + OWNER_WAIT_MS;
    let tunnel = await this.connect(target, headers);
    while (!tunnel) {
      if (request.signal.aborted || Date.now() >= giveUpAt) return unavailable();
      await Bun.sleep(OWNER_RETRY_MS);
      tunnel = await this.connect(target, headers);
    }
    if ((server as Bun.Server<{ tunnel: Tunnel }>).upgrade(request, { data: { tunnel } })) return undefined;
    tunnel.closed = true;
    tunnel.upstream.close();
    return new Response(null, { status: 400 });
  }

  /** A WebSocket to the owner, resolved once open; null when it could not be opened. */
  private connect(target: string, headers: Record<string, string>): Promise<Tunnel | null> {
    let upstream: WebSocket;
    try {
      upstream = new WebSocket(`ws://${this.origin}${target}`, { headers } as any);
    } catch {
      return Promise.resolve(null);
    }
    upstream.binaryType = "arraybuffer";
    const tunnel: Tunnel = { upstream, client: null, pending: [], upstreamClosed: null, closed: false };
    return new Promise((resolve) => {
      let opened = false;
      upstream.addEventListener("open", () => {
        opened = true;
        resolve(tunnel);
      });
      upstream.addEventListener("message", (event) => {
        const message = typeof event.data === "string" ? event.data : new Uint8Array(event.data as ArrayBuffer);
        if (tunnel.client) {
          if (!tunnel.closed) tunnel.client.send(message);
        } else tunnel.pending.push(message);
      });
      const ended = (code: number, reason: string) => {
        if (!opened) return resolve(null);
        if (tunnel.closed) return;
        if (!tunnel.client) {
          tunnel.upstreamClosed ??= { code, reason };
          return;
        }
        tunnel.closed = true;
        this.tunnels.delete(tunnel.client);
        tunnel.client.close(code, reason);
      };
      upstream.addEventListener("close", (event) => ended(validCloseCode(event.code), event.reason));
      upstream.addEventListener("error", () => ended(1011, "realtime stream unavailable"));
    });
  }

  /** The client's side opened: what the owner already sent goes out, then messages flow both ways. */
  private open(ws: ServerWebSocket<{ tunnel: Tunnel }>): void {
    const { tunnel } = ws.data;
    this.tunnels.add(ws);
    tunnel.client = ws;
    for (const message of tunnel.pending) ws.send(message);
    tunnel.pending = [];
    if (tunnel.upstreamClosed) {
      tunnel.closed = true;
      this.tunnels.delete(ws);
      ws.close(tunnel.upstreamClosed.code, tunnel.upstreamClosed.reason);
    }
  }
}

/** A close code one may send (1005, 1006 and 1015 are only ever reported, never sent). */
function validCloseCode(code: number): number {
  return code === 1000 || (code >= 1001 && code <= 1014 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999) ? code : 1000;
}

type ServeOptions = Omit<Bun.Serve.Options<any>, "fetch" | "websocket"> & Record<string, unknown>;

/**
 * Starts the API with its realtime stream as this process's role asks (workers.ts `socketRole`):
 * alone, the stream on the same server; the socket owner, also on its loopback port for the other
 * workers; any other worker, forwarding `/socket.io/` to the owner. `live.close()` ends the stream.
 */
export async function serveRealtime(
  app: { fetch: Fetch },
  deps: LiveDeps,
  options: ServeOptions,
  role: { role: "alone" } | { role: "owner" | "forward"; ownerPort: number },
): Promise<{ server: Bun.Server<any>; live: { close(): void } }> {
  if (role.role === "forward") {
    const forwarder = new SocketForwarder(role.ownerPort);
    registerStream(deps.events, { connections: () => forwarder.connections() });
    const server = Bun.serve({ ...(options as object), ...forwarder.serveHandlers(app.fetch) } as Bun.Serve.Options<any>);
    return {
      server,
      live: {
        close() {
          unregisterStream(deps.events);
          forwarder.close();
        },
      },
    };
  }
  // A single server loads socket.io after its first answer (start-up); the socket owner of
  // several workers at once, since its loopback port serves forwarded clients from the start.
  if (role.role === "alone") return serveWithDeferredLiveEvents(app, deps, options);
  const started = (await import("./live-events")).serveWithLiveEvents(app, deps, options);
  const { live } = started;
  const internalOnly = (request: Request) =>
    new URL(request.url).pathname === CONNECTIONS_PATH ? Response.json({ connections: live.connections() }) : new Response(null, { status: 404 });
  const internal = Bun.serve({ hostname: "127.0.0.1", port: role.ownerPort, idleTimeout: 120, ...live.serveHandlers(internalOnly) } as Bun.Serve.Options<any>);
  return {
    server: started.server,
    live: {
      close() {
        live.close();
        void internal.stop(true);
      },
    },
  };
}
