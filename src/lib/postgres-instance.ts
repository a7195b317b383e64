/**
 * What `serve` starts on PostgreSQL so that several instances can share the database (README,
 * "Several instances on PostgreSQL"): the link connection (./postgres-link.ts) that LISTENs for
 * the other instances' commits (moving the change signal) and events (the broadcaster), and holds
 * the advisory locks that claim jobs.
 */
import type { Kysely } from "kysely";
import { PostgresBroadcaster } from "./broadcast-postgres";
import { CHANGE_CHANNEL, postgresSignalOf } from "./change-signal-postgres";
import type { EventBus } from "./events";
import { attachJobClaimer, detachJobClaimer } from "./job-queue";
import { advisoryLockClaimer, PostgresLink } from "./postgres-link";

export interface PostgresInstance {
  broadcaster: PostgresBroadcaster;
  link: PostgresLink;
  close(): Promise<void>;
}

export async function startPostgresInstance(db: Kysely<any>, url: string, bus: EventBus): Promise<PostgresInstance> {
  const link = new PostgresLink(url);
  const signal = postgresSignalOf(db);
  await link.listen(CHANGE_CHANNEL, (payload) => signal?.notified(payload));
  // Commits may have been missed while the link was down: caches start over.
  link.onReconnect(() => signal?.moved());
  await link.start();
  attachJobClaimer(db, advisoryLockClaimer(link));
  const broadcaster = await PostgresBroadcaster.start(bus, link);
  return {
    broadcaster,
    link,
    async close() {
      broadcaster.close();
      detachJobClaimer(db);
      await link.close();
    },
  };
}
