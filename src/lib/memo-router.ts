/**
 * The app's router. Two things on top of Hono's TrieRouter:
 *  - Its answers are remembered: the TrieRouter walks its tree of ~800 routes on every request
 *    (about a tenth of the CPU of a small cached answer such as `GET /data/persons/{id}`); the same
 *    method and path always give the same handlers and parameters while no route is added, so the
 *    result of each (method, path) is kept, up to MAX_ENTRIES (the oldest dropped first). Hono only
 *    reads a match result (HonoRequest, compose), never changes it, so sharing one is safe.
 *  - Its tree is built in parts, when first needed: inserting ~800 routes into one tree was the
 *    largest part of the server's start-up. A route whose first two path segments are plain words
 *    (`/data/persons/:id`) goes to the part of those two words; any other (`*`, `/:a/...`,
 *    `/data/*`) to every part. A path can only match routes of its own part or of every part, and
 *    each part gets its routes in the order they were added, so it answers as one tree would.
 */
import type { Result, Router } from "hono/router";
import { TrieRouter } from "hono/router/trie-router";

const MAX_ENTRIES = 5_000;

interface Route<T> {
  order: number;
  method: string;
  path: string;
  handler: T;
}

interface Part<T> {
  routes: Route<T>[];
  /** Built at the first match after a route was added. */
  router: TrieRouter<T> | null;
}

/** The part of a route pattern, or null when its first two segments are not plain words. */
function patternPart(path: string): string | null {
  const segments = path.split("/");
  const first = segments[1] ?? "";
  const second = segments[2];
  if (/[:*{}?]/.test(first) || (second !== undefined && /[:*{}?]/.test(second))) return null;
  return `${first}/${second ?? ""}`;
}

/** The part a request path belongs to: its first two segments. */
function pathPart(path: string): string {
  const firstEnd = path.indexOf("/", 1);
  if (firstEnd === -1) return `${path.slice(1)}/`;
  const secondEnd = path.indexOf("/", firstEnd + 1);
  return secondEnd === -1 ? path.slice(1) : path.slice(1, secondEnd);
}

export class MemoRouter<T> implements Router<T> {
  name = "MemoRouter(TrieRouter)";
  #order = 0;
  /** Routes that may match any path. */
  #everywhere: Route<T>[] = [];
  #parts = new Map<string, Part<T>>();
  /** Paths of no part: only the routes of every part apply. */
  #elsewhere: Part<T> = { routes: [], router: null };
  #results = new Map<string, Result<T>>();

  add(method: string, path: string, handler: T): void {
    this.#results.clear();
    const route: Route<T> = { order: this.#order++, method, path, handler };
    const name = patternPart(path);
    if (name === null) {
      this.#everywhere.push(route);
      for (const part of this.#parts.values()) part.router = null;
      this.#elsewhere.router = null;
      return;
    }
    let part = this.#parts.get(name);
    if (!part) this.#parts.set(name, (part = { routes: [], router: null }));
    part.routes.push(route);
    part.router = null;
  }

  match(method: string, path: string): Result<T> {
    const key = `${method} ${path}`;
    let result = this.#results.get(key);
    if (result === undefined) {
      result = this.#routerOf(this.#parts.get(pathPart(path)) ?? this.#elsewhere).match(method, path);
      if (this.#results.size >= MAX_ENTRIES) this.#results.delete(this.#results.keys().next().value!);
      this.#results.set(key, result);
    }
    return result;
  }

  #routerOf(part: Part<T>): TrieRouter<T> {
    if (part.router) return part.router;
    const router = new TrieRouter<T>();
    // Both lists are in the order routes were added: merged, the tree sees that order.
    const own = part.routes;
    const everywhere = this.#everywhere;
    let i = 0;
    let j = 0;
    while (i < own.length || j < everywhere.length) {
      const route = j >= everywhere.length || (i < own.length && own[i]!.order < everywhere[j]!.order) ? own[i++]! : everywhere[j++]!;
      router.add(route.method, route.path, route.handler);
    }
    part.router = router;
    return router;
  }
}
