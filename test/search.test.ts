/** POST /data/search (full-text indexes inside the database) and GET /admin/config/check, through HTTP. */
import { describe, expect, test, beforeAll } from "bun:test";
import { Migrator } from "kysely";
import { makeServer, type Person, type TestServer } from "./helpers";
import { openDatabase } from "../src/db/database";
import { migrationProvider } from "../db/migrations/index";
import { searchEntityIds, searchPersonIds } from "../src/db/search-index";
import { newId, utcNow } from "../src/lib/ids";

let server: TestServer;
let member: Person;
let outsider: Person;
let project: any;
let otherProject: any;
let characterTypeId: string;

async function createAsset(projectId: string, name: string, description: string, token?: string) {
  const { status, body } = await server.json("POST", `/api/data/projects/${projectId}/asset-types/${characterTypeId}/assets/new`, {
    token,
    body: { name, description },
  });
  expect(status).toBe(201);
  return body;
}

function search(body: unknown, token?: string) {
  return server.json("POST", "/api/data/search", { token, body });
}

beforeAll(async () => {
  server = await makeServer();
  member = await server.person("user", { first_name: "Hélène", last_name: "Dupré" });
  outsider = await server.person("user");
  project = await server.project("Search Show", [member]);
  otherProject = await server.project("Other Show", [outsider]);
  const types = await server.json("GET", "/api/data/asset-types");
  characterTypeId = types.body.find((t: any) => t.name === "Character").id;
});

describe("POST /data/search", () => {
  test("a word of a description finds its asset right after the create, with Zou's extra keys", async () => {
    const asset = await createAsset(project.id, "Robot_Guard", "A rusty sentinel that patrols the docks");
    const { status, body } = await search({ query: "sentinel" }, member.token);
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual(["assets", "persons", "shots"]);
    expect(body.assets.map((a: any) => a.id)).toEqual([asset.id]);
    expect(body.assets[0]).toMatchObject({
      id: asset.id,
      name: "Robot_Guard",
      type: "Asset",
      project_id: project.id,
      project_name: "Search Show",
      asset_type_name: "Character",
      preview_file_extension: null,
    });
    expect(body.shots).toEqual([]);
  });

  test("the index follows updates and deletions in the same write", async () => {
    const asset = await createAsset(project.id, "Lamp", "an old lantern");
    expect((await search({ query: "lantern" })).body.assets).toHaveLength(1);
    const put = await server.json("PUT", `/api/data/entities/${asset.id}`, { body: { description: "a brass candlestick" } });
    expect(put.status).toBe(200);
    expect((await search({ query: "lantern" })).body.assets).toEqual([]);
    expect((await search({ query: "candlestick" })).body.assets.map((a: any) => a.id)).toEqual([asset.id]);
    // Names, the asset type and the metadata values are searched too (prefixes of words match).
    expect((await search({ query: "lam" })).body.assets.map((a: any) => a.id)).toEqual([asset.id]);
    expect((await search({ query: "charact lamp" })).body.assets.map((a: any) => a.id)).toEqual([asset.id]);
    expect((await server.json("DELETE", `/api/data/assets/${asset.id}?force=true`)).status).toBe(204);
    expect((await search({ query: "candlestick" })).body.assets).toEqual([]);
  });

  test("a non-member finds nothing of a project; project_id narrows to one of the caller's projects", async () => {
    await createAsset(project.id, "Kraken", "giant squid of the abyss");
    expect((await search({ query: "abyss" }, outsider.token)).body.assets).toEqual([]);
    expect((await search({ query: "abyss", project_id: project.id }, outsider.token)).body.assets).toEqual([]);
    expect((await search({ query: "abyss", project_id: project.id }, member.token)).body.assets).toHaveLength(1);
    expect((await search({ query: "abyss", project_id: otherProject.id })).body.assets).toEqual([]);
    // Admins search every open project.
    expect((await search({ query: "abyss" })).body.assets).toHaveLength(1);
  });

  test("accents and case do not matter, in the query or in the text", async () => {
    const asset = await createAsset(project.id, "Éléphant", "Créature GÉANTE du désert");
    for (const query of ["elephant", "ELEPHANT", "géante", "GEANTE desert", "créature"]) {
      const { body } = await search({ query }, member.token);
      expect(body.assets.map((a: any) => a.id)).toEqual([asset.id]);
    }
  });

  test("a person is found by name (minimal form), accents and case ignored", async () => {
    const { status, body } = await search({ query: "helene dupre", index_names: ["persons"] }, outsider.token);
    expect(status).toBe(200);
    expect(Object.keys(body)).toEqual(["persons"]);
    expect(body.persons).toHaveLength(1);
    expect(body.persons[0]).toMatchObject({ id: member.id, first_name: "Hélène", last_name: "Dupré", full_name: "Hélène Dupré", departments: [] });
    expect(body.persons[0].email).toBeUndefined();
    // A renamed person is found under the new name only.
    await server.json("PUT", `/api/data/persons/${member.id}`, { body: { last_name: "Martin" } });
    expect((await search({ query: "dupré", index_names: ["persons"] })).body.persons).toEqual([]);
    expect((await search({ query: "helene martin", index_names: ["persons"] })).body.persons.map((p: any) => p.id)).toEqual([member.id]);
  });

  test("shots come with their sequence name; limit and offset page the results", async () => {
    const seq = await server.json("POST", `/api/data/projects/${project.id}/sequences`, { body: { name: "SQ42" } });
    expect(seq.status).toBe(201);
    const ids: string[] = [];
    for (const name of ["SH010", "SH020", "SH030"]) {
      const shot = await server.json("POST", `/api/data/projects/${project.id}/shots`, { body: { name, sequence_id: seq.body.id, description: "storm chase" } });
      expect(shot.status).toBe(201);
      ids.push(shot.body.id);
    }
    const first = await search({ query: "storm", index_names: ["shots"] }, member.token);
    expect(first.body.shots).toHaveLength(3); // Zou's default limit
    expect(first.body.shots[0]).toMatchObject({ type: "Shot", sequence_name: "SQ42", project_name: "Search Show", preview_file_extension: null });
    const page = await search({ query: "storm chase", index_names: ["shots"], limit: 2, offset: 2 }, member.token);
    expect(page.body.shots).toHaveLength(1);
    const all = await search({ query: "sq42", index_names: ["shots", "assets"], limit: 10 }, member.token);
    expect(all.body.shots.map((s: any) => s.id).sort()).toEqual([...ids].sort());
    expect(all.body.assets).toEqual([]);
  });

  test("metadata values are searched; a rename re-indexes without leaving the old row", async () => {
    const asset = await createAsset(project.id, "Barrel", "wooden");
    const put = await server.json("PUT", `/api/data/entities/${asset.id}`, { body: { data: { color: "vermilion" } } });
    expect(put.status).toBe(200);
    expect((await search({ query: "vermilion" }, member.token)).body.assets.map((a: any) => a.id)).toEqual([asset.id]);
    for (const name of ["Barrel2", "Barrel3"]) {
      expect((await server.json("PUT", `/api/data/entities/${asset.id}`, { body: { name } })).status).toBe(200);
    }
    const found = await search({ query: "wooden", limit: 10 }, member.token);
    expect(found.body.assets.map((a: any) => a.name)).toEqual(["Barrel3"]);
  });

  test("a query under three characters answers {}", async () => {
    expect(await search({ query: "ab" })).toEqual({ status: 200, body: {} });
  });

  test("bad bodies are 400, no token is 401", async () => {
    expect((await search({})).status).toBe(400);
    expect((await search({ query: 12 })).status).toBe(400);
    expect((await search({ query: "robot", limit: 0 })).status).toBe(400);
    expect((await search({ query: "robot", offset: -1 })).status).toBe(400);
    expect((await search({ query: "robot", project_id: "not-an-id" })).status).toBe(400);
    expect((await search({ query: "robot", index_names: [1] })).status).toBe(400);
    expect((await search(["robot"])).status).toBe(400);
    expect((await search({ query: "robot" }, null as unknown as string)).status).toBe(401);
  });

  test("FTS syntax in the query is plain text, never an error", async () => {
    for (const query of ['"unterminated', "NEAR(a b)", "name:robot", "a* OR -b", "***", "'); drop table entity; --"]) {
      const { status } = await search({ query });
      expect(status).toBe(200);
    }
  });
});

