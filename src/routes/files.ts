/** Routes of the `files` area of routes.tsv. */
import type { Hono } from "hono";
import type { AppEnv } from "../context";

export function registerFiles(app: Hono<AppEnv>): void {
  void app;
}
