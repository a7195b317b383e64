/** Issue 16 item 6: GET /api/status's storage and job-queue keys; the access log in both formats. */
import { afterEach, describe, expect, test } from "bun:test";
import { makeServer } from "./helpers";
import { accessLogSink } from "../src/lib/access-log";

const originalWrite = accessLogSink.write;
afterEach(() => {
  accessLogSink.write = originalWrite;
});

function capture(): string[] {
  const lines: string[] = [];
  accessLogSink.write = (line: string) => lines.push(line);
  return lines;
}

describe("access log", () => {
  test("plain: one line per request with method, path, status, duration and person id", async () => {
    const server = await makeServer({ logFormat: "plain" });
    const lines = capture();
    await server.request("GET", "/api/data/projects?token=secret", { token: server.admin.token });
    await server.request("GET", "/api/data/projects/not-there-at-all", { token: server.admin.token });
    await server.request("GET", "/api/", { token: null });
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+Z GET /api/data/projects 200 [\\d.]+ms person=${server.admin.id}$`));
    expect(lines[0]).not.toContain("secret");
    expect(lines[1]).toMatch(/ GET \/api\/data\/projects\/not-there-at-all (400|404) [\d.]+ms person=/);
    expect(lines[2]).toMatch(/ GET \/api\/ 200 [\d.]+ms person=-$/);
  });

  test("json: one JSON object per request; a refused request has no person", async () => {
    const server = await makeServer({ logFormat: "json" });
    const lines = capture();
    await server.request("POST", "/api/data/projects", { token: server.admin.token, body: { name: "Logged" } });
    await server.request("GET", "/api/data/persons", { token: null });
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0]!);
    expect(first).toEqual({ time: expect.any(String), method: "POST", path: "/api/data/projects", status: 201, duration_ms: expect.any(Number), person_id: server.admin.id });
    const second = JSON.parse(lines[1]!);
    expect(second).toMatchObject({ method: "GET", path: "/api/data/persons", status: 401, person_id: null });
  });

  test("off writes nothing", async () => {
    const server = await makeServer({ logFormat: "off" });
    const lines = capture();
    await server.request("GET", "/api/", { token: null });
    expect(lines).toHaveLength(0);
  });
});

describe("GET /api/status", () => {
  test("keeps Zou's keys and adds database, stored files and job queue state", async () => {
    const server = await makeServer();
    const { status, body } = await server.json("GET", "/api/status", { token: null });
    expect(status).toBe(200);
    expect(body).toMatchObject({ name: "Zou", version: "1.0.67", "database-up": true, "key-value-store-up": true, "job-queue-up": true, "indexer-up": true });
    expect(body["database-bytes"]).toBeNull(); // in-memory database
    expect(body["stored-files-up"]).toBe(true);
    expect(body["stored-files-free-bytes"]).toBeGreaterThan(0);
    expect(body["job-queue-running"]).toBe(0);
    expect(body["job-queue-waiting"]).toBe(0);
  });
});
