/**
 * Compression of answers (Content-Encoding) for clients that accept it: zstd, br or gzip,
 * whichever the client prefers (Accept-Encoding q-values; on a tie zstd, then gzip, then br).
 *
 * Only textual answers (JSON, NDJSON, text, XML, SVG...) of at least `threshold` bytes are
 * compressed: never media (images, video, archives: already compressed), never partial answers
 * (Range, 206, Content-Range, Accept-Ranges: byte offsets must stay those of the file), never
 * event streams (each event must leave at once), never HEAD,
 * 204/304, `Cache-Control: no-transform`, or answers already encoded.
 *
 * The body is streamed through the compressor: the answer's own chunks go in as they come and
 * compressed chunks go out, so neither the whole answer nor the whole compressed answer is held a
 * second time. When the answer's size is unknown (no Content-Length), the first chunks are read
 * until the threshold is reached or the body ends (small answers are then sent as they are).
 *
 * hono/compress (4.13) does only gzip/deflate and compresses answers of unknown size whatever their
 * size; CompressionStream("brotli") in Bun 1.4 runs at quality 11 (seconds per MB). Hence node:zlib
 * with fast levels here.
 */
import type { Context, MiddlewareHandler } from "hono";
import type * as Zlib from "node:zlib";

let zlibModule: typeof Zlib | null = null;
/** node:zlib, loaded at the first compressed answer rather than at start-up. */
const loadZlib = (): typeof Zlib => (zlibModule ??= require("node:zlib") as typeof Zlib);

export const COMPRESSION_THRESHOLD = 4 * 1024;

export type Encoding = "zstd" | "br" | "gzip";
/** Server preference on equal q-values: zstd and gzip are fast at these levels, br is slower. */
const PREFERENCE: Encoding[] = ["zstd", "gzip", "br"];
const COMPRESSIBLE = /^\s*(?:text\/|application\/(?:json|x-ndjson|ndjson|javascript|xml|x-yaml|yaml|csv|[^;\s]*\+json|[^;\s]*\+xml)|image\/svg\+xml)/i;
const NO_TRANSFORM = /(?:^|,)\s*no-transform\s*(?:,|$)/i;
let zstd: boolean | null = null;
const hasZstd = (): boolean => (zstd ??= typeof (loadZlib() as { createZstdCompress?: unknown }).createZstdCompress === "function");

/** Choices per Accept-Encoding value: clients send the same few values again and again. */
const chosen = new Map<string, Encoding | null>();

/** The encoding to use for an Accept-Encoding header, or null (none acceptable, or none asked). */
export function chooseEncoding(header: string | undefined): Encoding | null {
  if (!header) return null;
  let encoding = chosen.get(header);
  if (encoding === undefined) {
    encoding = parseAcceptEncoding(header);
    if (chosen.size >= 256) chosen.clear();
    chosen.set(header, encoding);
  }
  return encoding;
}

function parseAcceptEncoding(header: string): Encoding | null {
  const q = new Map<string, number>();
  for (const part of header.split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    if (!name) continue;
    let weight = 1;
    for (const param of params) {
      const match = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(param);
      if (match) weight = Number(match[1]);
    }
    if (Number.isFinite(weight)) q.set(name, weight);
  }
  let best: Encoding | null = null;
  let bestQ = 0;
  for (const encoding of PREFERENCE) {
    if (encoding === "zstd" && !hasZstd()) continue;
    const weight = q.get(encoding) ?? q.get("*") ?? 0;
    if (weight > bestQ) {
      best = encoding;
      bestQ = weight;
    }
  }
  return best;
}

function compressor(encoding: Encoding): Zlib.Gzip | Zlib.BrotliCompress {
  const zlib = loadZlib();
  switch (encoding) {
    case "zstd": {
      const create = (zlib as unknown as { createZstdCompress(options: object): Zlib.Gzip }).createZstdCompress;
      const level = (zlib.constants as Record<string, number>).ZSTD_c_compressionLevel;
      return create(level === undefined ? {} : { params: { [level]: 3 } });
    }
    case "br":
      return zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4, [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT } });
    default:
      return zlib.createGzip({ level: 4 });
  }
}

/** `bytes` compressed whole, off the event loop (for answers kept compressed by a cache). */
export function compressBytes(encoding: Encoding, bytes: ArrayBuffer): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const z = compressor(encoding);
    const chunks: Buffer[] = [];
    z.on("data", (chunk: Buffer) => chunks.push(chunk));
    z.on("error", reject);
    z.on("end", () => resolve(new Uint8Array(Buffer.concat(chunks))));
    z.end(Buffer.from(bytes));
  });
}

/** A web TransformStream over a node:zlib compressor (write callbacks give the backpressure). */
function compressionStream(encoding: Encoding): TransformStream<Uint8Array, Uint8Array> {
  const z = compressor(encoding);
  let failed: unknown = null;
  return new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      z.on("data", (chunk: Buffer) => controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
      z.on("error", (error) => {
        failed = error;
        try {
          controller.error(error);
        } catch {
          /* already closed */
        }
      });
    },
    transform(chunk) {
      if (failed) throw failed;
      return new Promise<void>((resolve, reject) => {
        z.write(chunk, (error) => (error ? reject(error) : resolve()));
      });
    },
    flush() {
      if (failed) throw failed;
      return new Promise<void>((resolve, reject) => {
        z.once("end", resolve);
        z.once("error", reject);
        z.end();
      });
    },
  });
}

