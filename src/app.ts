/** Builds the Hono application: middleware, error handling and every area's routes. */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "./context";
import type { Config } from "./config";
import type { Db } from "./db/database";
import { ApiError, databaseErrorToApiError, NOT_FOUND_MESSAGE } from "./lib/errors";
import { EventBus } from "./lib/events";
import { rejectPrototypeQueryKeys } from "./lib/validation";
import { describeError, newRequestId } from "./lib/log";
import { bodyLimit } from "./lib/body-limit";
import { cameOverHttps, clientAddress, parseTrustedProxies, RateLimiter } from "./lib/rate-limit";
import { staticUi } from "./lib/static-ui";
import { accessLog } from "./lib/access-log";
import { compression } from "./lib/compression";
import { authMiddleware, isPublicPath } from "./services/auth";
import { registerRoutes } from "./routes/index";
import { MemoRouter } from "./lib/memo-router";

export interface AppDeps {
  db: Db;
  config: Config;
  events?: EventBus;
}

/** Strips the /api prefix and a trailing slash: `/api/data/persons/` and `/data/persons` are one route. */
export function normalizePath(request: Request): string {
  const url = request.url;
  const start = url.indexOf("/", url.indexOf("://") + 3);
  const queryStart = url.indexOf("?", start);
  let path = queryStart === -1 ? url.slice(start) : url.slice(start, queryStart);
  if (path.includes("%")) {
    try {
      path = decodeURI(path);
    } catch {
      /* keep the raw path */
    }
  }
  if (path === "/api" || path.startsWith("/api/")) path = path.slice(4) || "/";
  if (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);
  return path;
}

const SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ["X-Content-Type-Options", "nosniff"],
  ["X-Frame-Options", "SAMEORIGIN"],
  ["Content-Security-Policy", "frame-ancestors 'self'"],
  ["Referrer-Policy", "strict-origin-when-cross-origin"],
];

