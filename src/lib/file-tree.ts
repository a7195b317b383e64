/**
 * File tree engine (spec: shared/spec/file-tree.md).
 *
 * A file tree is a JSON document stored on a project (`project.file_tree`). Its top-level keys are
 * modes (`working`, `output`, `preview`, or any other name). Each mode has a `mountpoint`, a `root`
 * and two template sets, `folder_path` and `file_name`, holding one template per entity kind
 * (`shot`, `asset`, `sequence`, `scene`, `episode`, `instance`, `instance_asset`) and an optional
 * `style` (`lowercase`, `uppercase`, anything else = no case change).
 *
 * Templates are literal text with tokens `<Name>` or `<Name.field>`. This module resolves the tokens
 * from plain objects (rows loaded by the routes) and never touches the database: the routes load the
 * project, entity, task, task type, software, output type and asset instance, compute the revision
 * (see `nextRevision`) and call `buildFolderPath` / `buildFileName` / `buildFilePath`.
 *
 * Every template problem (no tree, unknown mode, missing template, unknown token, missing field)
 * is thrown as a `FileTreeError`, which a route answers with 400 (`error.toBody(requestJson)`).
 */
import defaultTreeJson from "./file-trees/default.json";
import simpleTreeJson from "./file-trees/simple.json";

// ---------------------------------------------------------------------------------------------
// Tree format
// ---------------------------------------------------------------------------------------------

/** Entity kinds a template set can have a template for. */
export type TemplateKind = "shot" | "asset" | "sequence" | "scene" | "episode" | "instance" | "instance_asset";

/** `folder_path` or `file_name` of a mode: kind → template, plus the optional `style`. */
export interface TemplateSet {
  shot?: string;
  asset?: string;
  sequence?: string;
  scene?: string;
  episode?: string;
  instance?: string;
  instance_asset?: string;
  /** `lowercase`, `uppercase`; anything else (or absent) leaves the case as slugification made it. */
  style?: string;
  [key: string]: string | undefined;
}

/** One mode of a tree. `root` may be `""`; neither `mountpoint` nor `root` is ever styled or converted. */
export interface FileTreeMode {
  mountpoint: string;
  root: string;
  folder_path: TemplateSet;
  file_name: TemplateSet;
}

/** A whole tree: mode name → mode. */
export type FileTree = Record<string, FileTreeMode>;

// The built-in trees, embedded at build time.
const BUILTIN_TREES: Readonly<Record<string, FileTree>> = {
  default: defaultTreeJson,
  simple: simpleTreeJson,
};

/** Names of the shipped trees (`POST /actions/projects/{id}/set-file-tree`). */
export const BUILTIN_TREE_NAMES: readonly string[] = Object.keys(BUILTIN_TREES);

/**
 * A fresh copy of a shipped tree, or `null` when `name` is not a shipped tree name
 * (Zou's rule: the name must fully match `[A-Za-z0-9_-]+` and name a shipped tree;
 * otherwise the route answers 400 "Selected tree is not available").
 */
export function getBuiltinTree(name: string): FileTree | null {
  if (!/^[A-Za-z0-9_-]+$/.test(name) || !Object.hasOwn(BUILTIN_TREES, name)) return null;
  return structuredClone(BUILTIN_TREES[name]);
}

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

/**
 * Any row a token can read. `<X>` reads `name`; `<X.short_name>`, `<X.number>`, `<X.id>` read those
 * columns. Extra columns are allowed (pass database rows as they are).
 */
export interface FileTreeRecord {
  id?: string;
  name?: string | null;
  short_name?: string | null;
  number?: number | string | null;
}

/** An entity (shot, sequence, scene, episode, asset, edit, concept…). */
export interface FileTreeEntity extends FileTreeRecord {
  /**
   * Its entity type row. The name selects the template kind: `Shot`, `Sequence`, `Scene`, `Episode`;
   * any other type (asset types such as `Props`, `Edit`, `Concept`…) uses the `asset` template.
   */
  entity_type: FileTreeRecord & { name: string };
  /** Shot or scene: its sequence; sequence: its episode (so a shot reaches its episode as `parent.parent`). */
  parent?: FileTreeEntity | null;
}

/** A task type; `department` feeds `<Department>`. */
export interface FileTreeTaskType extends FileTreeRecord {
  department?: FileTreeRecord | null;
}

