import { describe, expect, test, beforeAll } from "bun:test";
import { makeServer, type TestServer } from "./helpers";
import type { EmittedEvent } from "../src/lib/events";

let server: TestServer;
beforeAll(async () => {
  server = await makeServer();
});

describe("index routes", () => {
  test("GET / gives the API name and version", async () => {
    const { status, body } = await server.json("GET", "/api/", { token: null });
    expect(status).toBe(200);
    expect(body).toEqual({ api: "Zou", version: "1.0.67" });
  });

  test("GET /config is public and has every key Kitsu reads", async () => {
    const { status, body } = await server.json("GET", "/api/config", { token: null });
    expect(status).toBe(200);
    expect(body).toEqual({
      is_self_hosted: true,
      crisp_token: "",
      dark_theme_by_default: false,
      indexer_configured: true,
      saml_enabled: false,
      saml_idp_name: "",
      oidc_enabled: false,
      oidc_idp_name: "",
      enforce_2fa: false,
      default_locale: "en_US",
      default_timezone: "Europe/Paris",
    });
  });

  test("GET /config follows the organisation's dark theme and the Sentry setting", async () => {
    const other = await makeServer({ sentryDsn: "https://key@sentry.example.com/1", crispToken: "crisp" });
    const organisations = await other.json("GET", "/api/data/organisations");
    await other.json("PUT", `/api/data/organisations/${organisations.body[0].id}`, { body: { dark_theme_by_default: true } });
    const { body } = await other.json("GET", "/api/config", { token: null });
    expect(body.dark_theme_by_default).toBe(true);
    expect(body.crisp_token).toBe("crisp");
    expect(body.sentry.dsn).toBe("https://key@sentry.example.com/1");
  });

  // The app alone (no socket server attached, see test/live-events.test.ts) has its event stream down.
  test("GET /status reports the services", async () => {
    const { status, body } = await server.json("GET", "/api/status", { token: null });
    expect(status).toBe(200);
    expect(body).toMatchObject({ // zou-bun adds its own keys (test/access-log.test.ts)
      name: "Zou",
      version: "1.0.67",
      "database-up": true,
      "key-value-store-up": true,
      "event-stream-up": false,
      "event-stream-connections": 0,
      "job-queue-up": true,
      "indexer-up": true,
    });
  });

  test("GET /status reports a database that is down", async () => {
    const broken = await makeServer();
    await broken.db.destroy();
    const { status, body } = await broken.json("GET", "/api/status", { token: null });
    expect(status).toBe(200);
    expect(body["database-up"]).toBe(false);
    const text = await broken.request("GET", "/api/status.txt", { token: null });
    expect(await text.text()).toContain("database-up: down");
  });

  test("GET /status/influx gives integers and a time", async () => {
    const before = Date.now() / 1000;
    const { status, body } = await server.json("GET", "/api/status/influx", { token: null });
    expect(status).toBe(200);
    expect(body["database-up"]).toBe(1);
    expect(body["key-value-store-up"]).toBe(1);
    expect(body["event-stream-up"]).toBe(0);
    expect(body["job-queue-up"]).toBe(1);
    expect(body["indexer-up"]).toBe(1);
    expect(body.time).toBeGreaterThanOrEqual(Math.floor(before));
  });

  test("GET /status.txt is plain text", async () => {
    const response = await server.request("GET", "/api/status.txt", { token: null });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text");
    expect(await response.text()).toBe(
      "name: Zou\nversion: 1.0.67\ndatabase-up: up\nevent-stream-up: down\nkey-value-store-up: up\njob-queue-up: up\nindexer-up: up\n",
    );
  });

  test("GET /status/resources gives CPU, memory and jobs", async () => {
    const { status, body } = await server.json("GET", "/api/status/resources", { token: null });
    expect(status).toBe(200);
    expect(body.date).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/);
    expect(Array.isArray(body.cpu.percent)).toBe(true);
    expect(body.cpu.percent.length).toBeGreaterThan(0);
    for (const percent of body.cpu.percent) {
      expect(percent).toBeGreaterThanOrEqual(0);
      expect(percent).toBeLessThanOrEqual(100);
    }
    expect(Object.keys(body.cpu.loadavg)).toEqual(["last 1 min", "last 5 min", "last 10 min"]);
    expect(body.memory.total).toBeGreaterThan(0);
    expect(body.memory.used + body.memory.available).toBe(body.memory.total);
    expect(body.memory.percent).toBeGreaterThan(0);
    expect(body.jobs).toEqual({ running_jobs: 0 });
    expect(Object.keys(body).sort()).toEqual(["cpu", "date", "jobs", "memory"]);
  });

  test("GET /status/test-event emits main:test without storing it", async () => {
    const seen: EmittedEvent[] = [];
    const unsubscribe = server.events.subscribe((event) => seen.push(event));
    const { status, body } = await server.json("GET", "/api/status/test-event", { token: null });
    unsubscribe();
    expect(status).toBe(200);
    expect(body).toEqual({ success: true });
    expect(seen.map((event) => [event.name, event.data])).toEqual([["main:test", {}]]);
    const stored = await server.db.selectFrom("api_event").select("id").where("name", "=", "main:test").execute();
    expect(stored).toEqual([]);
  });

  test("GET /stats: admin only, counts from the database", async () => {
    const artist = await server.person("user");
    expect((await server.json("GET", "/api/stats", { token: artist.token })).status).toBe(403);
    expect((await server.json("GET", "/api/stats", { token: null })).status).toBe(401);
    await server.project("Stats Project");
    const { status, body } = await server.json("GET", "/api/stats");
    expect(status).toBe(200);
    expect(body).toEqual({
      number_of_video_previews: 0,
      number_of_picture_previews: 0,
      number_of_model_previews: 0,
      number_of_comments: 0,
    });
  });

  test("HEAD and trailing slashes work on the status routes", async () => {
    expect((await server.request("GET", "/status/", { token: null })).status).toBe(200);
    expect((await server.request("HEAD", "/api/status", { token: null })).status).toBe(200);
  });
});
