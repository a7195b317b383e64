/** Crud rules of the studio reference models (models.md §4.2), through HTTP. */
import { describe, expect, test, beforeAll } from "bun:test";
import { makeServer, type Person, type TestServer } from "./helpers";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { storedFilePath } from "../src/services/attachments";
import { idByName, insertRow, storedEvents } from "./crud-fixtures";

let server: TestServer;
let artist: Person;
let manager: Person;
let vendor: Person;
beforeAll(async () => {
  server = await makeServer();
  artist = await server.person("user");
  manager = await server.person("manager");
  vendor = await server.person("vendor");
});

describe("reference tables any logged-in user reads", () => {
  const routes: [string, Record<string, unknown>][] = [
    ["departments", { name: "Grooming", color: "#112233" }],
    ["studios", { name: "Lyon", color: "#112233" }],
    ["project-status", { name: "Paused", color: "#112233" }],
    ["task-types", { name: "Grooming" }],
    ["task-status", { name: "On hold", short_name: "hold", color: "#112233" }],
    ["entity-types", { name: "Vehicle" }],
    ["output-types", { name: "Cache", short_name: "cch" }],
    ["file-status", { name: "Approved", color: "#112233" }],
    ["softwares", { name: "Blender", short_name: "bl", file_extension: "blend" }],
    ["preview-background-files", { name: "Studio HDRI" }],
  ];
  for (const [route, body] of routes) {
    test(`${route}: read by a vendor, written by admins only`, async () => {
      const created = await server.json("POST", `/api/data/${route}`, { body });
      expect(created.status).toBe(201);
      const list = await server.json("GET", `/api/data/${route}`, { token: vendor.token });
      expect(list.status).toBe(200);
      expect(list.body.map((row: any) => row.id)).toContain(created.body.id);
      expect((await server.json("GET", `/api/data/${route}/${created.body.id}`, { token: vendor.token })).status).toBe(200);
      expect((await server.json("POST", `/api/data/${route}`, { token: manager.token, body })).status).toBe(403);
      expect((await server.json("PUT", `/api/data/${route}/${created.body.id}`, { token: manager.token, body: { name: "x" } })).status).toBe(403);
      expect((await server.json("DELETE", `/api/data/${route}/${created.body.id}`, { token: manager.token })).status).toBe(403);
    });
  }
});

describe("admin-only models", () => {
  for (const route of ["hardware-items", "search-filters", "search-filter-groups", "plugins", "events", "salary-scales"]) {
    test(`${route}: a studio manager gets 403`, async () => {
      expect((await server.json("GET", `/api/data/${route}`, { token: manager.token })).status).toBe(403);
      expect((await server.json("GET", `/api/data/${route}`)).status).toBe(200);
    });
  }

  test("hardware items and plugins go through the generic engine", async () => {
    const item = await server.json("POST", "/api/data/hardware-items", { body: { name: "Wacom", short_name: "wac", monthly_cost: 20 } });
    expect(item.status).toBe(201);
    expect(item.body.monthly_cost).toBe(20);
    const plugin = await server.json("POST", "/api/data/plugins", {
      body: { plugin_id: "stats", name: "Stats", version: "1.0", maintainer_name: "Me", license: "MIT" },
    });
    expect(plugin.status).toBe(201);
    expect((await server.json("GET", `/api/data/plugins/${plugin.body.id}`, { token: manager.token })).status).toBe(403);
  });
});

