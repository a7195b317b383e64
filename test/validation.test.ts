/**
 * Request validation (issue 9 "Bodies are not checked for types", issue 8 items 9 and 11): every
 * body and query is checked for types and ranges; a wrong one is a 400 naming the field, never a
 * silent coercion, while the inputs Kitsu and gazu send keep working.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type TestServer } from "./helpers";
import { buildStudio, type Studio } from "./seed-fixtures";

let server: TestServer;
let studio: Studio;

beforeAll(async () => {
  server = await makeServer();
  studio = await buildStudio(server);
});

const JSON_HEADERS = { "Content-Type": "application/json" };

/** Sends raw JSON text (lists, scalars, deep nesting) as admin. */
function sendRaw(method: string, path: string, text: string) {
  return server.json(method, path, { body: text, headers: JSON_HEADERS });
}

/** The field names a 400 answer points at (message and `data.errors`). */
function namedFields(body: any): string {
  return [body?.message ?? "", ...((body?.data?.errors ?? []) as { field: string; message: string }[]).map((e) => `${e.field} ${e.message}`)].join(" | ");
}

describe("crud bodies are checked against the column types", () => {
  test("POST /data/projects {name: 5} is a 400 naming the field, and creates nothing", async () => {
    const before = (await server.json("GET", "/api/data/projects")).body.length;
    const answer = await server.json("POST", "/api/data/projects", { body: { name: 5 } });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: true, message: "Field name must be a string." });
    expect((await server.json("GET", "/api/data/projects")).body.length).toBe(before);
  });

  test("each column type refuses what it cannot hold", async () => {
    const task = `/api/data/tasks/${studio.tasks.animSh010.id}`;
    const project = `/api/data/projects/${studio.project.id}`;
    const cases: [string, Record<string, unknown>, string][] = [
      [task, { description: ["a list"] }, "description"],
      [task, { data: "text" }, "data"],
      [task, { data: 12 }, "data"],
      [task, { assigner_id: "not-an-id" }, "assigner_id"],
      [task, { start_date: "yesterday" }, "start_date"],
      [task, { due_date: 20240101 }, "due_date"],
      [task, { priority: "high" }, "priority"],
      [task, { priority: 1.5 }, "priority"],
      [task, { difficulty: true }, "difficulty"],
      [project, { is_clients_isolated: "maybe" }, "is_clients_isolated"],
      [project, { is_clients_isolated: "true" }, "is_clients_isolated"],
      [project, { production_style: "cubism" }, "production_style"],
      [project, { name: { text: "x" } }, "name"],
      [project, { code: 42 }, "code"],
    ];
    for (const [path, body, field] of cases) {
      const answer = await server.json("PUT", path, { body });
      expect({ body, status: answer.status }).toEqual({ body, status: 400 });
      expect(namedFields(answer.body)).toContain(field);
    }
  });

  test("what Kitsu and gazu send is still accepted: numbers as numeric text, 0/1 booleans, ISO dates", async () => {
    const task = `/api/data/tasks/${studio.tasks.animSh010.id}`;
    const updated = await server.json("PUT", task, { body: { estimation: "12", priority: "2", start_date: "2024-03-04T10:00:00.000Z", data: { k: 1 } } });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ estimation: 12, priority: 2, start_date: "2024-03-04T10:00:00", data: { k: 1 } });
    const project = await server.json("PUT", `/api/data/projects/${studio.project.id}`, { body: { is_clients_isolated: 1, fps: 24 } });
    expect(project.status).toBe(200);
    expect(project.body).toMatchObject({ is_clients_isolated: true, fps: "24" });
    expect((await server.json("PUT", `/api/data/projects/${studio.project.id}`, { body: { fps: "23.976" } })).body.fps).toBe("23.976");
  });
});

