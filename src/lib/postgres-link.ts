/**
 * One dedicated PostgreSQL connection per `serve` process on PostgreSQL (outside the query pool):
 *  - LISTEN for the other instances' commits (the change signal, ./change-signal-postgres.ts) and
 *    realtime events (./broadcast-postgres.ts), with its notifications dispatched per channel;
 *  - holds the session advisory locks that claim media and playlist-build jobs (./job-queue.ts):
 *    PostgreSQL releases them when the process dies, so a job held by a live instance is never
 *    taken over, and one left by a dead instance can be.
 * The connection comes back by itself when it drops (retries with a growing delay); listeners of
 * `onReconnect` learn that notifications may have been missed meanwhile and job locks were lost.
 */
import pg from "pg";
import type { JobClaimer } from "./job-queue";

type NotificationHandler = (payload: string) => void;

export class PostgresLink {
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private readonly handlers = new Map<string, Set<NotificationHandler>>();
  private readonly reconnectListeners = new Set<() => void>();
  private retryDelayMs = 250;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private connectedOnce = false;

  constructor(private readonly url: string) {}

  /** Connects (resolves once LISTENing), or rejects when the first connection fails. */
  start(): Promise<void> {
    return this.connect();
  }

  /** Calls `handler` with the payload of every notification on `channel`. */
  async listen(channel: string, handler: NotificationHandler): Promise<void> {
    if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`Invalid channel name "${channel}".`);
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      if (this.client) await this.client.query(`LISTEN ${channel}`);
    }
    set.add(handler);
  }

  /** Called after the connection came back (not on the first connection). */
  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  get connected(): boolean {
    return this.client !== null;
  }

  /** Runs one statement on the link's connection (statements run one after the other, in order). */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    if (!this.client) {
      if (this.connecting) await this.connecting;
      if (!this.client) throw new Error("The PostgreSQL link is down.");
    }
    return this.client.query<R>(text, values);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private connect(): Promise<void> {
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.url, application_name: "zou-bun link" });
      client.on("notification", (message) => {
        for (const handler of this.handlers.get(message.channel) ?? []) {
          try {
            handler(message.payload ?? "");
          } catch (error) {
            console.error(`PostgreSQL notification handler failed: ${error instanceof Error ? error.message : String(error)}`);
          }
        }
      });
      client.on("error", (error) => console.error(`zou-bun: PostgreSQL link error: ${error.message}`));
      client.on("end", () => this.lost(client));
      try {
        await client.connect();
        for (const channel of this.handlers.keys()) await client.query(`LISTEN ${channel}`);
      } catch (error) {
        await client.end().catch(() => undefined);
        throw error;
      }
      if (this.closed) {
        await client.end().catch(() => undefined);
        return;
      }
      this.client = client;
      this.retryDelayMs = 250;
      if (this.connectedOnce) {
        console.log("zou-bun: PostgreSQL link back.");
        for (const listener of this.reconnectListeners) listener();
      }
      this.connectedOnce = true;
    })().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    if (this.closed) return;
    console.error("zou-bun: PostgreSQL link lost (notifications and job locks): reconnecting.");
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect().catch((error) => {
        console.error(`zou-bun: PostgreSQL link: ${error instanceof Error ? error.message : String(error)}`);
        this.retryDelayMs = Math.min(this.retryDelayMs * 2, 10_000);
        this.scheduleReconnect();
      });
    }, this.retryDelayMs);
  }
}

/** A 64-bit advisory lock key for a job name. */
export function advisoryKey(name: string): string {
  return BigInt.asIntN(64, BigInt(Bun.hash.wyhash(`zou-bun job ${name}`))).toString();
}

/**
 * Job claims held as session advisory locks on the link's connection. The locks go with the
 * connection: when it comes back, the claims still held are taken again (a claim another instance
 * took meanwhile is reported, its job runs on here).
 */
export function advisoryLockClaimer(link: PostgresLink): JobClaimer {
  const held = new Set<string>();
  const tryLock = async (name: string) => {
    const { rows } = await link.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1::bigint) AS locked", [advisoryKey(name)]);
    return rows[0]?.locked === true;
  };
  link.onReconnect(() => {
    void (async () => {
      for (const name of held) {
        if (!(await tryLock(name).catch(() => false))) console.error(`job ${name}: its claim was lost while the PostgreSQL link was down.`);
      }
    })();
  });
  return {
    async tryClaim(name: string): Promise<boolean> {
      const locked = await tryLock(name);
      if (locked) held.add(name);
      return locked;
    },
    async release(name: string): Promise<void> {
      held.delete(name);
      if (!link.connected) return; // the locks went with the connection
      await link.query("SELECT pg_advisory_unlock($1::bigint)", [advisoryKey(name)]);
    },
  };
}
