/** Hono environment shared by every route: the database, the configuration and the caller. */
import type { Context } from "hono";
import type { Config } from "./config";
import type { Db } from "./db/database";
import type { Selectable } from "kysely";
import type { PersonTable } from "./db/tables.generated";
import type { EventBus } from "./lib/events";

export type PersonRow = Selectable<PersonTable>;
export type IdentityType = "person" | "bot" | "person_api";

export interface AppVariables {
  db: Db;
  config: Config;
  events: EventBus;
  /** The authenticated person (set by the auth middleware on protected routes). */
  user: PersonRow;
  identityType: IdentityType;
  claims: Record<string, unknown>;
  /** Per-request memo of the caller's project roles (project id -> link role or null; absent = not member). */
  projectRoles: Map<string, string | null | undefined>;
}

export type AppEnv = { Variables: AppVariables };
export type AppContext = Context<AppEnv>;
