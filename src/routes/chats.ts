/** Routes of the `chats` area of routes.tsv. */
import type { Hono } from "hono";
import type { AppEnv } from "../context";

export function registerChats(app: Hono<AppEnv>): void {
  void app;
}
