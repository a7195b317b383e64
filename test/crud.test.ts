/** The generic crud engine (http-conventions.md "Generic crud", models.md §4.1), through HTTP. */
import { describe, expect, test, beforeAll } from "bun:test";
import { Hono } from "hono";
import { makeServer, type TestServer } from "./helpers";
import type { AppEnv } from "../src/context";
import { registerCrud } from "../src/crud/engine";
import { idByName, insertRow, storedEvents } from "./crud-fixtures";

let server: TestServer;
beforeAll(async () => {
  server = await makeServer();
});

const UNKNOWN_ID = "3f4a9c2e-8b1d-4c6e-9a7f-2d5b8e1c0a93";

describe("routing and errors", () => {
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

  test("malformed ids are a 400, unknown ids a 404, on GET, PUT and DELETE", async () => {
    const malformed = await server.json("GET", "/api/data/departments/not-a-uuid");
    expect(malformed.status).toBe(400);
    expect(malformed.body).toEqual({ error: true, message: "Malformed ID.", data: null });
    expect((await server.json("PUT", "/api/data/departments/not-a-uuid", { body: { name: "x" } })).status).toBe(400);
    expect((await server.json("DELETE", "/api/data/departments/not-a-uuid")).status).toBe(400);
    for (const method of ["GET", "DELETE"]) {
      const missing = await server.json(method, `/api/data/departments/${UNKNOWN_ID}`);
      expect(missing.status).toBe(404);
      expect(missing.body.message).toStartWith("404 Not Found");
    }
    expect((await server.json("PUT", `/api/data/departments/${UNKNOWN_ID}`, { body: { name: "x" } })).status).toBe(404);
  });
});