describe("migration", () => {
  test("an existing database gets its rows indexed when it upgrades", async () => {
    const db = openDatabase("sqlite://:memory:");
    const migrator = new Migrator({ db, provider: migrationProvider });
    expect((await migrator.migrateTo("0001_initial")).error).toBeUndefined();
    const now = utcNow();
    const statusId = newId();
    const projectId = newId();
    const typeId = newId();
    const assetId = newId();
    const personId = newId();
    await db.insertInto("project_status").values({ id: statusId, created_at: now, updated_at: now, name: "Open", color: "#000" } as any).execute();
    await db.insertInto("project").values({ id: projectId, created_at: now, updated_at: now, name: "Legacy", project_status_id: statusId } as any).execute();
    await db.insertInto("entity_type").values({ id: typeId, created_at: now, updated_at: now, name: "Prop" } as any).execute();
    await db.insertInto("entity").values({ id: assetId, created_at: now, updated_at: now, name: "Anvil", description: "forged iron", project_id: projectId, entity_type_id: typeId } as any).execute();
    await db.insertInto("person").values({ id: personId, created_at: now, updated_at: now, first_name: "Zoë", last_name: "Old", email: "zoe@example.com", active: true } as any).execute();
    expect((await migrator.migrateToLatest()).error).toBeUndefined();
    expect(await searchEntityIds(db, { words: ["iron"], projectIds: [projectId], entityTypes: { exclude: [] }, limit: 3, offset: 0 })).toEqual([assetId]);
    expect(await searchPersonIds(db, ["zoe"], 3, 0)).toEqual([personId]);
    expect((await migrator.migrateDown()).error).toBeUndefined();
    expect((await migrator.migrateToLatest()).error).toBeUndefined();
    await db.destroy();
  });
});

describe("GET /admin/config/check", () => {
  test("absent without ADMIN_TOKEN", async () => {
    expect((await server.json("GET", "/api/admin/config/check", { token: null })).status).toBe(404);
  });

  test("answers the operator holding ADMIN_TOKEN, 403 for anyone else (a session included)", async () => {
    const admin = await makeServer({ adminToken: "operator-token-123" });
    const denied = [null, "wrong-token", admin.admin.token];
    for (const token of denied) expect((await admin.json("GET", "/api/admin/config/check", { token })).status).toBe(403);
    const { status, body } = await admin.json("GET", "/api/admin/config/check", { token: "operator-token-123" });
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual(["active_users", "default_locale", "default_timezone", "nomad_host", "user_limit"]);
    expect(body.user_limit).toEqual({ env: expect.any(Number), redis: String(admin.config.userLimit) });
    expect(body.default_locale.redis).toBe("en_US");
    expect(body.active_users).toBe(1);
  });
});
