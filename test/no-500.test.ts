/**
 * Robustness: every served route, called on a real studio (real ids), with malformed and unknown
 * ids, empty and wrong bodies and odd query strings, by an admin, an artist and a vendor, answers
 * without a 500 ("a 500 is a bug").
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { listRoutes } from "../src/app";
import { makeServer, type TestServer } from "./helpers";
import { buildStudio, type Studio } from "./seed-fixtures";

let server: TestServer;
let studio: Studio;
let routes: { method: string; path: string }[];
const ids: Record<string, string> = {};

const UNKNOWN_ID = "a6f2b4a2-1c1d-4e4b-9a55-5b5d2d2e1f00";

beforeAll(async () => {
  server = await makeServer();
  studio = await buildStudio(server);
  const s = studio;
  Object.assign(ids, {
    project_id: s.project.id, person_id: s.artist.id, task_id: s.tasks.animSh010.id, entity_id: s.shots.sh010.id,
    task_type_id: s.taskTypes.animation.id, sequence_id: s.sequence.id, shot_id: s.shots.sh010.id, asset_id: s.assets.rabbit.id,
    scene_id: s.shots.sh010.id, episode_id: s.sequence.id, comment_id: s.comments.wip.id, department_id: s.departments.Animation.id,
    asset_type_id: s.assetTypes.character.id, temporal_entity_id: s.shots.sh010.id, edit_id: s.shots.sh010.id, concept_id: s.concept.id,
    task_status_id: s.statuses.wip.id,
  });
  routes = listRoutes(server.app)
    .map((line) => {
      const [method, path] = line.split(" ");
      return { method: method!, path: path! };
    })
    .filter((route) => !route.path.includes("/status/test-event") && route.path !== "/api/auth/logout");
  // Writes last, deletes at the very end, so reads see the studio whole.
  const order = { GET: 0, POST: 1, PUT: 2, DELETE: 3 } as Record<string, number>;
  routes.sort((a, b) => (order[a.method] ?? 4) - (order[b.method] ?? 4));
});

function fill(path: string, mode: "real" | "malformed" | "unknown"): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    if (/year/.test(name)) return mode === "malformed" ? "20x4" : "2024";
    if (/month/.test(name)) return mode === "malformed" ? "13" : "3";
    if (/week|^day$/.test(name)) return mode === "malformed" ? "-1" : "2";
    if (/date/.test(name)) return mode === "malformed" ? "2024-02-31" : "2024-03-04";
    if (name === "entity_type") return mode === "malformed" ? "nothing" : "sequence";
    if (name === "field_name" || name === "file_name") return "some_field";
    if (mode === "malformed") return "not-a-uuid";
    if (mode === "unknown") return UNKNOWN_ID;
    return ids[name] ?? UNKNOWN_ID;
  });
}

const bodies: { label: string; body?: unknown; headers?: Record<string, string> }[] = [
  { label: "no body" },
  { label: "empty object", body: {} },
  {
    label: "wrong types",
    body: { name: 12, id: "x", project_id: "nope", data: "text", entity_id: 3, task_status_id: [], person_id: {}, date: "yesterday", text: null, task_type_id: 7, assignees: "me", priority: "high", entity_ids: {}, email: 5, password: 1, role: "emperor" },
  },
  { label: "a list", body: ["not-an-id", 4, null] },
  { label: "broken JSON", body: "{not json", headers: { "Content-Type": "application/json" } },
];

/** Keys that reach Object.prototype through a plain-object lookup (issue 8 item 9). */
const PROTOTYPE_NAMES = ["constructor", "toString", "__proto__", "valueOf", "hasOwnProperty", "isPrototypeOf", "__defineGetter__", "toLocaleString"];
const PROTOTYPE_QUERY = PROTOTYPE_NAMES.map((name) => `${name}=x`).join("&");
const JSON_HEADERS = { "Content-Type": "application/json" };
const hostileBodies: { label: string; body: string }[] = [
  ...PROTOTYPE_NAMES.map((name) => ({ label: `key ${name}`, body: `{"name": "odd", ${JSON.stringify(name)}: "x"}` })),
  { label: "__proto__ object", body: '{"name": "odd", "__proto__": {"admin": true}}' },
  { label: "nested 100,000 levels", body: `{"name": "deep", "data": ${"[".repeat(100_000)}${"]".repeat(100_000)}}` },
  { label: "list nested 100,000 levels", body: `${"[".repeat(100_000)}${"]".repeat(100_000)}` },
];

