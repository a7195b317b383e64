/** Crud rules of: task, comment, attachment file, preview file, notification, subscription, news. */
import type { RuleSet } from "./index";

export const taskRules: RuleSet = {};
