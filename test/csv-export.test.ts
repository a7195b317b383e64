/** CSV exports (csv.md part B), with the exact bodies of B.4 as tests. */
import { beforeEach, describe, expect, test } from "bun:test";
import { newId, utcNow } from "../src/lib/ids";
import { makeServer, type TestServer } from "./helpers";
import { csvWorld, descriptor, upload, type CsvWorld } from "./csv-fixtures";

let server: TestServer;
let world: CsvWorld;
let openStatus: string;

function stamps() {
  const now = utcNow();
  return { id: newId(), created_at: now, updated_at: now };
}

async function entity(typeName: string, name: string, fields: Record<string, unknown> = {}): Promise<string> {
  let type = await server.db.selectFrom("entity_type").select("id").where("name", "=", typeName).executeTakeFirst();
  if (!type) {
    type = { id: newId() };
    await server.db.insertInto("entity_type").values({ ...stamps(), id: type.id, name: typeName } as any).execute();
  }
  const row = { ...stamps(), name, project_id: world.project.id, entity_type_id: type.id, data: "{}", ...fields };
  await server.db.insertInto("entity").values(row as any).execute();
  return row.id;
}

async function task(entityId: string, taskTypeId: string, fields: Record<string, unknown> = {}): Promise<string> {
  const row = {
    ...stamps(), name: "main", project_id: world.project.id, entity_id: entityId, task_type_id: taskTypeId, task_status_id: openStatus,
    assigner_id: world.emaPeel, duration: 0, estimation: 0, ...fields,
  };
  await server.db.insertInto("task").values(row as any).execute();
  await server.db.insertInto("task_person_link").values({ task_id: row.id, person_id: world.johnDoe } as any).execute();
  return row.id;
}

async function getCsv(path: string, token?: string): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await server.request("GET", path, { token });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

beforeEach(async () => {
  server = await makeServer();
  world = await csvWorld(server);
  openStatus = newId();
  await server.db.insertInto("task_status").values({ ...stamps(), id: openStatus, name: "Open", short_name: "opn", color: "#000000" } as any).execute();
});

