/** In-code migration provider: static imports so `bun build --compile` embeds every migration. */
import type { Migration, MigrationProvider } from "kysely";
import * as m0001 from "./0001_initial";
import * as m0002 from "./0002_search_index";
import * as m0003 from "./0003_instances";
import * as m0004 from "./0004_change_log";

export const migrations: Record<string, Migration> = {
  "0001_initial": m0001,
  "0002_search_index": m0002,
  "0003_instances": m0003,
  "0004_change_log": m0004,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
