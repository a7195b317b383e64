/** Crud rules of: entity (assets, shots, sequences, episodes, edits, concepts), entity links, asset instances. */
import type { RuleSet } from "./index";

export const entityRules: RuleSet = {};
