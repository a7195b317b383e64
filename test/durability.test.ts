/**
 * Issue 16, done-when: the real server (`bun run src/cli.ts serve`) on a temporary SQLite file is
 * killed with SIGKILL in the middle of a write load (concurrent asset creations and comments),
 * restarted on the same file, and still holds every write it acknowledged with a 2xx; the file
 * passes `PRAGMA integrity_check`. The database runs in WAL mode with `synchronous = NORMAL`: a
 * commit is in the WAL (the operating system's page cache) before the answer leaves, so killing
 * the process loses nothing (only an operating-system crash or power loss could lose the last
 * commits). Both ways of serving are covered: one process, and a supervisor with two workers
 * writing to the same file, all killed at once.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const bun = join(root, "node_modules/.bin/bun");
const folders: string[] = [];
const spawned: ReturnType<typeof Bun.spawn>[] = [];
afterAll(() => {
  for (const proc of spawned) if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

const ADMIN = { email: "admin@example.com", password: "durability-password" };

interface Server {
  proc: ReturnType<typeof Bun.spawn>;
  base: string;
  output: () => string;
  /** The worker processes' ids (serving with workers), from their start lines. */
  workerPids: () => number[];
}

/** `serve` on a free loopback port over `folder`/zou.db; resolves once it prints where it listens. */
async function startServer(folder: string, workers: number): Promise<Server> {
  const env = {
    PATH: process.env.PATH ?? "",
    HOME: folder,
    DATABASE_URL: `sqlite://${join(folder, "zou.db")}`,
    SECRET_KEY: "durability-test-secret-0123456789abcdef",
    PREVIEW_FOLDER: join(folder, "previews"),
    TMP_DIR: join(folder, "tmp"),
    ZOU_ADMIN_EMAIL: ADMIN.email,
    ZOU_ADMIN_PASSWORD: ADMIN.password,
    BCRYPT_LOG_ROUNDS: "4",
    LOG_FORMAT: "off",
  };
  const args = ["serve", "--host", "127.0.0.1", "--port", "0", "--workers", String(workers)];
  const proc = Bun.spawn([bun, "run", join(root, "src/cli.ts"), ...args], { cwd: folder, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  spawned.push(proc);
  let output = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (let part = await reader.read(); !part.done; part = await reader.read()) output += decoder.decode(part.value, { stream: true });
  };
  void pump(proc.stdout as ReadableStream<Uint8Array>);
  void pump(proc.stderr as ReadableStream<Uint8Array>);
  for (const deadline = Date.now() + 30_000; ; ) {
    const match = /listening on (http:\/\/127\.0\.0\.1:\d+\/api)/.exec(output);
    if (match) {
      const workerPids = () => [...output.matchAll(/Worker \d+ (?:started|restarted) \(pid (\d+)\)/g)].map((m) => Number(m[1]));
      return { proc, base: match[1]!, output: () => output, workerPids };
    }
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`the server did not start:\n${output}`);
    await Bun.sleep(25);
  }
}

async function login(base: string): Promise<Record<string, string>> {
  const response = await fetch(`${base}/auth/login`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(ADMIN) });
  expect(response.status).toBe(200);
  const { access_token } = (await response.json()) as { access_token: string };
  return { Authorization: `Bearer ${access_token}`, "Content-Type": "application/json" };
}

