#!/usr/bin/env bun
/**
 * CPU per request of the in-process request path, without the network (see bench/README.md):
 * `app.request("/api/data/persons/{id}")` with a valid token, against a bare Hono route
 * (`GET /bare` → `{"ok": true}`) through `app.request` too, in rounds interleaved so that other
 * load on the machine hits both sides alike. Temporary SQLite file, bounded run.
 *
 *   node_modules/.bin/bun bench/request-path.ts [--requests 20000] [--rounds 5]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { createApp } from "../src/app";
import { loadConfig } from "../src/config";
import { openDatabase, migrateToLatest } from "../src/db/database";
import { initData } from "../src/services/init-data";
import { ensureFirstAdmin } from "../src/services/accounts";
import { signToken } from "../src/lib/jwt";
import { accessLogSink } from "../src/lib/access-log";

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}
const REQUESTS = Math.min(option("--requests", 20_000), 200_000);
const ROUNDS = Math.min(option("--rounds", 5), 20);
const SECRET = "bench-secret-key-bench-secret-key-0123456789";

const folder = mkdtempSync(join(tmpdir(), "zou-request-path-"));
try {
  const config = { ...loadConfig({ DATABASE_URL: `sqlite://${join(folder, "zou.db")}`, SECRET_KEY: SECRET, PREVIEW_FOLDER: join(folder, "previews"), TMP_DIR: join(folder, "tmp"), BCRYPT_LOG_ROUNDS: "4", ZOU_ADMIN_PASSWORD: "bench-password-1" }) };
  const db = openDatabase(config.databaseUrl);
  await migrateToLatest(db);
  await initData(db, "3d");
  await ensureFirstAdmin(db, config, { ZOU_ADMIN_PASSWORD: "bench-password-1" });
  const admin = await db.selectFrom("person").select("id").where("role", "=", "admin").executeTakeFirstOrThrow();
  const { token } = await signToken(SECRET, admin.id, { type: "access", identityType: "person", lifetime: 3600 });
  const app = createApp({ db, config });
  // Access log lines are formatted as in production but dropped, not printed.
  accessLogSink.write = () => {};
  const bare = new Hono();
  bare.get("/bare", (c) => c.json({ ok: true }));

  const personsUrl = `http://127.0.0.1/api/data/persons/${admin.id}`;
  const headers = { Authorization: `Bearer ${token}`, "Accept-Encoding": "gzip, deflate, br, zstd" };
  const check = await app.request(personsUrl, { headers });
  if (check.status !== 200) throw new Error(`persons/{id} answered ${check.status}`);

  async function time(fn: () => Response | Promise<Response>): Promise<number> {
    const started = performance.now();
    for (let i = 0; i < REQUESTS; i += 1) await (await fn()).arrayBuffer();
    return ((performance.now() - started) * 1000) / REQUESTS;
  }
  const persons = () => app.request(personsUrl, { headers });
  const bareCall = () => bare.request("http://127.0.0.1/bare", { headers });
  await time(persons); // warm-up (JIT)
  await time(bareCall);
  const rounds: { persons_us: number; bare_us: number }[] = [];
  for (let round = 0; round < ROUNDS; round += 1) rounds.push({ persons_us: await time(persons), bare_us: await time(bareCall) });
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const personsUs = median(rounds.map((r) => r.persons_us));
  const bareUs = median(rounds.map((r) => r.bare_us));
  const result = {
    requests_per_round: REQUESTS,
    rounds: ROUNDS,
    persons_id_us: Math.round(personsUs * 10) / 10,
    bare_hono_us: Math.round(bareUs * 10) / 10,
    persons_share_of_bare: Math.round((bareUs / personsUs) * 100) / 100,
    load_average: (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" "),
  };
  console.log(`GET /api/data/persons/{id}: ${result.persons_id_us} µs/request; bare Hono route: ${result.bare_hono_us} µs; persons/{id} runs at ${result.persons_share_of_bare} of the bare route`);
  console.log(JSON.stringify(result));
  await db.destroy();
} finally {
  rmSync(folder, { recursive: true, force: true });
}
