/** Routes of the `tasks` area of routes.tsv. */
import type { Hono } from "hono";
import type { AppEnv } from "../context";

export function registerTasks(app: Hono<AppEnv>): void {
  void app;
}
