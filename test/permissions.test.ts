/**
 * The test vectors of permissions.md §7 that concern the crud routes and authentication.
 * Vectors whose route or per-model rules belong to another area are skipped until that area
 * serves them (`servedRoute`) or writes the rules (`ruled`): they then run by themselves.
 */
import { describe, expect, test, beforeAll } from "bun:test";
import { makeServer, type Person, type TestServer } from "./helpers";
import { createApp, listRoutes } from "../src/app";
import { testConfig } from "../src/config";
import { openDatabase } from "../src/db/database";
import { modelRules } from "../src/crud/rules/index";
import type { Method } from "../src/crud/engine";
import { signToken, ACCESS_TOKEN_SECONDS } from "../src/lib/jwt";
import { kvSet } from "../src/lib/kv";
import { asset, assign, bot, closedProject, insertRow, task } from "./crud-fixtures";

let server: TestServer;
beforeAll(async () => {
  server = await makeServer();
});

// Skip conditions are evaluated when tests are collected: the routes of a throwaway app.
const SERVED = new Set(listRoutes(createApp({ db: openDatabase("sqlite://:memory:"), config: testConfig() })));

/** Is `METHOD /api/path` served (path with `{param}` placeholders)? */
function servedRoute(line: string): boolean {
  return SERVED.has(line);
}
/** Has the crud model a rule for this operation (else it still has the admin-only default)? */
function ruled(table: keyof typeof modelRules, hook: Method): boolean {
  return Boolean(modelRules[table]?.[hook]);
}

const NOT_MEMBER_LIST: unknown[] = [];

describe("projects (vectors 1-4, 12)", () => {
  let artist: Person;
  let project: any;
  beforeAll(async () => {
    artist = await server.person("user");
    project = await server.project("Cosmos Landromat");
  });

  test("1: admin creates a project → 201", async () => {
    const { status, body } = await server.json("POST", "/api/data/projects", { body: { name: "Cosmos Landromat 2" } });
    expect(status).toBe(201);
    expect(body.name).toBe("Cosmos Landromat 2");
  });

  test("2: admin updates a project they are not a member of → 200", async () => {
    const { status, body } = await server.json("PUT", `/api/data/projects/${project.id}`, { body: { name: "Cosmos Landromat 3" } });
    expect(status).toBe(200);
    expect(body.name).toBe("Cosmos Landromat 3");
  });

  test("3: artist creates a project → 403", async () => {
    const { status, body } = await server.json("POST", "/api/data/projects", { token: artist.token, body: { name: "Nope" } });
    expect(status).toBe(403);
    expect(body.error).toBe(true);
  });

  test("4: artist updates a project they are not a member of → 403", async () => {
    expect((await server.json("PUT", `/api/data/projects/${project.id}`, { token: artist.token, body: { name: "Nope" } })).status).toBe(403);
  });

  test.skipIf(!ruled("project", "list"))("12: artist lists projects: [] when not a member, their open project when a member", async () => {
    const member = await server.person("user");
    for (const path of ["/api/data/projects", "/api/data/projects/all", "/api/data/projects/open"]) {
      if (path !== "/api/data/projects" && !servedRoute(`GET ${path}`)) continue;
      expect((await server.json("GET", path, { token: member.token })).body).toEqual(NOT_MEMBER_LIST);
    }
    const open = await server.project("Open for artist", [member]);
    await closedProject(server, "Closed for artist", []);
    for (const path of ["/api/data/projects", "/api/data/projects/all", "/api/data/projects/open"]) {
      if (path !== "/api/data/projects" && !servedRoute(`GET ${path}`)) continue;
      const { status, body } = await server.json("GET", path, { token: member.token });
      expect(status).toBe(200);
      expect(body.map((p: any) => p.id)).toEqual([open.id]);
    }
  });
});

