/**
 * Second factors (auth.md §2.7): TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30 s steps, ±1 step),
 * e-mail OTP (an RFC 4226 HOTP code at a random counter kept 5 minutes), recovery codes (16 codes
 * of 10 characters, stored bcrypt-hashed, single use). FIDO/WebAuthn responses are checked by
 * `fido.ts`.
 */
import { createHmac, randomBytes, randomInt } from "node:crypto";
import type { AppContext } from "../context";
import type { Config } from "../config";
import type { Db } from "../db/database";
import { utcNow } from "../lib/ids";
import { kvDelete, kvGet, kvSet } from "../lib/kv";
import { sendMail } from "../lib/mail";
import { hashPassword, verifyPassword } from "../lib/passwords";
import { describeError } from "../lib/log";
import { verifyAuthentication } from "./fido";

type Row = Record<string, any>;

export const EMAIL_OTP_SECONDS = 5 * 60;
export type TwoFactorMethod = "totp" | "email_otp" | "fido";
const METHODS: TwoFactorMethod[] = ["totp", "email_otp", "fido"];

// ---------------------------------------------------------------------------------------------
// Base32 (RFC 4648, upper case, no padding) and HOTP/TOTP

const BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

export function base32Encode(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32_ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** Decodes base32 (case-insensitive, padding and spaces ignored); null when it has other characters. */
export function base32Decode(text: string): Uint8Array | null {
  const clean = text.replace(/[\s=]/g, "").toUpperCase();
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const char of clean) {
    const index = BASE32_ALPHABET.indexOf(char);
    if (index === -1) return null;
    value = ((value << 5) | index) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Uint8Array.from(out);
}

/** A new random base32 secret of 32 characters (160 bits). */
export function newOtpSecret(): string {
  return base32Encode(randomBytes(20));
}

/** The 6-digit HOTP code of a base32 secret at a counter (RFC 4226). */
export function hotp(secret: string, counter: number): string {
  const key = base32Decode(secret) ?? new Uint8Array();
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(Math.floor(counter)));
  const digest = createHmac("sha1", key).update(message).digest();
  const offset = digest[digest.length - 1]! & 0x0f;
  const binary = ((digest[offset]! & 0x7f) << 24) | (digest[offset + 1]! << 16) | (digest[offset + 2]! << 8) | digest[offset + 3]!;
  return String(binary % 1_000_000).padStart(6, "0");
}

/** The TOTP code of a secret at a time (epoch milliseconds). */
export function totp(secret: string, at = Date.now()): string {
  return hotp(secret, Math.floor(at / 1000 / 30));
}

/** Checks a TOTP code, accepting one 30-second step of clock drift either way. */
export function verifyTotp(secret: string | null | undefined, code: unknown, at = Date.now()): boolean {
  if (!secret || typeof code !== "string" || !/^\d{6}$/.test(code.trim())) return false;
  const step = Math.floor(at / 1000 / 30);
  for (const drift of [-1, 0, 1]) if (hotp(secret, step + drift) === code.trim()) return true;
  return false;
}

/** `otpauth://` URI for authenticator apps. */
export function totpProvisioningUri(secret: string, email: string, organisationName: string): string {
  const issuer = encodeURIComponent(`Kitsu ${organisationName}`);
  const account = encodeURIComponent(email).replace(/%40/g, "@");
  return `otpauth://totp/${issuer}:${account}?secret=${secret}&issuer=${issuer}`;
}

// ---------------------------------------------------------------------------------------------
// Person 2FA state

function truthy(value: unknown): boolean {
  return value === true || value === 1;
}

/** Enabled methods of a person, in Zou's order (totp, email_otp, fido). */
export function enabledMethods(person: Row): TwoFactorMethod[] {
  return METHODS.filter((method) => truthy(person[`${method}_enabled`]));
}

export function hasTwoFactor(person: Row): boolean {
  return enabledMethods(person).length > 0;
}

function parseList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value !== "string" || value === "") return [];
  try {
    const parsed = JSON.parse(value);
    return Array.isArray(parsed) ? parsed.map(String) : [];
  } catch {
    return [];
  }
}

const RECOVERY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

