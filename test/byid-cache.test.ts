/**
 * By-id answers of the crud engine are kept (src/crud/answer-cache.ts) and never served stale or
 * to another caller: writes through the API, writes by another connection, the caller's role,
 * deleted rows, link tables, permission checks.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import pg from "pg";
import { createApp } from "../src/app";
import { testConfig } from "../src/config";
import { migrateToLatest, openDatabase, type Db } from "../src/db/database";
import { initData } from "../src/services/init-data";
import { newId, utcNow } from "../src/lib/ids";
import { ANSWER_CACHE_LIMITS, cachedAnswer, keepAnswer, keptAnswerCount } from "../src/crud/answer-cache";
import { makeServer, onPostgres, tokenFor, type TestServer } from "./helpers";

let server: TestServer;

beforeAll(async () => {
  server = await makeServer();
});

async function createPerson(fields: Record<string, unknown> = {}): Promise<any> {
  const created = await server.json("POST", "/api/data/persons", {
    body: { first_name: "Ann", last_name: "Artist", email: `ann-${newId()}@example.com`, role: "user", ...fields },
  });
  expect(created.status).toBe(201);
  return created.body;
}

async function createDepartment(name: string): Promise<any> {
  const created = await server.json("POST", "/api/data/departments", { body: { name, color: "#000000" } });
  expect(created.status).toBe(201);
  return created.body;
}

/** Reads twice (the second answer comes from the cache) and checks both are equal. */
async function readTwice(path: string, token?: string): Promise<{ status: number; body: any }> {
  const first = await server.json("GET", path, { token });
  const kept = keptAnswerCount(server.db);
  const second = await server.json("GET", path, { token });
  expect(second).toEqual(first);
  // A 200 is kept by the first read and served to the second.
  if (first.status === 200) expect(keptAnswerCount(server.db)).toBe(kept);
  return second;
}

