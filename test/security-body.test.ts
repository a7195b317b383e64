/**
 * Issue 8 item 3: bodies read whole are capped (MAX_JSON_BODY_SIZE) and refused with a 413 before
 * they are read; multipart uploads stream past the cap on upload routes only, after the token.
 * (bench/body-flood.ts measures the memory of the spawned server under ten 500 MiB bodies.)
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { workingFileContentPath } from "../src/services/files";
import { insertWorkingFile, makeFilesWorld, type FilesWorld } from "./files-fixtures";

const TOO_LARGE = { error: true, message: "413 Request Entity Too Large: The data value transmitted exceeds the capacity limit." };
const LIMIT = 1000;

let w: FilesWorld;
beforeAll(async () => {
  w = await makeFilesWorld();
  w.server.config.maxJsonBodySize = LIMIT;
});

/** A 64 MB body, produced as it is read. */
function endless(prefix: string): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent === 0) controller.enqueue(new TextEncoder().encode(prefix));
      sent += 1;
      if (sent > 1000) return controller.close(); // 64 MB: far past the cap
      controller.enqueue(new Uint8Array(65_536).fill(97));
    },
  });
}

const send = (path: string, init: RequestInit & { token?: string }) => {
  const headers = new Headers(init.headers);
  if (init.token) headers.set("Authorization", `Bearer ${init.token}`);
  return w.server.app.request(path, { ...init, headers });
};

describe("JSON bodies are capped (issue 8, item 3)", () => {
  test("a login body announcing more than the cap is a 413, before it is read", async () => {
    const body = JSON.stringify({ email: "admin@example.com", password: "x".repeat(2 * LIMIT) });
    const response = await send("/api/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Content-Length": String(body.length) },
      body,
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual(TOO_LARGE);
  });

  test("a chunked login body (no length) is refused once it passes the cap", async () => {
    const response = await send("/api/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: endless('{"email": "'),
      duplex: "half",
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual(TOO_LARGE);
  });

  test("a multipart body to a public route is capped too", async () => {
    const response = await send("/api/auth/login", {
      method: "POST",
      headers: { "Content-Type": "multipart/form-data; boundary=xyz", "Content-Length": String(10 * LIMIT) },
      body: "--xyz\r\n" + "a".repeat(10 * LIMIT - 7),
    });
    expect(response.status).toBe(413);
  });

  test("on protected routes: 413 for a large JSON body, 401 first without a token for a chunked one", async () => {
    const admin = w.people.admin;
    const large = JSON.stringify({ first_name: "y".repeat(2 * LIMIT) });
    const refused = await send(`/api/data/persons/${admin.id}`, {
      method: "PUT",
      token: admin.token,
      headers: { "Content-Type": "application/json", "Content-Length": String(large.length) },
      body: large,
    });
    expect(refused.status).toBe(413);
    expect(await refused.json()).toEqual(TOO_LARGE);
    const chunked = await send(`/api/data/persons/${admin.id}`, {
      method: "PUT",
      token: admin.token,
      headers: { "Content-Type": "application/json" },
      body: endless('{"first_name": "'),
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(413);
    const anonymous = await send(`/api/data/persons/${admin.id}`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: endless('{"first_name": "'),
      duplex: "half",
    } as RequestInit);
    expect(anonymous.status).toBe(401);
    const small = await w.server.json("PUT", `/api/data/persons/${admin.id}`, { body: { first_name: "Ada" } });
    expect(small.status).toBe(200);
  });

  test("a multipart body sent whole to a route that is no upload route stops at the cap", async () => {
    const form = new FormData();
    form.append("old_password", "z".repeat(3 * LIMIT));
    const response = await w.server.request("POST", "/api/auth/change-password", { body: form });
    expect(response.status).toBe(413);
  });

  test("text fields of an upload are held to the cap; its files are not", async () => {
    const wip = await w.server.db.selectFrom("task_status").select("id").where("short_name", "=", "wip").executeTakeFirstOrThrow();
    const form = new FormData();
    form.append("task_status_id", wip.id);
    form.append("comment", "c".repeat(3 * LIMIT));
    form.append("file-0", new File([new Uint8Array(5 * LIMIT)], "big.bin"));
    const refused = await w.server.request("POST", `/api/actions/tasks/${w.tasks.shot.id}/comment`, { body: form });
    expect(refused.status).toBe(413);
    expect(await refused.json()).toEqual(TOO_LARGE);
    const small = new FormData();
    small.append("task_status_id", wip.id);
    small.append("comment", "short");
    small.append("file-0", new File([new Uint8Array(5 * LIMIT)], "big.bin"));
    expect((await w.server.request("POST", `/api/actions/tasks/${w.tasks.shot.id}/comment`, { body: small })).status).toBe(201);
  });

  test("uploads stream past the cap on upload routes", async () => {
    const file = await insertWorkingFile(w.server, w.tasks.asset, { name: "big-upload" });
    const bytes = new Uint8Array(20 * LIMIT).map((_, i) => i % 253);
    const form = new FormData();
    form.append("file", new Blob([bytes]), "scene.blend");
    const uploaded = await w.server.json("POST", `/api/data/working-files/${file.id}/file`, { token: w.people.artist.token, body: form });
    expect(uploaded.status).toBe(201);
    expect((await Bun.file(workingFileContentPath(w.server.config, file.id)).arrayBuffer()).byteLength).toBe(bytes.length);
  });
});
