/**
 * The one emit function of the server (events.md §1): publish to in-process listeners (the realtime
 * layer), then persist an api_event row. Call it inside the write's transaction so the event lands
 * with the change, or not at all.
 */
import type { Kysely } from "kysely";
import type { DB } from "../db/tables.generated";
import { newId, preciseNow } from "./ids";

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
        console.error("event listener failed", error);
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
  bus?.publish(event);
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
