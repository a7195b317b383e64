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
 * Answers made of parts and kept by the answer cache (the with-tasks lists) are compressed by
 * `compressParts` instead, in chunks that the next answer reuses where its parts are the same.
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

/** Encodings whose compressed answers can be put together from chunks compressed apart. */
export type ChunkedEncoding = "gzip" | "zstd";

export function isChunkedEncoding(encoding: Encoding): encoding is ChunkedEncoding {
  return encoding === "gzip" || encoding === "zstd";
}

/**
 * An answer made of parts, compressed in chunks of `per` consecutive parts: `sources[i]` are the
 * parts chunk i was made from (compared by identity: parts are never changed once made), `chunks[i]`
 * its compressed bytes (gzip: raw deflate ending on a full flush; zstd: one frame).
 */
export interface CompressedParts {
  encoding: ChunkedEncoding;
  per: number;
  sources: Uint8Array[][];
  chunks: Uint8Array<ArrayBuffer>[];
  bytes: number;
}

/** About this many bytes per chunk: the deflate window is 32 KiB, so gzip loses nothing to chunking. */
const CHUNK_TARGET = 128 * 1024;
const GZIP_HEADER = new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
/** An empty final deflate block (fixed Huffman). */
const DEFLATE_END = new Uint8Array([0x03, 0x00]);

/** Parts per chunk: a power of two, so that a small change of the answer's size keeps the same cut. */
function partsPerChunk(parts: Uint8Array[], size: number): number {
  const average = Math.max(1, size / Math.max(1, parts.length));
  return 2 ** Math.min(13, Math.max(3, Math.round(Math.log2(CHUNK_TARGET / average))));
}

function sameParts(a: Uint8Array[] | undefined, b: Uint8Array[]): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function compressChunk(encoding: ChunkedEncoding, bytes: Buffer): Promise<Uint8Array<ArrayBuffer>> {
  const zlib = loadZlib();
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, out: Buffer) => (error ? reject(error) : resolve(new Uint8Array(out.buffer as ArrayBuffer, out.byteOffset, out.byteLength)));
    if (encoding === "gzip") zlib.deflateRaw(bytes, { level: 4, finishFlush: zlib.constants.Z_FULL_FLUSH }, done);
    else zlib.zstdCompress(bytes, { params: { [zlib.constants.ZSTD_c_compressionLevel]: 3 } }, done);
  });
}

/** Chunks compressed at once: as many as the cores here; each holds a copy of its parts while compressed. */
const CHUNKS_IN_FLIGHT = 2;

/** A compression of an answer's parts under way (`compressParts`). */
export interface PartsCompression {
  /** How many chunks are compressed (the others are reused). */
  compressed: number;
  /** The compressed answer piece by piece, each as soon as it is ready (the body can leave before the end). */
  stream(): ReadableStream<Uint8Array>;
  /** The whole compressed answer, and what the next compression can reuse. */
  done: Promise<{ body: Blob; state: CompressedParts }>;
}

/**
 * `parts` (an answer of `size` bytes) compressed: chunks whose parts are the very same as in
 * `previous` are taken from it, the others compressed off the event loop, a few at a time.
 * gzip: one member whose deflate stream is the chunks' blocks one after the other, with the CRC
 * and size of the whole; zstd: one frame per chunk (a zstd stream is a sequence of frames).
 */