describe("task types", () => {
  test("a name already used (any for_entity) is a 400 on POST and PUT", async () => {
    const clash = await server.json("POST", "/api/data/task-types", { body: { name: "Modeling", for_entity: "Shot" } });
    expect(clash.status).toBe(400);
    expect(clash.body.message).toBe("A task type with similar name already exists");
    const created = await server.json("POST", "/api/data/task-types", { body: { name: "Previz", for_entity: "Shot" } });
    expect(created.status).toBe(201);
    const renamed = await server.json("PUT", `/api/data/task-types/${created.body.id}`, { body: { name: "Layout" } });
    expect(renamed.status).toBe(400);
    const same = await server.json("PUT", `/api/data/task-types/${created.body.id}`, { body: { name: "Previz", color: "#000000" } });
    expect(same.status).toBe(200);
    expect(same.body.color).toBe("#000000");
  });

  test("delete is refused while a project or a schedule uses it, unless force=true", async () => {
    const created = await server.json("POST", "/api/data/task-types", { body: { name: "Matte painting", for_entity: "Shot" } });
    const id = created.body.id;
    const project = await server.project("Task type usage");
    await insertRow(server.db, "project_task_type_link", { project_id: project.id, task_type_id: id, priority: 1 });
    await insertRow(server.db, "schedule_item", { project_id: project.id, task_type_id: id });
    const refused = await server.json("DELETE", `/api/data/task-types/${id}`);
    expect(refused.status).toBe(400);
    expect((await server.json("GET", `/api/data/task-types/${id}`)).status).toBe(200);
    const forced = await server.request("DELETE", `/api/data/task-types/${id}?force=true`);
    expect(forced.status).toBe(204);
    expect(await server.db.selectFrom("project_task_type_link").select("id").where("task_type_id", "=", id).execute()).toEqual([]);
    expect(await server.db.selectFrom("schedule_item").select("id").where("task_type_id", "=", id).execute()).toEqual([]);
    const events = await storedEvents(server.db, "task-type:delete");
    expect(events.at(-1)!.data).toEqual({ task_type_id: id });
  });
});

describe("task statuses", () => {
  test("a new default status unflags the previous default of its family only", async () => {
    const created = await server.json("POST", "/api/data/task-status", { body: { name: "Backlog", short_name: "backlog", color: "#000000", is_default: true } });
    expect(created.status).toBe(201);
    const defaults = (await server.json("GET", "/api/data/task-status?is_default=true")).body.map((s: any) => s.short_name).sort();
    expect(defaults).toEqual(["backlog", "neutral"]);
    const todo = await idByName(server.db, "task_status", "Todo");
    await server.json("PUT", `/api/data/task-status/${todo}`, { body: { is_default: true } });
    const after = (await server.json("GET", "/api/data/task-status?is_default=true")).body.map((s: any) => s.short_name).sort();
    expect(after).toEqual(["neutral", "todo"]);
  });

  test("short names are unique and at most 10 characters", async () => {
    const duplicate = await server.json("POST", "/api/data/task-status", { body: { name: "Another wip", short_name: "wip", color: "#000000" } });
    expect(duplicate.status).toBe(400);
    expect(duplicate.body.message).toBe("A record with the same unique values already exists.");
    const long = await server.json("POST", "/api/data/task-status", { body: { name: "Long", short_name: "much-too-long", color: "#000000" } });
    expect(long.status).toBe(400);
  });
});

describe("entity (asset) types", () => {
  test("a case-insensitive name clash is a 400", async () => {
    const clash = await server.json("POST", "/api/data/entity-types", { body: { name: "character" } });
    expect(clash.status).toBe(400);
    expect(clash.body.message).toBe("Entity type with this name already exists");
    const props = await idByName(server.db, "entity_type", "Prop");
    expect((await server.json("PUT", `/api/data/entity-types/${props}`, { body: { name: "CHARACTER" } })).status).toBe(400);
  });

  test("events are asset-type:* with asset_type_id; the PUT answer carries task_types", async () => {
    const published: { name: string; data: Record<string, unknown> }[] = [];
    const unsubscribe = server.events.subscribe((event) => published.push({ name: event.name, data: event.data }));
    const modeling = (await server.json("GET", "/api/data/task-types?name=Modeling")).body[0].id;
    const created = await server.json("POST", "/api/data/entity-types", { body: { name: "Set dressing" } });
    const updated = await server.json("PUT", `/api/data/entity-types/${created.body.id}`, { body: { task_types: [modeling] } });
    expect(updated.status).toBe(200);
    expect(updated.body.task_types).toEqual([modeling]);
    await server.request("DELETE", `/api/data/entity-types/${created.body.id}`);
    unsubscribe();
    const id = created.body.id;
    expect(published).toEqual([
      { name: "asset-type:new", data: { asset_type_id: id } },
      { name: "asset-type:update", data: { asset_type_id: id } },
      { name: "asset-type:delete", data: { asset_type_id: id } },
    ]);
  });
});

