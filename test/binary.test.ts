/**
 * The compiled binary, copied alone into an empty folder, starts, creates the first admin, and
 * serves a login plus a CRUD round trip (issue "Foundation", done-when).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const bun = join(root, "node_modules/.bin/bun");
let folder = "";
let server: ReturnType<typeof Bun.spawn> | null = null;
let base = "";

async function run(cmd: string[], cwd: string, env: Record<string, string> = {}) {
  const proc = Bun.spawn(cmd, { cwd, env: { PATH: process.env.PATH ?? "", ...env }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code: await proc.exited, stdout, stderr };
}

beforeAll(async () => {
  const buildDir = mkdtempSync(join(tmpdir(), "zou-bun-build-"));
  const outfile = join(buildDir, "zou-bun");
  const build = await run([bun, "build", "--compile", "--minify", join(root, "src/main.ts"), "--outfile", outfile], root);
  expect(build.code).toBe(0);
  folder = mkdtempSync(join(tmpdir(), "zou-bun-empty-"));
  copyFileSync(outfile, join(folder, "zou-bun"));
  rmSync(buildDir, { recursive: true, force: true });
  Bun.spawnSync(["chmod", "+x", join(folder, "zou-bun")]);
}, 120_000);

afterAll(() => {
  server?.kill();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

describe("the single binary", () => {
  test("prints its version and help from an empty folder", async () => {
    expect(readdirSync(folder)).toEqual(["zou-bun"]);
    const version = await run(["./zou-bun", "--version"], folder);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = await run(["./zou-bun", "--help"], folder);
    expect(help.stdout).toContain("create-admin");
  });

  test("lists its routes", async () => {
    const routes = await run(["./zou-bun", "routes"], folder);
    expect(routes.code).toBe(0);
    const lines = routes.stdout.trim().split("\n");
    expect(lines).toContain("POST /api/auth/login");
    expect(lines).toContain("GET /api/data/persons/{instance_id}");
  });

  test("serves login and a CRUD round trip", async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    base = `http://127.0.0.1:${port}/api`;
    server = Bun.spawn(["./zou-bun", "serve", "--host", "127.0.0.1", "--port", String(port)], {
      cwd: folder,
      env: { PATH: process.env.PATH ?? "", ZOU_ADMIN_EMAIL: "boss@studio.test", ZOU_ADMIN_PASSWORD: "a-long-password", BCRYPT_LOG_ROUNDS: "4" },
      stdout: "pipe",
      stderr: "pipe",
    });
    let ready = false;
    for (let i = 0; i < 100 && !ready; i++) {
      try {
        ready = (await fetch(base)).ok;
      } catch {
        await Bun.sleep(100);
      }
    }
    expect(ready).toBe(true);

    const login = await fetch(`${base}/auth/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: "boss@studio.test", password: "a-long-password" }),
    });
    expect(login.status).toBe(200);
    const { access_token: token, user } = (await login.json()) as { access_token: string; user: { role: string } };
    expect(user.role).toBe("admin");
    const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };

    const created = await fetch(`${base}/data/studios`, { method: "POST", headers, body: JSON.stringify({ name: "North", color: "#112233" }) });
    expect(created.status).toBe(201);
    const studio = (await created.json()) as { id: string; name: string };
    const updated = await fetch(`${base}/data/studios/${studio.id}`, { method: "PUT", headers, body: JSON.stringify({ name: "South" }) });
    expect(((await updated.json()) as { name: string }).name).toBe("South");
    const deleted = await fetch(`${base}/data/studios/${studio.id}`, { method: "DELETE", headers });
    expect(deleted.status).toBe(204);
    expect((await fetch(`${base}/data/studios/${studio.id}`, { headers })).status).toBe(404);

    const taskStatuses = (await (await fetch(`${base}/data/task-status`, { headers })).json()) as { short_name: string }[];
    expect(taskStatuses.map((s) => s.short_name)).toContain("wip");
    expect(readdirSync(folder).sort()).toContain("zou.db");
  });
});
