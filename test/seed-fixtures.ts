/**
 * A studio built through the HTTP API only, the way a studio manager, a production manager and
 * artists fill Kitsu: people created and logged in, a project with its team, workflow and file
 * tree, a sequence with shots, assets, tasks, assignments, comments, time spents and days off.
 * Used by the acceptance tests of the seed routes (test/seed-routes.test.ts).
 */
import type { TestServer } from "./helpers";

export interface Account {
  id: string;
  email: string;
  password: string;
  token: string;
  role: string;
  full_name: string;
}

export type Answer = { status: number; body: any };

/** The body of an answer that must have that status (throws with the answer otherwise). */
export function expectStatus(answer: Answer, status: number, what = "request"): any {
  if (answer.status !== status) throw new Error(`${what}: expected ${status}, got ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/** Logs in with e-mail and password (`POST /api/auth/login`, as gazu and Kitsu do) and returns the account. */
export async function login(server: TestServer, email: string, password: string): Promise<Account> {
  const body = expectStatus(await server.json("POST", "/api/auth/login", { token: null, body: { email, password } }), 200, `login ${email}`);
  return { id: body.user.id, email, password, token: body.access_token, role: body.user.role, full_name: body.user.full_name };
}

let counter = 0;

/** The studio manager creates a person (`POST /api/data/persons`), who then logs in. */
export async function hire(server: TestServer, admin: Account, role: string, firstName: string, lastName: string, fields: Record<string, unknown> = {}): Promise<Account> {
  counter += 1;
  const email = `${firstName.toLowerCase()}.${lastName.toLowerCase()}${counter}@studio.example.com`;
  const password = "artist-password-1";
  expectStatus(
    await server.json("POST", "/api/data/persons", { token: admin.token, body: { first_name: firstName, last_name: lastName, email, password, role, ...fields } }),
    201,
    `create person ${firstName}`,
  );
  return login(server, email, password);
}

export interface Studio {
  server: TestServer;
  admin: Account;
  /** Global manager, member of the project. */
  manager: Account;
  /** Global supervisor in the Animation department, member. */
  supervisor: Account;
  /** Artist in the Animation department, member, assigned to the SH010 animation task. */
  artist: Account;
  /** Client, member. */
  client: Account;
  /** Vendor, member, assigned to the SH020 animation task only. */
  vendor: Account;
  /** Artist who is in no team. */
  outsider: Account;
  /** Global manager who is in no team. */
  outsiderManager: Account;
  project: any;
  departments: Record<string, any>;
  taskTypes: { modeling: any; animation: any; layout: any; conceptArt: any };
  statuses: Record<"todo" | "wip" | "wfa" | "retake" | "done" | "neutral", any>;
  assetTypes: { character: any; prop: any };
  sequence: any;
  shots: { sh010: any; sh020: any };
  assets: { rabbit: any; tree: any };
  concept: any;
  tasks: { animSh010: any; animSh020: any; layoutSh010: any; modelingRabbit: any; conceptTask: any };
  comments: { wip: any; retake: any };
}

/** Builds the studio. Dates of time spents and days off are in March 2024. */
export async function buildStudio(server: TestServer): Promise<Studio> {
  const admin = await login(server, "admin@example.com", "secret-password");
  const ok = (answer: Answer, status: number, what: string) => expectStatus(answer, status, what);
  const as = (who: Account) => ({ token: who.token });

  // Reference data every studio starts with.
  const departments: Record<string, any> = {};
  for (const d of ok(await server.json("GET", "/api/data/departments", as(admin)), 200, "departments")) departments[d.name] = d;
  const allTaskTypes = ok(await server.json("GET", "/api/data/task-types", as(admin)), 200, "task types");
  const taskType = (name: string, forEntity: string) => allTaskTypes.find((t: any) => t.name === name && t.for_entity === forEntity);
  const allStatuses = ok(await server.json("GET", "/api/data/task-status", as(admin)), 200, "task statuses");
  const status = (short: string) => allStatuses.find((s: any) => s.short_name === short);
  const statuses = { todo: status("todo"), wip: status("wip"), wfa: status("wfa"), retake: status("retake"), done: status("done"), neutral: status("neutral") };
  const allAssetTypes = ok(await server.json("GET", "/api/data/entity-types", as(admin)), 200, "entity types");
  const assetTypes = { character: allAssetTypes.find((t: any) => t.name === "Character"), prop: allAssetTypes.find((t: any) => t.name === "Prop") };
  const taskTypes = {
    modeling: taskType("Modeling", "Asset"),
    animation: taskType("Animation", "Shot"),
    layout: taskType("Layout", "Shot"),
    conceptArt: taskType("Concept", "Concept"),
  };

  // People.
  const animation = departments.Animation.id;
  const manager = await hire(server, admin, "manager", "Paula", "Prod");
  const supervisor = await hire(server, admin, "supervisor", "Sid", "Sup", { departments: [animation] });
  const artist = await hire(server, admin, "user", "Andy", "Anim", { departments: [animation] });
  const client = await hire(server, admin, "client", "Cleo", "Client");
  const vendor = await hire(server, admin, "vendor", "Vic", "Vendor", { departments: [animation] });
  const outsider = await hire(server, admin, "user", "Otto", "Outside");
  const outsiderManager = await hire(server, admin, "manager", "Mona", "Elsewhere");

  // The production, its file tree, team and workflow.
  const created = ok(await server.json("POST", "/api/data/projects", { ...as(admin), body: { name: "Cosmos Landromat", fps: "24", ratio: "16:9", resolution: "1920x1080" } }), 201, "project");
  ok(await server.json("POST", `/api/actions/projects/${created.id}/set-file-tree`, { ...as(admin), body: { tree_name: "simple" } }), 200, "file tree");
  for (const member of [manager, supervisor, artist, client, vendor]) {
    ok(await server.json("POST", `/api/data/projects/${created.id}/team`, { ...as(admin), body: { person_id: member.id } }), 201, "team");
  }
  for (const t of Object.values(taskTypes)) {
    ok(await server.json("POST", `/api/data/projects/${created.id}/settings/task-types`, { ...as(manager), body: { task_type_id: t.id } }), 201, "task type setting");
  }
  for (const s of Object.values(statuses)) {
    ok(await server.json("POST", `/api/data/projects/${created.id}/settings/task-status`, { ...as(manager), body: { task_status_id: s.id } }), 201, "status setting");
  }
  for (const a of Object.values(assetTypes)) {
    ok(await server.json("POST", `/api/data/projects/${created.id}/settings/asset-types`, { ...as(manager), body: { asset_type_id: a.id } }), 201, "asset type setting");
  }
  const project = ok(await server.json("GET", `/api/data/projects/${created.id}`, as(admin)), 200, "project read");

  // Breakdown: a sequence with two shots, two assets and a concept.
  const sequence = ok(await server.json("POST", `/api/data/projects/${project.id}/sequences`, { ...as(manager), body: { name: "SQ01" } }), 201, "sequence");
  const shot = async (name: string, frameIn: number, frameOut: number) =>
    ok(
      await server.json("POST", `/api/data/projects/${project.id}/shots`, {
        ...as(manager),
        body: { name, sequence_id: sequence.id, nb_frames: frameOut - frameIn + 1, data: { frame_in: frameIn, frame_out: frameOut } },
      }),
      201,
      `shot ${name}`,
    );
  const shots = { sh010: await shot("SH010", 1, 48), sh020: await shot("SH020", 49, 120) };
  const asset = async (type: any, name: string, description: string) =>
    ok(await server.json("POST", `/api/data/projects/${project.id}/asset-types/${type.id}/assets/new`, { ...as(manager), body: { name, description } }), 201, `asset ${name}`);
  const assets = { rabbit: await asset(assetTypes.character, "Rabbit", "The hero"), tree: await asset(assetTypes.prop, "Tree", "An oak") };
  const concept = ok(await server.json("POST", `/api/data/projects/${project.id}/concepts`, { ...as(manager), body: { name: "Rabbit sketch" } }), 201, "concept");

  // Tasks, created in bulk as Kitsu does, then assigned.
  const shotAnim = ok(await server.json("POST", `/api/actions/projects/${project.id}/task-types/${taskTypes.animation.id}/shots/create-tasks`, { ...as(manager), body: {} }), 201, "shot tasks");
  const shotLayout = ok(await server.json("POST", `/api/actions/projects/${project.id}/task-types/${taskTypes.layout.id}/shots/create-tasks`, { ...as(manager), body: [shots.sh010.id] }), 201, "layout task");
  const assetTasks = ok(await server.json("POST", `/api/actions/projects/${project.id}/task-types/${taskTypes.modeling.id}/assets/create-tasks`, { ...as(manager), body: [assets.rabbit.id] }), 201, "asset tasks");
  const conceptTasks = ok(await server.json("POST", `/api/actions/projects/${project.id}/task-types/${taskTypes.conceptArt.id}/concepts/create-tasks`, { ...as(manager), body: [concept.id] }), 201, "concept tasks");
  const byEntity = (list: any[], entityId: string) => {
    const found = list.find((t: any) => t.entity_id === entityId);
    if (!found) throw new Error(`no task for ${entityId} in ${JSON.stringify(list)}`);
    return found;
  };
  const tasks = {
    animSh010: byEntity(shotAnim, shots.sh010.id),
    animSh020: byEntity(shotAnim, shots.sh020.id),
    layoutSh010: byEntity(shotLayout, shots.sh010.id),
    modelingRabbit: byEntity(assetTasks, assets.rabbit.id),
    conceptTask: byEntity(conceptTasks, concept.id),
  };
  ok(await server.json("PUT", `/api/actions/tasks/${tasks.animSh010.id}/assign`, { ...as(manager), body: { person_id: artist.id } }), 200, "assign artist");
  ok(await server.json("PUT", `/api/actions/tasks/${tasks.animSh020.id}/assign`, { ...as(manager), body: { person_id: vendor.id } }), 200, "assign vendor");

  // The artist starts, the supervisor asks for a retake.
  const wip = ok(await server.json("POST", `/api/actions/tasks/${tasks.animSh010.id}/comment`, { ...as(artist), body: { task_status_id: statuses.wip.id, comment: "Blocking started" } }), 201, "wip comment");
  const retake = ok(
    await server.json("POST", `/api/actions/tasks/${tasks.animSh010.id}/comment`, { ...as(supervisor), body: { task_status_id: statuses.retake.id, comment: "Arms pop at frame 12" } }),
    201,
    "retake comment",
  );

  // Time logged in March 2024, and a day off.
  const log = async (who: Account, task: any, date: string, duration: number) =>
    ok(await server.json("POST", `/api/actions/tasks/${task.id}/time-spents/${date}/persons/${who.id}`, { ...as(who), body: { duration } }), 201, "time spent");
  await log(artist, tasks.animSh010, "2024-03-04", 240);
  await log(artist, tasks.animSh010, "2024-03-05", 180);
  await log(vendor, tasks.animSh020, "2024-03-05", 300);

  return {
    server, admin, manager, supervisor, artist, client, vendor, outsider, outsiderManager, project, departments, taskTypes, statuses, assetTypes,
    sequence, shots, assets, concept, tasks, comments: { wip, retake },
  };
}

/** The 403 body of permissions.md §2. */
export const FORBIDDEN_BODY = {
  error: true,
  message: "You don't have the permission to access the requested resource. It is either read-protected or not readable by the server.",
};

export const UNKNOWN_ID = "7b3b5ad3-1b2c-4c1e-9e7f-0a1b2c3d4e5f";

export const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A 404 body (http-conventions.md: `404 Not Found: ...`). */
export function expectNotFound(answer: Answer): void {
  if (answer.status !== 404 || answer.body?.error !== true || !String(answer.body?.message).startsWith("404 Not Found")) {
    throw new Error(`expected a 404 body, got ${answer.status}: ${JSON.stringify(answer.body)}`);
  }
}

/** Records the events broadcast by the server from now on. */
export function recordEvents(server: TestServer): { all: () => { name: string; data: any }[]; named: (name: string) => any[] } {
  const seen: { name: string; data: any }[] = [];
  server.events.subscribe((event) => seen.push({ name: event.name, data: event.data }));
  return { all: () => seen, named: (name) => seen.filter((e) => e.name === name).map((e) => e.data) };
}
