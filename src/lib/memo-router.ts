/**
 * A router that remembers its answers: Hono's TrieRouter walks its tree of ~800 routes on every
 * request (about a tenth of the CPU of a small cached answer such as `GET /data/persons/{id}`);
 * the same method and path always give the same handlers and parameters while no route is added,
 * so the result of each (method, path) is kept, up to MAX_ENTRIES (the oldest dropped first).
 * Hono only reads a match result (HonoRequest, compose), never changes it, so sharing one between
 * requests is safe.
 */
import type { Result, Router } from "hono/router";
import { TrieRouter } from "hono/router/trie-router";

const MAX_ENTRIES = 5_000;

export class MemoRouter<T> implements Router<T> {
  name = "MemoRouter(TrieRouter)";
  #router = new TrieRouter<T>();
  #results = new Map<string, Result<T>>();

  add(method: string, path: string, handler: T): void {
    this.#results.clear();
    this.#router.add(method, path, handler);
  }

  match(method: string, path: string): Result<T> {
    const key = `${method} ${path}`;
    let result = this.#results.get(key);
    if (result === undefined) {
      result = this.#router.match(method, path);
      if (this.#results.size >= MAX_ENTRIES) this.#results.delete(this.#results.keys().next().value!);
      this.#results.set(key, result);
    }
    return result;
  }
}
