/**
 * Per-model crud rules (models.md §4.2): permission hooks and business hooks that override the
 * admin-only default. One file per model family; this index merges them.
 */
import type { TableName } from "../../db/tables.generated";
import type { CrudModel } from "../engine";
import { referenceRules } from "./reference";

export type ModelRules = Partial<Omit<CrudModel, "table" | "route" | "methods">>;

export const modelRules: Partial<Record<TableName, ModelRules>> = {
  ...referenceRules,
};
