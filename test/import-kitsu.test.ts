/**
 * Kitsu sync imports: rows read from one instance's API are posted to another's
 * /import/kitsu/* routes and land with the same ids; re-posting updates them.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { sql } from "kysely";
import { makeServer, onPostgres, type TestServer } from "./helpers";
import type { Db } from "../src/db/database";
import { addTask, createAsset, createSequence, createShot } from "./entities-fixtures";

let source: TestServer;
let target: TestServer;
let project: any;
let asset: any;
let shot: any;
let taskId: string;

/**
 * Reference rows (persons, types, statuses) the sync expects to exist on the target: the target's
 * own defaults are replaced by the source's rows, ids included.
 */
async function copyReferenceRows(): Promise<void> {
  const copy = async (db: Db) => {
    for (const table of ["task_type_asset_type_link", "project_status", "department", "entity_type", "task_type", "task_status"] as const) {
      await db.deleteFrom(table as any).execute();
      const rows = (await source.db.selectFrom(table as any).selectAll().execute()) as any[];
      if (rows.length) await db.insertInto(table as any).values(rows).execute();
    }
  };
  if (onPostgres) {
    // Foreign keys off for this transaction only (the target's defaults are replaced in place).
    await target.db.transaction().execute(async (trx) => {
      await sql`SET LOCAL session_replication_role = replica`.execute(trx);
      await copy(trx);
    });
  } else {
    await sql`PRAGMA foreign_keys = OFF`.execute(target.db);
    await copy(target.db);
    await sql`PRAGMA foreign_keys = ON`.execute(target.db);
  }
  for (const row of (await source.db.selectFrom("person").selectAll().execute()) as any[]) {
    await target.db.insertInto("person").values({ ...row, email: `copy-${row.email}` }).execute();
  }
}

async function post(path: string, body: unknown, token?: string) {
  return target.json("POST", `/api/import/kitsu/${path}`, { body, token });
}

beforeAll(async () => {
  source = await makeServer();
  target = await makeServer();
  const artist = await source.person("user");
  project = await source.project("Sync Me", [artist]);
  asset = await createAsset(source, project.id, "Prop", "Tree");
  const sequence = await createSequence(source, project.id, "SQ01");
  shot = await createShot(source, project.id, sequence.id, "SH01", { data: { frame_in: 1, frame_out: 24 } });
  taskId = await addTask(source, asset, "Modeling", { assignees: [artist] });
  const status = await source.db.selectFrom("task_status").select("id").where("short_name", "=", "wip").executeTakeFirstOrThrow();
  const comment = await source.json("POST", `/api/actions/tasks/${taskId}/comment`, { body: { task_status_id: status.id, comment: "first pass" } });
  expect(comment.status).toBe(201);
  await source.json("POST", `/api/data/entity-links`, { body: { entity_in_id: shot.id, entity_out_id: asset.id, nb_occurences: 2 } });
  await copyReferenceRows();
});

