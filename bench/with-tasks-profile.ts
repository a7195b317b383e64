#!/usr/bin/env bun
/**
 * Where the time of a with-tasks answer after a one-task write goes (bench/with-tasks.ts's
 * production): times the server handler (app.fetch, body not read), then the body read in the same
 * process, over N write+read rounds. Run with `bun --cpu-prof` for a profile.
 *
 *   node_modules/.bin/bun bench/with-tasks-profile.ts [--runs 20] [--encoded]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp } from "../src/app";
import { testConfig } from "../src/config";
import { openDatabase } from "../src/db/database";
import { signToken } from "../src/lib/jwt";
import { createBenchDatabase } from "./with-tasks-data";

const RUNS = Math.max(1, Math.min(Number(process.argv[process.argv.indexOf("--runs") + 1]) || 20, 200));
const ENCODED = process.argv.includes("--encoded");
const dir = mkdtempSync(join(tmpdir(), "zou-bun-wt-profile-"));
const file = join(dir, "bench.db");
let server: ReturnType<typeof Bun.serve> | null = null;
try {
  const production = await createBenchDatabase(file, 2000);
  const db = openDatabase(`sqlite://${file}`);
  const config = testConfig({ databaseUrl: `sqlite://${file}` });
  const app = createApp({ db, config });
  const served: number[] = [];
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: async (request) => {
    const t = performance.now();
    const response = await app.fetch(request);
    served.push(performance.now() - t);
    return response;
  } });
  const { token } = await signToken(config.secretKey, production.adminId, { type: "access", identityType: "person", lifetime: 3600 });
  const url = `http://127.0.0.1:${server.port}/api/data/shots/with-tasks?project_id=${production.projectId}`;
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  if (!ENCODED) headers["Accept-Encoding"] = "identity";
  let priority = 0;
  const write = () => db.updateTable("task").set({ priority: ++priority % 5 }).where("id", "=", production.taskId).execute();
  await (await fetch(url, { headers })).arrayBuffer();
  const handler: number[] = [];
  const total: number[] = [];
  const warm: number[] = [];
  const headersAt: number[] = [];
  const servedAfterWrite: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await write();
    let t = performance.now();
    const response = await app.fetch(new Request(url, { headers }));
    handler.push(performance.now() - t);
    await response.arrayBuffer();
    await write();
    t = performance.now();
    const r = await fetch(url, { headers });
    headersAt.push(performance.now() - t);
    await r.arrayBuffer();
    total.push(performance.now() - t);
    servedAfterWrite.push(served.at(-1)!);
    t = performance.now();
    await (await fetch(url, { headers })).arrayBuffer();
    warm.push(performance.now() - t);
  }
  const med = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!.toFixed(1);
  console.log(`after a write: handler (app.fetch, body unread) ${med(handler)} ms; full HTTP ${med(total)} ms; warm full HTTP ${med(warm)} ms; after a write: served by app ${med(servedAfterWrite)} ms, headers at ${med(headersAt)} ms`);
} finally {
  server?.stop(true);
  rmSync(dir, { recursive: true, force: true });
}
