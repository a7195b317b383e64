/**
 * Password login (auth.md §2.1 `check_auth`): lookup by e-mail or desktop login, lockout after 5
 * failures for 1 minute (counters kept on the person row), password strategies, login logs,
 * cookies for browsers and reset tokens.
 */
import { randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import { sql } from "kysely";
import { setCookie } from "hono/cookie";
import type { AppContext, PersonRow } from "../context";
import type { Config } from "../config";
import type { Db } from "../db/database";
import { newId, utcNow } from "../lib/ids";
import { clientAddress, isTrusted, parseTrustedProxies, socketAddress } from "../lib/rate-limit";
import { kvDelete, kvGet, kvSet } from "../lib/kv";
import { hashPassword, verifyPassword } from "../lib/passwords";
import { ACCESS_COOKIE, REFRESH_COOKIE, type TokenPair } from "./auth";
import { hasTwoFactor } from "./two-factor";
import { ldapPasswordMatches } from "./ldap";

export const MAX_FAILED_LOGINS = 5;
export const LOCKOUT_SECONDS = 60;
export const RESET_TOKEN_SECONDS = 2 * 3600;
export const INVITATION_TOKEN_SECONDS = 7 * 24 * 3600;
/** Max-Age of the auth cookies (flask-jwt-extended's one-year constant). */
export const COOKIE_MAX_AGE = 31_540_000;

export function enforce2fa(config: Config): boolean {
  return config.enforce2fa;
}

/** True when a session of this person must be restricted to 2FA setup (ENFORCE_2FA). */
export function requiresTwoFactorSetup(config: Config, person: Record<string, any>): boolean {
  if (!enforce2fa(config)) return false;
  const exempt = config.twoFactorExemptUsers.map((email) => email.trim().toLowerCase());
  if (person.email && exempt.includes(String(person.email).toLowerCase())) return false;
  return !hasTwoFactor(person);
}

/** The non-bot person logging in with `identifier` (e-mail, else desktop login). */
export async function findLoginPerson(db: Db, identifier: string): Promise<PersonRow | undefined> {
  const value = identifier.trim();
  if (!value) return undefined;
  const byEmail = await db.selectFrom("person").selectAll().where("email", "=", value.toLowerCase()).where("is_bot", "=", false).executeTakeFirst();
  if (byEmail) return byEmail;
  return db.selectFrom("person").selectAll().where("desktop_login", "=", value).where("is_bot", "=", false).executeTakeFirst();
}

/** The non-bot person whose e-mail is `email` (already normalized). */
export async function personByEmail(db: Db, email: string): Promise<PersonRow | undefined> {
  return db.selectFrom("person").selectAll().where("email", "=", email).where("is_bot", "=", false).executeTakeFirst();
}

export type CredentialFailure = "unknown_user" | "too_many_failures" | "wrong_password" | "inactive" | "unknown_strategy";
export type CredentialCheck = { ok: true; person: PersonRow } | { ok: false; reason: CredentialFailure; person?: PersonRow };

/** One more failure on the counter, in one statement (concurrent failures all count). */
export async function recordLoginFailure(db: Db, person: PersonRow): Promise<void> {
  await db
    .updateTable("person")
    .set({ login_failed_attemps: sql<number>`coalesce(login_failed_attemps, 0) + 1`, last_login_failed: utcNow() })
    .where("id", "=", person.id)
    .execute();
}

export async function resetLoginFailures(db: Db, person: PersonRow): Promise<void> {
  await db.updateTable("person").set({ login_failed_attemps: 0 }).where("id", "=", person.id).where("login_failed_attemps", "<>", 0).execute();
  person.login_failed_attemps = 0;
}

/**
 * Counts an attempt before its password is checked, atomically: the counter goes up by one unless
 * the person is locked out (5 failures within the last minute; an elapsed window starts again from
 * 0). Returns false when locked. So a burst of concurrent guesses gets 5 password checks, not one
 * per request, and a locked account refuses the right password too. A matching password gives
 * its attempt back (`releaseLoginAttempt`).
 */
async function reserveLoginAttempt(db: Db, personId: string): Promise<boolean> {
  const windowStart = new Date(Date.now() - LOCKOUT_SECONDS * 1000).toISOString().slice(0, 19);
  const attempts = sql<number>`coalesce(login_failed_attemps, 0)`;
  await db
    .updateTable("person")
    .set({ login_failed_attemps: 0 })
    .where("id", "=", personId)
    .where(attempts, ">=", MAX_FAILED_LOGINS)
    .where((eb) => eb.or([eb("last_login_failed", "is", null), eb("last_login_failed", "<", windowStart)]))
    .execute();
  const reserved = await db
    .updateTable("person")
    .set({ login_failed_attemps: sql<number>`coalesce(login_failed_attemps, 0) + 1`, last_login_failed: utcNow() })
    .where("id", "=", personId)
    .where(attempts, "<", MAX_FAILED_LOGINS)
    .executeTakeFirst();
  return Number(reserved.numUpdatedRows) > 0;
}

async function releaseLoginAttempt(db: Db, personId: string): Promise<void> {
  await db
    .updateTable("person")
    .set({ login_failed_attemps: sql<number>`login_failed_attemps - 1` })
    .where("id", "=", personId)
    .where("login_failed_attemps", ">", 0)
    .execute();
}

/**
 * A bcrypt hash of a random password with the configured cost, made once: unknown e-mails and
 * accounts without a password are checked against it, so they take as long as real accounts.
 */
const dummyHashes = new Map<number, Promise<string>>();
function dummyHash(cost: number): Promise<string> {
  let hash = dummyHashes.get(cost);
  if (!hash) {
    hash = hashPassword(randomBytes(18).toString("base64"), cost);
    dummyHashes.set(cost, hash);
  }
  return hash;
}

async function dummyPasswordCheck(config: Config, password: string): Promise<false> {
  await verifyPassword(password, await dummyHash(config.bcryptCost));
  return false;
}

function isBcryptHash(hash: unknown): boolean {
  const text = hash instanceof Uint8Array ? new TextDecoder().decode(hash) : typeof hash === "string" ? hash : "";
  return text.startsWith("$2");
}

/** Checks the password of a person according to AUTH_STRATEGY (null: unknown strategy). */
async function passwordMatches(config: Config, person: PersonRow, password: string): Promise<boolean | null> {
  switch (config.authStrategy) {
    case "auth_local_classic":
      if (!isBcryptHash(person.password)) return dummyPasswordCheck(config, password);
      return verifyPassword(password, person.password);
    case "auth_local_no_password":
      return true;
    case "auth_remote_ldap":
      // Directory persons bind as themselves; the others use their local password only with
      // LDAP_FALLBACK (Zou refuses them otherwise, with the wrong-password answer).
      if (person.is_generated_from_ldap) return ldapPasswordMatches(config.ldap, person.desktop_login, password);
      if (config.ldap.fallback) return passwordMatches({ ...config, authStrategy: "auth_local_classic" }, person, password);
      return dummyPasswordCheck(config, password);
    default:
      return null;
  }
}

/**
 * Zou's `check_auth` up to the second factor: person lookup, lockout, password, active flag.
 * Updates the failure counter; the caller resets it after a full success.
 */
export async function checkCredentials(c: AppContext, identifier: string, password: string, found?: PersonRow): Promise<CredentialCheck> {
  const db = c.get("db");
  const config = c.get("config");
  const person = found ?? (await findLoginPerson(db, identifier));
  if (!person) {
    await dummyPasswordCheck(config, password);
    return { ok: false, reason: "unknown_user" };
  }
  if (!["auth_local_classic", "auth_local_no_password", "auth_remote_ldap"].includes(config.authStrategy)) {
    return { ok: false, reason: "unknown_strategy", person };
  }
  if (!(await reserveLoginAttempt(db, person.id))) return { ok: false, reason: "too_many_failures", person };
  let matches: boolean | null;
  try {
    matches = await passwordMatches(config, person, password);
  } catch (error) {
    // The directory could not answer: not the person's failure.
    await releaseLoginAttempt(db, person.id);
    throw error;
  }
  if (!matches) return { ok: false, reason: "wrong_password", person };
  await releaseLoginAttempt(db, person.id);
  if (!person.active) return { ok: false, reason: "inactive", person };
  return { ok: true, person };
}

// ---------------------------------------------------------------------------------------------
// Clients, cookies, logs

/**
 * True for the user agents ua-parser names as a browser (Chrome, Firefox, Safari, Edge, Opera,
 * Vivaldi, Brave and their mobile versions). Scripts (gazu, curl, Electron apps such as the Kitsu
 * publisher) get their tokens in the body only.
 */
export function isBrowser(userAgent: string | undefined): boolean {
  if (!userAgent || !userAgent.startsWith("Mozilla/")) return false;
  if (/Electron\/|HeadlessChrome|Kitsu/i.test(userAgent)) return false;
  return /(Chrome|CriOS|Firefox|FxiOS|Safari|Edg|EdgA|EdgiOS|OPR|Opera|Vivaldi|Brave)\//.test(userAgent);
}

export function isBrowserRequest(c: AppContext): boolean {
  return isBrowser(c.req.header("user-agent"));
}

/**
 * Path of the refresh cookie: the refresh route as the client reaches it, so browsers send the
 * cookie back (`/api/auth/refresh-token` behind the /api prefix, `/auth/refresh-token` bare).
 */
export function refreshCookiePath(c: AppContext): string {
  const pathname = new URL(c.req.url).pathname;
  return pathname === "/api" || pathname.startsWith("/api/") ? "/api/auth/refresh-token" : "/auth/refresh-token";
}

const COOKIE_FLAGS = { httpOnly: true, sameSite: "Lax" as const, secure: false };

export function setAccessCookie(c: AppContext, token: string): void {
  setCookie(c, ACCESS_COOKIE, token, { ...COOKIE_FLAGS, path: "/", maxAge: COOKIE_MAX_AGE });
}

export function setAuthCookies(c: AppContext, tokens: TokenPair): void {
  setAccessCookie(c, tokens.access_token);
  setCookie(c, REFRESH_COOKIE, tokens.refresh_token, { ...COOKIE_FLAGS, path: refreshCookiePath(c), maxAge: COOKIE_MAX_AGE });
}

export function clearAuthCookies(c: AppContext): void {
  const expires = new Date(0);
  setCookie(c, ACCESS_COOKIE, "", { ...COOKIE_FLAGS, path: "/", expires });
  setCookie(c, REFRESH_COOKIE, "", { ...COOKIE_FLAGS, path: refreshCookiePath(c), expires });
}

/**
 * The client's address for login logs: the socket peer (Bun's `requestIP`); from a TRUSTED_PROXIES
 * peer, its `X-Real-IP` or `X-Forwarded-For` client. Without a socket (app.request in-process) the
 * `X-Real-IP` header is all there is.
 */
export function requestIp(c: AppContext): string | null {
  const header = c.req.header("x-real-ip")?.trim().slice(0, 50) || null;
  const peer = socketAddress(c);
  if (!peer) return header;
  const proxies = parseTrustedProxies(c.get("config").trustedProxies);
  if (!isTrusted(proxies, peer)) return peer;
  return header ?? clientAddress(c, proxies);
}

export async function recordLoginLog(c: AppContext, personId: string, origin: "web" | "script"): Promise<void> {
  const now = utcNow();
  await c
    .get("db")
    .insertInto("login_log")
    .values({ id: newId(), created_at: now, updated_at: now, person_id: personId, ip_address: requestIp(c), origin })
    .execute();
}

// ---------------------------------------------------------------------------------------------
// Reset tokens

const TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

export function newResetToken(): string {
  let token = "";
  for (let i = 0; i < 64; i += 1) token += TOKEN_ALPHABET[randomInt(TOKEN_ALPHABET.length)];
  return token;
}

function resetTokenKey(email: string): string {
  return `reset-token-${email}`;
}

/** Creates and stores a reset token for an e-mail (2 hours by default). */
export async function createResetToken(db: Db, email: string, ttlSeconds = RESET_TOKEN_SECONDS): Promise<string> {
  const token = newResetToken();
  await kvSet(db, resetTokenKey(email), token, ttlSeconds);
  return token;
}

export async function storedResetToken(db: Db, email: string): Promise<string | null> {
  return kvGet(db, resetTokenKey(email));
}

/** Constant-time comparison of a submitted reset token with the stored one. */
export async function checkResetToken(db: Db, email: string, token: string): Promise<boolean> {
  const stored = await storedResetToken(db, email);
  if (!stored) return false;
  const a = Buffer.from(stored);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function deleteResetToken(db: Db, email: string): Promise<void> {
  await kvDelete(db, resetTokenKey(email));
}

/** Link of the page where a person picks a new password. */
export function resetPasswordLink(config: Config, email: string, token: string, invitation = false): string {
  const query = `email=${encodeURIComponent(email)}&token=${token}${invitation ? "&type=new" : ""}`;
  return `${config.domainProtocol}://${config.domainName}/reset-change-password?${query}`;
}
