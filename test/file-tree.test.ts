/**
 * File tree engine: the vectors of shared/spec/file-tree.md, one test each.
 * §6.1 service vectors 1–23, the derived default-tree vectors, the path-level part of the HTTP
 * vectors H1–H27 (the database part — 404s, duplicates, lookups — belongs to the route tests),
 * and the slugify examples of §3.1.
 */
import { describe, expect, test } from "bun:test";
import {
  BUILTIN_TREE_NAMES,
  buildFileName,
  buildFilePath,
  buildFolderPath,
  FileTreeError,
  formatRevision,
  getBuiltinTree,
  getProjectTree,
  getRootPath,
  getTemplateKind,
  joinPath,
  matchPathTemplates,
  nextRevision,
  renderFileName,
  resolveToken,
  slugify,
  substituteTemplate,
  type FileTree,
  type FileTreeAssetInstance,
  type FileTreeEntity,
  type FileTreeInput,
  type FileTreeTask,
  type FileTreeTaskType,
} from "../src/lib/file-tree.ts";

// ---------------------------------------------------------------------------------------------
// Fixture world (spec §6): project Cosmos Landromat on the simple tree.
// ---------------------------------------------------------------------------------------------

const uuid = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

const simple = getBuiltinTree("simple") as FileTree;
const defaultTree = getBuiltinTree("default") as FileTree;

const project = { id: uuid(1), name: "Cosmos Landromat" };
const types = {
  props: { id: uuid(10), name: "Props" },
  character: { id: uuid(11), name: "Character" },
  episode: { id: uuid(12), name: "Episode" },
  sequence: { id: uuid(13), name: "Sequence" },
  shot: { id: uuid(14), name: "Shot" },
  scene: { id: uuid(15), name: "Scene" },
};
const episode: FileTreeEntity = { id: uuid(20), name: "E01", entity_type: types.episode, parent: null };
const sequence: FileTreeEntity = { id: uuid(21), name: "S01", entity_type: types.sequence, parent: episode };
const shot: FileTreeEntity = { id: uuid(22), name: "P01", entity_type: types.shot, parent: sequence };
const scene: FileTreeEntity = { id: uuid(23), name: "SC01", entity_type: types.scene, parent: sequence };
const tree: FileTreeEntity = { id: "6a1c8b0e-2f7d-4c3a-9b5e-1d2f3a4b5c6d", name: "Tree", entity_type: types.props };
const rabbit: FileTreeEntity = { id: uuid(25), name: "Rabbit", entity_type: types.character };

const modeling = { id: uuid(30), name: "Modeling" };
const animationDept = { id: uuid(31), name: "Animation" };
const shaders: FileTreeTaskType = { id: uuid(32), name: "Shaders", short_name: "shd", department: modeling };
const animation: FileTreeTaskType = { id: uuid(33), name: "Animation", short_name: "anim", department: animationDept };
const assetTask: FileTreeTask = { id: uuid(40), name: "Master", task_type: shaders };
const shotTask: FileTreeTask = { id: uuid(41), name: "Master", task_type: animation };
const sceneTask: FileTreeTask = { id: uuid(42), name: "Master", task_type: animation };
const episodeTask: FileTreeTask = { id: uuid(43), name: "Master", task_type: animation };

const blender = { id: uuid(50), name: "Blender", short_name: "bdr" };
const max = { id: uuid(51), name: "3dsMax", short_name: "max" };
const max3ds = { id: uuid(52), name: "3ds Max", short_name: "max" }; // the working-file-path route's default
const cache = { id: uuid(60), name: "Cache" };
const images = { id: uuid(61), name: "Images" };
const materials = { id: uuid(62), name: "Materials" };
const texture = { id: uuid(63), name: "Texture", short_name: "tx" };

const treeInstance: FileTreeAssetInstance = { id: uuid(70), name: "Tree_0001", number: 1, target_asset_id: null };
const rabbitInTree: FileTreeAssetInstance = { id: uuid(71), name: "Rabbit_0001", number: 1, target_asset_id: tree.id };

const working = { mode: "working" } as const;
const output = { mode: "output" } as const;

