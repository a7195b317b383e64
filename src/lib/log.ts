/** Server-side logging of unexpected errors: one line per error, tied to a request id. */
import { randomBytes } from "node:crypto";

/** A short random id given to a failed request, logged and sent back as `X-Request-Id`. */
export function newRequestId(): string {
  return randomBytes(8).toString("hex");
}

/**
 * An error on one line: its name, message and first stack frames. (Printing the error object itself
 * makes Bun print the surrounding source, a whole line of the minified bundle in the binary.)
 */
export function describeError(error: unknown, frames = 3): string {
  if (!(error instanceof Error)) return oneLine(String(error)).slice(0, 1000);
  const head = `${error.name}: ${oneLine(error.message)}`.slice(0, 1000);
  const stack = (error.stack ?? "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.startsWith("at "))
    .slice(0, frames)
    .map((line) => line.slice(0, 200));
  return stack.length > 0 ? `${head} (${stack.join(" < ")})` : head;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