describe("custom actions and status automations", () => {
  test("custom actions: listed for non-vendors, read by admins, name required", async () => {
    const action = await server.json("POST", "/api/data/custom-actions", { body: { name: "Open in RV", url: "http://localhost/rv" } });
    expect(action.status).toBe(201);
    expect(action.body.entity_type).toBe("all");
    expect((await server.json("GET", "/api/data/custom-actions", { token: artist.token })).status).toBe(200);
    expect((await server.json("GET", "/api/data/custom-actions", { token: vendor.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/custom-actions/${action.body.id}`, { token: artist.token })).status).toBe(403);
    expect((await server.json("POST", "/api/data/custom-actions", { body: { url: "http://localhost" } })).status).toBe(400);
    expect((await server.json("PUT", `/api/data/custom-actions/${action.body.id}`, { body: { name: null } })).status).toBe(400);
  });

  test("status automations: vendors cannot list; delete refused while a project uses one", async () => {
    const modeling = (await server.json("GET", "/api/data/task-types?name=Modeling")).body[0].id;
    const done = await idByName(server.db, "task_status", "Done");
    const automation = await server.json("POST", "/api/data/status-automations", {
      body: { in_task_type_id: modeling, in_task_status_id: done, out_field_type: "ready_for", out_task_type_id: modeling },
    });
    expect(automation.status).toBe(201);
    expect((await server.json("GET", "/api/data/status-automations", { token: artist.token })).status).toBe(200);
    expect((await server.json("GET", "/api/data/status-automations", { token: vendor.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/status-automations/${automation.body.id}`, { token: artist.token })).status).toBe(403);
    const badEnum = await server.json("POST", "/api/data/status-automations", { body: { out_field_type: "anything" } });
    expect(badEnum.status).toBe(400);
    const project = await server.project("Automated");
    await server.db.insertInto("project_status_automation_link").values({ project_id: project.id, status_automation_id: automation.body.id } as never).execute();
    const refused = await server.json("DELETE", `/api/data/status-automations/${automation.body.id}`);
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ message: "This automation is used in a project." });
    await server.db.deleteFrom("project_status_automation_link").execute();
    expect((await server.request("DELETE", `/api/data/status-automations/${automation.body.id}`)).status).toBe(204);
  });
});

describe("preview background files", () => {
  test("names are unique; is_default resets the flag on the others", async () => {
    const first = await server.json("POST", "/api/data/preview-background-files", { body: { name: "Sky", is_default: true } });
    const second = await server.json("POST", "/api/data/preview-background-files", { body: { name: "Forest", is_default: true } });
    expect(second.status).toBe(201);
    expect((await server.json("GET", `/api/data/preview-background-files/${first.body.id}`)).body.is_default).toBe(false);
    const clash = await server.json("POST", "/api/data/preview-background-files", { body: { name: "Sky" } });
    expect(clash.status).toBe(400);
    expect(clash.body.message).toBe("A preview background file with similar name already exists");
    expect((await server.json("PUT", `/api/data/preview-background-files/${second.body.id}`, { body: { name: "Sky" } })).status).toBe(400);
    await server.json("PUT", `/api/data/preview-background-files/${first.body.id}`, { body: { is_default: true } });
    expect((await server.json("GET", `/api/data/preview-background-files/${second.body.id}`)).body.is_default).toBe(false);
  });
});

