/** Crud rules of: working file, output file, output type, software. */
import type { RuleSet } from "./index";

export const fileRules: RuleSet = {};
