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

  test("software_id picks the software folder", async () => {
    const maya = expectStatus(await post("/api/data/softwares", s.admin, { name: "Maya", short_name: "ma", file_extension: ".ma" }), 201);
    const answer = await post(`/api/data/tasks/${s.tasks.modelingRabbit.id}/working-file-path`, s.artist, { software_id: maya.id, revision: 3 });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      path: "/simple/productions/cosmos_landromat/assets/character/rabbit/modeling/maya",
      name: "cosmos_landromat_character_rabbit_modeling_main_v003",
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
    const animationSupervisor = expectStatus(await get("/api/data/persons/time-spents/day-table/2024/03", s.supervisor), 200);
    expect(animationSupervisor["5"]).toEqual({ [s.artist.id]: 180, [s.vendor.id]: 300 });
    const modelingSupervisor = await hire(server, s.admin, "supervisor", "Mo", "Del", { departments: [s.departments.Modeling.id] });
    expectStatus(await post(`/api/data/projects/${s.project.id}/team`, s.admin, { person_id: modelingSupervisor.id }), 201);
    expect(expectStatus(await get("/api/data/persons/time-spents/day-table/2024/03", modelingSupervisor), 200)).toEqual({});
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
    expect(project).toMatchObject({ id: s.project.id, type: "Project", production_type: "short" });
    expect(project).not.toHaveProperty("project_status_name");
    expect(project.team).toContain(s.artist.id);
    expect(project.task_types).toContain(s.taskTypes.animation.id);
    expect(project.asset_types).toContain(s.assetTypes.character.id);
    expect(project.task_statuses).toContain(s.statuses.wip.id);
    expect(Array.isArray(project.descriptors)).toBe(true);
  });

  test("the studio manager gets every open project", async () => {
    const other = expectStatus(await post("/api/data/projects", s.admin, { name: "Unstaffed" }), 201);
    const answer = expectStatus(await get("/api/data/user/projects/open", s.admin), 200);
    expect(answer.map((p: any) => p.id)).toEqual(expect.arrayContaining([s.project.id, other.id]));
    expect(answer.map((p: any) => p.name)).not.toContain("Old Show");
  });

  test("a person in no team gets []; a bot gets 403", async () => {
    expect(expectStatus(await get("/api/data/user/projects/open", s.outsider), 200)).toEqual([]);
    const bot = expectStatus(await post("/api/data/persons", s.admin, { first_name: "Sync", last_name: "Bot", is_bot: true, role: "manager" }), 201);
    expect(typeof bot.access_token).toBe("string");
    expectForbidden(await server.json("GET", "/api/data/user/projects/open", { token: bot.access_token }));
  });
});

