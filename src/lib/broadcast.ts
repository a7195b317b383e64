/**
 * The seam between the emitters and the realtime stream. Emitters only ever call `emitEvent`, which
 * publishes on the process's EventBus; the stream receives events from a Broadcaster. The
 * in-process implementation hands the bus's events straight over. A multi-instance deployment on
 * PostgreSQL would supply another Broadcaster (forward the bus's events with `pg_notify`, receive
 * every instance's events with LISTEN) without any emitter changing.
 *
 * Also the registry through which `GET /status` reads the stream's state for an app's bus.
 */
import type { EmittedEvent, EventBus } from "./events";

export type BroadcastListener = (event: EmittedEvent) => void;

export interface Broadcaster {
  /** Calls `listener` for every event published by any instance; returns the unsubscribe function. */
  subscribe(listener: BroadcastListener): () => void;
}

/** A single process: events of this process's bus only. */
export class InProcessBroadcaster implements Broadcaster {
  constructor(private readonly bus: EventBus) {}
  subscribe(listener: BroadcastListener): () => void {
    return this.bus.subscribe(listener);
  }
}

export interface StreamStatus {
  /** Clients connected to the `/events` namespace. */
  connections(): number;
}

const streams = new WeakMap<EventBus, StreamStatus>();

/** Declares the realtime stream fed by `bus` (one per app). */
export function registerStream(bus: EventBus, status: StreamStatus): void {
  streams.set(bus, status);
}

export function unregisterStream(bus: EventBus): void {
  streams.delete(bus);
}

/** The stream fed by `bus`, or undefined when the app runs without one (e.g. in-process tests). */
export function streamOf(bus: EventBus): StreamStatus | undefined {
  return streams.get(bus);
}
