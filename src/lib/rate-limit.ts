/**
 * Per-client-address limits and the client address itself: the socket's peer (Bun's
 * `server.requestIP`, which Hono passes as `c.env` when the app is Bun's `fetch`), or the
 * `X-Forwarded-For` client when that peer is one of TRUSTED_PROXIES.
 */
import type { BlockList } from "node:net";
import type { Context } from "hono";

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
 * A fixed-window counter per key, in memory: at most `limit` attempts per `windowSeconds`.
 * `take` answers 0 when allowed, else the seconds until the window ends (for Retry-After).
 */
export class RateLimiter {
  private readonly windows = new Map<string, { count: number; endsAt: number }>();
  private nextSweep = 0;

  constructor(
    private readonly limit: number,
    private readonly windowSeconds: number,
  ) {}

  get enabled(): boolean {
    return this.limit > 0 && this.windowSeconds > 0;
  }

  take(key: string, now = Date.now()): number {
    if (!this.enabled) return 0;
    this.sweep(now);
    let window = this.windows.get(key);
    if (!window || window.endsAt <= now) {
      window = { count: 0, endsAt: now + this.windowSeconds * 1000 };
      this.windows.set(key, window);
    }
    if (window.count >= this.limit) return Math.max(1, Math.ceil((window.endsAt - now) / 1000));
    window.count += 1;
    return 0;
  }

  /** Gives an attempt back (a successful login does not count). */
  release(key: string): void {
    const window = this.windows.get(key);
    if (window && window.count > 0) window.count -= 1;
  }

  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + this.windowSeconds * 1000;
    for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key);
  }
}
