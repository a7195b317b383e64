/** Routes of the `departments` area of routes.tsv. */
import type { Hono } from "hono";
import type { AppEnv } from "../context";

export function registerDepartments(app: Hono<AppEnv>): void {
  void app;
}
