/** CSV imports (csv.md part A), with the worked examples of A.9 as tests. */
import { beforeEach, describe, expect, test } from "bun:test";
import { makeServer, type TestServer } from "./helpers";
import { countRows, csvWorld, descriptor, entitiesOf, upload, type CsvWorld } from "./csv-fixtures";

let server: TestServer;
let world: CsvWorld;

const ASSETS = "Type,Name,Description,Contractor\nProp,Cassette Player,Description 01,contractor 1\nProp,Wood Stick,Description 02,contractor 2\nCharacter,Victor,Description 03,contractor 2\n";

async function tasksOf(entityId: string) {
  return server.db
    .selectFrom("task")
    .innerJoin("task_type", "task_type.id", "task.task_type_id")
    .innerJoin("task_status", "task_status.id", "task.task_status_id")
    .select(["task.id", "task_type.name as type", "task_status.short_name as status"])
    .where("task.entity_id", "=", entityId)
    .orderBy("task_type.name")
    .execute();
}

beforeEach(async () => {
  server = await makeServer();
  world = await csvWorld(server);
});

describe("assets import", () => {
  test("example 1: creates asset types, assets, tasks and metadata; re-import keeps 3; update without column keeps metadata", async () => {
    await descriptor(server, world.project.id, "Asset", "Contractor", "contractor");
    const path = `/api/import/csv/projects/${world.project.id}/assets`;
    const res = await upload(server, path, ASSETS);
    expect(res.status).toBe(201);
    expect(res.body).toHaveLength(3);
    expect(res.body[0].name).toBe("Cassette Player");
    expect(res.body[0].type).toBe("Asset");
    const assets = await server.db.selectFrom("entity").selectAll().where("project_id", "=", world.project.id).orderBy("name").execute();
    expect(assets.map((a) => a.name)).toEqual(["Cassette Player", "Victor", "Wood Stick"]);
    expect(JSON.parse(String(assets[0]!.data)).contractor).toBe("contractor 1");
    expect(await countRows(server, "task")).toBe(9);
    expect((await upload(server, path, ASSETS)).status).toBe(201);
    expect((await entitiesOf(server, world.project.id, "Prop")).length).toBe(2);
    expect(await countRows(server, "task")).toBe(9);
    const noMetadata = "Type,Name,Description\nProp,Cassette Player,New description\n";
    expect((await upload(server, `${path}?update=true`, noMetadata)).status).toBe(201);
    const cassette = (await entitiesOf(server, world.project.id, "Prop")).find((a) => a.name === "Cassette Player");
    expect(cassette.description).toBe("New description");
    expect(JSON.parse(String(cassette.data)).contractor).toBe("contractor 1");
  });

  test("example 2: semicolon delimiter, blank line, BOM, CRLF and quoted newlines", async () => {
    const path = `/api/import/csv/projects/${world.project.id}/assets`;
    const semi = ASSETS.replace(/,/g, ";").replace("Type;Name;Description;Contractor\nProp;Cassette Player", "Type;Name;Description;Contractor\n\nProp;Cassette Player");
    expect((await upload(server, path, semi)).body).toHaveLength(3);
    const other = await csvWorld(server, { name: "Other" });
    const crlf = '\ufeffType,Name,Description\r\nProp,"Multi\r\nLine",  "Quoted, with comma"\r\n\r\nProp,Plain,x\r\n';
    const res = await upload(server, `/api/import/csv/projects/${other.project.id}/assets`, crlf);
    expect(res.status).toBe(201);
    expect(res.body.map((a: any) => a.name)).toEqual(["Multi\nLine", "Plain"]);
  });

  test("example 3: undeterminable delimiter is a 400 and nothing is created", async () => {
    const res = await upload(server, `/api/import/csv/projects/${world.project.id}/assets`, "Type,Name,Description\nProp\nProp,Wood Stick,Description 02\n");
    expect(res.status).toBe(400);
    expect(res.body.message).toBe("Could not determine delimiter");
    expect(await countRows(server, "entity")).toBe(0);
  });

  test("example 4: missing Name column is line 2 with 0 imported rows", async () => {
    const res = await upload(server, `/api/import/csv/projects/${world.project.id}/assets`, "Type,Description\nProp,Description 01\n");
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: true, message: "A columns is missing: 'Name'", line_number: 2, imported_rows: 0 });
  });

  test("example 5: empty Type on line 3 rolls back the whole file, no asset type named ''", async () => {
    const types = await countRows(server, "entity_type");
    const res = await upload(server, `/api/import/csv/projects/${world.project.id}/assets`, "Type,Name\nGadget,Cassette Player\n,Wood Stick\n");
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ message: "An asset type is required in the Type column", line_number: 3, imported_rows: 1 });
    expect(await countRows(server, "entity")).toBe(0);
    expect(await countRows(server, "entity_type")).toBe(types);
  });

  test("example 6: task status columns set the status of that task only", async () => {
    const csv = "Type,Name,Description,Shaders,Concept,Modeling\nProp,Cassette Player,D1,,,\nProp,Wood Stick,D2,wip,,\nCharacter,Victor,D3,,,\n";
    expect((await upload(server, `/api/import/csv/projects/${world.project.id}/assets`, csv)).status).toBe(201);
    const stick = (await entitiesOf(server, world.project.id, "Prop")).find((a) => a.name === "Wood Stick");
    expect(await tasksOf(stick.id)).toMatchObject([
      { type: "Concept", status: "todo" },
      { type: "Modeling", status: "todo" },
      { type: "Shaders", status: "wip" },
    ]);
    const victor = (await entitiesOf(server, world.project.id, "Character"))[0];
    expect((await tasksOf(victor.id)).map((t) => t.status)).toEqual(["todo", "todo", "todo"]);
  });

  test("example 7: unknown task status is a 400 on its line; nothing kept (one transaction)", async () => {
    const csv = "Type,Name,Shaders\nProp,Cassette Player,\nProp,Wood Stick,wip\nCharacter,Victor,NotAStatus\n";
    const res = await upload(server, `/api/import/csv/projects/${world.project.id}/assets`, csv);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ message: "Task status not found for NotAStatus", line_number: 4, imported_rows: 2 });
    expect(await countRows(server, "entity")).toBe(0);
    expect(await countRows(server, "task")).toBe(0);
    expect(await countRows(server, "comment")).toBe(0);
  });

  test("example 8: person metadata by full name or email; unknown person is a 400", async () => {
    await descriptor(server, world.project.id, "Asset", "Reviewer", "reviewer", "person");
    const path = `/api/import/csv/projects/${world.project.id}/assets`;
    const res = await upload(server, path, "Type,Name,Reviewer\nProp,A,John Doe\nProp,B,john.doe@gmail.com\n");
    expect(res.status).toBe(201);
    expect(res.body.map((a: any) => a.data.reviewer)).toEqual([world.johnDoe, world.johnDoe]);
    const bad = await upload(server, path, "Type,Name,Reviewer\nProp,C,Jane Unknown\n");
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain("Person not found");
    expect((await entitiesOf(server, world.project.id, "Prop")).length).toBe(2);
  });

  test("episode column on a non tv show is a 400", async () => {
    const res = await upload(server, `/api/import/csv/projects/${world.project.id}/assets`, "Episode,Type,Name\nE01,Prop,A\n");
    expect(res.status).toBe(400);
    expect(res.body.message).toBe("An episode column is present for a production that isn't a TV Show");
  });
});

