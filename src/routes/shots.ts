/** Routes of the `shots` area of routes.tsv. */
import type { Hono } from "hono";
import type { AppEnv } from "../context";

export function registerShots(app: Hono<AppEnv>): void {
  void app;
}