/** A task; its `task_type` is used by `<TaskType>`/`<Department>` when no task type is given directly. */
export interface FileTreeTask extends FileTreeRecord {
  task_type?: FileTreeTaskType | null;
}

/** An asset instance. `target_asset_id` set = placed inside an asset (`instance_asset` template). */
export interface FileTreeAssetInstance extends FileTreeRecord {
  number: number;
  name?: string | null;
  target_asset_id?: string | null;
}

/** Everything a template can read. */
export interface FileTreeInput {
  /** Project of `entity` (for an instance: of the temporal entity). Feeds `<Project>`. */
  project: FileTreeRecord;
  /**
   * The task's entity (working files), the entity an output belongs to, or, with `asset_instance`,
   * the temporal entity the instance sits in (shot, scene, or the asset it is placed in).
   */
  entity: FileTreeEntity;
  /** Working/preview mode only: feeds `<Task>` (and `<TaskType>`/`<Department>` as a fallback). */
  task?: FileTreeTask | null;
  /** Feeds `<TaskType>` / `<Department>`; absent → the task's task type; neither → `""`. */
  task_type?: FileTreeTaskType | null;
  /** Feeds `<Software>`; absent → `DEFAULT_SOFTWARE` (`3dsmax`). */
  software?: FileTreeRecord | null;
  /** Feeds `<OutputType>` (lower-cased); absent → `DEFAULT_OUTPUT_TYPE` (`Geometry`). */
  output_type?: FileTreeRecord | null;
  /** Set for instance outputs: selects `instance`/`instance_asset`, feeds `<Instance>`. */
  asset_instance?: FileTreeAssetInstance | null;
  /** The instance's asset: feeds `<Asset>`/`<AssetType>` instead of `entity`. */
  asset?: FileTreeEntity | null;
  /** `<Name>`, `<OutputFile>`, `<WorkingFile>`. Default `""` (the routes default to `main`). */
  name?: string;
  /** `<Representation>`. Default `""`. */
  representation?: string;
  /** `<Version>`, `<Revision>` (padded to 3 digits). Default 1. */
  revision?: number;
}

/** Used for `<Software>` when no software is given (Zou get-or-creates this row). */
export const DEFAULT_SOFTWARE: FileTreeRecord = { name: "3dsmax", short_name: "max" };
/** Used for `<OutputType>` when no output type is given (Zou get-or-creates this row). */
export const DEFAULT_OUTPUT_TYPE: FileTreeRecord = { name: "Geometry" };

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/**
 * A tree that cannot render (Zou's MalformedFileTreeException). Routes answer 400 with
 * `toBody(requestJson)` = `{"message": <text>, "received_data": <request JSON>}` on the
 * `*-file-path` routes, or `{"error": <text>}` where the spec says so.
 */
export class FileTreeError extends Error {
  readonly status = 400;
  constructor(message: string) {
    super(message);
    this.name = "FileTreeError";
  }
  toBody(receivedData: unknown): { message: string; received_data: unknown } {
    return { message: this.message, received_data: receivedData };
  }
}

/**
 * The project's tree, or `FileTreeError("No tree can be found for given project.")` when the
 * project has none (`file_tree` null, or not an object).
 */
export function getProjectTree(project: { file_tree?: unknown }): FileTree {
  const tree = project.file_tree;
  if (!isRecord(tree)) throw new FileTreeError("No tree can be found for given project.");
  return tree as FileTree;
}

// ---------------------------------------------------------------------------------------------
// Small helpers: slugify, style, revision padding
// ---------------------------------------------------------------------------------------------

// Transliterations of characters NFKD does not decompose (approximation of unidecode: unknown
// characters become a word break).
const TRANSLITERATIONS: Readonly<Record<string, string>> = {
  ß: "ss", æ: "ae", Æ: "AE", œ: "oe", Œ: "OE", ø: "o", Ø: "O", đ: "d", Đ: "D", ð: "d", Ð: "D",
  þ: "th", Þ: "Th", ł: "l", Ł: "L", ı: "i", ŋ: "ng", Ŋ: "NG", ħ: "h", Ħ: "H",
  "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "“": '"', "”": '"', "„": '"', "″": '"',
  "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "…": "...", "×": "x",
  "«": "<<", "»": ">>", "€": "EUR", "£": "PS", "©": "(c)", "®": "(r)", "°": "deg",
};
const HTML_ENTITIES: Readonly<Record<string, number>> = { amp: 38, lt: 60, gt: 62, quot: 34, nbsp: 160 };

