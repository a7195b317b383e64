import { describe, expect, test, beforeAll } from "bun:test";
import { makeServer, type TestServer } from "./helpers";

let server: TestServer;
beforeAll(async () => {
  server = await makeServer();
});

describe("generic crud", () => {
  test("index answers under /api, bare and with a trailing slash", async () => {
    for (const path of ["/api", "/api/", "/"]) {
      const { status, body } = await server.json("GET", path, { token: null });
      expect(status).toBe(200);
      expect(body).toEqual({ api: "Zou", version: "1.0.67" });
    }
  });

  test("unknown routes are a JSON 404", async () => {
    const { status, body } = await server.json("GET", "/api/data/nothing-here/at-all");
    expect(status).toBe(404);
    expect(body.error).toBe(true);
    expect(body.message).toStartWith("404 Not Found");
  });

  test("no token is a 401 with Zou's msg body", async () => {
    const { status, body } = await server.json("GET", "/api/data/departments", { token: null });
    expect(status).toBe(401);
    expect(body.msg).toContain("Missing JWT");
  });

  test("create, read, update, list, delete a department", async () => {
    const created = await server.json("POST", "/api/data/departments", { body: { name: "Lighting", color: "#123456" } });
    expect(created.status).toBe(201);
    expect(created.body.type).toBe("Department");
    expect(created.body.name).toBe("Lighting");
    expect(created.body.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
    const id = created.body.id;

    const read = await server.json("GET", `/api/data/departments/${id}/`);
    expect(read.status).toBe(200);
    expect(read.body.color).toBe("#123456");

    const updated = await server.json("PUT", `/api/data/departments/${id}`, { body: { color: "#654321", unknown_key: 3 } });
    expect(updated.status).toBe(200);
    expect(updated.body.color).toBe("#654321");

    const list = await server.json("GET", "/api/data/departments?name=lighting");
    expect(list.status).toBe(200);
    expect(list.body.map((d: any) => d.id)).toEqual([id]);

    const deleted = await server.request("DELETE", `/api/data/departments/${id}`);
    expect(deleted.status).toBe(204);
    expect((await server.json("GET", `/api/data/departments/${id}`)).status).toBe(404);
  });

  test("unknown keys on create are a 400, malformed ids a 400", async () => {
    const bad = await server.json("POST", "/api/data/departments", { body: { name: "X", nope: 1 } });
    expect(bad.status).toBe(400);
    const malformed = await server.json("GET", "/api/data/departments/not-a-uuid");
    expect(malformed.status).toBe(400);
    expect(malformed.body).toEqual({ error: true, message: "Malformed ID.", data: null });
  });

  test("pagination shape", async () => {
    const { status, body } = await server.json("GET", "/api/data/task-status?page=1&limit=2");
    expect(status).toBe(200);
    expect(body.total).toBe(9);
    expect(body.nb_pages).toBe(5);
    expect(body.limit).toBe(2);
    expect(body.offset).toBe(0);
    expect(body.data).toHaveLength(2);
  });

  test("duplicate unique values are a 400 with Zou's message", async () => {
    const first = await server.json("POST", "/api/data/project-status", { body: { name: "Paused", color: "#000000" } });
    expect(first.status).toBe(201);
    const second = await server.json("POST", "/api/data/project-status", { body: { name: "Paused", color: "#000000" } });
    expect(second.status).toBe(400);
    expect(second.body.message).toBe("A record with the same unique values already exists.");
  });

  test("admin-only models refuse other roles", async () => {
    const artist = await server.person("user");
    const { status, body } = await server.json("GET", "/api/data/hardware-items", { token: artist.token });
    expect(status).toBe(403);
    expect(body.error).toBe(true);
    const read = await server.json("GET", "/api/data/departments", { token: artist.token });
    expect(read.status).toBe(200);
  });
});
