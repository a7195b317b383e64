/**
 * Request body limits (issue 8, item 3). Bodies read whole (JSON, forms: everything that goes
 * through Hono's `c.req.json()`, `text()`, `parseBody()`...) are capped at MAX_JSON_BODY_SIZE
 * bytes and refused with a 413:
 * - a non-multipart body (or any body on a public route) announcing more is refused before a
 *   byte of it is read; public routes (no token) take at most PUBLIC_BODY_LIMIT;
 * - a chunked one is read up to the cap (on protected routes, only by the handler, so after the
 *   token is checked), then refused;
 * - a multipart body on a protected route is left to stream: the upload readers read
 *   `c.req.raw.body` piece by piece to disk, while a whole read of it through Hono stops at the cap.
 */
import type { MiddlewareHandler } from "hono";
import type { HonoRequest } from "hono";
import type { AppEnv } from "../context";
import { ApiError } from "./errors";

export const PAYLOAD_TOO_LARGE_MESSAGE = "413 Request Entity Too Large: The data value transmitted exceeds the capacity limit.";

export function payloadTooLarge(): ApiError {
  return new ApiError(413, { error: true, message: PAYLOAD_TOO_LARGE_MESSAGE });
}

/** Reads a request body into memory, failing with a 413 as soon as it passes `limit` bytes. */
export async function readCapped(request: Request, limit: number): Promise<ArrayBuffer> {
  const body = request.body;
  if (!body) return new ArrayBuffer(0);
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw payloadTooLarge();
    }
    parts.push(value);
  }
  const buffer = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    buffer.set(part, offset);
    offset += part.byteLength;
  }
  return buffer.buffer;
}

const BODY_KINDS = ["arrayBuffer", "text", "json", "blob", "formData"] as const;

/**
 * Makes every whole read of the body through Hono (`c.req.text()`, `parseBody()`...) go through
 * `readCapped`, while `c.req.raw.body` stays a stream for the upload readers.
 */
function capWholeReads(req: HonoRequest, limit: number): void {
  let whole: Promise<ArrayBuffer> | undefined;
  const cache = new Map<string, Promise<unknown>>();
  const read = (kind: (typeof BODY_KINDS)[number]): Promise<unknown> => {
    let promise = cache.get(kind);
    if (!promise) {
      whole ??= readCapped(req.raw, limit);
      promise =
        kind === "arrayBuffer"
          ? whole
          : whole.then((buffer): Promise<unknown> => {
              const copy = new Response(buffer, { headers: req.raw.headers });
              return kind === "formData" ? copy.formData() : kind === "blob" ? copy.blob() : copy.text();
            });
      cache.set(kind, promise);
    }
    return promise;
  };
  const bodyCache = req.bodyCache as Record<string, unknown>;
  for (const kind of BODY_KINDS) {
    Object.defineProperty(bodyCache, kind, { enumerable: true, configurable: true, get: () => read(kind) });
  }
}

/** Cap of bodies on routes served without a token (login, password reset, SSO callbacks). */
export const PUBLIC_BODY_LIMIT = 1024 * 1024;

/** The body-limit middleware: `isPublic(path)` tells routes served without a token. */
export function bodyLimit(maxBytes: () => number, isPublic: (path: string) => boolean): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const raw = c.req.raw;
    if (!raw.body) return next();
    const publicRoute = isPublic(c.req.path);
    const limit = publicRoute ? Math.min(maxBytes(), PUBLIC_BODY_LIMIT) : maxBytes();
    const multipart = (c.req.header("content-type") ?? "").toLowerCase().includes("multipart/form-data");
    const announced = c.req.header("content-length");
    if (announced !== undefined && Number(announced) <= limit) return next();
    if (announced !== undefined && !(multipart && !publicRoute)) return refuse(c);
    if (publicRoute) {
      // Chunked, no token to check first: read up to the cap now, so the handler sees the body or
      // the client a 413.
      let buffer: ArrayBuffer;
      try {
        buffer = await readCapped(raw, limit);
      } catch (error) {
        if (error instanceof ApiError) return refuse(c);
        throw error;
      }
      (c.req.bodyCache as Record<string, unknown>).arrayBuffer = Promise.resolve(buffer);
      // Streaming readers (multipart uploads of shared-link guests) read the raw request: give
      // them the bytes already read.
      c.req.raw = new Request(raw.url, { method: raw.method, headers: raw.headers, body: buffer });
      return next();
    }
    // Chunked, or a large multipart body: read by the handler once the token is checked, whole up
    // to the cap, or streamed by an upload reader.
    capWholeReads(c.req, limit);
    return next();
  };
}

function refuse(c: Parameters<MiddlewareHandler<AppEnv>>[0]): Response {
  const error = payloadTooLarge();
  // The body is never read by the app: Bun discards what the client still sends.
  return c.json(error.body, 413);
}
