/** Compressed answers: large textual answers only, in the encoding the client prefers, streamed. */
import { beforeAll, describe, expect, test } from "bun:test";
import zlib from "node:zlib";
import { Hono } from "hono";
import { makeServer, type TestServer } from "./helpers";
import { createSequence, createShot } from "./entities-fixtures";
import { chooseEncoding, compression } from "../src/lib/compression";

let server: TestServer;

beforeAll(async () => {
  server = await makeServer();
  for (let i = 0; i < 20; i += 1) await server.person("user", { desktop_login: `login-${i}`, phone: `+33 1 23 45 67 ${i}` });
});

function decode(encoding: string | null, bytes: Uint8Array): string {
  const buffer = Buffer.from(bytes);
  switch (encoding) {
    case "gzip":
      return zlib.gunzipSync(buffer).toString("utf8");
    case "br":
      return zlib.brotliDecompressSync(buffer).toString("utf8");
    case "zstd":
      return (zlib as unknown as { zstdDecompressSync(b: Buffer): Buffer }).zstdDecompressSync(buffer).toString("utf8");
    default:
      return buffer.toString("utf8");
  }
}

async function fetchPersons(acceptEncoding?: string, method = "GET") {
  const res = await server.request(method, "/api/data/persons", { headers: acceptEncoding ? { "Accept-Encoding": acceptEncoding } : {} });
  return { res, bytes: new Uint8Array(await res.arrayBuffer()) };
}

