/**
 * Routes of the `admin` area: `GET /admin/config/check`, for the operator. It exists only when
 * ADMIN_TOKEN is set (404 otherwise, as Zou does not register it) and is authenticated by
 * `Authorization: Bearer <ADMIN_TOKEN>` instead of a session (403 for anything else).
 */
import { timingSafeEqual } from "node:crypto";
import type { Hono } from "hono";
import type { AppEnv } from "../context";
import { forbidden, notFound } from "../lib/errors";
import { configCheck } from "../services/admin";

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function registerAdmin(app: Hono<AppEnv>): void {
  app.get("/admin/config/check", async (c) => {
    const expected = c.get("config").adminToken;
    if (!expected) throw notFound();
    const header = c.req.header("authorization") ?? "";
    if (!header.startsWith("Bearer ") || !sameSecret(header.slice(7), expected)) throw forbidden();
    return c.json(await configCheck(c));
  });
}
