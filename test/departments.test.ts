/** Software licenses and hardware items linked to departments. */
import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type Person, type TestServer } from "./helpers";

const UNKNOWN_ID = "3f4a9c2e-8b1d-4c6e-9a7f-2d5b8e1c0a93";

let server: TestServer;
let manager: Person;
let departmentId: string;
let softwareId: string;
let hardwareId: string;

beforeAll(async () => {
  server = await makeServer();
  manager = await server.person("manager");
  departmentId = (await server.db.selectFrom("department").select("id").where("name", "=", "Modeling").executeTakeFirstOrThrow()).id;
  softwareId = (await server.json("POST", "/api/data/softwares", { body: { name: "Blender", short_name: "bl", file_extension: "blend" } })).body.id;
  hardwareId = (await server.json("POST", "/api/data/hardware-items", { body: { name: "Workstation", short_name: "ws" } })).body.id;
});

describe.each([
  ["software-licenses", "software_id", () => softwareId, "Blender"],
  ["hardware-items", "hardware_item_id", () => hardwareId, "Workstation"],
] as const)("department %s", (segment, key, itemId, name) => {
  test("link, list per department and for all, unlink", async () => {
    const linked = await server.json("POST", `/api/data/departments/${departmentId}/${segment}`, { body: { [key]: itemId() } });
    expect(linked.status).toBe(201);
    expect(linked.body).toMatchObject({ department_id: departmentId, [key]: itemId() });
    const again = await server.json("POST", `/api/data/departments/${departmentId}/${segment}`, { body: { [key]: itemId() } });
    expect(again.body.id).toBe(linked.body.id);
    const all = await server.json("GET", `/api/data/departments/${segment}`);
    expect(all.status).toBe(200);
    expect(all.body[departmentId].map((item: any) => item.name)).toEqual([name]);
    const one = await server.json("GET", `/api/data/departments/${departmentId}/${segment}/${itemId()}`);
    expect(one.body.map((item: any) => item.id)).toEqual([itemId()]);
    // Zou emits no event when a department's software or hardware changes.
    expect((await server.db.selectFrom("api_event").select("name").where("name", "=", "department:update").execute()).length).toBe(0);
    expect((await server.json("DELETE", `/api/data/departments/${departmentId}/${segment}/${itemId()}`)).status).toBe(204);
    expect((await server.json("GET", `/api/data/departments/${segment}`)).body).toEqual({});
  });

  test("403 for non-admins, 404 unknown department, 400 bad ids or unknown item", async () => {
    expect((await server.json("GET", `/api/data/departments/${segment}`, { token: manager.token })).status).toBe(403);
    expect((await server.json("POST", `/api/data/departments/${departmentId}/${segment}`, { token: manager.token, body: { [key]: itemId() } })).status).toBe(403);
    expect((await server.json("POST", `/api/data/departments/${UNKNOWN_ID}/${segment}`, { body: { [key]: itemId() } })).status).toBe(404);
    expect((await server.json("POST", `/api/data/departments/${departmentId}/${segment}`, { body: { [key]: UNKNOWN_ID } })).status).toBe(400);
    expect((await server.json("POST", `/api/data/departments/${departmentId}/${segment}`, { body: {} })).status).toBe(400);
    expect((await server.json("DELETE", `/api/data/departments/not-an-id/${segment}/${itemId()}`)).status).toBe(400);
    expect((await server.json("GET", `/api/data/departments/${UNKNOWN_ID}/${segment}/${itemId()}`)).status).toBe(404);
  });
});
