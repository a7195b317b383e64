/**
 * What `serve` sets up after listening (issue 13 item 5b): the realtime stream (socket.io) is
 * loaded after the first answer, or at once for a client that connects first; either way a client
 * connecting right after the start is admitted and receives events.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { io, type Socket } from "socket.io-client";
import { makeServer, type TestServer } from "./helpers";
import { serveWithDeferredLiveEvents } from "../src/services/live-events-deferred";

const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

async function started(server: TestServer) {
  const { server: bun, live } = serveWithDeferredLiveEvents(server.app, { db: server.db, config: server.config, events: server.events }, { hostname: "127.0.0.1", port: 0 });
  const sockets: Socket[] = [];
  stops.push(() => {
    for (const socket of sockets) socket.close();
    live.close();
    bun.stop(true);
  });
  const base = `http://127.0.0.1:${bun.port}`;
  const connect = (token: string, transports: ("polling" | "websocket")[]) => {
    const socket = io(`${base}/events`, { extraHeaders: { Authorization: `Bearer ${token}` }, transports, reconnection: false, forceNew: true });
    sockets.push(socket);
    return new Promise<Socket>((resolve, reject) => {
      socket.once("connect", () => resolve(socket));
      socket.once("connect_error", (error) => reject(error));
    });
  };
  return { base, live, connect };
}

function nextEvent(socket: Socket, name: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} within 3 s`)), 3000);
    socket.once(name, (data) => {
      clearTimeout(timer);
      resolve(data);
    });
  });
}

describe("the realtime stream started after listening", () => {
  test("a client connecting before any other request (polling, then websocket) is admitted and receives events", async () => {
    const server = await makeServer();
    const { base, connect } = await started(server);
    const socket = await connect(server.admin.token, ["polling", "websocket"]);
    const received = nextEvent(socket, "main:test");
    const fired = await fetch(`${base}/api/status/test-event`, { headers: { Authorization: `Bearer ${server.admin.token}` } });
    expect(fired.status).toBe(200);
    expect(await received).toBeDefined();
  });

  test("a websocket-only client right after the start is admitted; a token-less one is refused", async () => {
    const server = await makeServer();
    const { connect } = await started(server);
    const socket = await connect(server.admin.token, ["websocket"]);
    expect(socket.connected).toBe(true);
    await expect(connect("not-a-token", ["websocket"])).rejects.toThrow();
  });

  test("the stream starts after the first answer, and that answer is the app's", async () => {
    const server = await makeServer();
    const { base, live } = await started(server);
    const first = await fetch(`${base}/api`);
    expect(first.status).toBe(200);
    expect(((await first.json()) as { api: string }).api).toBe("Zou");
    // Started by then (a macrotask after the answer), and only once.
    await Bun.sleep(50);
    const stream = await live.start();
    expect(await live.start()).toBe(stream);
    expect(stream.connections()).toBe(0);
    // Other paths still reach the app once the stream serves.
    expect((await fetch(`${base}/api/data/persons`)).status).toBe(401);
  });
});
