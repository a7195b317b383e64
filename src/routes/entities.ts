/** Routes of the `entities` area of routes.tsv. */
import type { Hono } from "hono";
import type { AppEnv } from "../context";

export function registerEntities(app: Hono<AppEnv>): void {
  void app;
}