describe("lists", () => {
  test("without query string: a plain array of every row, without relations", async () => {
    const { status, body } = await server.json("GET", "/api/data/entity-types");
    expect(status).toBe(200);
    expect(Array.isArray(body)).toBe(true);
    const stored = await server.db.selectFrom("entity_type").select("name").execute();
    expect(body.map((t: any) => t.name).sort()).toEqual(stored.map((t) => t.name).sort());
    expect(body.map((t: any) => t.name)).toContain("Character");
    expect(body.find((t: any) => t.name === "Character")).not.toHaveProperty("task_types");
    expect(body[0].type).toBe("EntityType");
  });

  test("unknown keys and a lone limit are ignored", async () => {
    const all = (await server.json("GET", "/api/data/task-status")).body;
    const { status, body } = await server.json("GET", "/api/data/task-status?nothing=1&limit=2");
    expect(status).toBe(200);
    expect(Array.isArray(body)).toBe(true);
    expect(body).toHaveLength(all.length);
  });

  test("name= is a case-insensitive LIKE with the raw value", async () => {
    const exact = await server.json("GET", "/api/data/task-types?name=modeling");
    expect(exact.body.map((t: any) => t.name)).toEqual(["Modeling"]);
    const wildcard = await server.json("GET", "/api/data/task-types?name=RE%25");
    expect(wildcard.body.map((t: any) => t.name).sort()).toEqual(["Rendering"]);
    const none = await server.json("GET", "/api/data/task-types?name=model");
    expect(none.body).toEqual([]);
  });

  test("a value starting with [ is a JSON list (IN); bad JSON is a 400", async () => {
    const { body } = await server.json("GET", `/api/data/task-status?short_name=${encodeURIComponent('["todo","wip"]')}`);
    expect(body.map((s: any) => s.short_name).sort()).toEqual(["todo", "wip"]);
    const empty = await server.json("GET", `/api/data/task-status?short_name=${encodeURIComponent("[]")}`);
    expect(empty.body).toEqual([]);
    const bad = await server.json("GET", `/api/data/task-status?short_name=${encodeURIComponent("[todo")}`);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe(true);
  });

  test("boolean, uuid and number filters are cast, with 400s on bad values", async () => {
    const done = await server.json("GET", "/api/data/task-status?is_done=yes");
    expect(done.body.map((s: any) => s.short_name)).toEqual(["done"]);
    const notDone = await server.json("GET", "/api/data/task-status?is_done=0&for_concept=f");
    expect(notDone.body).toHaveLength(5);
    const badBool = await server.json("GET", "/api/data/task-status?is_done=maybe");
    expect(badBool.status).toBe(400);
    expect(badBool.body.message).toStartWith("One of the value of the filter has not the proper format");
    const badUuid = await server.json("GET", "/api/data/task-types?department_id=12");
    expect(badUuid.status).toBe(400);
    const badNumber = await server.json("GET", "/api/data/task-types?priority=high");
    expect(badNumber.status).toBe(400);
    expect(badNumber.body.message).toStartWith("One of the value of the filter has not the proper format");
    const modeling = await idByName(server.db, "department", "Modeling");
    const byDepartment = await server.json("GET", `/api/data/task-types?department_id=${modeling}&priority=3`);
    expect(byDepartment.body.map((t: any) => t.name)).toEqual(["Shading"]);
  });

  test("hidden columns cannot be filtered on", async () => {
    const { status, body } = await server.json("GET", "/api/data/persons?password=x");
    expect(status).toBe(400);
    expect(body.message).toBe("Filtering on password is not allowed.");
  });

  test("many-to-many keys keep rows whose relation holds the id", async () => {
    const modeling = (await server.json("GET", "/api/data/task-types?name=Modeling")).body[0].id;
    const created = await server.json("POST", "/api/data/entity-types", { body: { name: "Vehicle", task_types: [modeling] } });
    expect(created.status).toBe(201);
    const { body } = await server.json("GET", `/api/data/entity-types?task_types=${modeling}`);
    expect(body.map((t: any) => t.name)).toEqual(["Vehicle"]);
    expect((await server.json("GET", "/api/data/entity-types?task_types=nope")).status).toBe(400);
  });

  test("relations=true (any case) adds the relation ids; fields= keeps id, type and the named keys", async () => {
    const { body } = await server.json("GET", "/api/data/entity-types?name=Vehicle&relations=TRUE");
    expect(body[0].task_types).toHaveLength(1);
    const noRelations = await server.json("GET", "/api/data/entity-types?name=Vehicle&relations=yes");
    expect(noRelations.body[0]).not.toHaveProperty("task_types");
    const picked = await server.json("GET", "/api/data/entity-types?name=Vehicle&fields=name,unknown_field");
    expect(picked.body).toEqual([{ id: body[0].id, type: "EntityType", name: "Vehicle" }]);
  });

  test("pagination: shape, ordering by updated_at desc, pages past the end and below 1", async () => {
    const db = server.db;
    for (let i = 0; i < 5; i += 1) {
      await insertRow(db, "studio", { name: `Paged studio ${i}`, color: "#000000", updated_at: `2024-01-0${i + 1}T10:00:00` });
    }
    const first = await server.json("GET", "/api/data/studios?page=1&limit=2");
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ total: 5, nb_pages: 3, limit: 2, offset: 0, page: 1 });
    expect(first.body.data.map((s: any) => s.name)).toEqual(["Paged studio 4", "Paged studio 3"]);
    const third = await server.json("GET", "/api/data/studios?page=3&limit=2");
    expect(third.body.offset).toBe(4);
    expect(third.body.data.map((s: any) => s.name)).toEqual(["Paged studio 0"]);
    const past = await server.json("GET", "/api/data/studios?page=9&limit=2");
    expect(past.body).toMatchObject({ data: [], total: 5, page: 9 });
    const zero = await server.json("GET", "/api/data/studios?page=0");
    expect(zero.body).toMatchObject({ data: [], total: 5, limit: 100 });
    const defaultLimit = await server.json("GET", "/api/data/studios?page=1&fields=name");
    expect(defaultLimit.body.limit).toBe(100);
    expect(defaultLimit.body.data[0]).toEqual({ id: expect.any(String), type: "Studio", name: "Paged studio 4" });
    expect((await server.json("GET", "/api/data/studios?page=one")).status).toBe(400);
  });

  test("the event log lists at most 1000 rows without paging", async () => {
    const now = "2024-02-02T10:00:00";
    const rows = Array.from({ length: 1010 }, (_, i) => ({ id: crypto.randomUUID(), created_at: now, updated_at: now, name: `bulk:event-${i}`, data: "{}" }));
    for (let i = 0; i < rows.length; i += 200) await server.db.insertInto("api_event").values(rows.slice(i, i + 200) as never).execute();
    const plain = await server.json("GET", "/api/data/events");
    expect(plain.body).toHaveLength(1000);
    const paged = await server.json("GET", "/api/data/events?page=1");
    expect(paged.body.total).toBeGreaterThanOrEqual(1010);
    expect(paged.body.data).toHaveLength(100);
    const large = await server.json("GET", "/api/data/events?page=1&limit=5000");
    expect(large.body.limit).toBe(1000);
    expect(large.body.data).toHaveLength(1000);
  });
});