describe("copying one Kitsu into another", () => {
  test("projects, entities, entity links, tasks and comments keep their ids", async () => {
    const sourceProject = (await source.json("GET", `/api/data/projects/${project.id}`)).body;
    const projects = await post("projects", [sourceProject]);
    expect(projects.status).toBe(200);
    expect(projects.body[0]).toMatchObject({ id: project.id, name: "Sync Me", type: "Project" });
    expect((await target.json("GET", `/api/data/projects/${project.id}?relations=true`)).body.team.length).toBe(1);

    const entities = (await source.json("GET", `/api/data/entities?project_id=${project.id}`)).body as any[];
    expect(entities.length).toBe(3);
    const sequencesFirst = [...entities].sort((a, b) => (a.parent_id ? 1 : 0) - (b.parent_id ? 1 : 0));
    const copied = await post("entities", sequencesFirst);
    expect(copied.status).toBe(200);
    expect(new Set(copied.body.map((e: any) => e.type))).toEqual(new Set(["Asset", "Sequence", "Shot"]));
    const targetShot = (await target.json("GET", `/api/data/shots/${shot.id}`)).body;
    expect(targetShot).toMatchObject({ id: shot.id, name: "SH01", data: { frame_in: 1, frame_out: 24 } });

    const links = (await source.json("GET", `/api/data/entity-links?entity_in_id=${shot.id}`)).body as any[];
    expect((await post("entity-links", links)).status).toBe(200);
    const targetLinks = await target.db.selectFrom("entity_link").selectAll().execute();
    expect(targetLinks.map((l) => [l.id, l.entity_in_id, l.entity_out_id, l.nb_occurences])).toEqual([[links[0].id, shot.id, asset.id, 2]]);

    const tasks = (await source.json("GET", `/api/data/tasks?project_id=${project.id}&relations=true`)).body as any[];
    const copiedTasks = await post("tasks", tasks);
    expect(copiedTasks.body.map((t: any) => t.id)).toEqual([taskId]);
    expect((await target.json("GET", `/api/data/tasks/${taskId}`)).body.assignees).toEqual(tasks[0].assignees);

    const comments = (await source.json("GET", `/api/data/comments?object_id=${taskId}`)).body as any[];
    const events: string[] = [];
    target.events.subscribe((event: any) => events.push(event.name));
    const copiedComments = await post("comments", comments);
    expect(copiedComments.body.map((c: any) => c.id)).toEqual(comments.map((c) => c.id));
    expect((await target.json("GET", `/api/data/comments/${comments[0].id}`)).body.text).toBe("first pass");
    expect(events).toContain("comment:new");

    // Posting again updates in place.
    const renamed = await post("projects", [{ ...sourceProject, name: "Synced" }]);
    expect(renamed.body[0].id).toBe(project.id);
    expect((await target.db.selectFrom("project").select("name").where("id", "=", project.id).executeTakeFirstOrThrow()).name).toBe("Synced");
    expect((await post("entities", sequencesFirst)).body.length).toBe(3);
    expect((await target.db.selectFrom("entity").select("id").execute()).length).toBe(3);
  });

  test("time spents, milestones, schedule items, notifications, news, preview files, playlists, build jobs, attachments, subscriptions, descriptors", async () => {
    const id = () => crypto.randomUUID();
    const person = (await source.db.selectFrom("person").select("id").executeTakeFirstOrThrow()).id;
    const taskType = (await source.db.selectFrom("task_type").select("id").where("name", "=", "Modeling").executeTakeFirstOrThrow()).id;
    const ids = { time: id(), milestone: id(), schedule: id(), notification: id(), news: id(), preview: id(), playlist: id(), descriptor: id(), buildJob: id(), attachment: id(), subscription: id() };
    const comment = (await target.db.selectFrom("comment").select("id").executeTakeFirstOrThrow()).id;
    const cases: [string, Record<string, unknown>, string][] = [
      ["time-spents", { id: ids.time, task_id: taskId, person_id: person, date: "2026-05-20", duration: 480 }, "time_spent"],
      ["milestones", { id: ids.milestone, project_id: project.id, task_type_id: taskType, name: "Pitch", date: "2026-06-01" }, "milestone"],
      ["schedule-items", { id: ids.schedule, project_id: project.id, task_type_id: taskType, object_id: asset.id, start_date: "2026-06-01", end_date: "2026-06-30" }, "schedule_item"],
      ["notifications", { id: ids.notification, type: "Notification", notification_type: "comment", task_id: taskId, comment_id: comment, person_id: person, author_id: person, read: false, change: false }, "notification"],
      ["news", { id: ids.news, task_id: taskId, comment_id: comment, preview_file_id: null, author_id: person, change: false, created_at: "2026-05-20T10:00:00" }, "news"],
      ["preview-files", { id: ids.preview, task_id: taskId, name: "v001", revision: 1, position: 1, extension: "mp4", status: "ready", validation_status: "neutral" }, "preview_file"],
      ["playlists", { id: ids.playlist, project_id: project.id, name: "Daily", for_entity: "shot", for_client: false, is_for_all: false, shots: [] }, "playlist"],
      ["build-jobs", { id: ids.buildJob, playlist_id: ids.playlist, status: "succeeded", job_type: "movie" }, "build_job"],
      ["attachment-files", { id: ids.attachment, name: "bug.png", size: 42, extension: "png", mimetype: "image/png", comment_id: comment }, "attachment_file"],
      ["subscriptions", { id: ids.subscription, task_id: taskId, entity_id: asset.id, task_type_id: taskType, person_id: person }, "subscription"],
      ["metadata-descriptors", { id: ids.descriptor, project_id: project.id, name: "Vendor", field_name: "vendor", data_type: "string", entity_type: "Asset", choices: [], for_client: false, departments: [] }, "metadata_descriptor"],
    ];
    for (const [route, entry, table] of cases) {
      const first = await post(route, [entry]);
      expect(first.status).toBe(200);
      expect(first.body[0].id).toBe(entry.id);
      expect((await post(route, [entry])).status).toBe(200);
      expect((await target.db.selectFrom(table as any).select("id").where("id", "=", entry.id).execute()).length).toBe(1);
    }
    const notification = await target.db.selectFrom("notification").selectAll().where("id", "=", ids.notification).executeTakeFirstOrThrow();
    expect(notification.type).toBe("comment");
    const preview = await target.db.selectFrom("preview_file").selectAll().where("id", "=", ids.preview).executeTakeFirstOrThrow();
    expect(JSON.parse(preview.data as any)).toEqual({ imported_only: true });
    const news = await target.db.selectFrom("news").selectAll().where("id", "=", ids.news).executeTakeFirstOrThrow();
    expect(news.created_at).toBe("2026-05-20T10:00:00");
  });

  test("silent=true writes no api_event", async () => {
    const count = async () => Number(((await target.db.selectFrom("api_event").select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow()) as any).n);
    const before = await count();
    const taskType = (await target.db.selectFrom("task_type").select("id").executeTakeFirstOrThrow()).id;
    await post("milestones?silent=true", [{ id: crypto.randomUUID(), project_id: project.id, task_type_id: taskType, name: "Silent", date: "2026-06-01" }]);
    expect(await count()).toBe(before);
    await post("milestones", [{ id: crypto.randomUUID(), project_id: project.id, task_type_id: taskType, name: "Noisy", date: "2026-06-01" }]);
    expect(await count()).toBeGreaterThan(before);
  });
});