describe("numbers are bounded where a negative or absurd value means nothing (issue 8 item 11)", () => {
  test("crud columns: estimation, duration, priority, nb_frames, fps, sizes", async () => {
    const task = `/api/data/tasks/${studio.tasks.animSh010.id}`;
    for (const body of [{ estimation: -1 }, { estimation: 1e308 }, { duration: -5 }, { priority: -1 }, { retake_count: -2 }, { completion_rate: 250 }]) {
      const answer = await server.json("PUT", task, { body });
      expect({ body, status: answer.status }).toEqual({ body, status: 400 });
      expect(answer.body.message).toContain(Object.keys(body)[0]!);
    }
    const entity = `/api/data/entities/${studio.shots.sh010.id}`;
    for (const body of [{ nb_frames: -10 }, { nb_frames: 3_000_000_000 }, { data: { frame_in: -1 } }, { data: { frame_out: "abc" } }, { data: { fps: 1e9 } }]) {
      const answer = await server.json("PUT", entity, { body });
      expect({ body, status: answer.status }).toEqual({ body, status: 400 });
    }
    for (const fps of ["-5", "0", "fast", 5000]) {
      const answer = await server.json("PUT", `/api/data/projects/${studio.project.id}`, { body: { fps } });
      expect({ fps, status: answer.status }).toEqual({ fps, status: 400 });
    }
    const organisation = (await server.json("GET", "/api/data/organisations")).body[0];
    expect((await server.json("PUT", `/api/data/organisations/${organisation.id}`, { body: { hours_by_day: 30 } })).status).toBe(400);
    expect((await server.json("PUT", `/api/data/organisations/${organisation.id}`, { body: { hours_by_day: 7.5 } })).status).toBe(200);
  });

  test("shot routes: nb_frames and frame data; empty values still clear them", async () => {
    const shot = `/api/data/shots/${studio.shots.sh010.id}`;
    for (const body of [{ nb_frames: -1 }, { nb_frames: "many" }, { data: { frame_in: -3 } }, { data: { frame_out: 1e12 } }]) {
      const answer = await server.json("PUT", shot, { body });
      expect({ body, status: answer.status }).toEqual({ body, status: 400 });
    }
    const ok = await server.json("PUT", shot, { body: { nb_frames: "48", data: { frame_in: "1", frame_out: 48, fps: "25" } } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ nb_frames: 48, data: { frame_in: "1", frame_out: 48, fps: "25" } });
    expect((await server.json("PUT", shot, { body: { nb_frames: "", data: { frame_in: "" } } })).status).toBe(200);
    const created = await server.json("POST", `/api/data/projects/${studio.project.id}/shots`, {
      body: { name: "SH999", sequence_id: studio.sequence.id, nb_frames: -4 },
    });
    expect(created.status).toBe(400);
    expect(namedFields(created.body)).toContain("nb_frames");
  });

  test("action routes: time spent durations, task priorities, revisions", async () => {
    const timeSpent = `/api/actions/tasks/${studio.tasks.animSh010.id}/time-spents/2024-03-04/persons/${studio.artist.id}`;
    for (const duration of [-60, 0, 1e308, "lots"]) {
      const answer = await server.json("POST", timeSpent, { body: { duration } });
      expect({ duration, status: answer.status }).toEqual({ duration, status: 400 });
    }
    expect((await server.json("POST", timeSpent, { body: { duration: "90" } })).status).toBe(201);
    const priority = await server.json("PUT", "/api/actions/tasks/set-priority", { body: { task_ids: [studio.tasks.animSh010.id], priority: -1 } });
    expect(priority.status).toBe(400);
    expect(namedFields(priority.body)).toContain("priority");
    const review = await server.json("PUT", `/api/actions/tasks/${studio.tasks.animSh010.id}/to-review`, { body: { revision: -2 } });
    expect(review.status).toBe(400);
    expect(namedFields(review.body)).toContain("revision");
  });
});

describe("action bodies are checked with their schemas", () => {
  const path = () => `/api/data/tasks/${studio.tasks.animSh010.id}/working-file-path`;

  test("working-file-path: a number as name, null as sep, a list as body are 400s naming the field", async () => {
    const name = await server.json("POST", path(), { body: { name: 5 } });
    expect(name.status).toBe(400);
    expect(name.body).toMatchObject({ error: true, message: "Validation error." });
    expect(name.body.data.errors[0].field).toBe("name");
    const sep = await server.json("POST", path(), { body: { sep: null } });
    expect(sep.status).toBe(400);
    expect(sep.body.data.errors[0].field).toBe("sep");
    expect((await server.json("POST", path(), { body: { revision: -1 } })).status).toBe(400);
    expect((await sendRaw("POST", path(), '["main"]')).status).toBe(400);
    expect((await sendRaw("POST", path(), '"main"')).status).toBe(400);
    const ok = await server.json("POST", path(), { body: { name: "main", revision: 3 } });
    expect(ok.status).toBe(200);
    expect(ok.body.name).toContain("v003");
  });

  test("create-tasks routes refuse an object, a string or a number where a list of ids is expected", async () => {
    const base = `/api/actions/projects/${studio.project.id}/task-types/${studio.taskTypes.layout.id}`;
    const routes = [`${base}/shots/create-tasks`, `${base}/assets/create-tasks`, `${base}/edits/create-tasks`, `${base}/concepts/create-tasks`, `${base}/create-tasks/shot`];
    for (const route of routes) {
      for (const text of ['{"entity_ids": ["x"]}', '"SH010"', "5", "true"]) {
        const answer = await sendRaw("POST", route, text);
        expect({ route, text, status: answer.status }).toEqual({ route, text, status: 400 });
      }
    }
    // Kitsu's calls: a list of ids, or `{}` with the entity in the query string.
    const modeling = `/api/actions/projects/${studio.project.id}/task-types/${studio.taskTypes.modeling.id}`;
    const listed = await server.json("POST", `${modeling}/shots/create-tasks`, { body: [studio.shots.sh010.id] });
    expect(listed.status).toBe(201);
    expect(listed.body.map((t: any) => t.entity_id)).toEqual([studio.shots.sh010.id]);
    const single = await server.json("POST", `${modeling}/shots/create-tasks?id=${studio.shots.sh020.id}`, { body: {} });
    expect(single.status).toBe(201);
    expect(single.body.map((t: any) => t.entity_id)).toEqual([studio.shots.sh020.id]);
  });

  test("task actions refuse wrong types", async () => {
    const task = studio.tasks.animSh010.id;
    const cases: [string, string, unknown][] = [
      ["PUT", `/api/actions/tasks/${task}/assign`, { person_id: 12 }],
      ["PUT", "/api/actions/tasks/clear-assignation", { task_ids: {} }],
      ["PUT", "/api/actions/tasks/clear-assignation", { task_ids: [task], person_id: "someone" }],
      ["PUT", `/api/actions/persons/${studio.artist.id}/assign`, { task_ids: 7 }],
      ["PUT", `/api/actions/tasks/${task}/to-review`, { name: 3 }],
      ["POST", `/api/actions/tasks/${task}/comment`, { task_status_id: studio.statuses.wip.id, comment: { text: "x" } }],
      ["POST", `/api/actions/projects/${studio.project.id}/tasks/comment-many`, ["not an object"]],
    ];
    for (const [method, path, body] of cases) {
      const answer = await server.json(method, path, { body });
      expect({ path, body, status: answer.status }).toEqual({ path, body, status: 400 });
    }
  });
});

