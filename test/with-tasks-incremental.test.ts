/**
 * With-tasks lists rebuilt in proportion to a write: after each kind of write, the next answer of
 * every with-tasks list equals the answer built from scratch (all caches dropped), and writes that
 * do not concern a list (another project) leave its kept answer alone.
 *
 * "Hidden" writes go through Kysely without its plugins, so no cache can notice them: they show
 * whether an answer was rebuilt (they appear) or served from what was kept (they do not).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { sql } from "kysely";
import { makeServer, onPostgres, type Person, type TestServer } from "./helpers";
import { addTask, createAsset, createEpisode, createSequence, createShot, ndjson, production, typeId, type Production } from "./entities-fixtures";
import { forgetCachedAnswers } from "../src/lib/response-cache";
import { forgetListStates } from "../src/services/with-tasks-fragments";

let server: TestServer;
let prod: Production;
let other: Production;
let ep: any;
let seq: any;
let shots: any[];
let shotTasks: string[];
let hero: any;
let heroTask: string;
let edit: any;
let concept: any;
let otherShot: any;
let otherTask: string;

beforeAll(async () => {
  server = await makeServer();
  prod = await production(server, { production_type: "tvshow" });
  ep = await createEpisode(server, prod.project.id, "E01");
  seq = await createSequence(server, prod.project.id, "SQ01", ep.id);
  shots = [await createShot(server, prod.project.id, seq.id, "SH01", { data: { fps: 25 } }), await createShot(server, prod.project.id, seq.id, "SH02")];
  shotTasks = [
    await addTask(server, shots[0], "Animation", { assignees: [prod.artist] }),
    await addTask(server, shots[0], "Layout"),
    await addTask(server, shots[1], "Layout", { assignees: [prod.artist] }),
  ];
  hero = await createAsset(server, prod.project.id, "Character", "Hero", { episode_id: ep.id });
  heroTask = await addTask(server, hero, "Modeling", { assignees: [prod.artist], forEntity: "Asset" });
  await addTask(server, seq, "Layout");
  const editType = await typeId(server, "entity_type", "Edit");
  edit = (await server.json("POST", `/api/data/projects/${prod.project.id}/edits`, { body: { name: "Trailer", entity_type_id: editType } })).body;
  concept = (await server.json("POST", `/api/data/projects/${prod.project.id}/concepts`, { body: { name: "Mood" } })).body;
  await addTask(server, { id: edit.id, project_id: prod.project.id }, "Edit", { forEntity: "Edit" });
  await addTask(server, { id: concept.id, project_id: prod.project.id }, "Concept", { forEntity: "Concept" });

  other = await production(server);
  const otherSeq = await createSequence(server, other.project.id, "OSQ");
  otherShot = await createShot(server, other.project.id, otherSeq.id, "OSH01");
  otherTask = await addTask(server, otherShot, "Animation");
});

const p = () => prod.project.id;
/** Every with-tasks list of the project, in the forms Kitsu and gazu ask. */
const urls = () => [
  `/api/data/shots/with-tasks?project_id=${p()}`,
  `/api/data/shots/with-tasks?project_id=${p()}&compact=true`,
  `/api/data/shots/with-tasks?project_id=${p()}&compact=true&stream=true`,
  `/api/data/shots/with-tasks?project_id=${p()}&episode_id=${ep.id}`,
  `/api/data/assets/with-tasks?project_id=${p()}`,
  `/api/data/assets/with-tasks?project_id=${p()}&compact=true&stream=true`,
  `/api/data/assets/with-tasks?project_id=${p()}&episode_id=${ep.id}`,
  `/api/data/sequences/with-tasks?project_id=${p()}`,
  `/api/data/episodes/with-tasks?project_id=${p()}`,
  `/api/data/edits/with-tasks?project_id=${p()}`,
  `/api/data/concepts/with-tasks?project_id=${p()}`,
];

async function read(url: string, person: Person | null): Promise<{ status: number; body: any }> {
  const response = await server.request("GET", url, person ? { token: person.token } : {});
  const text = await response.text();
  if (response.status !== 200) return { status: response.status, body: text };
  return { status: 200, body: url.includes("stream=true") ? ndjson(text) : JSON.parse(text) };
}

/** Every list, as the admin and as the artist (subscriptions, team member). */
async function readAll(): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const person of [null, prod.artist]) for (const url of urls()) out.push(await read(url, person));
  return out;
}

/** The same lists built from scratch. */
async function readFresh(): Promise<unknown[]> {
  forgetCachedAnswers(server.db);
  forgetListStates(server.db);
  return readAll();
}

/** Reads (filling the caches), runs `write`, and checks the next answers against fresh ones. */
async function checkWrite(write: () => Promise<unknown>): Promise<unknown[]> {
  await readAll();
  await readAll();
  await write();
  const next = await readAll();
  expect(next).toEqual(await readFresh());
  return next;
}

