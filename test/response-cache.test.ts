/** The with-tasks answer cache: the same caller on an unchanged database, and nothing else. */
import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type TestServer } from "./helpers";
import { addTask, createSequence, createShot, production, type Production } from "./entities-fixtures";

let server: TestServer;
let prod: Production;
let sequence: any;

beforeAll(async () => {
  server = await makeServer();
  prod = await production(server);
  sequence = await createSequence(server, prod.project.id, "SQ01");
  const shot = await createShot(server, prod.project.id, sequence.id, "SH010");
  await addTask(server, shot, "Animation", { assignees: [prod.artist] });
});

const url = () => `/api/data/shots/with-tasks?project_id=${prod.project.id}`;

describe("with-tasks answers served from the cache", () => {
  test("a repeated request gets the same answer", async () => {
    const first = await server.json("GET", url());
    const second = await server.json("GET", url());
    expect(first.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(first.body.map((shot: any) => shot.name)).toEqual(["SH010"]);
  });

  test("a write through the API shows in the next answer", async () => {
    await server.json("GET", url());
    await createShot(server, prod.project.id, sequence.id, "SH020");
    const after = await server.json("GET", url());
    expect(after.body.map((shot: any) => shot.name).sort()).toEqual(["SH010", "SH020"]);
    const renamed = await server.json("PUT", `/api/data/entities/${after.body[0].id}`, { body: { description: "changed" } });
    expect(renamed.status).toBe(200);
    const again = await server.json("GET", url());
    expect(again.body.find((shot: any) => shot.id === after.body[0].id).description).toBe("changed");
  });

  test("another caller is checked again: an admin's cached answer never reaches an outsider", async () => {
    expect((await server.json("GET", url())).status).toBe(200);
    const outsider = await server.json("GET", url(), { token: prod.outsider.token });
    expect(outsider.status).toBe(403);
  });

  test("removing a member from the team takes effect at once", async () => {
    expect((await server.json("GET", url(), { token: prod.artist.token })).status).toBe(200);
    const removed = await server.request("DELETE", `/api/data/projects/${prod.project.id}/team/${prod.artist.id}`);
    expect(removed.status).toBe(204);
    expect((await server.json("GET", url(), { token: prod.artist.token })).status).toBe(403);
  });
});