async function json<T>(base: string, headers: Record<string, string>, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** Everything a crash run left for the checks. */
interface Outcome {
  folder: string;
  projectId: string;
  taskId: string;
  /** Writes answered 2xx before the kill: asset and comment ids. */
  acknowledged: { assets: Set<string>; comments: Set<string> };
  /** Names and texts of every write sent (acknowledged or not). */
  attempted: Set<string>;
  /** Names and texts of writes answered with an error before the kill. */
  refused: Set<string>;
  inFlightAtKill: number;
}

/**
 * Starts a server (`workers` processes), prepares a project with an asset and a task, runs eight
 * concurrent writers (asset creations and comments on the task) until 60 writes are answered,
 * then SIGKILLs `victims()` (the whole server) with requests still in flight.
 */
async function crashUnderLoad(workers: number, victims: (server: Server) => number[]): Promise<Outcome> {
  const folder = mkdtempSync(join(tmpdir(), "zou-bun-durability-"));
  folders.push(folder);
  const server = await startServer(folder, workers);
  const { base } = server;
  const headers = await login(base);
  const project = await json<{ id: string }>(base, headers, "POST", "/data/projects", { name: "Durability" });
  const assetType = (await json<{ id: string }[]>(base, headers, "GET", "/data/asset-types"))[0]!;
  const taskType = (await json<{ id: string; for_entity: string }[]>(base, headers, "GET", "/data/task-types")).find((t) => t.for_entity === "Asset")!;
  const statuses = await json<{ id: string; short_name: string }[]>(base, headers, "GET", "/data/task-status");
  const todo = statuses.find((s) => s.short_name === "todo")!;
  const wip = statuses.find((s) => s.short_name === "wip")!;
  const asset = await json<{ id: string }>(base, headers, "POST", `/data/projects/${project.id}/asset-types/${assetType.id}/assets/new`, { name: "Base" });
  const task = await json<{ id: string }>(base, headers, "POST", "/data/tasks", {
    name: "main",
    project_id: project.id,
    entity_id: asset.id,
    task_type_id: taskType.id,
    task_status_id: todo.id,
  });

  const acknowledged = { assets: new Set<string>(), comments: new Set<string>() };
  const attempted = new Set<string>();
  const refused = new Set<string>();
  let killed = false;
  let inFlight = 0;
  let inFlightAtKill = 0;
  let counter = 0;
  let reachedTarget!: () => void;
  const target = new Promise<void>((resolve) => (reachedTarget = resolve));
  const acknowledgedBeforeKill = 60;

  const writer = async () => {
    while (!killed) {
      const n = ++counter;
      const isComment = n % 2 === 0;
      const label = `${isComment ? "comment" : "asset"} ${n}`;
      attempted.add(label);
      inFlight++;
      let response: Response;
      try {
        response = isComment
          ? await fetch(`${base}/actions/tasks/${task.id}/comment`, { method: "POST", headers, body: JSON.stringify({ task_status_id: n % 4 === 0 ? wip.id : todo.id, comment: label }) })
          : await fetch(`${base}/data/projects/${project.id}/asset-types/${assetType.id}/assets/new`, { method: "POST", headers, body: JSON.stringify({ name: label }) });
        const body = (await response.json()) as { id: string; message?: string };
        if (response.status !== 201) {
          // Every write is answered 201 (transactions begin immediate, so two workers wait for
          // each other's write lock instead of failing with "database is locked").
          throw new Error(`${label}: ${response.status} ${JSON.stringify(body)}\n${server.output()}`);
          refused.add(label);
          continue;
        }
        // Acknowledged: the whole 2xx answer arrived.
        (isComment ? acknowledged.comments : acknowledged.assets).add(body.id);
        if (acknowledged.assets.size + acknowledged.comments.size >= acknowledgedBeforeKill) reachedTarget();
      } catch (error) {
        if (killed) return; // the connection died with the server: not acknowledged
        throw error;
      } finally {
        inFlight--;
      }
    }
  };
  const load = Array.from({ length: 8 }, writer);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      target,
      Promise.all(load).then(() => Promise.reject(new Error("the load ended before the kill"))),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("the load was too slow")), 40_000))),
    ]);
  } catch (error) {
    killed = true; // the other writers stop too
    throw error;
  } finally {
    clearTimeout(timer);
  }

  // Everything at once, in one tick: workers first (so the supervisor restarts none of them).
  inFlightAtKill = inFlight;
  killed = true;
  for (const pid of victims(server)) process.kill(pid, "SIGKILL");
  await server.proc.exited;
  expect(server.proc.signalCode).toBe("SIGKILL");
  await Promise.allSettled(load);
  // SIGKILL is delivered asynchronously: the workers are gone within moments.
  for (const pid of victims(server)) {
    for (const deadline = Date.now() + 5_000; isAlive(pid) && Date.now() < deadline; ) await Bun.sleep(20);
    expect(isAlive(pid)).toBe(false);
  }
  return { folder, projectId: project.id, taskId: task.id, acknowledged, attempted, refused, inFlightAtKill };
}