describe("persons (vectors 8-11, 57)", () => {
  let manager: Person;
  let artist: Person;
  beforeAll(async () => {
    manager = await server.person("manager");
    artist = await server.person("user");
  });

  test("8: manager creates a person → 403; admin → 201", async () => {
    const body = { first_name: "John", last_name: "Doe", email: "john.doe@example.com" };
    expect((await server.json("POST", "/api/data/persons", { token: manager.token, body })).status).toBe(403);
    const created = await server.json("POST", "/api/data/persons", { body });
    expect(created.status).toBe(201);
    expect(created.body.email).toBe("john.doe@example.com");
    expect(created.body).not.toHaveProperty("password");
  });

  test("9: manager changes the admin's email → 403", async () => {
    const { status } = await server.json("PUT", `/api/data/persons/${server.admin.id}`, { token: manager.token, body: { email: "stolen@example.com" } });
    expect(status).toBe(403);
    const admin = await server.db.selectFrom("person").select("email").where("id", "=", server.admin.id).executeTakeFirstOrThrow();
    expect(admin.email).toBe("admin@example.com");
  });

  test("10: manager makes an artist admin → 403", async () => {
    expect((await server.json("PUT", `/api/data/persons/${artist.id}`, { token: manager.token, body: { role: "admin" } })).status).toBe(403);
    const row = await server.db.selectFrom("person").select("role").where("id", "=", artist.id).executeTakeFirstOrThrow();
    expect(row.role).toBe("user");
  });

  test.skipIf(!ruled("person", "read"))("10: manager reads that artist → 200", async () => {
    const { status, body } = await server.json("GET", `/api/data/persons/${artist.id}`, { token: manager.token });
    expect(status).toBe(200);
    expect(body.id).toBe(artist.id);
  });

  test("11: manager deletes the admin → 403", async () => {
    expect((await server.json("DELETE", `/api/data/persons/${server.admin.id}`, { token: manager.token })).status).toBe(403);
    expect(await server.db.selectFrom("person").select("id").where("id", "=", server.admin.id).executeTakeFirst()).toBeDefined();
  });

  test.skipIf(!ruled("person", "list"))("57: artist filters persons on daily_salary → 400", async () => {
    const { status, body } = await server.json("GET", "/api/data/persons?daily_salary=320", { token: artist.token });
    expect(status).toBe(400);
    expect(body.message).toBe("Filtering on daily_salary is not allowed.");
    expect((await server.json("GET", "/api/data/persons?first_name=admin", { token: artist.token })).status).toBe(200);
  });
});

describe("tasks (vectors 17, 47, 60)", () => {
  let project: any;
  let tasks: string[];
  let vendorOnProject: Person;
  beforeAll(async () => {
    vendorOnProject = await server.person("user");
    project = await server.project("Task vectors");
    await server.addToTeam(project.id, vendorOnProject, "vendor");
    const entity = await asset(server.db, project.id, "Task vectors asset");
    tasks = [await task(server.db, project.id, entity, "main"), await task(server.db, project.id, entity, "second")];
    const other = await asset(server.db, project.id, "Task vectors asset 2");
    tasks.push(await task(server.db, project.id, other, "main"));
  });

  test("17: artist with link role vendor reads an unassigned task → 403", async () => {
    const { status } = await server.json("GET", `/api/data/tasks/${tasks[0]}`, { token: vendorOnProject.token });
    expect(status).toBe(403);
  });

  test.skipIf(!ruled("task", "list"))("47: task lists: artist [] / all when member; vendor [] / assigned only", async () => {
    const artist = await server.person("user");
    expect((await server.json("GET", "/api/data/tasks", { token: artist.token })).body).toEqual([]);
    await server.addToTeam(project.id, artist);
    expect((await server.json("GET", "/api/data/tasks", { token: artist.token })).body.map((t: any) => t.id).sort()).toEqual([...tasks].sort());
    const vendor = await server.person("vendor");
    expect((await server.json("GET", "/api/data/tasks", { token: vendor.token })).body).toEqual([]);
    await server.addToTeam(project.id, vendor);
    expect((await server.json("GET", "/api/data/tasks", { token: vendor.token })).body).toEqual([]);
    await assign(server.db, tasks[0]!, vendor.id);
    expect((await server.json("GET", "/api/data/tasks", { token: vendor.token })).body.map((t: any) => t.id)).toEqual([tasks[0]]);
  });

  test.skipIf(!ruled("task", "create"))("60: POST /data/tasks needs manager access to the project (spec decision over Zou's gap)", async () => {
    const artist = await server.person("user");
    const manager = await server.person("manager");
    await server.addToTeam(project.id, artist);
    await server.addToTeam(project.id, manager);
    const entity = await asset(server.db, project.id, "Task vectors asset 3");
    const taskType = (await server.json("GET", "/api/data/task-types?name=Modeling")).body[0].id;
    const body = { name: "layout", project_id: project.id, entity_id: entity, task_type_id: taskType };
    expect((await server.json("POST", "/api/data/tasks", { token: artist.token, body })).status).toBe(403);
    expect((await server.json("POST", "/api/data/tasks", { token: manager.token, body })).status).toBe(201);
  });
});