describe("shots import", () => {
  test("example 9: tv show episodes, sequences, shots, frames, fps and Layout/Animation tasks", async () => {
    const tv = await csvWorld(server, { tvshow: true, name: "TV" });
    await descriptor(server, tv.project.id, "Shot", "Contractor", "contractor");
    const csv = [
      "Episode,Sequence,Name,Description,FPS,Frame In,Frame Out,Contractor",
      "E01,SE01,S01,Description 01,25,0,100,contractor 1",
      "E01,SE01,S02,Description 02,25,100,200,contractor 2",
      "E01,SE02,S01,Description 03,25,200,300,contractor 2",
      "E02,SE01,S01,Description 01,25,300,400,contractor 1",
    ].join("\n");
    const res = await upload(server, `/api/import/csv/projects/${tv.project.id}/shots`, csv);
    expect(res.status).toBe(201);
    expect(res.body).toHaveLength(4);
    expect((await entitiesOf(server, tv.project.id, "Episode")).map((e) => e.name)).toEqual(["E01", "E02"]);
    expect(await entitiesOf(server, tv.project.id, "Sequence")).toHaveLength(3);
    const shots = await entitiesOf(server, tv.project.id, "Shot");
    expect(shots).toHaveLength(4);
    for (const shot of shots) expect(shot.nb_frames).toBe(101);
    expect(res.body[0].data).toEqual({ fps: "25", frame_in: 0, frame_out: 100, contractor: "contractor 1" });
    const tasks = await server.db.selectFrom("task").select("task_type_id").where("project_id", "=", tv.project.id).execute();
    expect(tasks.filter((t) => t.task_type_id === tv.taskTypes.Layout)).toHaveLength(4);
  });

  test("example 10: In/Out fallback headers; empty range leaves no keys", async () => {
    const csv = "Sequence,Name,In,Out\nSQ01,FS01,,\nSQ01,FS02,1001,1100\n";
    const res = await upload(server, `/api/import/csv/projects/${world.project.id}/shots`, csv);
    expect(res.status).toBe(201);
    expect(res.body[0].data).toEqual({});
    expect(res.body[1].data).toEqual({ frame_in: 1001, frame_out: 1100 });
    expect(res.body[1].nb_frames).toBe(100);
    const bad = await upload(server, `/api/import/csv/projects/${world.project.id}/shots`, "Sequence,Name,Frame In\nSQ01,FS03,abc\n");
    expect(bad.body).toMatchObject({ message: "frame_in must be an integer, got 'abc'", line_number: 2 });
  });

  test("example 11: boolean metadata", async () => {
    await descriptor(server, world.project.id, "Shot", "Delivery", "delivery", "boolean");
    const res = await upload(server, `/api/import/csv/projects/${world.project.id}/shots`, "Sequence,Name,Delivery\nSQ01,S01,true\nSQ01,S02,\n");
    expect(res.body.map((s: any) => s.data.delivery)).toEqual(["true", ""]);
  });

  test("example 12: assignations without comment column post no comment; re-import keeps 2 assignees", async () => {
    const csv = 'Sequence,Name,Animation,Animation assignations\nSQ01,S01,,"John Doe, John Did"\nSQ01,S02,,\n';
    const path = `/api/import/csv/projects/${world.project.id}/shots`;
    expect((await upload(server, path, csv)).status).toBe(201);
    const links = await server.db
      .selectFrom("task_person_link")
      .innerJoin("task", "task.id", "task_person_link.task_id")
      .innerJoin("entity", "entity.id", "task.entity_id")
      .select(["entity.name", "task_person_link.person_id"])
      .execute();
    expect(links.map((l) => l.name)).toEqual(["S01", "S01"]);
    expect(new Set(links.map((l) => l.person_id))).toEqual(new Set([world.johnDoe, world.johnDid]));
    expect(await countRows(server, "comment")).toBe(0);
    expect((await upload(server, `${path}?update=true`, csv)).status).toBe(201);
    expect(await server.db.selectFrom("task_person_link").selectAll().execute()).toHaveLength(2);
    const bad = await upload(server, path, "Sequence,Name,Animation assignations\nSQ01,S09,Nobody Here\n");
    expect(bad.status).toBe(400);
  });

  test("status with comment column posts a comment", async () => {
    const csv = "Sequence,Name,Animation,Animation comment\nSQ01,S01,wip,Started\n";
    expect((await upload(server, `/api/import/csv/projects/${world.project.id}/shots`, csv)).status).toBe(201);
    const comments = await server.db.selectFrom("comment").select("text").execute();
    expect(comments.map((c) => c.text)).toEqual(["Started"]);
  });
});

