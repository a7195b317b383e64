/**
 * The one way routes read request bodies: JSON (nesting limited, see validation.ts), or form
 * fields, or query arguments, then checked with a valibot schema (`parseBody`). Keys named after
 * Object.prototype members are a 400 everywhere.
 */
import * as v from "valibot";
import type { AppContext } from "../context";
import { ApiError, badRequest } from "./errors";
import { checkOwnKeys, parseJsonText, validate } from "./validation";

export { validate } from "./validation";

/**
 * The JSON body of a crud-style write: 415 for a non-JSON content type, 400 for an empty or broken
 * body, 400 "Data are empty..." for a literal null (http-conventions.md, crud POST).
 */
export async function readJsonObject(c: AppContext): Promise<Record<string, unknown>> {
  const contentType = c.req.header("content-type") ?? "";
  if (!contentType.toLowerCase().includes("application/json")) {
    throw new ApiError(415, {
      error: true,
      message: "Did not attempt to load JSON data because the request Content-Type was not 'application/json'.",
    });
  }
  const data = parseJsonText(await c.req.text());
  if (data === undefined) throw badRequest("The browser (or proxy) sent a request that this server could not understand.");
  if (data === null) throw badRequest("Data are empty. Please verify the data you sent.");
  if (typeof data !== "object" || Array.isArray(data)) throw badRequest("Data must be a JSON object.");
  checkOwnKeys(data);
  return data as Record<string, unknown>;
}

/**
 * The body as JSON whatever its content type (import routes): any JSON value, `undefined` when
 * empty; broken or too deeply nested JSON and prototype-named keys are a 400.
 */
export async function readJson(c: AppContext): Promise<unknown> {
  const data = parseJsonText(await c.req.text());
  checkOwnKeys(data);
  return data;
}

/**
 * The body of an action route as any JSON value (lists and scalars included) when sent as JSON,
 * else form fields, else query arguments (Zou's request parsers fall back the same way).
 * `undefined` for an empty JSON body. Broken or too deeply nested JSON is a 400.
 */
export async function readBodyValue(c: AppContext): Promise<unknown> {
  const contentType = (c.req.header("content-type") ?? "").toLowerCase();
  if (contentType.includes("application/json")) {
    const data = parseJsonText(await c.req.text());
    checkOwnKeys(data);
    return data;
  }
  let fields: Record<string, unknown> = { ...c.req.query() };
  if (contentType.includes("application/x-www-form-urlencoded") || contentType.includes("multipart/form-data")) {
    let form: Record<string, unknown>;
    try {
      form = (await c.req.parseBody()) as Record<string, unknown>;
    } catch (error) {
      if (error instanceof ApiError) throw error; // a body over the size limit (413)
      throw badRequest("The browser (or proxy) sent a request that this server could not understand.");
    }
    fields = { ...fields, ...form };
  }
  checkOwnKeys(fields);
  return fields;
}

/**
 * The body of an action route as an object: `{}` when empty or `null`; a list or a scalar where
 * an object is expected is a 400 "Validation error.".
 */
export async function readLooseBody(c: AppContext): Promise<Record<string, unknown>> {
  const data = await readBodyValue(c);
  if (data === undefined || data === null) return {};
  if (typeof data !== "object" || Array.isArray(data)) {
    throw badRequest("Validation error.", { errors: [{ field: "", message: "The body must be a JSON object." }] });
  }
  return data as Record<string, unknown>;
}

/** Reads an object body and validates it. */
export async function parseBody<TSchema extends v.GenericSchema>(c: AppContext, schema: TSchema): Promise<v.InferOutput<TSchema>> {
  return validate(schema, await readLooseBody(c));
}

/** Reads a body of any JSON shape (e.g. a list of ids) and validates it. */
export async function parseBodyValue<TSchema extends v.GenericSchema>(c: AppContext, schema: TSchema): Promise<v.InferOutput<TSchema>> {
  return validate(schema, await readBodyValue(c));
}

/** Validates the query arguments. */
export function parseQuery<TSchema extends v.GenericSchema>(c: AppContext, schema: TSchema): v.InferOutput<TSchema> {
  return validate(schema, c.req.query());
}