describe("by-id answers of the crud engine", () => {
  test("a PUT then a GET shows the change", async () => {
    const person = await createPerson();
    const path = `/api/data/persons/${person.id}`;
    const before = keptAnswerCount(server.db);
    expect((await server.json("GET", path)).status).toBe(200);
    expect(keptAnswerCount(server.db)).toBe(before + 1);
    expect((await readTwice(path)).body.first_name).toBe("Ann");
    expect((await server.json("PUT", path, { body: { first_name: "Anna" } })).status).toBe(200);
    expect((await server.json("GET", path)).body.first_name).toBe("Anna");
  });

  test("a write to the table by another route or a plain statement is seen", async () => {
    const person = await createPerson();
    const path = `/api/data/persons/${person.id}`;
    await readTwice(path);
    await server.db.updateTable("person").set({ last_name: "Changed" }).where("id", "=", person.id).execute();
    expect((await server.json("GET", path)).body.last_name).toBe("Changed");
  });

  test("a non-admin never gets the admin's answer, and a demoted admin loses it at once", async () => {
    const person = await createPerson({ phone: "555-0100" });
    const path = `/api/data/persons/${person.id}`;
    const full = await readTwice(path);
    expect(full.body.email).toBe(person.email);
    expect(full.body.phone).toBe("555-0100");

    const artist = await server.person("user");
    const minimal = await readTwice(path, artist.token);
    expect(minimal.status).toBe(200);
    expect(minimal.body.id).toBe(person.id);
    expect(minimal.body.email).toBeUndefined();
    expect(minimal.body.phone).toBeUndefined();

    const otherAdmin = await server.person("admin");
    expect((await readTwice(path, otherAdmin.token)).body.phone).toBe("555-0100");
    // An admin-only model whose answer does not depend on the person table.
    const item = await server.json("POST", "/api/data/custom-actions", { body: { name: `Action ${newId()}`, url: "https://example.com/action" } });
    expect(item.status).toBe(201);
    const itemPath = `/api/data/custom-actions/${item.body.id}`;
    expect((await readTwice(itemPath, otherAdmin.token)).status).toBe(200);
    expect((await server.json("GET", itemPath, { token: artist.token })).status).toBe(403);
    const demoted = await server.json("PUT", `/api/data/persons/${otherAdmin.id}`, { body: { role: "user" } });
    expect(demoted.status).toBe(200);
    expect((await server.json("GET", itemPath, { token: otherAdmin.token })).status).toBe(403);
    const after = await server.json("GET", path, { token: otherAdmin.token });
    expect(after.status).toBe(200);
    expect(after.body.phone).toBeUndefined();
    expect(after.body.email).toBeUndefined();
  });

  test("the query string is part of the key (relations=false)", async () => {
    const person = await createPerson();
    const path = `/api/data/persons/${person.id}`;
    expect((await readTwice(path)).body.departments).toEqual([]);
    expect((await readTwice(`${path}?relations=false`)).body.departments).toBeUndefined();
    expect((await server.json("GET", path)).body.departments).toEqual([]);
  });

  test("a deleted row answers 404 at once", async () => {
    const person = await createPerson();
    const path = `/api/data/persons/${person.id}`;
    expect((await readTwice(path)).status).toBe(200);
    expect((await server.request("DELETE", path)).status).toBe(204);
    expect((await server.json("GET", path)).status).toBe(404);

    const department = await createDepartment(`Gone ${newId()}`);
    const departmentPath = `/api/data/departments/${department.id}`;
    expect((await readTwice(departmentPath)).status).toBe(200);
    expect((await server.request("DELETE", departmentPath)).status).toBe(204);
    expect((await server.json("GET", departmentPath)).status).toBe(404);
  });

  test("relation fields follow their link table (departments of a person)", async () => {
    const person = await createPerson();
    const path = `/api/data/persons/${person.id}`;
    const modeling = await createDepartment(`Modeling ${newId()}`);
    const rigging = await createDepartment(`Rigging ${newId()}`);
    expect((await readTwice(path)).body.departments).toEqual([]);

    const added = await server.json("POST", `/api/actions/persons/${person.id}/departments/add`, { body: { department_id: modeling.id } });
    expect(added.status).toBe(201);
    expect((await readTwice(path)).body.departments).toEqual([modeling.id]);

    await server.db.insertInto("department_link").values({ person_id: person.id, department_id: rigging.id }).execute();
    expect([...(await readTwice(path)).body.departments].sort()).toEqual([modeling.id, rigging.id].sort());

    expect((await server.request("DELETE", `/api/actions/persons/${person.id}/departments/${modeling.id}`)).status).toBe(204);
    expect((await readTwice(path)).body.departments).toEqual([rigging.id]);

    expect((await server.json("PUT", path, { body: { departments: [] } })).status).toBe(200);
    expect((await server.json("GET", path)).body.departments).toEqual([]);
  });

  test("a permission that depends on other tables is checked again (team of a project)", async () => {
    const artist = await server.person("user");
    const project = await server.project(`Team ${newId()}`, [artist]);
    const path = `/api/data/projects/${project.id}`;
    expect((await readTwice(path, artist.token)).status).toBe(200);
    const removed = await server.request("DELETE", `/api/data/projects/${project.id}/team/${artist.id}`);
    expect(removed.status).toBe(204);
    expect((await server.json("GET", path, { token: artist.token })).status).toBe(403);
  });

  test("an answer kept for one caller is not served to an outsider", async () => {
    const project = await server.project(`Closed ${newId()}`);
    const path = `/api/data/projects/${project.id}`;
    expect((await readTwice(path)).status).toBe(200);
    const outsider = await server.person("user");
    expect((await server.json("GET", path, { token: outsider.token })).status).toBe(403);
  });
});

