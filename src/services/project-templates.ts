/**
 * The workflow links of project templates (task types with priority, task statuses with board
 * roles, asset types, status automations, preview backgrounds), as Zou's
 * project_templates_service lists, adds and removes them.
 */
import type { AppContext } from "../context";
import { serialize } from "../db/serialize";
import { TABLES } from "../db/tables.generated";
import { ApiError } from "../lib/errors";
import { isUuid, newId, normalizeId, utcNow } from "../lib/ids";
import { descriptorsOf } from "./metadata-descriptors";
import { applyTemplate, presentProjectDetail } from "./projects";
import { type Dict, type Row, emit, slugify } from "./project-base";

/** Zou's answers on these routes: `{message}` without `error`. */
const templateNotFound = () => new ApiError(404, { message: "Project template not found" });
const wrongParameter = (message: string) => new ApiError(400, { message });

export type TemplateLinkKind = "task-types" | "task-statuses" | "asset-types" | "status-automations" | "preview-background-files";

interface LinkDef {
  table: "project_template_task_type_link" | "project_template_task_status_link" | "project_template_asset_type_link"
    | "project_template_status_automation_link" | "project_template_preview_background_file_link";
  column: string;
  target: "task_type" | "task_status" | "entity_type" | "status_automation" | "preview_background_file";
  label: string;
}

export const TEMPLATE_LINKS: Record<TemplateLinkKind, LinkDef> = {
  "task-types": { table: "project_template_task_type_link", column: "task_type_id", target: "task_type", label: "Task type" },
  "task-statuses": { table: "project_template_task_status_link", column: "task_status_id", target: "task_status", label: "Task status" },
  "asset-types": { table: "project_template_asset_type_link", column: "asset_type_id", target: "entity_type", label: "Asset type" },
  "status-automations": { table: "project_template_status_automation_link", column: "status_automation_id", target: "status_automation", label: "Status automation" },
  "preview-background-files": { table: "project_template_preview_background_file_link", column: "preview_background_file_id", target: "preview_background_file", label: "Preview background file" },
};

const DEFAULT_BOARD_ROLES = (TABLES.project_template_task_status_link.columns.roles_for_board?.default as string[] | undefined) ?? [];

/** The template row of a path id; 404 (Zou's message) for a malformed or unknown id. */
export async function loadTemplate(c: AppContext, rawId: string | undefined): Promise<Row> {
  if (!isUuid(rawId)) throw templateNotFound();
  const row = await c.get("db").selectFrom("project_template").selectAll().where("id", "=", normalizeId(rawId)).executeTakeFirst();
  if (!row) throw templateNotFound();
  return row as Row;
}

async function emitTemplateUpdate(c: AppContext, templateId: string): Promise<void> {
  await emit(c, "project-template:update", { project_template_id: templateId }, null);
}

function byPriorityThenName(a: Dict, b: Dict): number {
  const pa = Number(a.priority ?? 0);
  const pb = Number(b.priority ?? 0);
  return pa !== pb ? pa - pb : String(a.name ?? "").localeCompare(String(b.name ?? ""));
}

/** The linked rows of one kind, in Zou's forms. */
export async function listTemplateLinks(c: AppContext, templateId: string, kind: TemplateLinkKind): Promise<Dict[]> {
  const db = c.get("db");
  const def = TEMPLATE_LINKS[kind];
  const links = (await db.selectFrom(def.table).selectAll().where("project_template_id", "=", templateId).execute()) as Row[];
  if (links.length === 0) return [];
  const linkByTarget = new Map(links.map((l) => [l[def.column] as string, l]));
  const targets = (await db.selectFrom(def.target).selectAll().where("id", "in", [...linkByTarget.keys()]).execute()) as Row[];
  if (kind === "task-types" || kind === "task-statuses") {
    return targets
      .map((row) => {
        const link = serialize(def.table, linkByTarget.get(row.id)!);
        const dict: Dict = { ...serialize(def.target, row), priority: link.priority ?? null };
        if (kind === "task-statuses") dict.roles_for_board = link.roles_for_board ?? [];
        return dict;
      })
      .sort(byPriorityThenName);
  }
  if (kind === "asset-types") return targets.map((row) => ({ id: row.id, name: row.name }));
  if (kind === "preview-background-files") return targets.map((row) => ({ id: row.id, name: row.name, is_default: Boolean(row.is_default) }));
  return targets.map((row) => serialize(def.target, row));
}

