/** API documentation: /openapi.json, /openapi-raw.json and the Swagger UI page at /apidocs. */
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { listRoutes } from "../src/app";
import { makeServer, type TestServer } from "./helpers";

let server: TestServer;
const HTTP_METHODS = new Set(["get", "put", "post", "delete", "patch", "head", "options", "trace"]);

beforeAll(async () => {
  server = await makeServer();
});

function operations(doc: any): { method: string; path: string; op: any }[] {
  return Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ method, path, op })),
  );
}

describe("OpenAPI documents", () => {
  test("/openapi.json has one operation per served route, without a token", async () => {
    const res = await server.json("GET", "/api/openapi.json", { token: null });
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toMatch(/^3\.0\.\d$/);
    expect(typeof doc.info.title).toBe("string");
    expect(typeof doc.info.version).toBe("string");
    expect(doc.servers).toEqual([{ url: "/api" }]);
    const ops = operations(doc);
    const routes = listRoutes(server.app);
    expect(ops.length).toBe(routes.length);
    const listed = new Set(ops.map(({ method, path }) => `${method.toUpperCase()} /api${path === "/" ? "" : path}`));
    expect([...listed].sort()).toEqual([...routes].sort());
    const operationIds = new Set<string>();
    for (const { method, path, op } of ops) {
      expect(HTTP_METHODS.has(method)).toBe(true);
      expect(path.startsWith("/")).toBe(true);
      expect(typeof op.summary).toBe("string");
      expect(Object.keys(op.responses).length).toBeGreaterThan(0);
      expect(operationIds.has(op.operationId)).toBe(false);
      operationIds.add(op.operationId);
      for (const name of path.match(/\{[^}]+\}/g) ?? []) {
        expect(op.parameters.some((p: any) => p.in === "path" && `{${p.name}}` === name && p.required === true)).toBe(true);
      }
      expect(op["x-codeSamples"][0].source).toContain(`/api${path}`);
    }
  });

  test("summaries, areas and permissions come from the reference route list", async () => {
    const doc = (await server.json("GET", "/api/openapi.json")).body;
    const login = doc.paths["/auth/login"].post;
    expect(login.tags).toEqual(["auth"]);
    expect(login.summary).toContain("Authenticate with email and password");
    expect(login.security).toEqual([]);
    expect(login.responses["401"]).toBeDefined();
    const apply = doc.paths["/data/projects/{project_id}/apply-template/{project_template_id}"].post;
    expect(apply).toMatchObject({ tags: ["project_templates"], "x-permission": "admin" });
    expect(apply.security).toBeUndefined();
    // Every served route of routes.tsv is described by its own row.
    const rows = readFileSync(join(import.meta.dir, "../src/lib/route-docs.generated.ts"), "utf8");
    const described = operations(doc).filter(({ op }) => op["x-permission"] !== null).length;
    expect(described).toBe(operations(doc).length);
    expect(rows).toContain('"GET /openapi.json"');
  });

  test("a route's declared valibot schema becomes its request body", async () => {
    const doc = (await server.json("GET", "/api/openapi.json")).body;
    const fromProject = doc.paths["/data/project-templates/from-project/{project_id}"].post;
    const schema = fromProject.requestBody.content["application/json"].schema;
    expect(schema.type).toBe("object");
    expect(schema.required).toEqual(["name"]);
    expect(schema.properties.name.type).toBe("string");
  });

  test("/openapi-raw.json is the same description without code samples", async () => {
    const raw = await server.json("GET", "/openapi-raw.json", { token: null });
    expect(raw.status).toBe(200);
    const ops = operations(raw.body);
    expect(ops.length).toBe(listRoutes(server.app).length);
    expect(ops.some(({ op }) => "x-codeSamples" in op)).toBe(false);
  });
});

describe("Swagger UI page", () => {
  test("/apidocs is HTML whose assets are served without a token", async () => {
    const page = await server.request("GET", "/apidocs", { token: null });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    const html = await page.text();
    const assets = [...html.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBe(4);
    for (const asset of assets) {
      const res = await server.request("GET", asset, { token: null });
      expect(res.status).toBe(200);
      expect((await res.text()).length).toBeGreaterThan(asset.endsWith("init.js") ? 50 : 10_000);
    }
    expect((await server.request("GET", "/apidocs/swagger-ui.css", { token: null })).headers.get("content-type")).toContain("text/css");
    expect((await server.request("GET", "/apidocs/init.js", { token: null })).headers.get("content-type")).toContain("javascript");
    expect((await server.request("GET", "/apidocs/../package.json", { token: null })).status).toBe(404);
    expect((await server.request("GET", "/apidocs/nothing.js", { token: null })).status).toBe(404);
  });

  test("the page and the raw spec are beside the API, not under /api (Zou's 404 there)", async () => {
    for (const path of ["/api/apidocs", "/api/openapi-raw.json", "/api/apidocs/swagger-ui.css"]) {
      const res = await server.json("GET", path);
      expect(res.status).toBe(404);
      expect(res.body.error).toBe(true);
      expect(res.body.message).toContain("404 Not Found");
    }
  });
});
