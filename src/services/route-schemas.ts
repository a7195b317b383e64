/**
 * The valibot schemas routes declare for /openapi.json (./openapi.ts), kept apart from the
 * description builder so that declaring them at route registration does not load it (nor the
 * route docs and JSON Schema converter it uses) at start-up.
 */
import type * as v from "valibot";

/** The valibot schemas a route validates: its JSON body and its query string. */
export interface RouteSchemas {
  body?: v.GenericSchema;
  query?: v.GenericSchema;
}

const declared = new Map<string, RouteSchemas>();

/** `GET /data/projects/{}/...`: a route's key with its parameter names left out. */
export function routeKey(method: string, path: string): string {
  const bare = path.replace(/^\/api(?=\/|$)/, "") || "/";
  return `${method.toUpperCase()} ${bare.replace(/:[A-Za-z0-9_]+(\{[^}]*\})?|\{[^}]*\}/g, "{}")}`;
}

/** Declares the schemas a route validates (Hono path, e.g. `/data/projects/:project_id`), for /openapi.json. */
export function declareRouteSchemas(method: string, path: string, schemas: RouteSchemas): void {
  declared.set(routeKey(method, path), schemas);
}

/** The schemas declared for a route key (see routeKey). */
export function declaredSchemas(key: string): RouteSchemas | undefined {
  return declared.get(key);
}
