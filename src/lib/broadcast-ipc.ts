/**
 * The realtime broadcaster of `serve --workers N` on SQLite: one worker (the socket owner, see
 * workers.ts) serves every socket.io client, so the events emitted in the other workers must reach
 * it. They travel over the IPC channel each worker has with its supervisor, which hands them to the
 * owner (in the order each worker sent them). The owner delivers its own events at once, as
 * InProcessBroadcaster does, and the relayed ones as they arrive; an event is delivered once.
 */
import type { Broadcaster, BroadcastListener } from "./broadcast";
import type { EmittedEvent, EventBus } from "./events";

/** What travels on the IPC channel. */
export interface RelayedEvent {
  relayedEvent: EmittedEvent;
}

export function isRelayedEvent(message: unknown): message is RelayedEvent {
  return typeof message === "object" && message !== null && "relayedEvent" in message;
}

/** In the socket owner: this process's events and those the supervisor relays. */
export class IpcReceivingBroadcaster implements Broadcaster {
  private readonly listeners = new Set<BroadcastListener>();
  private readonly stopLocal: () => void;
  private readonly onMessage = (message: unknown) => {
    if (isRelayedEvent(message)) this.deliver(message.relayedEvent);
  };

  constructor(bus: EventBus) {
    this.stopLocal = bus.subscribe((event) => this.deliver(event));
    process.on("message", this.onMessage);
  }

  subscribe(listener: BroadcastListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.stopLocal();
    process.off("message", this.onMessage);
    this.listeners.clear();
  }

  private deliver(event: EmittedEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        console.error(`broadcast listener failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}

/**
 * In a worker without socket clients: sends this process's events to the supervisor. Its own
 * subscribers (none in practice: such a worker runs no stream) receive nothing.
 */
export class IpcSendingBroadcaster implements Broadcaster {
  private readonly stopLocal: () => void;

  constructor(bus: EventBus, send: (message: RelayedEvent) => void = (message) => process.send?.(message)) {
    this.stopLocal = bus.subscribe((event) => {
      try {
        send({ relayedEvent: event });
      } catch (error) {
        // The supervisor is gone (this worker is stopping): nobody is left to tell.
        console.error(`event ${event.name} not relayed: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  }

  subscribe(_listener: BroadcastListener): () => void {
    return () => {};
  }

  close(): void {
    this.stopLocal();
  }
}