describe("admin-only crud models (vectors 18, 25)", () => {
  let manager: Person;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    manager = await server.person("manager");
    const project = await server.project("Admin-only rows");
    const entity = await asset(server.db, project.id, "Admin-only asset");
    const taskId = await task(server.db, project.id, entity);
    const version = await insertRow(server.db, "production_schedule_version", { name: "v1", project_id: project.id });
    ids.events = await insertRow(server.db, "api_event", { name: "project:update", project_id: project.id, data: "{}" });
    ids.chats = await insertRow(server.db, "chat", { object_id: entity, object_type: "entity" });
    ids.news = await insertRow(server.db, "news", { author_id: server.admin.id, task_id: taskId, change: false });
    ids.notifications = await insertRow(server.db, "notification", { person_id: manager.id, author_id: server.admin.id, type: "comment", task_id: taskId });
    ids.plugins = await insertRow(server.db, "plugin", { plugin_id: "p", name: "P", version: "1", maintainer_name: "M", license: "MIT" });
    ids["production-schedule-version-task-links"] = await insertRow(server.db, "production_schedule_version_task_link", { production_schedule_version_id: version, task_id: taskId });
    ids.subscriptions = await insertRow(server.db, "subscription", { person_id: manager.id, task_id: taskId });
  });

  test("18: manager reads the event log → 403 (list and one)", async () => {
    expect((await server.json("GET", "/api/data/events", { token: manager.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/events/${ids.events}`, { token: manager.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/events/${ids.events}`)).status).toBe(200);
  });

  for (const route of ["chats", "news", "notifications", "plugins", "production-schedule-version-task-links", "subscriptions"]) {
    test(`25: manager reads /data/${route} and one row → 403`, async () => {
      expect((await server.json("GET", `/api/data/${route}`, { token: manager.token })).status).toBe(403);
      const one = await server.json("GET", `/api/data/${route}/${ids[route]}`, { token: manager.token });
      expect(one.status).toBe(403);
      expect(one.body.message).toStartWith("You don't have the permission");
      expect((await server.json("GET", `/api/data/${route}/${ids[route]}`)).status).toBe(200);
    });
  }
});

