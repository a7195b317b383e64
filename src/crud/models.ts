/**
 * The table of crud models served under /data/<plural>. Every model defaults to admin-only
 * (Zou's crud default); the per-model rules of models.md §4.2 live in src/crud/rules/<model>.ts
 * and are merged here.
 */
import { TABLES, type TableName } from "../db/tables.generated";
import type { AppContext } from "../context";
import type { Row } from "../db/rows";
import { deleteRow, type CrudModel } from "./engine";
import { modelRules } from "./rules/index";

/** Routes whose tables Zou exposes, with the methods the spec lists. */
function baseModels(): CrudModel[] {
  const models: CrudModel[] = [];
  for (const [table, def] of Object.entries(TABLES)) {
    if (!def.route) continue;
    models.push({ table: table as TableName, route: def.route, methods: def.routeMethods });
  }
  return models;
}

export function crudModels(): CrudModel[] {
  return baseModels().map((model) => {
    const rules = modelRules[model.table];
    return rules ? { ...model, ...rules } : model;
  });
}

/** Deletes a row as `DELETE /data/<plural>/<id>` does (its links, its event), without the route's checks. */
export async function deleteAsCrudRoute(c: AppContext, table: TableName, row: Row): Promise<void> {
  const model = crudModels().find((candidate) => candidate.table === table);
  if (!model) throw new Error(`no crud model for ${table}`);
  await deleteRow(c, model, row);
}
