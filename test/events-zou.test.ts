/**
 * Events emitted as Zou emits them (issue 9): uploading an avatar goes through the model's update,
 * so `<model>:update` is announced before `<model>:set-thumbnail`.
 */
import { sql } from "kysely";
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { fileOf, makePreviewWorld, type PreviewWorld } from "./previews-fixtures";

setDefaultTimeout(60_000);

let w: PreviewWorld;
beforeAll(async () => {
  w = await makePreviewWorld();
});

const avatarForm = async () => {
  const form = new FormData();
  form.append("file", await fileOf(w.media.jpeg, "logo.png"));
  return form;
};

async function lastEvents(): Promise<Array<{ name: string; data: Record<string, unknown>; user_id: string | null; project_id: string | null }>> {
  const answer = await w.server.json("GET", "/api/data/events/last?limit=10");
  expect(answer.status).toBe(200);
  return answer.body;
}

describe("avatar uploads announce the model update", () => {
  test("organisation: organisation:update then organisation:set-thumbnail, both by the admin", async () => {
    const organisations = await w.server.json("GET", "/api/data/organisations");
    const organisationId = organisations.body[0].id;
    const set = await w.server.json("POST", `/api/pictures/thumbnails/organisations/${organisationId}`, { body: await avatarForm() });
    expect(set.status).toBe(201);
    const events = await lastEvents();
    const update = events.find((event) => event.name === "organisation:update");
    expect(update?.data).toEqual({ organisation_id: organisationId });
    expect(update?.user_id).toBe(w.server.admin.id);
    expect(events.some((event) => event.name === "organisation:set-thumbnail")).toBe(true);
    const names = await w.server.json("GET", "/api/data/events/names");
    expect(names.body).toContain("organisation:update");
  });

  test("person and project: person:update and project:update with the id", async () => {
    const artist = w.people.artist;
    expect((await w.server.json("POST", `/api/pictures/thumbnails/persons/${artist.id}`, { token: artist.token, body: await avatarForm() })).status).toBe(201);
    let events = await lastEvents();
    expect(events.find((event) => event.name === "person:update")?.data).toEqual({ person_id: artist.id });
    expect((await w.server.json("POST", `/api/pictures/thumbnails/projects/${w.project.id}`, { body: await avatarForm() })).status).toBe(201);
    events = await lastEvents();
    const update = events.find((event) => event.name === "project:update");
    expect(update?.data).toEqual({ project_id: w.project.id });
    expect(update?.project_id).toBe(w.project.id);
  });
});

describe("preview processing events carry the uploader", () => {
  test("task:update after a preview is ready names the person who uploaded it", async () => {
    const taskId = await w.newTask("SH_EV");
    const previewId = await w.newSlot(taskId);
    const uploaded = await w.upload(previewId, await fileOf(w.media.picture, "still.png"), { token: w.people.artist.token });
    expect(uploaded.status).toBe(201);
    const rows = await w.server.db.selectFrom("api_event").select(["name", "user_id", "data"]).where("name", "=", "task:update").where(sql`cast(data as text)`, "like", `%${taskId}%`).execute();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.user_id).toBe(w.people.artist.id);
  });
});