function treeWith(mode: string, patch: Partial<FileTree[string]>): FileTree {
  const copy = getBuiltinTree("simple") as FileTree;
  copy[mode] = { ...copy[mode], ...patch };
  return copy;
}

function expectFileTreeError(run: () => unknown, message: string): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(FileTreeError);
  expect((caught as FileTreeError).message).toBe(message);
  expect((caught as FileTreeError).status).toBe(400);
}

// ---------------------------------------------------------------------------------------------
// §6.1 service-level vectors (simple tree)
// ---------------------------------------------------------------------------------------------

describe("spec §6.1 service vectors", () => {
  test("1: root path, mode working, sep /", () => {
    expect(getRootPath(simple, "working", "/")).toBe("/simple/productions/");
  });

  test("2: root path, mode working, sep \\", () => {
    expect(getRootPath(simple, "working", "\\")).toBe("/simple\\productions\\");
  });

  test("3: root path with root \"\"", () => {
    expect(getRootPath(treeWith("working", { root: "" }), "working", "/")).toBe("/simple/");
  });

  test("4: working file path, asset task, Blender, revision 3, name \"\"", () => {
    const input: FileTreeInput = { project, entity: tree, task: assetTask, software: blender, revision: 3, name: "" };
    expect(buildFilePath(simple, input, working).path).toBe(
      "/simple/productions/cosmos_landromat/assets/props/tree/shaders/blender/cosmos_landromat_props_tree_shaders_v003",
    );
  });

  test("5: working folder, shot task, 3dsMax", () => {
    expect(buildFolderPath(simple, { project, entity: shot, task: shotTask, software: max }, working)).toBe(
      "/simple/productions/cosmos_landromat/shots/s01/p01/animation/3dsmax",
    );
  });

  test("6: working file name, shot task, revision 3", () => {
    expect(buildFileName(simple, { project, entity: shot, task: shotTask, revision: 3 }, working)).toBe(
      "cosmos_landromat_s01_p01_animation_v003",
    );
  });

  test("7: working file path, scene task, 3dsMax, revision 3", () => {
    const input: FileTreeInput = { project, entity: scene, task: sceneTask, software: max, revision: 3 };
    expect(buildFilePath(simple, input, working).path).toBe(
      "/simple/productions/cosmos_landromat/scenes/s01/sc01/animation/3dsmax/cosmos_landromat_sc01_animation_v003",
    );
  });

  test("8: working folder, shot task, 3dsMax, sep \\", () => {
    expect(buildFolderPath(simple, { project, entity: shot, task: shotTask, software: max }, { mode: "working", sep: "\\" })).toBe(
      "/simple\\productions\\cosmos_landromat\\shots\\s01\\p01\\animation\\3dsmax",
    );
  });

  test("9: output file path, shot P01, Cache, Animation, main, revision 3", () => {
    const input: FileTreeInput = { project, entity: shot, output_type: cache, task_type: animation, name: "main", revision: 3 };
    expect(buildFilePath(simple, input, output).path).toBe(
      "/simple/productions/export/cosmos_landromat/shots/s01/p01/animation/cache/cosmos_landromat_s01_p01_animation_cache_main_v003",
    );
  });

  test("10: output folder, shot P01, Cache, Animation", () => {
    expect(buildFolderPath(simple, { project, entity: shot, output_type: cache, task_type: animation }, output)).toBe(
      "/simple/productions/export/cosmos_landromat/shots/s01/p01/animation/cache",
    );
  });

  test("11: output file name, asset Tree, main, revision 3, no output type, no task type", () => {
    expect(buildFileName(simple, { project, entity: tree, name: "main", revision: 3 }, output)).toBe(
      "cosmos_landromat_props_tree_geometry_main_v003",
    );
  });

  test("12: output file name, shot P01, Images, revision 3, nb_elements 50 (and 1)", () => {
    const input: FileTreeInput = { project, entity: shot, output_type: images, name: "main", revision: 3 };
    expect(buildFileName(simple, input, { mode: "output", nb_elements: 50 })).toBe(
      "cosmos_landromat_s01_p01_images_main_v003_[1-50]",
    );
    expect(buildFileName(simple, input, { mode: "output", nb_elements: 1 })).toBe("cosmos_landromat_s01_p01_images_main_v003");
  });

  const instanceFromShot: FileTreeInput = {
    project,
    entity: shot,
    asset_instance: treeInstance,
    asset: tree,
    output_type: cache,
    task_type: animation,
    representation: "abc",
    name: "main",
    revision: 3,
  };

  test("13: instance Tree_0001 seen from shot P01: folder", () => {
    expect(getTemplateKind(instanceFromShot)).toBe("instance");
    expect(buildFolderPath(simple, instanceFromShot, output)).toBe(
      "/simple/productions/export/cosmos_landromat/shot/s01/p01/animation/cache/props/tree/instance_0001/abc",
    );
  });

  test("14: instance Tree_0001 seen from shot P01: file name", () => {
    expect(buildFileName(simple, instanceFromShot, output)).toBe("cosmos_landromat_s01_p01_animation_cache_main_tree_0001_v003");
  });

  test("15: instance Tree_0001 seen from scene SC01: folder / file name", () => {
    const input: FileTreeInput = { ...instanceFromShot, entity: scene };
    expect(buildFolderPath(simple, input, output)).toBe(
      "/simple/productions/export/cosmos_landromat/scene/s01/sc01/animation/cache/props/tree/instance_0001/abc",
    );
    expect(buildFileName(simple, input, output)).toBe("cosmos_landromat_s01_sc01_animation_cache_main_tree_0001_v003");
  });

  test("16: instance of Rabbit placed in asset Tree (instance_asset)", () => {
    const input: FileTreeInput = {
      project,
      entity: tree,
      asset_instance: rabbitInTree,
      asset: rabbit,
      output_type: materials,
      task_type: shaders,
      representation: "ml",
      name: "main",
      revision: 3,
    };
    expect(getTemplateKind(input)).toBe("instance_asset");
    expect(buildFolderPath(simple, input, output)).toBe(
      "/simple/productions/export/cosmos_landromat/assets/props/tree/shaders/materials/character/rabbit/instance_0001/ml",
    );
    expect(buildFileName(simple, input, output)).toBe("cosmos_landromat_props_tree_shaders_materials_main_rabbit_0001_v003");
  });

  test("17: working file name with file_name.style uppercase", () => {
    const upper = treeWith("working", { file_name: { ...simple.working.file_name, style: "uppercase" } });
    expect(buildFileName(upper, { project, entity: tree, task: assetTask, name: "main", revision: 1 }, working)).toBe(
      "COSMOS_LANDROMAT_PROPS_TREE_SHADERS_MAIN_V001",
    );
  });

  test("18: substitute <AssetType>_<Asset>", () => {
    expect(substituteTemplate("<AssetType>_<Asset>", { project, entity: tree, task: assetTask })).toBe("props_tree");
  });

  test("19: substitute <TaskType.short_name>", () => {
    expect(substituteTemplate("<TaskType.short_name>", { project, entity: tree, task: assetTask })).toBe("shd");
  });

  test("20: substitute <TaskType.description> (unknown field = name)", () => {
    const input: FileTreeInput = { project, entity: tree, task: assetTask };
    expect(substituteTemplate("<TaskType.description>", input)).toBe(substituteTemplate("<TaskType>", input));
    expect(substituteTemplate("<TaskType.description>", input)).toBe("shaders");
  });

  test("21: substitute <Asset.id> verbatim; as file name tree_<uuid>_v001", () => {
    const input: FileTreeInput = { project, entity: tree, task: assetTask, revision: 1 };
    expect(substituteTemplate("<Asset.id>", input, "uppercase")).toBe(tree.id as string);
    expect(renderFileName("<Asset>_<Asset.id>_v<Version>", input, "lowercase")).toBe(`tree_${tree.id}_v001`);
  });

  test("22: raw token values", () => {
    expect(resolveToken("Episode", { project, entity: tree })).toBe("e001");
    expect(resolveToken("Episode", { project, entity: shot })).toBe("E01");
    expect(resolveToken("Episode", { project, entity: sequence })).toBe("E01");
    expect(resolveToken("Episode", { project, entity: episode })).toBe("E01");
    expect(resolveToken("Sequence", { project, entity: tree })).toBe("");
    expect(resolveToken("TemporalEntityType", { project, entity: shot })).toBe("shot");
    expect(resolveToken("OutputType", { project, entity: shot, output_type: cache })).toBe("cache");
    expect(resolveToken("Version", { project, entity: shot, revision: 7 })).toBe("007");
    expect(resolveToken("Revision", { project, entity: shot, revision: 7 })).toBe("007");
    const seq2: FileTreeEntity = { id: uuid(90), name: "Seq2", entity_type: types.sequence };
    expect(resolveToken("Sequence", { project, entity: seq2 })).toBe("S002");
    const seq02: FileTreeEntity = { id: uuid(91), name: "Seq02", entity_type: types.sequence };
    expect(resolveToken("Sequence", { project, entity: seq02 })).toBe("S002");
  });

  test("23: <Instance> values", () => {
    const base = { project, entity: shot };
    expect(resolveToken("Instance", { ...base, asset_instance: { number: 3, name: null } })).toBe("0003");
    expect(resolveToken("Instance", { ...base, asset_instance: { number: 3, name: "hero" } })).toBe("hero");
    expect(resolveToken("Instance.number", { ...base, asset_instance: { number: 3, name: "hero" } })).toBe("0003");
    expect(resolveToken("Instance", base)).toBe("");
  });
});