describe("comments, playlists, previews (vectors 26, 27, 38, 39, 45, 46)", () => {
  let client: Person;
  let studioMember: Person;
  let project: any;
  let other: any;
  let taskId: string;
  let otherTaskId: string;
  let internal: string;
  let forClient: string;
  beforeAll(async () => {
    client = await server.person("client");
    studioMember = await server.person("user");
    project = await server.project("Review vectors", [client, studioMember]);
    other = await server.project("Review vectors P2");
    taskId = await task(server.db, project.id, await asset(server.db, project.id, "Review asset"));
    otherTaskId = await task(server.db, other.id, await asset(server.db, other.id, "Review asset P2"));
    const todo = (await server.db.selectFrom("task_status").select("id").where("short_name", "=", "todo").executeTakeFirstOrThrow()).id;
    const comment = { object_id: taskId, object_type: "Task", person_id: studioMember.id, task_status_id: todo, text: "hello" };
    internal = await insertRow(server.db, "comment", { ...comment, for_client: false });
    forClient = await insertRow(server.db, "comment", { ...comment, for_client: true });
  });

  test("26: client reads an internal comment → 403", async () => {
    expect((await server.json("GET", `/api/data/comments/${internal}`, { token: client.token })).status).toBe(403);
  });

  test.skipIf(!ruled("comment", "read"))("27: client reads a for_client comment by a studio member → 200, author hidden", async () => {
    const { status, body } = await server.json("GET", `/api/data/comments/${forClient}`, { token: client.token });
    expect(status).toBe(200);
    expect(body.person).toBeNull();
    expect(body.editor_id).toBeNull();
  });

  test("38: vendor member lists playlists → 403", async () => {
    const vendor = await server.person("vendor");
    await server.addToTeam(project.id, vendor);
    expect((await server.json("GET", "/api/data/playlists", { token: vendor.token })).status).toBe(403);
  });

  test("39: playlists: [] for a non-member, the project's for members, for_client ones for clients", async () => {
    const internalPlaylist = await insertRow(server.db, "playlist", { name: "internal", project_id: project.id, for_client: false });
    const clientPlaylist = await insertRow(server.db, "playlist", { name: "client", project_id: project.id, for_client: true });
    await insertRow(server.db, "playlist", { name: "elsewhere", project_id: other.id });
    const outsider = await server.person("user");
    expect((await server.json("GET", "/api/data/playlists", { token: outsider.token })).body).toEqual([]);
    const mine = (await server.json("GET", "/api/data/playlists", { token: studioMember.token })).body.map((p: any) => p.id).sort();
    expect(mine).toEqual([internalPlaylist, clientPlaylist].sort());
    const clients = (await server.json("GET", "/api/data/playlists", { token: client.token })).body.map((p: any) => p.id);
    expect(clients).toEqual([clientPlaylist]);
  });

  test("45: artist member of P reads a preview of P2 → 403", async () => {
    const preview = await insertRow(server.db, "preview_file", { name: "v1", task_id: otherTaskId, revision: 1 });
    expect((await server.json("GET", `/api/data/preview-files/${preview}`, { token: studioMember.token })).status).toBe(403);
  });

  test("46: vendor member reads a preview of an unassigned task → 403", async () => {
    const vendor = await server.person("vendor");
    await server.addToTeam(project.id, vendor);
    const preview = await insertRow(server.db, "preview_file", { name: "v1", task_id: taskId, revision: 1 });
    expect((await server.json("GET", `/api/data/preview-files/${preview}`, { token: vendor.token })).status).toBe(403);
  });

  test.skipIf(!ruled("preview_file", "list"))("46: vendor list holds only previews of assigned tasks", async () => {
    const vendor = await server.person("vendor");
    await server.addToTeam(project.id, vendor);
    const secondTask = await task(server.db, project.id, await asset(server.db, project.id, "Review asset 2"));
    await assign(server.db, secondTask, vendor.id);
    const assigned = await insertRow(server.db, "preview_file", { name: "v1", task_id: secondTask, revision: 1 });
    await insertRow(server.db, "preview_file", { name: "v2", task_id: taskId, revision: 2 });
    const { body } = await server.json("GET", "/api/data/preview-files", { token: vendor.token });
    expect(body.map((p: any) => p.id)).toEqual([assigned]);
  });
});

describe("organisations (vector 56)", () => {
  test.skipIf(!ruled("organisation", "list"))("56: artist: chat tokens absent, filtering on them → 400", async () => {
    await insertRow(server.db, "organisation", { name: "Kitsu", hours_by_day: 8, chat_token_slack: "secret" });
    const artist = await server.person("user");
    const { status, body } = await server.json("GET", "/api/data/organisations", { token: artist.token });
    expect(status).toBe(200);
    for (const organisation of body) {
      expect(organisation).not.toHaveProperty("chat_token_slack");
      expect(organisation).not.toHaveProperty("chat_webhook_mattermost");
      expect(organisation).not.toHaveProperty("chat_token_discord");
    }
    expect((await server.json("GET", "/api/data/organisations?chat_token_slack=x", { token: artist.token })).status).toBe(400);
  });
});

