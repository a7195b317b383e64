/** Registers every area's routes (one file per area of routes.tsv). */
import type { Hono } from "hono";
import type { AppEnv } from "../context";
import { registerCrud } from "../crud/engine";
import { crudModels } from "../crud/models";
import { registerIndex } from "./index-routes";
import { registerAuth } from "./auth";
import { registerProjects } from "./projects";
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
import { registerCsv } from "./csv";

export function registerRoutes(app: Hono<AppEnv>): void {
  registerIndex(app);
  registerAuth(app);
  // Specialised routes first: a literal segment (/data/projects/all) must win over /data/projects/{id}.
  registerProjects(app);
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
  registerCsv(app);
  registerCrud(app, crudModels());
}