// ---------------------------------------------------------------------------------------------
// Derived vectors, default tree
// ---------------------------------------------------------------------------------------------

describe("spec §6.1 derived vectors (default tree)", () => {
  test("working folder of asset task", () => {
    expect(buildFolderPath(defaultTree, { project, entity: tree, task: assetTask }, working)).toBe(
      "/simple/productions/cosmos_landromat/assets/props/tree/shaders",
    );
  });

  test("working file name of asset task (no version token)", () => {
    expect(buildFileName(defaultTree, { project, entity: tree, task: assetTask, name: "main", revision: 3 }, working)).toBe(
      "cosmos_landromat_props_tree_shaders",
    );
  });

  test("output file name for shot P01 / Cache / main", () => {
    expect(buildFileName(defaultTree, { project, entity: shot, output_type: cache, name: "main" }, output)).toBe(
      "cosmos_landromat_s01_p01_cache_main",
    );
  });

  test("output for a sequence: the <OuputType> typo of Zou's tree is not carried over", () => {
    // Zou's default.json has `<OuputType>` here (answer 400 "Unknown data type: OuputType.");
    // this port ships the corrected template.
    expect(defaultTree.output.file_name.sequence).toBe("<Project>_<Sequence>_<OutputType>_<OutputFile>");
    expect(buildFileName(defaultTree, { project, entity: sequence, output_type: cache, name: "main" }, output)).toBe(
      "cosmos_landromat_s01_cache_main",
    );
  });
});