describe("edits import", () => {
  test("example 13: plain edits, tv show episode edits, episode column refused off tv shows", async () => {
    const res = await upload(server, `/api/import/csv/projects/${world.project.id}/edits`, "Name,Description\nOpening,The first edit\n");
    expect(res.status).toBe(201);
    expect(res.body[0]).toMatchObject({ name: "Opening", description: "The first edit", type: "Edit" });
    const tv = await csvWorld(server, { tvshow: true, name: "TV" });
    const tvRes = await upload(server, `/api/import/csv/projects/${tv.project.id}/edits`, "Name,Episode\nOpening,E01\nEnding,E01\n");
    expect(tvRes.status).toBe(201);
    const [episode] = await entitiesOf(server, tv.project.id, "Episode");
    expect(episode.name).toBe("E01");
    expect(tvRes.body.map((e: any) => e.parent_id)).toEqual([episode.id, episode.id]);
    const bad = await upload(server, `/api/import/csv/projects/${world.project.id}/edits`, "Name,Episode\nClosing,E01\n");
    expect(bad.status).toBe(400);
    expect((await entitiesOf(server, world.project.id, "Edit")).map((e) => e.name)).toEqual(["Opening"]);
  });
});

describe("casting import", () => {
  test("example 14: shot and asset casting, automatic episode links, idempotent, labels updated", async () => {
    const tv = await csvWorld(server, { tvshow: true, name: "TV" });
    const p = tv.project.id;
    const assets = "Type,Name\nEnvironment,Lake\nEnvironment,Mine\nProps,Boat\nProps,Pool\nProps,Flowers\nProps,Block\nProps,Wagon\nCharacter,Victor\nCharacter,John\n";
    expect((await upload(server, `/api/import/csv/projects/${p}/assets`, assets)).status).toBe(201);
    const shots = "Episode,Sequence,Name\nE01,SEQ01,SH01\nE01,SEQ01,SH02\nE01,SEQ02,SH01\nE02,SEQ01,SH01\n";
    expect((await upload(server, `/api/import/csv/projects/${p}/shots`, shots)).status).toBe(201);
    const casting = (label: string) =>
      [
        "Episode,Parent,Name,Asset Type,Asset,Occurences,Label",
        `E01,SEQ01,SH01,Character,Victor,1,${label === "fixed" ? "fixed" : "Animate"}`,
        `E01,SEQ01,SH01,Character,John,1,${label === "fixed" ? "fixed" : "Animate"}`,
        `E01,SEQ01,SH02,Environment,Lake,1,${label}`,
        `E01,SEQ01,SH02,Environment,Mine,1,${label}`,
        `E01,SEQ02,SH01,Environment,Mine,1,${label}`,
        `E02,SEQ01,SH01,Character,Victor,1,${label === "fixed" ? "fixed" : "Animate"}`,
        `E02,SEQ01,SH01,Environment,Mine,1,${label}`,
        `E02,SEQ02,SH01,Environment,Mine,1,${label}`,
        `MP,Environment,Lake,Props,Boat,1,${label}`,
        `MP,Environment,Lake,Props,Pool,1,${label}`,
        `MP,Environment,Lake,Props,Flowers,1,${label}`,
        `MP,Environment,Mine,Props,Block,1,${label}`,
        `MP,Environment,Mine,Props,Wagon,1,${label}`,
      ].join("\n");
    const res = await upload(server, `/api/import/csv/projects/${p}/casting`, casting("Set Dress"));
    expect(res.status).toBe(201);
    expect(res.body.every((r: unknown) => r === null)).toBe(true);
    expect(await countRows(server, "entity_link")).toBe(18);
    const shot = (await entitiesOf(server, p, "Shot")).find((s) => s.name === "SH01" && s.nb_entities_out === 2);
    expect(shot).toBeDefined();
    expect((await upload(server, `/api/import/csv/projects/${p}/casting`, casting("Set Dress"))).status).toBe(201);
    expect(await countRows(server, "entity_link")).toBe(18);
    expect((await upload(server, `/api/import/csv/projects/${p}/casting`, casting("fixed"))).status).toBe(201);
    const labels = await server.db
      .selectFrom("entity_link")
      .innerJoin("entity", "entity.id", "entity_link.entity_in_id")
      .innerJoin("entity_type", "entity_type.id", "entity.entity_type_id")
      .select(["entity_link.label", "entity_type.name as type"])
      .execute();
    expect(labels).toHaveLength(18);
    expect(labels.filter((l) => l.type !== "Episode").every((l) => l.label === "fixed")).toBe(true);

    const exported = await server.request("GET", `/api/export/csv/projects/${p}/casting.csv`);
    expect(await exported.text()).toContain("MP;Environment;Lake;Props;Boat;1;fixed");
  });
});

