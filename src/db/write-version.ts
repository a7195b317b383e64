/**
 * Where the writes a cache depends on stand, for this process and the others, read in the one
 * order that is right: other processes' version first (`externalVersion`: reading it brings
 * their logged writes into this process's write log, src/db/change-log.ts), then the write log.
 * Read the other way round, a write another process logged could be missed until the next one.
 */
import { externalVersion } from "../lib/change-signal";
import { totalWriteGeneration, writeGeneration, writeLogPosition } from "./write-tracker";

/** The write log's position and other processes' unexplained-commit version, now. */
export function currentWrites(db: object): { external: number; position: number } {
  const external = externalVersion(db);
  return { external, position: writeLogPosition() };
}

/**
 * A number that moves on any write to `tables` (null: to any table) by this process or another.
 * Both terms only grow, so an unchanged sum means no such write.
 */
export function writesVersion(db: object, tables: readonly string[] | null): number {
  const external = externalVersion(db);
  return external + (tables ? writeGeneration(tables) : totalWriteGeneration());
}