/** A server on a database another connection can reach: a SQLite file, or the PostgreSQL test database. */
describe("writes by another connection", () => {
  let folder = "";
  let db: Db;
  let app: ReturnType<typeof createApp>;
  let token = "";
  let databaseUrl = "";
  let writeElsewhere: (statement: string, params: unknown[]) => Promise<void>;
  let close: () => Promise<void> = async () => {};

  beforeAll(async () => {
    if (onPostgres) {
      databaseUrl = server.config.databaseUrl;
      db = server.db;
      app = server.app;
      token = server.admin.token;
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      writeElsewhere = async (statement, params) => {
        let index = 0;
        await client.query(statement.replace(/\?/g, () => `$${++index}`), params);
      };
      close = () => client.end();
      return;
    }
    folder = mkdtempSync(join(tmpdir(), "zou-byid-"));
    databaseUrl = `sqlite://${join(folder, "zou.db")}`;
    db = openDatabase(databaseUrl);
    await migrateToLatest(db);
    await initData(db, "3d");
    const config = testConfig({ databaseUrl });
    app = createApp({ db, config });
    const id = newId();
    const now = utcNow();
    await db.insertInto("person").values({ id, created_at: now, updated_at: now, first_name: "Admin", last_name: "One", email: "admin@example.com", role: "admin", active: true } as any).execute();
    token = await tokenFor(config, id);
    const other = new Database(join(folder, "zou.db"));
    other.exec("PRAGMA busy_timeout = 5000");
    writeElsewhere = async (statement, params) => {
      other.query(statement).run(...(params as any[]));
      // A request sent after another process's commit reaches the server in a later turn of the
      // event loop (src/lib/change-signal.ts reads PRAGMA data_version once per turn).
      await new Promise((resolve) => setImmediate(resolve));
    };
    close = async () => {
      other.close();
      await db.destroy();
      rmSync(folder, { recursive: true, force: true });
    };
  });

  afterAll(async () => {
    await close();
  });

  const get = async (path: string) => {
    const response = await app.request(path, { headers: { Authorization: `Bearer ${token}` } });
    return { status: response.status, body: response.status === 200 ? await response.json() : null };
  };

  test("a row changed, linked and deleted by another connection is seen by the next GET", async () => {
    const created = await app.request("/api/data/persons", {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ first_name: "Bob", last_name: "Builder", email: `bob-${newId()}@example.com` }),
    });
    expect(created.status).toBe(201);
    const person = (await created.json()) as any;
    const path = `/api/data/persons/${person.id}`;
    expect((await get(path)).body.first_name).toBe("Bob");
    expect((await get(path)).body.first_name).toBe("Bob");

    await writeElsewhere("update person set first_name = ? where id = ?", ["Robert", person.id]);
    expect((await get(path)).body.first_name).toBe("Robert");

    const department = await db.selectFrom("department").select("id").executeTakeFirstOrThrow();
    expect((await get(path)).body.departments).toEqual([]);
    await writeElsewhere("insert into department_link (person_id, department_id) values (?, ?)", [person.id, department.id]);
    expect((await get(path)).body.departments).toEqual([department.id]);

    await writeElsewhere("delete from department_link where person_id = ?", [person.id]);
    await writeElsewhere("delete from person where id = ?", [person.id]);
    expect((await get(path)).status).toBe(404);
  });
});

describe("finding the token (fast paths keep the general parsing's answers)", () => {
  const authenticated = (headers: Record<string, string>) => server.json("GET", "/api/auth/authenticated", { token: null, headers });

  test("Authorization: Bearer, alone or among other schemes", async () => {
    expect((await authenticated({ Authorization: `Bearer ${server.admin.token}` })).body.user.id).toBe(server.admin.id);
    expect((await authenticated({ Authorization: `Basic abc, Bearer ${server.admin.token}` })).body.user.id).toBe(server.admin.id);
    expect((await authenticated({ Authorization: `Bearer  ${server.admin.token}` })).body.user.id).toBe(server.admin.id);
    const malformed = await authenticated({ Authorization: `Bearer ${server.admin.token} extra` });
    expect(malformed.status).toBe(422);
    expect(malformed.body).toEqual({ msg: "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'" });
    expect((await authenticated({ Authorization: "Basic abc" })).status).toBe(401);
  });

  test("the access cookie first, other cookies ignored", async () => {
    const artist = await server.person("user");
    const both = await authenticated({ Cookie: `theme=dark; access_token_cookie=${artist.token}`, Authorization: `Bearer ${server.admin.token}` });
    expect(both.body.user.id).toBe(artist.id);
    const otherCookie = await authenticated({ Cookie: "theme=dark", Authorization: `Bearer ${server.admin.token}` });
    expect(otherCookie.body.user.id).toBe(server.admin.id);
    expect((await authenticated({ Cookie: "theme=dark" })).status).toBe(401);
  });
});

describe("the store's bounds", () => {
  test("at most the entry limit, the least recently used dropped first; a huge answer is not kept", () => {
    const db = {};
    keepAnswer(db, "first", 1, "a");
    keepAnswer(db, "second", 1, "b");
    expect(cachedAnswer(db, "first", 1)).toBe("a"); // now the most recently used
    for (let i = 0; i < ANSWER_CACHE_LIMITS.entries - 1; i++) keepAnswer(db, `filler ${i}`, 1, "x");
    expect(keptAnswerCount(db)).toBe(ANSWER_CACHE_LIMITS.entries);
    expect(cachedAnswer(db, "second", 1)).toBeUndefined();
    expect(cachedAnswer(db, "first", 1)).toBe("a");
    keepAnswer(db, "huge", 1, "x".repeat(ANSWER_CACHE_LIMITS.entryChars + 1));
    expect(cachedAnswer(db, "huge", 1)).toBeUndefined();
  });

  test("an answer of another version is dropped", () => {
    const db = {};
    keepAnswer(db, "key", 1, "old");
    expect(cachedAnswer(db, "key", 2)).toBeUndefined();
    expect(keptAnswerCount(db)).toBe(0);
  });
});
