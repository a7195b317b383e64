/**
 * Files area routes (routes.tsv area `files`) per family: happy path, 403 (non-member / vendor /
 * lower role), 404, 400; events; working file content upload and download; crud rules of
 * working files and output files. Path vectors are in file-tree-http.test.ts.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { createApp } from "../src/app";
import { workingFileContentPath } from "../src/services/files";
import { insertOutputFile, insertTask, insertWorkingFile, makeFilesWorld, storedEvents, type FilesWorld } from "./files-fixtures";

const UNKNOWN = "00000000-0000-4000-8000-000000000000";
const FORBIDDEN = {
  error: true,
  message: "You don't have the permission to access the requested resource. It is either read-protected or not readable by the server.",
};

let w: FilesWorld;
beforeAll(async () => {
  w = await makeFilesWorld();
});

const call = (method: string, path: string, options: { token?: string; body?: unknown } = {}) => w.server.json(method, `/api${path}`, options);
const as = (person: { token: string }) => ({
  get: (path: string) => call("GET", path, { token: person.token }),
  post: (path: string, body: unknown = {}) => call("POST", path, { token: person.token, body }),
  put: (path: string, body: unknown = {}) => call("PUT", path, { token: person.token, body }),
});

describe("path routes: permissions and errors", () => {
  const workingPath = (taskId: string) => `/data/tasks/${taskId}/working-file-path`;
  const outputPath = (entityId: string) => `/data/entities/${entityId}/output-file-path`;
  const instancePath = (instanceId: string, temporalId: string) => `/data/asset-instances/${instanceId}/entities/${temporalId}/output-file-path`;
  const outputBody = () => ({ output_type_id: w.outputTypes.cache.id, task_type_id: w.taskTypes.shaders.id, revision: 1 });

  test("members get paths; artists and clients too", async () => {
    expect((await as(w.people.artist).post(workingPath(w.tasks.asset.id))).status).toBe(200);
    expect((await as(w.people.client).post(outputPath(w.entities.tree.id), outputBody())).status).toBe(200);
  });

  test("a non-member gets 403 on the three routes", async () => {
    const outsider = as(w.people.outsider);
    expect(await outsider.post(workingPath(w.tasks.asset.id))).toEqual({ status: 403, body: FORBIDDEN });
    expect((await outsider.post(outputPath(w.entities.tree.id), outputBody())).status).toBe(403);
    expect((await outsider.post(instancePath(w.instances.tree.id, w.entities.shot.id), outputBody())).status).toBe(403);
  });

  test("a vendor only gets paths on entities with a task assigned to them", async () => {
    const vendor = as(w.people.vendor);
    expect((await vendor.post(workingPath(w.tasks.asset.id))).status).toBe(200);
    expect((await vendor.post(workingPath(w.tasks.shot.id))).status).toBe(403);
    expect((await vendor.post(outputPath(w.entities.tree.id), outputBody())).status).toBe(200);
    expect((await vendor.post(outputPath(w.entities.shot.id), outputBody())).status).toBe(403);
    // The instance route checks entity access on the instance's asset (Tree for Tree_0001, Rabbit for Rabbit_0001).
    expect((await vendor.post(instancePath(w.instances.tree.id, w.entities.shot.id), outputBody())).status).toBe(200);
    expect((await vendor.post(instancePath(w.instances.rabbitInTree.id, w.entities.tree.id), outputBody())).status).toBe(403);
  });

  test("unknown ids are 404 (task, entity, instance, temporal entity, software, output type, task type)", async () => {
    const admin = as(w.people.admin);
    expect((await admin.post(workingPath(UNKNOWN))).status).toBe(404);
    expect((await admin.post(workingPath("not-an-id"))).status).toBe(404);
    expect((await admin.post(workingPath(w.tasks.asset.id), { software_id: UNKNOWN })).status).toBe(404);
    expect((await admin.post(outputPath(UNKNOWN), outputBody())).status).toBe(404);
    expect((await admin.post(outputPath(w.entities.tree.id), { ...outputBody(), output_type_id: UNKNOWN })).status).toBe(404);
    expect((await admin.post(outputPath(w.entities.tree.id), { ...outputBody(), task_type_id: UNKNOWN })).status).toBe(404);
    expect((await admin.post(instancePath(UNKNOWN, w.entities.shot.id), outputBody())).status).toBe(404);
    expect((await admin.post(instancePath(w.instances.tree.id, UNKNOWN), outputBody())).status).toBe(404);
  });

  test("bad bodies are 400 validation errors", async () => {
    const admin = as(w.people.admin);
    const missing = await admin.post(outputPath(w.entities.tree.id), { task_type_id: w.taskTypes.shaders.id });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toBe("Validation error.");
    expect(missing.body.data.errors[0].field).toBe("output_type_id");
    const badRevision = await admin.post(workingPath(w.tasks.asset.id), { revision: "three" });
    expect(badRevision.status).toBe(400);
    expect(badRevision.body.data.errors[0].field).toBe("revision");
    expect((await admin.post(instancePath(w.instances.tree.id, w.entities.shot.id), {})).status).toBe(400);
  });

  test("numbers sent as form values are accepted", async () => {
    const response = await w.server.request("POST", `/api${workingPath(w.tasks.asset.id)}`, {
      body: new URLSearchParams({ revision: "7", name: "form" }).toString(),
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    expect(response.status).toBe(200);
    expect((await response.json()).name).toBe("cosmos_landromat_props_tree_shaders_form_v007");
  });

  test("a project without a tree → 400 with Zou's body", async () => {
    const world = await makeFilesWorld({ tree: null });
    const { status, body } = await world.server.json("POST", `/api/data/tasks/${world.tasks.asset.id}/working-file-path`, { body: { name: "x" } });
    expect(status).toBe(400);
    expect(body).toEqual({ message: "No tree can be found for given project.", received_data: { name: "x" } });
  });

  test("a token the tree cannot resolve → 400", async () => {
    const world = await makeFilesWorld();
    const tree = JSON.parse((await world.server.db.selectFrom("project").select("file_tree").where("id", "=", world.project.id).executeTakeFirstOrThrow()).file_tree as string);
    tree.working.file_name.asset = "<Asset>_<Shot.short_name>_<Nope>";
    await world.server.db.updateTable("project").set({ file_tree: JSON.stringify(tree) }).where("id", "=", world.project.id).execute();
    const { status, body } = await world.server.json("POST", `/api/data/tasks/${world.tasks.asset.id}/working-file-path`, { body: {} });
    expect(status).toBe(400);
    expect(body).toEqual({ message: "Field short_name is not available for data type: Shot.", received_data: {} });
  });

  test("the default software 3ds Max is created once", async () => {
    const rows = await w.server.db.selectFrom("software").selectAll().where("name", "=", "3ds Max").execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ short_name: "max", file_extension: ".max" });
  });
});

describe("working files", () => {
  let world: FilesWorld;
  beforeAll(async () => {
    world = await makeFilesWorld();
  });
  const api = (person: { token: string }) => ({
    get: (path: string) => world.server.json("GET", `/api${path}`, { token: person.token }),
    post: (path: string, body: unknown = {}) => world.server.json("POST", `/api${path}`, { token: person.token, body }),
    put: (path: string, body: unknown = {}) => world.server.json("PUT", `/api${path}`, { token: person.token, body }),
  });

  test("new: creates a revision, assigns the task to the caller, emits events", async () => {
    const artist = world.people.artist;
    const { status, body } = await api(artist).post(`/data/tasks/${world.tasks.shot.id}/working-files/new`, {
      name: "main",
      comment: "first pass",
      description: "layout",
      software_id: world.softwares.max.id,
    });
    expect(status).toBe(201);
    expect(body).toMatchObject({
      type: "WorkingFile",
      name: "main",
      revision: 1,
      comment: "first pass",
      description: "layout",
      task_id: world.tasks.shot.id,
      entity_id: world.entities.shot.id,
      person_id: artist.id,
      software_id: world.softwares.max.id,
      path: "/simple/productions/cosmos_landromat/shots/s01/p01/animation/3dsmax/cosmos_landromat_s01_p01_animation_main_v001",
    });
    const link = await world.server.db.selectFrom("task_person_link").selectAll().where("task_id", "=", world.tasks.shot.id).execute();
    expect(link.map((row) => row.person_id)).toEqual([artist.id]);
    expect(await storedEvents(world.server, "working-file:new")).toContainEqual({
      data: { working_file_id: body.id, project_id: world.project.id },
      project_id: world.project.id,
    });
    expect((await storedEvents(world.server, "task:assign")).map((event) => event.data)).toContainEqual({
      task_id: world.tasks.shot.id,
      person_id: artist.id,
      project_id: world.project.id,
    });
    // A second revision by the same person does not assign again.
    expect((await api(artist).post(`/data/tasks/${world.tasks.shot.id}/working-files/new`, { name: "main" })).body.revision).toBe(2);
    expect(await storedEvents(world.server, "task:assign")).toHaveLength(1);
  });

  test("new: the default software is Blender (get-or-created); sep joins folder and name", async () => {
    const { body } = await api(world.people.admin).post(`/data/tasks/${world.tasks.scene.id}/working-files/new`, { name: "main", sep: "\\" });
    expect(body.software_id).toBe(world.softwares.blender.id);
    expect(body.path).toBe("/simple/productions/cosmos_landromat/scenes/s01/sc01/animation/blender\\cosmos_landromat_sc01_animation_main_v001");
  });

  test("new: errors", async () => {
    const url = `/data/tasks/${world.tasks.asset.id}/working-files/new`;
    const missing = await api(world.people.admin).post(url, { comment: "no name" });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toBe("Validation error.");
    expect((await api(world.people.admin).post(url, { name: "" })).status).toBe(400);
    expect(await api(world.people.admin).post(url, { name: "main", person_id: UNKNOWN })).toEqual({
      status: 400,
      body: { error: "Cannot find given person." },
    });
    expect((await api(world.people.admin).post(`/data/tasks/${UNKNOWN}/working-files/new`, { name: "main" })).status).toBe(404);
    expect((await api(world.people.outsider).post(url, { name: "main" })).status).toBe(403);
    expect((await api(world.people.vendor).post(`/data/tasks/${world.tasks.shot.id}/working-files/new`, { name: "main" })).status).toBe(403);
    expect((await api(world.people.vendor).post(url, { name: "vendor" })).status).toBe(201);
  });

  test("task lists: all revisions (highest first) and the last revision per name", async () => {
    const task = await insertTask(world.server, { project_id: world.project.id, entity_id: world.entities.tree.id, task_type_id: world.taskTypes.shaders.id, name: "Lists" });
    for (const [name, revision] of [["main", 1], ["main", 3], ["main", 2], ["hotfix", 1]] as const) {
      await insertWorkingFile(world.server, task, { name, revision });
    }
    const all = await api(world.people.artist).get(`/data/tasks/${task.id}/working-files`);
    expect(all.status).toBe(200);
    expect(all.body.map((file: any) => [file.name, file.revision])).toEqual([["main", 3], ["main", 2], ["main", 1], ["hotfix", 1]]);
    const last = await api(world.people.artist).get(`/data/tasks/${task.id}/working-files/last-revisions`);
    expect(last.status).toBe(200);
    expect(Object.keys(last.body).sort()).toEqual(["hotfix", "main"]);
    expect(last.body.main.revision).toBe(3);
    expect(last.body.main.type).toBe("WorkingFile");
    for (const path of [`/data/tasks/${task.id}/working-files`, `/data/tasks/${task.id}/working-files/last-revisions`]) {
      expect((await api(world.people.outsider).get(path)).status).toBe(403);
      expect((await api(world.people.vendor).get(path.replace(task.id, world.tasks.shot.id))).status).toBe(403);
      expect((await api(world.people.admin).get(path.replace(task.id, UNKNOWN))).status).toBe(404);
    }
  });

  test("entity working files: filters, relations (outputs)", async () => {
    const task = await insertTask(world.server, { project_id: world.project.id, entity_id: world.entities.rabbit.id, task_type_id: world.taskTypes.shaders.id });
    const main = await insertWorkingFile(world.server, task, { name: "main", revision: 1 });
    await insertWorkingFile(world.server, task, { name: "main", revision: 2 });
    await insertWorkingFile(world.server, task, { name: "alt", revision: 1 });
    const output = await insertOutputFile(world.server, { entity_id: world.entities.rabbit.id, source_file_id: main.id, output_type_id: world.outputTypes.cache.id });
    const url = `/data/entities/${world.entities.rabbit.id}/working-files`;
    const all = await api(world.people.artist).get(url);
    expect(all.status).toBe(200);
    expect(all.body).toHaveLength(3);
    expect(all.body[0].outputs).toBeUndefined();
    const filtered = await api(world.people.artist).get(`${url}?task_id=${task.id}&name=main&relations=true`);
    expect(filtered.body.map((file: any) => file.revision)).toEqual([2, 1]);
    expect(filtered.body[1].outputs).toEqual([output.id]);
    expect(filtered.body[0].outputs).toEqual([]);
    expect((await api(world.people.artist).get(`${url}?task_id=nope`)).status).toBe(400);
    expect((await api(world.people.outsider).get(url)).status).toBe(403);
    expect((await api(world.people.artist).get(`/data/entities/${UNKNOWN}/working-files`)).status).toBe(404);
  });

  test("comment and modified: task action access, events", async () => {
    const task = await insertTask(world.server, { project_id: world.project.id, entity_id: world.entities.tree.id, task_type_id: world.taskTypes.shaders.id, name: "Actions" }, [world.people.vendor]);
    const file = await insertWorkingFile(world.server, task, { updated_at: "2020-01-01T00:00:00" });
    const commentUrl = `/actions/working-files/${file.id}/comment`;
    const modifiedUrl = `/actions/working-files/${file.id}/modified`;

    const commented = await api(world.people.manager).put(commentUrl, { comment: "ready" });
    expect(commented.status).toBe(200);
    expect(commented.body).toMatchObject({ id: file.id, comment: "ready", type: "WorkingFile" });
    // As Zou (files_service.update_working_file), the actions emit no event.
    expect(await storedEvents(world.server, "working-file:update")).not.toContainEqual({
      data: { working_file_id: file.id, project_id: world.project.id },
      project_id: world.project.id,
    });
    // The assignee (here a vendor) may act; an unassigned artist may not; a non-member neither.
    expect((await api(world.people.vendor).put(commentUrl, { comment: "by vendor" })).status).toBe(200);
    expect((await api(world.people.artist).put(commentUrl, { comment: "x" })).status).toBe(403);
    expect((await api(world.people.outsider).put(commentUrl, { comment: "x" })).status).toBe(403);
    expect((await api(world.people.manager).put(commentUrl, {})).status).toBe(400);
    expect((await api(world.people.manager).put(`/actions/working-files/${UNKNOWN}/comment`, { comment: "x" })).status).toBe(404);

    const modified = await api(world.people.manager).put(modifiedUrl);
    expect(modified.status).toBe(200);
    expect(modified.body.updated_at > "2020-01-01T00:00:00").toBe(true);
    expect((await api(world.people.artist).put(modifiedUrl)).status).toBe(403);
    expect((await api(world.people.manager).put(`/actions/working-files/${UNKNOWN}/modified`)).status).toBe(404);
  });

  test("content: multipart upload, download, ranges through Bun.serve", async () => {
    const file = await insertWorkingFile(world.server, world.tasks.asset, { name: "content" });
    const url = `/api/data/working-files/${file.id}/file`;
    const before = await world.server.json("GET", url, { token: world.people.artist.token });
    expect(before).toEqual({ status: 404, body: { error: true, message: `Working file not found for: ${file.id}` } });

    const bytes = new Uint8Array(5000).map((_, i) => i % 251);
    const form = new FormData();
    form.append("comment", "ignored");
    form.append("file", new Blob([bytes]), "scene.blend");
    const uploaded = await world.server.json("POST", url, { token: world.people.artist.token, body: form });
    expect(uploaded.status).toBe(201);
    expect(uploaded.body.id).toBe(file.id);
    expect(await Bun.file(workingFileContentPath(world.server.config, file.id)).exists()).toBe(true);

    const download = await world.server.request("GET", url, { token: world.people.artist.token });
    expect(download.status).toBe(200);
    expect(download.headers.get("content-type")).toBe("application/octet-stream");
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(bytes);

    const app = createApp({ db: world.server.db, config: world.server.config, events: world.server.events });
    const server = Bun.serve({ port: 0, fetch: app.fetch });
    try {
      const ranged = await fetch(`http://localhost:${server.port}${url}`, {
        headers: { Authorization: `Bearer ${world.people.artist.token}`, Range: "bytes=100-199" },
      });
      expect(ranged.status).toBe(206);
      expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(bytes.slice(100, 200));
    } finally {
      server.stop(true);
    }
  });

  test("content: errors", async () => {
    const file = await insertWorkingFile(world.server, world.tasks.shot, { name: "content-errors" });
    const url = `/api/data/working-files/${file.id}/file`;
    const form = () => {
      const data = new FormData();
      data.append("file", new Blob(["abc"]), "a.ma");
      return data;
    };
    expect((await world.server.json("POST", url, { token: world.people.outsider.token, body: form() })).status).toBe(403);
    expect((await world.server.json("POST", url, { token: world.people.vendor.token, body: form() })).status).toBe(403);
    expect((await world.server.json("GET", url, { token: world.people.outsider.token })).status).toBe(403);
    expect((await world.server.json("POST", `/api/data/working-files/${UNKNOWN}/file`, { body: form() })).status).toBe(404);
    expect((await world.server.json("GET", `/api/data/working-files/${UNKNOWN}/file`)).status).toBe(404);
    const noFile = new FormData();
    noFile.append("other", new Blob(["abc"]), "a.ma");
    expect((await world.server.json("POST", url, { body: noFile })).status).toBe(400);
    expect((await world.server.json("POST", url, { body: { file: "abc" } })).status).toBe(400);
  });

  test("GET /data/files/{id}: a working file or an output file", async () => {
    const working = await insertWorkingFile(world.server, world.tasks.asset, { name: "either" });
    const output = await insertOutputFile(world.server, { entity_id: world.entities.tree.id, source_file_id: working.id, name: "either" });
    const asWorking = await api(world.people.artist).get(`/data/files/${working.id}`);
    expect(asWorking.status).toBe(200);
    expect(asWorking.body).toMatchObject({ id: working.id, type: "WorkingFile" });
    const asOutput = await api(world.people.artist).get(`/data/files/${output.id}`);
    expect(asOutput.status).toBe(200);
    expect(asOutput.body).toMatchObject({ id: output.id, type: "OutputFile", source_file: { id: working.id, type: "WorkingFile" } });
    expect((await api(world.people.outsider).get(`/data/files/${output.id}`)).status).toBe(403);
    expect((await api(world.people.outsider).get(`/data/files/${working.id}`)).status).toBe(403);
    expect((await api(world.people.admin).get(`/data/files/${UNKNOWN}`)).status).toBe(404);
  });
});

describe("output files", () => {
  let world: FilesWorld;
  beforeAll(async () => {
    world = await makeFilesWorld();
  });
  const api = (person: { token: string }) => ({
    get: (path: string) => world.server.json("GET", `/api${path}`, { token: person.token }),
    post: (path: string, body: unknown = {}) => world.server.json("POST", `/api${path}`, { token: person.token, body }),
    put: (path: string, body: unknown = {}) => world.server.json("PUT", `/api${path}`, { token: person.token, body }),
    delete: (path: string) => world.server.json("DELETE", `/api${path}`, { token: person.token }),
  });
  const args = (fields: Record<string, unknown> = {}) => ({ output_type_id: world.outputTypes.cache.id, task_type_id: world.taskTypes.shaders.id, ...fields });

  test("entity new: stores the output with the default file status, its source, an event", async () => {
    const source = await insertWorkingFile(world.server, world.tasks.asset, { name: "src" });
    const { status, body } = await api(world.people.artist).post(`/data/entities/${world.entities.tree.id}/output-files/new`, args({
      working_file_id: source.id,
      comment: "publish",
      representation: "abc",
      extension: ".abc",
    }));
    expect(status).toBe(201);
    expect(body).toMatchObject({
      type: "OutputFile",
      name: "main",
      revision: 1,
      entity_id: world.entities.tree.id,
      asset_instance_id: null,
      temporal_entity_id: null,
      person_id: world.people.artist.id,
      source_file_id: source.id,
      representation: "abc",
      comment: "publish",
      folder_path: "/simple/productions/export/cosmos_landromat/assets/props/tree/shaders/cache",
      file_name: "cosmos_landromat_props_tree_shaders_cache_main_v001",
      path: "/simple/productions/export/cosmos_landromat/assets/props/tree/shaders/cache/cosmos_landromat_props_tree_shaders_cache_main_v001.abc",
    });
    expect(body.source_file).toMatchObject({ id: source.id, type: "WorkingFile", name: "src" });
    const status_ = await world.server.db.selectFrom("file_status").selectAll().where("id", "=", body.file_status_id).executeTakeFirstOrThrow();
    expect(status_).toMatchObject({ name: "To review", color: "#FFFFFF" });
    expect(await storedEvents(world.server, "output-file:new")).toContainEqual({
      data: { output_file_id: body.id, project_id: world.project.id },
      project_id: world.project.id,
    });
  });

  test("entity new: errors", async () => {
    const url = `/data/entities/${world.entities.tree.id}/output-files/new`;
    const admin = api(world.people.admin);
    expect(await admin.post(url, args({ output_type_id: UNKNOWN }))).toEqual({ status: 400, body: { error: "Cannot find given output type." } });
    expect(await admin.post(url, args({ person_id: UNKNOWN }))).toEqual({ status: 400, body: { error: "Cannot find given person." } });
    expect((await admin.post(url, args({ task_type_id: UNKNOWN }))).status).toBe(404);
    expect((await admin.post(url, { output_type_id: world.outputTypes.cache.id })).status).toBe(400);
    expect((await admin.post(`/data/entities/${UNKNOWN}/output-files/new`, args())).status).toBe(404);
    expect((await api(world.people.outsider).post(url, args())).status).toBe(403);
    // An unknown working file is treated as none.
    const created = await admin.post(url, args({ working_file_id: UNKNOWN, name: "nosource" }));
    expect(created.status).toBe(201);
    expect(created.body.source_file_id).toBeNull();
    expect(created.body.source_file).toBeNull();
  });

  test("instance new: instance outputs, errors keyed `message`", async () => {
    const url = `/data/asset-instances/${world.instances.tree.id}/entities/${world.entities.shot.id}/output-files/new`;
    const instanceArgs = args({ task_type_id: world.taskTypes.animation.id, representation: "abc" });
    const first = await api(world.people.artist).post(url, instanceArgs);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      entity_id: world.entities.tree.id,
      asset_instance_id: world.instances.tree.id,
      temporal_entity_id: world.entities.shot.id,
      revision: 1,
      folder_path: "/simple/productions/export/cosmos_landromat/shot/s01/p01/animation/cache/props/tree/instance_0001/abc",
      file_name: "cosmos_landromat_s01_p01_animation_cache_main_tree_0001_v001",
    });
    expect((await api(world.people.artist).post(url, instanceArgs)).body.revision).toBe(2);
    const next = await api(world.people.artist).post(url.replace("/new", "/next-revision"), instanceArgs);
    expect(next).toEqual({ status: 200, body: { next_revision: 3 } });
    expect(await api(world.people.admin).post(url, { ...instanceArgs, output_type_id: UNKNOWN })).toEqual({
      status: 400,
      body: { message: "Cannot find given output type." },
    });
    expect(await api(world.people.admin).post(url, { ...instanceArgs, revision: 1 })).toEqual({
      status: 400,
      body: { message: "The given output file already exists." },
    });
    expect((await api(world.people.outsider).post(url, instanceArgs)).status).toBe(403);
    expect((await api(world.people.admin).post(url.replace(world.instances.tree.id, UNKNOWN), instanceArgs)).status).toBe(404);
    expect((await api(world.people.admin).post(url.replace(world.entities.shot.id, UNKNOWN), instanceArgs)).status).toBe(404);
    expect((await api(world.people.outsider).post(url.replace("/new", "/next-revision"), instanceArgs)).status).toBe(403);
    expect((await api(world.people.admin).post(url.replace("/new", "/next-revision"), {})).status).toBe(400);
  });

  test("entity next-revision: 403, 400", async () => {
    const url = `/data/entities/${world.entities.tree.id}/output-files/next-revision`;
    expect((await api(world.people.outsider).post(url, args())).status).toBe(403);
    expect((await api(world.people.admin).post(url, { task_type_id: world.taskTypes.shaders.id })).status).toBe(400);
    expect((await api(world.people.admin).post(url, args({ task_type_id: UNKNOWN }))).status).toBe(404);
  });

  describe("listings", () => {
    let lists: FilesWorld;
    const ids: Record<string, string> = {};
    beforeAll(async () => {
      lists = await makeFilesWorld();
      const { tree, shot } = lists.entities;
      const base = { entity_id: tree.id, task_type_id: lists.taskTypes.shaders.id };
      ids.cache1 = (await insertOutputFile(lists.server, { ...base, output_type_id: lists.outputTypes.cache.id, revision: 1 })).id;
      ids.cache2 = (await insertOutputFile(lists.server, { ...base, output_type_id: lists.outputTypes.cache.id, revision: 2 })).id;
      ids.cacheAbc = (await insertOutputFile(lists.server, { ...base, output_type_id: lists.outputTypes.cache.id, representation: "abc" })).id;
      ids.images = (await insertOutputFile(lists.server, { ...base, output_type_id: lists.outputTypes.images.id, name: "beauty" })).id;
      const instanceBase = { ...base, asset_instance_id: lists.instances.tree.id, temporal_entity_id: shot.id };
      ids.instance1 = (await insertOutputFile(lists.server, { ...instanceBase, output_type_id: lists.outputTypes.materials.id, revision: 1 })).id;
      ids.instance2 = (await insertOutputFile(lists.server, { ...instanceBase, output_type_id: lists.outputTypes.materials.id, revision: 2 })).id;
      ids.instanceScene = (await insertOutputFile(lists.server, {
        ...instanceBase,
        temporal_entity_id: lists.entities.scene.id,
        output_type_id: lists.outputTypes.texture.id,
      })).id;
    });
    const get = (path: string, person: { token: string } = lists.people.artist) => lists.server.json("GET", `/api${path}`, { token: person.token });
    const idsOf = (body: any[]) => body.map((file) => file.id);

    test("entity output files: own outputs only, highest revision first, filters", async () => {
      const url = `/data/entities/${lists.entities.tree.id}/output-files`;
      const all = await get(url);
      expect(all.status).toBe(200);
      expect(idsOf(all.body)).toEqual([ids.cache2, expect.any(String), expect.any(String), expect.any(String)]);
      expect(new Set(idsOf(all.body))).toEqual(new Set([ids.cache1, ids.cache2, ids.cacheAbc, ids.images]));
      expect(all.body[0].source_file).toBeNull();
      expect(idsOf((await get(`${url}?output_type_id=${lists.outputTypes.images.id}`)).body)).toEqual([ids.images]);
      expect(idsOf((await get(`${url}?representation=abc`)).body)).toEqual([ids.cacheAbc]);
      expect(idsOf((await get(`${url}?name=beauty`)).body)).toEqual([ids.images]);
      expect((await get(`${url}?task_type_id=bad`)).status).toBe(400);
      expect((await get(url, lists.people.outsider)).status).toBe(403);
      expect((await get(`/data/entities/${UNKNOWN}/output-files`)).status).toBe(404);
    });

    test("entity last revisions: one per (task type, output type, name, representation)", async () => {
      const url = `/data/entities/${lists.entities.tree.id}/output-files/last-revisions`;
      const { status, body } = await get(url);
      expect(status).toBe(200);
      expect(new Set(idsOf(body))).toEqual(new Set([ids.cache2, ids.cacheAbc, ids.images]));
      expect(idsOf((await get(`${url}?output_type_id=${lists.outputTypes.cache.id}&representation=`)).body).sort()).toEqual([ids.cache2, ids.cacheAbc].sort());
      expect((await get(url, lists.people.outsider)).status).toBe(403);
      expect((await get(`/data/entities/${UNKNOWN}/output-files/last-revisions`)).status).toBe(404);
    });

    test("entity output types and output files of one type", async () => {
      const types = await get(`/data/entities/${lists.entities.tree.id}/output-types`);
      expect(types.status).toBe(200);
      expect(types.body.map((type: any) => type.name)).toEqual(["Cache", "Images", "Materials", "Texture"]);
      expect(types.body[0].type).toBe("OutputType");
      const ofType = `/data/entities/${lists.entities.tree.id}/output-types/${lists.outputTypes.cache.id}/output-files`;
      expect(new Set(idsOf((await get(ofType)).body))).toEqual(new Set([ids.cache1, ids.cache2, ids.cacheAbc]));
      expect(idsOf((await get(`${ofType}?representation=abc`)).body)).toEqual([ids.cacheAbc]);
      expect((await get(ofType, lists.people.outsider)).status).toBe(403);
      expect((await get(`/data/entities/${lists.entities.tree.id}/output-types/${UNKNOWN}/output-files`)).status).toBe(404);
      expect((await get(`/data/entities/${UNKNOWN}/output-types`)).status).toBe(404);
      expect((await get(`/data/entities/${lists.entities.tree.id}/output-types`, lists.people.outsider)).status).toBe(403);
    });

    test("instance output types, output files of one type, last revisions, all outputs", async () => {
      const base = `/data/asset-instances/${lists.instances.tree.id}/entities/${lists.entities.shot.id}`;
      const types = await get(`${base}/output-types`);
      expect(types.body.map((type: any) => type.name)).toEqual(["Materials"]);
      expect(idsOf((await get(`${base}/output-types/${lists.outputTypes.materials.id}/output-files`)).body)).toEqual([ids.instance2, ids.instance1]);
      expect(idsOf((await get(`${base}/output-files/last-revisions`)).body)).toEqual([ids.instance2]);
      const all = `/data/asset-instances/${lists.instances.tree.id}/output-files`;
      expect(new Set(idsOf((await get(all)).body))).toEqual(new Set([ids.instance1, ids.instance2, ids.instanceScene]));
      expect(idsOf((await get(`${all}?temporal_entity_id=${lists.entities.scene.id}`)).body)).toEqual([ids.instanceScene]);
      for (const path of [`${base}/output-types`, `${base}/output-files/last-revisions`, all, `${base}/output-types/${lists.outputTypes.materials.id}/output-files`]) {
        expect((await get(path, lists.people.outsider)).status).toBe(403);
        expect((await get(path.replace(lists.instances.tree.id, UNKNOWN))).status).toBe(404);
      }
      expect((await get(`${base}/output-types/${UNKNOWN}/output-files`)).status).toBe(404);
    });

    test("project output files: managers of the project only", async () => {
      const url = `/data/projects/${lists.project.id}/output-files`;
      const { status, body } = await get(url, lists.people.manager);
      expect(status).toBe(200);
      // As Zou: the outputs of asset instances are not listed at project level.
      expect(body).toHaveLength(4);
      expect(body.every((o: any) => o.asset_instance_id === null)).toBe(true);
      expect(idsOf((await get(`${url}?output_type_id=${lists.outputTypes.texture.id}`, lists.people.manager)).body)).toEqual([]);
      expect((await get(url, lists.people.artist)).status).toBe(403);
      expect((await get(url, lists.people.outsider)).status).toBe(403);
      expect((await get(`/data/projects/${UNKNOWN}/output-files`)).status).toBe(404);
      expect((await get(`${url}?file_status_id=oops`, lists.people.manager)).status).toBe(400);
      expect((await get(`/data/projects/${lists.otherProject.id}/output-files`, lists.people.manager)).body).toEqual([]);
    });
  });
});

describe("guess-from-path and set-file-tree: permissions and errors", () => {
  const path = "/simple/productions/cosmos_landromat/assets/Props/Tree/Shaders/blender";

  test("guess: non-member 403, unknown project 404, bad bodies 400, project without tree 400", async () => {
    expect((await as(w.people.outsider).post("/data/entities/guess-from-path", { project_id: w.project.id, file_path: path })).status).toBe(403);
    expect((await as(w.people.vendor).post("/data/entities/guess-from-path", { project_id: w.project.id, file_path: path })).status).toBe(200);
    expect((await as(w.people.admin).post("/data/entities/guess-from-path", { project_id: UNKNOWN, file_path: path })).status).toBe(404);
    const missing = await as(w.people.admin).post("/data/entities/guess-from-path", { project_id: w.project.id });
    expect(missing.status).toBe(400);
    expect(missing.body.data.errors[0].field).toBe("file_path");
    expect((await as(w.people.admin).post("/data/entities/guess-from-path", { project_id: "nope", file_path: path })).status).toBe(400);
    const world = await makeFilesWorld({ tree: null });
    const noTree = await world.server.json("POST", "/api/data/entities/guess-from-path", { body: { project_id: world.project.id, file_path: path } });
    expect(noTree.status).toBe(400);
    expect(noTree.body.message).toBe("No tree can be found for given project.");
  });

  test("set-file-tree: managers of the project; event project:update", async () => {
    const world = await makeFilesWorld({ tree: null });
    const url = `/api/actions/projects/${world.project.id}/set-file-tree`;
    expect((await world.server.json("POST", url, { token: world.people.artist.token, body: { tree_name: "simple" } })).status).toBe(403);
    expect((await world.server.json("POST", url, { token: world.people.outsider.token, body: { tree_name: "simple" } })).status).toBe(403);
    expect((await world.server.json("POST", `/api/actions/projects/${UNKNOWN}/set-file-tree`, { body: { tree_name: "simple" } })).status).toBe(404);
    expect((await world.server.json("POST", url, { body: {} })).status).toBe(400);
    const { status, body } = await world.server.json("POST", url, { token: world.people.manager.token, body: { tree_name: "simple" } });
    expect(status).toBe(200);
    expect(body.file_tree.working.folder_path.shot).toBe("<Project>/shots/<Sequence>/<Shot>/<TaskType>/<Software>");
    expect(await storedEvents(world.server, "project:update")).toContainEqual({
      data: { project_id: world.project.id },
      project_id: world.project.id,
    });
    // The tree is used right away.
    const paths = await world.server.json("POST", `/api/data/tasks/${world.tasks.asset.id}/working-file-path`, { body: {} });
    expect(paths.body.path).toBe("/simple/productions/cosmos_landromat/assets/props/tree/shaders/3ds_max");
  });
});

describe("crud rules of working files and output files", () => {
  let world: FilesWorld;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    world = await makeFilesWorld();
    ids.working = (await insertWorkingFile(world.server, world.tasks.asset, { name: "crud" })).id;
    ids.otherWorking = (await insertWorkingFile(world.server, world.tasks.other, { name: "crud" })).id;
    ids.output = (await insertOutputFile(world.server, { entity_id: world.entities.tree.id, source_file_id: ids.working, output_type_id: world.outputTypes.cache.id })).id;
    ids.otherOutput = (await insertOutputFile(world.server, { entity_id: world.entities.otherAsset.id, output_type_id: world.outputTypes.cache.id })).id;
  });
  const api = (person: { token: string }) => ({
    get: (path: string) => world.server.json("GET", `/api${path}`, { token: person.token }),
    put: (path: string, body: unknown) => world.server.json("PUT", `/api${path}`, { token: person.token, body }),
    delete: (path: string) => world.server.json("DELETE", `/api${path}`, { token: person.token }),
  });

  test("lists: vendors 403, others only files of their projects", async () => {
    expect((await api(world.people.vendor).get("/data/working-files")).status).toBe(403);
    expect((await api(world.people.vendor).get("/data/output-files")).status).toBe(403);
    const working = await api(world.people.client).get("/data/working-files");
    expect(working.body.map((file: any) => file.id)).toEqual([ids.working]);
    expect(working.body[0].outputs).toBeUndefined();
    expect((await api(world.people.client).get("/data/working-files?relations=true")).body[0].outputs).toEqual([ids.output]);
    const outputs = await api(world.people.client).get("/data/output-files");
    expect(outputs.body.map((file: any) => file.id)).toEqual([ids.output]);
    expect(outputs.body[0].source_file).toMatchObject({ id: ids.working, type: "WorkingFile" });
    expect(Object.keys(outputs.body[0]).some((key) => key.startsWith("source_file__"))).toBe(false);
    const all = await api(world.people.admin).get("/data/output-files?page=1");
    expect(all.body.total).toBe(2);
    expect(all.body.data.find((file: any) => file.id === ids.output).source_file.id).toBe(ids.working);
  });

  test("reads: project member (vendor only when assigned); working file reads include outputs", async () => {
    const read = await api(world.people.artist).get(`/data/working-files/${ids.working}`);
    expect(read.status).toBe(200);
    expect(read.body.outputs).toEqual([ids.output]);
    expect((await api(world.people.artist).get(`/data/working-files/${ids.working}?relations=false`)).body.outputs).toBeUndefined();
    expect((await api(world.people.vendor).get(`/data/working-files/${ids.working}`)).status).toBe(200);
    expect((await api(world.people.artist).get(`/data/working-files/${ids.otherWorking}`)).status).toBe(200);
    expect((await api(world.people.outsider).get(`/data/working-files/${ids.working}`)).status).toBe(403);
    const output = await api(world.people.artist).get(`/data/output-files/${ids.output}`);
    expect(output.body.source_file.id).toBe(ids.working);
    expect((await api(world.people.outsider).get(`/data/output-files/${ids.output}`)).status).toBe(403);
  });

  test("updates: output files by project managers or assignees of the entity; events carry the project", async () => {
    expect((await api(world.people.artist).put(`/data/output-files/${ids.output}`, { comment: "no" })).status).toBe(403);
    expect((await api(world.people.vendor).put(`/data/output-files/${ids.output}`, { comment: "assigned" })).status).toBe(200);
    const updated = await api(world.people.manager).put(`/data/output-files/${ids.output}`, { comment: "ok" });
    expect(updated.status).toBe(200);
    expect(updated.body.comment).toBe("ok");
    expect(await storedEvents(world.server, "output-file:update")).toContainEqual({
      data: { output_file_id: ids.output, project_id: world.project.id },
      project_id: world.project.id,
    });
    expect((await api(world.people.artist).put(`/data/working-files/${ids.working}`, { comment: "no" })).status).toBe(403);
    expect((await api(world.people.manager).put(`/data/working-files/${ids.working}`, { comment: "ok" })).status).toBe(200);
    expect(await storedEvents(world.server, "working-file:update")).toContainEqual({
      data: { working_file_id: ids.working, project_id: world.project.id },
      project_id: world.project.id,
    });
  });

  test("deletes (admin): a deleted working file leaves its outputs without source", async () => {
    expect((await api(world.people.manager).delete(`/data/working-files/${ids.working}`)).status).toBe(403);
    expect((await api(world.people.admin).delete(`/data/working-files/${ids.working}`)).status).toBe(204);
    const output = await api(world.people.admin).get(`/data/output-files/${ids.output}`);
    expect(output.body.source_file_id).toBeNull();
    expect(output.body.source_file).toBeNull();
    expect(await storedEvents(world.server, "working-file:delete")).toContainEqual({
      data: { working_file_id: ids.working, project_id: world.project.id },
      project_id: world.project.id,
    });
    expect((await api(world.people.admin).delete(`/data/output-files/${ids.output}`)).status).toBe(204);
    expect((await storedEvents(world.server, "output-file:delete")).map((event) => event.project_id)).toEqual([world.project.id]);
  });
});
