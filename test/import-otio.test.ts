/** OTIO / EDL edit imports into shots: frame ranges, naming convention, episode variant, refusals. */
import { beforeEach, describe, expect, test } from "bun:test";
import { makeServer, type Person, type TestServer } from "./helpers";
import { conventionRegex, parseEdl, parseOtio, timecodeToFrames } from "../src/services/otio-import";

let server: TestServer;
let project: any;
let manager: Person;

const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";

function edl(recordStart: string, thirdClip = "TestProject_SQ020-sc030.mp4"): string {
  const h = recordStart;
  return [
    "TITLE: TestProject_EDL",
    "FCM: NON-DROP FRAME",
    "",
    `001  AX       V     C        00:00:00:00 00:00:05:05 ${h}:00:00:00 ${h}:00:05:05`,
    "* FROM CLIP NAME: TestProject_SQ010-sc010.mp4",
    "",
    `002  AX       A     C        00:00:00:00 00:00:02:23 ${h}:00:05:05 ${h}:00:08:03`,
    "* FROM CLIP NAME: an audio event is ignored",
    `003  AX       V     C        00:00:00:00 00:00:02:23 ${h}:00:05:05 ${h}:00:08:03`,
    "* FROM CLIP NAME: TestProject_SQ010-sc020.mp4",
    "",
    `004  AX       V     C        00:00:00:00 00:00:06:24 ${h}:00:08:03 ${h}:00:15:02`,
    `* FROM CLIP NAME: ${thirdClip}`,
    "",
  ].join("\r\n");
}

function otio(): string {
  const time = (value: number) => ({ OTIO_SCHEMA: "RationalTime.1", rate: 25, value });
  const range = (start: number, duration: number) => ({ OTIO_SCHEMA: "TimeRange.1", start_time: time(start), duration: time(duration) });
  const clip = (name: string, start: number, duration: number, url?: string) => ({
    OTIO_SCHEMA: "Clip.2",
    name,
    source_range: range(start, duration),
    media_reference: url ? { OTIO_SCHEMA: "ExternalReference.1", target_url: url } : null,
  });
  return JSON.stringify({
    OTIO_SCHEMA: "Timeline.1",
    name: "edit",
    global_start_time: time(86400),
    tracks: {
      OTIO_SCHEMA: "Stack.1",
      children: [
        {
          OTIO_SCHEMA: "Track.1",
          kind: "Video",
          children: [
            clip("TestProject_SQ010-sh010.mov", 1001, 48),
            { OTIO_SCHEMA: "Gap.1", source_range: range(0, 10) },
            { OTIO_SCHEMA: "Transition.1", in_offset: time(5), out_offset: time(5) },
            clip("", 0, 24, "file:///media/TestProject_SQ010-sh020.mov"),
          ],
        },
        { OTIO_SCHEMA: "Track.1", kind: "Audio", children: [clip("TestProject_SQ099-audio.wav", 0, 100)] },
      ],
    },
  });
}

async function upload(path: string, name: string, content: string, fields: Record<string, string> = {}, token?: string) {
  const form = new FormData();
  form.append("file", new File([content], name));
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  return server.json("POST", path, { body: form, token });
}

async function cuts(): Promise<[string, number, number, number][]> {
  const rows = (await server.db.selectFrom("entity").innerJoin("entity_type", "entity_type.id", "entity.entity_type_id").selectAll("entity").where("entity_type.name", "=", "Shot").execute()) as any[];
  return rows
    .map((row) => {
      const data = JSON.parse(row.data ?? "{}");
      return [row.name, row.nb_frames, data.frame_in, data.frame_out] as [string, number, number, number];
    })
    .sort((a, b) => a[2] - b[2]);
}

async function sequenceNames(): Promise<string[]> {
  const rows = await server.db.selectFrom("entity").innerJoin("entity_type", "entity_type.id", "entity.entity_type_id").select("entity.name").where("entity_type.name", "=", "Sequence").execute();
  return rows.map((row) => row.name).sort();
}

const FIRST_TWO_CUTS = [["sc010", 130, 0, 129], ["sc020", 73, 130, 202]];

