/** Routes of the `user` area of routes.tsv. */
import type { Hono } from "hono";
import type { AppEnv } from "../context";

export function registerUser(app: Hono<AppEnv>): void {
  void app;
}