export function randomCode(length: number, alphabet = RECOVERY_ALPHABET): string {
  let out = "";
  for (let i = 0; i < length; i += 1) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** 16 new recovery codes: returns the plain codes and their stored (hashed) JSON form. */
export async function newRecoveryCodes(config: Config): Promise<{ codes: string[]; stored: string }> {
  const codes = Array.from({ length: 16 }, () => randomCode(10));
  const hashes = await Promise.all(codes.map((code) => hashPassword(code, config.bcryptCost)));
  return { codes, stored: JSON.stringify(hashes) };
}

/** Checks a recovery code and removes it when it matches. */
async function consumeRecoveryCode(db: Db, person: Row, code: string): Promise<boolean> {
  const hashes = parseList(person.otp_recovery_codes);
  for (let i = 0; i < hashes.length; i += 1) {
    if (await verifyPassword(code.trim().toUpperCase(), hashes[i])) {
      const remaining = hashes.filter((_, index) => index !== i);
      await db.updateTable("person").set({ otp_recovery_codes: JSON.stringify(remaining), updated_at: utcNow() }).where("id", "=", person.id).execute();
      person.otp_recovery_codes = JSON.stringify(remaining);
      return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// E-mail OTP

function emailOtpKey(email: string): string {
  return `email-otp-count-${email}`;
}

/** Picks a random counter, keeps it 5 minutes and e-mails the code of the person's secret at it. */
export async function sendEmailOtp(c: AppContext, person: Row): Promise<void> {
  if (!person.email || !person.email_otp_secret) return;
  const counter = randomInt(0, 1_000_000_000_000);
  await kvSet(c.get("db"), emailOtpKey(person.email), String(counter), EMAIL_OTP_SECONDS);
  const code = hotp(person.email_otp_secret, counter);
  const config = c.get("config");
  try {
    await sendMail(config, {
      to: person.email,
      subject: "Kitsu: your verification code",
      text: `Hello ${person.first_name ?? ""},\n\nYour Kitsu verification code is ${code}. It is valid for 5 minutes.\n`,
      html: `<p>Hello ${escapeHtml(person.first_name ?? "")},</p><p>Your Kitsu verification code is <strong>${code}</strong>. It is valid for 5 minutes.</p>`,
    });
  } catch (error) {
    console.error(`sending the verification code failed: ${describeError(error)}`);
  }
}

/** Checks an e-mail OTP code; a matching code is single use. */
export async function verifyEmailOtp(db: Db, person: Row, code: unknown): Promise<boolean> {
  if (!person.email || !person.email_otp_secret || typeof code !== "string") return false;
  const counter = await kvGet(db, emailOtpKey(person.email));
  if (counter === null) return false;
  if (hotp(person.email_otp_secret, Number(counter)) !== code.trim()) return false;
  await kvDelete(db, emailOtpKey(person.email));
  return true;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[char]!);
}

// ---------------------------------------------------------------------------------------------
// Proofs

export interface TwoFactorProof {
  totp?: unknown;
  email_otp?: unknown;
  fido_authentication_response?: unknown;
  recovery_code?: unknown;
}

function given(value: unknown): boolean {
  return value !== undefined && value !== null && value !== "";
}

/**
 * Checks the second factor of a proof with Zou's precedence: TOTP, e-mail OTP, FIDO, recovery
 * code. `missing` when no applicable factor was given, `wrong` when it did not verify.
 */
export async function checkTwoFactorProof(db: Db, config: Config, person: Row, proof: TwoFactorProof): Promise<"ok" | "missing" | "wrong"> {
  if (truthy(person.totp_enabled) && given(proof.totp)) {
    return verifyTotp(person.totp_secret, String(proof.totp)) ? "ok" : "wrong";
  }
  if (truthy(person.email_otp_enabled) && given(proof.email_otp)) {
    return (await verifyEmailOtp(db, person, String(proof.email_otp))) ? "ok" : "wrong";
  }
  if (truthy(person.fido_enabled) && given(proof.fido_authentication_response)) {
    return (await verifyAuthentication(db, config, person, proof.fido_authentication_response)) ? "ok" : "wrong";
  }
  if (given(proof.recovery_code)) {
    return (await consumeRecoveryCode(db, person, String(proof.recovery_code))) ? "ok" : "wrong";
  }
  return "missing";
}

/** The body of Zou's "second factor missing" login answer. */
export function missingOtpBody(person: Row): Record<string, unknown> {
  return {
    error: true,
    login: false,
    missing_OTP: true,
    preferred_two_factor_authentication: person.preferred_two_factor_authentication ?? null,
    two_factor_authentication_enabled: ["recovery_code", ...enabledMethods(person)],
  };
}

/** Preferred method after `disabled` is turned off (auth.md §2.7 fallbacks). */
export function fallbackPreference(person: Row, disabled: TwoFactorMethod): TwoFactorMethod | null {
  const order: Record<TwoFactorMethod, TwoFactorMethod[]> = {
    totp: ["fido", "email_otp"],
    email_otp: ["fido", "totp"],
    fido: ["totp", "email_otp"],
  };
  const current = person.preferred_two_factor_authentication as TwoFactorMethod | null;
  const stillEnabled = (method: TwoFactorMethod) => method !== disabled && truthy(person[`${method}_enabled`]);
  if (current && current !== disabled && stillEnabled(current)) return current;
  return order[disabled].find(stillEnabled) ?? null;
}
