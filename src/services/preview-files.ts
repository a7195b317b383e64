/**
 * Preview file rows (previews.md §1-§2, §9): moving a preview inside its revision, annotations,
 * the task and entity bookkeeping once a preview is ready, and the "running" list. Comment slots
 * (add-preview) are in comments.ts; media work in preview-processing.ts; stored-file lookups in
 * preview-media.ts.
 */
import type { Selectable } from "kysely";
import type { AppContext } from "../context";
import type { Config } from "../config";
import type { Db } from "../db/database";
import type { PreviewFileTable } from "../db/tables.generated";
import { isTrue, parseJson, serialize } from "../db/serialize";
import { notFound } from "../lib/errors";
import { emitEvent, type EventBus } from "../lib/events";
import { newId, serviceId, utcNow } from "../lib/ids";
import { fullEntityNames } from "./entity-names";
import { transact } from "../db/transaction";

export type PreviewRow = Selectable<PreviewFileTable>;
type Dict = Record<string, unknown>;

/** What background jobs need instead of a request context. */
export interface PreviewDeps {
  db: Db;
  config: Config;
  events: EventBus;
  /** The person whose request started the work: Zou processes previews within the request, so its events carry them. */
  userId?: string | null;
}

export function depsOf(c: AppContext): PreviewDeps {
  return { db: c.get("db"), config: c.get("config"), events: c.get("events"), userId: c.get("user")?.id ?? null };
}

export async function emitPreviewEvent(deps: PreviewDeps, name: string, data: Dict, projectId: string | null, userId: string | null = deps.userId ?? null): Promise<void> {
  await emitEvent(deps.db, deps.events, name, data, { projectId, userId });
}

/** A preview file by the id of a route: 404 when malformed or missing. */
export async function getPreview(db: Db, rawId: string | undefined): Promise<PreviewRow> {
  const row = await db.selectFrom("preview_file").selectAll().where("id", "=", serviceId(rawId)).executeTakeFirst();
  if (!row) throw notFound();
  return row;
}

export function presentPreview(row: Dict): Dict {
  return serialize("preview_file", row);
}

/** The task of a preview (404 when the preview has none: nothing to check access on). */
export async function previewTask(db: Db, preview: Pick<PreviewRow, "task_id">) {
  const task = preview.task_id ? await db.selectFrom("task").selectAll().where("id", "=", preview.task_id).executeTakeFirst() : undefined;
  if (!task) throw notFound();
  return task;
}

// ---------------------------------------------------------------------------------------------
// Positions inside a revision (§2)

/**
 * Moves a preview inside its (task, revision) list and renumbers positions 1..n; a position outside
 * 1..n leaves the order as it is. Returns the revision's previews in order.
 */
export async function updatePosition(c: AppContext, preview: PreviewRow, position: number): Promise<Dict[]> {
  const db = c.get("db");
  const siblings = await db
    .selectFrom("preview_file")
    .selectAll()
    .where("task_id", "=", preview.task_id!)
    .where("revision", "=", preview.revision!)
    .orderBy("position")
    .orderBy("created_at")
    .execute();
  const moved = siblings.find((row) => row.id === preview.id)!;
  const order = siblings.filter((row) => row.id !== preview.id);
  if (position >= 1 && position <= siblings.length) order.splice(position - 1, 0, moved);
  else order.splice(siblings.indexOf(moved), 0, moved);
  const now = utcNow();
  const result: Dict[] = [];
  for (const [index, row] of order.entries()) {
    if (row.position !== index + 1) {
      await db.updateTable("preview_file").set({ position: index + 1, updated_at: now }).where("id", "=", row.id).execute();
    }
    result.push(presentPreview({ ...row, position: index + 1 }));
  }
  const task = await db.selectFrom("task").select(["id", "project_id", "last_preview_file_id"]).where("id", "=", preview.task_id!).executeTakeFirst();
  const first = order[0];
  if (task && first && task.last_preview_file_id && order.some((row) => row.id === task.last_preview_file_id)) {
    await db.updateTable("task").set({ last_preview_file_id: first.id }).where("id", "=", task.id).execute();
  }
  await emitEvent(db, c.get("events"), "preview-file:update", { preview_file_id: preview.id }, { projectId: task?.project_id ?? null, userId: c.get("user").id });
  return result;
}