/** A stream giving `head` then the rest of `reader`. */
function rejoin(head: Uint8Array[], reader: ReadableStreamDefaultReader<Uint8Array>): ReadableStream<Uint8Array> {
  let index = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (index < head.length) {
        controller.enqueue(head[index]!);
        head[index++] = new Uint8Array(0);
        return;
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

function concat(chunks: Uint8Array[], size: number): Uint8Array<ArrayBuffer> {
  if (chunks.length === 1) return chunks[0] as Uint8Array<ArrayBuffer>;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** Whether a Content-Type is textual (memoised: answers carry a handful of distinct values). */
const compressibleTypes = new Map<string, boolean>();
function isCompressibleType(type: string): boolean {
  let compressible = compressibleTypes.get(type);
  if (compressible === undefined) {
    compressible = COMPRESSIBLE.test(type) && !type.includes("event-stream");
    if (compressibleTypes.size >= 256) compressibleTypes.clear();
    compressibleTypes.set(type, compressible);
  }
  return compressible;
}

/**
 * Answers made by `c.json()` / `c.body(text)`, with whether their text is below the threshold:
 * their size is then known without reading their body as a stream (what an answer of unknown
 * size otherwise needs: a few µs, even for 300 bytes).
 */
const textAnswers = new WeakMap<Response, boolean>();

/** Whether `text` takes fewer than `threshold` bytes in UTF-8 (1 to 3 bytes per UTF-16 unit). */
function isSmallText(text: string, threshold: number): boolean {
  if (text.length >= threshold) return false;
  if (text.length * 3 < threshold) return true;
  return Buffer.byteLength(text) < threshold;
}

/** Lets `c.json()` and `c.body(string)` record the size class of the answers they make. */
function recordTextAnswers(c: Context, threshold: number): void {
  const body = c.body;
  const record = (res: Response, text: string): Response => {
    if (text.length > 0) textAnswers.set(res, isSmallText(text, threshold));
    return res;
  };
  c.body = ((data: unknown, ...rest: unknown[]) => {
    const res = (body as (...args: unknown[]) => Response)(data, ...rest);
    return typeof data === "string" ? record(res, data) : res;
  }) as typeof c.body;
  // Hono's own c.json: the same answer as c.body(JSON text) with a default JSON Content-Type.
  c.json = ((object: unknown, arg?: unknown, headers?: Record<string, string | string[]>) => {
    const text = JSON.stringify(object);
    const res = (body as (...args: unknown[]) => Response)(text, arg, { "Content-Type": "application/json", ...headers });
    return typeof text === "string" ? record(res, text) : res;
  }) as typeof c.json;
}

/** The compression middleware (see the file comment). */
export function compression(threshold = COMPRESSION_THRESHOLD): MiddlewareHandler {
  return async function compress(c, next) {
    recordTextAnswers(c, threshold);
    await next();
    const res = c.res;
    const status = res.status;
    if (status === 204 || status === 206 || status === 304 || c.req.method === "HEAD") return;
    const headers = res.headers;
    const type = headers.get("Content-Type");
    if (!type || !isCompressibleType(type)) return;
    if (headers.has("Content-Encoding") || headers.has("Content-Range") || headers.has("Accept-Ranges")) return;
    if (c.req.header("Range") !== undefined) return;
    const cacheControl = headers.get("Cache-Control");
    if (cacheControl && NO_TRANSFORM.test(cacheControl)) return;
    const length = headers.get("Content-Length");
    if (length !== null && Number(length) < threshold) return;
    const small = textAnswers.get(res);
    if (small === undefined && !res.body) return;
    const vary = headers.get("Vary");
    if (!vary) headers.set("Vary", "Accept-Encoding");
    else if (vary !== "*" && !/accept-encoding/i.test(vary)) headers.set("Vary", `${vary}, Accept-Encoding`);
    if (small === true) return;
    const encoding = chooseEncoding(c.req.header("Accept-Encoding"));
    if (!encoding) return;

    if (!res.body) return;
    let body: ReadableStream<Uint8Array> = res.body;
    if (length === null && small === undefined) {
      // Unknown size: read until the threshold is passed or the body ends.
      const reader = body.getReader();
      const head: Uint8Array[] = [];
      let size = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          // Unset first: Hono would otherwise copy the answer and merge its (same) headers again.
          c.res = undefined;
          c.res = new Response(concat(head, size), { status: res.status, statusText: res.statusText, headers });
          return;
        }
        head.push(value);
        size += value.byteLength;
        if (size >= threshold) break;
      }
      body = rejoin(head, reader);
    }
    headers.delete("Content-Length");
    headers.set("Content-Encoding", encoding);
    const etag = headers.get("ETag");
    if (etag && !etag.startsWith("W/")) headers.set("ETag", `W/${etag}`);
    c.res = undefined;
    c.res = new Response(body.pipeThrough(compressionStream(encoding)), { status: res.status, statusText: res.statusText, headers });
  };
}