function codePointOr(code: number, fallback: string): string {
  return Number.isInteger(code) && code >= 0 && code <= 0x10ffff ? String.fromCodePoint(code) : fallback;
}

/**
 * python-slugify semantics with separator `_` (see spec §3.1): `'` breaks words, accents are
 * dropped, HTML entities decoded, everything lower-cased, `1,000` → `1000`, every run of
 * characters outside `[a-z0-9-]` becomes one separator, leading/trailing separators dropped,
 * `-` becomes `_`.
 */
export function slugify(input: string): string {
  let text = input.replace(/'+/g, "-");
  text = text
    .normalize("NFKD")
    .replace(/\p{M}+/gu, "")
    .replace(/[^\x00-\x7f]/gu, (c) => TRANSLITERATIONS[c] ?? " ");
  text = text
    .replace(/&([A-Za-z]+);/g, (m, name: string) =>
      Object.hasOwn(HTML_ENTITIES, name) ? String.fromCodePoint(HTML_ENTITIES[name]) : m,
    )
    .replace(/&#(\d+);/g, (m, digits: string) => codePointOr(Number.parseInt(digits, 10), m))
    .replace(/&#x([\da-fA-F]+);/g, (m, hex: string) => codePointOr(Number.parseInt(hex, 16), m));
  text = text.normalize("NFKD").toLowerCase();
  text = text.replace(/'+/g, "").replace(/(?<=\d),(?=\d)/g, "");
  text = text
    .replace(/[^-a-z0-9]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^-+|-+$/g, "");
  return text.replace(/-/g, "_");
}

/** `uppercase` → upper case, `lowercase` → lower case, anything else → unchanged. */
export function applyStyle(text: string, style: string | undefined): string {
  if (style === "uppercase") return text.toUpperCase();
  if (style === "lowercase") return text.toLowerCase();
  return text;
}

/** Python's `str.zfill`: left-pad with `0` to `width`, keeping a leading sign first. */
function zfill(text: string, width: number): string {
  if (text.length >= width) return text;
  const sign = text.startsWith("-") || text.startsWith("+") ? text[0] : "";
  return sign + "0".repeat(width - text.length) + text.slice(sign.length);
}

/** Revision as rendered by `<Version>`/`<Revision>`: at least 3 digits (`7` → `007`, `1234` → `1234`). */
export function formatRevision(revision: number): string {
  return zfill(String(revision), 3);
}

/**
 * Next revision from the revisions already stored under the same key (working files: task + name;
 * outputs: entity or instance+temporal entity, output type, task type, name): highest positive
 * revision + 1, or 1 when there is none.
 */
export function nextRevision(existing: Iterable<number | null | undefined>): number {
  let highest = 0;
  for (const revision of existing) {
    if (typeof revision === "number" && revision > highest) highest = revision;
  }
  return highest + 1;
}

/** Joins a folder and a file name with `sep`, without a separator when either side is empty. */
export function joinPath(folder: string, fileName: string, sep = "/"): string {
  if (folder === "") return fileName;
  if (fileName === "" || folder.endsWith(sep)) return folder + fileName;
  return folder + sep + fileName;
}

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

/** The only fields a token may read; any other field text means `name`. */
export type TokenField = "name" | "short_name" | "number" | "id";
const TOKEN_FIELDS: readonly string[] = ["name", "short_name", "number", "id"];

/** `<` + a run of word characters and dots + `>`. */
const TOKEN_PATTERN = /<([\p{L}\p{N}_.]+)>/gu;

/** Splits `Name.field` (brackets optional) into the token name and a sanitised field. */
export function parseToken(token: string): { name: string; field: TokenField } {
  const text = token.replace(/^<|>$/g, "");
  const dot = text.indexOf(".");
  const name = dot < 0 ? text : text.slice(0, dot);
  const field = dot < 0 ? "name" : text.slice(dot + 1);
  return { name, field: TOKEN_FIELDS.includes(field) ? (field as TokenField) : "name" };
}

type EntityKind = "shot" | "sequence" | "scene" | "episode" | "asset";

function entityKind(entity: FileTreeEntity): EntityKind {
  switch (entity.entity_type.name) {
    case "Shot":
      return "shot";
    case "Sequence":
      return "sequence";
    case "Scene":
      return "scene";
    case "Episode":
      return "episode";
    default:
      return "asset";
  }
}

/** The template kind used for `input`: instance kinds when an asset instance is given, else by entity type. */
export function getTemplateKind(input: Pick<FileTreeInput, "entity" | "asset_instance">): TemplateKind {
  if (input.asset_instance) return input.asset_instance.target_asset_id != null ? "instance_asset" : "instance";
  return entityKind(input.entity);
}

function sequenceOf(entity: FileTreeEntity): FileTreeEntity | null {
  const kind = entityKind(entity);
  if (kind === "shot" || kind === "scene") return entity.parent ?? null;
  return kind === "sequence" ? entity : null;
}

function episodeOf(entity: FileTreeEntity): FileTreeEntity | null {
  const kind = entityKind(entity);
  if (kind === "episode") return entity;
  if (kind === "sequence") return entity.parent ?? null;
  if (kind === "shot" || kind === "scene") return entity.parent?.parent ?? null;
  return null;
}

/** `record[field]` as text; a missing record or field is a template error. */
function read(record: FileTreeRecord | null | undefined, field: TokenField, token: string): string {
  if (!record) throw new FileTreeError(`No data given for data type: ${token}.`);
  const value = record[field];
  if (value === null || value === undefined) {
    throw new FileTreeError(`Field ${field} is not available for data type: ${token}.`);
  }
  return String(value);
}

/** Like `read`, but `""` when there is no record. */
function readOrEmpty(record: FileTreeRecord | null | undefined, field: TokenField, token: string): string {
  return record ? read(record, field, token) : "";
}

function taskTypeOf(input: FileTreeInput): FileTreeTaskType | null {
  return input.task_type ?? input.task?.task_type ?? null;
}

/** `Seq2` → `S002`: a value containing `Seq` becomes `S` + (value from its 4th character, padded to 3). */
function shortenSequence(value: string): string {
  return value.includes("Seq") ? "S" + zfill(value.slice(3), 3) : value;
}

type Resolver = (input: FileTreeInput, field: TokenField, token: string) => string;

/** Raw value of every known token (before slugify/style). */
const RESOLVERS: ReadonlyMap<string, Resolver> = new Map<string, Resolver>([
  ["Project", (i, f, t) => read(i.project, f, t)],
  ["Task", (i, f, t) => read(i.task, f, t)],
  ["TaskType", (i, f, t) => readOrEmpty(taskTypeOf(i), f, t)],
  ["Department", (i, f, t) => readOrEmpty(taskTypeOf(i)?.department, f, t)],
  ["Shot", (i, f, t) => read(i.entity, f, t)],
  ["Scene", (i, f, t) => readOrEmpty(i.entity, f, t)],
  ["Sequence", (i, f, t) => shortenSequence(readOrEmpty(sequenceOf(i.entity), f, t))],
  ["Episode", (i, f, t) => {
    const episode = episodeOf(i.entity);
    return episode ? read(episode, f, t) : "e001";
  }],
  ["Asset", (i, f, t) => readOrEmpty(i.asset ?? i.entity, f, t)],
  ["AssetType", (i, f, t) => read((i.asset ?? i.entity).entity_type, f, t)],
  ["TemporalEntity", (i, f, t) => read(i.entity, f, t)],
  ["TemporalEntityType", (i, f, t) => read(i.entity.entity_type, f, t).toLowerCase()],
  ["Software", (i, f, t) => read(i.software ?? DEFAULT_SOFTWARE, f, t)],
  ["OutputType", (i, f, t) => read(i.output_type ?? DEFAULT_OUTPUT_TYPE, f, t).toLowerCase()],
  ["Instance", (i, f) => {
    const instance = i.asset_instance;
    if (!instance) return "";
    const padded = zfill(String(instance.number), 4);
    return f === "name" ? (instance.name ?? padded) : padded;
  }],
  ["Representation", (i) => i.representation ?? ""],
  ["Name", (i) => i.name ?? ""],
  ["OutputFile", (i) => i.name ?? ""],
  ["WorkingFile", (i) => i.name ?? ""],
  ["Version", (i) => formatRevision(i.revision ?? 1)],
  ["Revision", (i) => formatRevision(i.revision ?? 1)],
]);

/** Names of the tokens templates may use. */
export const TOKEN_NAMES: readonly string[] = [...RESOLVERS.keys()];

/**
 * Raw value of one token (`"Episode"`, `"<Instance.number>"`…) before slugify and style.
 * Unknown token → `FileTreeError("Unknown data type: <Name>.")`.
 */
export function resolveToken(token: string, input: FileTreeInput): string {
  const { name, field } = parseToken(token);
  const resolver = RESOLVERS.get(name);
  if (!resolver) throw new FileTreeError(`Unknown data type: ${name}.`);
  return resolver(input, field, name);
}

/**
 * Replaces every token of `template`: each value is slugified then styled with `style`, except
 * `.id` values which are inserted verbatim. Literal text is left as it is.
 */
export function substituteTemplate(template: string, input: FileTreeInput, style = ""): string {
  return template.replace(TOKEN_PATTERN, (_match, token: string) => {
    const value = resolveToken(token, input);
    return parseToken(token).field === "id" ? value : applyStyle(slugify(value), style);
  });
}

// ---------------------------------------------------------------------------------------------
// Tree lookups
// ---------------------------------------------------------------------------------------------

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function getMode(tree: FileTree | null | undefined, mode: string): Record<string, unknown> {
  if (!isRecord(tree)) throw new FileTreeError("No tree can be found for given project.");
  const config: unknown = Object.hasOwn(tree, mode) ? tree[mode] : undefined;
  if (!isRecord(config)) throw new FileTreeError(`Mode ${mode} cannot be found on given tree.`);
  return config;
}

/** The template of `kind` in `tree[mode][part]` and the set's style; missing → `FileTreeError("")`. */
function getTemplate(
  tree: FileTree | null | undefined,
  mode: string,
  part: "folder_path" | "file_name",
  kind: TemplateKind,
): { template: string; style: string } {
  const set = getMode(tree, mode)[part];
  const template = isRecord(set) && Object.hasOwn(set, kind) ? set[kind] : undefined;
  if (!isRecord(set) || typeof template !== "string") throw new FileTreeError("");
  return { template, style: typeof set.style === "string" ? set.style : "" };
}

/**
 * `mountpoint + sep + root + sep` (or `mountpoint + sep` when root is `""`). Missing mode →
 * "Mode <m> cannot be found on given tree."; missing mountpoint/root → "Can't find given mode (<m>) in given tree.".
 */
export function getRootPath(tree: FileTree | null | undefined, mode: string, sep = "/"): string {
  const config = getMode(tree, mode);
  const { mountpoint, root } = config;
  if (typeof mountpoint !== "string" || typeof root !== "string") {
    throw new FileTreeError(`Can't find given mode (${mode}) in given tree.`);
  }
  return root === "" ? mountpoint + sep : mountpoint + sep + root + sep;
}

// ---------------------------------------------------------------------------------------------
// Building paths
// ---------------------------------------------------------------------------------------------

/** Options of the builders. */
export interface BuildOptions {
  /** Tree mode: `working`, `output`, `preview`, or any mode of the tree. */
  mode: string;
  /** Folder separator (template `/` become `sep`; the mountpoint and root keep their own `/`). Default `/`. */
  sep?: string;
  /** Output variants: more than 1 appends `_[1-N]` to the file name. Default 1. */
  nb_elements?: number;
}

/** Folder path: root path + the kind's `folder_path` template rendered with the set's style. */
export function buildFolderPath(tree: FileTree | null | undefined, input: FileTreeInput, options: BuildOptions): string {
  const sep = options.sep ?? "/";
  const { template, style } = getTemplate(tree, options.mode, "folder_path", getTemplateKind(input));
  const rootPath = getRootPath(tree, options.mode, sep);
  const folderPart = substituteTemplate(template, input, style).split("/").join(sep);
  return rootPath + folderPart;
}

const UUID_V4_PATTERN = /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/g;

/**
 * File name from an explicit template (used by `buildFileName`): tokens slugified and lower-cased,
 * then the whole name slugified and styled with `style` (this collapses empty tokens and turns
 * literal `.`/`-` into `_`), UUIDs kept verbatim, and `_[1-N]` appended when `nbElements > 1`.
 */
export function renderFileName(template: string, input: FileTreeInput, style = "", nbElements = 1): string {
  const substituted = substituteTemplate(template, input, "lowercase");
  const uuids = new Set(substituted.match(UUID_V4_PATTERN) ?? []);
  let name = applyStyle(slugify(substituted), style);
  for (const uuid of uuids) name = name.split(applyStyle(slugify(uuid), style)).join(uuid);
  return nbElements > 1 ? `${name}_[1-${nbElements}]` : name;
}

/** File name (no extension) from the kind's `file_name` template of `options.mode`. */
export function buildFileName(tree: FileTree | null | undefined, input: FileTreeInput, options: BuildOptions): string {
  const { template, style } = getTemplate(tree, options.mode, "file_name", getTemplateKind(input));
  return renderFileName(template, input, style, options.nb_elements ?? 1);
}

/** Folder path, file name and `path = folder_path + sep + file_name`. */
export function buildFilePath(
  tree: FileTree | null | undefined,
  input: FileTreeInput,
  options: BuildOptions,
): { folder_path: string; file_name: string; path: string } {
  const folderPath = buildFolderPath(tree, input, options);
  const fileName = buildFileName(tree, input, options);
  return { folder_path: folderPath, file_name: fileName, path: joinPath(folderPath, fileName, options.sep ?? "/") };
}

// ---------------------------------------------------------------------------------------------
// Guessing entities from a path (pure part of `POST /data/entities/guess-from-path`)
// ---------------------------------------------------------------------------------------------

/** A token read from a path element. `value` has `_` replaced by spaces. */
export interface PathToken {
  name: string;
  field: TokenField;
  value: string;
}

/** One folder template of one mode that fits a path, with the token values it reads (template order). */
export interface PathMatch {
  mode: string;
  /** The `folder_path` key (`shot`, `asset`…), answered as `Template`. */
  template: string;
  tokens: PathToken[];
}

/**
 * Matches `filePath` against every folder template of every mode (tree order). For each mode whose
 * styled root path starts the styled path, each template is walked element by element against the
 * rest of the path (up to the shorter length): literal elements must be equal; an element with a
 * token reads the path element minus the literal text around the token; the first occurrence of a
 * token wins. Templates reading no token are left out. The route then resolves the values against
 * the database (left to right, stopping at the first that resolves to nothing).
 */
export function matchPathTemplates(tree: FileTree | null | undefined, filePath: string, sep = "/"): PathMatch[] {
  if (!isRecord(tree)) throw new FileTreeError("No tree can be found for given project.");
  const matches: PathMatch[] = [];
  for (const mode of Object.keys(tree)) {
    const folderTemplates = getMode(tree, mode).folder_path;
    if (!isRecord(folderTemplates)) continue;
    const style = typeof folderTemplates.style === "string" ? folderTemplates.style : "";
    const root = applyStyle(getRootPath(tree, mode, sep), style);
    const path = applyStyle(filePath, style);
    if (!path.startsWith(root)) continue;
    const pathElements = path.slice(root.length).split(sep);
    for (const [kind, template] of Object.entries(folderTemplates)) {
      if (typeof template !== "string") continue;
      const tokens = readTemplateTokens(template.split("/"), pathElements);
      if (tokens && tokens.length > 0) matches.push({ mode, template: kind, tokens });
    }
  }
  return matches;
}

function readTemplateTokens(templateElements: string[], pathElements: string[]): PathToken[] | null {
  const tokens: PathToken[] = [];
  const length = Math.min(templateElements.length, pathElements.length);
  for (let index = 0; index < length; index++) {
    const element = templateElements[index];
    const actual = pathElements[index];
    const match = new RegExp(TOKEN_PATTERN.source, "u").exec(element);
    if (!match) {
      if (element !== actual) return null;
      continue;
    }
    const { name, field } = parseToken(match[1]);
    if (tokens.some((token) => token.name === name)) continue;
    const prefixLength = match.index;
    const suffixLength = element.length - prefixLength - match[0].length;
    const value = actual.slice(prefixLength, Math.max(prefixLength, actual.length - suffixLength));
    tokens.push({ name, field, value: value.replace(/_/g, " ") });
  }
  return tokens;
}
