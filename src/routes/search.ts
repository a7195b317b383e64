/**
 * Routes of the `search` area: `POST /data/search`, the search bar of Kitsu (persons, assets,
 * shots). Any logged-in person may search; results are limited to their open projects.
 */
import type { Hono } from "hono";
import * as v from "valibot";
import type { AppEnv } from "../context";
import { parseBody } from "../lib/body";
import { normalizeId } from "../lib/ids";
import { search, SEARCH_INDEX_NAMES } from "../services/search";

/** Largest page a search answers (Zou sets none; this keeps one request bounded). */
const MAX_LIMIT = 1000;

/** An integer sent as a JSON number or as digits (form fields, query arguments). */
function integerField(min: number) {
  return v.pipe(
    v.union([v.number(), v.pipe(v.string(), v.regex(/^\d+$/, "must be an integer"), v.transform(Number))], "must be an integer"),
    v.integer("must be an integer"),
    v.minValue(min, `must be greater than or equal to ${min}`),
  );
}

const SearchBody = v.object({
  query: v.string("Field required"),
  project_id: v.optional(v.nullable(v.union([v.literal(""), v.pipe(v.string(), v.uuid("must be a valid UUID"))], "must be a valid UUID")), null),
  limit: v.optional(integerField(1), 3),
  offset: v.optional(integerField(0), 0),
  index_names: v.optional(
    v.union([v.array(v.string()), v.pipe(v.string(), v.transform((name) => [name]))], "must be a list of index names"),
    () => [...SEARCH_INDEX_NAMES],
  ),
});

export function registerSearch(app: Hono<AppEnv>): void {
  app.post("/data/search", async (c) => {
    const body = await parseBody(c, SearchBody);
    return c.json(
      await search(c, {
        query: body.query,
        projectId: body.project_id ? normalizeId(body.project_id) : null,
        limit: Math.min(body.limit, MAX_LIMIT),
        offset: body.offset,
        indexNames: body.index_names,
      }),
    );
  });
}