describe("GET /api/data/user/projects/{project_id}/sequences", () => {
  test("the sequences holding a shot with a task assigned to the caller (Zou user_service)", async () => {
    for (const who of [s.artist, s.vendor]) {
      const answer = await get(`/api/data/user/projects/${s.project.id}/sequences`, who);
      expect(answer.status).toBe(200);
      expect(answer.body.map((q: any) => q.id)).toEqual([s.sequence.id]);
      expect(answer.body[0]).toMatchObject({ type: "Sequence", name: "SQ01", project_id: s.project.id });
    }
    // Members without such a task get none.
    expect(expectStatus(await get(`/api/data/user/projects/${s.project.id}/sequences`, s.manager), 200)).toEqual([]);
  });

  test("[] when the caller has no task there, 404 for an unknown project; bots 403", async () => {
    expect(expectStatus(await get(`/api/data/user/projects/${s.project.id}/sequences`, s.outsider), 200)).toEqual([]);
    expectNotFound(await get(`/api/data/user/projects/${UNKNOWN_ID}/sequences`, s.artist));
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
    expect(expectStatus(await get("/api/data/user/tasks/not-a-task/subscribed", s.artist), 200)).toBe(false);
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

// ---------------------------------------------------------------------------------------------
// chats area
// ---------------------------------------------------------------------------------------------

describe("POST /api/data/entities/{entity_id}/chat/messages", () => {
  test("a participant posts a message: 201 with the message, chat:new-message broadcast but not persisted", async () => {
    expectStatus(await post(`/api/actions/user/chats/${s.shots.sh010.id}/join`, s.artist), 200);
    const before = events.all().length;
    const answer = await post(`/api/data/entities/${s.shots.sh010.id}/chat/messages`, s.artist, { message: "Is the rig updated?" });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ type: "ChatMessage", person_id: s.artist.id, text: "Is the rig updated?" });
    expect(answer.body.id).toMatch(UUID);
    expect(answer.body.chat_id).toMatch(UUID);
    expect(answer.body.created_at).toMatch(DATETIME);
    const broadcast = events.all().slice(before).filter((e) => e.name === "chat:new-message").map((e) => e.data);
    expect(broadcast).toHaveLength(1);
    expect(broadcast[0]).toMatchObject({ chat_id: answer.body.chat_id, chat_message_id: answer.body.id });
    const persisted = expectStatus(await get(`/api/data/events/last?project_id=${s.project.id}&name=chat:new-message`, s.admin), 200);
    expect(persisted).toEqual([]);
    const messages = expectStatus(await get(`/api/data/entities/${s.shots.sh010.id}/chat/messages`, s.manager), 200);
    expect(messages.map((m: any) => m.id)).toContain(answer.body.id);
  });

  test("multipart with a file, as Kitsu sends attachments", async () => {
    const form = new FormData();
    form.append("message", "Reference attached");
    form.append("file-0", new File(["frame 12 notes"], "notes.txt", { type: "text/plain" }));
    const answer = await server.json("POST", `/api/data/entities/${s.shots.sh010.id}/chat/messages`, { token: s.artist.token, body: form });
    expect(answer.status).toBe(201);
    expect(answer.body.text).toBe("Reference attached");
    expect(answer.body.attachment_files).toHaveLength(1);
    expect(answer.body.attachment_files[0]).toMatchObject({ name: "notes.txt" });
  });

  test("a member who did not join gets 400; non-members and unassigned vendors 403", async () => {
    const notJoined = await post(`/api/data/entities/${s.shots.sh010.id}/chat/messages`, s.supervisor, { message: "Hello" });
    expect(notJoined.status).toBe(400);
    expect(notJoined.body.error).toBe(true);
    expectForbidden(await post(`/api/data/entities/${s.shots.sh010.id}/chat/messages`, s.outsider, { message: "Hello" }));
    expectForbidden(await post(`/api/data/entities/${s.shots.sh010.id}/chat/messages`, s.vendor, { message: "Hello" }));
    expectStatus(await post(`/api/actions/user/chats/${s.shots.sh020.id}/join`, s.vendor), 200);
    expectStatus(await post(`/api/data/entities/${s.shots.sh020.id}/chat/messages`, s.vendor, { message: "Delivered v2" }), 201);
  });

  test("missing message 400, unknown entity 404", async () => {
    const missing = await post(`/api/data/entities/${s.shots.sh010.id}/chat/messages`, s.artist, {});
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ error: true, message: "Validation error." });
    expectNotFound(await post(`/api/data/entities/${UNKNOWN_ID}/chat/messages`, s.artist, { message: "Hello" }));
  });
});

// ---------------------------------------------------------------------------------------------
// shots area
// ---------------------------------------------------------------------------------------------

describe("GET /api/data/shots/all", () => {
  test("shots of a project with their sequence and project names, filterable", async () => {
    const answer = await get(`/api/data/shots/all?project_id=${s.project.id}`, s.artist);
    expect(answer.status).toBe(200);
    expect(answer.body.map((shot: any) => shot.name)).toEqual(["SH010", "SH020"]);
    expect(answer.body[0]).toMatchObject({
      id: s.shots.sh010.id, type: "Shot", project_id: s.project.id, parent_id: s.sequence.id, sequence_name: "SQ01",
      project_name: "Cosmos Landromat", nb_frames: 48, data: { frame_in: 1, frame_out: 48 },
    });
    const byName = expectStatus(await get(`/api/data/shots/all?project_id=${s.project.id}&name=SH010`, s.artist), 200);
    expect(byName.map((shot: any) => shot.id)).toEqual([s.shots.sh010.id]);
    const bySequence = expectStatus(await get(`/api/data/shots/all?sequence_id=${s.sequence.id}`, s.artist), 200);
    expect(bySequence).toHaveLength(2);
    const asAdmin = expectStatus(await get("/api/data/shots/all", s.admin), 200);
    expect(asAdmin.map((shot: any) => shot.id)).toEqual(expect.arrayContaining([s.shots.sh010.id, s.shots.sh020.id]));
  });

  test("non-member 403 (vector 51); no project filter 403 for non-admins; a vendor sees assigned shots only", async () => {
    expectForbidden(await get(`/api/data/shots/all?project_id=${s.project.id}&name=SH010`, s.outsider));
    expectForbidden(await get("/api/data/shots/all", s.manager));
    const vendor = expectStatus(await get(`/api/data/shots/all?project_id=${s.project.id}`, s.vendor), 200);
    expect(vendor.map((shot: any) => shot.id)).toEqual([s.shots.sh020.id]);
    expect((await get("/api/data/shots/all?project_id=nope", s.artist)).status).toBe(400);
  });
});