/** Whether a process still runs (a killed child whose parent died too may linger as a zombie: not running). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/PID/stat: "pid (name) state ...": Z is a zombie, X dead.
    const state = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "")[0];
    return state !== "Z" && state !== "X";
  } catch {
    return process.platform !== "linux";
  }
}

/** Restarts on the same file and checks, through the API, that every acknowledged write is there. */
async function checkAfterRestart(outcome: Outcome): Promise<{ assets: number; comments: number }> {
  expect(outcome.inFlightAtKill).toBeGreaterThan(0);
  // One process: its graceful stop (exit 0, the WAL written back) ends the check.
  const server = await startServer(outcome.folder, 1);
  expect(server.output()).not.toContain("Created the first admin account");
  const headers = await login(server.base);
  const assets = await json<{ id: string; name: string }[]>(server.base, headers, "GET", `/data/projects/${outcome.projectId}/assets`);
  const comments = await json<{ id: string; text: string }[]>(server.base, headers, "GET", `/data/tasks/${outcome.taskId}/comments`);
  const assetIds = new Set(assets.map((a) => a.id));
  const commentIds = new Set(comments.map((c) => c.id));
  const lostAssets = [...outcome.acknowledged.assets].filter((id) => !assetIds.has(id));
  const lostComments = [...outcome.acknowledged.comments].filter((id) => !commentIds.has(id));
  expect({ lostAssets, lostComments }).toEqual({ lostAssets: [], lostComments: [] });
  // Nothing but what was sent: a write in flight at the kill may or may not be there, whole.
  // A refused write left nothing behind.
  for (const name of assets.map((a) => a.name)) if (name !== "Base") expect(outcome.attempted.has(name) && !outcome.refused.has(name)).toBe(true);
  for (const text of comments.map((c) => c.text)) expect(outcome.attempted.has(text) && !outcome.refused.has(text)).toBe(true);
  expect(assets.length - 1).toBeLessThanOrEqual(outcome.acknowledged.assets.size + outcome.inFlightAtKill);

  // The restarted server writes again.
  await json(server.base, headers, "POST", `/data/projects/${outcome.projectId}/asset-types/${(await json<{ id: string }[]>(server.base, headers, "GET", "/data/asset-types"))[0]!.id}/assets/new`, { name: "After" });

  server.proc.kill("SIGTERM");
  const code = await server.proc.exited;
  expect(`exit ${code}\n${code === 0 ? "" : server.output()}`).toBe("exit 0\n");
  return { assets: assets.length, comments: comments.length };
}

/** The file as the kill left it (database and WAL), opened read-only: intact. */
function checkFileAfterKill(folder: string): void {
  const db = new Database(join(folder, "zou.db"), { readonly: true });
  try {
    expect(db.query("PRAGMA integrity_check").all()).toEqual([{ integrity_check: "ok" }]);
  } finally {
    db.close();
  }
}

/** The file, opened read-only once the restarted server stopped: intact, foreign keys kept. */
function checkFile(folder: string, expected: { assets: number; comments: number }): void {
  const file = join(folder, "zou.db");
  expect(existsSync(file)).toBe(true);
  const db = new Database(file, { readonly: true });
  try {
    expect(db.query("PRAGMA integrity_check").all()).toEqual([{ integrity_check: "ok" }]);
    expect(db.query("PRAGMA foreign_key_check").all()).toEqual([]);
    // The rows the API listed, plus the asset written after the restart.
    expect(db.query("select count(*) as n from comment").get()).toEqual({ n: expected.comments });
    expect((db.query("select count(*) as n from entity where name = 'After'").get() as { n: number }).n).toBe(1);
  } finally {
    db.close();
  }
}

describe("durability: SIGKILL during a write load", () => {
  test("one process: every acknowledged write survives, the file is intact", async () => {
    const outcome = await crashUnderLoad(1, (server) => [server.proc.pid]);
    // The WAL the kill left behind is what the restart recovers from.
    expect(existsSync(join(outcome.folder, "zou.db-wal"))).toBe(true);
    checkFileAfterKill(outcome.folder);
    const counts = await checkAfterRestart(outcome);
    checkFile(outcome.folder, counts);
  }, 90_000);

  test("a supervisor and two workers killed together: every acknowledged write survives", async () => {
    const outcome = await crashUnderLoad(2, (server) => {
      const pids = server.workerPids();
      expect(pids.length).toBe(2);
      return [...pids, server.proc.pid];
    });
    checkFileAfterKill(outcome.folder);
    const counts = await checkAfterRestart(outcome);
    checkFile(outcome.folder, counts);
  }, 90_000);
});