describe("refusals", () => {
  test("non-admins get an empty list and nothing is written", async () => {
    const manager = await target.person("manager");
    const milestone = { id: crypto.randomUUID(), project_id: project.id, name: "Should not import", date: "2026-06-01" };
    const response = await post("milestones", [milestone], manager.token);
    expect(response.status).toBe(200);
    expect(response.body).toEqual([]);
    expect(await target.db.selectFrom("milestone").select("id").where("id", "=", milestone.id).execute()).toEqual([]);
  });

  test("a body that is not a list, an entry without id, or an entry the database refuses is a 400 and nothing is written", async () => {
    expect((await post("entities", { id: "nope" })).status).toBe(400);
    expect((await post("entities", [{ name: "no id" }])).status).toBe(400);
    const good = { id: crypto.randomUUID(), name: "Good", project_id: project.id, date: "2026-06-01" };
    const bad = { id: crypto.randomUUID(), name: "Bad", project_id: "00000000-0000-4000-8000-000000000000", date: "2026-06-01" };
    const response = await post("milestones", [good, bad]);
    expect(response.status).toBe(400);
    expect(response.body.message).toContain("Entry 1");
    expect(await target.db.selectFrom("milestone").select("id").where("id", "in", [good.id, bad.id]).execute()).toEqual([]);
    expect((await post("tasks", [{ id: crypto.randomUUID(), name: "x", difficulty: "hard" }])).status).toBe(400);
  });
});
