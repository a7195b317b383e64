/**
 * Generic row loading and relation writing shared by the crud engine and the services: rows by
 * id (compiled once per dialect), the 404 of service routes, many-to-many id lists.
 */
import type { CompiledQuery, SelectQueryBuilder } from "kysely";
import type { Db } from "./database";
import { TABLES, type TableName } from "./tables.generated";
import { badRequest, notFound, WRONG_ID_FORMAT } from "../lib/errors";
import { chunks } from "../lib/chunks";
import { isUuid, newId, normalizeId, serviceId, utcNow } from "../lib/ids";

export type Row = Record<string, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySelect = SelectQueryBuilder<any, any, any>;

/**
 * Hot single-row lookups compiled once per dialect adapter (the SQL differs per engine) and run
 * with new parameters: no query building on every request.
 */
const compiledLookups = new WeakMap<object, Map<string, CompiledQuery>>();
export async function runCompiled(db: Db, key: string, build: () => CompiledQuery, parameters: unknown[]): Promise<Row[]> {
  const adapter = db.getExecutor().adapter;
  let byKey = compiledLookups.get(adapter);
  if (!byKey) {
    byKey = new Map();
    compiledLookups.set(adapter, byKey);
  }
  let compiled = byKey.get(key);
  if (!compiled) {
    compiled = build();
    byKey.set(key, compiled);
  }
  return (await db.executeQuery<Row>({ ...compiled, parameters })).rows;
}

export async function getRowById(db: Db, table: TableName, id: string): Promise<Row | undefined> {
  const rows = await runCompiled(db, `row:${table}`, () => db.selectFrom(table).selectAll().where("id" as any, "=", id).compile(), [id]);
  return rows[0];
}

/** Loads a row by the path id of a service route: malformed and unknown ids are the same 404. */
export async function loadServiceRow(db: Db, table: TableName, rawId: string | undefined): Promise<Row> {
  const row = await getRowById(db, table, serviceId(rawId));
  if (!row) throw notFound();
  return row;
}

/** Loads many-to-many id lists for rows: Map<row id, {relation: ids}>. */
export async function loadRelations(db: Db, table: TableName, ids: string[]): Promise<Map<string, Record<string, string[]>>> {
  const def = TABLES[table];
  const result = new Map<string, Record<string, string[]>>();
  const relationNames = def.relationKeys.filter((key) => def.relations[key]);
  for (const id of ids) {
    const empty: Record<string, string[]> = {};
    for (const name of relationNames) empty[name] = [];
    result.set(id, empty);
  }
  if (ids.length === 0 || relationNames.length === 0) return result;
  const uniqueIds = [...new Set(ids)];
  for (const name of relationNames) {
    const relation = def.relations[name]!;
    if (uniqueIds.length === 1) {
      const build = () =>
        db
          .selectFrom(relation.via as TableName)
          .select([`${relation.targetColumn} as target`] as any)
          .where(relation.sourceColumn as any, "=", uniqueIds[0])
          .compile() as CompiledQuery;
      const links = (await runCompiled(db, `relation:${table}.${name}`, build, [uniqueIds[0]])) as { target: string }[];
      result.get(uniqueIds[0]!)![name] = links.map((link) => link.target);
      continue;
    }
    for (const chunk of chunks(uniqueIds)) {
      const links = (await db
        .selectFrom(relation.via as TableName)
        .select([`${relation.sourceColumn} as source`, `${relation.targetColumn} as target`] as any)
        .where(relation.sourceColumn as any, "in", chunk)
        .execute()) as { source: string; target: string }[];
      for (const link of links) result.get(link.source)?.[name]!.push(link.target);
    }
  }
  return result;
}

/** Ids of a relation list sent by a client: ids or `{id}` objects; null empties the list. */
export function relationIds(relationName: string, targetIds: unknown): string[] {
  if (targetIds === null || targetIds === undefined) return [];
  if (!Array.isArray(targetIds)) throw badRequest(`${relationName} must be a list of ids.`);
  const ids = targetIds.map((value) => {
    const raw = typeof value === "object" && value !== null && "id" in value ? (value as { id: unknown }).id : value;
    if (!isUuid(raw)) throw WRONG_ID_FORMAT();
    return normalizeId(raw);
  });
  return [...new Set(ids)];
}

/**
 * Replaces the links of one many-to-many relation of a row. Ids of rows that do not exist are
 * silently dropped (models.md §1.4); null empties the relation.
 */
export async function setRelation(db: Db, table: TableName, relationName: string, id: string, targetIds: unknown): Promise<void> {
  const relation = TABLES[table].relations[relationName];
  if (!relation) return;
  const wanted = relationIds(relationName, targetIds);
  const existing = new Set<string>();
  for (const part of chunks(wanted)) {
    const rows = (await db
      .selectFrom(relation.target as TableName)
      .select("id" as any)
      .where("id" as any, "in", part)
      .execute()) as { id: string }[];
    for (const row of rows) existing.add(row.id);
  }
  const ids = wanted.filter((targetId) => existing.has(targetId));
  await db.deleteFrom(relation.via as TableName).where(relation.sourceColumn as any, "=", id).execute();
  if (ids.length === 0) return;
  const viaDef = TABLES[relation.via as TableName];
  const now = utcNow();
  const rows = ids.map((targetId) => {
    const row: Row = { [relation.sourceColumn]: id, [relation.targetColumn]: targetId };
    if (viaDef.columns.id) Object.assign(row, { id: newId(), created_at: now, updated_at: now });
    for (const [name, column] of Object.entries(viaDef.columns)) {
      if (!(name in row) && column.default !== undefined && typeof column.default === "object") {
        row[name] = JSON.stringify(column.default);
      }
    }
    return row;
  });
  for (const part of chunks(rows, 200)) await db.insertInto(relation.via as TableName).values(part as any).execute();
}
