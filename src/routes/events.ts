/** Routes of the `events` area of routes.tsv. */
import type { Hono } from "hono";
import type { AppEnv } from "../context";

export function registerEvents(app: Hono<AppEnv>): void {
  void app;
}
