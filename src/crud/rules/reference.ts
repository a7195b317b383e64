/** Studio reference data any logged-in user may read (departments, statuses, types...). */
import type { ModelRules, RuleSet } from "./index";
import { blockVendor } from "../../services/permissions";

const anyUser = async () => {};
const readable: ModelRules = { list: anyUser, read: anyUser };
const notVendor: ModelRules = {
  list: async (c) => blockVendor(c),
  read: async (c) => blockVendor(c),
};

export const referenceRules: RuleSet = {
  department: readable,
  studio: readable,
  project_status: readable,
  task_type: readable,
  task_status: readable,
  entity_type: readable,
  output_type: readable,
  file_status: readable,
  software: readable,
  preview_background_file: readable,
  custom_action: notVendor,
  status_automation: notVendor,
};
