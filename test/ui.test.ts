/** Issue 16 item 3: a Kitsu build folder served at `/` beside the API (KITSU_DIST / serve --ui). */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeServer } from "./helpers";

const outside = mkdtempSync(join(tmpdir(), "zou-bun-ui-outside-"));
const dist = mkdtempSync(join(tmpdir(), "zou-bun-ui-"));
writeFileSync(join(outside, "secret.txt"), "secret");
writeFileSync(join(dist, "index.html"), "<!doctype html><title>Kitsu</title>");
writeFileSync(join(dist, "favicon.ico"), "icon");
writeFileSync(join(dist, ".env"), "TOKEN=1");
mkdirSync(join(dist, "assets"));
writeFileSync(join(dist, "assets", "index-4f2a9c1e.js"), "console.log('kitsu')");
symlinkSync(join(outside, "secret.txt"), join(dist, "leak.txt"));
afterAll(() => {
  rmSync(dist, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

describe("serving the Kitsu UI", async () => {
  const s = await makeServer({ uiDir: dist });

  test("a deep link answers index.html, revalidated on every load", async () => {
    for (const path of ["/", "/productions/abc/assets", "/my-tasks?x=1", "/index.html"]) {
      const response = await s.request("GET", path, { token: null });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toContain("text/html");
      expect(response.headers.get("cache-control")).toBe("no-cache");
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(await response.text()).toContain("<title>Kitsu</title>");
    }
  });

  test("a hashed asset is cached for a year, another file is revalidated", async () => {
    const asset = await s.request("GET", "/assets/index-4f2a9c1e.js", { token: null });
    expect(asset.status).toBe(200);
    expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(asset.headers.get("content-type")).toContain("javascript");
    expect(await asset.text()).toBe("console.log('kitsu')");
    const icon = await s.request("GET", "/favicon.ico", { token: null });
    expect(icon.status).toBe(200);
    expect(icon.headers.get("cache-control")).toBe("no-cache");
    const head = await s.request("HEAD", "/assets/index-4f2a9c1e.js", { token: null });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });

  test("a missing file name is a 404, not the page", async () => {
    const response = await s.request("GET", "/assets/gone-12345678.js", { token: null });
    expect(response.status).toBe(404);
  });

  test("the API and its authentication stay under /api", async () => {
    const root = await s.json("GET", "/api", { token: null });
    expect(root.status).toBe(200);
    expect(root.body.api).toBe("Zou");
    expect((await s.json("GET", "/api/data/persons", { token: null })).status).toBe(401);
    const persons = await s.json("GET", "/api/data/persons");
    expect(persons.status).toBe(200);
    expect(Array.isArray(persons.body)).toBe(true);
    const login = await s.json("POST", "/api/auth/login", { token: null, body: { email: s.admin.email, password: s.admin.password } });
    expect(login.status).toBe(200);
  });

  test("traversal, dotfiles and links out of the folder are refused", async () => {
    for (const path of ["/..%2f..%2fetc%2fpasswd", "/%2e%2e%2fsecret.txt", "/.env", "/assets/%2e%2e/.env", "/a%5c..%5cindex.html", "/leak.txt"]) {
      const response = await s.request("GET", path, { token: null });
      expect(response.status).toBe(404);
      const text = await response.text();
      expect(text).not.toContain("TOKEN=1");
      expect(text).not.toContain("secret");
    }
  });
});

describe("without a UI folder", async () => {
  const s = await makeServer();
  test("/ stays the API's root", async () => {
    const response = await s.json("GET", "/", { token: null });
    expect(response.status).toBe(200);
    expect(response.body.api).toBe("Zou");
  });
});

describe("serve --ui", () => {
  test("one process serves Kitsu at /, the API under /api and socket.io", async () => {
    const root = join(import.meta.dir, "..");
    const folder = mkdtempSync(join(tmpdir(), "zou-bun-ui-serve-"));
    const port = 20000 + Math.floor(Math.random() * 30000);
    const proc = Bun.spawn([join(root, "node_modules/.bin/bun"), "run", join(root, "src/cli.ts"), "serve", "--host", "127.0.0.1", "--port", String(port), "--ui", dist], {
      cwd: folder,
      env: { PATH: process.env.PATH ?? "", ZOU_ADMIN_PASSWORD: "admin-password" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const base = `http://127.0.0.1:${port}`;
    try {
      for (let i = 0; ; i++) {
        if (i > 600) throw new Error("the server did not start");
        if (await fetch(`${base}/api`).then((r) => r.ok, () => false)) break;
        await Bun.sleep(50);
      }
      const page = await fetch(`${base}/productions/abc/shots`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("<title>Kitsu</title>");
      expect(((await (await fetch(`${base}/api`)).json()) as any).api).toBe("Zou");
      const handshake = await fetch(`${base}/socket.io/?EIO=4&transport=polling`);
      expect(handshake.status).toBe(200);
      expect(await handshake.text()).toStartWith("0{");
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
      rmSync(folder, { recursive: true, force: true });
    }
  }, 60_000);
});
