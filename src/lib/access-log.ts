/**
 * The access log: one line per request with its method, path, status, duration and the id of the
 * authenticated person ("-" when none), written to standard output in the LOG_FORMAT format:
 *
 *   plain: 2026-01-02T03:04:05.678Z GET /api/data/projects 200 3.1ms person=<uuid>
 *   json:  {"time":"...","method":"GET","path":"/api/data/projects","status":200,"duration_ms":3.1,"person_id":"<uuid>"}
 *   off:   nothing
 *
 * The path is the raw one, without its query string (which may carry tokens).
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../context";

export type LogFormat = "plain" | "json" | "off";

/** Lines waiting to be written: one write to standard output per batch, not per request. */
let pending: string[] = [];
let flushTimer: ReturnType<typeof setTimeout> | null = null;

/** Writes the waiting lines now (also at exit, so none is lost). */
export function flushAccessLog(): void {
  if (flushTimer) clearTimeout(flushTimer);
  flushTimer = null;
  if (pending.length === 0) return;
  const text = pending.join("\n") + "\n";
  pending = [];
  process.stdout.write(text);
}
process.once("exit", flushAccessLog);

/** Where lines go; tests replace `write` to capture them. Lines are batched for 50 ms or 512 lines. */
export const accessLogSink = {
  write(line: string): void {
    pending.push(line);
    if (pending.length >= 512) flushAccessLog();
    else flushTimer ??= setTimeout(flushAccessLog, 50);
  },
};

export interface AccessLogEntry {
  time: string;
  method: string;
  path: string;
  status: number;
  duration_ms: number;
  person_id: string | null;
}

export function formatAccessLine(entry: AccessLogEntry, format: Exclude<LogFormat, "off">): string {
  if (format === "json") return JSON.stringify(entry);
  return `${entry.time} ${entry.method} ${entry.path} ${entry.status} ${entry.duration_ms}ms person=${entry.person_id ?? "-"}`;
}

/** Control characters and white space, which would let a client forge lines. */
const UNSAFE = /[\u0000-\u001f\u007f\s]/;
const UNSAFE_ALL = /[\u0000-\u001f\u007f\s]/g;

function rawPath(url: string): string {
  const start = url.indexOf("/", url.indexOf("://") + 3);
  const end = url.indexOf("?", start);
  const path = start === -1 ? "/" : end === -1 ? url.slice(start) : url.slice(start, end);
  return UNSAFE.test(path) ? path.replace(UNSAFE_ALL, (ch) => encodeURIComponent(ch)) : path;
}

/** The current time in ISO 8601, formatted once per millisecond (many requests share one). */
let isoMs = 0;
let isoText = "";
function isoNow(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}

/** The middleware; `format` is read per request so that a configuration change applies. */
export function accessLog(format: () => LogFormat): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const chosen = format();
    if (chosen === "off") return next();
    const started = performance.now();
    try {
      await next();
    } finally {
      const user = c.get("user") as { id?: string } | undefined;
      const entry: AccessLogEntry = {
        time: isoNow(),
        method: c.req.method,
        path: rawPath(c.req.url),
        status: c.res?.status ?? 500,
        duration_ms: Math.round((performance.now() - started) * 10) / 10,
        person_id: user?.id ?? null,
      };
      accessLogSink.write(formatAccessLine(entry, chosen));
    }
  };
}