describe("estimations import", () => {
  test("example 15: start date on the Shaders task of Tree; episode route scopes shots", async () => {
    await upload(server, `/api/import/csv/projects/${world.project.id}/assets`, "Type,Name\nProps,Tree\n");
    const res = await upload(server, `/api/import/csv/projects/${world.project.id}/task-types/${world.taskTypes.Shaders}/estimations`, "Parent,Entity,Start date,Estimation\nProps,Tree,2024-01-05,3\n");
    expect(res.status).toBe(201);
    expect(res.body).toEqual([null]);
    const task = await server.db.selectFrom("task").selectAll().where("task_type_id", "=", world.taskTypes.Shaders).executeTakeFirstOrThrow();
    expect(String(task.start_date).slice(0, 10)).toBe("2024-01-05");
    expect(String(task.due_date).slice(0, 10)).toBe("2024-01-09");
    expect(task.estimation).toBe(3 * 8 * 60);

    const tv = await csvWorld(server, { tvshow: true, name: "TV" });
    await upload(server, `/api/import/csv/projects/${tv.project.id}/shots`, "Episode,Sequence,Name\nE01,S01,P01\nE02,S01,P01\n");
    const [e01] = await entitiesOf(server, tv.project.id, "Episode");
    const path = `/api/import/csv/projects/${tv.project.id}/episodes/${e01.id}/task-types/${tv.taskTypes.Layout}/estimations`;
    expect((await upload(server, path, "Parent,Entity,Start date\nS01,P01,2024-03-08\n")).status).toBe(201);
    const dates = await server.db
      .selectFrom("task")
      .innerJoin("entity", "entity.id", "task.entity_id")
      .innerJoin("entity as seq", "seq.id", "entity.parent_id")
      .select(["seq.parent_id", "task.start_date"])
      .where("task.task_type_id", "=", tv.taskTypes.Layout)
      .execute();
    expect(dates.find((d) => d.parent_id === e01.id)!.start_date?.slice(0, 10)).toBe("2024-03-08");
    expect(dates.find((d) => d.parent_id !== e01.id)!.start_date).toBeNull();
    const missing = await upload(server, path, "Parent,Entity,Start date\nS01,P99,2024-03-08\n");
    expect(missing.body).toMatchObject({ message: "Entity 'P99' with parent 'S01' not found", line_number: 2 });
  });

  test("unknown task type or project is a 404; supervisor of another department is a 403", async () => {
    const unknown = "00000000-0000-0000-0000-000000000000";
    expect((await upload(server, `/api/import/csv/projects/${world.project.id}/task-types/${unknown}/estimations`, "Parent,Entity\n")).status).toBe(404);
    expect((await upload(server, `/api/import/csv/projects/${unknown}/task-types/${world.taskTypes.Shaders}/estimations`, "Parent,Entity\n")).status).toBe(404);
    const supervisor = await server.person("supervisor");
    await server.addToTeam(world.project.id, supervisor);
    const animation = await server.db.selectFrom("department").select("id").where("name", "=", "Animation").executeTakeFirstOrThrow();
    await server.db.insertInto("department_link").values({ person_id: supervisor.id, department_id: animation.id }).execute();
    const path = `/api/import/csv/projects/${world.project.id}/task-types/${world.taskTypes.Shaders}/estimations`;
    expect((await upload(server, path, "Parent,Entity\n", supervisor.token)).status).toBe(403);
  });
});

