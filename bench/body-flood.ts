#!/usr/bin/env bun
/**
 * Body flood (issue 8, item 3): peak resident memory of the server while ten clients each send a
 * 500 MiB body to `POST /api/auth/login` at once, next to its idle memory.
 *
 * Spawns `bun run src/cli.ts serve --host 127.0.0.1 --port P` in a temporary folder, waits for its
 * first answer, sends one ordinary login, reads its RSS (idle), then opens ten raw TCP connections
 * to 127.0.0.1 that each announce a JSON body (`Content-Length`, or `--chunked` for
 * `Transfer-Encoding: chunked`) and keep writing until the body is sent or the server closes the
 * connection. RSS is sampled every 10 ms (`/proc/<pid>/status`, VmRSS; VmHWM at the end).
 * Bounded: loopback only, 10 connections (`--clients`), 500 MiB each (`--mib`), 120 s at most.
 *
 *   node_modules/.bin/bun bench/body-flood.ts [--chunked] [--clients 10] [--mib 500]
 *
 * The last line of the output is the result as JSON.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const BUN = process.execPath;

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}
const CHUNKED = process.argv.includes("--chunked");
const CLIENTS = Math.min(Math.max(option("--clients", 10), 1), 32);
const BODY_BYTES = Math.min(Math.max(option("--mib", 500), 1), 1024) * 1024 * 1024;
const DEADLINE_MS = 120_000;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

function freePort(): number {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
  const port = server.port!;
  server.stop(true);
  return port;
}

function memory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kib("VmRSS") / 1024, hwm: kib("VmHWM") / 1024 };
}

interface FloodResult {
  status: string;
  sentMiB: number;
  ms: number;
}

/** One client: announces BODY_BYTES of JSON and writes until done or the server hangs up. */
function flood(port: number): Promise<FloodResult> {
  const started = performance.now();
  return new Promise((done) => {
    let sent = 0;
    let status = "no answer";
    let finished = false;
    const socket = connect({ host: "127.0.0.1", port });
    const finish = () => {
      if (finished) return;
      finished = true;
      socket.destroy();
      done({ status, sentMiB: Math.round(sent / 1024 / 1024), ms: Math.round(performance.now() - started) });
    };
    const timer = setTimeout(finish, DEADLINE_MS);
    socket.on("data", (data) => {
      const line = data.toString("latin1").split("\r\n")[0] ?? "";
      if (status === "no answer" && line.startsWith("HTTP/")) status = line.slice(9);
      if (sent >= BODY_BYTES) finish();
    });
    socket.on("error", finish);
    socket.on("close", () => {
      clearTimeout(timer);
      finish();
    });
    const chunk = Buffer.alloc(1024 * 1024, "a".charCodeAt(0));
    const header = [
      "POST /api/auth/login HTTP/1.1",
      `Host: 127.0.0.1:${port}`,
      "Content-Type: application/json",
      CHUNKED ? "Transfer-Encoding: chunked" : `Content-Length: ${BODY_BYTES}`,
      "",
      "",
    ].join("\r\n");
    const write = () => {
      while (!finished && sent < BODY_BYTES) {
        const piece = sent === 0 ? Buffer.concat([Buffer.from('{"email": "'), chunk.subarray(11)]) : chunk;
        const framed = CHUNKED ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from("\r\n")]) : piece;
        sent += piece.length;
        if (!socket.write(framed)) {
          socket.once("drain", write);
          return;
        }
      }
      if (!finished && CHUNKED && sent >= BODY_BYTES) socket.write("0\r\n\r\n");
      if (!finished && sent >= BODY_BYTES && status !== "no answer") finish();
    };
    socket.on("connect", () => {
      socket.write(header);
      write();
    });
  });
}

async function main(): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), "zou-bench-flood-"));
  const port = freePort();
  const server = Bun.spawn([BUN, "run", join(ROOT, "src/cli.ts"), "serve", "--workers", "1", "--host", "127.0.0.1", "--port", String(port)], {
    cwd: folder,
    env: {
      ...process.env,
      DATABASE_URL: `sqlite://${join(folder, "zou.db")}`,
      PREVIEW_FOLDER: join(folder, "previews"),
      TMP_DIR: join(folder, "tmp"),
      SECRET_KEY: "bench-secret-key-bench-secret-key-0123456789",
      ZOU_ADMIN_PASSWORD: "bench-password",
    },
    stdout: "ignore",
    stderr: "inherit",
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      if (i > 300) throw new Error("the server did not start");
      const ok = await fetch(`${base}/api`).then((r) => r.ok, () => false);
      if (ok) break;
      await sleep(50);
    }
    const login = await fetch(`${base}/api/auth/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: "admin@example.com", password: "bench-password" }),
    });
    await login.text();
    await sleep(1000);
    const idle = memory(server.pid).rss;
    let peak = idle;
    const sampler = setInterval(() => {
      peak = Math.max(peak, memory(server.pid).rss);
    }, 10);
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: CLIENTS }, () => flood(port)));
    const seconds = (performance.now() - started) / 1000;
    await sleep(200);
    clearInterval(sampler);
    const { rss, hwm } = memory(server.pid);
    peak = Math.max(peak, hwm);
    const alive = await fetch(`${base}/api`).then((r) => r.status, () => 0);
    const statuses: Record<string, number> = {};
    for (const result of results) statuses[result.status] = (statuses[result.status] ?? 0) + 1;
    const summary = {
      clients: CLIENTS,
      body_mib: BODY_BYTES / 1024 / 1024,
      transfer: CHUNKED ? "chunked" : "content-length",
      idle_rss_mib: Math.round(idle * 10) / 10,
      peak_rss_mib: Math.round(peak * 10) / 10,
      peak_over_idle_mib: Math.round((peak - idle) * 10) / 10,
      rss_after_mib: Math.round(rss * 10) / 10,
      statuses,
      mib_sent_per_client: results.map((r) => r.sentMiB),
      seconds: Math.round(seconds * 10) / 10,
      server_answers_after: alive,
    };
    console.log(`idle ${summary.idle_rss_mib} MiB, peak ${summary.peak_rss_mib} MiB (+${summary.peak_over_idle_mib} MiB), answers ${JSON.stringify(statuses)}`);
    console.log(JSON.stringify(summary));
  } finally {
    server.kill();
    await server.exited;
    rmSync(folder, { recursive: true, force: true });
  }
}

await main();