const shotList = async (person: Person | null = null) => (await read(urls()[0]!, person)).body as any[];
const assetList = async () => (await read(urls()[4]!, null)).body as any[];
const taskOf = (list: any[], taskId: string) => list.flatMap((e: any) => e.tasks).find((t: any) => t.id === taskId);

describe("with-tasks answers after each kind of write", () => {
  test("status change through a comment", async () => {
    const wip = await typeId(server, "task_status", "Work In Progress");
    await checkWrite(async () => expect((await server.json("POST", `/api/actions/tasks/${shotTasks[0]}/comment`, { body: { task_status_id: wip, comment: "go" } })).status).toBe(201));
    expect(taskOf(await shotList(), shotTasks[0]!).task_status_id).toBe(wip);
  });

  test("task fields", async () => {
    await checkWrite(async () => expect((await server.json("PUT", `/api/data/tasks/${shotTasks[1]}`, { body: { priority: 3, estimation: 4 } })).status).toBe(200));
    expect(taskOf(await shotList(), shotTasks[1]!).priority).toBe(3);
    await checkWrite(async () => expect((await server.json("PUT", `/api/data/tasks/${heroTask}`, { body: { data: { k: 2 } } })).status).toBe(200));
  });

  test("assignment and unassignment", async () => {
    await checkWrite(async () => expect((await server.json("PUT", `/api/actions/tasks/${shotTasks[1]}/assign`, { body: { person_id: prod.supervisor.id } })).status).toBe(200));
    expect(taskOf(await shotList(), shotTasks[1]!).assignees).toEqual([prod.supervisor.id]);
    await checkWrite(async () => expect((await server.json("PUT", `/api/actions/tasks/clear-assignation`, { body: { task_ids: [shotTasks[1]] } })).status).toBe(200));
    expect(taskOf(await shotList(), shotTasks[1]!).assignees).toEqual([]);
  });

  test("subscription of the caller", async () => {
    await checkWrite(async () => expect((await server.request("POST", `/api/actions/user/tasks/${shotTasks[2]}/subscribe`, { token: prod.artist.token })).status).toBeLessThan(300));
    expect(taskOf(await shotList(prod.artist), shotTasks[2]!).is_subscribed).toBe(true);
    expect(taskOf(await shotList(), shotTasks[2]!).is_subscribed).toBe(false);
    await checkWrite(async () => expect((await server.request("DELETE", `/api/actions/user/tasks/${shotTasks[2]}/unsubscribe`, { token: prod.artist.token })).status).toBeLessThan(300));
    expect(taskOf(await shotList(prod.artist), shotTasks[2]!).is_subscribed).toBe(false);
  });

  test("new task and deleted task", async () => {
    let created = "";
    await checkWrite(async () => {
      created = await addTask(server, shots[1], "Animation");
    });
    expect(taskOf(await shotList(), created)).toBeDefined();
    await checkWrite(async () => expect((await server.request("DELETE", `/api/data/tasks/${created}`)).status).toBeLessThan(300));
    expect(taskOf(await shotList(), created)).toBeUndefined();
  });

  test("entity rename and data", async () => {
    await checkWrite(async () => expect((await server.json("PUT", `/api/data/entities/${shots[1].id}`, { body: { name: "SH00", data: { fps: 24 } } })).status).toBe(200));
    expect((await shotList()).map((s) => s.name)).toEqual(["SH00", "SH01"]);
    await checkWrite(async () => expect((await server.json("PUT", `/api/data/entities/${hero.id}`, { body: { description: "brave" } })).status).toBe(200));
    expect((await assetList()).find((a) => a.id === hero.id).description).toBe("brave");
  });

  test("sequence rename shows in its shots", async () => {
    await checkWrite(async () => expect((await server.json("PUT", `/api/data/entities/${seq.id}`, { body: { name: "SQ10" } })).status).toBe(200));
    expect((await shotList()).every((s) => s.sequence_name === "SQ10")).toBe(true);
  });

  test("new entities and a deleted one", async () => {
    let shot: any;
    await checkWrite(async () => {
      shot = await createShot(server, p(), seq.id, "SH03");
      await createAsset(server, p(), "Prop", "Cup");
    });
    expect((await shotList()).map((s) => s.name)).toContain("SH03");
    await checkWrite(async () => expect((await server.request("DELETE", `/api/data/shots/${shot.id}?force=true`)).status).toBe(204));
    expect((await shotList()).map((s) => s.name)).not.toContain("SH03");
  });

  test("casting an asset in an episode", async () => {
    await checkWrite(async () => expect((await server.json("PUT", `/api/data/projects/${p()}/entities/${ep.id}/casting`, { body: [{ asset_id: hero.id, nb_occurences: 1 }] })).status).toBeLessThan(300));
    expect((await assetList()).find((a) => a.id === hero.id).casting_episode_ids).toEqual([ep.id]);
    await checkWrite(async () => expect((await server.json("PUT", `/api/data/projects/${p()}/entities/${shots[0].id}/casting`, { body: [{ asset_id: hero.id, nb_occurences: 2 }] })).status).toBeLessThan(300));
    expect((await shotList()).find((s) => s.id === shots[0].id).nb_entities_out).toBe(1);
  });

  test("links written alone (no task or entity update with them)", async () => {
    await checkWrite(() => server.db.insertInto("task_person_link").values({ task_id: shotTasks[1]!, person_id: prod.manager.id }).execute());
    expect(taskOf(await shotList(), shotTasks[1]!).assignees).toEqual([prod.manager.id]);
    await checkWrite(() => server.db.deleteFrom("task_person_link").where("task_id", "=", shotTasks[1]!).execute());
    const prop = await createAsset(server, p(), "Prop", "Lamp");
    await checkWrite(() => server.db.insertInto("entity_link").values({ id: crypto.randomUUID(), entity_in_id: ep.id, entity_out_id: prop.id, data: "{}" } as any).execute());
    expect((await assetList()).find((a) => a.id === prop.id).casting_episode_ids).toEqual([ep.id]);
  });

  test("team, task type and person renames", async () => {
    await checkWrite(() => server.addToTeam(p(), prod.outsider));
    expect((await read(urls()[0]!, prod.outsider)).status).toBe(200);
    const animation = await typeId(server, "task_type", "Animation");
    await checkWrite(async () => expect((await server.json("PUT", `/api/data/task-types/${animation}`, { body: { name: "Anim" } })).status).toBe(200));
    await checkWrite(async () => expect((await server.json("PUT", `/api/data/persons/${prod.artist.id}`, { body: { first_name: "Renamed" } })).status).toBe(200));
  });

  test("a write by entity ids, and a raw SQL write", async () => {
    await checkWrite(() => server.db.updateTable("task").set({ priority: 6 }).where("entity_id", "in", [shots[0].id, hero.id]).execute());
    expect(taskOf(await shotList(), shotTasks[0]!).priority).toBe(6);
    await checkWrite(() => sql`update task set priority = 7 where entity_id = ${shots[0].id}`.execute(server.db));
    expect(taskOf(await shotList(), shotTasks[0]!).priority).toBe(7);
  });
});

