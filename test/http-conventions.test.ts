/** Cross-cutting HTTP behaviour (http-conventions.md §2 "Routing"). */
import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type TestServer } from "./helpers";

let server: TestServer;
beforeAll(async () => {
  server = await makeServer({ corsAllowedOrigins: ["https://kitsu.studio.test"] });
});

describe("routing conventions", () => {
  test("HEAD is answered for GET routes", async () => {
    const response = await server.request("HEAD", "/api", { token: null });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("");
  });

  test("a method the path does not serve is a 405 with Allow", async () => {
    const { status, body } = await server.json("PATCH", "/api/data/persons");
    expect(status).toBe(405);
    expect(body).toEqual({ error: true, message: "405 Method Not Allowed: The method is not allowed for the requested URL." });
    const response = await server.request("POST", `/api/data/persons/${server.admin.id}`);
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("DELETE, GET, HEAD, OPTIONS, PUT");
  });

  test("OPTIONS needs no token and lists the methods", async () => {
    const response = await server.request("OPTIONS", "/api/data/persons", { token: null });
    expect(response.status).toBe(200);
    expect(response.headers.get("allow")).toBe("GET, HEAD, OPTIONS, POST");
  });

  test("CORS preflight from an allowed origin", async () => {
    const response = await server.request("OPTIONS", "/api/data/persons", {
      token: null,
      headers: { Origin: "https://kitsu.studio.test", "Access-Control-Request-Headers": "authorization,content-type" },
    });
    expect(response.headers.get("access-control-allow-origin")).toBe("https://kitsu.studio.test");
    expect(response.headers.get("access-control-allow-credentials")).toBe("true");
    expect(response.headers.get("access-control-allow-headers")).toBe("authorization,content-type");
    const other = await server.request("GET", "/api", { token: null, headers: { Origin: "https://elsewhere.test" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("unknown paths are a 404 with or without a token", async () => {
    for (const token of [null, server.admin.token]) {
      const { status, body } = await server.json("GET", "/api/data/no-such-thing/here", { token });
      expect(status).toBe(404);
      expect(body.error).toBe(true);
    }
    const served = await server.json("GET", "/api/data/persons", { token: null });
    expect(served.status).toBe(401);
  });

  test("repeated slashes redirect permanently to the merged path", async () => {
    const response = await server.request("GET", "/api//data///persons");
    expect(response.status).toBe(308);
    expect(new URL(response.headers.get("location")!, "http://localhost").pathname).toBe("/api/data/persons");
  });

  test("security headers on every answer", async () => {
    const response = await server.request("GET", "/api/data/nothing", { token: null });
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    expect(response.headers.get("content-security-policy")).toBe("frame-ancestors 'self'");
    expect(response.headers.get("referrer-policy")).toBe("strict-origin-when-cross-origin");
  });
});