describe("read one", () => {
  test("a row and all the ids of its relation; 404 for an unknown id", async () => {
    const ids = (await server.json("GET", "/api/data/task-types?for_entity=Shot")).body.map((t: any) => t.id).slice(0, 3);
    const created = await server.json("POST", "/api/data/entity-types", { body: { name: "Crowd", task_types: ids } });
    const read = await server.json("GET", `/api/data/entity-types/${created.body.id}`);
    expect(read.body.task_types.sort()).toEqual([...ids].sort());
    expect(read.body).toMatchObject({ id: created.body.id, name: "Crowd", type: "EntityType" });
    expect(read.body).not.toHaveProperty("__relation_target");
    const bare = await server.json("GET", `/api/data/entity-types/${created.body.id}?relations=false`);
    expect(Object.keys(bare.body).sort()).toEqual(Object.keys(read.body).filter((k) => k !== "task_types").sort());
    expect((await server.json("GET", `/api/data/entity-types/${UNKNOWN_ID}`)).status).toBe(404);
  });

  test("relations are included by default, left out with relations=false", async () => {
    const vehicle = (await server.json("GET", "/api/data/entity-types?name=Vehicle")).body[0];
    const read = await server.json("GET", `/api/data/entity-types/${vehicle.id}`);
    expect(read.status).toBe(200);
    expect(read.body.task_types).toHaveLength(1);
    const bare = await server.json("GET", `/api/data/entity-types/${vehicle.id}?relations=false`);
    expect(bare.body).not.toHaveProperty("task_types");
  });
});

describe("create", () => {
  test("415 for a non-JSON body, 400 for an empty or broken one, 400 'Data are empty' for null", async () => {
    const form = await server.json("POST", "/api/data/departments", { body: "name=x", headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    expect(form.status).toBe(415);
    expect(form.body.message).toContain("Content-Type was not 'application/json'");
    const empty = await server.json("POST", "/api/data/departments", { body: "", headers: { "Content-Type": "application/json" } });
    expect(empty.status).toBe(400);
    const broken = await server.json("POST", "/api/data/departments", { body: "{oops", headers: { "Content-Type": "application/json" } });
    expect(broken.status).toBe(400);
    const nothing = await server.json("POST", "/api/data/departments", { body: "null", headers: { "Content-Type": "application/json" } });
    expect(nothing.status).toBe(400);
    expect(nothing.body.message).toStartWith("Data are empty");
  });

  test("201 with relations; id and timestamps in the body are dropped; unknown relation ids are dropped", async () => {
    const modeling = (await server.json("GET", "/api/data/task-types?name=Modeling")).body[0].id;
    const chosenId = "0b0b0b0b-1111-4222-8333-444455556666";
    const created = await server.json("POST", "/api/data/entity-types", {
      body: { id: chosenId, created_at: "2001-01-01T00:00:00", name: "Creature", task_types: [modeling, UNKNOWN_ID] },
    });
    expect(created.status).toBe(201);
    expect(created.body.id).not.toBe(chosenId);
    expect(created.body.created_at).not.toBe("2001-01-01T00:00:00");
    expect(created.body.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
    expect(created.body.task_types).toEqual([modeling]);
    expect(created.body.archived).toBe(false);
  });

  test("unknown keys are a 400 with the model's message; missing required fields a 400", async () => {
    const bad = await server.json("POST", "/api/data/departments", { body: { name: "X", nope: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ message: "'nope' is an invalid keyword argument for Department" });
    const missing = await server.json("POST", "/api/data/departments", { body: { name: "No colour" } });
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ message: "A required field is missing." });
  });

  test("values of the wrong type or too long are a 400", async () => {
    const bool = await server.json("POST", "/api/data/studios", { body: { name: "S", color: "#000000", archived: "perhaps" } });
    expect(bool.status).toBe(400);
    const long = await server.json("POST", "/api/data/studios", { body: { name: "S", color: "#00000000000" } });
    expect(long.status).toBe(400);
    const duplicate = await server.json("POST", "/api/data/project-status", { body: { name: "Open", color: "#000000" } });
    expect(duplicate.status).toBe(400);
    expect(duplicate.body.message).toBe("A record with the same unique values already exists.");
  });
});

describe("update", () => {
  test("unknown keys ignored, protected keys stripped, answer without relations", async () => {
    const template = await server.json("POST", "/api/data/project-templates", { body: { name: "Series template" } });
    const id = template.body.id;
    const updated = await server.json("PUT", `/api/data/project-templates/${id}`, {
      body: { description: "Weekly", unknown_key: 3, id: UNKNOWN_ID, created_at: "2001-01-01T00:00:00" },
    });
    expect(updated.status).toBe(200);
    expect(updated.body.id).toBe(id);
    expect(updated.body.description).toBe("Weekly");
    expect(updated.body.created_at).toBe(template.body.created_at);
    expect(updated.body).not.toHaveProperty("task_types");
  });

  test("project_id is stripped on models that have one", async () => {
    const project = await server.project("Update strip");
    const other = await server.project("Update strip other");
    const filter = await server.json("POST", "/api/data/search-filters", {
      body: { list_type: "asset", name: "mine", search_query: "x", is_shared: false, person_id: server.admin.id, project_id: project.id },
    });
    expect(filter.status).toBe(201);
    const updated = await server.json("PUT", `/api/data/search-filters/${filter.body.id}`, { body: { project_id: other.id, name: "renamed" } });
    expect(updated.body.project_id).toBe(project.id);
    expect(updated.body.name).toBe("renamed");
  });

  test("dates must be ISO 8601 (Z accepted)", async () => {
    const project = await server.project("Milestones");
    const milestone = await server.json("POST", "/api/data/milestones", { body: { name: "M1", project_id: project.id, date: "2024-05-01" } });
    expect(milestone.status).toBe(201);
    const good = await server.json("PUT", `/api/data/milestones/${milestone.body.id}`, { body: { date: "2024-06-02T10:00:00Z" } });
    expect(good.status).toBe(200);
    expect(good.body.date).toBe("2024-06-02");
    const bad = await server.json("PUT", `/api/data/milestones/${milestone.body.id}`, { body: { date: "next week" } });
    expect(bad.status).toBe(400);
  });

  test("the body is checked before the id lookup", async () => {
    const nothing = await server.json("PUT", `/api/data/departments/${UNKNOWN_ID}`, { body: "null", headers: { "Content-Type": "application/json" } });
    expect(nothing.status).toBe(400);
    expect(nothing.body.message).toStartWith("Data are empty");
  });
});

describe("delete", () => {
  test("204 with an empty body; rows still referenced are a 400", async () => {
    const created = await server.json("POST", "/api/data/departments", { body: { name: "Lighting", color: "#123456" } });
    const deleted = await server.request("DELETE", `/api/data/departments/${created.body.id}`);
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe("");
    expect((await server.json("GET", `/api/data/departments/${created.body.id}`)).status).toBe(404);
    const modeling = await idByName(server.db, "department", "Modeling");
    const refused = await server.json("DELETE", `/api/data/departments/${modeling}`);
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ message: "The change conflicts with records referencing this one." });
    expect((await server.json("GET", `/api/data/departments/${modeling}`)).status).toBe(200);
  });
});

