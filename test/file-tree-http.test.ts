/**
 * The HTTP vectors of file-tree.md §6.2 (H1–H27) through the routes, plus paths built for a shot,
 * a scene, an asset and instances on both shipped trees (the §6.1 / derived vectors that involve a
 * route). The engine-only vectors are in file-tree.test.ts.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { insertOutputFile, insertWorkingFile, makeFilesWorld, type FilesWorld } from "./files-fixtures";

const UNKNOWN = "00000000-0000-4000-8000-000000000000";

describe("simple tree (spec fixture world)", () => {
  let w: FilesWorld;
  beforeAll(async () => {
    w = await makeFilesWorld();
  });
  const post = (path: string, body: unknown) => w.server.json("POST", `/api${path}`, { body });
  const workingPath = (task: { id: string }, body: unknown) => post(`/data/tasks/${task.id}/working-file-path`, body);

  test("H1: shot task; the key `software` is ignored → default 3ds Max", async () => {
    const { status, body } = await workingPath(w.tasks.shot, { software: w.softwares.max.id });
    expect(status).toBe(200);
    expect(body.path).toBe("/simple/productions/cosmos_landromat/shots/s01/p01/animation/3ds_max");
    expect(body.name).toBe("cosmos_landromat_s01_p01_animation_main_v001");
  });

  test("H2: scene task", async () => {
    const { status, body } = await workingPath(w.tasks.scene, { software: w.softwares.max.id });
    expect(status).toBe(200);
    expect(body.path).toBe("/simple/productions/cosmos_landromat/scenes/s01/sc01/animation/3ds_max");
  });

  test("H3: episode task", async () => {
    const { status, body } = await workingPath(w.tasks.episode, { software: w.softwares.max.id });
    expect(status).toBe(200);
    expect(body.path).toBe("/simple/productions/cosmos_landromat/episodes/e01/animation/3ds_max");
  });

  describe("asset task with working files hotfix v1..v4", () => {
    beforeAll(async () => {
      for (let revision = 1; revision <= 4; revision++) {
        await insertWorkingFile(w.server, w.tasks.asset, { name: "hotfix", revision, software_id: w.softwares.blender.id });
      }
    });

    test("H4: name main → v001", async () => {
      const { status, body } = await workingPath(w.tasks.asset, { name: "main" });
      expect(status).toBe(200);
      expect(body).toEqual({
        path: "/simple/productions/cosmos_landromat/assets/props/tree/shaders/3ds_max",
        name: "cosmos_landromat_props_tree_shaders_main_v001",
      });
    });

    test("H5: name hotfix → v005", async () => {
      const { body } = await workingPath(w.tasks.asset, { name: "hotfix" });
      expect(body.name).toBe("cosmos_landromat_props_tree_shaders_hotfix_v005");
    });

    test("H6: name hotfix, revision 3 → v003", async () => {
      const { body } = await workingPath(w.tasks.asset, { name: "hotfix", revision: 3 });
      expect(body.name).toBe("cosmos_landromat_props_tree_shaders_hotfix_v003");
    });
  });

  test("H7: asset task, empty body", async () => {
    const { status, body } = await workingPath(w.tasks.asset, {});
    expect(status).toBe(200);
    expect(body.path).toBe("/simple/productions/cosmos_landromat/assets/props/tree/shaders/3ds_max");
  });

  test("H8: asset task with software_id Blender", async () => {
    const { body } = await workingPath(w.tasks.asset, { software_id: w.softwares.blender.id });
    expect(body.path).toBe("/simple/productions/cosmos_landromat/assets/props/tree/shaders/blender");
  });

  test("H9: asset task, revision 3", async () => {
    const { body } = await workingPath(w.tasks.asset, { revision: 3 });
    expect(body.name).toBe("cosmos_landromat_props_tree_shaders_main_v003");
  });

  test("H10: sep \\ converts the folder part only", async () => {
    const { body } = await workingPath(w.tasks.asset, { sep: "\\" });
    expect(body.path).toBe("/simple\\productions\\cosmos_landromat\\assets\\props\\tree\\shaders\\3ds_max");
    expect(body.name).toBe("cosmos_landromat_props_tree_shaders_main_v001");
  });

  test("H11: an id that is not a task → 404", async () => {
    expect((await workingPath({ id: w.entities.tree.id }, {})).status).toBe(404);
    expect((await workingPath({ id: UNKNOWN }, {})).status).toBe(404);
  });

  test("H12: unknown mode → 400 with the request echoed", async () => {
    const { status, body } = await workingPath(w.tasks.asset, { mode: "unknown" });
    expect(status).toBe(400);
    expect(body).toEqual({ message: "Mode unknown cannot be found on given tree.", received_data: { mode: "unknown" } });
  });

  test("H13: output path of Tree, Cache, Shaders, revision 3", async () => {
    const { status, body } = await post(`/data/entities/${w.entities.tree.id}/output-file-path`, {
      name: "main",
      output_type_id: w.outputTypes.cache.id,
      task_type_id: w.taskTypes.shaders.id,
      revision: 3,
    });
    expect(status).toBe(200);
    expect(body).toEqual({
      folder_path: "/simple/productions/export/cosmos_landromat/assets/props/tree/shaders/cache",
      file_name: "cosmos_landromat_props_tree_shaders_cache_main_v003",
    });
  });

  test("H14: revision 0 and no outputs yet → v001", async () => {
    const { body } = await post(`/data/entities/${w.entities.tree.id}/output-file-path`, {
      name: "main",
      output_type_id: w.outputTypes.cache.id,
      task_type_id: w.taskTypes.shaders.id,
      revision: 0,
    });
    expect(body.file_name).toBe("cosmos_landromat_props_tree_shaders_cache_main_v001");
  });

  test("vector 9/10: output path of shot P01, Cache, Animation, revision 3", async () => {
    const { status, body } = await post(`/data/entities/${w.entities.shot.id}/output-file-path`, {
      output_type_id: w.outputTypes.cache.id,
      task_type_id: w.taskTypes.animation.id,
      revision: 3,
    });
    expect(status).toBe(200);
    expect(body).toEqual({
      folder_path: "/simple/productions/export/cosmos_landromat/shots/s01/p01/animation/cache",
      file_name: "cosmos_landromat_s01_p01_animation_cache_main_v003",
    });
  });

  test("output path with separator \\ (key `separator`): the root keeps its own /", async () => {
    const { body } = await post(`/data/entities/${w.entities.shot.id}/output-file-path`, {
      output_type_id: w.outputTypes.cache.id,
      task_type_id: w.taskTypes.animation.id,
      revision: 3,
      separator: "\\",
    });
    expect(body.folder_path).toBe("/simple\\productions/export\\cosmos_landromat\\shots\\s01\\p01\\animation\\cache");
  });

  const instancePath = (instance: { id: string }, temporal: { id: string }, body: unknown) =>
    post(`/data/asset-instances/${instance.id}/entities/${temporal.id}/output-file-path`, body);

  test("H15: instance Tree_0001 in shot P01", async () => {
    const { status, body } = await instancePath(w.instances.tree, w.entities.shot, {
      name: "main",
      output_type_id: w.outputTypes.cache.id,
      task_type_id: w.taskTypes.animation.id,
      representation: "abc",
      revision: 3,
    });
    expect(status).toBe(200);
    expect(body).toEqual({
      folder_path: "/simple/productions/export/cosmos_landromat/shot/s01/p01/animation/cache/props/tree/instance_0001/abc",
      file_name: "cosmos_landromat_s01_p01_animation_cache_main_tree_0001_v003",
    });
  });

  test("vector 15: instance Tree_0001 in scene SC01; revision 0 renders v000 (kept quirk)", async () => {
    const args = { output_type_id: w.outputTypes.cache.id, task_type_id: w.taskTypes.animation.id, representation: "abc" };
    const { body } = await instancePath(w.instances.tree, w.entities.scene, { ...args, revision: 3 });
    expect(body).toEqual({
      folder_path: "/simple/productions/export/cosmos_landromat/scene/s01/sc01/animation/cache/props/tree/instance_0001/abc",
      file_name: "cosmos_landromat_s01_sc01_animation_cache_main_tree_0001_v003",
    });
    const zero = await instancePath(w.instances.tree, w.entities.scene, args);
    expect(zero.body.file_name).toBe("cosmos_landromat_s01_sc01_animation_cache_main_tree_0001_v000");
  });

  test("vector 16: Rabbit placed in asset Tree (instance_asset)", async () => {
    const { status, body } = await instancePath(w.instances.rabbitInTree, w.entities.tree, {
      output_type_id: w.outputTypes.materials.id,
      task_type_id: w.taskTypes.shaders.id,
      representation: "ml",
      revision: 3,
    });
    expect(status).toBe(200);
    expect(body).toEqual({
      folder_path: "/simple/productions/export/cosmos_landromat/assets/props/tree/shaders/materials/character/rabbit/instance_0001/ml",
      file_name: "cosmos_landromat_props_tree_shaders_materials_main_rabbit_0001_v003",
    });
  });

  test("H16: new working files: revisions 1, 2, 3, then 66; 66 again → 400", async () => {
    const url = `/data/tasks/${w.tasks.asset.id}/working-files/new`;
    const revisions: number[] = [];
    const paths: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { status, body } = await post(url, { name: "main", comment: "work" });
      expect(status).toBe(201);
      revisions.push(body.revision);
      paths.push(body.path);
    }
    expect(revisions).toEqual([1, 2, 3]);
    expect(paths[2]).toBe("/simple/productions/cosmos_landromat/assets/props/tree/shaders/blender/cosmos_landromat_props_tree_shaders_main_v003");
    const sixtySix = await post(url, { name: "main", revision: 66 });
    expect(sixtySix.status).toBe(201);
    expect(sixtySix.body.revision).toBe(66);
    expect(sixtySix.body.path).toBe("/simple/productions/cosmos_landromat/assets/props/tree/shaders/blender/cosmos_landromat_props_tree_shaders_main_v066");
    const again = await post(url, { name: "main", revision: 66 });
    expect(again).toEqual({ status: 400, body: { error: "The given working file already exists." } });
  });

  describe("H17–H19: new outputs of Tree (Texture, Shaders)", () => {
    const url = () => `/data/entities/${w.entities.tree.id}/output-files/new`;
    const args = () => ({ output_type_id: w.outputTypes.texture.id, task_type_id: w.taskTypes.shaders.id, comment: "" });

    test("H17: twice → v001 then v002", async () => {
      const first = await post(url(), args());
      expect(first.status).toBe(201);
      expect(first.body.file_name).toBe("cosmos_landromat_props_tree_shaders_texture_main_v001");
      expect(first.body.folder_path).toBe("/simple/productions/export/cosmos_landromat/assets/props/tree/shaders/texture");
      expect(first.body.path).toBe(`${first.body.folder_path}/cosmos_landromat_props_tree_shaders_texture_main_v001`);
      const second = await post(url(), args());
      expect(second.body.file_name).toBe("cosmos_landromat_props_tree_shaders_texture_main_v002");
      expect(second.body.revision).toBe(2);
    });

    test("H18: extension .jpg, nb_elements 50, name sequence", async () => {
      const { status, body } = await post(url(), { ...args(), extension: ".jpg", nb_elements: 50, name: "sequence" });
      expect(status).toBe(201);
      expect(body.path).toBe(
        "/simple/productions/export/cosmos_landromat/assets/props/tree/shaders/texture/cosmos_landromat_props_tree_shaders_texture_sequence_v001_[1-50].jpg",
      );
      expect(body.nb_elements).toBe(50);
      expect(body.extension).toBe(".jpg");
    });

    test("H19: revision 66, then 66 again → 400", async () => {
      const { status, body } = await post(url(), { ...args(), revision: 66 });
      expect(status).toBe(201);
      expect(body.file_name).toBe("cosmos_landromat_props_tree_shaders_texture_main_v066");
      expect(await post(url(), { ...args(), revision: 66 })).toEqual({ status: 400, body: { error: "The given output file already exists." } });
    });
  });

  test("H20: next revision", async () => {
    const world = await makeFilesWorld();
    const { tree } = world.entities;
    const otherType = world.outputTypes.images;
    await insertOutputFile(world.server, { entity_id: tree.id, output_type_id: otherType.id, task_type_id: world.taskTypes.shaders.id, revision: 1 });
    await insertOutputFile(world.server, {
      entity_id: tree.id,
      output_type_id: otherType.id,
      task_type_id: world.taskTypes.shaders.id,
      name: "other-output",
      revision: 5,
    });
    const next = (entityId: string, body: Record<string, unknown>) =>
      world.server.json("POST", `/api/data/entities/${entityId}/output-files/next-revision`, {
        body: { output_type_id: otherType.id, task_type_id: world.taskTypes.shaders.id, ...body },
      });
    expect(await next(tree.id, {})).toEqual({ status: 200, body: { next_revision: 2 } });
    expect((await next(tree.id, { name: "other-output" })).body).toEqual({ next_revision: 6 });
    expect((await next(tree.id, { output_type_id: world.outputTypes.cache.id })).body).toEqual({ next_revision: 1 });
    expect((await next(UNKNOWN, {})).status).toBe(404);
  });

  describe("guess from path", () => {
    const guess = (filePath: string, projectId = w.project.id) => post("/data/entities/guess-from-path", { project_id: projectId, file_path: filePath });

    test("H21: asset path resolves project, asset type, asset, task type (Software stops)", async () => {
      const { status, body } = await guess("/simple/productions/cosmos_landromat/assets/Props/Tree/Shaders/blender");
      expect(status).toBe(200);
      expect(body).toEqual([
        {
          Template: "asset",
          Project: w.project.id,
          AssetType: w.types.props.id,
          Asset: w.entities.tree.id,
          TaskType: w.taskTypes.shaders.id,
        },
      ]);
    });

    test("H22: a path outside the tree → []", async () => {
      expect(await guess("/some/test/path")).toEqual({ status: 200, body: [] });
    });

    test("H23: shot path", async () => {
      const { body } = await guess("/simple/productions/cosmos landromat/shots/s01/p01/animation/max");
      expect(body.find((entry: any) => entry.Template === "shot")).toEqual({
        Template: "shot",
        Project: w.project.id,
        Sequence: w.entities.sequence.id,
        Shot: w.entities.shot.id,
        TaskType: w.taskTypes.animation.id,
      });
    });

    test("H24: upper-case path is lower-cased by the mode style", async () => {
      const { body } = await guess("/SIMPLE/PRODUCTIONS/COSMOS LANDROMAT/ASSETS/PROPS/TREE/SHADERS/BLENDER");
      expect(body.find((entry: any) => entry.Template === "asset")?.Asset).toBe(w.entities.tree.id);
    });

    test("H25: unknown sequence stops the resolution", async () => {
      const { body } = await guess("/simple/productions/cosmos_landromat/shots/nowhere/p01/animation/max");
      expect(body.find((entry: any) => entry.Template === "shot")).toEqual({ Template: "shot", Project: w.project.id });
    });

    test("H26: a path of another project → only templates", async () => {
      const { status, body } = await guess("/simple/productions/cosmos_landromat/assets/Props/Tree/Shaders/blender", w.otherProject.id);
      expect(status).toBe(200);
      expect(body.length).toBeGreaterThan(0);
      for (const entry of body) expect(Object.keys(entry)).toEqual(["Template"]);
    });

    test("underscore alias answers the same", async () => {
      const path = "/simple/productions/cosmos_landromat/assets/Props/Tree/Shaders/blender";
      const alias = await post("/data/entities/guess_from_path", { project_id: w.project.id, file_path: path });
      expect(alias).toEqual(await guess(path));
    });
  });

  test("H27: set-file-tree default, and names that are not shipped trees → 400", async () => {
    const world = await makeFilesWorld({ tree: null });
    const url = `/api/actions/projects/${world.project.id}/set-file-tree`;
    const { status, body } = await world.server.json("POST", url, { body: { tree_name: "default" } });
    expect(status).toBe(200);
    expect(body.id).toBe(world.project.id);
    expect(body.file_tree.working.folder_path.shot).toBe("<Project>/shots/<Sequence>/<Shot>/<TaskType>");
    for (const name of ["../../file_trees/simple", "", "/etc/passwd", "unknown"]) {
      const refused = await world.server.json("POST", url, { body: { tree_name: name } });
      expect(refused).toEqual({ status: 400, body: { error: true, message: "Selected tree is not available", data: null } });
    }
  });
});

describe("default tree through the routes (derived vectors)", () => {
  let w: FilesWorld;
  beforeAll(async () => {
    w = await makeFilesWorld({ tree: "default" });
  });
  const post = (path: string, body: unknown) => w.server.json("POST", `/api${path}`, { body });
  const output = (entity: { id: string }, taskType: { id: string }) =>
    post(`/data/entities/${entity.id}/output-file-path`, { output_type_id: w.outputTypes.cache.id, task_type_id: taskType.id });

  test("working folder and file name of the asset task", async () => {
    expect(await post(`/data/tasks/${w.tasks.asset.id}/working-file-path`, {})).toEqual({
      status: 200,
      body: { path: "/simple/productions/cosmos_landromat/assets/props/tree/shaders", name: "cosmos_landromat_props_tree_shaders" },
    });
  });

  test("working folder and file name of the shot task", async () => {
    expect(await post(`/data/tasks/${w.tasks.shot.id}/working-file-path`, {})).toEqual({
      status: 200,
      body: { path: "/simple/productions/cosmos_landromat/shots/s01/p01/animation", name: "cosmos_landromat_p01_animation" },
    });
  });

  test("output of shot P01, Cache, name main", async () => {
    expect(await output(w.entities.shot, w.taskTypes.animation)).toEqual({
      status: 200,
      body: { folder_path: "/simple/productions/export/cosmos_landromat/shots/s01/p01/cache", file_name: "cosmos_landromat_s01_p01_cache_main" },
    });
  });

  test("output of asset Tree, Cache", async () => {
    expect(await output(w.entities.tree, w.taskTypes.shaders)).toEqual({
      status: 200,
      body: { folder_path: "/simple/productions/export/cosmos_landromat/assets/props/tree/cache", file_name: "cosmos_landromat_props_tree_cache_main" },
    });
  });

  test("output of a sequence: the <OuputType> typo is fixed in the shipped tree", async () => {
    expect(await output(w.entities.sequence, w.taskTypes.animation)).toEqual({
      status: 200,
      body: { folder_path: "/simple/productions/export/cosmos_landromat/sequences/s01/cache", file_name: "cosmos_landromat_s01_cache_main" },
    });
  });

  test("the default tree has no instance templates → 400 with an empty message", async () => {
    const body = { output_type_id: w.outputTypes.cache.id, task_type_id: w.taskTypes.animation.id };
    const { status, body: answer } = await post(`/data/asset-instances/${w.instances.tree.id}/entities/${w.entities.shot.id}/output-file-path`, body);
    expect(status).toBe(400);
    expect(answer).toEqual({ message: "", received_data: body });
  });
});
