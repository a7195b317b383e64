/**
 * The realtime broadcaster of several instances on one PostgreSQL database: this process's events
 * reach its own socket clients at once (as InProcessBroadcaster does) and the other instances
 * through `pg_notify` on EVENTS_CHANNEL; the events the others send arrive through the link's
 * LISTEN. Each notification names its origin, so an instance never delivers its own events twice.
 *
 * A notification carries at most 8000 bytes: a larger event is stored in `zou_bun_event_relay`
 * (migration 0003) and only its row id is notified; the receivers read the row (rows older than
 * RELAY_KEEP_MINUTES are deleted as new ones are written). Sending and receiving each keep their
 * order: statements run one after the other on the link's connection.
 */
import { randomUUID } from "node:crypto";
import type { Broadcaster, BroadcastListener } from "./broadcast";
import type { EmittedEvent, EventBus } from "./events";
import type { PostgresLink } from "./postgres-link";

export const EVENTS_CHANNEL = "zou_bun_events";
export const RELAY_TABLE = "zou_bun_event_relay";
/** Payload bytes sent inline (NOTIFY's limit is 8000, the envelope takes a few). */
export const INLINE_LIMIT = 7500;
const RELAY_KEEP_MINUTES = 10;
const PRUNE_EVERY_MS = 60_000;

/** What travels on the channel: the origin and the event, or the relay row holding it. */
interface Envelope {
  o: string;
  e?: EmittedEvent;
  r?: string;
}

export class PostgresBroadcaster implements Broadcaster {
  /** This process's identity on the channel. */
  readonly origin = randomUUID();
  private readonly listeners = new Set<BroadcastListener>();
  private outgoing: Promise<void> = Promise.resolve();
  private incoming: Promise<void> = Promise.resolve();
  private lastPrune = 0;
  private readonly stopLocal: () => void;

  private constructor(
    bus: EventBus,
    private readonly link: PostgresLink,
  ) {
    this.stopLocal = bus.subscribe((event) => {
      this.deliver(event);
      this.send(event);
    });
  }

  /** Starts listening on the link; resolves once the other instances' events are received. */
  static async start(bus: EventBus, link: PostgresLink): Promise<PostgresBroadcaster> {
    const broadcaster = new PostgresBroadcaster(bus, link);
    await link.listen(EVENTS_CHANNEL, (payload) => broadcaster.receive(payload));
    return broadcaster;
  }

  subscribe(listener: BroadcastListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops forwarding this process's events. */
  close(): void {
    this.stopLocal();
    this.listeners.clear();
  }

  /** Resolves once the events sent so far were handed to PostgreSQL (tests, shutdown). */
  flushed(): Promise<void> {
    return this.outgoing;
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

  private send(event: EmittedEvent): void {
    const inline = JSON.stringify({ o: this.origin, e: event } satisfies Envelope);
    this.outgoing = this.outgoing.then(async () => {
      try {
        if (Buffer.byteLength(inline) <= INLINE_LIMIT) {
          await this.link.query("SELECT pg_notify($1, $2)", [EVENTS_CHANNEL, inline]);
          return;
        }
        await this.pruneRelay();
        const { rows } = await this.link.query<{ id: string }>(`INSERT INTO ${RELAY_TABLE} (payload) VALUES ($1) RETURNING id::text AS id`, [JSON.stringify(event)]);
        await this.link.query("SELECT pg_notify($1, $2)", [EVENTS_CHANNEL, JSON.stringify({ o: this.origin, r: rows[0]!.id } satisfies Envelope)]);
      } catch (error) {
        console.error(`event ${event.name} not sent to the other instances: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  }

  private receive(payload: string): void {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(payload) as Envelope;
    } catch {
      return;
    }
    if (envelope.o === this.origin) return;
    if (envelope.e) {
      const event = envelope.e;
      // After the relayed events received before it, so that the order is kept.
      this.incoming = this.incoming.then(() => this.deliver(event));
      return;
    }
    const relayId = envelope.r;
    if (!relayId) return;
    this.incoming = this.incoming.then(async () => {
      try {
        const { rows } = await this.link.query<{ payload: string }>(`SELECT payload FROM ${RELAY_TABLE} WHERE id = $1::bigint`, [relayId]);
        if (rows[0]) this.deliver(JSON.parse(rows[0].payload) as EmittedEvent);
      } catch (error) {
        console.error(`relayed event ${relayId} not received: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  }

  private async pruneRelay(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    await this.link.query(`DELETE FROM ${RELAY_TABLE} WHERE created_at < now() - interval '${RELAY_KEEP_MINUTES} minutes'`);
  }
}
