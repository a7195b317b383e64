/** Routes of the `edits` area of routes.tsv. */
import type { Hono } from "hono";
import type { AppEnv } from "../context";

export function registerEdits(app: Hono<AppEnv>): void {
  void app;
}
