/** Account commands of the CLI: first admin, create-admin, change-password. */
import { randomBytes } from "node:crypto";
import type { Config } from "../config";
import type { Db } from "../db/database";
import { newId, utcNow } from "../lib/ids";
import { hashPassword } from "../lib/passwords";

export async function createAdmin(db: Db, config: Config, email: string, password: string): Promise<string> {
  const normalized = email.trim().toLowerCase();
  if (password.length < config.minPasswordLength) throw new Error("Password is too short.");
  const existing = await db.selectFrom("person").select("id").where("email", "=", normalized).where("is_bot", "=", false).executeTakeFirst();
  if (existing) throw new Error(`A person with email ${normalized} already exists.`);
  const now = utcNow();
  const id = newId();
  await db.insertInto("person").values({
    id, created_at: now, updated_at: now, first_name: "Super", last_name: "Admin", email: normalized,
    password: await hashPassword(password, config.bcryptCost), role: "admin", active: true, phone: "", desktop_login: "",
    locale: config.defaultLocale, timezone: config.defaultTimezone,
  }).execute();
  return id;
}

export async function changePassword(db: Db, email: string, password: string, cost = 12): Promise<void> {
  const normalized = email.trim().toLowerCase();
  const result = await db.updateTable("person")
    .set({ password: await hashPassword(password, cost), updated_at: utcNow(), login_failed_attemps: 0 })
    .where("email", "=", normalized).where("is_bot", "=", false).executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) throw new Error(`No person with email ${normalized}.`);
}

/**
 * On a database without any person, creates the first admin from ZOU_ADMIN_EMAIL/ZOU_ADMIN_PASSWORD,
 * or admin@example.com with a random password that is returned to be printed once.
 */
export async function ensureFirstAdmin(db: Db, config: Config, env = process.env): Promise<{ email: string; generatedPassword?: string } | null> {
  const anyone = await db.selectFrom("person").select("id").limit(1).executeTakeFirst();
  if (anyone) return null;
  const email = env.ZOU_ADMIN_EMAIL || "admin@example.com";
  const generatedPassword = env.ZOU_ADMIN_PASSWORD ? undefined : randomBytes(9).toString("base64url");
  await createAdmin(db, config, email, env.ZOU_ADMIN_PASSWORD || generatedPassword!);
  return { email, generatedPassword };
}
