/**
 * In-process cache of large, expensive GET answers (the with-tasks lists Kitsu reloads on every
 * page), per caller and URL. Permission checks run inside `build`: the same caller on an unchanged
 * database gets the same answer, and only 200s are kept.
 *
 * How long an entry serves:
 *  - when `build` declared a scope (`declareAnswerScope`: the with-tasks lists, which know which
 *    writes concern them), while that scope says the answer is current; a write in another
 *    project, a comment or a notification leaves it alone;
 *  - otherwise, while no write at all went through the database since the answer was built
 *    (src/db/write-tracker.ts) and no other process committed to it (src/lib/change-signal.ts:
 *    the CLI, another worker).
 * A scope must itself drop the answer on an unexplained commit by another process (`externalVersion`;
 * the logged ones are in the write log) and on any write to a table the answer or its permission
 * checks read.
 *
 * Answers made by `partsResponse` are kept as a Blob with their parts: a hit sends the Blob as it
 * is, the next answer of the list is assembled from slices of the previous Blob, and gzip/zstd
 * copies are compressed in chunks of parts, reused across answers for the parts that did not change.
 */
import type { AppContext } from "../context";
import { writesVersion } from "../db/write-version";
import { PerDatabase, SizedCache } from "./sized-cache";
import { chooseEncoding, compressBlob, compressParts, COMPRESSION_THRESHOLD, isChunkedEncoding, noteAnswerSize, type ChunkedEncoding, type CompressedParts, type Encoding } from "./compression";

const MAX_BYTES = 256 * 1024 * 1024;

/** Tells whether an answer is still current (see `declareAnswerScope`). */
export type AnswerScope = () => boolean;

/** The scope declared by the build of a request's answer. */
const declared = new WeakMap<Request, AnswerScope>();

/**
 * Called by the code that builds an answer: the answer stays current while `scope()` is true
 * (instead of until the next write of any kind).
 */
export function declareAnswerScope(c: AppContext, scope: AnswerScope): void {
  declared.set(c.req.raw, scope);
}

/** Per request: the out-of-date answer it replaces, whose compressed chunks may serve again. */
const replaced = new WeakMap<Request, Entry>();

/**
 * Called by a build that shares nothing with the answer it replaces (a list built from scratch):
 * that answer is let go now rather than after the build, so that a large list is not held twice
 * (three times with the new Blob) while it is rebuilt.
 */
export function releaseReplacedAnswer(c: AppContext): void {
  replaced.delete(c.req.raw);
}

/**
 * An answer body known as parts (a with-tasks list: its fragments and separators): sent and kept
 * as one Blob (Bun sends a Blob as it is, with no copy into a new JS buffer), and compressed
 * chunk by chunk, so that after a write only the chunks holding changed parts are compressed again.
 */
interface PartsBody {
  blob: Blob;
  parts: Uint8Array[];
  /** Made on first use: index of each part that occurs once, and the offset of each part in the blob. */
  layout?: { index: Map<Uint8Array, number>; offsets: number[] };
}

/** Answers whose body is known parts: kept as they are, without reading the body again. */
const knownBodies = new WeakMap<Response, PartsBody>();

/**
 * The body last made with a given part (its first, middle and last parts are recorded), while it
 * is alive: the next answer of the same list shares most parts with it.
 */
const bodiesByPart = new WeakMap<Uint8Array, WeakRef<PartsBody>>();

function layoutOf(body: PartsBody): NonNullable<PartsBody["layout"]> {
  if (body.layout) return body.layout;
  const index = new Map<Uint8Array, number>();
  const offsets = new Array<number>(body.parts.length + 1);
  let offset = 0;
  for (let i = 0; i < body.parts.length; i++) {
    const part = body.parts[i]!;
    offsets[i] = offset;
    offset += part.byteLength;
    // A part found twice (a separator) cannot tell where a run starts: -1.
    index.set(part, index.has(part) ? -1 : i);
  }
  offsets[body.parts.length] = offset;
  body.layout = { index, offsets };
  return body.layout;
}

function probes(parts: Uint8Array[]): Uint8Array[] {
  const n = parts.length;
  return n < 3 ? parts : [parts[1]!, parts[n >> 1]!, parts[n - 2]!];
}

/**
 * A recorded body that shares parts with `parts` and has the same shape (same opening and
 * separator: not the NDJSON form of the same fragments), if one is alive.
 */
