/**
 * Acceptance tests of the routes users asked for by name (routes.tsv, in_seed=yes), called the way
 * gazu and Kitsu call them: under `/api`, with `Authorization: Bearer`, on a studio built through
 * the HTTP API (test/seed-fixtures.ts). Each route: status, body shape and values, and its main
 * permission outcome. Skipped here (areas not served yet): export, source (imports), previews.
 * The last block is a gazu-style scenario from login to reading comments back.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type TestServer } from "./helpers";
import {
  buildStudio,
  DATETIME,
  expectNotFound,
  expectStatus,
  FORBIDDEN_BODY,
  hire,
  login,
  recordEvents,
  UNKNOWN_ID,
  UUID,
  type Account,
  type Studio,
} from "./seed-fixtures";

let server: TestServer;
let s: Studio;
let events: ReturnType<typeof recordEvents>;

const get = (path: string, who: Account, headers?: Record<string, string>) => server.json("GET", path, { token: who.token, headers });
const post = (path: string, who: Account, body: unknown = {}) => server.json("POST", path, { token: who.token, body });
const put = (path: string, who: Account, body: unknown = {}) => server.json("PUT", path, { token: who.token, body });
const del = (path: string, who: Account) => server.json("DELETE", path, { token: who.token });

function expectForbidden(answer: { status: number; body: any }): void {
  expect(answer.status).toBe(403);
  expect(answer.body).toEqual(FORBIDDEN_BODY);
}

const MINIMAL_PERSON_KEYS = ["active", "departments", "desktop_login", "first_name", "full_name", "has_avatar", "id", "is_bot", "last_name", "role", "studio_id", "type"];
const SECRET_PERSON_KEYS = ["password", "totp_secret", "email_otp_secret", "otp_recovery_codes", "fido_credentials", "jti", "login_failed_attemps", "last_login_failed"];

beforeAll(async () => {
  server = await makeServer();
  s = await buildStudio(server);
  events = recordEvents(server);
});

// ---------------------------------------------------------------------------------------------
// crud area
// ---------------------------------------------------------------------------------------------

describe("GET /api/data/persons/{instance_id}", () => {
  test("a studio manager gets the safe form with the departments; no secret is ever sent", async () => {
    const answer = await get(`/api/data/persons/${s.artist.id}`, s.manager);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      id: s.artist.id, type: "Person", first_name: "Andy", last_name: "Anim", full_name: "Andy Anim", email: s.artist.email,
      role: "user", active: true, is_bot: false, departments: [s.departments.Animation.id],
    });
    expect(answer.body.created_at).toMatch(DATETIME);
    for (const key of SECRET_PERSON_KEYS) expect(answer.body).not.toHaveProperty(key);
    const asAdmin = await get(`/api/data/persons/${s.artist.id}`, s.admin);
    expect(asAdmin.body.email).toBe(s.artist.email);
    for (const key of SECRET_PERSON_KEYS) expect(asAdmin.body).not.toHaveProperty(key);
  });

  test("an artist gets the minimal form (no e-mail)", async () => {
    const answer = await get(`/api/data/persons/${s.supervisor.id}`, s.artist);
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body).sort()).toEqual(MINIMAL_PERSON_KEYS);
    expect(answer.body).toMatchObject({ id: s.supervisor.id, type: "Person", full_name: "Sid Sup", role: "supervisor", departments: [s.departments.Animation.id] });
  });

  test("unknown id is 404, malformed id is 400 Malformed ID.", async () => {
    expectNotFound(await get(`/api/data/persons/${UNKNOWN_ID}`, s.artist));
    const malformed = await get("/api/data/persons/not-an-id", s.artist);
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ error: true, message: "Malformed ID." });
  });
});

describe("DELETE /api/data/task-types/{instance_id}", () => {
  test("admin removes an unused task type: 204, empty body, task-type:delete event, then 404", async () => {
    const created = expectStatus(await post("/api/data/task-types", s.admin, { name: "Rotoscoping", for_entity: "Shot", color: "#123456" }), 201);
    expectForbidden(await del(`/api/data/task-types/${created.id}`, s.manager));
    const before = events.all().length;
    const answer = await server.request("DELETE", `/api/data/task-types/${created.id}`, { token: s.admin.token });
    expect(answer.status).toBe(204);
    expect(await answer.text()).toBe("");
    expect(events.all().slice(before).filter((e) => e.name === "task-type:delete").map((e) => e.data.task_type_id)).toEqual([created.id]);
    expectNotFound(await get(`/api/data/task-types/${created.id}`, s.admin));
  });

  test("a task type used by a project workflow needs force=true, which also removes the link", async () => {
    const created = expectStatus(await post("/api/data/task-types", s.admin, { name: "Matchmove", for_entity: "Shot", color: "#654321" }), 201);
    expectStatus(await post(`/api/data/projects/${s.project.id}/settings/task-types`, s.manager, { task_type_id: created.id }), 201);
    const refused = await del(`/api/data/task-types/${created.id}`, s.admin);
    expect(refused.status).toBe(400);
    expectStatus(await get(`/api/data/task-types/${created.id}`, s.admin), 200);
    const forced = await del(`/api/data/task-types/${created.id}?force=true`, s.admin);
    expect(forced.status).toBe(204);
    const projectTypes = expectStatus(await get(`/api/data/projects/${s.project.id}/task-types`, s.manager), 200);
    expect(projectTypes.map((t: any) => t.id)).not.toContain(created.id);
    expect(projectTypes.map((t: any) => t.id)).toContain(s.taskTypes.animation.id);
  });

  test("unknown id 404, malformed id 400, artist 403", async () => {
    expectNotFound(await del(`/api/data/task-types/${UNKNOWN_ID}`, s.admin));
    expect((await del("/api/data/task-types/nope", s.admin)).status).toBe(400);
    expectForbidden(await del(`/api/data/task-types/${s.taskTypes.layout.id}`, s.artist));
  });
});

describe("DELETE /api/data/departments/{instance_id}", () => {
  test("admin removes a department: 204, department:delete event, then 404; a manager gets 403", async () => {
    const created = expectStatus(await post("/api/data/departments", s.admin, { name: "Matte Painting", color: "#8D6E63" }), 201);
    expect(created).toMatchObject({ type: "Department", name: "Matte Painting", color: "#8D6E63", archived: false });
    expectForbidden(await del(`/api/data/departments/${created.id}`, s.manager));
    const before = events.all().length;
    const answer = await del(`/api/data/departments/${created.id}`, s.admin);
    expect(answer.status).toBe(204);
    expect(answer.body).toBeNull();
    expect(events.all().slice(before).filter((e) => e.name === "department:delete").map((e) => e.data.department_id)).toEqual([created.id]);
    expectNotFound(await get(`/api/data/departments/${created.id}`, s.artist));
  });

  test("a department still used by a task type is refused with the sanitised 400", async () => {
    const answer = await del(`/api/data/departments/${s.departments.Animation.id}`, s.admin);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ message: "The change conflicts with records referencing this one." });
    expectStatus(await get(`/api/data/departments/${s.departments.Animation.id}`, s.admin), 200);
  });

  test("unknown id 404, malformed id 400", async () => {
    expectNotFound(await del(`/api/data/departments/${UNKNOWN_ID}`, s.admin));
    expect((await del("/api/data/departments/12", s.admin)).status).toBe(400);
  });
});

describe("GET /api/data/day-offs/{instance_id}", () => {
  let dayOff: any;
  beforeAll(async () => {
    dayOff = expectStatus(
      await post("/api/data/day-offs", s.artist, { person_id: s.artist.id, date: "2024-03-11", end_date: "2024-03-12", description: "Dentist" }),
      201,
    );
  });

  test("the person concerned and the admin read it", async () => {
    const own = await get(`/api/data/day-offs/${dayOff.id}`, s.artist);
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ id: dayOff.id, type: "DayOff", person_id: s.artist.id, date: "2024-03-11", end_date: "2024-03-12", description: "Dentist" });
    expect(own.body.created_at).toMatch(DATETIME);
    expect((await get(`/api/data/day-offs/${dayOff.id}`, s.admin)).body).toEqual(own.body);
  });

  test("anyone else, even their manager or supervisor, gets 403", async () => {
    expectForbidden(await get(`/api/data/day-offs/${dayOff.id}`, s.manager));
    expectForbidden(await get(`/api/data/day-offs/${dayOff.id}`, s.supervisor));
  });

  test("unknown id 404, malformed id 400", async () => {
    expectNotFound(await get(`/api/data/day-offs/${UNKNOWN_ID}`, s.artist));
    expect((await get("/api/data/day-offs/xyz", s.artist)).status).toBe(400);
  });
});

describe("GET /api/data/custom-actions", () => {
  let farm: any;
  beforeAll(async () => {
    farm = expectStatus(await post("/api/data/custom-actions", s.admin, { name: "Send to farm", url: "https://farm.example.com/submit", entity_type: "shot", is_ajax: true }), 201);
    expectStatus(await post("/api/data/custom-actions", s.admin, { name: "Open in browser", url: "https://wiki.example.com" }), 201);
  });

  test("every non-vendor reads the list (plain array without query string)", async () => {
    for (const who of [s.artist, s.client, s.manager]) {
      const answer = await get("/api/data/custom-actions", who);
      expect(answer.status).toBe(200);
      expect(answer.body.map((a: any) => a.name).sort()).toEqual(["Open in browser", "Send to farm"]);
    }
    const answer = await get("/api/data/custom-actions", s.artist);
    expect(answer.body.find((a: any) => a.id === farm.id)).toMatchObject({
      type: "CustomAction", name: "Send to farm", url: "https://farm.example.com/submit", entity_type: "shot", is_ajax: true,
    });
    expect(answer.body.find((a: any) => a.name === "Open in browser")).toMatchObject({ entity_type: "all", is_ajax: false });
  });

  test("field filters and pagination", async () => {
    const filtered = expectStatus(await get("/api/data/custom-actions?entity_type=shot", s.artist), 200);
    expect(filtered.map((a: any) => a.id)).toEqual([farm.id]);
    const paged = expectStatus(await get("/api/data/custom-actions?page=1&limit=1", s.artist), 200);
    expect(paged).toMatchObject({ total: 2, nb_pages: 2, limit: 1, offset: 0, page: 1 });
    expect(paged.data).toHaveLength(1);
    expect((await get("/api/data/custom-actions?is_ajax=maybe", s.artist)).status).toBe(400);
  });

  test("a vendor gets 403", async () => {
    expectForbidden(await get("/api/data/custom-actions", s.vendor));
  });
});

describe("PUT /api/data/events/{instance_id}", () => {
  test("admin updates an event row: 200 without relations, project_id kept", async () => {
    const list = expectStatus(await get("/api/data/events?name=sequence:new", s.admin), 200);
    const event = list.find((e: any) => e.project_id === s.project.id);
    expect(event).toMatchObject({ type: "ApiEvent", name: "sequence:new", data: { sequence_id: s.sequence.id, project_id: s.project.id } });
    const answer = await put(`/api/data/events/${event.id}`, s.admin, { name: "sequence:checked", project_id: UNKNOWN_ID });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ id: event.id, type: "ApiEvent", name: "sequence:checked", project_id: s.project.id, user_id: s.manager.id });
    expect(answer.body.updated_at).toMatch(DATETIME);
    expect((await get(`/api/data/events/${event.id}`, s.admin)).body.name).toBe("sequence:checked");
  });

  test("non-admins get 403, even a studio manager", async () => {
    const [event] = expectStatus(await get("/api/data/events?page=1&limit=1", s.admin), 200).data;
    expectForbidden(await put(`/api/data/events/${event.id}`, s.manager, { name: "x:y" }));
    expectForbidden(await put(`/api/data/events/${event.id}`, s.artist, { name: "x:y" }));
  });

  test("unknown id 404, malformed id 400, empty body 400", async () => {
    expectNotFound(await put(`/api/data/events/${UNKNOWN_ID}`, s.admin, { name: "x:y" }));
    expect((await put("/api/data/events/abc", s.admin, { name: "x:y" })).status).toBe(400);
    const response = await server.request("PUT", `/api/data/events/${UNKNOWN_ID}`, { token: s.admin.token, body: "", headers: { "Content-Type": "application/json" } });
    expect(response.status).toBe(400);
  });
});

describe("DELETE /api/data/news/{instance_id}", () => {
  test("admin removes a news entry of the feed: 204, news:delete event; others 403", async () => {
    const comment = expectStatus(
      await post(`/api/actions/tasks/${s.tasks.modelingRabbit.id}/comment`, s.manager, { task_status_id: s.statuses.wip.id, comment: "Starting the rabbit" }),
      201,
    );
    const feed = expectStatus(await get(`/api/data/projects/${s.project.id}/news`, s.manager), 200);
    const news = feed.data.find((n: any) => n.comment_id === comment.id);
    expect(news).toMatchObject({ type: "News", task_id: s.tasks.modelingRabbit.id, author_id: s.manager.id, change: true });
    expectForbidden(await del(`/api/data/news/${news.id}`, s.manager));
    expectForbidden(await del(`/api/data/news/${news.id}`, s.artist));
    const before = events.all().length;
    const answer = await del(`/api/data/news/${news.id}`, s.admin);
    expect(answer.status).toBe(204);
    expect(answer.body).toBeNull();
    expect(events.all().slice(before).filter((e) => e.name === "news:delete").map((e) => e.data.news_id)).toEqual([news.id]);
    const after = expectStatus(await get(`/api/data/projects/${s.project.id}/news`, s.manager), 200);
    expect(after.data.map((n: any) => n.id)).not.toContain(news.id);
    expectNotFound(await get(`/api/data/news/${news.id}`, s.admin));
  });

  test("unknown id 404, malformed id 400", async () => {
    expectNotFound(await del(`/api/data/news/${UNKNOWN_ID}`, s.admin));
    expect((await del("/api/data/news/1", s.admin)).status).toBe(400);
  });
});

describe("GET /api/data/entity-links", () => {
  beforeAll(async () => {
    expectStatus(
      await put(`/api/data/projects/${s.project.id}/entities/${s.shots.sh010.id}/casting`, s.manager, [
        { asset_id: s.assets.rabbit.id, nb_occurences: 2, label: "animate" },
        { asset_id: s.assets.tree.id, nb_occurences: 1 },
      ]),
      200,
    );
  });

  test("admin lists the casting links, filterable by entity", async () => {
    const answer = await get(`/api/data/entity-links?entity_in_id=${s.shots.sh010.id}`, s.admin);
    expect(answer.status).toBe(200);
    expect(answer.body).toHaveLength(2);
    const rabbit = answer.body.find((l: any) => l.entity_out_id === s.assets.rabbit.id);
    expect(rabbit).toMatchObject({ type: "EntityLink", entity_in_id: s.shots.sh010.id, nb_occurences: 2, label: "animate" });
    expect(rabbit.id).toMatch(UUID);
    expect(answer.body.find((l: any) => l.entity_out_id === s.assets.tree.id)).toMatchObject({ nb_occurences: 1 });
    const all = expectStatus(await get("/api/data/entity-links", s.admin), 200);
    expect(all.length).toBeGreaterThanOrEqual(2);
    const one = expectStatus(await get(`/api/data/entity-links/${rabbit.id}`, s.admin), 200);
    expect(one).toMatchObject({ id: rabbit.id, entity_in_id: s.shots.sh010.id, entity_out_id: s.assets.rabbit.id });
  });

  test("admin only: the project manager gets 403", async () => {
    expectForbidden(await get("/api/data/entity-links", s.manager));
    expectForbidden(await get("/api/data/entity-links", s.artist));
  });
});

// ---------------------------------------------------------------------------------------------
// files area
// ---------------------------------------------------------------------------------------------

describe("POST /api/data/tasks/{task_id}/working-file-path", () => {
  const folder = "/simple/productions/cosmos_landromat/shots/sq01/sh010/animation/3ds_max";

  test("path and name from the simple tree; software defaults to 3ds Max; revision computed", async () => {
    const answer = await post(`/api/data/tasks/${s.tasks.animSh010.id}/working-file-path`, s.artist, {});
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ path: folder, name: "cosmos_landromat_sq01_sh010_animation_main_v001" });
    expectStatus(await post(`/api/data/tasks/${s.tasks.animSh010.id}/working-files/new`, s.artist, { name: "main" }), 201);
    const next = expectStatus(await post(`/api/data/tasks/${s.tasks.animSh010.id}/working-file-path`, s.artist, { name: "main" }), 200);
    expect(next.name).toBe("cosmos_landromat_sq01_sh010_animation_main_v002");
  });

  test("name, revision and separator from the body", async () => {
    const answer = await post(`/api/data/tasks/${s.tasks.animSh010.id}/working-file-path`, s.artist, { name: "hotfix", revision: 7, sep: "\\" });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      path: "/simple\\productions\\cosmos_landromat\\shots\\sq01\\sh010\\animation\\3ds_max",
      name: "cosmos_landromat_sq01_sh010_animation_hotfix_v007",
    });
  });

  test("an unknown mode is a 400 carrying the received data", async () => {
    const answer = await post(`/api/data/tasks/${s.tasks.animSh010.id}/working-file-path`, s.artist, { mode: "unknown" });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ message: "Mode unknown cannot be found on given tree.", received_data: { mode: "unknown" } });
  });

  test("non-member 403, vendor not assigned on the shot 403, assigned vendor 200, unknown task 404", async () => {
    expectForbidden(await post(`/api/data/tasks/${s.tasks.animSh010.id}/working-file-path`, s.outsider, {}));
    expectForbidden(await post(`/api/data/tasks/${s.tasks.animSh010.id}/working-file-path`, s.vendor, {}));
    const own = await post(`/api/data/tasks/${s.tasks.animSh020.id}/working-file-path`, s.vendor, {});
    expect(own.status).toBe(200);
    expect(own.body.path).toBe("/simple/productions/cosmos_landromat/shots/sq01/sh020/animation/3ds_max");
    expectNotFound(await post(`/api/data/tasks/${UNKNOWN_ID}/working-file-path`, s.artist, {}));
  });
});

describe("GET /api/data/entities/{entity_id}/output-types/{output_type_id}/output-files", () => {
  let cache: any;
  let images: any;
  beforeAll(async () => {
    cache = expectStatus(await post("/api/data/output-types", s.admin, { name: "Cache", short_name: "cch" }), 201);
    images = expectStatus(await post("/api/data/output-types", s.admin, { name: "Images", short_name: "img" }), 201);
    const output = (outputType: any, body: Record<string, unknown> = {}) =>
      post(`/api/data/entities/${s.shots.sh010.id}/output-files/new`, s.manager, { output_type_id: outputType.id, task_type_id: s.taskTypes.animation.id, ...body });
    expectStatus(await output(cache, { extension: ".abc" }), 201);
    expectStatus(await output(cache, { extension: ".abc" }), 201);
    expectStatus(await output(images, { extension: ".exr", nb_elements: 48 }), 201);
  });

  test("output files of one type for the entity, newest revision first", async () => {
    const answer = await get(`/api/data/entities/${s.shots.sh010.id}/output-types/${cache.id}/output-files`, s.artist);
    expect(answer.status).toBe(200);
    expect(answer.body.map((f: any) => f.revision)).toEqual([2, 1]);
    for (const file of answer.body) {
      expect(file).toMatchObject({ type: "OutputFile", entity_id: s.shots.sh010.id, output_type_id: cache.id, task_type_id: s.taskTypes.animation.id, name: "main" });
    }
    expect(answer.body[0].path).toBe(
      "/simple/productions/export/cosmos_landromat/shots/sq01/sh010/animation/cache/cosmos_landromat_sq01_sh010_animation_cache_main_v002.abc",
    );
    const imagesAnswer = expectStatus(await get(`/api/data/entities/${s.shots.sh010.id}/output-types/${images.id}/output-files`, s.artist), 200);
    expect(imagesAnswer.map((f: any) => f.output_type_id)).toEqual([images.id]);
    const none = expectStatus(await get(`/api/data/entities/${s.shots.sh020.id}/output-types/${cache.id}/output-files`, s.manager), 200);
    expect(none).toEqual([]);
  });

  test("non-member 403; unknown entity or output type 404", async () => {
    expectForbidden(await get(`/api/data/entities/${s.shots.sh010.id}/output-types/${cache.id}/output-files`, s.outsider));
    expectNotFound(await get(`/api/data/entities/${UNKNOWN_ID}/output-types/${cache.id}/output-files`, s.artist));
    expectNotFound(await get(`/api/data/entities/${s.shots.sh010.id}/output-types/${UNKNOWN_ID}/output-files`, s.artist));
  });
});

// ---------------------------------------------------------------------------------------------
// persons and user areas
// ---------------------------------------------------------------------------------------------

describe("POST /api/data/user/desktop-login-logs and GET /api/data/persons/{person_id}/desktop-login-logs", () => {
  test("a person records desktop logins for themselves (201), newest first in their log", async () => {
    const first = await post("/api/data/user/desktop-login-logs", s.artist, { date: "2024-03-04T09:00:00" });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ type: "DesktopLoginLog", person_id: s.artist.id, date: "2024-03-04T09:00:00" });
    expect(first.body.id).toMatch(UUID);
    const second = expectStatus(await post("/api/data/user/desktop-login-logs", s.artist, { date: "2024-03-05T08:30:00" }), 201);
    const now = expectStatus(await post("/api/data/user/desktop-login-logs", s.artist, {}), 201);
    expect(now.date).toMatch(DATETIME);
    const log = await get(`/api/data/persons/${s.artist.id}/desktop-login-logs`, s.artist);
    expect(log.status).toBe(200);
    expect(log.body.map((l: any) => l.id)).toEqual([now.id, second.id, first.body.id]);
    expect(log.body.every((l: any) => l.person_id === s.artist.id)).toBe(true);
  });

  test("a studio manager reads anyone's log; a supervisor or another artist gets 403", async () => {
    const log = expectStatus(await get(`/api/data/persons/${s.artist.id}/desktop-login-logs`, s.manager), 200);
    expect(log.length).toBeGreaterThanOrEqual(3);
    expect((await get(`/api/data/persons/${s.artist.id}/desktop-login-logs`, s.admin)).status).toBe(200);
    expectForbidden(await get(`/api/data/persons/${s.artist.id}/desktop-login-logs`, s.supervisor));
    expectForbidden(await get(`/api/data/persons/${s.artist.id}/desktop-login-logs`, s.outsider));
  });

  test("a bad date is 400; an unknown person is 404", async () => {
    expect((await post("/api/data/user/desktop-login-logs", s.artist, { date: "yesterday" })).status).toBe(400);
    expectNotFound(await get(`/api/data/persons/${UNKNOWN_ID}/desktop-login-logs`, s.admin));
  });
});

describe("GET /api/data/persons/time-spents/day-table/{year}/{month}", () => {
  test("admin: totals per day then per person", async () => {
    const answer = await get("/api/data/persons/time-spents/day-table/2024/03", s.admin);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ "4": { [s.artist.id]: 240 }, "5": { [s.artist.id]: 180, [s.vendor.id]: 300 } });
    expect((await get("/api/data/persons/time-spents/day-table/2024/3", s.admin)).body).toEqual(answer.body);
    expect(expectStatus(await get("/api/data/persons/time-spents/day-table/2024/04", s.admin), 200)).toEqual({});
  });

  test("a production manager sees the people of their projects; an artist only their own time", async () => {
    const asManager = expectStatus(await get("/api/data/persons/time-spents/day-table/2024/03", s.manager), 200);
    expect(asManager["5"]).toEqual({ [s.artist.id]: 180, [s.vendor.id]: 300 });
    const own = expectStatus(await get("/api/data/persons/time-spents/day-table/2024/03", s.artist), 200);
    expect(own).toEqual({ "4": { [s.artist.id]: 240 }, "5": { [s.artist.id]: 180 } });
    const elsewhere = expectStatus(await get("/api/data/persons/time-spents/day-table/2024/03", s.outsiderManager), 200);
    expect(elsewhere).toEqual({});
  });

  test("project filter: 403 outside the caller's projects, 400 for a bad month or id", async () => {
    const filtered = expectStatus(await get(`/api/data/persons/time-spents/day-table/2024/03?project_id=${s.project.id}`, s.manager), 200);
    expect(filtered["4"]).toEqual({ [s.artist.id]: 240 });
    expectForbidden(await get(`/api/data/persons/time-spents/day-table/2024/03?project_id=${s.project.id}`, s.outsiderManager));
    expect((await get("/api/data/persons/time-spents/day-table/2024/13", s.admin)).status).toBe(400);
    expect((await get("/api/data/persons/time-spents/day-table/2024/03?project_id=nope", s.admin)).status).toBe(400);
  });
});

describe("GET /api/data/persons/{person_id}/day-offs/month/{year}/{month}", () => {
  let march: any;
  beforeAll(async () => {
    march = expectStatus(await post("/api/data/day-offs", s.supervisor, { person_id: s.supervisor.id, date: "2024-03-18", end_date: "2024-03-22", description: "Holidays" }), 201);
    expectStatus(await post("/api/data/day-offs", s.supervisor, { person_id: s.supervisor.id, date: "2024-04-02", end_date: "2024-04-02" }), 201);
  });

  test("the person and the admin get the days off of that month only", async () => {
    const own = await get(`/api/data/persons/${s.supervisor.id}/day-offs/month/2024/3`, s.supervisor);
    expect(own.status).toBe(200);
    expect(own.body).toHaveLength(1);
    expect(own.body[0]).toMatchObject({ id: march.id, type: "DayOff", person_id: s.supervisor.id, date: "2024-03-18", end_date: "2024-03-22" });
    expect((await get(`/api/data/persons/${s.supervisor.id}/day-offs/month/2024/03`, s.admin)).body).toEqual(own.body);
    expect(expectStatus(await get(`/api/data/persons/${s.supervisor.id}/day-offs/month/2024/05`, s.supervisor), 200)).toEqual([]);
  });

  test("anyone else 403 (even a manager); a bot target 403; unknown person 404; bad month 400", async () => {
    expectForbidden(await get(`/api/data/persons/${s.supervisor.id}/day-offs/month/2024/3`, s.manager));
    expectForbidden(await get(`/api/data/persons/${s.supervisor.id}/day-offs/month/2024/3`, s.artist));
    const bot = expectStatus(await post("/api/data/persons", s.admin, { first_name: "Render", last_name: "Bot", is_bot: true }), 201);
    expectForbidden(await get(`/api/data/persons/${bot.id}/day-offs/month/2024/3`, s.admin));
    expectNotFound(await get(`/api/data/persons/${UNKNOWN_ID}/day-offs/month/2024/3`, s.admin));
    expect((await get(`/api/data/persons/${s.supervisor.id}/day-offs/month/2024/13`, s.supervisor)).status).toBe(400);
  });
});

describe("GET /api/data/user/projects/open", () => {
  test("open projects whose team holds the caller, with the extra data Kitsu reads", async () => {
    const closedStatus = expectStatus(await get("/api/data/project-status?name=Closed", s.admin), 200)[0];
    const closed = expectStatus(await post("/api/data/projects", s.admin, { name: "Old Show", project_status_id: closedStatus.id }), 201);
    expectStatus(await post(`/api/data/projects/${closed.id}/team`, s.admin, { person_id: s.artist.id }), 201);
    const answer = await get("/api/data/user/projects/open", s.artist);
    expect(answer.status).toBe(200);
    expect(answer.body.map((p: any) => p.name)).toEqual(["Cosmos Landromat"]);
    const project = answer.body[0];
    expect(project).toMatchObject({ id: s.project.id, type: "Project", project_status_name: "Open", production_type: "short" });
    expect(project.team).toContain(s.artist.id);
    expect(project.task_types).toContain(s.taskTypes.animation.id);
    expect(project.asset_types).toContain(s.assetTypes.character.id);
    expect(project.task_statuses).toContain(s.statuses.wip.id);
    expect(Array.isArray(project.descriptors)).toBe(true);
  });

  test("a person in no team gets []; a bot gets 403", async () => {
    expect(expectStatus(await get("/api/data/user/projects/open", s.outsider), 200)).toEqual([]);
    const bot = expectStatus(await post("/api/data/persons", s.admin, { first_name: "Sync", last_name: "Bot", is_bot: true, role: "manager" }), 201);
    expect(typeof bot.access_token).toBe("string");
    expectForbidden(await server.json("GET", "/api/data/user/projects/open", { token: bot.access_token }));
  });
});

describe("GET /api/data/user/projects/{project_id}/sequences", () => {
  test("the sequences of a project the caller belongs to", async () => {
    for (const who of [s.artist, s.supervisor, s.manager]) {
      const answer = await get(`/api/data/user/projects/${s.project.id}/sequences`, who);
      expect(answer.status).toBe(200);
      expect(answer.body.map((q: any) => q.id)).toEqual([s.sequence.id]);
      expect(answer.body[0]).toMatchObject({ type: "Sequence", name: "SQ01", project_id: s.project.id });
    }
  });

  test("[] when the caller is not a member or the project is unknown; bots 403", async () => {
    expect(expectStatus(await get(`/api/data/user/projects/${s.project.id}/sequences`, s.outsider), 200)).toEqual([]);
    expect(expectStatus(await get(`/api/data/user/projects/${UNKNOWN_ID}/sequences`, s.artist), 200)).toEqual([]);
    const bot = expectStatus(await post("/api/data/persons", s.admin, { first_name: "Seq", last_name: "Bot", is_bot: true }), 201);
    expectForbidden(await server.json("GET", `/api/data/user/projects/${s.project.id}/sequences`, { token: bot.access_token }));
  });
});

describe("POST /api/data/user/filters", () => {
  test("Kitsu saves a search filter: 201 with the stored row, then it is listed by list type and project", async () => {
    const answer = await post("/api/data/user/filters", s.artist, {
      list_type: "asset", name: "Rabbits", query: "rabbit", project_id: s.project.id, entity_type: "Asset", is_shared: false,
      search_filter_group_id: null, department_id: null,
    });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({
      type: "SearchFilter", list_type: "asset", name: "Rabbits", search_query: "rabbit", project_id: s.project.id,
      entity_type: "Asset", person_id: s.artist.id, is_shared: false, search_filter_group_id: null, department_id: null,
    });
    expect(answer.body.id).toMatch(UUID);
    const listed = expectStatus(await get("/api/data/user/filters", s.artist), 200);
    expect(listed.asset[s.project.id].map((f: any) => f.id)).toEqual([answer.body.id]);
    const others = expectStatus(await get("/api/data/user/filters", s.supervisor), 200);
    expect(JSON.stringify(others)).not.toContain(answer.body.id);
  });

  test("missing name or query is 400; a bot is 403", async () => {
    const missing = await post("/api/data/user/filters", s.artist, { list_type: "asset", query: "x" });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe(true);
    expect((await post("/api/data/user/filters", s.artist, { list_type: "asset", name: "x" })).status).toBe(400);
    const bot = expectStatus(await post("/api/data/persons", s.admin, { first_name: "Filter", last_name: "Bot", is_bot: true }), 201);
    expectForbidden(await server.json("POST", "/api/data/user/filters", { token: bot.access_token, body: { list_type: "asset", name: "x", query: "y" } }));
  });
});

describe("GET /api/data/user/tasks/{task_id}/subscribed", () => {
  test("false, then true after subscribing, false again after unsubscribing", async () => {
    const path = `/api/data/user/tasks/${s.tasks.layoutSh010.id}/subscribed`;
    const before = await get(path, s.supervisor);
    expect(before.status).toBe(200);
    expect(before.body).toBe(false);
    expectStatus(await post(`/api/actions/user/tasks/${s.tasks.layoutSh010.id}/subscribe`, s.supervisor), 201);
    expect(expectStatus(await get(path, s.supervisor), 200)).toBe(true);
    expect(expectStatus(await get(path, s.artist), 200)).toBe(false);
    expect((await del(`/api/actions/user/tasks/${s.tasks.layoutSh010.id}/unsubscribe`, s.supervisor)).status).toBe(204);
    expect(expectStatus(await get(path, s.supervisor), 200)).toBe(false);
  });

  test("false for an unknown task; bots 403", async () => {
    expect(expectStatus(await get(`/api/data/user/tasks/${UNKNOWN_ID}/subscribed`, s.artist), 200)).toBe(false);
    const bot = expectStatus(await post("/api/data/persons", s.admin, { first_name: "Watch", last_name: "Bot", is_bot: true }), 201);
    expectForbidden(await server.json("GET", `/api/data/user/tasks/${s.tasks.layoutSh010.id}/subscribed`, { token: bot.access_token }));
  });
});

// ---------------------------------------------------------------------------------------------
// projects area
// ---------------------------------------------------------------------------------------------

describe("GET /api/data/projects/all", () => {
  let closed: any;
  beforeAll(async () => {
    const closedStatus = expectStatus(await get("/api/data/project-status?name=Closed", s.admin), 200)[0];
    closed = expectStatus(await post("/api/data/projects", s.admin, { name: "Archived Short", project_status_id: closedStatus.id }), 201);
    expectStatus(await post(`/api/data/projects/${closed.id}/team`, s.admin, { person_id: s.supervisor.id }), 201);
  });

  test("admin gets every project, open and closed", async () => {
    const answer = await get("/api/data/projects/all", s.admin);
    expect(answer.status).toBe(200);
    const names = answer.body.map((p: any) => p.name);
    expect(names).toContain("Cosmos Landromat");
    expect(names).toContain("Archived Short");
    const project = answer.body.find((p: any) => p.id === s.project.id);
    expect(project).toMatchObject({ type: "Project", name: "Cosmos Landromat", project_status_id: s.project.project_status_id, fps: "24", resolution: "1920x1080" });
  });

  test("others get the projects they belong to, closed ones included", async () => {
    const supervisor = expectStatus(await get("/api/data/projects/all", s.supervisor), 200);
    expect(supervisor.map((p: any) => p.name).sort()).toEqual(["Archived Short", "Cosmos Landromat"]);
    const artist = expectStatus(await get("/api/data/projects/all", s.artist), 200);
    expect(artist.map((p: any) => p.id)).toContain(s.project.id);
    expect(artist.map((p: any) => p.id)).not.toContain(closed.id);
    expect(expectStatus(await get("/api/data/projects/all", s.outsiderManager), 200)).toEqual([]);
  });

  test("name filter: one project, 404 when no visible project has that name", async () => {
    const byName = expectStatus(await get("/api/data/projects/all?name=Cosmos%20Landromat", s.artist), 200);
    expect(byName.map((p: any) => p.id)).toEqual([s.project.id]);
    expectNotFound(await get("/api/data/projects/all?name=Archived%20Short", s.artist));
    expectNotFound(await get("/api/data/projects/all?name=Nothing%20Here", s.admin));
  });
});

describe("POST /api/data/projects/{project_id}/settings/preview-background-files", () => {
  let background: any;
  beforeAll(async () => {
    background = expectStatus(await post("/api/data/preview-background-files", s.admin, { name: "Studio HDRI", extension: "hdr", original_name: "studio.hdr" }), 201);
  });

  test("the production manager links a background: 201 with the project, project:update event", async () => {
    const before = events.all().length;
    const answer = await post(`/api/data/projects/${s.project.id}/settings/preview-background-files`, s.manager, { preview_background_file_id: background.id });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ id: s.project.id, type: "Project", name: "Cosmos Landromat" });
    expect(events.all().slice(before).filter((e) => e.name === "project:update").map((e) => e.data)).toContainEqual({ project_id: s.project.id });
    const listed = expectStatus(await get(`/api/data/projects/${s.project.id}/settings/preview-background-files`, s.artist), 200);
    expect(listed.map((b: any) => b.id)).toEqual([background.id]);
    expect(listed[0]).toMatchObject({ type: "PreviewBackgroundFile", name: "Studio HDRI" });
  });

  test("artists, supervisors and managers of other projects get 403", async () => {
    for (const who of [s.artist, s.supervisor, s.outsiderManager]) {
      expectForbidden(await post(`/api/data/projects/${s.project.id}/settings/preview-background-files`, who, { preview_background_file_id: background.id }));
    }
  });

  test("missing or unknown background id 400, unknown project 404", async () => {
    expect((await post(`/api/data/projects/${s.project.id}/settings/preview-background-files`, s.manager, {})).status).toBe(400);
    const unknown = await post(`/api/data/projects/${s.project.id}/settings/preview-background-files`, s.manager, { preview_background_file_id: UNKNOWN_ID });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toBe(true);
    expectNotFound(await post(`/api/data/projects/${UNKNOWN_ID}/settings/preview-background-files`, s.admin, { preview_background_file_id: background.id }));
  });
});

describe("GET /api/data/projects/{project_id}/schedule-items/{task_type_id}/sequences and .../episodes", () => {
  const scheduleKeys = ["end_date", "id", "man_days", "object_id", "project_id", "start_date", "task_type_id"];

  test("one schedule item per sequence of the project, created on first read, stable afterwards", async () => {
    const path = `/api/data/projects/${s.project.id}/schedule-items/${s.taskTypes.animation.id}/sequences`;
    const first = await get(path, s.artist);
    expect(first.status).toBe(200);
    expect(first.body).toHaveLength(1);
    expect(first.body[0]).toMatchObject({ project_id: s.project.id, task_type_id: s.taskTypes.animation.id, object_id: s.sequence.id });
    for (const key of scheduleKeys) expect(first.body[0]).toHaveProperty(key);
    const again = expectStatus(await get(path, s.manager), 200);
    expect(again.map((i: any) => i.id)).toEqual([first.body[0].id]);
  });

  test("episodes of a TV show get their schedule items", async () => {
    const show = expectStatus(await post("/api/data/projects", s.admin, { name: "Rabbit Show", production_type: "tvshow" }), 201);
    expect(show.first_episode_id).toMatch(UUID);
    expectStatus(await post(`/api/data/projects/${show.id}/team`, s.admin, { person_id: s.manager.id }), 201);
    expectStatus(await post(`/api/data/projects/${show.id}/episodes`, s.manager, { name: "E02" }), 201);
    const answer = await get(`/api/data/projects/${show.id}/schedule-items/${s.taskTypes.animation.id}/episodes`, s.manager);
    expect(answer.status).toBe(200);
    expect(answer.body).toHaveLength(2);
    expect(answer.body.map((i: any) => i.object_id)).toContain(show.first_episode_id);
    for (const item of answer.body) expect(item).toMatchObject({ project_id: show.id, task_type_id: s.taskTypes.animation.id });
    expect(expectStatus(await get(`/api/data/projects/${s.project.id}/schedule-items/${s.taskTypes.animation.id}/episodes`, s.manager), 200)).toEqual([]);
    expectForbidden(await get(`/api/data/projects/${show.id}/schedule-items/${s.taskTypes.animation.id}/episodes`, s.artist));
  });

  test("vendor blocked, non-member 403, unknown project or task type 404", async () => {
    for (const kind of ["sequences", "episodes"]) {
      expectForbidden(await get(`/api/data/projects/${s.project.id}/schedule-items/${s.taskTypes.animation.id}/${kind}`, s.vendor));
      expectForbidden(await get(`/api/data/projects/${s.project.id}/schedule-items/${s.taskTypes.animation.id}/${kind}`, s.outsider));
      expectNotFound(await get(`/api/data/projects/${UNKNOWN_ID}/schedule-items/${s.taskTypes.animation.id}/${kind}`, s.admin));
      expectNotFound(await get(`/api/data/projects/${s.project.id}/schedule-items/${UNKNOWN_ID}/${kind}`, s.admin));
    }
  });
});
