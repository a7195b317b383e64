/** Crud rules of: project and its settings (milestones, schedule items, budgets, production schedule versions, metadata descriptors, task type/status links). */
import type { RuleSet } from "./index";

export const productionRules: RuleSet = {};
