/** Issue 8 items 10 and 9 (logging): the `//` redirect stays on the server; a 500 logs one line with a request id. */
import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { sql } from "kysely";
import { onPostgres, makeServer } from "./helpers";

describe("repeated-slash redirect (issue 8, item 10)", () => {
  test("the Location is relative: a forged Host header does not leak into it", async () => {
    const server = await makeServer();
    const response = await server.app.request("http://evil.example/api//data///persons?page=2", { headers: { Host: "evil.example" } });
    expect(response.status).toBe(308);
    expect(response.headers.get("location")).toBe("/api/data/persons?page=2");
  });
});

describe("500 answers (issue 8, item 9: logging)", () => {
  let spy: ReturnType<typeof spyOn> | null = null;
  afterEach(() => spy?.mockRestore());

  test("log one line with the error and a request id, sent back as X-Request-Id", async () => {
    const server = await makeServer();
    if (onPostgres) {
      await sql`drop table department cascade`.execute(server.db);
    } else {
      await sql`pragma foreign_keys = off`.execute(server.db);
      await sql`drop table department_link`.execute(server.db);
      await sql`drop table department`.execute(server.db);
    }
    const lines: unknown[][] = [];
    spy = spyOn(console, "error").mockImplementation((...args: unknown[]) => {
      lines.push(args);
    });
    const response = await server.request("GET", "/api/data/departments");
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: true, message: "Internal server error." });
    const requestId = response.headers.get("x-request-id");
    expect(requestId).toMatch(/^[0-9a-f]{16}$/);
    expect(lines.length).toBe(1);
    expect(lines[0]!.length).toBe(1);
    const line = lines[0]![0] as string;
    expect(typeof line).toBe("string");
    expect(line).not.toContain("\n");
    expect(line.length).toBeLessThan(2000);
    expect(line).toContain(`[${requestId}] GET /data/departments failed:`);
    expect(line).toContain("department");
  });
});
