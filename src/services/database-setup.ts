/**
 * What `serve` does to a database before serving it: migrations, the initial data of an empty
 * database, the first admin account. Under the start-up lock (src/db/startup-lock.ts), so that
 * instances starting together on one PostgreSQL database do it once, not twice.
 */
import type { Config } from "../config";
import { migrateToLatest, type Db } from "../db/database";
import { withStartupLock } from "../db/startup-lock";
import { ensureFirstAdmin } from "./accounts";
import { initData } from "./init-data";

/** Resolves to the first admin account when this call created it. */
export async function prepareDatabase(db: Db, config: Config): Promise<Awaited<ReturnType<typeof ensureFirstAdmin>>> {
  return withStartupLock(db, async (locked) => {
    await migrateToLatest(locked);
    await initData(locked, "3d", { onlyIfEmpty: true });
    return ensureFirstAdmin(locked, config);
  });
}
