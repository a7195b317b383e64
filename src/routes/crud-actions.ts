/** Routes of crud-area actions (reorders). */
import type { Hono } from "hono";
import type { AppEnv } from "../context";

export function registerCrudActions(app: Hono<AppEnv>): void {
  void app;
}