describe("Object.prototype names and deep JSON (issue 8 item 9)", () => {
  test("query keys named after Object.prototype members are 400s on lists", async () => {
    for (const key of ["toString", "constructor", "__proto__", "valueOf", "hasOwnProperty"]) {
      for (const path of ["/api/data/projects", "/api/data/tasks", `/api/data/projects/${studio.project.id}/shots`]) {
        const answer = await server.json("GET", `${path}?${key}=x`);
        expect({ path, key, status: answer.status }).toEqual({ path, key, status: 400 });
        expect(answer.body.message).toContain(key);
      }
    }
  });

  test("body keys named after Object.prototype members are 400s on creates and actions", async () => {
    for (const key of ["constructor", "toString", "__proto__"]) {
      const text = `{"name": "Odd", ${JSON.stringify(key)}: "x"}`;
      for (const path of ["/api/data/projects", "/api/data/task-types", `/api/data/projects/${studio.project.id}/sequences`]) {
        const answer = await sendRaw("POST", path, text);
        expect({ path, key, status: answer.status }).toEqual({ path, key, status: 400 });
      }
    }
  });

  test("JSON nested 100,000 levels is a 400", async () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    for (const [method, path] of [
      ["POST", "/api/data/projects"],
      ["PUT", `/api/data/tasks/${studio.tasks.animSh010.id}`],
      ["POST", `/api/data/tasks/${studio.tasks.animSh010.id}/working-file-path`],
      ["POST", `/api/actions/projects/${studio.project.id}/delete-tasks`],
    ] as const) {
      expect((await sendRaw(method, path, deep)).status).toBe(400);
      expect((await sendRaw(method, path, `{"name": "Deep", "data": ${deep}}`)).status).toBe(400);
    }
    // Ordinary nesting (Kitsu's annotations) is fine.
    const nested = JSON.stringify({ data: { a: [[[[[[[[{ b: [1, 2] }]]]]]]]] } });
    expect((await sendRaw("PUT", `/api/data/tasks/${studio.tasks.animSh010.id}`, nested)).status).toBe(200);
  });
});

describe("gazu's update_* calls PUT back the dict they read", () => {
  test("tasks, entities, projects, task types, statuses, asset types, departments round-trip", async () => {
    const organisation = (await server.json("GET", "/api/data/organisations")).body[0];
    const paths = [
      `/api/data/tasks/${studio.tasks.animSh010.id}`,
      `/api/data/entities/${studio.shots.sh010.id}`,
      `/api/data/entities/${studio.assets.rabbit.id}`,
      `/api/data/projects/${studio.project.id}`,
      `/api/data/task-types/${studio.taskTypes.animation.id}`,
      `/api/data/task-status/${studio.statuses.wip.id}`,
      `/api/data/entity-types/${studio.assetTypes.character.id}`,
      `/api/data/departments/${studio.departments.Animation.id}`,
      `/api/data/organisations/${organisation.id}`,
      `/api/data/comments/${studio.comments.wip.id}`,
    ];
    for (const path of paths) {
      const read = await server.json("GET", path);
      expect(read.status).toBe(200);
      const written = await server.json("PUT", path, { body: read.body });
      expect({ path, status: written.status, body: written.status === 200 ? null : written.body }).toEqual({ path, status: 200, body: null });
    }
  });
});