describe("GET /api/data/shots/with-tasks", () => {
  test("plain JSON: shots with their tasks, assignees and statuses", async () => {
    const answer = await get(`/api/data/shots/with-tasks?project_id=${s.project.id}`, s.manager);
    expect(answer.status).toBe(200);
    expect(answer.body.map((shot: any) => shot.name)).toEqual(["SH010", "SH020"]);
    const sh010 = answer.body[0];
    expect(sh010).toMatchObject({
      id: s.shots.sh010.id, type: "Shot", sequence_id: s.sequence.id, sequence_name: "SQ01", frame_in: 1, frame_out: 48, nb_frames: 48,
      project_id: s.project.id, project_name: "Cosmos Landromat", episode_id: null, canceled: false,
    });
    const anim = sh010.tasks.find((t: any) => t.task_type_id === s.taskTypes.animation.id);
    expect(anim).toMatchObject({ id: s.tasks.animSh010.id, entity_id: s.shots.sh010.id, task_status_id: s.statuses.retake.id, assignees: [s.artist.id], retake_count: 1 });
    expect(sh010.tasks.map((t: any) => t.task_type_id).sort()).toEqual([s.taskTypes.animation.id, s.taskTypes.layout.id].sort());
  });

  test("NDJSON with stream=true&compact=true: a header line, then one positional row per shot", async () => {
    const response = await server.request("GET", `/api/data/shots/with-tasks?project_id=${s.project.id}&stream=true&compact=true`, {
      token: s.manager.token, headers: { Accept: "application/x-ndjson" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("ndjson");
    const lines = (await response.text()).split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line));
    const [header, ...rows] = lines;
    expect(header.compact).toBe(true);
    expect(header.shot_fields).toEqual(expect.arrayContaining(["id", "name", "sequence_name", "tasks"]));
    expect(header.task_fields).toEqual(expect.arrayContaining(["id", "task_status_id", "task_type_id", "assignees"]));
    expect(rows).toHaveLength(2);
    const field = (row: any[], name: string) => row[header.shot_fields.indexOf(name)];
    expect(rows.map((row: any[]) => field(row, "name"))).toEqual(["SH010", "SH020"]);
    const tasks = field(rows[0], "tasks") as any[][];
    const taskField = (task: any[], name: string) => task[header.task_fields.indexOf(name)];
    const anim = tasks.find((t) => taskField(t, "id") === s.tasks.animSh010.id)!;
    expect(taskField(anim, "assignees")).toEqual([s.artist.id]);
    expect(taskField(anim, "task_status_id")).toBe(s.statuses.retake.id);
  });

  test("vendor: only the shots and tasks assigned to them; non-member 403; filter required for non-admins", async () => {
    const vendor = expectStatus(await get(`/api/data/shots/with-tasks?project_id=${s.project.id}`, s.vendor), 200);
    expect(vendor.map((shot: any) => shot.id)).toEqual([s.shots.sh020.id]);
    expect(vendor[0].tasks.map((t: any) => t.id)).toEqual([s.tasks.animSh020.id]);
    expectForbidden(await get(`/api/data/shots/with-tasks?project_id=${s.project.id}`, s.outsider));
    expectForbidden(await get("/api/data/shots/with-tasks", s.artist));
    expect((await get("/api/data/shots/with-tasks?project_id=bad-id", s.manager)).status).toBe(400);
    expect((await get(`/api/data/shots/with-tasks?project_id=${s.project.id}&episode_id=bad-id`, s.manager)).status).toBe(400);
    const allEpisodes = expectStatus(await get(`/api/data/shots/with-tasks?project_id=${s.project.id}&episode_id=all`, s.manager), 200);
    expect(allEpisodes.map((shot: any) => shot.id)).toEqual(expect.arrayContaining([s.shots.sh010.id, s.shots.sh020.id]));
  });
});

describe("DELETE /api/data/sequences/{sequence_id}", () => {
  test("the production manager removes an empty sequence: 204, sequence:delete event, then 404", async () => {
    const sequence = expectStatus(await post(`/api/data/projects/${s.project.id}/sequences`, s.manager, { name: "SQ90" }), 201);
    expectForbidden(await del(`/api/data/sequences/${sequence.id}`, s.artist));
    expectForbidden(await del(`/api/data/sequences/${sequence.id}`, s.outsiderManager));
    const before = events.all().length;
    const answer = await del(`/api/data/sequences/${sequence.id}`, s.manager);
    expect(answer.status).toBe(204);
    expect(answer.body).toBeNull();
    expect(events.all().slice(before).filter((e) => e.name === "sequence:delete").map((e) => e.data)).toEqual([
      { sequence_id: sequence.id, project_id: s.project.id },
    ]);
    expectNotFound(await get(`/api/data/sequences/${sequence.id}`, s.manager));
  });

  test("force=true removes the sequence with its shots and their tasks", async () => {
    const sequence = expectStatus(await post(`/api/data/projects/${s.project.id}/sequences`, s.manager, { name: "SQ91" }), 201);
    const shot = expectStatus(await post(`/api/data/projects/${s.project.id}/shots`, s.manager, { name: "SH910", sequence_id: sequence.id }), 201);
    const [task] = expectStatus(await post(`/api/actions/projects/${s.project.id}/task-types/${s.taskTypes.animation.id}/shots/create-tasks`, s.manager, [shot.id]), 201);
    expect((await del(`/api/data/sequences/${sequence.id}?force=true`, s.manager)).status).toBe(204);
    expectNotFound(await get(`/api/data/sequences/${sequence.id}`, s.manager));
    expectNotFound(await get(`/api/data/shots/${shot.id}`, s.manager));
    expectNotFound(await get(`/api/data/tasks/${task.id}`, s.manager));
  });

  test("without force, a sequence holding tasks is only canceled", async () => {
    const sequence = expectStatus(await post(`/api/data/projects/${s.project.id}/sequences`, s.manager, { name: "SQ92" }), 201);
    expectStatus(await post(`/api/actions/projects/${s.project.id}/task-types/${s.taskTypes.layout.id}/create-tasks/sequence`, s.manager, [sequence.id]), 201);
    expect((await del(`/api/data/sequences/${sequence.id}`, s.manager)).status).toBe(204);
    const kept = expectStatus(await get(`/api/data/sequences/${sequence.id}`, s.manager), 200);
    expect(kept.canceled).toBe(true);
  });

  test("unknown sequence 404", async () => {
    expectNotFound(await del(`/api/data/sequences/${UNKNOWN_ID}`, s.manager));
  });
});

describe("POST and GET /api/data/projects/{project_id}/scenes", () => {
  let scene: any;
  test("the production manager creates a scene under a sequence: 201, scene:new event", async () => {
    const before = events.all().length;
    const answer = await post(`/api/data/projects/${s.project.id}/scenes`, s.manager, { name: "SC01", sequence_id: s.sequence.id });
    expect(answer.status).toBe(201);
    scene = answer.body;
    expect(scene).toMatchObject({ type: "Scene", name: "SC01", project_id: s.project.id, parent_id: s.sequence.id });
    expect(scene.id).toMatch(UUID);
    expect(events.all().slice(before).filter((e) => e.name === "scene:new").map((e) => e.data)).toEqual([{ scene_id: scene.id, project_id: s.project.id }]);
  });

  test("members list the scenes of the project", async () => {
    const answer = await get(`/api/data/projects/${s.project.id}/scenes`, s.artist);
    expect(answer.status).toBe(200);
    expect(answer.body.map((x: any) => x.id)).toEqual([scene.id]);
    expect(answer.body[0]).toMatchObject({ type: "Scene", name: "SC01", parent_id: s.sequence.id });
    expect(expectStatus(await get(`/api/data/projects/${s.project.id}/scenes`, s.vendor), 200)).toEqual([]);
  });

  test("creation: artist or supervisor 403, missing name 400, unknown project 404", async () => {
    expectForbidden(await post(`/api/data/projects/${s.project.id}/scenes`, s.artist, { name: "SC02", sequence_id: s.sequence.id }));
    expectForbidden(await post(`/api/data/projects/${s.project.id}/scenes`, s.supervisor, { name: "SC02", sequence_id: s.sequence.id }));
    expectForbidden(await post(`/api/data/projects/${s.project.id}/scenes`, s.outsiderManager, { name: "SC02", sequence_id: s.sequence.id }));
    const missing = await post(`/api/data/projects/${s.project.id}/scenes`, s.manager, { sequence_id: s.sequence.id });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe(true);
    expectNotFound(await post(`/api/data/projects/${UNKNOWN_ID}/scenes`, s.admin, { name: "SC02" }));
  });

  test("listing: non-member 403, unknown project 404", async () => {
    expectForbidden(await get(`/api/data/projects/${s.project.id}/scenes`, s.outsider));
    expectNotFound(await get(`/api/data/projects/${UNKNOWN_ID}/scenes`, s.admin));
  });
});

// ---------------------------------------------------------------------------------------------
// tasks area
// ---------------------------------------------------------------------------------------------

describe("GET /api/data/tasks/{task_id}/comments", () => {
  test("newest first, each with its author, status, replies, previews and attachments", async () => {
    const answer = await get(`/api/data/tasks/${s.tasks.animSh010.id}/comments`, s.artist);
    expect(answer.status).toBe(200);
    expect(answer.body.map((c: any) => c.id)).toEqual([s.comments.retake.id, s.comments.wip.id]);
    const retake = answer.body[0];
    expect(retake).toMatchObject({
      id: s.comments.retake.id, type: "Comment", object_id: s.tasks.animSh010.id, object_type: "Task", text: "Arms pop at frame 12",
      task_status_id: s.statuses.retake.id, person_id: s.supervisor.id, for_client: false,
      person: { id: s.supervisor.id, first_name: "Sid", last_name: "Sup" },
      task_status: { id: s.statuses.retake.id, short_name: "retake", name: "Retake", color: "#ff3860" },
    });
    for (const key of ["replies", "previews", "attachment_files", "acknowledgements", "checklist", "mentions"]) expect(Array.isArray(retake[key])).toBe(true);
    expect(retake.created_at).toMatch(DATETIME);
  });

  test("replies and previews are embedded in their comment", async () => {
    const task = s.tasks.modelingRabbit.id;
    const comment = expectStatus(await post(`/api/actions/tasks/${task}/comment`, s.manager, { task_status_id: s.statuses.wfa.id, comment: "Turntable attached" }), 201);
    const preview = expectStatus(await post(`/api/actions/tasks/${task}/comments/${comment.id}/add-preview`, s.manager, { revision: 1 }), 201);
    expectForbidden(await post(`/api/data/tasks/${task}/comments/${comment.id}/reply`, s.supervisor, { text: "Not my department" }));
    const reply = expectStatus(await post(`/api/data/tasks/${task}/comments/${comment.id}/reply`, s.admin, { text: "Ears look great" }), 200);
    const answer = expectStatus(await get(`/api/data/tasks/${task}/comments`, s.artist), 200);
    const listed = answer.find((c: any) => c.id === comment.id);
    expect(answer[0].id).toBe(comment.id);
    expect(listed.previews.map((p: any) => p.id)).toEqual([preview.id]);
    expect(listed.previews[0]).toMatchObject({ revision: 1, task_id: task });
    expect(listed.replies).toHaveLength(1);
    expect(listed.replies[0]).toMatchObject({ text: "Ears look great", person_id: s.admin.id });
    expect(listed.replies[0].id).toBe(reply.id);
  });

  test("client-authored and for_client comments: clients see only theirs and for_client ones, with studio authors hidden", async () => {
    const task = s.tasks.layoutSh010.id;
    const internal = expectStatus(await post(`/api/actions/tasks/${task}/comment`, s.manager, { task_status_id: s.statuses.todo.id, comment: "Internal note" }), 201);
    const forClient = expectStatus(await post(`/api/actions/tasks/${task}/comment`, s.manager, { task_status_id: s.statuses.todo.id, comment: "Layout ready for you", for_client: true }), 201);
    const fromClient = expectStatus(await post(`/api/actions/tasks/${task}/comment`, s.client, { task_status_id: s.statuses.todo.id, comment: "Camera too low" }), 201);
    const asManager = expectStatus(await get(`/api/data/tasks/${task}/comments`, s.manager), 200);
    expect(asManager.map((c: any) => c.id)).toEqual([fromClient.id, forClient.id, internal.id]);
    const asArtist = expectStatus(await get(`/api/data/tasks/${task}/comments`, s.artist), 200);
    expect(asArtist.map((c: any) => c.id)).toEqual([forClient.id, internal.id]);
    const asClient = expectStatus(await get(`/api/data/tasks/${task}/comments`, s.client), 200);
    expect(asClient.map((c: any) => c.id)).toEqual([fromClient.id, forClient.id]);
    expect(asClient.find((c: any) => c.id === forClient.id).person).toBeNull();
    expect(asClient.find((c: any) => c.id === fromClient.id).person).toMatchObject({ id: s.client.id });
  });

  test("non-member 403, vendor not assigned on the shot 403, unknown task 404", async () => {
    expectForbidden(await get(`/api/data/tasks/${s.tasks.animSh010.id}/comments`, s.outsider));
    expectForbidden(await get(`/api/data/tasks/${s.tasks.animSh010.id}/comments`, s.vendor));
    expect((await get(`/api/data/tasks/${s.tasks.animSh020.id}/comments`, s.vendor)).status).toBe(200);
    expectNotFound(await get(`/api/data/tasks/${UNKNOWN_ID}/comments`, s.artist));
  });
});

describe("POST /api/actions/projects/{project_id}/task-types/{task_type_id}/create-tasks/{entity_type}", () => {
  test("creates the missing tasks of a type for every shot: 201, default status, task:new events", async () => {
    const before = events.all().length;
    const answer = await post(`/api/actions/projects/${s.project.id}/task-types/${s.taskTypes.layout.id}/create-tasks/shot`, s.manager, {});
    expect(answer.status).toBe(201);
    const created = answer.body.find((t: any) => t.entity_id === s.shots.sh020.id);
    expect(created).toMatchObject({
      type: "Task", name: "main", project_id: s.project.id, task_type_id: s.taskTypes.layout.id, task_status_id: s.statuses.todo.id, entity_id: s.shots.sh020.id,
    });
    expect(created.id).toMatch(UUID);
    const newEvents = events.all().slice(before).filter((e) => e.name === "task:new").map((e) => e.data);
    expect(newEvents).toContainEqual({ task_id: created.id, project_id: s.project.id });
    const sh010Tasks = expectStatus(await get(`/api/data/shots/${s.shots.sh010.id}/tasks`, s.manager), 200);
    expect(sh010Tasks.filter((t: any) => t.task_type_id === s.taskTypes.layout.id)).toHaveLength(1);
  });

  test("any entity type by name (asset types too); a list of entity ids narrows the creation", async () => {
    const shading = expectStatus(await get("/api/data/task-types?name=Shading", s.manager), 200)[0];
    const characters = await post(`/api/actions/projects/${s.project.id}/task-types/${shading.id}/create-tasks/character`, s.manager, {});
    expect(characters.status).toBe(201);
    expect(characters.body.map((t: any) => t.entity_id)).toEqual([s.assets.rabbit.id]);
    const other = expectStatus(await post(`/api/data/projects/${s.project.id}/sequences`, s.manager, { name: "SQ02" }), 201);
    const sequences = await post(`/api/actions/projects/${s.project.id}/task-types/${s.taskTypes.layout.id}/create-tasks/sequence`, s.manager, [other.id]);
    expect(sequences.status).toBe(201);
    expect(sequences.body.map((t: any) => t.entity_id)).toEqual([other.id]);
    expect(sequences.body[0]).toMatchObject({ task_type_id: s.taskTypes.layout.id, task_status_id: s.statuses.todo.id });
  });

  test("artist and managers of other projects 403; unknown project, task type or entity type 404", async () => {
    expectForbidden(await post(`/api/actions/projects/${s.project.id}/task-types/${s.taskTypes.layout.id}/create-tasks/shot`, s.artist, {}));
    expectForbidden(await post(`/api/actions/projects/${s.project.id}/task-types/${s.taskTypes.layout.id}/create-tasks/shot`, s.outsiderManager, {}));
    expectNotFound(await post(`/api/actions/projects/${UNKNOWN_ID}/task-types/${s.taskTypes.layout.id}/create-tasks/shot`, s.admin, {}));
    expectNotFound(await post(`/api/actions/projects/${s.project.id}/task-types/${UNKNOWN_ID}/create-tasks/shot`, s.manager, {}));
    expectNotFound(await post(`/api/actions/projects/${s.project.id}/task-types/${s.taskTypes.layout.id}/create-tasks/spaceship`, s.manager, {}));
  });
});

// ---------------------------------------------------------------------------------------------
// concepts area
// ---------------------------------------------------------------------------------------------

describe("GET /api/data/concepts/{concept_id}/preview-files", () => {
  let preview: any;
  beforeAll(async () => {
    const comment = expectStatus(
      await post(`/api/actions/tasks/${s.tasks.conceptTask.id}/comment`, s.manager, { task_status_id: s.statuses.neutral.id, comment: "First sketch" }),
      201,
    );
    preview = expectStatus(await post(`/api/actions/tasks/${s.tasks.conceptTask.id}/comments/${comment.id}/add-preview`, s.manager, { revision: 1 }), 201);
  });

  test("previews grouped by task type id", async () => {
    const answer = await get(`/api/data/concepts/${s.concept.id}/preview-files`, s.artist);
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body)).toEqual([s.taskTypes.conceptArt.id]);
    const [first] = answer.body[s.taskTypes.conceptArt.id];
    expect(first).toMatchObject({ id: preview.id, revision: 1, task_id: s.tasks.conceptTask.id });
  });

  test("client blocked, vendor not assigned 403, non-member 403, unknown concept 404", async () => {
    expectForbidden(await get(`/api/data/concepts/${s.concept.id}/preview-files`, s.client));
    expectForbidden(await get(`/api/data/concepts/${s.concept.id}/preview-files`, s.vendor));
    expectForbidden(await get(`/api/data/concepts/${s.concept.id}/preview-files`, s.outsider));
    expectNotFound(await get(`/api/data/concepts/${UNKNOWN_ID}/preview-files`, s.artist));
  });
});

