/**
 * Serves a Kitsu build folder (KITSU_DIST or `serve --ui DIR`) at `/`, beside the API under
 * `/api` and socket.io under `/socket.io`: GET/HEAD of a file of the folder answers the file;
 * any other path answers `index.html` (Kitsu's history-mode routes such as
 * `/productions/<id>/assets`), except a missing path whose last segment looks like a file name
 * (`/assets/gone-1a2b3c4d.js`: a 404, not HTML under a script's name). Hashed assets (under
 * `assets/`, Vite's output, or named `name.<hex hash>.ext`) are cached for a year; `index.html`
 * and other files are revalidated on every load (`no-cache`). Paths with a segment starting with
 * a dot (dotfiles, `..`), a backslash or a NUL byte are refused, and no file outside the folder
 * (symbolic links included) is served.
 */
import { realpathSync, statSync } from "node:fs";
import { join, sep } from "node:path";
import type { MiddlewareHandler } from "hono";
import { NOT_FOUND_MESSAGE } from "./errors";

export const IMMUTABLE = "public, max-age=31536000, immutable";

function isHashed(relative: string): boolean {
  const name = relative.slice(relative.lastIndexOf("/") + 1);
  return relative.startsWith("assets/") || /\.[0-9a-f]{8,}\.[A-Za-z0-9]+$/.test(name);
}

/** The path relative to the folder, or null when it is not a safe one. */
function safeRelativePath(pathname: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return null;
  const segments = decoded.split("/").filter((segment) => segment !== "");
  if (segments.some((segment) => segment.startsWith("."))) return null;
  return segments.join("/");
}

function isUnder(root: string, path: string): boolean {
  return path === root || path.startsWith(root + sep);
}

/** The middleware; `dir` must exist (checked at start-up by the caller). */
export function staticUi(dir: string): MiddlewareHandler {
  const root = realpathSync(dir);
  const index = join(root, "index.html");

  const fileAt = (relative: string): string | null => {
    if (!relative) return null;
    try {
      const real = realpathSync(join(root, relative));
      if (!isUnder(root, real) || !statSync(real).isFile()) return null;
      return real;
    } catch {
      return null;
    }
  };

  return async (c, next) => {
    const method = c.req.method;
    const pathname = new URL(c.req.url).pathname;
    const isApi = /^\/(api|socket\.io)(\/|$)/.test(pathname);
    if ((method !== "GET" && method !== "HEAD") || isApi) return next();
    const relative = safeRelativePath(pathname);
    if (relative === null) return c.json({ error: true, message: NOT_FOUND_MESSAGE }, 404);
    const file = fileAt(relative);
    if (file && file !== index) {
      return new Response(method === "HEAD" ? null : Bun.file(file), {
        headers: {
          "Content-Type": Bun.file(file).type,
          "Content-Length": String(statSync(file).size),
          "Cache-Control": isHashed(relative) ? IMMUTABLE : "no-cache",
          "Last-Modified": statSync(file).mtime.toUTCString(),
        },
      });
    }
    const last = relative.slice(relative.lastIndexOf("/") + 1);
    if (!file && /\.[A-Za-z0-9]{1,8}$/.test(last) && !last.endsWith(".html")) {
      return c.json({ error: true, message: NOT_FOUND_MESSAGE }, 404);
    }
    const html = Bun.file(index);
    if (!(await html.exists())) return c.json({ error: true, message: "The Kitsu build has no index.html." }, 404);
    return new Response(method === "HEAD" ? null : html, {
      headers: { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache" },
    });
  };
}