/**
 * Links a row to the template (kept once; a priority or board roles update an existing link).
 * Answers the link row for task types and statuses, the target's short form for the others.
 */
export async function addTemplateLink(c: AppContext, templateId: string, kind: TemplateLinkKind, body: Record<string, unknown>): Promise<Dict> {
  const db = c.get("db");
  const def = TEMPLATE_LINKS[kind];
  const rawId = body[def.column];
  if (typeof rawId !== "string" || !isUuid(rawId)) throw wrongParameter(`${def.column} is required and must be a valid UUID`);
  const targetId = normalizeId(rawId);
  const target = (await db.selectFrom(def.target).selectAll().where("id", "=", targetId).executeTakeFirst()) as Row | undefined;
  if (!target) throw wrongParameter(`${def.label} ${targetId} does not exist`);
  let priority: number | null | undefined;
  if (kind === "task-types" || kind === "task-statuses") {
    const raw = body.priority;
    if (raw !== undefined && raw !== null) {
      priority = Number(raw);
      if (!Number.isInteger(priority)) throw wrongParameter("priority must be an integer");
    }
  }
  let roles: string[] | undefined;
  if (kind === "task-statuses" && body.roles_for_board !== undefined && body.roles_for_board !== null) {
    if (!Array.isArray(body.roles_for_board) || body.roles_for_board.some((r) => typeof r !== "string")) throw wrongParameter("roles_for_board must be a list of roles");
    if (body.roles_for_board.length > 0) roles = body.roles_for_board as string[];
  }
  const existing = (await db.selectFrom(def.table).selectAll().where("project_template_id", "=", templateId).where(def.column as any, "=", targetId).executeTakeFirst()) as Row | undefined;
  let link: Row | undefined = existing;
  if (!existing) {
    const values: Row = { project_template_id: templateId, [def.column]: targetId };
    if (TABLES[def.table].columns.id) Object.assign(values, { id: newId(), created_at: utcNow(), updated_at: utcNow() });
    if (kind === "task-types") values.priority = priority ?? null;
    if (kind === "task-statuses") Object.assign(values, { priority: priority ?? null, roles_for_board: JSON.stringify(roles ?? DEFAULT_BOARD_ROLES) });
    await db.insertInto(def.table).values(values as any).execute();
    link = values;
  } else if (kind === "task-types" || kind === "task-statuses") {
    const changes: Row = {};
    if (priority !== undefined) changes.priority = priority;
    if (roles !== undefined) changes.roles_for_board = JSON.stringify(roles);
    if (Object.keys(changes).length > 0) {
      changes.updated_at = utcNow();
      await db.updateTable(def.table).set(changes as any).where("id" as any, "=", existing.id).execute();
      link = { ...existing, ...changes };
    }
  }
  await emitTemplateUpdate(c, templateId);
  if (kind === "task-types" || kind === "task-statuses") return serialize(def.table, link!);
  if (kind === "asset-types") return { id: target.id, name: target.name };
  if (kind === "preview-background-files") return { id: target.id, name: target.name, is_default: Boolean(target.is_default) };
  return serialize(def.target, target);
}

/** Unlinks a row (nothing to do when it is not linked); a removed default background is cleared. */
export async function removeTemplateLink(c: AppContext, template: Row, kind: TemplateLinkKind, rawTargetId: string | undefined): Promise<void> {
  const def = TEMPLATE_LINKS[kind];
  const db = c.get("db");
  if (isUuid(rawTargetId)) {
    const targetId = normalizeId(rawTargetId);
    await db.deleteFrom(def.table).where("project_template_id", "=", template.id).where(def.column as any, "=", targetId).execute();
    if (kind === "preview-background-files" && template.default_preview_background_file_id === targetId) {
      await db.updateTable("project_template").set({ default_preview_background_file_id: null, updated_at: utcNow() }).where("id", "=", template.id).execute();
    }
  }
  await emitTemplateUpdate(c, template.id);
}

