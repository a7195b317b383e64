/** Time spents, day offs, timesheet tables, quotas and presence logs through HTTP. */
import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type Person, type TestServer } from "./helpers";
import { bot, createTask, production } from "./people-fixtures";

const UNKNOWN_ID = "3f4a9c2e-8b1d-4c6e-9a7f-2d5b8e1c0a93";

let server: TestServer;
let artist: Person;
let other: Person;
let manager: Person;
let outsider: Person;
let supervisor: Person;
let fixture: Awaited<ReturnType<typeof production>>;
let taskId: string;

async function eventNames(): Promise<string[]> {
  return (await server.db.selectFrom("api_event").select("name").orderBy("created_at").execute()).map((e) => e.name);
}

beforeAll(async () => {
  server = await makeServer();
  artist = await server.person("user");
  other = await server.person("user");
  manager = await server.person("manager");
  outsider = await server.person("manager");
  supervisor = await server.person("supervisor");
  fixture = await production(server, [artist, other, manager, supervisor]);
  taskId = await createTask(server, fixture.project.id, fixture.assetId, fixture.modeling, { assignees: [artist, other] });
});

describe("setting, adding and deleting time spents", () => {
  test("an assignee sets their own time: 201, task duration follows, events emitted", async () => {
    const url = `/api/actions/tasks/${taskId}/time-spents/2024-03-04/persons/${artist.id}`;
    const { status, body } = await server.json("POST", url, { token: artist.token, body: { duration: 120 } });
    expect(status).toBe(201);
    expect(body).toMatchObject({ type: "TimeSpent", task_id: taskId, person_id: artist.id, date: "2024-03-04", duration: 120 });
    const task = await server.json("GET", `/api/data/tasks/${taskId}`);
    expect(task.body.duration).toBe(120);
    const names = await eventNames();
    expect(names).toContain("time-spent:new");
    expect(names).toContain("task:update");
    const person = await server.db.selectFrom("person").select("last_presence").where("id", "=", artist.id).executeTakeFirstOrThrow();
    expect(String(person.last_presence)).toBe("2024-03-04");
  });

  test("setting again overwrites, add increases", async () => {
    const url = `/api/actions/tasks/${taskId}/time-spents/2024-03-04/persons/${artist.id}`;
    expect((await server.json("POST", url, { token: artist.token, body: { duration: 60 } })).body.duration).toBe(60);
    const added = await server.json("POST", `${url}/add`, { token: artist.token, body: { duration: 30 } });
    expect(added.status).toBe(201);
    expect(added.body.duration).toBe(90);
    const rows = await server.db.selectFrom("time_spent").selectAll().where("task_id", "=", taskId).execute();
    expect(rows).toHaveLength(1);
  });

  test("duration must be a positive number, the date a real date", async () => {
    const url = `/api/actions/tasks/${taskId}/time-spents/2024-03-04/persons/${artist.id}`;
    for (const body of [{ duration: 0 }, { duration: -5 }, {}, { duration: "abc" }]) {
      const answer = await server.json("POST", url, { token: artist.token, body });
      expect(answer.status).toBe(400);
      expect(answer.body.message).toBe("Validation error.");
    }
    const badDate = await server.json("POST", `/api/actions/tasks/${taskId}/time-spents/2024-02-30/persons/${artist.id}`, {
      token: artist.token, body: { duration: 10 },
    });
    expect(badDate.status).toBe(400);
  });

  test("a day cannot hold more than 24 hours", async () => {
    const second = await createTask(server, fixture.project.id, fixture.shotId, fixture.animation, { assignees: [artist] });
    const url = `/api/actions/tasks/${second}/time-spents/2024-03-04/persons/${artist.id}`;
    const answer = await server.json("POST", url, { token: artist.token, body: { duration: 24 * 60 } });
    expect(answer.status).toBe(400);
    expect(answer.body.message).toContain("24 hours");
    expect((await server.json("POST", url, { token: artist.token, body: { duration: 60 } })).status).toBe(201);
  });

  test("403: another person's time, a non-assignee, a manager outside the team", async () => {
    const url = (person: Person) => `/api/actions/tasks/${taskId}/time-spents/2024-03-05/persons/${person.id}`;
    expect((await server.json("POST", url(other), { token: artist.token, body: { duration: 10 } })).status).toBe(403);
    expect((await server.json("POST", url(manager), { token: manager.token, body: { duration: 10 } })).status).toBe(403);
    expect((await server.json("POST", url(artist), { token: outsider.token, body: { duration: 10 } })).status).toBe(403);
    expect((await server.json("POST", url(artist), { token: manager.token, body: { duration: 10 } })).status).toBe(201);
    expect((await server.json("POST", url(artist), { body: { duration: 10 } })).status).toBe(201);
  });

  test("404: unknown task or person; 403 on a bot", async () => {
    expect((await server.json("POST", `/api/actions/tasks/${UNKNOWN_ID}/time-spents/2024-03-05/persons/${artist.id}`, { body: { duration: 1 } })).status).toBe(404);
    expect((await server.json("POST", `/api/actions/tasks/${taskId}/time-spents/2024-03-05/persons/${UNKNOWN_ID}`, { body: { duration: 1 } })).status).toBe(404);
    const robot = await bot(server);
    expect((await server.json("POST", `/api/actions/tasks/${taskId}/time-spents/2024-03-05/persons/${robot.id}`, { body: { duration: 1 } })).status).toBe(403);
  });

  test("delete answers 201 with the removed row, then 404", async () => {
    const url = `/api/actions/tasks/${taskId}/time-spents/2024-03-05/persons/${artist.id}`;
    const removed = await server.json("DELETE", url, { token: artist.token });
    expect(removed.status).toBe(201);
    expect(removed.body.duration).toBe(0);
    expect((await server.json("DELETE", url, { token: artist.token })).status).toBe(404);
    expect((await eventNames())).toContain("time-spent:delete");
  });
});

