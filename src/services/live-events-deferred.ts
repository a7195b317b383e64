/**
 * `serve`'s Bun server with the realtime stream (./live-events.ts) started after the server
 * listens: socket.io and its engine are loaded and set up once the first answer has gone out (or
 * at the first `/socket.io/` request, which waits for them, or a second after listening), so that
 * the start-up to the first answer does not pay for them.
 *
 * Until then nobody can be connected, so no event is missed by a client; the `websocket` handlers
 * are given to Bun.serve at once (they cannot be added later) and forward to the engine's.
 */
import type { LiveDeps, LiveEvents } from "./live-events";

/** Where socket.io is served (here, not in live-events.ts: importing that loads socket.io). */
export const SOCKET_PATH = "/socket.io/";

/** Where the path of a request URL starts (after `scheme://host`). */
export function pathStartOf(url: string): number {
  return url.indexOf("/", url.indexOf("://") + 3);
}

/** True for a request to socket.io. */
export function isSocketRequest(url: string): boolean {
  return url.startsWith(SOCKET_PATH, pathStartOf(url));
}
/** socket.io's default `maxHttpBufferSize`: the websocket message limit its engine asks for. */
const SOCKET_MAX_PAYLOAD = 1_000_000;
/** The latest start of the stream when no request comes (ms after listening). */
const START_AT_LATEST_MS = 1000;

type Fetch = (request: Request, server: Bun.Server<any>) => Response | Promise<Response>;
type Handlers = ReturnType<LiveEvents["serveHandlers"]>;

export interface DeferredLiveEvents {
  /** Starts the stream now if not done yet; resolves once it serves. */
  start(): Promise<LiveEvents>;
  /** Stops the stream (started or not). */
  close(): void;
}

export function serveWithDeferredLiveEvents(
  app: { fetch: Fetch },
  deps: LiveDeps,
  options: Omit<Bun.Serve.Options<any>, "fetch" | "websocket">,
): { server: Bun.Server<any>; live: DeferredLiveEvents } {
  let live: LiveEvents | null = null;
  let handlers: Handlers | null = null;
  let starting: Promise<LiveEvents> | null = null;
  let closed = false;
  const start = (): Promise<LiveEvents> =>
    (starting ??= import("./live-events").then((module) => {
      const started = new module.LiveEvents(deps);
      live = started;
      if (closed) started.close();
      else handlers = started.serveHandlers(app.fetch);
      return started;
    }));
  let scheduled = false;
  const startSoon = () => {
    if (scheduled) return;
    scheduled = true;
    // A macrotask: the answer being written goes out first.
    setTimeout(() => void start().catch((error) => console.error("the realtime stream (socket.io) failed to start", error)), 0);
  };
  const latest = setTimeout(startSoon, START_AT_LATEST_MS);
  const fetch: Fetch = (request, server) => {
    if (handlers) return handlers.fetch(request, server);
    if (isSocketRequest(request.url)) {
      return start().then(() => (handlers ? handlers.fetch(request, server) : new Response(null, { status: 503 })));
    }
    const answer = app.fetch(request, server);
    if (answer instanceof Promise) return answer.finally(startSoon);
    startSoon();
    return answer;
  };
  const server = Bun.serve({
    ...options,
    fetch,
    websocket: {
      open: (ws) => handlers?.websocket.open(ws as never),
      message: (ws, message) => handlers?.websocket.message(ws as never, message as never),
      close: (ws, code, reason) => handlers?.websocket.close(ws as never, code, reason),
      maxPayloadLength: SOCKET_MAX_PAYLOAD,
    },
  } as Bun.Serve.Options<any>);
  return {
    server,
    live: {
      start,
      close() {
        closed = true;
        clearTimeout(latest);
        live?.close();
      },
    },
  };
}
