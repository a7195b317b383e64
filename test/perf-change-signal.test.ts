/**
 * Writes committed by another process on the same database file (the CLI, a second worker) are
 * seen by the server's very next request: the session cache and the answer cache check the
 * database's change signal (SQLite: PRAGMA data_version), they do not wait for a time-out.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ADMIN_EMAIL, ADMIN_PASSWORD, call, login, spawnServer, type SpawnedServer } from "./perf-server";

let server: SpawnedServer;
let adminToken: string;

beforeAll(async () => {
  server = await spawnServer();
  const admin = await login(server.url, ADMIN_EMAIL, ADMIN_PASSWORD);
  expect(admin.status).toBe(200);
  adminToken = admin.token!;
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

describe("writes by another process", () => {
  test("a password changed through the CLI: the old one is refused, the new one accepted at once", async () => {
    const created = await call(server.url, adminToken, "POST", "/api/data/persons", { first_name: "Ann", last_name: "Artist", email: "ann@example.com", role: "user" });
    expect(created.status).toBe(201);
    const first = await server.cli(["change-password", "ann@example.com", "--password", "first-password-1"]);
    expect(first.code).toBe(0);
    expect((await login(server.url, "ann@example.com", "first-password-1")).status).toBe(200);
    const second = await server.cli(["change-password", "ann@example.com", "--password", "second-password-2"]);
    expect(second.code).toBe(0);
    expect((await login(server.url, "ann@example.com", "first-password-1")).status).not.toBe(200);
    expect((await login(server.url, "ann@example.com", "second-password-2")).status).toBe(200);
  }, 60_000);

  test("a person deactivated and renamed by another process: the cached session is dropped on the next request", async () => {
    const created = await call(server.url, adminToken, "POST", "/api/data/persons", { first_name: "Bob", last_name: "Builder", email: "bob@example.com", role: "user" });
    expect(created.status).toBe(201);
    expect((await server.cli(["change-password", "bob@example.com", "--password", "bob-password-1"])).code).toBe(0);
    const bob = await login(server.url, "bob@example.com", "bob-password-1");
    expect(bob.status).toBe(200);
    // Twice: the second answer comes from the session cache.
    expect((await call(server.url, bob.token!, "GET", "/api/auth/authenticated")).body.user.first_name).toBe("Bob");
    expect((await call(server.url, bob.token!, "GET", "/api/auth/authenticated")).body.user.first_name).toBe("Bob");

    const renamed = await server.script(
      `const { Database } = require("bun:sqlite"); const db = new Database(process.env.DB); db.exec("PRAGMA busy_timeout = 5000"); db.query("update person set first_name = 'Robert' where email = 'bob@example.com'").run(); db.close();`,
    );
    expect(renamed.code).toBe(0);
    expect((await call(server.url, bob.token!, "GET", "/api/auth/authenticated")).body.user.first_name).toBe("Robert");

    const deactivated = await server.script(
      `const { Database } = require("bun:sqlite"); const db = new Database(process.env.DB); db.exec("PRAGMA busy_timeout = 5000"); db.query("update person set active = 0 where email = 'bob@example.com'").run(); db.close();`,
    );
    expect(deactivated.code).toBe(0);
    expect((await call(server.url, bob.token!, "GET", "/api/auth/authenticated")).status).toBe(401);
  }, 60_000);

  test("a shot renamed by another process shows in the next with-tasks answer (answer cache)", async () => {
    const project = await call(server.url, adminToken, "POST", "/api/data/projects", { name: "Cache Project" });
    expect(project.status).toBe(201);
    const sequence = await call(server.url, adminToken, "POST", `/api/data/projects/${project.body.id}/sequences`, { name: "SQ01" });
    expect(sequence.status).toBe(201);
    const shot = await call(server.url, adminToken, "POST", `/api/data/projects/${project.body.id}/shots`, { name: "SH010", sequence_id: sequence.body.id });
    expect(shot.status).toBe(201);
    const path = `/api/data/shots/with-tasks?project_id=${project.body.id}`;
    expect((await call(server.url, adminToken, "GET", path)).body.map((s: any) => s.name)).toEqual(["SH010"]);
    expect((await call(server.url, adminToken, "GET", path)).body.map((s: any) => s.name)).toEqual(["SH010"]);
    const renamed = await server.script(
      `const { Database } = require("bun:sqlite"); const db = new Database(process.env.DB); db.exec("PRAGMA busy_timeout = 5000"); db.query("update entity set name = 'SH999' where id = ?").run(${JSON.stringify(shot.body.id)}); db.close();`,
    );
    expect(renamed.code).toBe(0);
    expect((await call(server.url, adminToken, "GET", path)).body.map((s: any) => s.name)).toEqual(["SH999"]);
  }, 60_000);
});
