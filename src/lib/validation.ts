/**
 * Request validation with valibot: valibot issues become Zou's 400 (`{error, message: "Validation
 * error.", data: {errors: [{field, message}]}}`, http-conventions.md "Error bodies"), JSON text is
 * parsed with a nesting limit, and keys named after `Object.prototype` members are refused.
 */
import type { MiddlewareHandler } from "hono";
import * as v from "valibot";
import { badRequest } from "./errors";
import { isUuid, normalizeId } from "./ids";

/** The field path of a valibot issue: `name`, `entries.0.id`; "" for the body itself. */
function issueField(issue: v.BaseIssue<unknown>): string {
  return issue.path?.map((item) => String(item.key)).join(".") ?? "";
}

/** Validates `data` against a valibot schema; failures are Zou's 400 "Validation error." naming each field. */
export function validate<TSchema extends v.GenericSchema>(schema: TSchema, data: unknown): v.InferOutput<TSchema> {
  const result = v.safeParse(schema, data);
  if (result.success) return result.output;
  // Zou's pydantic shape: the field in `field`, the schema's message as is ("Field required"...).
  const errors = result.issues.map((issue) => ({ field: issueField(issue), message: issue.message }));
  throw badRequest("Validation error.", { errors });
}

// ---------------------------------------------------------------------------------------------
// Keys that would reach Object.prototype through plain-object lookups

/** `constructor`, `toString`, `__proto__`, ...: never a Zou field or parameter. */
export const PROTOTYPE_KEYS: ReadonlySet<string> = new Set([...Object.getOwnPropertyNames(Object.prototype), "__proto__"]);

export function prototypeKeyError(key: string) {
  return badRequest(`Invalid parameter name: ${key}.`);
}

/** Throws 400 when an object (a body) has a key named after an Object.prototype member. */
export function checkOwnKeys(data: unknown): void {
  if (!data || typeof data !== "object" || Array.isArray(data)) return;
  for (const key of Object.keys(data)) if (PROTOTYPE_KEYS.has(key)) throw prototypeKeyError(key);
}

/** Middleware: a query-string key named after an Object.prototype member is a 400 on every route. */
export const rejectPrototypeQueryKeys: MiddlewareHandler = async (c, next) => {
  const url = c.req.url;
  const start = url.indexOf("?");
  if (start !== -1) {
    for (const key of new URLSearchParams(url.slice(start + 1)).keys()) {
      if (PROTOTYPE_KEYS.has(key)) throw prototypeKeyError(key);
    }
  }
  await next();
};

// ---------------------------------------------------------------------------------------------
// JSON text

/** Deepest nesting of objects and lists accepted in a JSON body (Kitsu's annotations go ~10 deep). */
export const MAX_JSON_DEPTH = 200;

const BAD_REQUEST_MESSAGE = "The browser (or proxy) sent a request that this server could not understand.";

/** True when the JSON text nests objects/lists deeper than `limit` (strings are skipped). */
function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 92) i++; // backslash: skip the escaped character
      else if (code === 34) inString = false;
    } else if (code === 34) inString = true;
    else if (code === 123 || code === 91) {
      if (++depth > limit) return true;
    } else if (code === 125 || code === 93) depth--;
  }
  return false;
}

/**
 * Parses a JSON request body: 400 for broken JSON and for nesting deeper than MAX_JSON_DEPTH
 * (which would exhaust the stack of whatever walks it later). `undefined` for an empty body.
 */
export function parseJsonText(text: string): unknown {
  if (text.trim() === "") return undefined;
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) throw badRequest(`The JSON body nests deeper than ${MAX_JSON_DEPTH} levels.`);
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest(BAD_REQUEST_MESSAGE);
  }
}

// ---------------------------------------------------------------------------------------------
// Building blocks for route schemas

/** An id (UUID-shaped string), normalised to its stored form. */
export const idSchema = v.pipe(
  v.string(),
  v.check((value) => isUuid(value), "must be a valid id"),
  v.transform((value) => normalizeId(value)),
);

/**
 * A number, given as a JSON number or as numeric text (Zou stores through PostgreSQL, which reads
 * `"12"` as 12, so gazu scripts sending text keep working), between `min` and `max`.
 */
export function numberSchema(options: { min?: number; max?: number; integer?: boolean } = {}) {
  const { min = -Number.MAX_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER, integer = false } = options;
  return v.pipe(
    v.union([v.number(), v.pipe(v.string(), v.trim(), v.nonEmpty())], "must be a number"),
    v.transform((value) => (typeof value === "number" ? value : Number(value))),
    v.check((value) => Number.isFinite(value), "must be a number"),
    v.check((value) => !integer || Number.isInteger(value), "must be an integer"),
    v.check((value) => value >= min && value <= max, `must be between ${min} and ${max}`),
  );
}

/** A boolean: JSON true/false, or a word (`true`, `yes`, `1`, `false`...) from a form or a query string. */
export const boolWordSchema = v.pipe(
  v.union([v.boolean(), v.picklist([0, 1]), v.string()], "must be a boolean"),
  v.transform((value) => (typeof value === "boolean" ? value : typeof value === "number" ? value === 1 : boolWord(value))),
  v.check((value): value is boolean => value !== null, "must be a boolean"),
);

const TRUE_WORDS = new Set(["y", "yes", "t", "true", "on", "1"]);
const FALSE_WORDS = new Set(["n", "no", "f", "false", "off", "0"]);

/** `true`/`false` for a boolean word (y/yes/t/true/on/1, n/no/f/false/off/0), null otherwise. */
export function boolWord(value: string): boolean | null {
  const word = value.toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Frame counts and rates kept in `data` dicts (shots' frame_in/frame_out/fps, Kitsu's metadata)

/** Keys of a `data` dict that hold frame numbers or rates: never negative, never absurd. */
const FRAME_DATA_LIMITS: Record<string, { min: number; max: number }> = {
  frame_in: { min: 0, max: 100_000_000 },
  frame_out: { min: 0, max: 100_000_000 },
  nb_frames: { min: 0, max: 100_000_000 },
  fps: { min: 0, max: 1000 },
};

/**
 * The first frame key of a `data` dict holding something else than a number (or numeric text, as
 * Kitsu's inputs send) within its range; `null` and `""` are accepted (an emptied field).
 */
export function badFrameDataKey(data: unknown): string | null {
  if (!data || typeof data !== "object" || Array.isArray(data)) return null;
  for (const [key, limits] of Object.entries(FRAME_DATA_LIMITS)) {
    if (!Object.hasOwn(data, key)) continue;
    const value = (data as Record<string, unknown>)[key];
    if (value === null || value === "") continue;
    const number = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
    if (!Number.isFinite(number) || number < limits.min || number > limits.max) return key;
  }
  return null;
}

/** A `data` dict of an entity: an object whose frame keys are sensible numbers. */
export const entityDataSchema = v.pipe(
  v.record(v.string(), v.unknown(), "must be an object"),
  v.check((value) => badFrameDataKey(value) === null, (issue) => `${badFrameDataKey(issue.input)} must be a non-negative number`),
);
