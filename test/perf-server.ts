/** Test harness: `bun run src/cli.ts serve` spawned on 127.0.0.1 over a temporary SQLite file. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");

export interface SpawnedServer {
  url: string;
  folder: string;
  databaseFile: string;
  env: Record<string, string>;
  process: ReturnType<typeof Bun.spawn>;
  /** Everything the server printed so far (stdout and stderr). */
  output(): string;
  /** Runs another CLI command (its own process) on the same database; resolves to its exit code and output. */
  cli(args: string[]): Promise<{ code: number; output: string }>;
  /** Runs `script` in another Bun process with `DB` = the database file path. */
  script(script: string): Promise<{ code: number; output: string }>;
  stop(): Promise<void>;
}

export const ADMIN_EMAIL = "admin@example.com";
export const ADMIN_PASSWORD = "admin-password-1";

async function run(args: string[], env: Record<string, string>): Promise<{ code: number; output: string }> {
  const child = Bun.spawn([process.execPath, ...args], { cwd: ROOT, env, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, output: out + err };
}

/** Spawns the server (extra CLI arguments after `serve`, extra environment) and waits for its "listening" line. */
export async function spawnServer(extraArgs: string[] = [], readyPattern = /listening on (http:\/\/127\.0\.0\.1:\d+)\/api/, extraEnv: Record<string, string> = {}): Promise<SpawnedServer> {
  const folder = mkdtempSync(join(tmpdir(), "zou-perf-"));
  const databaseFile = join(folder, "zou.db");
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: folder,
    DATABASE_URL: `sqlite://${databaseFile}`,
    SECRET_KEY: "perf-test-secret-perf-test-secret-0123456789",
    PREVIEW_FOLDER: join(folder, "previews"),
    TMP_DIR: join(folder, "tmp"),
    ZOU_ADMIN_EMAIL: ADMIN_EMAIL,
    ZOU_ADMIN_PASSWORD: ADMIN_PASSWORD,
    BCRYPT_LOG_ROUNDS: "4",
    ...extraEnv,
  };
  const child = Bun.spawn([process.execPath, "run", "src/cli.ts", "serve", "--host", "127.0.0.1", "--port", "0", ...extraArgs], {
    cwd: ROOT,
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  let output = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      output += decoder.decode(value, { stream: true });
    }
  };
  void pump(child.stdout as ReadableStream<Uint8Array>);
  void pump(child.stderr as ReadableStream<Uint8Array>);
  const deadline = Date.now() + 30_000;
  let url: string | undefined;
  while (!url) {
    const match = readyPattern.exec(output);
    if (match) url = match[1];
    else if (child.exitCode !== null || Date.now() > deadline) {
      child.kill();
      rmSync(folder, { recursive: true, force: true });
      throw new Error(`server did not start:\n${output}`);
    } else await Bun.sleep(20);
  }
  return {
    url,
    folder,
    databaseFile,
    env,
    process: child,
    output: () => output,
    cli: (args) => run(["run", "src/cli.ts", ...args], env),
    script: (script) => run(["-e", script], { ...env, DB: databaseFile }),
    async stop() {
      child.kill("SIGTERM");
      const exited = await Promise.race([child.exited.then(() => true), Bun.sleep(10_000).then(() => false)]);
      if (!exited) child.kill("SIGKILL");
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** Logs in by email and password; the access token, or the failed answer's status. */
export async function login(url: string, email: string, password: string): Promise<{ status: number; token?: string }> {
  const res = await fetch(`${url}/api/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  const body = (await res.json()) as { access_token?: string };
  return { status: res.status, token: body.access_token };
}

/** A JSON request with a bearer token. */
export async function call(url: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed };
}