/** Priorities 1..n from an ordered id list (ids not linked yet are linked); answers the links. */
export async function reorderTemplateLinks(c: AppContext, templateId: string, kind: "task-types" | "task-statuses", ids: unknown[]): Promise<Dict[]> {
  const column = TEMPLATE_LINKS[kind].column;
  const result: Dict[] = [];
  for (const [index, id] of ids.entries()) result.push(await addTemplateLink(c, templateId, kind, { [column]: id, priority: index + 1 }));
  return result;
}

/** Chooses the template's default preview background among its linked ones (null clears it). */
export async function setTemplateDefaultBackground(c: AppContext, template: Row, rawId: unknown): Promise<Dict> {
  const db = c.get("db");
  let backgroundId: string | null = null;
  if (rawId !== null && rawId !== undefined) {
    if (typeof rawId !== "string" || !isUuid(rawId)) throw wrongParameter("Preview background file is not linked to this template");
    backgroundId = normalizeId(rawId);
    const linked = await db
      .selectFrom("project_template_preview_background_file_link")
      .select("preview_background_file_id")
      .where("project_template_id", "=", template.id)
      .where("preview_background_file_id", "=", backgroundId)
      .executeTakeFirst();
    if (!linked) throw wrongParameter("Preview background file is not linked to this template");
  }
  await db.updateTable("project_template").set({ default_preview_background_file_id: backgroundId, updated_at: utcNow() }).where("id", "=", template.id).execute();
  await emitTemplateUpdate(c, template.id);
  return reloadTemplate(c, template.id);
}

/** A descriptor snapshot entry in the stable shape Zou stores on templates. */
function cleanDescriptor(entry: Record<string, unknown>): Dict {
  const name = typeof entry.name === "string" ? entry.name : "";
  const departments = Array.isArray(entry.departments) ? entry.departments.filter((d) => d !== null && d !== undefined).map(String) : [];
  return {
    name,
    field_name: typeof entry.field_name === "string" && entry.field_name ? entry.field_name : slugify(name),
    entity_type: entry.entity_type ?? null,
    data_type: entry.data_type ?? null,
    choices: Array.isArray(entry.choices) ? entry.choices : [],
    for_client: Boolean(entry.for_client ?? false),
    departments,
    position: entry.position ?? null,
  };
}

/** Replaces the template's metadata descriptor snapshot (a list of objects). */
export async function setTemplateDescriptors(c: AppContext, template: Row, descriptors: unknown): Promise<Dict> {
  const list = descriptors === null || descriptors === undefined ? [] : descriptors;
  if (!Array.isArray(list)) throw wrongParameter("metadata_descriptors must be a list");
  const cleaned = list.map((entry) => {
    if (!entry || typeof entry !== "object" || Array.isArray(entry)) throw wrongParameter("Each metadata descriptor must be an object");
    return cleanDescriptor(entry as Record<string, unknown>);
  });
  await c.get("db").updateTable("project_template").set({ metadata_descriptors: JSON.stringify(cleaned), updated_at: utcNow() }).where("id", "=", template.id).execute();
  await emitTemplateUpdate(c, template.id);
  return reloadTemplate(c, template.id);
}

async function reloadTemplate(c: AppContext, templateId: string): Promise<Dict> {
  const row = await c.get("db").selectFrom("project_template").selectAll().where("id", "=", templateId).executeTakeFirstOrThrow();
  return serialize("project_template", row as Row);
}

/** Production settings a template takes from a project (Zou PRODUCTION_SETTING_FIELDS). */
const SNAPSHOT_FIELDS = [
  "fps", "ratio", "resolution", "production_type", "production_style", "max_retakes", "is_clients_isolated",
  "is_preview_download_allowed", "is_set_preview_automated", "is_publish_default_for_artists", "homepage",
  "hd_bitrate_compression", "ld_bitrate_compression",
] as const;

