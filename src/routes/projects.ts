/** Routes of the `projects` area of routes.tsv. */
import type { Hono } from "hono";
import type { AppEnv } from "../context";

export function registerProjects(app: Hono<AppEnv>): void {
  void app;
}
