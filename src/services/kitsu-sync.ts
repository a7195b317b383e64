/**
 * Kitsu sync imports (`POST /import/kitsu/<kind>`): rows serialized by another Kitsu (Zou's JSON
 * shapes) are upserted by their id, which is kept, so one instance can be copied into another.
 * One generic upsert driven by the table metadata: keys that are columns are stored, keys that
 * are many-to-many relations (team, assignees, departments...) replace the links, other keys
 * (`type`, computed fields) are ignored. Only admins import; other callers' entries are skipped
 * (an empty list back), as the spec says. `?silent=true` emits no event.
 * One transaction per request: a bad entry is a 400 naming it and nothing is written.
 */
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import { serialize } from "../db/serialize";
import { TABLES, type TableName } from "../db/tables.generated";
import { transact } from "../db/transaction";
import { setRelation } from "../db/rows";
import { toStoredValue } from "../crud/values";
import { ApiError, badRequest, databaseErrorToApiError } from "../lib/errors";
import { readJson } from "../lib/body";
import { emitEvent } from "../lib/events";
import { isUuid, normalizeId, utcNow } from "../lib/ids";
import { isAdmin } from "./permissions";
import { eventKey, kindOfTypeId, requestTypeIds } from "./entities";

type Row = Record<string, any>;
type Entry = Record<string, unknown>;

interface SyncKind {
  table: TableName;
  /** Relation keys not taken from the payload (synced by their own route). */
  skipKeys?: string[];
  /** Adjusts an entry before it is stored (renamed keys, flags). */
  adapt?: (entry: Entry) => Entry;
  /** Another row the entry stands for when its id is unknown (a natural key). */
  findSimilar?: (db: Db, values: Row) => Promise<Row | undefined>;
  /** Event name and payload; default `<table>:<new|update>` with `<table>_id`. */
  event?: (c: AppContext, row: Row) => Promise<{ name: string; data: Record<string, unknown> }>;
  /** Entities are presented with their kind as `type`. */
  typeName?: (c: AppContext, row: Row) => Promise<string | undefined>;
}

const entityKindName = async (c: AppContext, row: Row) => kindOfTypeId(await requestTypeIds(c), row.entity_type_id);

export const KITSU_SYNC_KINDS: Record<string, SyncKind> = {
  projects: { table: "project" },
  entities: {
    table: "entity",
    skipKeys: ["entities_in", "entities_out", "instance_casting"],
    typeName: entityKindName,
    event: async (c, row) => {
      const key = eventKey(await entityKindName(c, row));
      return { name: key, data: { [`${key}_id`]: row.id } };
    },
  },
  "entity-links": {
    table: "entity_link",
    findSimilar: (db, values) =>
      db
        .selectFrom("entity_link")
        .selectAll()
        .where("entity_in_id", "=", values.entity_in_id)
        .where("entity_out_id", "=", values.entity_out_id)
        .executeTakeFirst() as Promise<Row | undefined>,
  },
  tasks: { table: "task" },
  comments: { table: "comment", event: async (_c, row) => ({ name: "comment", data: { comment_id: row.id, task_id: row.object_id, person_id: row.person_id, for_client: Boolean(row.for_client) } }) },
  "attachment-files": { table: "attachment_file" },
  "build-jobs": { table: "build_job" },
  "metadata-descriptors": { table: "metadata_descriptor" },
  milestones: { table: "milestone" },
  news: { table: "news" },
  notifications: {
    table: "notification",
    // Zou's JSON carries the notification kind as `notification_type` (`type` is the class name).
    adapt: (entry) => {
      const { type: _className, notification_type: kind, ...rest } = entry;
      return kind === undefined ? rest : { ...rest, type: kind };
    },
  },
  playlists: { table: "playlist" },
  "preview-files": {
    table: "preview_file",
    // Only the record travels, not the media: mark it so frame extraction leaves it alone.
    adapt: (entry) => {
      const data = entry.data && typeof entry.data === "object" && !Array.isArray(entry.data) ? (entry.data as Entry) : {};
      return { ...entry, data: { ...data, imported_only: true } };
    },
  },
  "schedule-items": { table: "schedule_item" },
  subscriptions: { table: "subscription" },
  "time-spents": { table: "time_spent" },
};

