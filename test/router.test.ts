/** The app's router (src/lib/memo-router.ts): built in parts, it must answer as one Hono tree would. */
import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { TrieRouter } from "hono/router/trie-router";
import { MemoRouter } from "../src/lib/memo-router";

/** The same routes on a Hono app with the given router; each handler says its name and params. */
function appWith(router: MemoRouter<any> | TrieRouter<any>) {
  const app = new Hono({ router });
  const trail = (name: string) => async (c: any, next: () => Promise<void>) => {
    c.set("trail", [...(c.get("trail") ?? []), name]);
    await next();
  };
  const end = (name: string) => (c: any) => c.json({ trail: [...(c.get("trail") ?? []), name], params: c.req.param() });
  app.use("*", trail("all"));
  app.get("/", end("root"));
  app.get("/data/persons", end("persons"));
  app.use("/data/*", trail("data-middleware"));
  app.get("/data/persons/:id", end("person"));
  app.get("/data/persons/:id/tasks", end("person-tasks"));
  app.get("/data/:model/:id", end("any-model"));
  app.get("/data/shots/with-tasks", end("shots-with-tasks"));
  app.get("/data/shots/:id", end("shot"));
  app.post("/data/shots/:id", end("shot-post"));
  app.get("/auth/authenticated", end("auth"));
  app.get("/files/*", end("files"));
  app.get("/:anything/status", end("status-anywhere"));
  return app;
}

const paths = [
  ["GET", "/"],
  ["GET", "/data/persons"],
  ["GET", "/data/persons/p1"],
  ["GET", "/data/persons/p1/tasks"],
  ["GET", "/data/projects/x1"],
  ["GET", "/data/shots/with-tasks"],
  ["GET", "/data/shots/s1"],
  ["POST", "/data/shots/s1"],
  ["GET", "/auth/authenticated"],
  ["GET", "/files/a/b/c.png"],
  ["GET", "/files"],
  ["GET", "/news/status"],
  ["GET", "/nowhere/at/all"],
  ["DELETE", "/data/persons/p1"],
] as const;

describe("the router built in parts", () => {
  test("answers every path as one TrieRouter does: handlers, their order, params, 404s", async () => {
    const parts = appWith(new MemoRouter());
    const whole = appWith(new TrieRouter());
    for (const [method, path] of paths) {
      for (let round = 0; round < 2; round++) {
        // Twice: the second answer comes from the remembered match.
        const [a, b] = await Promise.all([parts.request(path, { method }), whole.request(path, { method })]);
        expect(`${method} ${path} ${a.status}`).toBe(`${method} ${path} ${b.status}`);
        expect(await a.text()).toBe(await b.text());
      }
    }
    expect(await (await parts.request("/data/persons/p1")).json()).toEqual({ trail: ["all", "data-middleware", "person"], params: { id: "p1" } });
  });

  test("a route added after the first requests is seen (parts and remembered matches are rebuilt)", async () => {
    const app = appWith(new MemoRouter());
    expect((await app.request("/data/edits/e1/extra")).status).toBe(404);
    expect((await app.request("/data/persons/p1")).status).toBe(200);
    app.get("/data/edits/:id/extra", (c) => c.json({ extra: c.req.param("id") }));
    app.get("/data/*", (c) => c.json({ late: true }));
    expect(await (await app.request("/data/edits/e1/extra")).json()).toEqual({ extra: "e1" });
    expect(await (await app.request("/data/persons/p1")).json()).toEqual({ trail: ["all", "data-middleware", "person"], params: { id: "p1" } });
    expect(await (await app.request("/data/unknown/a/b")).json()).toEqual({ late: true });
  });
});
