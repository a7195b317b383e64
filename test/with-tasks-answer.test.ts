/**
 * The with-tasks answer as sent: a Blob of the entities' fragments (never joined in JS), kept by
 * the answer cache, compressed chunk by chunk (gzip and zstd) with only the chunks of changed
 * fragments compressed again after a write. Range and HEAD get the plain answer.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import zlib from "node:zlib";
import { addTask, createSequence, createShot, production, type Production } from "./entities-fixtures";
import { makeServer, onPostgres, type TestServer } from "./helpers";
import { compressParts } from "../src/lib/compression";
import { assembleBlob, forgetCachedAnswers } from "../src/lib/response-cache";
import { withTasksBuild } from "../src/services/with-tasks";
import { forgetListStates } from "../src/services/with-tasks-fragments";

let server: TestServer;
let prod: Production;
let other: Production;
let tasks: string[] = [];
let otherTask: string;
let live: ReturnType<typeof Bun.serve> | null = null;
let priority = 0;

/** Equality of long texts without printing them when they differ. */
function same(a: string, b: string): boolean {
  return a.length === b.length && a === b;
}

beforeAll(async () => {
  server = await makeServer();
  prod = await production(server);
  const sequence = await createSequence(server, prod.project.id, "SQ01");
  // Long descriptions: the list spans several compression chunks (about 128 KiB each).
  for (let i = 0; i < 40; i++) {
    const shot = await createShot(server, prod.project.id, sequence.id, `SH${String(i).padStart(3, "0")}`, { description: `shot ${i} `.repeat(2000) });
    tasks.push(await addTask(server, shot, "Animation"));
  }
  other = await production(server);
  const otherShot = await createShot(server, other.project.id, (await createSequence(server, other.project.id, "OSQ")).id, "OSH");
  otherTask = await addTask(server, otherShot, "Animation");
  live = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: server.app.fetch });
});

afterAll(() => {
  live?.stop(true);
});

const url = (suffix = "") => `/api/data/shots/with-tasks?project_id=${prod.project.id}${suffix}`;

function decode(encoding: string | null, bytes: ArrayBuffer): string {
  const buffer = Buffer.from(bytes);
  if (encoding === "gzip") return zlib.gunzipSync(buffer).toString("utf8");
  if (encoding === "zstd") return zlib.zstdDecompressSync(buffer).toString("utf8");
  if (encoding === "br") return zlib.brotliDecompressSync(buffer).toString("utf8");
  return buffer.toString("utf8");
}

async function get(path: string, headers: Record<string, string> = {}, method = "GET") {
  const res = await server.request(method, path, { headers });
  const bytes = await res.arrayBuffer();
  return { res, encoding: res.headers.get("content-encoding"), text: decode(res.headers.get("content-encoding"), bytes), size: bytes.byteLength };
}

/** The answer built from scratch, plain. */
async function fresh(path: string): Promise<string> {
  forgetCachedAnswers(server.db);
  forgetListStates(server.db);
  return (await get(path)).text;
}

const setPriority = async (taskId: string, priority: number) =>
  expect((await server.json("PUT", `/api/data/tasks/${taskId}`, { body: { priority } })).status).toBe(200);

