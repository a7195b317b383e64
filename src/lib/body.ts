/** Reading and validating request bodies (JSON, or form/query fallback) with valibot. */
import * as v from "valibot";
import type { AppContext } from "../context";
import { ApiError, badRequest } from "./errors";

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
  const text = await c.req.text();
  if (text.trim() === "") throw badRequest("The browser (or proxy) sent a request that this server could not understand.");
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw badRequest("The browser (or proxy) sent a request that this server could not understand.");
  }
  if (data === null) throw badRequest("Data are empty. Please verify the data you sent.");
  if (typeof data !== "object" || Array.isArray(data)) throw badRequest("Data must be a JSON object.");
  return data as Record<string, unknown>;
}

/**
 * The body of an action route: JSON when sent as JSON, else form fields, else query arguments
 * (Zou's request parsers fall back the same way). Never throws; an unreadable body is `{}`.
 */
export async function readLooseBody(c: AppContext): Promise<Record<string, unknown>> {
  const contentType = (c.req.header("content-type") ?? "").toLowerCase();
  try {
    if (contentType.includes("application/json")) {
      const text = await c.req.text();
      if (text.trim() === "") return {};
      const data = JSON.parse(text);
      return data && typeof data === "object" ? (data as Record<string, unknown>) : {};
    }
    if (contentType.includes("application/x-www-form-urlencoded") || contentType.includes("multipart/form-data")) {
      const form = await c.req.parseBody();
      return { ...c.req.query(), ...(form as Record<string, unknown>) };
    }
  } catch (error) {
    if (error instanceof ApiError) throw error; // a body over the size limit (413)
    return {};
  }
  return { ...c.req.query() };
}

/** Validates `data` against a valibot schema; failures are Zou's 400 "Validation error.". */
export function validate<TSchema extends v.GenericSchema>(schema: TSchema, data: unknown): v.InferOutput<TSchema> {
  const result = v.safeParse(schema, data);
  if (result.success) return result.output;
  const errors = result.issues.map((issue) => ({
    field: issue.path?.map((p) => String(p.key)).join(".") ?? "",
    message: issue.message,
  }));
  throw badRequest("Validation error.", { errors });
}

/** Reads a loose body and validates it. */
export async function parseBody<TSchema extends v.GenericSchema>(c: AppContext, schema: TSchema): Promise<v.InferOutput<TSchema>> {
  return validate(schema, await readLooseBody(c));
}
