/**
 * A worker that forwards `/socket.io/` to the socket owner (src/services/live-forward.ts), while
 * the owner is still starting: a websocket-only client is held until the owner answers, then
 * admitted or refused by it; with no owner at all it gets a refusal within seconds, never a
 * socket that leads nowhere (socket.io's client would wait for its 20 s connect timeout).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { io, type Socket } from "socket.io-client";
import { makeServer, type TestServer } from "./helpers";
import { serveRealtime } from "../src/services/live-forward";

const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

function unusedPort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(null) });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

async function serve(server: TestServer, role: "owner" | "forward", ownerPort: number) {
  const deps = { db: server.db, config: server.config, events: server.events };
  const { server: bun, live } = await serveRealtime(server.app, deps, { hostname: "127.0.0.1", port: 0 }, { role, ownerPort });
  stops.push(() => {
    live.close();
    bun.stop(true);
  });
  return `http://127.0.0.1:${bun.port}`;
}

/** Connects a websocket-only client: "connected" or the refusal's message, and how long it took. */
async function connectOnce(base: string, token: string | null, sockets: Socket[]): Promise<{ outcome: string; ms: number }> {
  const started = Date.now();
  const socket = io(`${base}/events`, {
    extraHeaders: token ? { Authorization: `Bearer ${token}` } : {},
    transports: ["websocket"],
    reconnection: false,
    forceNew: true,
    timeout: 15_000,
  });
  sockets.push(socket);
  stops.push(() => socket.close());
  const outcome = await new Promise<string>((resolve) => {
    socket.once("connect", () => resolve("connected"));
    socket.once("connect_error", (error) => resolve(error.message));
  });
  return { outcome, ms: Date.now() - started };
}

describe("forwarded websocket clients while the socket owner starts", () => {
  test("a client that comes before the owner listens is admitted once it does, and receives events", async () => {
    const server = await makeServer();
    const ownerPort = unusedPort();
    const forwarder = await serve(server, "forward", ownerPort);
    const sockets: Socket[] = [];
    const admitted = connectOnce(forwarder, server.admin.token, sockets);
    const refused = connectOnce(forwarder, null, sockets);
    await Bun.sleep(400);
    await serve(server, "owner", ownerPort);
    expect((await admitted).outcome).toBe("connected");
    expect((await refused).outcome).toBe("Unauthorized");
    const received = new Promise((resolve) => sockets[0]!.once("main:test", resolve));
    const fired = await fetch(`${forwarder}/api/status/test-event`, { headers: { Authorization: `Bearer ${server.admin.token}` } });
    expect(fired.status).toBe(200);
    expect(await Promise.race([received, Bun.sleep(3000).then(() => "timeout")])).not.toBe("timeout");
  });

  test("no owner at all: the client is refused after the wait (503), not left hanging", async () => {
    const server = await makeServer();
    const forwarder = await serve(server, "forward", unusedPort());
    const [{ outcome, ms }, handshake] = await Promise.all([
      connectOnce(forwarder, server.admin.token, []),
      fetch(`${forwarder}/socket.io/?EIO=4&transport=websocket`, {
        headers: { Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13" },
      }),
    ]);
    expect(outcome).not.toBe("connected");
    expect(outcome).not.toBe("timeout");
    expect(ms).toBeLessThan(10_000);
    expect(handshake.status).toBe(503);
    expect(((await handshake.json()) as { message: string }).message).toContain("restarting");
  }, 20_000);
});