/**
 * A new template holding a project's configuration: settings, file tree, data, descriptors
 * snapshot and every workflow link (priorities and board roles kept). 400 when the name is taken.
 */
export async function templateFromProject(c: AppContext, project: Row, name: string, description: string | null): Promise<Dict> {
  const db = c.get("db");
  const taken = await db.selectFrom("project_template").select("id").where("name", "=", name).executeTakeFirst();
  if (taken) throw wrongParameter("A project template with this name already exists");
  const descriptors = (await descriptorsOf(db, [project.id])).map((d) => {
    const dict = serialize("metadata_descriptor", d);
    return {
      name: dict.name, field_name: dict.field_name, entity_type: dict.entity_type, data_type: dict.data_type ?? null,
      choices: dict.choices ?? [], for_client: Boolean(dict.for_client), departments: d.departments, position: dict.position ?? null,
    };
  });
  const now = utcNow();
  const templateId = newId();
  const values: Row = {
    id: templateId, created_at: now, updated_at: now, name, description,
    file_tree: project.file_tree ?? null, data: project.data ?? null, metadata_descriptors: JSON.stringify(descriptors),
    default_preview_background_file_id: project.default_preview_background_file_id ?? null,
  };
  for (const field of SNAPSHOT_FIELDS) values[field] = project[field];
  await db.insertInto("project_template").values(values as any).execute();
  for (const link of await db.selectFrom("project_task_type_link").selectAll().where("project_id", "=", project.id).execute()) {
    await db.insertInto("project_template_task_type_link").values({ id: newId(), created_at: now, updated_at: now, project_template_id: templateId, task_type_id: link.task_type_id, priority: link.priority ?? null } as any).execute();
  }
  for (const link of (await db.selectFrom("project_task_status_link").selectAll().where("project_id", "=", project.id).execute()) as Row[]) {
    await db.insertInto("project_template_task_status_link").values({
      id: newId(), created_at: now, updated_at: now, project_template_id: templateId, task_status_id: link.task_status_id,
      priority: link.priority ?? null, roles_for_board: link.roles_for_board ?? JSON.stringify(DEFAULT_BOARD_ROLES),
    } as any).execute();
  }
  const plain: [string, TemplateLinkKind][] = [["asset_types", "asset-types"], ["status_automations", "status-automations"], ["preview_background_files", "preview-background-files"]];
  for (const [relationName, kind] of plain) {
    const relation = TABLES.project.relations[relationName]!;
    const rows = (await db.selectFrom(relation.via as any).select(`${relation.targetColumn} as target` as any).where(relation.sourceColumn as any, "=", project.id).execute()) as { target: string }[];
    const def = TEMPLATE_LINKS[kind];
    for (const row of rows) await db.insertInto(def.table).values({ project_template_id: templateId, [def.column]: row.target } as any).execute();
  }
  await emit(c, "project-template:new", { project_template_id: templateId }, null);
  return reloadTemplate(c, templateId);
}

/**
 * Applies a template to an existing project (Zou's additive strategy): links and descriptors the
 * project lacks are added, those it has are kept; the template's non-null settings are written,
 * and its default preview background only when the project has none. Answers the project.
 */
export async function applyTemplateToProject(c: AppContext, project: Row, template: Row): Promise<Dict> {
  const keep: Dict = {};
  // `applyTemplate` leaves alone the fields present in `keep`: the template's empty settings and
  // the project's chosen default background.
  for (const [key, value] of Object.entries(template)) if (value === null || value === undefined) keep[key] = project[key] ?? true;
  if (project.default_preview_background_file_id) keep.default_preview_background_file_id = project.default_preview_background_file_id;
  await applyTemplate(c, project.id, template.id, keep);
  const row = await c.get("db").selectFrom("project").selectAll().where("id", "=", project.id).executeTakeFirstOrThrow();
  return presentProjectDetail(c, row as Row);
}