describe("with-tasks answers as sent", () => {
  test("plain, then compressed in each encoding, before and after one-task writes: the same JSON as built from scratch", async () => {
    for (const suffix of ["", "&compact=true", "&stream=true&compact=true", "&stream=true"]) {
      const path = url(suffix);
      for (let round = 0; round < 2; round++) {
        const expected = await fresh(path);
        expect(expected.length).toBeGreaterThan(40 * 16000);
        for (const accept of ["gzip", "zstd", "br", "gzip, deflate, br, zstd"]) {
          // Built (or rebuilt after the write), then served from the cache.
          for (let again = 0; again < 2; again++) {
            const answer = await get(path, { "Accept-Encoding": accept });
            expect(answer.encoding).toBe(accept.includes("zstd") ? "zstd" : accept);
            expect(same(answer.text, expected)).toBe(true);
            expect(answer.size).toBeLessThan(expected.length / 10);
          }
        }
        expect(same((await get(path)).text, expected)).toBe(true);
        await setPriority(tasks[(round * 17) % tasks.length]!, ++priority);
        // After the write, compressed first: its chunks are put together from the previous answer's.
        const after = await get(path, { "Accept-Encoding": round % 2 ? "zstd" : "gzip" });
        expect(same(after.text, expected)).toBe(false);
        expect(same(after.text, await fresh(path))).toBe(true);
      }
    }
  }, 60000);

  test("Range and HEAD get the plain answer (a list is not a file: no 206)", async () => {
    const expected = await fresh(url());
    for (let i = 0; i < 2; i++) {
      const ranged = await get(url(), { Range: "bytes=0-99", "Accept-Encoding": "gzip" });
      expect(ranged.res.status).toBe(200);
      expect(ranged.encoding).toBeNull();
      expect(same(ranged.text, expected)).toBe(true);
      const head = await server.request("HEAD", url(), { headers: { "Accept-Encoding": "gzip" } });
      expect(head.status).toBe(200);
      expect(head.headers.get("content-encoding")).toBeNull();
      expect(head.headers.get("content-type")).toContain("application/json");
      expect((await head.arrayBuffer()).byteLength).toBe(0);
    }
  });

  test("over HTTP (Bun.serve): Range is ignored, HEAD has no body, encodings decode", async () => {
    const base = `http://127.0.0.1:${live!.port}${url()}`;
    const headers = { Authorization: `Bearer ${server.admin.token}` };
    const expected = await fresh(url());
    const ranged = await fetch(base, { headers: { ...headers, Range: "bytes=0-99", "Accept-Encoding": "identity" } });
    expect(ranged.status).toBe(200);
    expect(ranged.headers.get("content-range")).toBeNull();
    expect(same(await ranged.text(), expected)).toBe(true);
    const head = await fetch(base, { method: "HEAD", headers: { ...headers, "Accept-Encoding": "gzip" } });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-encoding")).toBeNull();
    expect(await head.text()).toBe("");
    // The length a GET gets, as Zou sends it (Bun alone would say 0 for a body-less answer).
    expect(head.headers.get("content-length")).toBe(String(Buffer.byteLength(expected)));
    const persons = `http://127.0.0.1:${live!.port}/api/data/persons`;
    const personsBody = await (await fetch(persons, { headers: { ...headers, "Accept-Encoding": "identity" } })).text();
    const personsHead = await fetch(persons, { method: "HEAD", headers });
    expect(personsHead.status).toBe(200);
    expect(personsHead.headers.get("content-length")).toBe(String(Buffer.byteLength(personsBody)));
    for (const encoding of ["gzip", "zstd"]) {
      await setPriority(tasks[3]!, ++priority);
      // Bun's fetch decodes the answer itself.
      const answer = await fetch(base, { headers: { ...headers, "Accept-Encoding": encoding } });
      expect(answer.headers.get("content-encoding")).toBe(encoding);
      expect(same(await answer.text(), await fresh(url()))).toBe(true);
    }
  });
});

describe.skipIf(onPostgres)("the kept answer after a write elsewhere", () => {
  test("a write in another project: the kept answers (plain and compressed) are served again", async () => {
    const path = url();
    const plain = (await get(path)).text;
    const gzip = await get(path, { "Accept-Encoding": "gzip" });
    expect(same(gzip.text, plain)).toBe(true);
    // Unseen by any cache: shows only in an answer rebuilt.
    await server.db.withoutPlugins().updateTable("entity").set({ name: "HIDDEN" }).where("project_id", "=", prod.project.id).where("name", "=", "SH000").execute();
    await setPriority(otherTask, 3);
    for (const accept of [undefined, "gzip", "zstd"]) {
      const answer = await get(path, accept ? { "Accept-Encoding": accept } : {});
      expect(same(answer.text, plain)).toBe(true);
      expect(answer.text.includes("HIDDEN")).toBe(false);
    }
    expect((await fresh(path)).includes("HIDDEN")).toBe(true);
    await server.db.withoutPlugins().updateTable("entity").set({ name: "SH000" }).where("name", "=", "HIDDEN").execute();
    await fresh(path);
  });
});

describe("a large list built batch by batch", () => {
  test("the same answers (plain, compact NDJSON, as a vendor) as built in one pass", async () => {
    const assigned = await server.json("PUT", `/api/actions/persons/${prod.vendor.id}/assign`, { body: { task_ids: tasks.slice(5, 12) } });
    expect(assigned.status).toBe(200);
    const reads = [
      { path: url(), token: undefined },
      { path: url("&stream=true&compact=true"), token: undefined },
      { path: url(), token: prod.vendor.token },
    ];
    const readAll = async () => {
      const out: string[] = [];
      for (const { path, token } of reads) {
        forgetCachedAnswers(server.db);
        forgetListStates(server.db);
        const res = await server.request("GET", path, token ? { token } : {});
        expect(res.status).toBe(200);
        out.push(await res.text());
      }
      return out;
    };
    const whole = await readAll();
    expect(JSON.parse(whole[2]!).map((shot: any) => shot.tasks.length)).toEqual(Array.from({ length: 7 }, () => 1));
    const saved = withTasksBuild.batchSize;
    withTasksBuild.batchSize = 6; // 40 shots: 7 batches, the last one short
    try {
      const batched = await readAll();
      for (let i = 0; i < reads.length; i++) expect(same(batched[i]!, whole[i]!)).toBe(true);
    } finally {
      withTasksBuild.batchSize = saved;
    }
  });
});

