/**
 * The one emit function of the server (events.md §1): persist an api_event row and publish to
 * in-process listeners (the realtime layer). Call it inside the write's transaction so the event
 * lands with the change, or not at all: listeners hear it once the transaction has committed (so
 * what they read, on any connection, already holds the change) and never for a rollback.
 */
import type { Kysely } from "kysely";
import type { DB } from "../db/tables.generated";
import { newId, preciseNow, utcNow } from "./ids";
import { describeError } from "./log";
import { afterCommit } from "../db/transaction";

export interface EmittedEvent {
  name: string;
  data: Record<string, unknown>;
  projectId: string | null;
  userId: string | null;
}
export type EventListener = (event: EmittedEvent) => void;

export class EventBus {
  private listeners = new Set<EventListener>();
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  publish(event: EmittedEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        console.error(`event listener failed: ${describeError(error)}`);
      }
    }
  }
}

/** Names that are broadcast only, never stored. */
const NOT_PERSISTED = new Set([
  "notification:new", "comment:acknowledge", "comment:unacknowledge", "comment:delete-reply",
  "task:update-casting-stats", "chat:joined", "chat:left", "chat:new-message", "chat:deleted-message", "main:test",
]);

export interface EmitOptions {
  projectId?: string | null;
  userId?: string | null;
  persist?: boolean;
}

export async function emitEvent(
  db: Kysely<DB>,
  bus: EventBus | undefined,
  name: string,
  data: Record<string, unknown> = {},
  options: EmitOptions = {},
): Promise<void> {
  const eventName = name.toLowerCase();
  const projectId = options.projectId ?? null;
  const payload = projectId ? { ...data, project_id: projectId } : { ...data };
  const event: EmittedEvent = { name: eventName, data: payload, projectId, userId: options.userId ?? null };
  if (bus) await afterCommit(db as never, async () => bus.publish(event));
  if (options.persist === false || NOT_PERSISTED.has(eventName)) return;
  // Microseconds kept so that the events of one second keep their order in `/data/events/last`.
  const now = preciseNow();
  await db
    .insertInto("api_event")
    .values({
      id: newId(),
      created_at: now,
      updated_at: now,
      name: eventName,
      user_id: event.userId,
      project_id: projectId,
      data: JSON.stringify(payload),
    })
    .execute();
}

/** Rows deleted per statement by the pruning, so a large backlog never holds the database long. */
const PRUNE_BATCH = 5000;

export interface PruneResult {
  events: number;
  expiredKeys: number;
}

/**
 * Housekeeping run by `serve` at start-up and once a day: deletes `api_event` rows older than
 * `retentionDays` (0 keeps them forever) and expired keys of the key/value store (revoked tokens,
 * reset tokens, OTP codes past their lifetime). Deletes in batches of PRUNE_BATCH rows.
 */
export async function pruneExpiredData(db: Kysely<DB>, retentionDays: number, now = new Date()): Promise<PruneResult> {
  let events = 0;
  if (retentionDays > 0) {
    const cutoff = new Date(now.getTime() - retentionDays * 86_400_000).toISOString().slice(0, 19);
    for (;;) {
      const batch = db.selectFrom("api_event").select("id").where("created_at", "<", cutoff).limit(PRUNE_BATCH);
      const result = await db.deleteFrom("api_event").where("id", "in", batch).executeTakeFirst();
      const deleted = Number(result.numDeletedRows);
      events += deleted;
      if (deleted < PRUNE_BATCH) break;
    }
  }
  const keys = await db.deleteFrom("kv_store").where("expires_at", "<", now.getTime()).executeTakeFirst();
  return { events, expiredKeys: Number(keys.numDeletedRows) };
}
