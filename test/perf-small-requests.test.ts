/**
 * The request path and the start-up stay cheap without changing answers (issue 13, item 5): the
 * change signal is read once per event-loop turn, answers made from text have a known size for
 * the compression middleware, the migrations check is one query on an up-to-date database, and
 * rarely used heavy modules are loaded on first use, not at start-up.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import zlib from "node:zlib";
import { Hono } from "hono";
import { sql } from "kysely";
import { migrateToLatest, openDatabase } from "../src/db/database";
import { externalVersion } from "../src/lib/change-signal";
import { compression, COMPRESSION_THRESHOLD } from "../src/lib/compression";

const folder = mkdtempSync(join(tmpdir(), "zou-small-requests-"));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const nextTurn = () => new Promise<void>((done) => setImmediate(done));

describe("the change signal of a SQLite file", () => {
  test("is read once per event-loop turn; another connection's commit shows on the next turn", async () => {
    const file = join(folder, "signal.db");
    const db = openDatabase(`sqlite://${file}`);
    await migrateToLatest(db);
    await nextTurn();
    const before = externalVersion(db);
    const other = new Database(file);
    other.exec("PRAGMA busy_timeout = 5000");
    other.query("insert into kv_store (key, value) values ('signal-test', 'x')").run();
    // The same turn: the value read at its start is kept (requests of this turn were all received
    // before it was read).
    expect(externalVersion(db)).toBe(before);
    await nextTurn();
    const after = externalVersion(db);
    expect(after).not.toBe(before);
    // Its own writes do not move it.
    await sql`insert into kv_store (key, value) values ('signal-own', 'y')`.execute(db);
    await nextTurn();
    expect(externalVersion(db)).toBe(after);
    other.close();
    await db.destroy();
  });
});

describe("compression of answers made from text", () => {
  const app = new Hono();
  app.use("*", compression());
  // 'é' is two bytes in UTF-8: fewer characters than the threshold, more bytes.
  const accented = "é".repeat(Math.ceil(COMPRESSION_THRESHOLD * 0.6));
  app.get("/small", (c) => c.json({ ok: true }));
  app.get("/accented", (c) => c.json({ text: accented }));
  app.get("/large", (c) => c.json({ rows: Array.from({ length: 500 }, (_, i) => ({ id: i, name: `row ${i}` })) }));
  app.get("/text", (c) => c.body("y".repeat(COMPRESSION_THRESHOLD * 2), 200, { "Content-Type": "text/plain" }));
  app.get("/status", (c) => c.json({ error: true }, 404, { "X-Extra": "1" }));
  const get = (path: string) => app.request(path, { headers: { "Accept-Encoding": "gzip" } });

  test("a small JSON answer goes out as it is, with Vary as before", async () => {
    const res = await get("/small");
    expect(res.headers.get("content-encoding")).toBeNull();
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("vary")).toBe("Accept-Encoding");
    expect(await res.json()).toEqual({ ok: true });
  });

  test("the size counts UTF-8 bytes, not characters", async () => {
    expect(accented.length).toBeLessThan(COMPRESSION_THRESHOLD);
    expect(Buffer.byteLength(accented)).toBeGreaterThan(COMPRESSION_THRESHOLD);
    const res = await get("/accented");
    expect(res.headers.get("content-encoding")).toBe("gzip");
    expect(JSON.parse(zlib.gunzipSync(Buffer.from(await res.arrayBuffer())).toString("utf8"))).toEqual({ text: accented });
  });

  test("large JSON and text answers are compressed", async () => {
    for (const path of ["/large", "/text"]) {
      const res = await get(path);
      expect(res.headers.get("content-encoding")).toBe("gzip");
      const plain = await app.request(path);
      expect(zlib.gunzipSync(Buffer.from(await res.arrayBuffer())).toString("utf8")).toBe(await plain.text());
    }
  });

  test("c.json keeps its status, headers and JSON type", async () => {
    const res = await get("/status");
    expect(res.status).toBe(404);
    expect(res.headers.get("x-extra")).toBe("1");
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual({ error: true });
  });
});

describe("start-up", () => {
  test("an up-to-date database is checked without the Migrator; a foreign migration still fails", async () => {
    const file = join(folder, "migrations.db");
    const db = openDatabase(`sqlite://${file}`);
    await migrateToLatest(db);
    await migrateToLatest(db);
    await sql`insert into kysely_migration (name, timestamp) values ('9999_unknown', '2026-01-01T00:00:00.000Z')`.execute(db);
    await expect(migrateToLatest(db)).rejects.toThrow();
    await db.destroy();
  });

  test("rarely used heavy modules are not loaded by the command line at start-up", async () => {
    const root = resolve(import.meta.dir, "..");
    const loadedBy = async (modules: string[]) => {
      const imports = modules.map((module) => `await import(${JSON.stringify(join(root, module))});`).join(" ");
      const proc = Bun.spawn([process.execPath, "-e", `${imports} console.log(JSON.stringify(Object.keys(require.cache)));`], { cwd: root, stdout: "pipe", stderr: "inherit" });
      const loaded = JSON.parse(await new Response(proc.stdout).text()) as string[];
      expect(await proc.exited).toBe(0);
      return loaded;
    };
    // The command line (and the supervisor of `serve --workers N`) without the app; `serve` with it.
    expect((await loadedBy(["src/cli.ts"])).filter((path) => path.includes("/hono/"))).toEqual([]);
    const serving = await loadedBy(["src/cli.ts", "src/serve.ts"]);
    expect(serving.some((path) => path.includes("/hono/"))).toBe(true);
    for (const heavy of ["@simplewebauthn", "@peculiar", "nodemailer", "openid-client", "csv-parse", "busboy", "kysely/dist/cjs"]) {
      expect(serving.filter((path) => path.includes(`/${heavy}`))).toEqual([]);
    }
  }, 60_000);
});
