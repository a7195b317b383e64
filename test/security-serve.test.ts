/**
 * Issue 8 items 6 and 7, through the spawned CLI server (`bun run src/cli.ts serve` on a random
 * loopback port in a temporary folder): files for the owner only, no file from --help/--version/
 * an unknown command, graceful SIGTERM (in-flight upload finished, stalled one cut after the grace
 * period and its partial file removed, WAL checkpointed, exit 0), partial uploads cleaned at start-up.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const bun = join(root, "node_modules/.bin/bun");
const cli = join(root, "src/cli.ts");
const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

function tempFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), "zou-bun-serve-"));
  folders.push(folder);
  return folder;
}

const env = (extra: Record<string, string> = {}) => ({ PATH: process.env.PATH ?? "", ZOU_ADMIN_PASSWORD: "admin-password", ...extra });
const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

function filesUnder(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

async function startServer(folder: string, extra: Record<string, string> = {}) {
  const port = 20000 + Math.floor(Math.random() * 30000);
  const proc = Bun.spawn([bun, "run", cli, "serve", "--host", "127.0.0.1", "--port", String(port)], {
    cwd: folder,
    env: env(extra),
    stdout: "pipe",
    stderr: "pipe",
  });
  const base = `http://127.0.0.1:${port}/api`;
  for (let i = 0; ; i++) {
    if (i > 600) throw new Error("the server did not start");
    if (await fetch(base).then((r) => r.ok, () => false)) break;
    await Bun.sleep(50);
  }
  return { proc, port, base };
}

async function api(base: string, token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

/** A task to comment on, made through the API. */
async function makeTask(base: string): Promise<{ token: string; taskId: string; statusId: string }> {
  const login = await fetch(`${base}/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: "admin@example.com", password: "admin-password" }),
  });
  const token = ((await login.json()) as any).access_token as string;
  const project = await api(base, token, "POST", "/data/projects", { name: "Shutdown" });
  const types = await api(base, token, "GET", "/data/asset-types");
  const character = types.body.find((t: any) => t.name === "Character");
  const asset = await api(base, token, "POST", `/data/projects/${project.body.id}/asset-types/${character.id}/assets/new`, { name: "Hero" });
  expect(asset.status).toBe(201);
  const taskTypes = await api(base, token, "GET", "/data/task-types");
  const modeling = taskTypes.body.find((t: any) => t.name === "Modeling");
  const tasks = await api(base, token, "POST", `/actions/projects/${project.body.id}/task-types/${modeling.id}/assets/create-tasks`, {});
  expect(tasks.status).toBe(201);
  const statuses = await api(base, token, "GET", "/data/task-status");
  const wip = statuses.body.find((s: any) => s.short_name === "wip");
  return { token, taskId: tasks.body[0].id, statusId: wip.id };
}

/** A multipart comment with one file, sent over a raw socket so the test controls its pace. */
function startUpload(port: number, token: string, taskId: string, statusId: string, fileBytes: number) {
  const boundary = "zoubunboundary";
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="task_status_id"\r\n\r\n${statusId}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file-0"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const length = head.length + fileBytes + tail.length;
  const socket: Socket = connect({ host: "127.0.0.1", port });
  let answer = "";
  socket.on("data", (data) => (answer += data.toString("latin1")));
  const closed = new Promise<void>((done) => {
    socket.on("close", () => done());
    socket.on("error", () => done());
  });
  socket.write(
    `POST /api/actions/tasks/${taskId}/comment HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\n` +
      `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`,
  );
  socket.write(head);
  return {
    send: (bytes: number) => new Promise<void>((done) => socket.write(Buffer.alloc(bytes, 120), () => done())),
    finish: () => new Promise<void>((done) => socket.write(tail, () => done())),
    answer: async () => {
      await closed;
      return answer;
    },
  };
}

describe("files for the owner only (issue 8, item 7)", () => {
  test("--help, --version and an unknown command create no file", async () => {
    const folder = tempFolder();
    for (const [args, code] of [[["--help"], 0], [["--version"], 0], [["no-such-command"], 2]] as const) {
      const proc = Bun.spawn([bun, "run", cli, ...args], { cwd: folder, env: env(), stdout: "pipe", stderr: "pipe" });
      expect(await proc.exited).toBe(code);
    }
    expect(readdirSync(folder)).toEqual([]);
  }, 60_000);
});

describe("serve: modes, graceful shutdown, partial uploads (issue 8, items 6 and 7)", () => {
  test("SIGTERM finishes the in-flight upload, cuts a stalled one after the grace period, removes its partial file, exits 0", async () => {
    const folder = tempFolder();
    // Partial uploads left by an earlier crash.
    mkdirSync(join(folder, "previews", ".uploads"), { recursive: true, mode: 0o700 });
    writeFileSync(join(folder, "previews", ".uploads", "upload-left-over"), "partial");
    mkdirSync(join(folder, "tmp"), { recursive: true });
    writeFileSync(join(folder, "tmp", "upload-older-build"), "partial");

    const { proc, port, base } = await startServer(folder, { SHUTDOWN_GRACE_SECONDS: "2" });
    try {
      expect(existsSync(join(folder, "previews", ".uploads", "upload-left-over"))).toBe(false);
      expect(existsSync(join(folder, "tmp", "upload-older-build"))).toBe(false);
      const { token, taskId, statusId } = await makeTask(base);

      // Modes: database, WAL files, secret, stored files and their folders.
      const stored = await fetch(`${base}/actions/tasks/${taskId}/comment`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}` },
        body: (() => {
          const form = new FormData();
          form.append("task_status_id", statusId);
          form.append("file-0", new File(["secret notes"], "notes.txt"));
          return form;
        })(),
      });
      expect(stored.status).toBe(201);
      for (const file of ["zou.db", "zou.db-wal", "zou.db-shm", ".zou-secret"]) expect([file, mode(join(folder, file))]).toEqual([file, "600"]);
      const attachments = filesUnder(join(folder, "previews", "files"));
      expect(attachments.length).toBe(1);
      expect(mode(attachments[0]!)).toBe("600");
      for (let dir = resolve(attachments[0]!, ".."); dir !== folder; dir = resolve(dir, "..")) expect([dir, mode(dir)]).toEqual([dir, "700"]);

      // Two uploads in flight: one finishes after the signal, one stalls.
      const finishing = startUpload(port, token, taskId, statusId, 300_000);
      const stalled = startUpload(port, token, taskId, statusId, 300_000);
      await finishing.send(100_000);
      await stalled.send(100_000);
      for (let i = 0; i < 100 && filesUnder(join(folder, "previews", ".uploads")).length < 2; i++) await Bun.sleep(20);
      expect(filesUnder(join(folder, "previews", ".uploads")).length).toBe(2);

      const signalled = performance.now();
      proc.kill("SIGTERM");
      await Bun.sleep(300);
      // No new connection once stopping.
      expect(await fetch(base).then(() => "served", () => "refused")).toBe("refused");
      await finishing.send(200_000);
      await finishing.finish();
      expect((await finishing.answer()).split("\r\n")[0]).toBe("HTTP/1.1 201 Created");

      expect(await proc.exited).toBe(0);
      expect(performance.now() - signalled).toBeGreaterThan(1500);
      expect((await stalled.answer()).startsWith("HTTP/1.1 201")).toBe(false);
      expect(filesUnder(join(folder, "previews", ".uploads"))).toEqual([]);
      // Checkpointed: the WAL is written back and gone (or empty).
      expect(!existsSync(join(folder, "zou.db-wal")) || statSync(join(folder, "zou.db-wal")).size === 0).toBe(true);
      const stdout = await new Response(proc.stdout).text();
      expect(stdout).toContain("SIGTERM");
    } finally {
      if (proc.exitCode === null) proc.kill("SIGKILL");
    }
  }, 60_000);
});