describe("persons import", () => {
  const PERSONS = [
    '"First Name";"Last Name";"Email";"Phone";"Role";"Departments";"Studio";"Country";"Contract Type";"Position";"Seniority";"Daily Salary";"Active"',
    '"John";"Doe";"john.doe2@gmail.com";"+33 6 08 08 08 08";"Artist";"Animation,Modeling";"Test Studio";"fr";"Open-ended";"Lead";"Senior";"320";"yes"',
    '"Ema";"Doe";"ema.doe@gmail.com";"+33 6 08 08 08 09";"supervisor";"Animation";"Test Studio";"US";"freelance";"artist";"junior";"450";"no"',
  ].join("\n");

  test("example 16: labels and codes, country, salary, departments, studio", async () => {
    const now = new Date().toISOString().slice(0, 19);
    await server.db.insertInto("studio").values({ id: crypto.randomUUID(), created_at: now, updated_at: now, name: "Test Studio", color: "#000000" } as any).execute();
    const res = await upload(server, "/api/import/csv/persons", PERSONS);
    expect(res.status).toBe(201);
    expect(res.body).toHaveLength(2);
    expect(res.body[0].password).toBeUndefined();
    const john = await server.db.selectFrom("person").selectAll().where("email", "=", "john.doe2@gmail.com").executeTakeFirstOrThrow();
    expect(john).toMatchObject({ role: "user", position: "lead", seniority: "senior", contract_type: "open-ended", country: "FR", daily_salary: 320 });
    expect(Boolean(john.active)).toBe(true);
    const ema = await server.db.selectFrom("person").selectAll().where("email", "=", "ema.doe@gmail.com").executeTakeFirstOrThrow();
    expect(ema).toMatchObject({ role: "supervisor", position: "artist", seniority: "junior", contract_type: "freelance", country: "US", daily_salary: 450 });
    expect(Boolean(ema.active)).toBe(false);
    const depts = await server.db
      .selectFrom("department_link")
      .innerJoin("department", "department.id", "department_link.department_id")
      .select("department.name")
      .where("person_id", "=", john.id)
      .orderBy("department.name")
      .execute();
    expect(depts.map((d) => d.name)).toEqual(["Animation", "Modeling"]);
    expect(ema.studio_id).toBe(john.studio_id);
  });

  test("a bad country on line 3 is a 400 and nothing is written; non admins get 403", async () => {
    const before = await countRows(server, "person");
    const csv = "First Name,Last Name,Email,Country\nJane,Roe,jane.roe@gmail.com,FR\nJim,Roe,jim.roe@gmail.com,France\n";
    const res = await upload(server, "/api/import/csv/persons", csv);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ message: "A value is invalid: Country: France", line_number: 3, imported_rows: 1 });
    expect(await countRows(server, "person")).toBe(before);
    const manager = await server.person("manager");
    expect((await upload(server, "/api/import/csv/persons", csv, manager.token)).status).toBe(403);
    expect((await upload(server, "/api/import/csv/persons", csv, undefined, "other")).status).toBe(400);
  });
});