beforeEach(async () => {
  server = await makeServer();
  manager = await server.person("manager");
  project = await server.project("TestProject", [manager], { fps: "25" });
});

describe("parsers", () => {
  test("timecodes, drop frame and naming conventions", () => {
    expect(timecodeToFrames("00:00:05:05", 25)).toBe(130);
    expect(timecodeToFrames("01:00:00:00", 24)).toBe(86400);
    expect(timecodeToFrames("00:01:00;02", 29.97)).toBe(1800);
    expect(timecodeToFrames("00:10:00;00", 29.97)).toBe(17982);
    const groups = conventionRegex("${project_name}_${sequence_name}-${shot_name}").exec("TestProject_SQ010-sc010")?.groups;
    expect(groups).toEqual({ project_name: "TestProject", sequence_name: "SQ010", shot_name: "sc010" });
  });

  test("EDL events and OTIO clips become timeline positions", () => {
    expect(parseEdl(edl("10"), 25).map((clip) => [clip.name, clip.nbFrames, clip.frameIn, clip.frameOut]).slice(0, 2)).toEqual([
      ["TestProject_SQ010-sc010", 130, 0, 129],
      ["TestProject_SQ010-sc020", 73, 130, 202],
    ]);
    expect(parseOtio(otio())).toEqual([
      { name: "TestProject_SQ010-sh010", frameIn: 0, frameOut: 47, nbFrames: 48 },
      { name: "TestProject_SQ010-sh020", frameIn: 58, frameOut: 81, nbFrames: 24 },
    ]);
  });
});

describe("EDL import", () => {
  test("creates sequences and shots with frame ranges, and the project's shot tasks", async () => {
    const layout = await server.db.selectFrom("task_type").selectAll().where("name", "=", "Layout").where("for_entity", "=", "Shot").executeTakeFirstOrThrow();
    await server.db.insertInto("project_task_type_link").values({ id: crypto.randomUUID(), project_id: project.id, task_type_id: layout.id, priority: 1 } as any).execute();
    const response = await upload(`/api/import/otio/projects/${project.id}`, "cut.edl", edl("00"), {}, manager.token);
    expect(response.status).toBe(201);
    expect(response.body.updated_shots).toEqual([]);
    expect(response.body.created_shots.map((s: any) => [s.type, s.name])).toEqual([["Shot", "sc010"], ["Shot", "sc020"], ["Shot", "sc030"]]);
    expect(await sequenceNames()).toEqual(["SQ010", "SQ020"]);
    expect((await cuts()).slice(0, 2)).toEqual(FIRST_TWO_CUTS as any);
    const tasks = await server.db.selectFrom("task").selectAll().where("task_type_id", "=", layout.id).execute();
    expect(tasks.length).toBe(3);
  });

  test("a timecode offset is rebased to zero; a second import updates the same shots", async () => {
    await upload(`/api/import/otio/projects/${project.id}`, "cut.edl", edl("10"));
    expect((await cuts()).slice(0, 2)).toEqual(FIRST_TWO_CUTS as any);
    const second = await upload(`/api/import/otio/projects/${project.id}`, "cut.edl", edl("00"));
    expect(second.status).toBe(201);
    expect(second.body.created_shots).toEqual([]);
    expect(second.body.updated_shots.length).toBe(3);
    expect((await cuts()).length).toBe(3);
  });

  test("after a project rename, clips still update the shots of the same sequence and name", async () => {
    await upload(`/api/import/otio/projects/${project.id}`, "cut.edl", edl("00"));
    await server.db.updateTable("project").set({ name: "Renamed" } as any).where("id", "=", project.id).execute();
    const response = await upload(`/api/import/otio/projects/${project.id}`, "cut.edl", edl("00").replace("00:00:05:05 00:00:00:00 00:00:05:05", "00:00:05:06 00:00:00:00 00:00:05:06"));
    expect(response.status).toBe(201);
    expect(response.body.created_shots).toEqual([]);
    expect(response.body.updated_shots.length).toBe(3);
    expect((await cuts())[0]).toEqual(["sc010", 131, 0, 130]);
  });

  test("match_case=false matches existing shots whatever the case", async () => {
    await upload(`/api/import/otio/projects/${project.id}`, "cut.edl", edl("00"));
    const lower = edl("00").replace(/TestProject_SQ010-sc010/, "testproject_sq010-SC010");
    const response = await upload(`/api/import/otio/projects/${project.id}?match_case=false`, "cut.edl", lower);
    expect(response.body.created_shots).toEqual([]);
  });

  test("episode variant: sequences hang from the episode; the convention comes with the upload", async () => {
    await server.db.updateTable("project").set({ production_type: "tvshow" } as any).where("id", "=", project.id).execute();
    const episode = await server.json("POST", `/api/data/projects/${project.id}/episodes`, { body: { name: "E01" } });
    const response = await upload(`/api/import/otio/projects/${project.id}/episodes/${episode.body.id}`, "cut.edl", edl("00"), {
      naming_convention: "${project_name}_${sequence_name}-${shot_name}",
    });
    expect(response.status).toBe(201);
    const sequences = await server.db.selectFrom("entity").select(["name", "parent_id"]).where("name", "in", ["SQ010", "SQ020"]).execute();
    expect(sequences.length).toBe(2);
    expect(new Set(sequences.map((s) => s.parent_id))).toEqual(new Set([episode.body.id]));
    // The episode's default convention has four parts: these three-part clip names do not match.
    const refused = await upload(`/api/import/otio/projects/${project.id}/episodes/${episode.body.id}`, "cut.edl", edl("00").replace("sc030", "sc040"));
    expect(refused.status).toBe(400);
  });
});

