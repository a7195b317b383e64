/**
 * Routes of the `docs` area of routes.tsv: the OpenAPI description of the served routes
 * (/openapi.json with code samples, /openapi-raw.json without) and the Swagger UI page at
 * /apidocs, whose files (swagger-ui-dist) are embedded in the compiled binary. No token needed.
 */
import type { Context, Hono } from "hono";
import type { AppEnv } from "../context";
import { listRoutes } from "../app";
import { NOT_FOUND_MESSAGE } from "../lib/errors";
// `type: "file"` embeds the files in `bun build --compile` (stack-notes.md, "Embedding").
import swaggerCss from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import swaggerBundle from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import swaggerPreset from "swagger-ui-dist/swagger-ui-standalone-preset.js" with { type: "file" };

/** Files of the page, by the name under /apidocs/. */
const ASSETS: Record<string, { path: string; type: string }> = {
  "swagger-ui.css": { path: swaggerCss as unknown as string, type: "text/css; charset=utf-8" },
  "swagger-ui-bundle.js": { path: swaggerBundle as unknown as string, type: "text/javascript; charset=utf-8" },
  "swagger-ui-standalone-preset.js": { path: swaggerPreset as unknown as string, type: "text/javascript; charset=utf-8" },
};

/** Starts Swagger UI on /api/openapi.json (a file rather than an inline script). */
const INIT_SCRIPT = `window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout",
  });
});
`;

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Zou API documentation</title>
  <link rel="stylesheet" href="/apidocs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/apidocs/swagger-ui-bundle.js"></script>
  <script src="/apidocs/swagger-ui-standalone-preset.js"></script>
  <script src="/apidocs/init.js"></script>
</body>
</html>
`;

/**
 * Zou serves the raw spec and the page beside its API, not under /api: there `/api/apidocs` and
 * `/api/openapi-raw.json` are its generic 404 (recorded from Zou 1.0.67), so they are here too.
 */
function isUnderApiPrefix(url: string): boolean {
  const path = new URL(url).pathname;
  return path === "/api" || path.startsWith("/api/");
}

export function registerDocs(app: Hono<AppEnv>): void {
  const notUnderApi = (c: Context<AppEnv>) => (isUnderApiPrefix(c.req.url) ? c.json({ error: true, message: NOT_FOUND_MESSAGE }, 404) : null);
  const documents = new Map<boolean, Record<string, unknown>>();
  const document = async (codeSamples: boolean, version: string) => {
    let doc = documents.get(codeSamples);
    if (!doc) {
      // Loaded at the first request: the builder, the route docs and the JSON Schema converter.
      const { buildOpenApi } = await import("../services/openapi");
      documents.set(codeSamples, (doc = buildOpenApi(listRoutes(app), { codeSamples, version })));
    }
    return doc;
  };
  app.get("/openapi.json", async (c) => c.json(await document(true, c.get("config").version)));
  app.get("/openapi-raw.json", async (c) => notUnderApi(c) ?? c.json(await document(false, c.get("config").version)));
  app.get("/apidocs", (c) => notUnderApi(c) ?? c.html(PAGE));
  // Assets: a wildcard route, left out of the route list (not an API route).
  app.get("/apidocs/*", async (c) => {
    const outside = notUnderApi(c);
    if (outside) return outside;
    const name = c.req.path.slice("/apidocs/".length);
    if (name === "init.js") return c.body(INIT_SCRIPT, 200, { "Content-Type": "text/javascript; charset=utf-8" });
    const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (!asset) return c.notFound();
    return c.body(await Bun.file(asset.path).arrayBuffer(), 200, { "Content-Type": asset.type, "Cache-Control": "public, max-age=86400" });
  });
}
