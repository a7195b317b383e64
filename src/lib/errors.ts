/** Errors that become Zou-shaped JSON answers (see http-conventions.md, "Error bodies"). */
import type { ContentfulStatusCode } from "hono/utils/http-status";

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly body: Record<string, unknown>,
  ) {
    super(typeof body.message === "string" ? body.message : typeof body.msg === "string" ? body.msg : `HTTP ${status}`);
  }
}

export const PERMISSION_DENIED_MESSAGE =
  "You don't have the permission to access the requested resource. It is either read-protected or not readable by the server.";
export const NOT_FOUND_MESSAGE =
  "404 Not Found: The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.";

/** 400 `{error: true, message, data}` (Zou's WrongParameterException). */
export function badRequest(message: string, data: unknown = null): ApiError {
  return new ApiError(400, { error: true, message, data });
}
/** 400 with just `{error: true, message}`, as Zou's hand-built answers. */
export function badRequestPlain(message: string): ApiError {
  return new ApiError(400, { error: true, message });
}
export function forbidden(message = PERMISSION_DENIED_MESSAGE): ApiError {
  return new ApiError(403, { error: true, message });
}
export function notFound(message = NOT_FOUND_MESSAGE): ApiError {
  return new ApiError(404, { error: true, message });
}
/** 400 for database integrity errors on writes: `{message}` without `error` (Zou's crud). */
export function integrityError(message: string): ApiError {
  return new ApiError(400, { message });
}

export const MALFORMED_ID = () => badRequest("Malformed ID.");
export const WRONG_ID_FORMAT = () =>
  new ApiError(400, { error: true, message: "One of the ID sent in parameter is not properly formatted." });

/** Maps a database error (SQLite or PostgreSQL) to Zou's sanitised 400, or returns null. */
export function databaseErrorToApiError(error: unknown): ApiError | null {
  const err = error as { code?: string; errno?: number; message?: string };
  const code = String(err?.code ?? "");
  const message = String(err?.message ?? "");
  if (code.includes("UNIQUE") || code.includes("PRIMARYKEY") || code === "23505") {
    return integrityError("A record with the same unique values already exists.");
  }
  if (code.includes("NOTNULL") || code === "23502") return integrityError("A required field is missing.");
  if (code.includes("FOREIGNKEY") || code === "23503") {
    return integrityError("The change conflicts with records referencing this one.");
  }
  if (code.includes("CHECK") || code === "23514") return integrityError("A value does not satisfy a check constraint.");
  if (code.startsWith("SQLITE_CONSTRAINT")) return integrityError("The data do not satisfy a database constraint.");
  if (code === "SQLITE_MISMATCH" || message.includes("datatype mismatch")) return integrityError("One of the provided values has an invalid format.");
  return null;
}