describe("OTIO import", () => {
  test("clips of the video tracks give shots; gaps move positions; a nameless clip is named by its media", async () => {
    const response = await upload(`/api/import/otio/projects/${project.id}`, "edit.otio", otio());
    expect(response.status).toBe(201);
    expect(await cuts()).toEqual([["sh010", 48, 0, 47], ["sh020", 24, 58, 81]]);
    expect(await sequenceNames()).toEqual(["SQ010"]);
  });
});

describe("refusals", () => {
  test("403 for an artist, 404 for unknown project or episode, 400 for missing, unsupported or broken files", async () => {
    const artist = await server.person("user");
    await server.addToTeam(project.id, artist);
    const url = `/api/import/otio/projects/${project.id}`;
    expect((await upload(url, "cut.edl", edl("00"), {}, artist.token)).status).toBe(403);
    expect((await upload(`/api/import/otio/projects/${UNKNOWN_ID}`, "cut.edl", edl("00"))).status).toBe(404);
    expect((await upload(`${url}/episodes/${UNKNOWN_ID}`, "cut.edl", edl("00"))).status).toBe(404);
    const other = await server.project("Other");
    const foreign = await server.json("POST", `/api/data/projects/${other.id}/episodes`, { body: { name: "E09" } });
    expect((await upload(`${url}/episodes/${foreign.body.id}`, "cut.edl", edl("00"))).status).toBe(404);
    expect((await server.json("POST", url, { body: new FormData() })).status).toBe(400);
    const csv = await upload(url, "cut.csv", "shot;frame_in;frame_out\n");
    expect(csv.status).toBe(400);
    expect(csv.body.message).toContain("Unsupported file type '.csv'");
    expect(csv.body.message).toContain("edl");
    const broken = await upload(url, "cut.edl", "this is not an edl\n");
    expect(broken.status).toBe(400);
    expect(broken.body.message).toContain("Failed to parse OTIO file");
    expect((await upload(url, "cut.otio", "{not json")).body.message).toContain("Failed to parse OTIO file");
  });

  test("a clip that does not follow the convention is a 400 and nothing is written", async () => {
    const response = await upload(`/api/import/otio/projects/${project.id}`, "cut.edl", edl("00", "unmatched clip.mov"));
    expect(response.status).toBe(400);
    expect(response.body.message).toContain("No matched value");
    expect(await cuts()).toEqual([]);
    expect(await sequenceNames()).toEqual([]);
  });
});
