/** Routes of time spents and day offs (tasks and persons areas). */
import type { Hono } from "hono";
import type { AppEnv } from "../context";

export function registerTimeSpents(app: Hono<AppEnv>): void {
  void app;
}
