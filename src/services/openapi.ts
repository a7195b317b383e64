/**
 * The OpenAPI 3 description of the served API, built from the Hono app's route list (the same
 * list the `routes` command prints), the summaries, areas and permissions of the reference route
 * list (lib/route-docs.generated.ts) and, where a route declares them, its valibot schemas.
 */
import { toJsonSchema } from "@valibot/to-json-schema";
import type * as v from "valibot";
import { ROUTE_DOCS } from "../lib/route-docs.generated";
import { declaredSchemas, routeKey } from "./route-schemas";

type Json = Record<string, unknown>;

function jsonSchemaOf(schema: v.GenericSchema): Json {
  return toJsonSchema(schema, { target: "openapi-3.0", errorMode: "ignore" }) as Json;
}

const REASONS: Record<number, string> = {
  200: "OK", 201: "Created", 204: "No content", 302: "Redirect", 400: "Bad request (validation error)", 401: "Missing or invalid token",
  403: "Forbidden", 404: "Not found", 405: "Method not allowed", 409: "Conflict", 413: "Payload too large", 422: "Unprocessable entity",
  423: "Locked", 500: "Internal server error", 501: "Not implemented",
};

function responsesOf(success: number[], errors: number[]): Json {
  const responses: Json = {};
  for (const code of success.length ? success : [200]) responses[String(code)] = { description: REASONS[code] ?? "Success" };
  for (const code of errors) responses[String(code)] = { description: REASONS[code] ?? "Error" };
  return responses;
}

function curlSample(method: string, path: string, isPublic: boolean, hasBody: boolean): string {
  const parts = [`curl -X ${method} "$ZOU_URL/api${path}"`];
  if (!isPublic) parts.push(`-H "Authorization: Bearer $ZOU_TOKEN"`);
  if (hasBody) parts.push(`-H "Content-Type: application/json" -d '{}'`);
  return parts.join(" \\\n  ");
}

export interface OpenApiOptions {
  /** Adds `x-codeSamples` (curl) to every operation (/openapi.json; /openapi-raw.json has none). */
  codeSamples: boolean;
  version: string;
}

/**
 * The document for `routes` (lines `METHOD /api/path/{param}` from listRoutes): one operation per
 * line, paths without the /api prefix (the server URL carries it).
 */
export function buildOpenApi(routes: string[], options: OpenApiOptions): Json {
  const paths: Record<string, Json> = {};
  const tags = new Set<string>();
  const operationIds = new Set<string>();
  for (const route of routes) {
    const [method, apiPath] = route.split(" ") as [string, string];
    const path = apiPath.replace(/^\/api(?=\/|$)/, "") || "/";
    const key = routeKey(method, path);
    const doc = ROUTE_DOCS[key];
    const schemas = declaredSchemas(key);
    const area = doc?.area ?? "other";
    tags.add(area);
    const isPublic = doc?.permission.startsWith("public") ?? false;
    const parameters: Json[] = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => ({
      name: match[1], in: "path", required: true, schema: { type: "string" },
    }));
    if (schemas?.query) {
      const query = jsonSchemaOf(schemas.query);
      const required = new Set((query.required as string[] | undefined) ?? []);
      for (const [name, schema] of Object.entries((query.properties as Record<string, Json> | undefined) ?? {})) {
        parameters.push({ name, in: "query", required: required.has(name), schema });
      }
    }
    // `getDataProjectsProjectId`; a number is added when two paths differ only by punctuation.
    const baseId = `${method.toLowerCase()}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_, next: string | undefined) => (next ?? "").toUpperCase())}`;
    let operationId = baseId;
    for (let n = 2; operationIds.has(operationId); n++) operationId = `${baseId}${n}`;
    operationIds.add(operationId);
    const operation: Json = {
      operationId,
      summary: doc?.summary ?? `${method} ${path}`,
      description: doc ? `Permission: ${doc.permission}.` : "Not in the reference route list.",
      tags: [area],
      "x-permission": doc?.permission ?? null,
      parameters,
      responses: responsesOf(doc?.success.filter(Number.isFinite) ?? [], doc?.errors.filter(Number.isFinite) ?? []),
    };
    if (isPublic) operation.security = [];
    if (schemas?.body) operation.requestBody = { required: true, content: { "application/json": { schema: jsonSchemaOf(schemas.body) } } };
    if (options.codeSamples) {
      const hasBody = Boolean(schemas?.body) || method === "POST" || method === "PUT";
      operation["x-codeSamples"] = [{ lang: "Shell", label: "curl", source: curlSample(method, path, isPublic, hasBody) }];
    }
    paths[path] ??= {};
    paths[path]![method.toLowerCase()] = operation;
  }
  return {
    openapi: "3.0.3",
    info: {
      title: "Zou API (zou-bun)",
      version: options.version,
      description: "The REST API behind Kitsu and gazu. Send the access token of POST /api/auth/login as `Authorization: Bearer <token>`.",
    },
    servers: [{ url: "/api" }],
    tags: [...tags].sort().map((name) => ({ name })),
    paths,
    components: { securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } } },
    security: [{ bearerAuth: [] }],
  };
}