describe("compression of large JSON answers", () => {
  test("the plain answer is above the threshold and not encoded without Accept-Encoding", async () => {
    const { res, bytes } = await fetchPersons();
    expect(res.status).toBe(200);
    expect(res.headers.get("content-encoding")).toBeNull();
    expect(bytes.byteLength).toBeGreaterThan(4096);
    expect(res.headers.get("vary")).toContain("Accept-Encoding");
  });

  for (const [header, expected] of [
    ["gzip, deflate", "gzip"],
    ["gzip, deflate, br, zstd", "zstd"],
    ["br", "br"],
    ["zstd", "zstd"],
    ["gzip;q=0.5, br;q=0.9", "br"],
    ["*", "zstd"],
  ] as const) {
    test(`Accept-Encoding: ${header} -> ${expected}, same JSON once decoded`, async () => {
      const plain = await fetchPersons();
      const { res, bytes } = await fetchPersons(header);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-encoding")).toBe(expected);
      expect(res.headers.get("content-length")).toBeNull();
      expect(res.headers.get("content-type")).toContain("application/json");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(bytes.byteLength).toBeLessThan(plain.bytes.byteLength / 2);
      expect(JSON.parse(decode(expected, bytes))).toEqual(JSON.parse(decode(null, plain.bytes)));
    });
  }

  test("no encoding the client refuses or does not know", async () => {
    for (const header of ["identity", "deflate", "gzip;q=0, br;q=0, zstd;q=0", "compress"]) {
      const { res } = await fetchPersons(header);
      expect(res.headers.get("content-encoding")).toBeNull();
    }
  });

  test("small answers are sent as they are", async () => {
    const res = await server.request("GET", `/api/data/persons/${server.admin.id}`, { headers: { "Accept-Encoding": "gzip, br, zstd" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-encoding")).toBeNull();
    expect((await res.json()).id).toBe(server.admin.id);
  });

  test("HEAD and error answers are not encoded", async () => {
    const head = await fetchPersons("gzip", "HEAD");
    expect(head.res.headers.get("content-encoding")).toBeNull();
    const missing = await server.request("GET", "/api/data/persons/not-a-uuid", { headers: { "Accept-Encoding": "gzip" } });
    expect(missing.headers.get("content-encoding")).toBeNull();
  });

  test("the with-tasks list (answer cache) is compressed, its NDJSON stream too", async () => {
    const project = await server.project("Compressed");
    const base = `/api/data/shots/with-tasks?project_id=${project.id}`;
    const empty = await server.request("GET", base, { headers: { "Accept-Encoding": "gzip" } });
    // An empty list is small: sent as it is.
    expect(empty.headers.get("content-encoding")).toBeNull();
    expect(await empty.json()).toEqual([]);
    const sequence = await createSequence(server, project.id, "SQ01");
    for (let i = 0; i < 30; i += 1) await createShot(server, project.id, sequence.id, `SH${String(i).padStart(3, "0")}`);
    for (const path of [base, `${base}&stream=true&compact=true`]) {
      const plain = await server.request("GET", path);
      const plainText = await plain.text();
      // Twice: built, then served from the answer cache.
      for (let round = 0; round < 2; round += 1) {
        const res = await server.request("GET", path, { headers: { "Accept-Encoding": "gzip, br" } });
        expect(res.headers.get("content-encoding")).toBe("gzip");
        expect(decode("gzip", new Uint8Array(await res.arrayBuffer()))).toBe(plainText);
      }
      // The cache keeps each encoding apart.
      const zstd = await server.request("GET", path, { headers: { "Accept-Encoding": "zstd" } });
      expect(zstd.headers.get("content-encoding")).toBe("zstd");
      expect(decode("zstd", new Uint8Array(await zstd.arrayBuffer()))).toBe(plainText);
    }
    // A write: the compressed copy kept by the answer cache is not served any more.
    await createShot(server, project.id, sequence.id, "SH999");
    const after = await server.request("GET", base, { headers: { "Accept-Encoding": "gzip" } });
    expect(after.headers.get("content-encoding")).toBe("gzip");
    const names = JSON.parse(decode("gzip", new Uint8Array(await after.arrayBuffer()))).map((shot: any) => shot.name);
    expect(names).toContain("SH999");
    expect(names.length).toBe(31);
  });
});

describe("the middleware on other answers", () => {
  const big = "x".repeat(64 * 1024);
  const app = new Hono();
  app.use("*", compression());
  app.get("/image", (c) => c.body(big, 200, { "Content-Type": "image/png" }));
  app.get("/video", (c) => c.body(big, 200, { "Content-Type": "video/mp4" }));
  app.get("/range", (c) => c.body(big.slice(0, 5000), 206, { "Content-Type": "text/plain", "Content-Range": "bytes 0-4999/65536" }));
  app.get("/text", (c) => c.body(big, 200, { "Content-Type": "text/plain; charset=utf-8" }));
  app.get("/no-transform", (c) => c.body(big, 200, { "Content-Type": "application/json", "Cache-Control": "no-transform" }));
  app.get("/stream", () => {
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 50) return controller.close();
        sent += 1;
        controller.enqueue(new TextEncoder().encode(`${JSON.stringify({ line: sent, pad: "y".repeat(200) })}\n`));
      },
    });
    return new Response(stream, { headers: { "Content-Type": "application/x-ndjson" } });
  });
  const get = (path: string, headers: Record<string, string> = { "Accept-Encoding": "gzip" }) => app.request(path, { headers });

  test("media and partial answers are never encoded", async () => {
    for (const path of ["/image", "/video", "/range", "/no-transform"]) {
      const res = await get(path);
      expect(res.headers.get("content-encoding")).toBeNull();
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(4000);
    }
    const ranged = await get("/text", { "Accept-Encoding": "gzip", Range: "bytes=0-99" });
    expect(ranged.headers.get("content-encoding")).toBeNull();
  });

  test("text is encoded; a stream of unknown length is encoded as it comes", async () => {
    const text = await get("/text");
    expect(text.headers.get("content-encoding")).toBe("gzip");
    expect(decode("gzip", new Uint8Array(await text.arrayBuffer()))).toBe(big);
    const stream = await get("/stream", { "Accept-Encoding": "zstd" });
    expect(stream.headers.get("content-encoding")).toBe("zstd");
    const lines = decode("zstd", new Uint8Array(await stream.arrayBuffer())).trim().split("\n");
    expect(lines.length).toBe(50);
    expect(JSON.parse(lines[49]!).line).toBe(50);
  });

  test("chooseEncoding follows q-values, then the server's preference", () => {
    expect(chooseEncoding(undefined)).toBeNull();
    expect(chooseEncoding("gzip")).toBe("gzip");
    expect(chooseEncoding("GZIP, BR")).toBe("gzip");
    expect(chooseEncoding("br;q=1, gzip;q=0.8")).toBe("br");
    expect(chooseEncoding("*;q=0.1, gzip;q=0")).toBe("zstd");
  });
});