describe("Object.prototype names and deep JSON are 400s, never 500s", () => {
  test("every route: prototype-named query keys are a 400; hostile bodies never a 500", async () => {
    const failures: string[] = [];
    const token = studio.admin.token;
    for (const route of routes) {
      const path = fill(route.path, "real");
      const query = await server.request(route.method, `${path}?${PROTOTYPE_QUERY}`, { token });
      if (query.status !== 400) failures.push(`${route.method} ${path}?${PROTOTYPE_QUERY} -> ${query.status}`);
      await query.arrayBuffer();
      if (route.method !== "POST" && route.method !== "PUT") continue;
      for (const variant of hostileBodies) {
        const response = await server.request(route.method, path, { token, body: variant.body, headers: JSON_HEADERS });
        if (response.status >= 500) failures.push(`${route.method} ${path} [${variant.label}] -> ${response.status} ${(await response.text()).slice(0, 200)}`);
        else await response.arrayBuffer();
      }
    }
    expect(failures).toEqual([]);
  }, 300_000);

  test("crud creates and updates answer 400 to prototype-named keys and deep JSON", async () => {
    const creates = routes.filter((route) => route.method === "POST" && /^\/api\/data\/[a-z-]+$/.test(route.path));
    expect(creates.length).toBeGreaterThan(30);
    const failures: string[] = [];
    for (const route of creates) {
      for (const variant of hostileBodies) {
        const response = await server.request("POST", route.path, { token: studio.admin.token, body: variant.body, headers: JSON_HEADERS });
        if (response.status !== 400) failures.push(`POST ${route.path} [${variant.label}] -> ${response.status}`);
        await response.arrayBuffer();
      }
    }
    for (const variant of hostileBodies) {
      const response = await server.request("PUT", `/api/data/projects/${studio.project.id}`, { token: studio.admin.token, body: variant.body, headers: JSON_HEADERS });
      if (response.status !== 400) failures.push(`PUT project [${variant.label}] -> ${response.status}`);
      await response.arrayBuffer();
    }
    expect(failures).toEqual([]);
  }, 300_000);
});

describe("no route answers 500 to bad input", () => {
  test("real, malformed and unknown ids; bad bodies; odd queries; three roles", async () => {
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    const callers = [studio.admin.token, studio.artist.token, studio.vendor.token];
    for (const route of routes) {
      for (const mode of ["real", "malformed", "unknown"] as const) {
        const path = fill(route.path, mode) + (route.method === "GET" ? "?page=x&limit=-1&project_id=zz&relations=maybe&episode_id=all" : "");
        const variants = route.method === "GET" || route.method === "DELETE" ? [{ label: "-" }] : bodies;
        for (const token of callers) {
          for (const variant of variants) {
            const response = await server.request(route.method, path, { token, body: variant.body, headers: variant.headers });
            if (response.status >= 500) {
              failures.push(`${route.method} ${path} [${variant.label}] -> ${response.status} ${(await response.text()).slice(0, 200)}`);
            } else {
              await response.arrayBuffer();
            }
            statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          }
        }
      }
    }
    // The calls reach the handlers: many succeed, many are refused for each reason.
    for (const status of [200, 201, 204, 400, 403, 404]) expect(statuses.get(status) ?? 0).toBeGreaterThan(20);
    expect(failures).toEqual([]);
  }, 300_000);
});