function entryValues(kind: SyncKind, entry: Entry): { values: Row; relations: Record<string, unknown> } {
  const def = TABLES[kind.table];
  const values: Row = {};
  const relations: Record<string, unknown> = {};
  const adapted = kind.adapt ? kind.adapt(entry) : entry;
  for (const [key, value] of Object.entries(adapted)) {
    if (kind.skipKeys?.includes(key)) continue;
    if (key === "type" && kind.table !== "notification") continue;
    const column = def.columns[key];
    if (column) values[key] = toStoredValue(key, column, value);
    else if (def.relations[key]) relations[key] = value;
  }
  return { values, relations };
}

async function readEntries(c: AppContext): Promise<Entry[]> {
  let body: unknown;
  try {
    body = await readJson(c);
  } catch {
    throw badRequest("A list of entities is expected.");
  }
  if (!Array.isArray(body)) throw badRequest("A list of entities is expected.");
  return body.map((entry, index) => {
    if (!entry || typeof entry !== "object" || Array.isArray(entry)) throw badRequest(`Entry ${index} is not an object.`);
    if (!isUuid((entry as Entry).id)) throw badRequest(`Entry ${index} has no valid id.`);
    return entry as Entry;
  });
}

/** Upserts the entries of one kind; returns their serialized rows. */
export async function runKitsuSync(c: AppContext, kind: SyncKind): Promise<Record<string, unknown>[]> {
  const entries = await readEntries(c);
  if (!isAdmin(c.get("user"))) return [];
  const silent = (c.req.query("silent") ?? "").toLowerCase() === "true";
  const def = TABLES[kind.table];
  return transact(c, async (db) => {
    const results: Record<string, unknown>[] = [];
    for (const [index, entry] of entries.entries()) {
      try {
        const { values, relations } = entryValues(kind, entry);
        values.id = normalizeId(entry.id as string);
        let existing = (await db.selectFrom(kind.table).selectAll().where("id" as any, "=", values.id).executeTakeFirst()) as Row | undefined;
        if (!existing && kind.findSimilar) existing = await kind.findSimilar(db, values);
        const now = utcNow();
        let row: Row;
        if (existing) {
          delete values.id;
          delete values.created_at;
          if (def.columns.updated_at && !values.updated_at) values.updated_at = now;
          let query = db.updateTable(kind.table).set(values as any);
          for (const key of def.primaryKey) query = query.where(key as any, "=", existing[key]);
          row = (await query.returningAll().executeTakeFirstOrThrow()) as Row;
        } else {
          if (def.columns.created_at && !values.created_at) values.created_at = now;
          if (def.columns.updated_at && !values.updated_at) values.updated_at = values.created_at ?? now;
          row = (await db.insertInto(kind.table).values(values as any).returningAll().executeTakeFirstOrThrow()) as Row;
        }
        for (const [name, ids] of Object.entries(relations)) await setRelation(db, kind.table, name, row.id, ids);
        if (!silent) {
          const action = existing ? "update" : "new";
          const event = kind.event ? await kind.event(c, row) : { name: kind.table.replace(/_/g, "-"), data: { [`${kind.table}_id`]: row.id } };
          const projectId = typeof row.project_id === "string" ? row.project_id : kind.table === "project" ? row.id : null;
          await emitEvent(db, c.get("events"), `${event.name}:${action}`, event.data, { projectId, userId: c.get("user").id });
        }
        const typeName = kind.typeName ? await kind.typeName(c, row) : undefined;
        results.push(serialize(kind.table, row, typeName ? { typeName } : {}));
      } catch (error) {
        const apiError = error instanceof ApiError ? error : databaseErrorToApiError(error);
        if (!apiError) throw error;
        throw badRequest(`Entry ${index} (id ${String(entry.id)}): ${String(apiError.body.message ?? apiError.message)}`);
      }
    }
    return results;
  });
}
