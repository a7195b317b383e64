/** Routes of the `assets` area of routes.tsv. */
import type { Hono } from "hono";
import type { AppEnv } from "../context";

export function registerAssets(app: Hono<AppEnv>): void {
  void app;
}