describe("preview background file deletion", () => {
  async function storedBackground(target: TestServer, name: string): Promise<{ id: string; paths: string[] }> {
    const created = await target.json("POST", "/api/data/preview-background-files", { body: { name, extension: "hdr" } });
    const root = target.config.previewFolder;
    const paths = [storedFilePath(root, "pictures", "preview-backgrounds", created.body.id), storedFilePath(root, "pictures", "thumbnails", created.body.id)];
    for (const path of paths) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, "image");
    }
    return { id: created.body.id, paths };
  }

  test("stored images stay unless REMOVE_FILES is on; a project using the file blocks the delete", async () => {
    const kept = await storedBackground(server, "Kept");
    const project = await server.project("Background user");
    await server.db.insertInto("project_preview_background_file_link").values({ project_id: project.id, preview_background_file_id: kept.id } as never).execute();
    expect((await server.json("DELETE", `/api/data/preview-background-files/${kept.id}`)).status).toBe(400);
    await server.db.deleteFrom("project_preview_background_file_link").execute();
    expect((await server.request("DELETE", `/api/data/preview-background-files/${kept.id}`)).status).toBe(204);
    expect(kept.paths.map(existsSync)).toEqual([true, true]);
    const removing = await makeServer({ removeFiles: true });
    const removed = await storedBackground(removing, "Removed");
    expect((await removing.request("DELETE", `/api/data/preview-background-files/${removed.id}`)).status).toBe(204);
    expect(removed.paths.map(existsSync)).toEqual([false, false]);
  });
});

describe("salary scales", () => {
  test("the list creates every missing department x position x seniority row", async () => {
    const departments = await server.db.selectFrom("department").select("id").execute();
    const { status, body } = await server.json("GET", "/api/data/salary-scales");
    expect(status).toBe(200);
    expect(body).toHaveLength(departments.length * 9);
    expect(body[0]).toMatchObject({ type: "SalaryScale", salary: 0 });
    expect((await server.json("GET", "/api/data/salary-scales")).body).toHaveLength(departments.length * 9);
  });

  test("they cannot be created; PUT ignores department_id", async () => {
    const refused = await server.json("POST", "/api/data/salary-scales", { body: { position: "lead" } });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toBe("Salary scales cannot be created");
    expect((await server.json("POST", "/api/data/salary-scales", { token: manager.token, body: {} })).status).toBe(403);
    const scale = (await server.json("GET", "/api/data/salary-scales")).body[0];
    const other = (await server.db.selectFrom("department").select("id").where("id", "!=", scale.department_id).executeTakeFirstOrThrow()).id;
    const updated = await server.json("PUT", `/api/data/salary-scales/${scale.id}`, { body: { salary: 320, department_id: other } });
    expect(updated.body).toMatchObject({ salary: 320, department_id: scale.department_id });
  });
});

describe("project templates", () => {
  test("studio managers read, admins write", async () => {
    const created = await server.json("POST", "/api/data/project-templates", { body: { name: "Feature", fps: "24", team: ["x"], nb_episodes: 3 } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "Feature", fps: "24", type: "ProjectTemplate", production_style: "2d3d" });
    expect(created.body).not.toHaveProperty("task_types");
    expect((await server.json("GET", "/api/data/project-templates", { token: manager.token })).status).toBe(200);
    expect((await server.json("GET", `/api/data/project-templates/${created.body.id}`, { token: manager.token })).status).toBe(200);
    expect((await server.json("GET", "/api/data/project-templates", { token: artist.token })).status).toBe(403);
    expect((await server.json("POST", "/api/data/project-templates", { token: manager.token, body: { name: "Nope" } })).status).toBe(403);
    expect((await server.json("PUT", `/api/data/project-templates/${created.body.id}`, { token: manager.token, body: { fps: "30" } })).status).toBe(403);
  });

  test("name required and unique; PUT ignores the workflow lists", async () => {
    const missing = await server.json("POST", "/api/data/project-templates", { body: { fps: "24" } });
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ message: "name is required" });
    const duplicate = await server.json("POST", "/api/data/project-templates", { body: { name: "Feature" } });
    expect(duplicate.status).toBe(400);
    expect(duplicate.body.message).toBe("A project template with this name already exists");
    const short = await server.json("POST", "/api/data/project-templates", { body: { name: "Short" } });
    const modeling = (await server.json("GET", "/api/data/task-types?name=Modeling")).body[0].id;
    const updated = await server.json("PUT", `/api/data/project-templates/${short.body.id}`, { body: { task_types: [modeling], ratio: "2.39" } });
    expect(updated.status).toBe(200);
    expect(updated.body.ratio).toBe("2.39");
    expect((await server.json("GET", `/api/data/project-templates/${short.body.id}`)).body.task_types).toEqual([]);
    expect((await server.json("PUT", `/api/data/project-templates/${short.body.id}`, { body: { name: "Feature" } })).status).toBe(400);
  });
});
