#!/usr/bin/env bun
/**
 * Bounded HTTP load generators, 127.0.0.1 only.
 *
 * 1. One URL (used by bench/persons.ts when `wrk` is not installed): `concurrency` loops of
 *    sequential GETs, stopped by time or by count. Prints one JSON line:
 *    {requests, errors, seconds, rps, p50_ms, p99_ms}.
 *
 *      bun bench/load.ts URL SECONDS CONCURRENCY MAX_REQUESTS [TOKEN]
 *
 * 2. Mixed studio load (issue 13, see bench/README.md): writes the with-tasks production
 *    (bench/with-tasks-data.ts, 2,000 shots x 10 task types by default) into a temporary SQLite
 *    file, spawns `bun run src/cli.ts serve --workers N` on it for each N, and runs `connections`
 *    loops for `seconds`, each request drawn at random: 90% reads (the big lists Kitsu loads: shots
 *    with tasks as compact NDJSON, sequences with tasks, persons; and by-id reads: a person, a
 *    shot, a task), 10% writes (a task's priority through `PUT /api/data/tasks/{id}`, on random
 *    tasks). Requests send `Accept-Encoding: identity` unless `--compressed` (Bun's fetch then asks
 *    for gzip/br/zstd). Prints one JSON line per N and a Markdown table.
 *
 *      bun bench/load.ts --mixed [--workers 1,2] [--seconds 20] [--connections 32] [--shots 2000] [--compressed]
 *                        [--database-url postgres://user@127.0.0.1:PORT/EMPTY_DB]
 *
 *    With --database-url, the production is copied (copy-db) into that empty PostgreSQL database
 *    and the servers run on it (`--workers 2` is then two instances on one PostgreSQL database).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const percentileOf = (sorted: Float64Array | number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0);

async function singleUrl(): Promise<void> {
  const [url, secondsArg = "10", concurrencyArg = "32", maxArg = "500000", token] = process.argv.slice(2);
  if (!url || !new URL(url).hostname.match(/^(127\.0\.0\.1|localhost)$/)) {
    console.error("usage: bun bench/load.ts http://127.0.0.1:PORT/path SECONDS CONCURRENCY MAX_REQUESTS [TOKEN]");
    process.exit(2);
  }
  const seconds = Math.min(Number(secondsArg), 120);
  const concurrency = Math.min(Number(concurrencyArg), 256);
  const maxRequests = Math.min(Number(maxArg), 2_000_000);
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  const latencies = new Float64Array(maxRequests);
  let count = 0;
  let errors = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const worker = async () => {
    while (count < maxRequests && performance.now() < deadline) {
      const t0 = performance.now();
      try {
        const response = await fetch(url!, { headers });
        await response.arrayBuffer();
        if (response.status !== 200) errors += 1;
      } catch {
        errors += 1;
      }
      if (count < maxRequests) latencies[count++] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  const sorted = latencies.slice(0, count).sort();
  console.log(JSON.stringify({ requests: count, errors, seconds: elapsed, rps: count / elapsed, p50_ms: percentileOf(sorted, 50), p99_ms: percentileOf(sorted, 99) }));
}

async function mixed(): Promise<void> {
  const { Database } = await import("bun:sqlite");
  const { signToken } = await import("../src/lib/jwt");
  const { createBenchDatabase } = await import("./with-tasks-data");
  const argument = (name: string) => {
    const i = process.argv.indexOf(name);
    return i === -1 ? undefined : process.argv[i + 1];
  };
  const workerCounts = (argument("--workers") ?? "1,2").split(",").map(Number).filter((n) => n >= 1 && n <= 8);
  const seconds = Math.min(Number(argument("--seconds") ?? 20), 120);
  const connections = Math.min(Number(argument("--connections") ?? 32), 256);
  const shots = Math.min(Number(argument("--shots") ?? 2000), 20_000);
  const compressed = process.argv.includes("--compressed");
  const ROOT = resolve(import.meta.dir, "..");
  const SECRET = "bench-secret-key-bench-secret-key-0123456789";

  const dir = mkdtempSync(join(tmpdir(), "zou-bun-load-"));
  const file = join(dir, "bench.db");
  const rows: Record<string, unknown>[] = [];
  try {
    const production = await createBenchDatabase(file, shots);
    const sqlite = new Database(file, { readonly: true });
    const taskIds = (sqlite.query("select id from task where project_id = ?").all(production.projectId) as { id: string }[]).map((r) => r.id);
    const shotIds = (sqlite.query("select id from entity where project_id = ? and entity_type_id = ?").all(production.projectId, production.shotTypeId) as { id: string }[]).map((r) => r.id);
    const personIds = (sqlite.query("select id from person").all() as { id: string }[]).map((r) => r.id);
    sqlite.close();
    const databaseUrl = argument("--database-url");
    if (databaseUrl) {
      const { copyBetween } = await import("../src/services/db-copy");
      await copyBetween(`sqlite://${file}`, databaseUrl);
    }
    const { token } = await signToken(SECRET, production.adminId, { type: "access", identityType: "person", lifetime: 3600 });
    const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)]!;
    const p = production.projectId;
    /** Request kinds with their weights (percent). */
    const kinds: { name: string; weight: number; path: () => string; write?: boolean }[] = [
      { name: "shots with tasks (NDJSON compact)", weight: 20, path: () => `/data/shots/with-tasks?project_id=${p}&compact=true&stream=true` },
      { name: "sequences with tasks", weight: 10, path: () => `/data/sequences/with-tasks?project_id=${p}` },
      { name: "persons", weight: 10, path: () => "/data/persons" },
      { name: "person by id", weight: 20, path: () => `/data/persons/${pick(personIds)}` },
      { name: "shot by id", weight: 15, path: () => `/data/shots/${pick(shotIds)}` },
      { name: "task by id", weight: 15, path: () => `/data/tasks/${pick(taskIds)}` },
      { name: "write: task priority", weight: 10, path: () => `/data/tasks/${pick(taskIds)}`, write: true },
    ];
    const draw = () => {
      let r = Math.random() * 100;
      for (const kind of kinds) if ((r -= kind.weight) < 0) return kind;
      return kinds[0]!;
    };

    for (const workers of workerCounts) {
      const port = 20000 + Math.floor(Math.random() * 20000);
      const proc = Bun.spawn([process.execPath, "run", "src/cli.ts", "serve", "--workers", String(workers), "--host", "127.0.0.1", "--port", String(port)], {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: databaseUrl ?? `sqlite://${file}`, SECRET_KEY: SECRET, PREVIEW_FOLDER: join(dir, "previews"), TMP_DIR: join(dir, "tmp") },
        stdout: "ignore",
        stderr: "inherit",
      });
      try {
        const base = `http://127.0.0.1:${port}/api`;
        const deadlineStart = performance.now() + 60_000;
        for (;;) {
          try {
            if ((await fetch(`${base}`)).status === 200) break;
          } catch {
            /* not listening yet */
          }
          if (performance.now() > deadlineStart) throw new Error("the server did not answer within 60 s");
          await Bun.sleep(20);
        }
        const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
        if (!compressed) headers["Accept-Encoding"] = "identity";
        // Warm-up: each worker builds its lists once.
        for (let i = 0; i < workers * 2; i++) for (const kind of kinds.slice(0, 3)) await (await fetch(base + kind.path(), { headers })).arrayBuffer();

        const latencies = new Map<string, number[]>(kinds.map((k) => [k.name, []]));
        const all: number[] = [];
        let errors = 0;
        let bytes = 0;
        let priority = 0;
        const started = performance.now();
        const deadline = started + seconds * 1000;
        const loop = async () => {
          while (performance.now() < deadline) {
            const kind = draw();
            const t0 = performance.now();
            try {
              const response = kind.write
                ? await fetch(base + kind.path(), { method: "PUT", headers: { ...headers, "Content-Type": "application/json" }, body: JSON.stringify({ priority: ++priority % 5 }) })
                : await fetch(base + kind.path(), { headers });
              bytes += (await response.arrayBuffer()).byteLength;
              if (response.status !== 200) errors += 1;
            } catch {
              errors += 1;
            }
            const ms = performance.now() - t0;
            latencies.get(kind.name)!.push(ms);
            all.push(ms);
          }
        };
        await Promise.all(Array.from({ length: connections }, loop));
        const elapsed = (performance.now() - started) / 1000;
        all.sort((a, b) => a - b);
        const perKind = Object.fromEntries(
          [...latencies].map(([name, list]) => {
            list.sort((a, b) => a - b);
            return [name, { requests: list.length, p50_ms: Math.round(percentileOf(list, 50) * 10) / 10, p99_ms: Math.round(percentileOf(list, 99) * 10) / 10 }];
          }),
        );
        const row = {
          workers, connections, seconds: Math.round(elapsed * 10) / 10, compressed, requests: all.length, errors,
          rps: Math.round((all.length / elapsed) * 10) / 10, p50_ms: Math.round(percentileOf(all, 50) * 10) / 10, p99_ms: Math.round(percentileOf(all, 99) * 10) / 10,
          mib_per_s: Math.round((bytes / 1048576 / elapsed) * 10) / 10, load_average: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "), perKind,
        };
        rows.push(row);
        console.log(JSON.stringify(row));
      } finally {
        proc.kill();
        await proc.exited;
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log("| workers | encoding | requests/s | p50 | p99 | MiB/s | errors | load average |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const r of rows as any[]) console.log(`| ${r.workers} | ${r.compressed ? "gzip/br/zstd" : "identity"} | ${r.rps} | ${r.p50_ms} ms | ${r.p99_ms} ms | ${r.mib_per_s} | ${r.errors} | ${r.load_average} |`);
}

if (process.argv.includes("--mixed")) await mixed();
else await singleUrl();
