/**
 * A bounded key → value cache, least recently used first: a value has a size (`sizeOf`: characters,
 * bytes...), the cache keeps at most `maxTotal` of it in all and, optionally, at most `maxEntries`
 * values; storing a value drops the oldest ones until it fits. A value larger than `maxEntrySize`
 * is not kept.
 *
 * The size of a value is recorded when it is stored; a value that grows afterwards (a compressed
 * copy added to it) is measured again with `resize`, which does not evict: the next `set` does.
 */
export interface SizedCacheLimits<V> {
  /** Total size of the kept values (default: no limit). */
  maxTotal?: number;
  /** Number of kept values (default: no limit). */
  maxEntries?: number;
  /** Size of one value (default: no limit); a larger one is not kept. */
  maxEntrySize?: number;
  /** The size of a value (default: 0, only `maxEntries` bounds the cache). */
  sizeOf?: (value: V) => number;
}

interface Slot<V> {
  value: V;
  size: number;
}

export class SizedCache<V> {
  /** Most recently used last. */
  readonly #slots = new Map<string, Slot<V>>();
  #total = 0;
  readonly #maxTotal: number;
  readonly #maxEntries: number;
  readonly #maxEntrySize: number;
  readonly #sizeOf: (value: V) => number;

  constructor(limits: SizedCacheLimits<V>) {
    this.#maxTotal = limits.maxTotal ?? Infinity;
    this.#maxEntries = limits.maxEntries ?? Infinity;
    this.#maxEntrySize = limits.maxEntrySize ?? Infinity;
    this.#sizeOf = limits.sizeOf ?? (() => 0);
  }

  /** Number of kept values. */
  get size(): number {
    return this.#slots.size;
  }

  /** Total size of the kept values. */
  get total(): number {
    return this.#total;
  }

  /** The value of `key`, now the most recently used. */
  get(key: string): V | undefined {
    const slot = this.#slots.get(key);
    if (!slot) return undefined;
    this.#slots.delete(key);
    this.#slots.set(key, slot);
    return slot.value;
  }

  /** The value of `key`, its recency unchanged. */
  peek(key: string): V | undefined {
    return this.#slots.get(key)?.value;
  }

  /**
   * Keeps `value` for `key` (replacing the previous one) as the most recently used, dropping the
   * oldest values until it fits. False when it is too large to keep (the previous one is dropped).
   */
  set(key: string, value: V): boolean {
    this.delete(key);
    const size = this.#sizeOf(value);
    if (size > this.#maxEntrySize) return false;
    while ((this.#slots.size >= this.#maxEntries || this.#total + size > this.#maxTotal) && this.#slots.size > 0) {
      this.delete(this.#slots.keys().next().value!);
    }
    this.#slots.set(key, { value, size });
    this.#total += size;
    return true;
  }

  /** Drops the value of `key`; false when there was none. */
  delete(key: string): boolean {
    const slot = this.#slots.get(key);
    if (!slot) return false;
    this.#slots.delete(key);
    this.#total -= slot.size;
    return true;
  }

  /** Measures the value of `key` again after it changed in place (no eviction, recency unchanged). */
  resize(key: string): void {
    const slot = this.#slots.get(key);
    if (!slot) return;
    const size = this.#sizeOf(slot.value);
    this.#total += size - slot.size;
    slot.size = size;
  }

  /** Adds `delta` to the recorded size of `key`'s value (no eviction, recency unchanged). */
  grow(key: string, delta: number): void {
    const slot = this.#slots.get(key);
    if (!slot) return;
    slot.size += delta;
    this.#total += delta;
  }

  /** Drops every value. */
  clear(): void {
    this.#slots.clear();
    this.#total = 0;
  }
}

/** One cache (or any per-database state) per database object, made on first use, dropped with the database. */
export class PerDatabase<T> {
  readonly #items = new WeakMap<object, T>();
  readonly #make: () => T;

  constructor(make: () => T) {
    this.#make = make;
  }

  /** The one of `db`, made now if there is none. */
  of(db: object): T {
    let item = this.#items.get(db);
    if (item === undefined) {
      item = this.#make();
      this.#items.set(db, item);
    }
    return item;
  }

  /** The one of `db` if it was made. */
  existing(db: object): T | undefined {
    return this.#items.get(db);
  }

  /** Drops the one of `db`. */
  forget(db: object): void {
    this.#items.delete(db);
  }
}
