/**
 * The large lists Kitsu loads on every screen (project tasks, todo lists, persons, the user
 * context) kept by the answer cache: after each kind of write, the next answer equals the answer
 * built from scratch (all caches dropped), and writes that do not concern a list leave its kept
 * answer alone.
 *
 * "Hidden" writes go through Kysely without its plugins, so no cache can notice them: they show
 * whether an answer was rebuilt (they appear) or served as it was kept (they do not).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { sql } from "kysely";
import { makeServer, onPostgres, type Person, type TestServer } from "./helpers";
import { addTask, createAsset, createEpisode, createSequence, createShot, production, typeId, type Production } from "./entities-fixtures";
import { forgetCachedAnswers } from "../src/lib/response-cache";
import { forgetListStates } from "../src/services/with-tasks-fragments";
import * as projectTaskList from "../src/services/project-task-list";

let server: TestServer;
let prod: Production;
let other: Production;
let ep: any;
let seq: any;
let shots: any[];
let shotTasks: string[];
let hero: any;
let heroTask: string;
let otherShot: any;
let otherTask: string;
let otherMine: string;

beforeAll(async () => {
  server = await makeServer();
  prod = await production(server, { production_type: "tvshow" });
  ep = await createEpisode(server, prod.project.id, "E01");
  seq = await createSequence(server, prod.project.id, "SQ01", ep.id);
  shots = [await createShot(server, prod.project.id, seq.id, "SH01"), await createShot(server, prod.project.id, seq.id, "SH02")];
  shotTasks = [
    await addTask(server, shots[0], "Animation", { assignees: [prod.artist] }),
    await addTask(server, shots[0], "Layout", { assignees: [prod.vendor] }),
    await addTask(server, shots[1], "Layout", { assignees: [prod.artist] }),
  ];
  hero = await createAsset(server, prod.project.id, "Character", "Hero");
  heroTask = await addTask(server, hero, "Modeling", { assignees: [prod.artist], forEntity: "Asset" });

  other = await production(server);
  await server.addToTeam(other.project.id, prod.artist);
  const otherSeq = await createSequence(server, other.project.id, "OSQ");
  otherShot = await createShot(server, other.project.id, otherSeq.id, "OSH01");
  otherTask = await addTask(server, otherShot, "Animation", { assignees: [other.artist] });
  otherMine = await addTask(server, otherShot, "Layout", { assignees: [prod.artist] });
});

const p = () => prod.project.id;
/** The lists, as Kitsu and gazu ask them. */
const urls = () => [
  `/api/data/projects/${p()}/tasks`,
  `/api/data/projects/${p()}/tasks?episode_id=${ep.id}`,
  `/api/data/tasks?project_id=${p()}`,
  `/api/data/tasks?project_id=${p()}&relations=true`,
  `/api/data/user/tasks`,
  `/api/data/user/done-tasks`,
  `/api/data/persons/${prod.artist.id}/tasks`,
  `/api/data/persons/${prod.artist.id}/done-tasks`,
  `/api/data/persons`,
  `/api/data/persons?relations=true&is_guest=false`,
  `/api/data/user/context`,
  `/api/data/sequences/with-tasks?project_id=${p()}`,
  `/api/data/scenes/with-tasks?project_id=${p()}`,
];

async function read(url: string, person: Person | null): Promise<{ status: number; body: any }> {
  const response = await server.request("GET", url, person ? { token: person.token } : {});
  const text = await response.text();
  return { status: response.status, body: response.status === 200 ? JSON.parse(text) : text };
}

/** The lists as the admin, the artist (todo lists, team member) and the vendor (assigned tasks only). */
async function readAll(): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const person of [null, prod.artist, prod.vendor]) for (const url of urls()) out.push(await read(url, person));
  return out;
}

/** The same lists built from scratch. */
async function readFresh(): Promise<unknown[]> {
  forgetCachedAnswers(server.db);
  forgetListStates(server.db);
  projectTaskList.forgetProjectTaskLists(server.db);
  return readAll();
}

/** Reads (filling the caches), runs `write`, and checks the next answers against fresh ones. */
async function checkWrite(write: () => Promise<unknown>): Promise<void> {
  await readAll();
  await readAll();
  await write();
  const next = await readAll();
  expect(next).toEqual(await readFresh());
}

