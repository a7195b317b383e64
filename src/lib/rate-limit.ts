/**
 * Per-client-address limits (counted in the database, across processes) and the client address itself: the socket's peer (Bun's
 * `server.requestIP`, which Hono passes as `c.env` when the app is Bun's `fetch`), or the
 * `X-Forwarded-For` client when that peer is one of TRUSTED_PROXIES.
 */
import type { BlockList } from "node:net";
import type { Context } from "hono";
import type { Db } from "../db/database";
import { kvCount, kvDecrement, kvIncrement } from "./kv";

type Net = typeof import("node:net");
let netModule: Net | null = null;
/** node:net, loaded when first needed (trusted proxies) rather than at start-up. */
const net = (): Net => (netModule ??= require("node:net") as Net);
const isIP = (address: string): number => net().isIP(address);

/** The trusted proxies: a BlockList, or an empty stand-in without TRUSTED_PROXIES. */
export type TrustedProxies = Pick<BlockList, "check" | "rules">;
const NO_PROXIES: TrustedProxies = { check: () => false, rules: [] };

/** TRUSTED_PROXIES: addresses or CIDR ranges (IPv4 or IPv6), comma or semicolon separated. */
export function parseTrustedProxies(value: string | undefined): TrustedProxies {
  const entries = (value ?? "").split(/[;,\s]+/).map((s) => s.trim()).filter(Boolean);
  if (entries.length === 0) return NO_PROXIES;
  const list = new (net().BlockList)();
  for (const entry of entries) {
    const [address, bits] = entry.split("/") as [string, string | undefined];
    const family = isIP(address);
    if (family === 0) continue;
    const type = family === 4 ? "ipv4" : "ipv6";
    if (bits === undefined) list.addAddress(address, type);
    else if (/^\d+$/.test(bits)) list.addSubnet(address, Number(bits), type);
  }
  return list;
}

/** `::ffff:1.2.3.4` is `1.2.3.4`. */
function plainAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

export function isTrusted(proxies: TrustedProxies, address: string | null): boolean {
  if (!address || proxies.rules.length === 0) return false;
  const plain = plainAddress(address);
  const family = isIP(plain);
  if (family === 0) return false;
  return proxies.check(plain, family === 4 ? "ipv4" : "ipv6");
}

/** The socket peer's address, when the request came through Bun's server. */
export function socketAddress(c: Context<any>): string | null {
  const server = c.env as { requestIP?: (request: Request) => { address: string } | null } | undefined;
  try {
    const address = server?.requestIP?.(c.req.raw)?.address;
    return address ? plainAddress(address) : null;
  } catch {
    return null;
  }
}

/**
 * The client's address: the socket peer, unless that peer is a trusted proxy; then the right-most
 * `X-Forwarded-For` entry that is not itself a trusted proxy (entries further left can be forged
 * by the client).
 */
export function clientAddress(c: Context<any>, proxies: TrustedProxies): string | null {
  const peer = socketAddress(c);
  if (!isTrusted(proxies, peer)) return peer;
  const forwarded = (c.req.header("x-forwarded-for") ?? "").split(",").map((s) => plainAddress(s.trim())).filter(Boolean);
  for (let i = forwarded.length - 1; i >= 0; i -= 1) {
    const hop = forwarded[i]!;
    if (isIP(hop) === 0) return peer;
    if (!isTrusted(proxies, hop)) return hop;
  }
  return forwarded[0] ?? peer;
}

/** True when the request reached us over https: directly, or through a trusted proxy saying so. */
export function cameOverHttps(c: Context<any>, proxies: TrustedProxies): boolean {
  if (c.req.url.startsWith("https:")) return true;
  // Without trusted proxies the peer needs no look-up (asked on every answer for HSTS).
  if (proxies.rules.length === 0 || !isTrusted(proxies, socketAddress(c))) return false;
  const proto = (c.req.header("x-forwarded-proto") ?? "").split(",")[0]!.trim().toLowerCase();
  return proto === "https";
}

/**
 * A fixed-window counter per key: at most `limit` attempts per `windowSeconds`. The counts are kept
 * in the database's kv_store (key `rate:<name>:<key>`), so that every process serving the database
 * (`serve --workers`, PostgreSQL instances) counts together. `take` answers 0 when allowed, else
 * the seconds until the window ends (for Retry-After); a refused attempt writes nothing.
 */
export class RateLimiter {
  constructor(
    private readonly db: Db,
    private readonly name: string,
    private readonly limit: number,
    private readonly windowSeconds: number,
  ) {}

  get enabled(): boolean {
    return this.limit > 0 && this.windowSeconds > 0;
  }

  async take(key: string, now = Date.now()): Promise<number> {
    if (!this.enabled) return 0;
    const counter = this.counterKey(key);
    const retryAfter = (expiresAt: number) => Math.max(1, Math.ceil((expiresAt - now) / 1000));
    const known = await kvCount(this.db, counter, now);
    if (known.count >= this.limit) return retryAfter(known.expiresAt);
    const taken = await kvIncrement(this.db, counter, this.windowSeconds * 1000, { slide: false }, now);
    if (taken.count > this.limit) {
      await kvDecrement(this.db, counter, now); // another process took the last one meanwhile
      return retryAfter(taken.expiresAt);
    }
    return 0;
  }

  /** Gives an attempt back (a successful login does not count). */
  async release(key: string): Promise<void> {
    if (this.enabled) await kvDecrement(this.db, this.counterKey(key));
  }

  private counterKey(key: string): string {
    return `rate:${this.name}:${key}`.slice(0, 255);
  }
}