// Both engines: an instance's own commits do not move its change signal (src/db/change-log.ts).
describe("what a write does not touch is not rebuilt", () => {
  const hidden = () => server.db.withoutPlugins();

  test("a write in another project leaves this project's answers as they were", async () => {
    const before = await readAll();
    // Unseen by any cache: shows only in an answer rebuilt from scratch.
    await hidden().updateTable("entity").set({ description: "hidden" }).where("id", "=", shots[0].id).execute();
    expect((await server.json("PUT", `/api/data/tasks/${otherTask}`, { body: { priority: 2 } })).status).toBe(200);
    await createShot(server, other.project.id, (await createSequence(server, other.project.id, "OSQ2")).id, "OSH02");
    expect(await readAll()).toEqual(before);
    // The other project's list shows its write.
    const otherList = (await read(`/api/data/shots/with-tasks?project_id=${other.project.id}`, null)).body;
    expect(otherList.map((s: any) => s.name)).toEqual(["OSH01", "OSH02"]);
    await hidden().updateTable("entity").set({ description: null }).where("id", "=", shots[0].id).execute();
    await readFresh();
  });

  test("a one-task write rebuilds that task's entity only", async () => {
    await readAll();
    await hidden().updateTable("entity").set({ description: "hidden" }).where("id", "=", shots[0].id).execute();
    await hidden().updateTable("task").set({ priority: 9 }).where("id", "=", shotTasks[0]!).execute();
    expect((await server.json("PUT", `/api/data/tasks/${shotTasks[2]}`, { body: { priority: 5 } })).status).toBe(200);
    for (const form of [0, 1, 2]) {
      const { body } = await read(urls()[form]!, null);
      const rows = form === 1 ? body.rows : form === 2 ? body.slice(1) : body;
      const text = JSON.stringify(rows);
      // The written task's entity (SH00) is rebuilt; the other shot is served as it was kept.
      expect(text).toContain(shotTasks[2]!);
      expect(text).not.toContain("hidden");
      expect(JSON.stringify(rows)).toContain(form === 0 ? '"priority":5' : ",5,");
    }
    const fresh = await readFresh();
    expect(JSON.stringify(fresh)).toContain("hidden");
    await hidden().updateTable("entity").set({ description: null }).where("id", "=", shots[0].id).execute();
    await readFresh();
  });

  test("a commit by another process drops everything", async () => {
    await readAll();
    await hidden().updateTable("entity").set({ description: "elsewhere" }).where("id", "=", shots[0].id).execute();
    expect(JSON.stringify(await readAll())).not.toContain("elsewhere");
    // What the SQLite signal (PRAGMA data_version) reports when another connection committed.
    const { attachChangeSignal, externalVersion } = await import("../src/lib/change-signal");
    const current = externalVersion(server.db);
    attachChangeSignal(server.db, { version: () => current + 1 });
    expect(JSON.stringify(await readAll())).toContain("elsewhere");
  });
});
