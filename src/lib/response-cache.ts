/**
 * In-process cache of large, expensive GET answers (the with-tasks lists Kitsu reloads on every
 * page), per caller and URL. An entry serves only while no write at all went through the database
 * since the answer was built (src/db/write-tracker.ts) and no other process committed to it
 * (src/lib/change-signal.ts: the CLI, another worker). Permission checks run inside `build`: the
 * same caller on an unchanged database gets the same answer, and only 200s are kept.
 */
import type { AppContext } from "../context";
import { totalWriteGeneration } from "../db/write-tracker";
import { externalVersion } from "./change-signal";
import { chooseEncoding, compressBytes, COMPRESSION_THRESHOLD, type Encoding } from "./compression";

const MAX_BYTES = 256 * 1024 * 1024;

interface Entry {
  bytes: ArrayBuffer;
  contentType: string;
  generation: number;
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

/** Every write of this process plus the version of other processes' commits (both only grow). */
function databaseGeneration(db: object): number {
  return totalWriteGeneration() + externalVersion(db);
}

/** Serves `build()`'s answer from the cache when the database has not changed since it was built. */
export async function cachedResponse(c: AppContext, build: () => Promise<Response>): Promise<Response> {
  const db = c.get("db");
  const store = storeOf(db);
  const key = `${c.get("user").id} ${c.req.url.slice(c.req.url.indexOf("/", 8))}`;
  const generation = databaseGeneration(db);
  const hit = store.entries.get(key);
  if (hit) {
    if (hit.generation === generation) {
      // Most recently used last, so eviction drops the oldest.
      store.entries.delete(key);
      store.entries.set(key, hit);
      const encoding = hit.bytes.byteLength >= COMPRESSION_THRESHOLD && c.req.header("Range") === undefined ? chooseEncoding(c.req.header("Accept-Encoding")) : null;
      if (encoding) {
        // Compressed once, then served as it is (the compression middleware leaves encoded answers alone).
        let encoded = hit.encoded[encoding];
        if (!encoded) {
          encoded = await compressBytes(encoding, hit.bytes);
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
  const keep = (bytes: ArrayBuffer) => {
    if (databaseGeneration(db) === generation) put(store, key, { bytes, contentType, generation, encoded: {} });
  };
  if (!contentType.includes("ndjson")) {
    // A whole body: encode it once, send and keep the same bytes.
    const bytes = await response.arrayBuffer();
    keep(bytes);
    return new Response(bytes, { status: 200, headers: response.headers });
  }
  // A stream (NDJSON): the client reads lines as they come while a copy is gathered for the cache.
  const [toClient, toCache] = response.body.tee();
  void new Response(toCache).arrayBuffer().then(keep, () => undefined);
  return new Response(toClient, { status: 200, headers: response.headers });
}