describe("authentication (vectors 58, 59)", () => {
  test("58: a token requiring 2FA setup gets 403 outside the auth routes", async () => {
    const person = await server.person("user");
    const { token } = await signToken(server.config.secretKey, person.id, {
      type: "access",
      identityType: "person",
      lifetime: ACCESS_TOKEN_SECONDS,
      extra: { requires_2fa_setup: true },
    });
    const { status, body } = await server.json("GET", "/api/data/persons", { token });
    expect(status).toBe(403);
    expect(body.two_factor_authentication_required).toBe(true);
    expect(body.error).toBe(true);
  });

  test.skipIf(!servedRoute("GET /api/data/user/tasks"))("59: a bot gets 403 on /data/user/tasks", async () => {
    const robot = await bot(server);
    const { status } = await server.json("GET", "/api/data/user/tasks", { token: robot.token });
    expect(status).toBe(403);
  });

  test("bots authenticate on crud routes with their API token; a replaced jti revokes it", async () => {
    const robot = await bot(server);
    const { status } = await server.json("GET", "/api/data/departments", { token: robot.token });
    expect(status).toBe(200);
    await server.db.updateTable("person").set({ jti: crypto.randomUUID() }).where("id", "=", robot.id).execute();
    const revoked = await server.json("GET", "/api/data/departments", { token: robot.token });
    expect(revoked.status).toBe(401);
    expect(revoked.body).toEqual({ msg: "Token has been revoked" });
  });

  test("a token accepted a moment ago is refused once revoked (the session cache follows revocations)", async () => {
    const person = await server.person("user");
    expect((await server.json("GET", "/api/data/departments", { token: person.token })).status).toBe(200);
    const jti = JSON.parse(Buffer.from(person.token.split(".")[1]!, "base64url").toString()).jti;
    await kvSet(server.db, jti, "true", 60);
    const revoked = await server.json("GET", "/api/data/departments", { token: person.token });
    expect(revoked.status).toBe(401);
    expect(revoked.body).toEqual({ msg: "Token has been revoked" });
  });

  test("a deactivated person or a demoted admin is seen at the next request", async () => {
    const person = await server.person("user");
    expect((await server.json("GET", "/api/data/departments", { token: person.token })).status).toBe(200);
    await server.db.updateTable("person").set({ active: false }).where("id", "=", person.id).execute();
    expect((await server.json("GET", "/api/data/departments", { token: person.token })).status).toBe(401);
    const admin = await server.person("admin");
    expect((await server.json("GET", "/api/data/hardware-items", { token: admin.token })).status).toBe(200);
    expect((await server.json("PUT", `/api/data/persons/${admin.id}`, { body: { role: "user" } })).status).toBe(200);
    expect((await server.json("GET", "/api/data/hardware-items", { token: admin.token })).status).toBe(403);
  });

  test("an inactive person's token is refused with 401", async () => {
    const person = await server.person("user", { active: false });
    const { status, body } = await server.json("GET", "/api/data/departments", { token: person.token });
    expect(status).toBe(401);
    expect(body.error).toBe(true);
  });

  test("a malformed token is a 422, a refresh token on a normal route a 422", async () => {
    expect((await server.json("GET", "/api/data/departments", { token: "abc" })).status).toBe(422);
    const { token } = await signToken(server.config.secretKey, server.admin.id, { type: "refresh", identityType: "person", lifetime: 60 });
    const refresh = await server.json("GET", "/api/data/departments", { token });
    expect(refresh.status).toBe(422);
    expect(refresh.body).toEqual({ msg: "Only non-refresh tokens are allowed" });
  });
});

