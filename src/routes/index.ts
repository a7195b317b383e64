/** Registers every area's routes (one file per area of routes.tsv). */
import type { Hono } from "hono";
import type { AppEnv } from "../context";
import { registerCrud } from "../crud/engine";
import { crudModels } from "../crud/models";
import { registerIndex } from "./index-routes";
import { registerAuth } from "./auth";
import { registerProjects } from "./projects";
import { registerProjectTemplates } from "./project-templates";
import { registerAssets } from "./assets";
import { registerShots } from "./shots";
import { registerEdits } from "./edits";
import { registerConcepts } from "./concepts";
import { registerEntities } from "./entities";
import { registerBreakdown } from "./breakdown";
import { registerTasks } from "./tasks";
import { registerComments } from "./comments";
import { registerUser } from "./user";
import { registerPersons } from "./persons";
import { registerDepartments } from "./departments";
import { registerNews } from "./news";
import { registerEvents } from "./events";
import { registerChats } from "./chats";
import { registerFiles } from "./files";
import { registerTimeSpents } from "./time-spents";
import { registerCrudActions } from "./crud-actions";
import { registerImports } from "./import";
import { registerSearch } from "./search";
import { registerAdmin } from "./admin";

export function registerRoutes(app: Hono<AppEnv>): void {
  registerIndex(app);
  registerAuth(app);
  // Specialised routes first: a literal segment (/data/projects/all) must win over /data/projects/{id}.
  registerProjects(app);
  registerProjectTemplates(app);
  registerAssets(app);
  registerShots(app);
  registerEdits(app);
  registerConcepts(app);
  registerEntities(app);
  registerBreakdown(app);
  registerTasks(app);
  registerComments(app);
  registerUser(app);
  registerPersons(app);
  registerDepartments(app);
  registerNews(app);
  registerEvents(app);
  registerChats(app);
  registerFiles(app);
  registerTimeSpents(app);
  registerCrudActions(app);
  registerImports(app);
  registerSearch(app);
  registerAdmin(app);
  registerCrud(app, crudModels());
}
