/** Routes of the `concepts` area of routes.tsv. */
import type { Hono } from "hono";
import type { AppEnv } from "../context";

export function registerConcepts(app: Hono<AppEnv>): void {
  void app;
}