const todo = async (url = "/api/data/user/tasks") => (await read(url, prod.artist)).body as any[];
const projectTasks = async () => (await read(urls()[0]!, null)).body as any[];
const context = async (person: Person) => (await read("/api/data/user/context", person)).body as any;

describe("kept lists after each kind of write", () => {
  test("status change through a comment, and the comment edited", async () => {
    const wip = await typeId(server, "task_status", "Work In Progress");
    let comment: any;
    await checkWrite(async () => {
      const created = await server.json("POST", `/api/actions/tasks/${shotTasks[0]}/comment`, { body: { task_status_id: wip, comment: "go" } });
      expect(created.status).toBe(201);
      comment = created.body;
    });
    expect((await todo()).find((t) => t.id === shotTasks[0]).task_status_id).toBe(wip);
    expect((await todo()).find((t) => t.id === shotTasks[0]).last_comment.text).toBe("go");
    expect((await context(prod.artist)).notification_count).toBeGreaterThan(0);
    await checkWrite(async () => expect((await server.json("PUT", `/api/data/comments/${comment.id}`, { body: { text: "went" } })).status).toBe(200));
    expect((await todo()).find((t) => t.id === shotTasks[0]).last_comment.text).toBe("went");
  });

  test("done status moves a task to the done list", async () => {
    const done = await typeId(server, "task_status", "Done");
    await checkWrite(async () => expect((await server.json("POST", `/api/actions/tasks/${shotTasks[2]}/comment`, { body: { task_status_id: done, comment: "ok" } })).status).toBe(201));
    expect((await todo()).map((t) => t.id)).not.toContain(shotTasks[2]);
    expect((await todo("/api/data/user/done-tasks")).map((t) => t.id)).toContain(shotTasks[2]);
  });

  test("task fields, in this project and in another one", async () => {
    await checkWrite(async () => expect((await server.json("PUT", `/api/data/tasks/${shotTasks[1]}`, { body: { priority: 3, estimation: 4 } })).status).toBe(200));
    expect((await projectTasks()).find((t) => t.id === shotTasks[1]).priority).toBe(3);
    await checkWrite(async () => expect((await server.json("PUT", `/api/data/tasks/${otherMine}`, { body: { priority: 2 } })).status).toBe(200));
    expect((await todo()).find((t) => t.id === otherMine).priority).toBe(2);
  });

  test("assignment and unassignment", async () => {
    await checkWrite(async () => expect((await server.json("PUT", `/api/actions/tasks/${shotTasks[1]}/assign`, { body: { person_id: prod.artist.id } })).status).toBe(200));
    expect((await todo()).map((t) => t.id)).toContain(shotTasks[1]);
    await checkWrite(async () => expect((await server.json("PUT", `/api/actions/tasks/clear-assignation`, { body: { task_ids: [shotTasks[1]], person_id: prod.artist.id } })).status).toBe(200));
    expect((await todo()).map((t) => t.id)).not.toContain(shotTasks[1]);
    await checkWrite(() => server.db.insertInto("task_person_link").values({ task_id: otherTask, person_id: prod.artist.id }).execute());
    expect((await todo()).map((t) => t.id)).toContain(otherTask);
    await checkWrite(() => server.db.deleteFrom("task_person_link").where("task_id", "=", otherTask).where("person_id", "=", prod.artist.id).execute());
  });

  test("new task and deleted task", async () => {
    let created = "";
    await checkWrite(async () => {
      created = await addTask(server, shots[1], "Animation", { assignees: [prod.artist] });
    });
    expect((await todo()).map((t) => t.id)).toContain(created);
    expect((await projectTasks()).map((t) => t.id)).toContain(created);
    await checkWrite(async () => expect((await server.request("DELETE", `/api/data/tasks/${created}`)).status).toBeLessThan(300));
    expect((await projectTasks()).map((t) => t.id)).not.toContain(created);
  });

  test("entity, sequence and episode renames", async () => {
    await checkWrite(async () => expect((await server.json("PUT", `/api/data/entities/${shots[0].id}`, { body: { name: "SH00", data: { fps: 24 } } })).status).toBe(200));
    expect((await todo()).find((t) => t.id === shotTasks[0]).entity_name).toBe("SH00");
    await checkWrite(async () => expect((await server.json("PUT", `/api/data/entities/${seq.id}`, { body: { name: "SQ10" } })).status).toBe(200));
    expect((await todo()).find((t) => t.id === shotTasks[0]).sequence_name).toBe("SQ10");
    await checkWrite(async () => expect((await server.json("PUT", `/api/data/entities/${ep.id}`, { body: { name: "E10" } })).status).toBe(200));
    expect((await todo()).find((t) => t.id === shotTasks[0]).episode_name).toBe("E10");
  });

  test("new episode, new shots and a deleted one", async () => {
    let shot: any;
    await checkWrite(async () => {
      await createEpisode(server, p(), "E00");
      shot = await createShot(server, p(), seq.id, "SH03");
      await addTask(server, shot, "Animation");
    });
    await checkWrite(async () => expect((await server.request("DELETE", `/api/data/shots/${shot.id}?force=true`)).status).toBe(204));
  });

  test("casting an asset in an episode", async () => {
    await checkWrite(async () => expect((await server.json("PUT", `/api/data/projects/${p()}/entities/${ep.id}/casting`, { body: [{ asset_id: hero.id, nb_occurences: 1 }] })).status).toBeLessThan(300));
    expect((await todo()).find((t) => t.id === heroTask).episode_ids).toEqual([ep.id]);
  });

  test("team, role, person and department changes", async () => {
    await checkWrite(() => server.addToTeam(p(), prod.outsider));
    await checkWrite(async () => expect((await server.request("DELETE", `/api/data/projects/${other.project.id}/team/${prod.artist.id}`)).status).toBeLessThan(300));
    expect((await todo()).map((t) => t.id)).not.toContain(otherMine);
    await checkWrite(() => server.addToTeam(other.project.id, prod.artist));
    expect((await todo()).map((t) => t.id)).toContain(otherMine);
    await checkWrite(async () => expect((await server.json("PUT", `/api/data/persons/${prod.artist.id}`, { body: { first_name: "Renamed" } })).status).toBe(200));
    expect((await read("/api/data/persons", null)).body.find((x: any) => x.id === prod.artist.id).first_name).toBe("Renamed");
    const department = await server.db.selectFrom("department").select("id").executeTakeFirstOrThrow();
    await checkWrite(async () => expect((await server.json("PUT", `/api/data/persons/${prod.artist.id}`, { body: { departments: [department.id] } })).status).toBe(200));
    await checkWrite(async () => expect((await server.json("PUT", `/api/data/persons/${prod.vendor.id}`, { body: { role: "user" } })).status).toBe(200));
    await checkWrite(async () => expect((await server.json("PUT", `/api/data/persons/${prod.vendor.id}`, { body: { role: "vendor" } })).status).toBe(200));
  });

  test("task type rename and a closed project", async () => {
    const animation = await typeId(server, "task_type", "Animation");
    await checkWrite(async () => expect((await server.json("PUT", `/api/data/task-types/${animation}`, { body: { name: "Anim" } })).status).toBe(200));
    const closed = await typeId(server, "project_status" as any, "Closed");
    await checkWrite(async () => expect((await server.json("PUT", `/api/data/projects/${other.project.id}`, { body: { project_status_id: closed } })).status).toBe(200));
    expect((await todo()).map((t) => t.id)).not.toContain(otherMine);
  });

  test("a write by entity ids, and a raw SQL write", async () => {
    await checkWrite(() => server.db.updateTable("task").set({ priority: 6 }).where("entity_id", "in", [shots[0].id, hero.id]).execute());
    expect((await projectTasks()).find((t) => t.id === shotTasks[0]).priority).toBe(6);
    await checkWrite(() => sql`update task set priority = 7 where entity_id = ${shots[0].id}`.execute(server.db));
    expect((await todo()).find((t) => t.id === shotTasks[0]).priority).toBe(7);
    await checkWrite(() => sql`update person set last_name = 'Raw' where id = ${prod.artist.id}`.execute(server.db));
  });
});

