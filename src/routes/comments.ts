/** Routes of the `comments` area of routes.tsv. */
import type { Hono } from "hono";
import type { AppEnv } from "../context";

export function registerComments(app: Hono<AppEnv>): void {
  void app;
}
