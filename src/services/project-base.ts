/** Shared pieces of the project services: row types, event helpers, project rows and statuses, entity type ids. */
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import { serialize } from "../db/serialize";
import { loadServiceRow } from "../db/rows";
import { emitEvent } from "../lib/events";
import { RESERVED_ENTITY_TYPES } from "../lib/entity-kinds";
import { newId, utcNow } from "../lib/ids";
import { chunks } from "../lib/chunks";
import type { TableName } from "../db/tables.generated";

export type Row = Record<string, any>;
export type Dict = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Small shared helpers

/** python-slugify's rule as Zou uses it for descriptor field names. */
export function slugify(text: string, separator = "_"): string {
  const escaped = separator.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&");
  return text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/['"]+/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, separator)
    .replace(new RegExp(`^(${escaped})+|(${escaped})+$`, "g"), "");
}

export function emitOptions(c: AppContext, projectId: string | null) {
  return { projectId, userId: c.get("user")?.id ?? null };
}

export async function emit(c: AppContext, name: string, data: Dict, projectId: string | null): Promise<void> {
  await emitEvent(c.get("db"), c.get("events"), name, data, emitOptions(c, projectId));
}

/** `project:update` with an empty payload, as every settings/team change emits. */
export async function emitProjectUpdate(c: AppContext, projectId: string): Promise<void> {
  await emit(c, "project:update", {}, projectId);
}

// ---------------------------------------------------------------------------------------------
// Project rows and statuses

/** Loads a project by a path id: malformed or unknown ids are the same 404. */
export function getProjectOr404(c: AppContext, rawId: string | undefined): Promise<Row> {
  return loadServiceRow(c.get("db"), "project", rawId);
}

/** The project status of that name, created (color #000000) when missing. */
export async function getOrCreateProjectStatusId(db: Db, name: "Open" | "Closed"): Promise<string> {
  const found = await db.selectFrom("project_status").select("id").where("name", "=", name).executeTakeFirst();
  if (found) return found.id;
  const now = utcNow();
  const id = newId();
  await db.insertInto("project_status").values({ id, created_at: now, updated_at: now, name, color: "#000000" }).execute();
  return id;
}

/** Id of the Open status, without creating it (null when absent). */
export async function openStatusId(db: Db): Promise<string | null> {
  const found = await db.selectFrom("project_status").select("id").where("name", "=", "Open").executeTakeFirst();
  return found?.id ?? null;
}

export async function isProjectOpen(db: Db, project: Row): Promise<boolean> {
  const open = await openStatusId(db);
  return open !== null && project.project_status_id === open;
}

/** Ids of every open project. */
export async function openProjectIds(db: Db): Promise<string[]> {
  const open = await openStatusId(db);
  if (!open) return [];
  const rows = await db.selectFrom("project").select("id").where("project_status_id", "=", open).execute();
  return rows.map((r) => r.id);
}

// ---------------------------------------------------------------------------------------------
// Entity types

/** Id of a reserved entity type (Shot, Episode...), created on demand when `create` is set. */
export async function entityTypeId(db: Db, name: string, create = false): Promise<string | null> {
  const found = await db.selectFrom("entity_type").select("id").where("name", "=", name).executeTakeFirst();
  if (found) return found.id;
  if (!create) return null;
  const now = utcNow();
  const id = newId();
  await db.insertInto("entity_type").values({ id, created_at: now, updated_at: now, name }).execute();
  return id;
}

/** Map of reserved type name -> id for those that exist. */
export async function reservedEntityTypeIds(db: Db): Promise<Map<string, string>> {
  const rows = await db.selectFrom("entity_type").select(["id", "name"]).where("name", "in", RESERVED_ENTITY_TYPES).execute();
  return new Map(rows.map((r) => [r.name, r.id]));
}

// ---------------------------------------------------------------------------------------------
// Project dicts

/** The project's plain dict (no relations), re-read. */
export async function projectDict(c: AppContext, projectId: string): Promise<Dict> {
  const row = await c.get("db").selectFrom("project").selectAll().where("id", "=", projectId).executeTakeFirstOrThrow();
  return serialize("project", row as Row);
}

export async function touchProject(c: AppContext, projectId: string): Promise<void> {
  await c.get("db").updateTable("project").set({ updated_at: utcNow() }).where("id", "=", projectId).execute();
}

/** The ids among `ids` that exist in `table`. */
export async function existingIds(db: Db, table: TableName, ids: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const chunk of chunks(ids)) {
    const rows = (await db.selectFrom(table).select("id" as any).where("id" as any, "in", chunk).execute()) as { id: string }[];
    for (const row of rows) found.add(row.id);
  }
  return found;
}