export function compressParts(encoding: ChunkedEncoding, parts: Uint8Array[], size: number, previous?: CompressedParts): PartsCompression {
  const per = partsPerChunk(parts, size);
  const reuse = previous && previous.encoding === encoding && previous.per === per ? previous : undefined;
  const sources: Uint8Array[][] = [];
  const chunks: Promise<Uint8Array<ArrayBuffer>>[] = [];
  const queue: { source: Uint8Array[]; resolve(chunk: Uint8Array<ArrayBuffer>): void; reject(error: unknown): void }[] = [];
  for (let start = 0, i = 0; start < parts.length; start += per, i++) {
    const source = parts.slice(start, start + per);
    sources.push(source);
    if (reuse && sameParts(reuse.sources[i], source)) chunks.push(Promise.resolve(reuse.chunks[i]!));
    else chunks.push(new Promise((resolve, reject) => queue.push({ source, resolve, reject })));
  }
  const compressed = queue.length;
  const work = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      try {
        job.resolve(await compressChunk(encoding, Buffer.concat(job.source)));
      } catch (error) {
        job.reject(error);
      }
    }
  };
  for (let i = 0; i < Math.min(CHUNKS_IN_FLIGHT, compressed); i++) void work();
  let head: Uint8Array<ArrayBuffer>[] = [];
  let tail: Uint8Array<ArrayBuffer>[] = [];
  if (encoding === "gzip") {
    const zlib = loadZlib();
    let crc = 0;
    for (const part of parts) crc = zlib.crc32(part, crc);
    const trailer = new Uint8Array(8);
    const view = new DataView(trailer.buffer);
    view.setUint32(0, crc >>> 0, true);
    view.setUint32(4, size >>> 0, true);
    head = [GZIP_HEADER];
    tail = [DEFLATE_END, trailer];
  }
  const done = Promise.all(chunks).then((made) => {
    let bytes = 0;
    for (const chunk of made) bytes += chunk.byteLength;
    return { body: new Blob([...head, ...made, ...tail]), state: { encoding, per, sources, chunks: made, bytes } };
  });
  const stream = () => {
    const pieces: (Uint8Array<ArrayBuffer> | Promise<Uint8Array<ArrayBuffer>>)[] = [...head, ...chunks, ...tail];
    let index = 0;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (index >= pieces.length) return controller.close();
        controller.enqueue(await pieces[index++]!);
      },
    });
  };
  return { compressed, stream, done };
}

/** `body` compressed as a stream and gathered (for encodings that are not put together from chunks). */
export async function compressBlob(encoding: Encoding, body: Blob): Promise<Blob> {
  const out: Uint8Array[] = [];
  const reader = body.stream().pipeThrough(compressionStream(encoding)).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    out.push(value);
  }
  return new Blob(out as Uint8Array<ArrayBuffer>[]);
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

/** Answers whose body size is known (a Blob made from parts): no need to read them to know it. */
const answerSizes = new WeakMap<Response, number>();

/** Records the size of `response`'s body, so that the middleware never reads it to learn it. */
export function noteAnswerSize(response: Response, size: number): void {
  answerSizes.set(response, size);
}

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

/**
 * HEAD is answered with the GET answer's headers and no body (Hono): its Content-Length is set to
 * the length of the body a GET gets (uncompressed, as HEAD is never compressed); Bun would send 0.
 */
async function headLength(res: Response): Promise<void> {
  if (!res.body || res.headers.has("Content-Length") || res.status === 204 || res.status === 304) return;
  const size = answerSizes.get(res) ?? (await res.clone().arrayBuffer()).byteLength;
  res.headers.set("Content-Length", String(size));
}

/** The compression middleware (see the file comment). */
export function compression(threshold = COMPRESSION_THRESHOLD): MiddlewareHandler {
  return async function compress(c, next) {
    recordTextAnswers(c, threshold);
    await next();
    const res = c.res;
    const status = res.status;
    if (c.req.method === "HEAD") return headLength(res);
    if (status === 204 || status === 206 || status === 304) return;
    const headers = res.headers;
    const type = headers.get("Content-Type");
    if (!type || !isCompressibleType(type)) return;
    if (headers.has("Content-Encoding") || headers.has("Content-Range") || headers.has("Accept-Ranges")) return;
    if (c.req.header("Range") !== undefined) return;
    const cacheControl = headers.get("Cache-Control");
    if (cacheControl && NO_TRANSFORM.test(cacheControl)) return;
    const length = headers.get("Content-Length");
    if (length !== null && Number(length) < threshold) return;
    const size = answerSizes.get(res);
    const small = size !== undefined ? size < threshold : textAnswers.get(res);
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