describe("compressParts", () => {
  const parts = Array.from({ length: 200 }, (_, i) => Buffer.from(`${JSON.stringify({ i, text: `part ${i} `.repeat(300) })},`));
  const whole = () => Buffer.concat(parts).toString("utf8");
  const size = () => parts.reduce((n, p) => n + p.byteLength, 0);

  for (const encoding of ["gzip", "zstd"] as const) {
    test(`${encoding}: a valid stream of the whole; after one part changed, only its chunk is compressed again`, async () => {
      const first = await compressParts(encoding, parts, size()).done;
      expect(first.state.chunks.length).toBeGreaterThan(3);
      expect(same(decode(encoding, await first.body.arrayBuffer()), whole())).toBe(true);
      const kept = parts[57]!;
      parts[57] = Buffer.from(`{"changed":true,"é":"ü"},`);
      const compression = compressParts(encoding, parts, size(), first.state);
      expect(compression.compressed).toBe(1);
      // The stream gives the same bytes as the whole body.
      const streamed = await new Response(compression.stream()).arrayBuffer();
      const second = await compression.done;
      expect(Buffer.from(streamed).equals(Buffer.from(await second.body.arrayBuffer()))).toBe(true);
      expect(same(decode(encoding, await second.body.arrayBuffer()), whole())).toBe(true);
      const changed = second.state.chunks.map((chunk, i) => chunk !== first.state.chunks[i]);
      expect(changed.filter(Boolean).length).toBe(1);
      expect(changed.indexOf(true)).toBe(Math.floor(57 / second.state.per));
      parts[57] = kept;
      // Another encoding's chunks are never reused.
      const otherEncoding = await compressParts(encoding === "gzip" ? "zstd" : "gzip", parts, size(), second.state).done;
      expect(same(decode(encoding === "gzip" ? "zstd" : "gzip", await otherEncoding.body.arrayBuffer()), whole())).toBe(true);
    });
  }

  test("an empty answer and a single part", async () => {
    for (const encoding of ["gzip", "zstd"] as const) {
      const one = await compressParts(encoding, [Buffer.from("[]")], 2).done;
      expect(decode(encoding, await one.body.arrayBuffer())).toBe("[]");
      const none = await compressParts(encoding, [new Uint8Array(0)], 0).done;
      expect(decode(encoding, await none.body.arrayBuffer())).toBe("");
    }
  });
});

describe("assembleBlob", () => {
  const fragment = (i: number, tag = "") => Buffer.from(JSON.stringify({ i, tag, pad: "x".repeat(i % 7) }));
  const comma = Buffer.from(",");
  const open = Buffer.from("[");
  const close = Buffer.from("]");
  const join = (fragments: Uint8Array[]) => [open, ...fragments.flatMap((f, i) => (i ? [comma, f] : [f])), close];
  const text = async (blob: Blob) => Buffer.from(await blob.arrayBuffer()).toString("utf8");
  const base = Array.from({ length: 60 }, (_, i) => fragment(i));

  test("the same bytes as the parts joined, whatever changed since the previous body", async () => {
    const previousParts = join(base);
    const previous = { blob: assembleBlob(previousParts), parts: previousParts };
    const cases: Uint8Array[][] = [
      base,
      base.map((f, i) => (i === 0 ? fragment(0, "first") : f)),
      base.map((f, i) => (i === 31 ? fragment(31, "changed") : f)),
      base.map((f, i) => (i === 59 ? fragment(59, "last") : f)),
      base.map((f, i) => (i % 5 === 0 ? fragment(i, "many") : f)),
      [...base.slice(0, 10), fragment(100, "inserted"), ...base.slice(10)],
      base.filter((_, i) => i !== 20),
      [...base].reverse(),
      base.slice(30),
    ];
    for (const fragments of cases) {
      const parts = join(fragments);
      const blob = assembleBlob(parts, previous);
      expect(await text(blob)).toBe(Buffer.concat(parts).toString("utf8"));
    }
  });
});
