/**
 * Per-model crud rules (models.md §4.2): permission hooks and business hooks that override the
 * admin-only default. One file per model family; this index merges them.
 */
import type { TableName } from "../../db/tables.generated";
import type { CrudModel } from "../engine";
import { referenceRules } from "./reference";
import { peopleRules } from "./people";
import { productionRules } from "./production";
import { entityRules } from "./entities";
import { taskRules } from "./tasks";
import { timeRules } from "./time";
import { fileRules } from "./files";
import { playlistRules } from "./playlists";

export type ModelRules = Partial<Omit<CrudModel, "table" | "route" | "methods">>;
export type RuleSet = Partial<Record<TableName, ModelRules>>;

export const modelRules: RuleSet = {
  ...referenceRules,
  ...peopleRules,
  ...productionRules,
  ...entityRules,
  ...taskRules,
  ...timeRules,
  ...fileRules,
  ...playlistRules,
};
