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
 */
import type { AppContext } from "../context";
import { totalWriteGeneration } from "../db/write-tracker";
import { externalVersion } from "./change-signal";
import { chooseEncoding, compressBytes, COMPRESSION_THRESHOLD, type Encoding } from "./compression";

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

/** Answers whose body is known bytes: kept as they are, without reading the body again. */
const knownBodies = new WeakMap<Response, Uint8Array<ArrayBuffer>>();

/** A 200 answer with `bytes` as its body (the cache keeps these very bytes, no copy). */
export function bytesResponse(bytes: Uint8Array<ArrayBuffer>, contentType: string): Response {
  const response = new Response(bytes, { status: 200, headers: { "Content-Type": contentType } });
  knownBodies.set(response, bytes);
  return response;
}

/** The whole buffer of `bytes` (compression reads an ArrayBuffer). */
function wholeBuffer(bytes: Uint8Array<ArrayBuffer>): ArrayBuffer {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
}

interface Entry {
  bytes: Uint8Array<ArrayBuffer>;
  contentType: string;
  generation: number;
  scope: AnswerScope | undefined;
  /** The same answer compressed, per encoding, made on the first hit that asked for it. */
  encoded: Partial<Record<Encoding, Uint8Array>>;
}

interface Store {
  entries: Map<string, Entry>;
  bytes: number;
}

const stores = new WeakMap<object, Store>();

function storeOf(owner: object): Store {
  let store = stores.get(owner);
  if (!store) {
    store = { entries: new Map(), bytes: 0 };
    stores.set(owner, store);
  }
  return store;
}

function remove(store: Store, key: string): void {
  const entry = store.entries.get(key);
  if (!entry) return;
  store.bytes -= entry.bytes.byteLength;
  for (const encoded of Object.values(entry.encoded)) store.bytes -= encoded.byteLength;
  store.entries.delete(key);
}

function put(store: Store, key: string, entry: Entry): void {
  remove(store, key);
  if (entry.bytes.byteLength > MAX_BYTES / 4) return;
  while (store.bytes + entry.bytes.byteLength > MAX_BYTES && store.entries.size > 0) {
    remove(store, store.entries.keys().next().value!);
  }
  store.entries.set(key, entry);
  store.bytes += entry.bytes.byteLength;
}

/**
 * Every write of this process and the ones other processes logged, plus the version of their
 * unexplained commits (both only grow). The version first: reading it brings in the logged ones.
 */
function databaseGeneration(db: object): number {
  return externalVersion(db) + totalWriteGeneration();
}

/** Serves `build()`'s answer from the cache when the database has not changed since it was built. */
export async function cachedResponse(c: AppContext, build: () => Promise<Response>): Promise<Response> {
  const db = c.get("db");
  const store = storeOf(db);
  const key = `${c.get("user").id} ${c.req.url.slice(c.req.url.indexOf("/", 8))}`;
  const generation = databaseGeneration(db);
  const hit = store.entries.get(key);
  if (hit) {
    if (hit.scope ? hit.scope() : hit.generation === generation) {
      // Most recently used last, so eviction drops the oldest.
      store.entries.delete(key);
      store.entries.set(key, hit);
      const encoding = hit.bytes.byteLength >= COMPRESSION_THRESHOLD && c.req.header("Range") === undefined ? chooseEncoding(c.req.header("Accept-Encoding")) : null;
      if (encoding) {
        // Compressed once, then served as it is (the compression middleware leaves encoded answers alone).
        let encoded = hit.encoded[encoding];
        if (!encoded) {
          encoded = await compressBytes(encoding, wholeBuffer(hit.bytes));
          if (store.entries.get(key) === hit) {
            hit.encoded[encoding] = encoded;
            store.bytes += encoded.byteLength;
          }
        }
        return new Response(encoded as Uint8Array<ArrayBuffer>, { status: 200, headers: { "Content-Type": hit.contentType, "Content-Encoding": encoding, Vary: "Accept-Encoding" } });
      }
      return new Response(hit.bytes, { status: 200, headers: { "Content-Type": hit.contentType } });
    }
    remove(store, key);
  }
  const response = await build();
  if (response.status !== 200 || !response.body) return response;
  const contentType = response.headers.get("content-type") ?? "application/json";
  const scope = declared.get(c.req.raw);
  const keep = (bytes: Uint8Array<ArrayBuffer>) => {
    if (scope ? scope() : databaseGeneration(db) === generation) put(store, key, { bytes, contentType, generation, scope, encoded: {} });
  };
  const known = knownBodies.get(response);
  if (known) {
    keep(known);
    return response;
  }
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
  stores.delete(db);
}