describe("permissions and unknown ids", () => {
  test("a supervisor member gets 403, a project manager 201, an unknown project 404", async () => {
    const supervisor = await server.person("supervisor");
    const manager = await server.person("manager");
    await server.addToTeam(world.project.id, supervisor);
    await server.addToTeam(world.project.id, manager);
    for (const kind of ["assets", "shots", "edits", "casting"]) {
      const path = `/api/import/csv/projects/${world.project.id}/${kind}`;
      expect((await upload(server, path, "Name\n", supervisor.token)).status).toBe(403);
      expect((await upload(server, `/api/import/csv/projects/00000000-0000-0000-0000-000000000000/${kind}`, "Name\n")).status).toBe(404);
    }
    expect((await upload(server, `/api/import/csv/projects/${world.project.id}/assets`, "Type,Name\nProp,A\n", manager.token)).status).toBe(201);
    expect(await countRows(server, "entity")).toBe(1);
  });
});

describe("malformed files", () => {
  test("non UTF-8 bytes and an unclosed quote are 400s, nothing written", async () => {
    const path = `/api/import/csv/projects/${world.project.id}/assets`;
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array([...new TextEncoder().encode("Type,Name\nProp,Caf"), 0xe9, 10])]), "latin1.csv");
    const latin1 = await server.json("POST", path, { body: form });
    expect(latin1.status).toBe(400);
    expect(latin1.body.message).toBe("The file is not valid UTF-8 text.");
    const unclosed = await upload(server, path, 'Type,Name\nProp,A\nProp,"B\n');
    expect(unclosed.status).toBe(400);
    expect(unclosed.body.error).toBe(true);
    expect(await countRows(server, "entity")).toBe(0);
  });
});