describe("project exports", () => {
  test("assets.csv: header, time spent, task status short name and assignees; with metadata", async () => {
    const tree = await entity("Props", "Tree", { description: "Description Tree" });
    await task(tree, world.taskTypes.Shaders, { duration: 50, estimation: 40 });
    const path = `/api/export/csv/projects/${world.project.id}/assets.csv`;
    const res = await getCsv(path);
    expect(res.status).toBe(200);
    expect(res.text).toBe("Project;Type;Name;Description;Time Spent;Shaders;Assignations\r\nCosmos Landromat;Props;Tree;Description Tree;0.10;opn;John Doe\r\n");
    expect(res.headers.get("content-disposition")).toBe("attachment; filename=kitsu_cosmos_landromat_assets.csv");
    expect(res.headers.get("content-type")).toContain("text/csv");
    await descriptor(server, world.project.id, "Asset", "Contractor", "contractor");
    await server.db.updateTable("entity").set({ data: JSON.stringify({ contractor: "Contractor 1" }) }).where("id", "=", tree).execute();
    expect((await getCsv(path)).text).toBe(
      "Project;Type;Name;Description;Time Spent;Contractor;Shaders;Assignations\r\nCosmos Landromat;Props;Tree;Description Tree;0.10;Contractor 1;opn;John Doe\r\n",
    );
  });

  test("shots.csv and edits.csv", async () => {
    const episode = await entity("Episode", "E01");
    const sequence = await entity("Sequence", "S01", { parent_id: episode });
    const shot = await entity("Shot", "P01", { parent_id: sequence, description: "Description Shot 01", nb_frames: 0, data: JSON.stringify({ fps: 25, frame_in: 0, frame_out: 100 }) });
    await task(shot, world.taskTypes.Animation);
    expect((await getCsv(`/api/export/csv/projects/${world.project.id}/shots.csv`)).text).toBe(
      "Project;Episode;Sequence;Name;Description;Time Spent;Frames;Frame In;Frame Out;FPS;Animation;Assignations\r\n" +
        "Cosmos Landromat;E01;S01;P01;Description Shot 01;0.00;0;0;100;25;opn;John Doe\r\n",
    );
    await descriptor(server, world.project.id, "Edit", "Contractor", "contractor");
    const edit = await entity("Edit", "Edit", { parent_id: episode, description: "Description of the Edit" });
    await task(edit, world.taskTypes.Edit, { duration: 100 });
    expect((await getCsv(`/api/export/csv/projects/${world.project.id}/edits.csv`)).text).toBe(
      "Project;Episode;Name;Description;Time Spent;Contractor;Edit;Assignations\r\nCosmos Landromat;E01;Edit;Description of the Edit;0.21;;opn;John Doe\r\n",
    );
  });

  test("fields with the separator, quotes or newlines are quoted", async () => {
    await entity("Props", "Tree", { description: 'He said "hi";\nthen left' });
    const text = (await getCsv(`/api/export/csv/projects/${world.project.id}/assets.csv`)).text;
    expect(text).toBe('Project;Type;Name;Description;Time Spent\r\nCosmos Landromat;Props;Tree;"He said ""hi"";\nthen left";0.00\r\n');
  });

  test("casting.csv modes after a tv show casting import", async () => {
    const tv = await csvWorld(server, { tvshow: true, name: "TV" });
    const p = tv.project.id;
    await upload(server, `/api/import/csv/projects/${p}/assets`, "Type,Name\nEnvironment,Lake\nProps,Boat\nCharacter,John\nCharacter,Victor\n");
    await upload(server, `/api/import/csv/projects/${p}/shots`, "Episode,Sequence,Name\nE01,SEQ01,SH01\nE02,SEQ01,SH01\n");
    const casting = [
      "Episode,Parent,Name,Asset Type,Asset,Occurences,Label",
      "E01,SEQ01,SH01,Character,John,1,animate",
      "E02,SEQ01,SH01,Character,Victor,1,animate",
      "MP,Environment,Lake,Props,Boat,1,setdress",
    ].join("\n");
    expect((await upload(server, `/api/import/csv/projects/${p}/casting`, casting)).status).toBe(201);
    const base = `/api/export/csv/projects/${p}/casting.csv`;
    const assets = (await getCsv(base)).text;
    expect(assets.startsWith("Episode;Parent;Name;Asset Type;Asset;Occurences;Label\r\n")).toBe(true);
    expect(assets).toContain("MP;Environment;Lake;Props;Boat;1;setdress");
    expect(assets).not.toContain("SH01");
    const shots = (await getCsv(`${base}?is_shot_casting=true`)).text;
    expect(shots).toContain("E01;SEQ01;SH01;Character;John;1;animate");
    expect(shots).toContain("E02;SEQ01;SH01;Character;Victor;1;animate");
    expect(shots).not.toContain("MP;");
    const [e02] = (await server.db.selectFrom("entity").select("id").where("name", "=", "E02").where("project_id", "=", p).execute());
    const onlyE02 = (await getCsv(`${base}?is_shot_casting=true&episode_id=${e02!.id}`)).text;
    expect(onlyE02).toContain("E02;SEQ01;SH01");
    expect(onlyE02).not.toContain("E01;");
    const episodes = (await getCsv(`${base}?episode_id=all`)).text;
    expect(episodes.startsWith("Parent;Name;Asset Type;Asset;Occurences;Label\r\n")).toBe(true);
    expect(episodes).toContain("Episode;E01;Character;John;1;animate");
    expect(episodes).not.toContain("SH01");
    expect(episodes).not.toContain("MP;");
    expect((await getCsv(`${base}?episode_id=nope`)).status).toBe(400);
  });

  test("vendors and non members get 403, unknown project 404", async () => {
    const vendor = await server.person("vendor");
    await server.addToTeam(world.project.id, vendor);
    const outsider = await server.person("user");
    for (const kind of ["assets", "shots", "edits", "casting"]) {
      const path = `/api/export/csv/projects/${world.project.id}/${kind}.csv`;
      expect((await getCsv(path, vendor.token)).status).toBe(403);
      expect((await getCsv(path, outsider.token)).status).toBe(403);
      expect((await getCsv(`/api/export/csv/projects/00000000-0000-0000-0000-000000000000/${kind}.csv`)).status).toBe(404);
    }
  });
});