// ---------------------------------------------------------------------------------------------
// A gazu script, end to end
// ---------------------------------------------------------------------------------------------

describe("gazu-style scenario", () => {
  test("login, project, asset type, asset, sequence, shot, tasks, comment with a status change, read back, logout", async () => {
    // gazu.client.host_is_up / get_api_version.
    expect((await server.request("HEAD", "/api", { token: null })).status).toBe(200);
    const index = expectStatus(await server.json("GET", "/api/", { token: null }), 200);
    expect(index).toMatchObject({ api: "Zou" });
    expect(typeof index.version).toBe("string");

    // gazu.log_in(email, password).
    const loginAnswer = await server.json("POST", "/api/auth/login", { token: null, body: { email: "admin@example.com", password: "secret-password" } });
    expect(loginAnswer.status).toBe(200);
    expect(loginAnswer.body).toMatchObject({ login: true, user: { email: "admin@example.com", role: "admin", type: "Person" } });
    expect(typeof loginAnswer.body.access_token).toBe("string");
    expect(typeof loginAnswer.body.refresh_token).toBe("string");
    expect(loginAnswer.body.user).not.toHaveProperty("password");
    const me: Account = { id: loginAnswer.body.user.id, email: "admin@example.com", password: "secret-password", token: loginAnswer.body.access_token, role: "admin", full_name: loginAnswer.body.user.full_name };
    const wrong = await server.json("POST", "/api/auth/login", { token: null, body: { email: "admin@example.com", password: "nope" } });
    expect(wrong.status).toBe(400);
    expect(wrong.body.login).toBe(false);

    // gazu.project.new_project.
    const project = expectStatus(await post("/api/data/projects", me, { name: "Agent 327", production_type: "short" }), 201);
    expect(project).toMatchObject({ type: "Project", name: "Agent 327", production_type: "short", project_status_id: s.project.project_status_id });
    expect(project.id).toMatch(UUID);

    // gazu.asset.new_asset_type, then get_asset_type_by_name.
    const assetType = expectStatus(await post("/api/data/entity-types", me, { name: "Vehicle" }), 201);
    expect(assetType).toMatchObject({ name: "Vehicle" });
    const byName = expectStatus(await get("/api/data/entity-types?name=Vehicle", me), 200);
    expect(byName.map((t: any) => t.id)).toEqual([assetType.id]);
    const assetTypes = expectStatus(await get("/api/data/asset-types", me), 200);
    expect(assetTypes.map((t: any) => t.name)).toContain("Vehicle");

    // gazu.asset.new_asset.
    const car = expectStatus(
      await post(`/api/data/projects/${project.id}/asset-types/${assetType.id}/assets/new`, me, { name: "Car", description: "Red convertible", data: { speed: "fast" } }),
      201,
    );
    expect(car).toMatchObject({ type: "Asset", name: "Car", description: "Red convertible", project_id: project.id, entity_type_id: assetType.id, data: { speed: "fast" } });

    // gazu.shot.new_sequence (looks the name up first) and new_shot.
    expect(expectStatus(await get(`/api/data/sequences?project_id=${project.id}&name=SQ010`, me), 200)).toEqual([]);
    const sequence = expectStatus(await post(`/api/data/projects/${project.id}/sequences`, me, { name: "SQ010" }), 201);
    expect(sequence).toMatchObject({ type: "Sequence", name: "SQ010", project_id: project.id, parent_id: null });
    const shot = expectStatus(
      await post(`/api/data/projects/${project.id}/shots`, me, { name: "SH010", sequence_id: sequence.id, nb_frames: 48, data: { frame_in: 1, frame_out: 48 } }),
      201,
    );
    expect(shot).toMatchObject({ type: "Shot", name: "SH010", parent_id: sequence.id, nb_frames: 48, data: { frame_in: 1, frame_out: 48 } });

    // gazu.task.new_task: default status, task type by name, name lookup, then POST /data/tasks.
    const [todo] = expectStatus(await get("/api/data/task-status?is_default=True", me), 200).filter((t: any) => !t.for_concept);
    expect(todo.short_name).toBe("todo");
    const [animation] = expectStatus(await get("/api/data/task-types?name=Animation", me), 200);
    expect(animation).toMatchObject({ type: "TaskType", name: "Animation", for_entity: "Shot" });
    expect(expectStatus(await get(`/api/data/tasks?name=main&task_type_id=${animation.id}&entity_id=${shot.id}`, me), 200)).toEqual([]);
    const task = expectStatus(
      await post("/api/data/tasks", me, { project_id: project.id, entity_id: shot.id, task_type_id: animation.id, task_status_id: todo.id, assignees: [me.id], name: "main" }),
      201,
    );
    expect(task).toMatchObject({ type: "Task", name: "main", project_id: project.id, entity_id: shot.id, task_type_id: animation.id, task_status_id: todo.id, assignees: [me.id] });
    const [modeling] = expectStatus(await get("/api/data/task-types?name=Modeling", me), 200);
    const assetTasks = expectStatus(await post(`/api/actions/projects/${project.id}/task-types/${modeling.id}/assets/create-tasks`, me, [car.id]), 201);
    expect(assetTasks).toHaveLength(1);
    expect(assetTasks[0]).toMatchObject({ entity_id: car.id, task_type_id: modeling.id, task_status_id: todo.id });

    // gazu.task.add_comment with a status change.
    const [wip] = expectStatus(await get("/api/data/task-status?short_name=wip", me), 200);
    const comment = expectStatus(await post(`/api/actions/tasks/${task.id}/comment`, me, { task_status_id: wip.id, comment: "Blocking done", checklist: [], links: [] }), 201);
    expect(comment).toMatchObject({ type: "Comment", object_id: task.id, object_type: "Task", text: "Blocking done", task_status_id: wip.id, person_id: me.id });
    expect(comment.id).toMatch(UUID);
    expect(comment.created_at).toMatch(DATETIME);

    // Read everything back as gazu does.
    const readTask = expectStatus(await get(`/api/data/tasks/${task.id}`, me), 200);
    expect(readTask).toMatchObject({ id: task.id, type: "Task", task_status_id: wip.id, assignees: [me.id] });
    expect(readTask.real_start_date).toMatch(DATETIME);
    expect(readTask.last_comment_date).toMatch(DATETIME);
    const comments = expectStatus(await get(`/api/data/tasks/${task.id}/comments`, me), 200);
    expect(comments).toHaveLength(1);
    expect(comments[0]).toMatchObject({ id: comment.id, text: "Blocking done", task_status: { short_name: "wip" }, person: { id: me.id } });
    const shots = expectStatus(await get(`/api/data/projects/${project.id}/shots`, me), 200);
    expect(shots.map((x: any) => [x.name, x.type])).toEqual([["SH010", "Shot"]]);
    const fullShot = expectStatus(await get(`/api/data/shots/${shot.id}`, me), 200);
    expect(fullShot).toMatchObject({ id: shot.id, type: "Shot", sequence_id: sequence.id, sequence_name: "SQ010", project_name: "Agent 327" });
    expect(fullShot.tasks.map((t: any) => t.id)).toEqual([task.id]);
    const assets = expectStatus(await get(`/api/data/projects/${project.id}/assets`, me), 200);
    expect(assets.map((x: any) => [x.name, x.type])).toEqual([["Car", "Asset"]]);
    const shotTasks = expectStatus(await get(`/api/data/shots/${shot.id}/tasks`, me), 200);
    expect(shotTasks.map((t: any) => [t.id, t.task_status_id])).toEqual([[task.id, wip.id]]);
    const sequences = expectStatus(await get(`/api/data/projects/${project.id}/sequences`, me), 200);
    expect(sequences.map((x: any) => x.id)).toEqual([sequence.id]);

    // gazu.log_out: the token is revoked.
    expect((await server.request("GET", "/api/auth/logout", { token: me.token })).status).toBe(200);
    expect((await get(`/api/data/tasks/${task.id}`, me)).status).toBe(401);
  });
});