/** A route path as a RegExp: `:name` is one segment, `:name{re}` its own pattern (media routes). */
function routePattern(path: string): RegExp {
  const escape = (text: string) => text.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
  const param = /:[A-Za-z0-9_]+(\{[^}]*\})?/g;
  let source = "";
  let last = 0;
  for (let match = param.exec(path); match; match = param.exec(path)) {
    source += escape(path.slice(last, match.index)) + (match[1] ? `(?:${match[1].slice(1, -1)})` : "[^/]+");
    last = param.lastIndex;
  }
  return new RegExp(`^${source}${escape(path.slice(last))}$`);
}

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const events = deps.events ?? new EventBus();
  // The trie router directly: Hono's default (SmartRouter) first builds a RegExpRouter at the first
  // request, which gives up on these routes (a few hundred ms of start-up), then uses a TrieRouter.
  // Its results are remembered per method and path (./lib/memo-router.ts).
  const app = new Hono<AppEnv>({ getPath: normalizePath, router: new MemoRouter() });
  const proxies = parseTrustedProxies(deps.config.trustedProxies);
  const loginLimiter = new RateLimiter(deps.db, "login", deps.config.loginRateLimit, deps.config.loginRateWindow);
  app.use("*", accessLog(() => deps.config.logFormat));

  app.use("*", async (c, next) => {
    c.set("db", deps.db);
    c.set("config", deps.config);
    c.set("events", events);
    await next();
    // A stored file's stricter policy (lib/file-response.ts) is kept.
    const headers = c.res.headers;
    for (const [name, value] of SECURITY_HEADERS) if (!headers.has(name)) headers.set(name, value);
    // HSTS only on an https answer: TLS here, or a trusted proxy's `X-Forwarded-Proto: https`.
    if (deps.config.domainProtocol === "https" && cameOverHttps(c, proxies)) c.res.headers.set("Strict-Transport-Security", "max-age=31536000");
    const origin = c.req.header("origin");
    if (origin && deps.config.corsAllowedOrigins.includes(origin)) {
      c.res.headers.set("Access-Control-Allow-Origin", origin);
      c.res.headers.set("Access-Control-Allow-Credentials", "true");
      c.res.headers.set("Vary", "Origin");
      if (c.req.method === "OPTIONS") {
        c.res.headers.set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE, OPTIONS");
        c.res.headers.set("Access-Control-Allow-Headers", c.req.header("access-control-request-headers") ?? "Authorization, Content-Type");
      }
    }
  });
  if (deps.config.uiDir) app.use("*", staticUi(deps.config.uiDir));
  // Login attempts per client address (on top of the per-account lockout); a success gives its
  // attempt back, so only failures and refusals use up the allowance.
  app.use("/auth/login", async (c, next) => {
    if (c.req.method !== "POST") return next();
    const key = clientAddress(c, proxies) ?? "unknown";
    const retryAfter = await loginLimiter.take(key);
    if (retryAfter > 0) {
      const message = `Too many login attempts from this address, try again in ${retryAfter} seconds.`;
      return c.json({ error: true, login: false, message }, 429, { "Retry-After": String(retryAfter) });
    }
    await next();
    if (c.res.status === 200) await loginLimiter.release(key);
  });
  app.use("*", compression());
  app.use("*", bodyLimit(() => deps.config.maxJsonBodySize, isPublicPath));
  let routeMatchers: { method: string; pattern: RegExp }[] | null = null;
  /** Methods served for a path (for 405 and OPTIONS, as werkzeug answers). */
  const allowedMethods = (path: string): string[] => {
    routeMatchers ??= app.routes
      .filter((route) => route.method !== "ALL" && !route.path.includes("*"))
      .map((route) => ({
        method: route.method,
        pattern: routePattern(route.path),
      }));
    const methods = new Set(routeMatchers.filter((m) => m.pattern.test(path)).map((m) => m.method));
    if (methods.has("GET")) methods.add("HEAD");
    return [...methods].sort();
  };

  app.use("*", authMiddleware((path) => allowedMethods(path).length > 0));
  app.use("*", rejectPrototypeQueryKeys);

  registerRoutes(app);

  app.notFound((c) => {
    const rawPath = new URL(c.req.url).pathname;
    if (rawPath.includes("//")) {
      // werkzeug merges repeated slashes with a permanent redirect; the Location is relative, so a
      // forged Host header cannot send the client elsewhere.
      const url = new URL(c.req.url);
      return c.redirect(`${rawPath.replace(/\/{2,}/g, "/")}${url.search}`, 308);
    }
    const methods = allowedMethods(c.req.path);
    if (methods.length > 0) {
      if (c.req.method === "OPTIONS") {
        return c.body(null, 200, { Allow: [...methods, "OPTIONS"].sort().join(", ") });
      }
      c.header("Allow", [...methods, "OPTIONS"].sort().join(", "));
      return c.json({ error: true, message: "405 Method Not Allowed: The method is not allowed for the requested URL." }, 405);
    }
    return c.json({ error: true, message: NOT_FOUND_MESSAGE }, 404);
  });
  app.onError((error, c) => {
    if (error instanceof ApiError) return c.json(error.body, error.status);
    if (error instanceof HTTPException) {
      return c.json({ error: true, message: error.message || "Error" }, error.status);
    }
    const dbError = databaseErrorToApiError(error);
    if (dbError) return c.json(dbError.body, dbError.status);
    const requestId = newRequestId();
    console.error(`[${requestId}] ${c.req.method} ${c.req.path} failed: ${describeError(error)}`);
    return c.json({ error: true, message: "Internal server error." }, 500, { "X-Request-Id": requestId });
  });
  return app;
}

/** Every served route as `METHOD /api/path/{param}` (for the `routes` command and route coverage). */
export function listRoutes(app: Hono<AppEnv>): string[] {
  const seen = new Set<string>();
  for (const route of app.routes) {
    if (route.method === "ALL" || route.path === "*" || route.path.endsWith("/*")) continue;
    // `:id{[^/]+\.png}` is `{id}.png`; `:id{[^/]+\.[^/.]+}` is `{id}.{extension}` (media routes).
    const path = route.path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, (_, name: string, pattern: string | undefined) => {
      const suffix = pattern ? /\\\.([a-z0-9]+)\}$/.exec(pattern) : null;
      if (suffix) return `{${name}}.${suffix[1]}`;
      return pattern?.endsWith("\\.[^/.]+}") ? `{${name}}.{extension}` : `{${name}}`;
    });
    seen.add(`${route.method} /api${path === "/" ? "" : path}`);
  }
  return [...seen].sort((a, b) => a.split(" ")[1]!.localeCompare(b.split(" ")[1]!) || a.localeCompare(b));
}