describe("events", () => {
  test("each write emits <table-with-dashes>:new|update|delete with <table>_id", async () => {
    const published: string[] = [];
    const unsubscribe = server.events.subscribe((event) => published.push(event.name));
    const created = await server.json("POST", "/api/data/file-status", { body: { name: "To review", color: "#FFFFFF" } });
    const id = created.body.id;
    await server.json("PUT", `/api/data/file-status/${id}`, { body: { color: "#EEEEEE" } });
    await server.request("DELETE", `/api/data/file-status/${id}`);
    unsubscribe();
    expect(published).toEqual(["file-status:new", "file-status:update", "file-status:delete"]);
    const stored = await storedEvents(server.db, "file-status:update");
    expect(stored.at(-1)!.data).toEqual({ file_status_id: id });
  });

  test("rows with a project_id carry it in the event", async () => {
    const project = await server.project("Evented");
    const filter = await server.json("POST", "/api/data/search-filters", {
      body: { list_type: "shot", name: "evented", search_query: "y", is_shared: false, person_id: server.admin.id, project_id: project.id },
    });
    const stored = (await storedEvents(server.db, "search-filter:new")).find((e) => e.data.search_filter_id === filter.body.id);
    expect(stored).toEqual({ name: "search-filter:new", data: { search_filter_id: filter.body.id, project_id: project.id }, project_id: project.id });
  });

  test("a failed write emits nothing", async () => {
    const before = (await storedEvents(server.db, "department:new")).length;
    await server.json("POST", "/api/data/departments", { body: { name: "Modeling", color: "#000000" } });
    expect((await storedEvents(server.db, "department:new")).length).toBe(before);
  });
});

describe("model hooks", () => {
  test("presentList shapes a whole list in one call", async () => {
    const app = new Hono<AppEnv>();
    const admin = await server.db.selectFrom("person").selectAll().where("id", "=", server.admin.id).executeTakeFirstOrThrow();
    app.use("*", async (c, next) => {
      c.set("db", server.db);
      c.set("config", server.config);
      c.set("events", server.events);
      c.set("user", admin);
      c.set("projectRoles", new Map());
      await next();
    });
    const calls: number[] = [];
    registerCrud(app, [
      {
        table: "entity_type",
        route: "entity-types",
        list: async () => {},
        presentList: async (_c, rows, dicts) => {
          calls.push(rows.length);
          return dicts.map((dict, index) => ({ ...dict, rank: index, same: rows[index]!.id === dict.id }));
        },
      },
    ]);
    const response = await app.request("/data/entity-types?relations=true&name=Character");
    const body = (await response.json()) as any[];
    expect(calls).toEqual([1]);
    expect(body).toEqual([expect.objectContaining({ name: "Character", rank: 0, same: true, task_types: expect.any(Array) })]);
  });
});
