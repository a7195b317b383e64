/** Routes of the `breakdown` area of routes.tsv. */
import type { Hono } from "hono";
import type { AppEnv } from "../context";

export function registerBreakdown(app: Hono<AppEnv>): void {
  void app;
}