function previousBody(parts: Uint8Array[]): PartsBody | undefined {
  for (const part of probes(parts)) {
    const body = bodiesByPart.get(part)?.deref();
    if (body && body.parts[0] === parts[0] && body.parts[2] === parts[2]) return body;
  }
  return undefined;
}

/**
 * `parts` as one Blob. Runs of parts found in the same order in `previous` are taken as slices
 * of its Blob: after a one-task write, the new answer is three slices and a fragment, not
 * thousands of parts copied one by one (the Blob constructor costs a few µs per part, and a new
 * 12 MB buffer costs a garbage collection).
 */
export function assembleBlob(parts: Uint8Array[], previous?: { blob: Blob; parts: Uint8Array[] }): Blob {
  if (!previous || parts.length < 16) return new Blob(parts as Uint8Array<ArrayBuffer>[]);
  const { index, offsets } = layoutOf(previous as PartsBody);
  const old = previous.parts;
  const pieces: (Blob | Uint8Array<ArrayBuffer>)[] = [];
  for (let i = 0; i < parts.length; ) {
    const start = index.get(parts[i]!);
    if (start === undefined || start < 0) {
      pieces.push(parts[i++] as Uint8Array<ArrayBuffer>);
      continue;
    }
    let j = start;
    while (i < parts.length && j < old.length && parts[i] === old[j]) {
      i++;
      j++;
    }
    pieces.push(previous.blob.slice(offsets[start]!, offsets[j]!));
  }
  return new Blob(pieces);
}

/** A 200 answer whose body is `parts` one after the other (the cache keeps them, no copy). */
export function partsResponse(parts: Uint8Array[], contentType: string): Response {
  const body: PartsBody = { blob: assembleBlob(parts, previousBody(parts)), parts };
  const ref = new WeakRef(body);
  for (const part of probes(parts)) bodiesByPart.set(part, ref);
  const response = new Response(body.blob, { status: 200, headers: { "Content-Type": contentType } });
  knownBodies.set(response, body);
  noteAnswerSize(response, body.blob.size);
  return response;
}

/** A 200 answer with `bytes` as its body (the cache keeps these very bytes, no copy). */
export function bytesResponse(bytes: Uint8Array<ArrayBuffer>, contentType: string): Response {
  return partsResponse([bytes], contentType);
}

interface Entry {
  body: PartsBody;
  contentType: string;
  generation: number;
  scope: AnswerScope | undefined;
  /** The same answer compressed, per encoding, made on the first request that asked for it. */
  encoded: Partial<Record<Encoding, Blob>>;
  /**
   * Chunks compressed for this answer or for the one it replaced (the same list before a write):
   * those of unchanged parts are reused.
   */
  chunked: Partial<Record<ChunkedEncoding, CompressedParts>>;
}

function entryBytes(entry: Entry): number {
  let bytes = entry.body.blob.size;
  for (const encoded of Object.values(entry.encoded)) bytes += encoded.size;
  for (const chunked of Object.values(entry.chunked)) bytes += chunked.bytes;
  return bytes;
}

const caches = new PerDatabase(() => new SizedCache<Entry>({ maxTotal: MAX_BYTES, maxEntrySize: MAX_BYTES / 4, sizeOf: entryBytes }));

/**
 * Every write of this process and the ones other processes logged, plus the version of their
 * unexplained commits (both only grow).
 */
function databaseGeneration(db: object): number {
  return writesVersion(db, null);
}

/** The encoding to answer `c` with, for a body of `size` bytes (none for Range and HEAD: the body as it is). */
function answerEncoding(c: AppContext, size: number): Encoding | null {
  if (size < COMPRESSION_THRESHOLD || c.req.method === "HEAD" || c.req.header("Range") !== undefined) return null;
  return chooseEncoding(c.req.header("Accept-Encoding"));
}

/**
 * Chunks to compress up to which the answer waits for them and leaves as one body (after a
 * one-task write: one chunk); beyond (an answer built anew), the chunks leave as they are made.
 */
const WAIT_FOR_CHUNKS = 4;

function encodedResponse(body: Blob | ReadableStream<Uint8Array>, contentType: string, encoding: Encoding): Response {
  // The compression middleware leaves answers that carry a Content-Encoding alone.
  return new Response(body, { status: 200, headers: { "Content-Type": contentType, "Content-Encoding": encoding, Vary: "Accept-Encoding" } });
}

