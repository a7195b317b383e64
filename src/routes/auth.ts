/** Routes of the `auth` area of routes.tsv. */
import type { Hono } from "hono";
import type { AppEnv } from "../context";

export function registerAuth(app: Hono<AppEnv>): void {
  void app;
}