// ---------------------------------------------------------------------------------------------
// A shot and an asset on both built-in trees
// ---------------------------------------------------------------------------------------------

describe("shot and asset paths on both built-in trees", () => {
  const shotWorking: FileTreeInput = { project, entity: shot, task: shotTask, software: blender, name: "main", revision: 2 };
  const assetWorking: FileTreeInput = { project, entity: tree, task: assetTask, software: blender, name: "main", revision: 2 };
  const shotOutput: FileTreeInput = { project, entity: shot, task_type: animation, output_type: cache, name: "main", revision: 2 };
  const assetOutput: FileTreeInput = { project, entity: tree, task_type: shaders, output_type: cache, name: "main", revision: 2 };

  test("simple tree", () => {
    expect(buildFilePath(simple, shotWorking, working).path).toBe(
      "/simple/productions/cosmos_landromat/shots/s01/p01/animation/blender/cosmos_landromat_s01_p01_animation_main_v002",
    );
    expect(buildFilePath(simple, assetWorking, working).path).toBe(
      "/simple/productions/cosmos_landromat/assets/props/tree/shaders/blender/cosmos_landromat_props_tree_shaders_main_v002",
    );
    expect(buildFilePath(simple, shotOutput, output).path).toBe(
      "/simple/productions/export/cosmos_landromat/shots/s01/p01/animation/cache/cosmos_landromat_s01_p01_animation_cache_main_v002",
    );
    expect(buildFilePath(simple, assetOutput, output).path).toBe(
      "/simple/productions/export/cosmos_landromat/assets/props/tree/shaders/cache/cosmos_landromat_props_tree_shaders_cache_main_v002",
    );
  });

  test("default tree", () => {
    expect(buildFilePath(defaultTree, shotWorking, working).path).toBe(
      "/simple/productions/cosmos_landromat/shots/s01/p01/animation/cosmos_landromat_p01_animation",
    );
    expect(buildFilePath(defaultTree, assetWorking, working).path).toBe(
      "/simple/productions/cosmos_landromat/assets/props/tree/shaders/cosmos_landromat_props_tree_shaders",
    );
    expect(buildFilePath(defaultTree, shotOutput, output).path).toBe(
      "/simple/productions/export/cosmos_landromat/shots/s01/p01/cache/cosmos_landromat_s01_p01_cache_main",
    );
    expect(buildFilePath(defaultTree, assetOutput, output).path).toBe(
      "/simple/productions/export/cosmos_landromat/assets/props/tree/cache/cosmos_landromat_props_tree_cache_main",
    );
  });

  test("preview mode", () => {
    expect(buildFilePath(simple, { project, entity: shot, task: shotTask }, { mode: "preview" }).path).toBe(
      "/simple/productions/previews/cosmos_landromat/shots/s01/p01/animation/cosmos_landromat_s01_p01_animation",
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

describe("errors", () => {
  test("unresolvable token → FileTreeError \"Unknown data type: X.\" with the 400 body", () => {
    const bad = treeWith("output", { file_name: { ...simple.output.file_name, shot: "<Project>_<OuputType>_<Name>" } });
    const input: FileTreeInput = { project, entity: shot, output_type: cache, name: "main" };
    expectFileTreeError(() => buildFileName(bad, input, output), "Unknown data type: OuputType.");
    try {
      buildFileName(bad, input, output);
    } catch (error) {
      expect((error as FileTreeError).toBody({ name: "main" })).toEqual({
        message: "Unknown data type: OuputType.",
        received_data: { name: "main" },
      });
    }
    expectFileTreeError(() => substituteTemplate("<constructor>", input), "Unknown data type: constructor.");
  });

  test("unknown mode", () => {
    expectFileTreeError(() => buildFolderPath(simple, { project, entity: tree }, { mode: "unknown" }), "Mode unknown cannot be found on given tree.");
  });

  test("project without tree", () => {
    expectFileTreeError(() => getProjectTree({ file_tree: null }), "No tree can be found for given project.");
    expectFileTreeError(() => buildFolderPath(null, { project, entity: tree }, working), "No tree can be found for given project.");
    expect(getProjectTree({ file_tree: simple })).toBe(simple);
  });

  test("mode without mountpoint/root", () => {
    const broken = { working: { folder_path: { asset: "<Asset>" }, file_name: { asset: "<Asset>" } } } as unknown as FileTree;
    expectFileTreeError(() => getRootPath(broken, "working"), "Can't find given mode (working) in given tree.");
  });

  test("missing kind template → empty message", () => {
    // The default tree has no instance templates.
    const input: FileTreeInput = { project, entity: shot, asset_instance: treeInstance, asset: tree };
    expectFileTreeError(() => buildFolderPath(defaultTree, input, output), "");
  });

  test("field the object lacks → 400 instead of Zou's 500", () => {
    expectFileTreeError(
      () => substituteTemplate("<Shot.short_name>", { project, entity: shot }),
      "Field short_name is not available for data type: Shot.",
    );
  });
});

// ---------------------------------------------------------------------------------------------
// HTTP vectors: the path-building / pure part of each
// ---------------------------------------------------------------------------------------------

describe("spec §6.2 HTTP vectors (engine part)", () => {
  test("H1: shot task, default software 3ds Max", () => {
    expect(buildFolderPath(simple, { project, entity: shot, task: shotTask, software: max3ds }, working)).toBe(
      "/simple/productions/cosmos_landromat/shots/s01/p01/animation/3ds_max",
    );
  });

  test("H2: scene task", () => {
    expect(buildFolderPath(simple, { project, entity: scene, task: sceneTask, software: max3ds }, working)).toBe(
      "/simple/productions/cosmos_landromat/scenes/s01/sc01/animation/3ds_max",
    );
  });

  test("H3: episode task", () => {
    expect(buildFolderPath(simple, { project, entity: episode, task: episodeTask, software: max3ds }, working)).toBe(
      "/simple/productions/cosmos_landromat/episodes/e01/animation/3ds_max",
    );
  });

  const hotfixRevisions = [1, 2, 3, 4];
  const assetInput = (name: string, revision: number): FileTreeInput => ({
    project,
    entity: tree,
    task: assetTask,
    software: max3ds,
    name,
    revision,
  });

  test("H4: name main while only hotfix revisions exist → v001", () => {
    const result = buildFilePath(simple, assetInput("main", nextRevision([])), working);
    expect(result.folder_path).toBe("/simple/productions/cosmos_landromat/assets/props/tree/shaders/3ds_max");
    expect(result.file_name).toBe("cosmos_landromat_props_tree_shaders_main_v001");
  });

  test("H5: name hotfix → v005", () => {
    expect(buildFileName(simple, assetInput("hotfix", nextRevision(hotfixRevisions)), working)).toBe(
      "cosmos_landromat_props_tree_shaders_hotfix_v005",
    );
  });

  test("H6: hotfix with revision 3 given", () => {
    expect(buildFileName(simple, assetInput("hotfix", 3), working)).toBe("cosmos_landromat_props_tree_shaders_hotfix_v003");
  });

  test("H7: asset task, empty body", () => {
    expect(buildFolderPath(simple, assetInput("main", 1), working)).toBe(
      "/simple/productions/cosmos_landromat/assets/props/tree/shaders/3ds_max",
    );
  });

  test("H8: asset task with Blender", () => {
    expect(buildFolderPath(simple, { ...assetInput("main", 1), software: blender }, working)).toBe(
      "/simple/productions/cosmos_landromat/assets/props/tree/shaders/blender",
    );
  });

  test("H9: asset task, revision 3", () => {
    expect(buildFileName(simple, assetInput("main", 3), working)).toBe("cosmos_landromat_props_tree_shaders_main_v003");
  });

  test("H10: sep \\ changes the folder only", () => {
    const result = buildFilePath(simple, assetInput("main", 1), { mode: "working", sep: "\\" });
    expect(result.folder_path).toBe("/simple\\productions\\cosmos_landromat\\assets\\props\\tree\\shaders\\3ds_max");
    expect(result.file_name).toBe("cosmos_landromat_props_tree_shaders_main_v001");
  });

  // H11 (task id that is not a task → 404) happens before any rendering: see file-tree-http.test.ts.

  test("H12: mode unknown → FileTreeError (400)", () => {
    expectFileTreeError(() => buildFilePath(simple, assetInput("main", 1), { mode: "unknown" }), "Mode unknown cannot be found on given tree.");
  });

  test("H13: output path of Tree, Cache, Shaders, revision 3", () => {
    const result = buildFilePath(simple, { project, entity: tree, output_type: cache, task_type: shaders, name: "main", revision: 3 }, output);
    expect(result.folder_path).toBe("/simple/productions/export/cosmos_landromat/assets/props/tree/shaders/cache");
    expect(result.file_name).toBe("cosmos_landromat_props_tree_shaders_cache_main_v003");
  });

  test("H14: revision 0 with no outputs → v001", () => {
    const input: FileTreeInput = { project, entity: tree, output_type: cache, task_type: shaders, name: "main", revision: nextRevision([]) };
    expect(buildFileName(simple, input, output).endsWith("_v001")).toBe(true);
  });

  test("H15: instance output path (and revision 0 renders v000)", () => {
    const input: FileTreeInput = {
      project,
      entity: shot,
      asset_instance: treeInstance,
      asset: tree,
      output_type: cache,
      task_type: animation,
      representation: "abc",
      name: "main",
      revision: 3,
    };
    expect(buildFolderPath(simple, input, output)).toBe(
      "/simple/productions/export/cosmos_landromat/shot/s01/p01/animation/cache/props/tree/instance_0001/abc",
    );
    expect(buildFileName(simple, input, output)).toBe("cosmos_landromat_s01_p01_animation_cache_main_tree_0001_v003");
    expect(buildFileName(simple, { ...input, revision: 0 }, output)).toBe("cosmos_landromat_s01_p01_animation_cache_main_tree_0001_v000");
  });

  test("H16: new working files: revisions 1, 2, 3 then 66", () => {
    const stored: number[] = [];
    const paths: string[] = [];
    for (let i = 0; i < 3; i++) {
      const revision = nextRevision(stored);
      stored.push(revision);
      const input = { ...assetInput("main", revision), software: blender };
      // working-files/new: folder always rendered with "/", sep used for the join only.
      paths.push(joinPath(buildFolderPath(simple, input, working), buildFileName(simple, input, working), "/"));
    }
    expect(stored).toEqual([1, 2, 3]);
    expect(paths[2]).toBe(
      "/simple/productions/cosmos_landromat/assets/props/tree/shaders/blender/cosmos_landromat_props_tree_shaders_main_v003",
    );
    expect(buildFileName(simple, assetInput("main", 66), working)).toBe("cosmos_landromat_props_tree_shaders_main_v066");
  });

  const textureInput = (name: string, revision: number): FileTreeInput => ({
    project,
    entity: tree,
    output_type: texture,
    task_type: shaders,
    name,
    revision,
  });

  test("H17: new outputs Texture twice → v001 then v002", () => {
    const first = buildFilePath(simple, textureInput("main", nextRevision([])), output);
    const second = buildFilePath(simple, textureInput("main", nextRevision([1])), output);
    expect(first.file_name).toBe("cosmos_landromat_props_tree_shaders_texture_main_v001");
    expect(second.file_name).toBe("cosmos_landromat_props_tree_shaders_texture_main_v002");
    expect(first.folder_path).toBe("/simple/productions/export/cosmos_landromat/assets/props/tree/shaders/texture");
  });

  test("H18: extension .jpg, nb_elements 50, name sequence", () => {
    const result = buildFilePath(simple, textureInput("sequence", 1), { mode: "output", nb_elements: 50 });
    expect(result.path + ".jpg").toBe(
      "/simple/productions/export/cosmos_landromat/assets/props/tree/shaders/texture/cosmos_landromat_props_tree_shaders_texture_sequence_v001_[1-50].jpg",
    );
  });

  test("H19: new output with revision 66", () => {
    expect(buildFileName(simple, textureInput("main", 66), output)).toBe("cosmos_landromat_props_tree_shaders_texture_main_v066");
  });

  test("H20: next revision", () => {
    expect(nextRevision([1])).toBe(2);
    expect(nextRevision([5])).toBe(6);
    expect(nextRevision([])).toBe(1);
    expect(nextRevision([0, null, undefined])).toBe(1);
  });

  const tokensOf = (filePath: string, kind: string) =>
    matchPathTemplates(simple, filePath).find((match) => match.template === kind)?.tokens.map((t) => [t.name, t.value]);

  test("H21: guess asset path: tokens read in template order", () => {
    const matches = matchPathTemplates(simple, "/simple/productions/cosmos_landromat/assets/Props/Tree/Shaders/blender");
    expect(matches.map((m) => `${m.mode}:${m.template}`)).toEqual(["working:asset"]);
    expect(tokensOf("/simple/productions/cosmos_landromat/assets/Props/Tree/Shaders/blender", "asset")).toEqual([
      ["Project", "cosmos landromat"],
      ["AssetType", "props"],
      ["Asset", "tree"],
      ["TaskType", "shaders"],
      ["Software", "blender"],
    ]);
  });

  test("H22: guess /some/test/path → nothing", () => {
    expect(matchPathTemplates(simple, "/some/test/path")).toEqual([]);
  });

  test("H23: guess shot path", () => {
    expect(tokensOf("/simple/productions/cosmos landromat/shots/s01/p01/animation/max", "shot")).toEqual([
      ["Project", "cosmos landromat"],
      ["Sequence", "s01"],
      ["Shot", "p01"],
      ["TaskType", "animation"],
      ["Software", "max"],
    ]);
  });

  test("H24: upper-case path is lower-cased by the mode style", () => {
    expect(tokensOf("/SIMPLE/PRODUCTIONS/COSMOS LANDROMAT/ASSETS/PROPS/TREE/SHADERS/BLENDER", "asset")).toEqual([
      ["Project", "cosmos landromat"],
      ["AssetType", "props"],
      ["Asset", "tree"],
      ["TaskType", "shaders"],
      ["Software", "blender"],
    ]);
  });

  test("H25: unknown sequence: the route stops resolving at Sequence", () => {
    expect(tokensOf("/simple/productions/cosmos_landromat/shots/nowhere/p01/animation/max", "shot")?.[1]).toEqual([
      "Sequence",
      "nowhere",
    ]);
  });

  test("H26: another project's path: the Project token reads the other name", () => {
    expect(tokensOf("/simple/productions/other_project/shots/s01/p01/animation/max", "shot")?.[0]).toEqual([
      "Project",
      "other project",
    ]);
  });

  test("H27: set-file-tree names", () => {
    expect(BUILTIN_TREE_NAMES).toEqual(["default", "simple"]);
    expect(getBuiltinTree("default")).not.toBeNull();
    expect(getBuiltinTree("default")).not.toBe(getBuiltinTree("default"));
    for (const name of ["../../file_trees/simple", "", "/etc/passwd", "unknown", "__proto__", "constructor"]) {
      expect(getBuiltinTree(name)).toBeNull();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// §3 rules
// ---------------------------------------------------------------------------------------------

describe("spec §3 rules", () => {
  test("§3.1 slugify examples", () => {
    const cases: Array<[string, string]> = [
      ["Cosmos Landromat", "cosmos_landromat"],
      ["3ds Max", "3ds_max"],
      ["3dsMax", "3dsmax"],
      ["Tree_0001", "tree_0001"],
      ["variant-1", "variant_1"],
      ["L'ami du_chat", "l_ami_du_chat"],
      ["  --Hello__World-- ", "hello_world"],
      ["Café été", "cafe_ete"],
      ["a.b/c", "a_b_c"],
      ["cosmos_landromat_props_tree_shaders__v003", "cosmos_landromat_props_tree_shaders_v003"],
      ["Straße", "strasse"],
      ["1,000 shots", "1000_shots"],
      ["Tom &amp; Jerry", "tom_jerry"],
      ["&#65;&#x42;", "ab"],
    ];
    for (const [input, expected] of cases) expect(slugify(input)).toBe(expected);
  });

  test("§3.3 every occurrence of a token is replaced", () => {
    expect(substituteTemplate("<Asset>-<Asset>/<Asset.id>", { project, entity: tree })).toBe(`tree-tree/${tree.id}`);
  });

  test("§3.4 mountpoint and root keep their own / with another sep", () => {
    const input: FileTreeInput = { project, entity: tree, task_type: shaders, output_type: cache };
    expect(buildFolderPath(simple, input, { mode: "output", sep: "\\" })).toBe(
      "/simple\\productions/export\\cosmos_landromat\\assets\\props\\tree\\shaders\\cache",
    );
  });

  test("§3.5 uppercase file name keeps UUIDs verbatim", () => {
    expect(renderFileName("<Asset>_<Asset.id>_v<Version>", { project, entity: tree, revision: 2 }, "uppercase")).toBe(
      `TREE_${tree.id}_V002`,
    );
  });

  test("§2 task, department and short_name fields", () => {
    const input: FileTreeInput = { project, entity: shot, task: shotTask };
    expect(substituteTemplate("<Task>/<Department>/<TaskType.short_name>", input)).toBe("master/animation/anim");
    expect(substituteTemplate("<Department>", { project, entity: shot })).toBe("");
    expect(substituteTemplate("<Software>/<Software.short_name>", input)).toBe("3dsmax/max");
    expect(substituteTemplate("<Name>-<OutputFile>-<WorkingFile>", { ...input, name: "Main Take" })).toBe(
      "main_take-main_take-main_take",
    );
  });

  test("§4 revision padding", () => {
    expect(formatRevision(7)).toBe("007");
    expect(formatRevision(66)).toBe("066");
    expect(formatRevision(1234)).toBe("1234");
    expect(formatRevision(0)).toBe("000");
  });
});
