/** Crud rules of: person, organisation. */
import type { RuleSet } from "./index";

export const peopleRules: RuleSet = {};