// ---------------------------------------------------------------------------------------------
// Task bookkeeping once a preview is ready (§3.1 step 5)

/** Position 1 → the task's last preview; projects with automated previews → the entity's thumbnail. */
export async function updatePreviewFileInfo(deps: PreviewDeps, previewId: string): Promise<void> {
  const db = deps.db;
  const preview = await db.selectFrom("preview_file").select(["id", "position", "task_id"]).where("id", "=", previewId).executeTakeFirst();
  if (!preview?.task_id || preview.position !== 1) return;
  const task = await db.selectFrom("task").select(["id", "project_id", "entity_id"]).where("id", "=", preview.task_id).executeTakeFirst();
  if (!task) return;
  await db.updateTable("task").set({ last_preview_file_id: preview.id, updated_at: utcNow() }).where("id", "=", task.id).execute();
  await emitPreviewEvent(deps, "task:update", { task_id: task.id }, task.project_id);
  const project = task.project_id
    ? await db.selectFrom("project").select("is_set_preview_automated").where("id", "=", task.project_id).executeTakeFirst()
    : undefined;
  if (task.entity_id && isTrue(project?.is_set_preview_automated)) {
    await db.updateTable("entity").set({ preview_file_id: preview.id, updated_at: utcNow() }).where("id", "=", task.entity_id).execute();
    await emitPreviewEvent(deps, "preview-file:set-main", { entity_id: task.entity_id, preview_file_id: preview.id }, task.project_id);
  }
}

// ---------------------------------------------------------------------------------------------
// Annotations (§9)

type Annotation = { time?: unknown; drawing?: { objects?: Dict[] } & Dict } & Dict;

function objectsOf(annotation: Annotation): Dict[] {
  const objects = annotation.drawing?.objects;
  return Array.isArray(objects) ? objects.filter((o) => o && typeof o === "object") : [];
}

function setObjects(annotation: Annotation, objects: Dict[]): void {
  if (!annotation.drawing || typeof annotation.drawing !== "object" || Array.isArray(annotation.drawing)) annotation.drawing = {};
  annotation.drawing.objects = objects;
}

function ensureId(object: Dict): void {
  if (typeof object.id !== "string" || object.id.length === 0) object.id = newId();
}

const timeKey = (value: unknown) => JSON.stringify(value ?? null);

/**
 * Zou's merge: additions add new times or append objects whose id is new at a known time;
 * updates replace objects (by id) at known times; deletions drop objects by id; times left
 * without objects are dropped.
 */
export function mergeAnnotations(previous: unknown, additions: Annotation[], updates: Annotation[], deletions: { time?: unknown; objects?: unknown }[]): Annotation[] {
  const annotations: Annotation[] = (Array.isArray(previous) ? previous : []).filter((a) => a && typeof a === "object").map((a) => structuredClone(a));
  const byTime = () => new Map(annotations.map((a) => [timeKey(a.time), a]));
  let map = byTime();
  for (const addition of additions) {
    const added = structuredClone(addition);
    const existing = map.get(timeKey(added.time));
    const newObjects = objectsOf(added);
    newObjects.forEach(ensureId);
    if (!existing) {
      annotations.push(added);
      map.set(timeKey(added.time), added);
      continue;
    }
    const objects = objectsOf(existing);
    objects.forEach(ensureId);
    const known = new Set(objects.map((o) => o.id));
    setObjects(existing, [...objects, ...newObjects.filter((o) => !known.has(o.id))]);
  }
  map = byTime();
  for (const update of updates) {
    const annotation = map.get(timeKey(update.time));
    if (!annotation) continue;
    const previousObjects = objectsOf(annotation);
    const previousIds = new Set(previousObjects.filter((o) => "id" in o).map((o) => o.id));
    const updated = objectsOf(update).filter((o) => "id" in o);
    const updatedIds = new Set(updated.map((o) => o.id));
    setObjects(annotation, [...previousObjects.filter((o) => !updatedIds.has(o.id)), ...updated.filter((o) => previousIds.has(o.id)).map((o) => structuredClone(o))]);
  }
  for (const deletion of deletions) {
    const annotation = map.get(timeKey(deletion.time));
    if (!annotation) continue;
    const ids = new Set(Array.isArray(deletion.objects) ? deletion.objects : []);
    setObjects(annotation, objectsOf(annotation).filter((o) => !ids.has(o.id ?? "")));
  }
  return annotations.filter((a) => objectsOf(a).length > 0);
}

