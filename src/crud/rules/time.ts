/** Crud rules of: day off, time spent, chat, chat message, search filters. */
import type { RuleSet } from "./index";

export const timeRules: RuleSet = {};