/** Keeps `body` (and the chunks it was made of) as `entry`'s answer in `encoding`, while the entry is the stored one. */
function keepEncoded(cache: SizedCache<Entry>, key: string, entry: Entry, encoding: Encoding, body: Blob, chunked?: CompressedParts): void {
  if (cache.peek(key) !== entry || entry.encoded[encoding]) return;
  entry.encoded[encoding] = body;
  if (chunked) entry.chunked[chunked.encoding] = chunked;
  cache.resize(key);
}

/**
 * `entry`'s answer in `encoding`: kept from an earlier request, or compressed now (the chunks of
 * unchanged parts reused) and kept.
 */
async function encodedAnswer(cache: SizedCache<Entry>, key: string, entry: Entry, encoding: Encoding): Promise<Response> {
  const kept = entry.encoded[encoding];
  if (kept) return encodedResponse(kept, entry.contentType, encoding);
  if (!isChunkedEncoding(encoding)) {
    const body = await compressBlob(encoding, entry.body.blob);
    keepEncoded(cache, key, entry, encoding, body);
    return encodedResponse(body, entry.contentType, encoding);
  }
  const compression = compressParts(encoding, entry.body.parts, entry.body.blob.size, entry.chunked[encoding]);
  const made = compression.done.then(({ body, state }) => {
    keepEncoded(cache, key, entry, encoding, body, state);
    return body;
  });
  if (compression.compressed <= WAIT_FOR_CHUNKS) return encodedResponse(await made, entry.contentType, encoding);
  made.catch(() => undefined);
  return encodedResponse(compression.stream(), entry.contentType, encoding);
}

function plainResponse(body: Blob, contentType: string): Response {
  const response = new Response(body, { status: 200, headers: { "Content-Type": contentType } });
  noteAnswerSize(response, body.size);
  return response;
}

/** Serves `build()`'s answer from the cache when the database has not changed since it was built. */
export async function cachedResponse(c: AppContext, build: () => Promise<Response>): Promise<Response> {
  const db = c.get("db");
  const cache = caches.of(db);
  const key = `${c.get("user").id} ${c.req.url.slice(c.req.url.indexOf("/", 8))}`;
  const generation = databaseGeneration(db);
  let hit = cache.peek(key);
  if (hit) {
    if (hit.scope ? hit.scope() : hit.generation === generation) {
      // Most recently used last, so eviction drops the oldest.
      cache.get(key);
      const encoding = answerEncoding(c, hit.body.blob.size);
      if (encoding) return encodedAnswer(cache, key, hit, encoding);
      return plainResponse(hit.body.blob, hit.contentType);
    }
    cache.delete(key);
    replaced.set(c.req.raw, hit);
    hit = undefined; // held by `replaced` only, which the build may release
  }
  const response = await build();
  const previous = replaced.get(c.req.raw);
  replaced.delete(c.req.raw);
  if (response.status !== 200 || !response.body) return response;
  const contentType = response.headers.get("content-type") ?? "application/json";
  const scope = declared.get(c.req.raw);
  const current = () => (scope ? scope() : databaseGeneration(db) === generation);
  const known = knownBodies.get(response);
  if (known) {
    // The chunks compressed for the answer this one replaces serve again for its unchanged parts.
    const entry: Entry = { body: known, contentType, generation, scope, encoded: {}, chunked: previous ? { ...previous.chunked } : {} };
    if (current()) cache.set(key, entry);
    const encoding = answerEncoding(c, known.blob.size);
    // Brotli is not put together from chunks: the compression middleware streams it.
    if (encoding && isChunkedEncoding(encoding)) return encodedAnswer(cache, key, entry, encoding);
    return response;
  }
  const keep = (bytes: Uint8Array<ArrayBuffer>) => {
    if (current()) cache.set(key, { body: { blob: new Blob([bytes]), parts: [bytes] }, contentType, generation, scope, encoded: {}, chunked: {} });
  };
  if (!contentType.includes("ndjson")) {
    // A whole body: encode it once, send and keep the same bytes.
    const bytes = new Uint8Array(await response.arrayBuffer());
    keep(bytes);
    return new Response(bytes, { status: 200, headers: response.headers });
  }
  // A stream (NDJSON): the client reads lines as they come while a copy is gathered for the cache.
  const [toClient, toCache] = response.body.tee();
  void new Response(toCache).arrayBuffer().then((bytes) => keep(new Uint8Array(bytes)), () => undefined);
  return new Response(toClient, { status: 200, headers: response.headers });
}

/** Drops every answer kept for `db` (tests compare with answers built from scratch). */
export function forgetCachedAnswers(db: object): void {
  caches.forget(db);
}
