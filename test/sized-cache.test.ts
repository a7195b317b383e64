import { describe, expect, test } from "bun:test";
import { PerDatabase, SizedCache } from "../src/lib/sized-cache";

const lengthOf = (value: string) => value.length;

describe("SizedCache", () => {
  test("evicts the least recently used first until a new value fits", () => {
    const cache = new SizedCache<string>({ maxTotal: 10, sizeOf: lengthOf });
    cache.set("a", "aaa");
    cache.set("b", "bbb");
    cache.set("c", "ccc");
    expect(cache.get("a")).toBe("aaa"); // a is now the most recent: b is the oldest
    expect(cache.peek("b")).toBe("bbb"); // peek does not change the order
    cache.set("d", "dddd");
    expect(cache.peek("b")).toBeUndefined();
    expect([cache.peek("a"), cache.peek("c"), cache.peek("d")]).toEqual(["aaa", "ccc", "dddd"]);
    expect(cache.total).toBe(10);
    expect(cache.size).toBe(3);
    cache.set("e", "eeeeee"); // drops c and a (oldest), keeps d
    expect(cache.peek("c")).toBeUndefined();
    expect(cache.peek("a")).toBeUndefined();
    expect(cache.total).toBe(10);
  });

  test("bounds the number of entries", () => {
    const cache = new SizedCache<string>({ maxEntries: 2 });
    cache.set("a", "1");
    cache.set("b", "2");
    cache.set("a", "3"); // replacing moves a last
    cache.set("c", "4");
    expect(cache.peek("b")).toBeUndefined();
    expect(cache.peek("a")).toBe("3");
    expect(cache.size).toBe(2);
    expect(cache.total).toBe(0);
  });

  test("refuses a value larger than the per-entry limit and drops the previous one", () => {
    const cache = new SizedCache<string>({ maxTotal: 100, maxEntrySize: 4, sizeOf: lengthOf });
    expect(cache.set("a", "aaaa")).toBe(true);
    expect(cache.set("b", "bb")).toBe(true);
    expect(cache.set("a", "aaaaa")).toBe(false);
    expect(cache.peek("a")).toBeUndefined();
    expect(cache.peek("b")).toBe("bb");
    expect(cache.total).toBe(2);
  });

  test("resize and grow account for values that grow in place; delete and clear give it back", () => {
    const cache = new SizedCache<{ n: number }>({ maxTotal: 10, sizeOf: (value) => value.n });
    const a = { n: 2 };
    cache.set("a", a);
    cache.set("b", { n: 3 });
    a.n = 6;
    cache.resize("a");
    expect(cache.total).toBe(9);
    cache.grow("b", 2);
    expect(cache.total).toBe(11); // no eviction on growth
    expect(cache.size).toBe(2);
    cache.set("c", { n: 1 }); // now evicts the oldest (a) to fit
    expect(cache.peek("a")).toBeUndefined();
    expect(cache.total).toBe(6);
    expect(cache.delete("b")).toBe(true);
    expect(cache.delete("b")).toBe(false);
    expect(cache.total).toBe(1);
    cache.resize("missing");
    cache.grow("missing", 5);
    expect(cache.total).toBe(1);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.total).toBe(0);
  });
});

describe("PerDatabase", () => {
  test("one value per database object, made on first use", () => {
    const caches = new PerDatabase(() => new SizedCache<string>({ maxEntries: 1 }));
    const db1 = {};
    const db2 = {};
    expect(caches.existing(db1)).toBeUndefined();
    const cache = caches.of(db1);
    expect(caches.of(db1)).toBe(cache);
    expect(caches.of(db2)).not.toBe(cache);
    caches.forget(db1);
    expect(caches.existing(db1)).toBeUndefined();
    expect(caches.existing(db2)).toBeDefined();
  });
});