describe("reading time spents of a task", () => {
  test("grouped by person with a total; by date", async () => {
    const all = await server.json("GET", `/api/actions/tasks/${taskId}/time-spents`, { token: artist.token });
    expect(all.status).toBe(200);
    expect(all.body.total).toBe(90);
    expect(all.body[artist.id]).toHaveLength(1);
    const day = await server.json("GET", `/api/actions/tasks/${taskId}/time-spents/2024-03-01`, { token: artist.token });
    expect(day.body).toEqual({ total: 0 });
    expect((await server.json("GET", `/api/actions/tasks/${taskId}/time-spents/not-a-date`, { token: artist.token })).status).toBe(400);
  });

  test("403 for a non-member, 404 for an unknown task", async () => {
    expect((await server.json("GET", `/api/actions/tasks/${taskId}/time-spents`, { token: outsider.token })).status).toBe(403);
    expect((await server.json("GET", `/api/actions/tasks/${UNKNOWN_ID}/time-spents`)).status).toBe(404);
  });
});

describe("timesheets of persons", () => {
  test("day table: admin sees everyone, an artist only themselves", async () => {
    await server.json("POST", `/api/actions/tasks/${taskId}/time-spents/2024-03-06/persons/${other.id}`, { token: other.token, body: { duration: 45 } });
    const admin = await server.json("GET", "/api/data/persons/time-spents/day-table/2024/03");
    expect(admin.status).toBe(200);
    expect(admin.body["4"][artist.id]).toBe(150);
    expect(admin.body["6"][other.id]).toBe(45);
    const own = await server.json("GET", "/api/data/persons/time-spents/day-table/2024/03", { token: artist.token });
    expect(own.body["6"]).toBeUndefined();
    expect(own.body["4"][artist.id]).toBe(150);
    expect((await server.json("GET", "/api/data/persons/time-spents/day-table/2024/13")).status).toBe(400);
  });

  test("week, month and year tables", async () => {
    const week = await server.json("GET", "/api/data/persons/time-spents/week-table/2024");
    expect(week.body["10"][other.id]).toBe(45);
    const month = await server.json("GET", "/api/data/persons/time-spents/month-table/2024");
    expect(month.body["3"][other.id]).toBe(45);
    const year = await server.json("GET", "/api/data/persons/time-spents/year-table");
    expect(year.body["2024"][other.id]).toBe(45);
  });

  test("a manager outside every team sees nothing; project_id outside their projects is 403", async () => {
    const table = await server.json("GET", "/api/data/persons/time-spents/month-table/2024", { token: outsider.token });
    expect(table.body).toEqual({});
    const denied = await server.json("GET", `/api/data/persons/time-spents/month-table/2024?project_id=${fixture.project.id}`, { token: outsider.token });
    expect(denied.status).toBe(403);
    expect((await server.json("GET", "/api/data/persons/time-spents/month-table/2024?project_id=bad")).status).toBe(400);
  });

  test("person aggregates per task, with scope", async () => {
    const month = await server.json("GET", `/api/data/persons/${artist.id}/time-spents/month/2024/3`, { token: artist.token });
    expect(month.status).toBe(200);
    const row = month.body.find((r: any) => r.task_id === taskId);
    expect(row).toMatchObject({ project_id: fixture.project.id, entity_name: "Hero", entity_type_name: "Character", duration: 90 });
    expect((await server.json("GET", `/api/data/persons/${artist.id}/time-spents/week/2024/10`, { token: manager.token })).status).toBe(200);
    expect((await server.json("GET", `/api/data/persons/${artist.id}/time-spents/year/2024`, { token: other.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/persons/${artist.id}/time-spents/day/2024/02/30`)).status).toBe(400);
    expect((await server.json("GET", `/api/data/persons/${UNKNOWN_ID}/time-spents/year/2024`)).status).toBe(404);
    const date = await server.json("GET", `/api/data/persons/${other.id}/time-spents/2024-03-06`, { token: other.token });
    expect(date.body).toHaveLength(1);
  });

  test("raw list of a person's time spents is admin only, with a date range", async () => {
    // Without dates Zou matches rows whose date is null: none.
    const all = await server.json("GET", `/api/data/persons/${artist.id}/time-spents`);
    expect(all.status).toBe(200);
    expect(all.body).toEqual([]);
    const range = await server.json("GET", `/api/data/persons/${other.id}/time-spents?start_date=2024-03-06&end_date=2024-03-06`);
    expect(range.body).toHaveLength(1);
    expect((await server.json("GET", `/api/data/persons/${other.id}/time-spents?start_date=2024-03-06`)).status).toBe(400);
    expect((await server.json("GET", `/api/data/persons/${artist.id}/time-spents`, { token: artist.token })).status).toBe(403);
  });
});

describe("day offs", () => {
  test("creating a day off wipes the time spent in the period; overlaps are refused", async () => {
    const created = await server.json("POST", "/api/data/day-offs", {
      token: other.token, body: { person_id: other.id, date: "2024-03-06", end_date: "2024-03-07", description: "Holidays" },
    });
    expect(created.status).toBe(201);
    const left = await server.db.selectFrom("time_spent").selectAll().where("person_id", "=", other.id).where("date", "=", "2024-03-06").execute();
    expect(left).toHaveLength(0);
    const overlap = await server.json("POST", "/api/data/day-offs", { token: other.token, body: { person_id: other.id, date: "2024-03-07", end_date: "2024-03-08" } });
    expect(overlap.status).toBe(400);
    expect(overlap.body.message).toBe("Day off already exists for this period");
    const backwards = await server.json("POST", "/api/data/day-offs", { token: other.token, body: { person_id: other.id, date: "2024-04-07", end_date: "2024-04-01" } });
    expect(backwards.status).toBe(400);
    const forSomeoneElse = await server.json("POST", "/api/data/day-offs", { token: other.token, body: { person_id: artist.id, date: "2024-05-01", end_date: "2024-05-01" } });
    expect(forSomeoneElse.status).toBe(403);
  });

  test("person day-off routes: self or admin, supervisors refused, bots refused", async () => {
    const own = await server.json("GET", `/api/data/persons/${other.id}/day-offs/2024-03-07`, { token: other.token });
    expect(own.body).toMatchObject({ type: "DayOff", date: "2024-03-06", end_date: "2024-03-07" });
    expect((await server.json("GET", `/api/data/persons/${other.id}/day-offs/2024-03-09`, { token: other.token })).body).toEqual({});
    expect((await server.json("GET", `/api/data/persons/${other.id}/day-offs/2024-03-07`, { token: supervisor.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/persons/${other.id}/day-offs/2024-03-07`)).status).toBe(200);
    expect((await server.json("GET", `/api/data/persons/${other.id}/day-offs/month/2024/3`, { token: other.token })).body).toHaveLength(1);
    expect((await server.json("GET", `/api/data/persons/${other.id}/day-offs/week/2024/10`, { token: other.token })).body).toHaveLength(1);
    expect((await server.json("GET", `/api/data/persons/${other.id}/day-offs/year/2024`, { token: other.token })).body).toHaveLength(1);
    expect((await server.json("GET", `/api/data/persons/${other.id}/day-offs/`, { token: other.token })).body).toHaveLength(1);
    const robot = await bot(server);
    expect((await server.json("GET", `/api/data/persons/${robot.id}/day-offs`)).status).toBe(403);
    expect((await server.json("GET", `/api/data/persons/${other.id}/day-offs/2024-13-01`, { token: other.token })).status).toBe(400);
  });

  test("month list: admins see all, others their own", async () => {
    expect((await server.json("GET", "/api/data/persons/day-offs/2024/03")).body).toHaveLength(1);
    expect((await server.json("GET", "/api/data/persons/day-offs/2024/03", { token: artist.token })).body).toHaveLength(0);
  });
});

describe("desktop logins, presence logs and quotas", () => {
  test("desktop login logs: self may post; managers may read; presence CSV for admins", async () => {
    const posted = await server.json("POST", `/api/data/persons/${artist.id}/desktop-login-logs`, { token: artist.token, body: { date: "2024-03-08T09:00:00" } });
    expect(posted.status).toBe(201);
    expect(posted.body).toMatchObject({ type: "DesktopLoginLog", person_id: artist.id, date: "2024-03-08T09:00:00" });
    expect((await server.json("POST", `/api/data/persons/${artist.id}/desktop-login-logs`, { token: other.token, body: {} })).status).toBe(403);
    expect((await server.json("GET", `/api/data/persons/${artist.id}/desktop-login-logs`, { token: manager.token })).body).toHaveLength(1);
    expect((await server.json("GET", `/api/data/persons/${artist.id}/desktop-login-logs`, { token: other.token })).status).toBe(403);
    const csv = await server.request("GET", "/api/data/persons/presence-logs/2024-03");
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toContain("text/csv");
    const lines = (await csv.text()).split("\r\n");
    expect(lines[0]).toStartWith("2024;1;2;3");
    const artistLine = lines.find((line) => line.startsWith("user Number"))!;
    expect(artistLine).toBeDefined();
    expect((await server.json("GET", "/api/data/persons/presence-logs/2024-3x")).status).toBe(400);
    expect((await server.json("GET", "/api/data/persons/presence-logs/2024-03", { token: manager.token })).status).toBe(403);
  });

  test("quota shots: weighted by time spent on shots that reached feedback", async () => {
    const shotTask = await createTask(server, fixture.project.id, fixture.shotId, fixture.animation, {
      status: "wfa", assignees: [other], fields: { name: "quota", end_date: "2024-04-10T10:00:00", real_start_date: "2024-04-01T10:00:00" },
    });
    await server.json("POST", `/api/actions/tasks/${shotTask}/time-spents/2024-04-02/persons/${other.id}`, { token: other.token, body: { duration: 60 } });
    await server.json("POST", `/api/actions/tasks/${shotTask}/time-spents/2024-04-03/persons/${other.id}`, { token: other.token, body: { duration: 180 } });
    const query = `project_id=${fixture.project.id}&task_type_id=${fixture.animation}`;
    const month = await server.json("GET", `/api/data/persons/${other.id}/quota-shots/month/2024/4?${query}`, { token: other.token });
    expect(month.status).toBe(200);
    expect(month.body).toHaveLength(1);
    expect(month.body[0]).toMatchObject({ id: fixture.shotId, full_name: "SQ01 / SH010", weight: 1 });
    const day = await server.json("GET", `/api/data/persons/${other.id}/quota-shots/day/2024/4/2?${query}`, { token: other.token });
    expect(day.body[0].weight).toBe(0.25);
    const raw = await server.json("GET", `/api/data/persons/${other.id}/quota-shots/week/2024/15?${query}&count_mode=feedback`, { token: other.token });
    expect(raw.body[0].weight).toBe(1);
    expect((await server.json("GET", `/api/data/persons/${other.id}/quota-shots/month/2024/4?${query}&count_mode=bad`)).status).toBe(400);
    expect((await server.json("GET", `/api/data/persons/${other.id}/quota-shots/month/2024/4?${query}`, { token: artist.token })).status).toBe(403);
    expect((await server.json("GET", `/api/data/persons/${other.id}/quota-shots/month/2024/4?${query}`, { token: manager.token })).status).toBe(200);
    expect((await server.json("GET", `/api/data/persons/${other.id}/quota-shots/month/2024/4?${query}`, { token: outsider.token })).status).toBe(403);
  });
});

describe("crud time spents", () => {
  test("list is admin only, with a date range", async () => {
    expect((await server.json("GET", "/api/data/time-spents", { token: artist.token })).status).toBe(403);
    const range = await server.json("GET", "/api/data/time-spents?start_date=2024-04-02&end_date=2024-04-02");
    expect(range.body).toHaveLength(1);
    expect((await server.json("GET", "/api/data/time-spents?start_date=2024-04-02")).status).toBe(400);
  });

  test("delete needs the person to be assigned and the caller to be them, an admin or a manager", async () => {
    const row = await server.db.selectFrom("time_spent").selectAll().where("person_id", "=", other.id).where("date", "=", "2024-04-02").executeTakeFirstOrThrow();
    expect((await server.json("DELETE", `/api/data/time-spents/${row.id}`, { token: artist.token })).status).toBe(403);
    expect((await server.json("DELETE", `/api/data/time-spents/${row.id}`, { token: other.token })).status).toBe(204);
    const task = await server.db.selectFrom("task").select("duration").where("id", "=", row.task_id!).executeTakeFirstOrThrow();
    expect(Number(task.duration)).toBe(180);
  });
});
