/**
 * The daily loop of a production, through HTTP only (issue "Tasks, comments, people", done-when):
 * a manager creates tasks for all shots and assigns an artist; the artist comments WIP then WFA;
 * the supervisor asks for a retake; the artist sees the notification, logs time, and the month's
 * day table shows it.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type Person, type TestServer } from "./helpers";

let server: TestServer;
let manager: Person;
let artist: Person;
let supervisor: Person;

beforeAll(async () => {
  server = await makeServer();
  manager = await server.person("manager", { first_name: "Paula", last_name: "Prod" });
  artist = await server.person("user", { first_name: "Andy", last_name: "Animator" });
  supervisor = await server.person("supervisor", { first_name: "Sid", last_name: "Sup" });
});

const ok = (response: { status: number; body: any }, status = 200) => {
  if (response.status !== status) throw new Error(`expected ${status}, got ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body;
};

describe("daily loop", () => {
  test("tasks, assignment, comments, retake notification, time log and day table", async () => {
    // The studio manager sets up the production and its team.
    const project = ok(await server.json("POST", "/api/data/projects", { body: { name: "Daily Loop" } }), 201);
    for (const person of [manager, artist, supervisor]) {
      ok(await server.json("POST", `/api/data/projects/${project.id}/team`, { body: { person_id: person.id } }), 201);
    }
    const taskTypes = ok(await server.json("GET", "/api/data/task-types", { token: manager.token }));
    const animation = taskTypes.find((t: any) => t.name === "Animation" && t.for_entity === "Shot");
    const statuses = ok(await server.json("GET", "/api/data/task-status", { token: artist.token }));
    const status = (short: string) => statuses.find((s: any) => s.short_name === short);

    // The manager creates the shots and a task of a type for all of them.
    const sequence = ok(await server.json("POST", `/api/data/projects/${project.id}/sequences`, { token: manager.token, body: { name: "SQ01" } }), 201);
    for (const name of ["SH010", "SH020", "SH030"]) {
      ok(await server.json("POST", `/api/data/projects/${project.id}/shots`, { token: manager.token, body: { name, sequence_id: sequence.id } }), 201);
    }
    const tasks = ok(await server.json("POST", `/api/actions/projects/${project.id}/task-types/${animation.id}/shots/create-tasks`, { token: manager.token, body: {} }), 201);
    expect(tasks).toHaveLength(3);
    const task = tasks.find((t: any) => t.task_status_short_name === "todo");

    // The manager assigns the artist, who finds the task in their todo list.
    const assigned = ok(await server.json("PUT", `/api/actions/persons/${artist.id}/assign`, { token: manager.token, body: { task_ids: [task.id] } }));
    expect(assigned.map((t: any) => t.id)).toEqual([task.id]);
    const todo = ok(await server.json("GET", "/api/data/user/tasks", { token: artist.token }));
    expect(todo.map((t: any) => t.id)).toEqual([task.id]);

    // The artist starts, then asks for a review.
    ok(await server.json("POST", `/api/actions/tasks/${task.id}/comment`, { token: artist.token, body: { task_status_id: status("wip").id, comment: "Blocking started" } }), 201);
    ok(await server.json("POST", `/api/actions/tasks/${task.id}/comment`, { token: artist.token, body: { task_status_id: status("wfa").id, comment: "Ready for review" } }), 201);
    let full = ok(await server.json("GET", `/api/data/tasks/${task.id}/full`, { token: artist.token }));
    expect(full.task_status.short_name).toBe("wfa");
    expect(full.real_start_date).not.toBeNull();
    expect(full.end_date).not.toBeNull();

    // The supervisor reviews it and asks for a retake.
    const retake = ok(await server.json("POST", `/api/actions/tasks/${task.id}/comment`, {
      token: supervisor.token, body: { task_status_id: status("retake").id, comment: "Arms pop at frame 12 @Andy Animator" },
    }), 201);
    full = ok(await server.json("GET", `/api/data/tasks/${task.id}/full`, { token: artist.token }));
    expect(full.task_status.short_name).toBe("retake");
    expect(full.retake_count).toBe(1);

    // The artist sees the notifications of the retake.
    const notifications = ok(await server.json("GET", "/api/data/user/notifications", { token: artist.token }));
    const fromRetake = notifications.filter((n: any) => n.comment_id === retake.id);
    expect(fromRetake.map((n: any) => n.notification_type).sort()).toEqual(["comment", "mention"]);
    const commentNotification = fromRetake.find((n: any) => n.notification_type === "comment");
    expect(commentNotification).toMatchObject({
      author_id: supervisor.id, task_id: task.id, change: true, read: false, task_status_id: status("retake").id,
      comment_text: "Arms pop at frame 12 @Andy Animator", project_name: "Daily Loop", full_entity_name: `SQ01 / ${full.entity.name}`,
    });
    const comments = ok(await server.json("GET", `/api/data/tasks/${task.id}/comments`, { token: artist.token }));
    expect(comments.map((c: any) => c.task_status.short_name)).toEqual(["retake", "wfa", "wip"]);

    // The artist logs two hours on the task today; the month's day table shows them.
    const today = new Date().toISOString().slice(0, 10);
    ok(await server.json("POST", `/api/actions/tasks/${task.id}/time-spents/${today}/persons/${artist.id}`, { token: artist.token, body: { duration: 120 } }), 201);
    const [year, month, day] = today.split("-");
    const table = ok(await server.json("GET", `/api/data/persons/time-spents/day-table/${year}/${month}`, { token: manager.token }));
    expect(table[String(Number(day))][artist.id]).toBe(120);
    const own = ok(await server.json("GET", `/api/data/persons/time-spents/day-table/${year}/${month}`, { token: artist.token }));
    expect(own[String(Number(day))][artist.id]).toBe(120);
    full = ok(await server.json("GET", `/api/data/tasks/${task.id}/full`, { token: artist.token }));
    expect(full.duration).toBe(120);
  });
});