describe("global exports", () => {
  test("projects.csv, tasks.csv, time-spents.csv", async () => {
    const tree = await entity("Props", "Tree", { description: "Description Tree" });
    const shaders = await task(tree, world.taskTypes.Shaders, {
      duration: 50, estimation: 40, start_date: "2017-02-20T00:00:00", due_date: "2017-02-28T00:00:00", real_start_date: "2017-02-22T00:00:00",
    });
    const projects = await getCsv("/api/export/csv/projects.csv");
    expect(projects.text).toBe("Name;Status\r\nCosmos Landromat;Open\r\n");
    expect(projects.headers.get("content-disposition")).toBe("attachment; filename=kitsu_export.csv");
    expect(projects.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect((await getCsv("/api/export/csv/tasks.csv")).text).toBe(
      "Project;Task Type;Episode;Sequence;Entity Type;Entity;Assigner;Assignees;Duration;Estimation;Start date;Due date;WIP date;Validation date;Task Status\r\n" +
        "Cosmos Landromat;Shaders;;;Props;Tree;Ema Peel;John Doe;50.0;40.0;2017-02-20;2017-02-28;2017-02-22;;Open\r\n",
    );
    await server.db.insertInto("time_spent").values({ ...stamps(), duration: 500, date: "2023-03-04", task_id: shaders, person_id: world.johnDoe } as any).execute();
    const closedStatus = await server.db.selectFrom("project_status").select("id").where("name", "=", "Closed").executeTakeFirst();
    const closed = await server.project("Closed one", [], closedStatus ? { project_status_id: closedStatus.id } : {});
    const other = { ...stamps(), name: "main", project_id: closed.id, entity_id: tree, task_type_id: world.taskTypes.Shaders, task_status_id: openStatus };
    await server.db.insertInto("task").values(other as any).execute();
    await server.db.insertInto("time_spent").values({ ...stamps(), duration: 200, date: "2023-03-05", task_id: other.id, person_id: world.johnDoe } as any).execute();
    const times = await getCsv("/api/export/csv/time-spents.csv");
    expect(times.text).toBe("Project;Person;Entity Type Name;Entity;Task Type;Date;Time spent\r\nCosmos Landromat;John Doe;Props;Tree;Shaders;2023-03-04;500.0\r\n");
    expect(times.headers.get("content-disposition")).toMatch(/^attachment; filename=kitsu_\d{4}_\d{2}_\d{2}_open_projects_time_spents_export\.csv$/);
  });

  test("task-types.csv: only task types with a department, by department then name", async () => {
    const text = (await getCsv("/api/export/csv/task-types.csv")).text;
    const lines = text.split("\r\n").filter(Boolean);
    expect(lines[0]).toBe("Department;Name");
    expect(lines).toContain("Modeling;Shaders");
    expect(lines).not.toContain(";Concept");
    const sorted = [...lines.slice(1)].sort((a, b) => {
      const [da, na] = a.split(";");
      const [db, nb] = b.split(";");
      return da! < db! ? -1 : da! > db! ? 1 : na! < nb! ? -1 : na! > nb! ? 1 : 0;
    });
    expect(lines.slice(1)).toEqual(sorted);
  });

  test("persons.csv: non-bot persons sorted case-insensitively, departments and studio", async () => {
    await server.db.deleteFrom("person").where("id", "in", [world.johnDoe, world.johnDid, world.emaPeel]).execute();
    await server.db.updateTable("person").set({ first_name: "John", last_name: "Did", email: "john.did@gmail.com" }).where("id", "=", server.admin.id).execute();
    const studio = { ...stamps(), name: "Test Studio", color: "#000000" };
    await server.db.insertInto("studio").values(studio as any).execute();
    const person = (first: string, last: string, fields: Record<string, unknown> = {}) =>
      server.db.insertInto("person").values({ ...stamps(), first_name: first, last_name: last, email: `${first.toLowerCase()}.${last.toLowerCase()}@gmail.com`, ...fields } as any).execute();
    await person("Aaron", "Zzz");
    await person("bob", "Aaa");
    const john = newId();
    await person("John", "Doe", { id: john, studio_id: studio.id, country: "FR", position: "lead", seniority: "senior", daily_salary: 300 });
    await person("Bot", "Bot", { is_bot: true });
    for (const name of ["Modeling", "Animation"]) {
      const dept = await server.db.selectFrom("department").select("id").where("name", "=", name).executeTakeFirstOrThrow();
      await server.db.insertInto("department_link").values({ person_id: john, department_id: dept.id }).execute();
    }
    const res = await getCsv("/api/export/csv/persons.csv");
    expect(res.text).toBe(
      "First Name;Last Name;Email;Phone;Role;Departments;Studio;Country;Contract Type;Position;Seniority;Daily Salary;Active\r\n" +
        "Aaron;Zzz;aaron.zzz@gmail.com;;user;;;;open-ended;artist;mid;0;yes\r\n" +
        "bob;Aaa;bob.aaa@gmail.com;;user;;;;open-ended;artist;mid;0;yes\r\n" +
        "John;Did;john.did@gmail.com;;admin;;;;open-ended;artist;mid;0;yes\r\n" +
        "John;Doe;john.doe@gmail.com;;user;Animation,Modeling;Test Studio;FR;open-ended;lead;senior;300;yes\r\n",
    );
    expect(res.headers.get("content-disposition")).toBe("attachment; filename=kitsu_people_export.csv");
  });

  test("only managers and admins: 403 for a supervisor", async () => {
    const supervisor = await server.person("supervisor");
    const manager = await server.person("manager");
    for (const name of ["persons", "projects", "tasks", "time-spents", "task-types"]) {
      expect((await getCsv(`/api/export/csv/${name}.csv`, supervisor.token)).status).toBe(403);
      expect((await getCsv(`/api/export/csv/${name}.csv`, manager.token)).status).toBe(200);
    }
  });
});

describe("playlist export", () => {
  test("three header rows then one row per entry; 404 unknown; 403 vendor", async () => {
    const sequence = await entity("Sequence", "S01");
    const shot = await entity("Shot", "P01", { parent_id: sequence, nb_frames: 24 });
    const taskId = await task(shot, world.taskTypes.Animation, { retake_count: 1 });
    const preview = { ...stamps(), name: "p", revision: 2, task_id: taskId, person_id: world.johnDoe, extension: "mp4" };
    await server.db.insertInto("preview_file").values(preview as any).execute();
    await server.db.insertInto("comment").values({ ...stamps(), object_id: taskId, object_type: "Task", person_id: world.johnDoe, task_status_id: openStatus, text: "Nice" } as any).execute();
    const playlist = { ...stamps(), name: "Playlist 1", project_id: world.project.id, for_entity: "shot", shots: JSON.stringify([{ entity_id: shot, preview_file_id: preview.id }]) };
    await server.db.insertInto("playlist").values(playlist as any).execute();
    const res = await getCsv(`/api/export/csv/playlists/${playlist.id}`);
    expect(res.status).toBe(200);
    const lines = res.text.split("\r\n");
    expect(lines[0]!.startsWith("Playlist;Cosmos Landromat | for shots;Playlist 1;")).toBe(true);
    expect(lines[1]).toBe(";;;;;;");
    expect(lines[2]).toBe("Entity name;Nb Frames;Task Type;Retake count;Revision;Task Status;Last comment author;Last comment date;Last comment");
    expect(lines[3]).toMatch(/^S01 \/ P01;24;Animation;1;2;Open;John Doe;[0-9T:-]+;Nice$/);
    expect(res.headers.get("content-disposition")).toBe("attachment; filename=kitsu_cosmos_landromat_playlist_playlist_1.csv");
    expect((await getCsv("/api/export/csv/playlists/00000000-0000-0000-0000-000000000000")).status).toBe(404);
    const vendor = await server.person("vendor");
    await server.addToTeam(world.project.id, vendor);
    expect((await getCsv(`/api/export/csv/playlists/${playlist.id}`, vendor.token)).status).toBe(403);
    const artist = await server.person("user");
    await server.addToTeam(world.project.id, artist);
    expect((await getCsv(`/api/export/csv/playlists/${playlist.id}`, artist.token)).status).toBe(403);
    const supervisor = await server.person("supervisor");
    await server.addToTeam(world.project.id, supervisor);
    expect((await getCsv(`/api/export/csv/playlists/${playlist.id}`, supervisor.token)).status).toBe(200);
  });
});