// On PostgreSQL every commit moves the shared change sequence that all instances read, so a write
// no cache saw is not hidden there (see test/with-tasks-incremental.test.ts).
describe.skipIf(onPostgres)("what a write does not concern is not rebuilt", () => {
  const hidden = () => server.db.withoutPlugins();
  const reopen = async () => {
    const closedOrOpen = await server.db.selectFrom("project").select("project_status_id").where("id", "=", p()).executeTakeFirstOrThrow();
    await server.db.updateTable("project").set({ project_status_id: closedOrOpen.project_status_id }).where("id", "=", other.project.id).execute();
  };

  test("a comment and a task write in another project leave this project's lists as they were", async () => {
    await reopen();
    const before = await readAll();
    // Unseen by any cache: shows only in answers rebuilt from scratch.
    await hidden().updateTable("task").set({ data: JSON.stringify({ hidden: 1 }) }).where("id", "in", [shotTasks[0]!, shotTasks[1]!, heroTask]).execute();
    await hidden().updateTable("person").set({ phone: "hidden-phone" }).where("id", "=", prod.artist.id).execute();
    const wip = await typeId(server, "task_status", "Work In Progress");
    expect((await server.json("POST", `/api/actions/tasks/${otherTask}/comment`, { body: { task_status_id: wip, comment: "elsewhere" } })).status).toBe(201);
    expect((await server.json("PUT", `/api/data/tasks/${otherTask}`, { body: { priority: 1 } })).status).toBe(200);
    expect(await readAll()).toEqual(before);
    // The other project's list shows its write.
    const otherList = (await read(`/api/data/projects/${other.project.id}/tasks`, null)).body;
    expect(otherList.find((t: any) => t.id === otherTask).priority).toBe(1);
    const fresh = JSON.stringify(await readFresh());
    expect(fresh).toContain("hidden-phone");
    expect(fresh).toContain('"hidden":1');
  });

  test("a task write leaves persons and the context alone; a person write leaves the task lists alone", async () => {
    await readAll();
    await hidden().updateTable("person").set({ phone: "again-hidden" }).where("id", "=", prod.artist.id).execute();
    expect((await server.json("PUT", `/api/data/tasks/${shotTasks[0]}`, { body: { priority: 4 } })).status).toBe(200);
    expect(JSON.stringify((await read("/api/data/persons", null)).body)).not.toContain("again-hidden");
    expect(JSON.stringify(await context(prod.artist))).not.toContain("again-hidden");
    expect((await projectTasks()).find((t) => t.id === shotTasks[0]).priority).toBe(4);

    await readAll();
    await hidden().updateTable("task").set({ data: JSON.stringify({ unseen: 2 }) }).where("id", "=", shotTasks[1]!).execute();
    await hidden().updateTable("task").set({ data: JSON.stringify({ unseen: 2 }) }).where("id", "=", shotTasks[0]!).execute();
    // Notifications of somebody else: no task list reads them.
    await server.db.updateTable("notification").set({ read: true }).where("person_id", "=", prod.manager.id).execute();
    expect(JSON.stringify(await projectTasks())).not.toContain("unseen");
    expect(JSON.stringify(await todo())).not.toContain("unseen");
    // Another person than the caller: the project task list reads only the caller's row.
    expect((await server.json("PUT", `/api/data/persons/${prod.outsider.id}`, { body: { phone: "0102" } })).status).toBe(200);
    expect(JSON.stringify(await projectTasks())).not.toContain("unseen");
    expect(JSON.stringify((await read("/api/data/persons", null)).body)).toContain("0102");
    await readFresh();
  });

  test("the whole project task list: a task write rebuilds that task only, in its place; another project's, nothing", async () => {
    await readAll();
    const builds = projectTaskList.projectTaskListBuilds;
    await hidden().updateTable("task").set({ data: JSON.stringify({ unseen: 3 }) }).where("id", "=", shotTasks[1]!).execute();
    // Moves the task to the head of the list (newest update first).
    await server.db.updateTable("task").set({ priority: 8, updated_at: "2099-01-01T00:00:00" }).where("id", "=", shotTasks[2]!).execute();
    expect((await server.json("PUT", `/api/data/tasks/${otherTask}`, { body: { priority: 3 } })).status).toBe(200);
    const list = await projectTasks();
    expect(list[0].id).toBe(shotTasks[2]);
    expect(list[0].priority).toBe(8);
    expect(JSON.stringify(list)).not.toContain('"unseen":3');
    let created = "";
    created = await addTask(server, shots[0], "Compositing");
    await server.db.deleteFrom("task_person_link").where("task_id", "=", shotTasks[0]!).execute();
    const next = await projectTasks();
    expect(next.map((t) => t.id)).toContain(created);
    expect(next.find((t) => t.id === shotTasks[0]).assignees).toEqual([]);
    expect(projectTaskList.projectTaskListBuilds).toBe(builds);
    const fresh = (await readFresh())[0] as { body: any[] };
    expect(JSON.stringify(fresh.body)).toContain('"unseen":3');
    expect(fresh.body.map((t) => t.id)).toEqual(next.map((t) => t.id));
  });
});
