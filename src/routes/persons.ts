/** Routes of the `persons` area of routes.tsv. */
import type { Hono } from "hono";
import type { AppEnv } from "../context";

export function registerPersons(app: Hono<AppEnv>): void {
  void app;
}