describe("updates and asset columns", () => {
  test("shots: existing rows untouched without update, overwritten with ?update=true", async () => {
    const path = `/api/import/csv/projects/${world.project.id}/shots`;
    await upload(server, path, "Sequence,Name,Description,Frame In,Frame Out\nSQ01,S01,First,1,10\n");
    await upload(server, path, "Sequence,Name,Description,Frame In,Frame Out\nSQ01,S01,Second,1,20\n");
    let [shot] = await entitiesOf(server, world.project.id, "Shot");
    expect(shot.description).toBe("First");
    expect(shot.nb_frames).toBe(10);
    const res = await upload(server, `${path}?update=true`, "Sequence,Name,Description,Frame Out\nSQ01,S01,Second,20\n");
    expect(res.status).toBe(201);
    [shot] = await entitiesOf(server, world.project.id, "Shot");
    expect(shot.description).toBe("Second");
    expect(shot.nb_frames).toBe(20);
    expect(JSON.parse(String(shot.data))).toEqual({ frame_in: 1, frame_out: 20 });
    expect(await entitiesOf(server, world.project.id, "Shot")).toHaveLength(1);
  });

  test("assets on a tv show: Episode column (MP = main pack), Ready for, unknown Ready for", async () => {
    const tv = await csvWorld(server, { tvshow: true, name: "TV" });
    const path = `/api/import/csv/projects/${tv.project.id}/assets`;
    const res = await upload(server, path, "Episode,Type,Name,Ready for\nE01,Prop,Lamp,Layout\nMP,Prop,Chair,\n");
    expect(res.status).toBe(201);
    const [episode] = await entitiesOf(server, tv.project.id, "Episode");
    expect(episode.name).toBe("E01");
    expect(res.body[0]).toMatchObject({ name: "Lamp", source_id: episode.id, ready_for: tv.taskTypes.Layout });
    expect(res.body[1]).toMatchObject({ name: "Chair", source_id: null, ready_for: null });
    const bad = await upload(server, path, "Type,Name,Ready for\nProp,Desk,Nope\n");
    expect(bad.body).toMatchObject({ message: "Task type not found for Nope", line_number: 2 });
  });
});
