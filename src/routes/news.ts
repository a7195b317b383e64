/** Routes of the `news` area of routes.tsv. */
import type { Hono } from "hono";
import type { AppEnv } from "../context";

export function registerNews(app: Hono<AppEnv>): void {
  void app;
}