export async function updateAnnotations(
  c: AppContext,
  preview: PreviewRow,
  projectId: string | null,
  changes: { additions: Annotation[]; updates: Annotation[]; deletions: { time?: unknown; objects?: unknown }[] },
): Promise<Dict> {
  const db = c.get("db");
  const annotations = mergeAnnotations(parseJson(preview.annotations), changes.additions, changes.updates, changes.deletions);
  const now = utcNow();
  await db.updateTable("preview_file").set({ annotations: JSON.stringify(annotations), updated_at: now }).where("id", "=", preview.id).execute();
  await emitEvent(db, c.get("events"), "preview-file:annotation-update", { preview_file_id: preview.id, person_id: c.get("user").id, updated_at: now }, {
    projectId,
    userId: c.get("user").id,
  });
  return presentPreview(await db.selectFrom("preview_file").selectAll().where("id", "=", preview.id).executeTakeFirstOrThrow());
}

// ---------------------------------------------------------------------------------------------
// Running previews (§3.5)

/** Previews of open productions still processing, broken or missing, newest first. */
export async function runningPreviews(db: Db, cursorPreviewId: string | null, limit: number): Promise<Dict[]> {
  let query = db
    .selectFrom("preview_file")
    .innerJoin("task", "task.id", "preview_file.task_id")
    .innerJoin("project", "project.id", "task.project_id")
    .innerJoin("project_status", "project_status.id", "project.project_status_id")
    .selectAll("preview_file")
    .select(["task.project_id as t_project_id", "task.task_type_id as t_task_type_id", "task.entity_id as t_entity_id"])
    .where("preview_file.status", "in", ["broken", "missing", "processing"])
    .where("project_status.name", "in", ["Active", "open", "Open"]);
  if (cursorPreviewId) {
    const cursor = await db.selectFrom("preview_file").select("created_at").where("id", "=", cursorPreviewId).executeTakeFirst();
    if (cursor?.created_at) query = query.where("preview_file.created_at", "<", cursor.created_at);
  }
  const rows = await query.orderBy("preview_file.created_at", "desc").limit(limit).execute();
  const names = await fullEntityNames(db, rows.map((r) => r.t_entity_id!).filter(Boolean));
  return rows.map(({ t_project_id, t_task_type_id, t_entity_id, ...row }) => ({
    ...presentPreview(row),
    project_id: t_project_id,
    task_type_id: t_task_type_id,
    full_entity_name: t_entity_id ? names.get(t_entity_id)?.name ?? "" : "",
  }));
}

/** The shared entity whose main preview this is (thumbnails of shared entities are readable by any logged user). */
export async function sharedEntityOfPreview(db: Db, previewId: string): Promise<{ id: string; project_id: string } | undefined> {
  return db
    .selectFrom("entity")
    .select(["id", "project_id"])
    .where("preview_file_id", "=", previewId)
    .where("is_shared", "=", true as never)
    .executeTakeFirst();
}

/** Makes the preview the entity's main preview; emits `preview-file:set-main` and `<kind>:update`. The updated entity row. */
export async function setEntityMainPreview(c: AppContext, entity: { id: string; project_id: string }, previewId: string, eventKey: string): Promise<Dict> {
  return transact(c, async (trx) => {
    const row = await trx.updateTable("entity").set({ preview_file_id: previewId, updated_at: utcNow() }).where("id", "=", entity.id).returningAll().executeTakeFirstOrThrow();
    const deps = depsOf(c);
    const userId = c.get("user").id;
    await emitPreviewEvent(deps, "preview-file:set-main", { entity_id: entity.id, preview_file_id: previewId }, entity.project_id, userId);
    await emitPreviewEvent(deps, `${eventKey}:update`, { [`${eventKey}_id`]: entity.id }, entity.project_id, userId);
    return row;
  });
}
