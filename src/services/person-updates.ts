/**
 * Writes on a person's own row: password, two-factor settings, avatar flag. Each runs in a
 * transaction and stamps `updated_at`.
 */
import { rm } from "node:fs/promises";
import type { AppContext, PersonRow } from "../context";
import type { Db } from "../db/database";
import { transact } from "../db/transaction";
import { notFound } from "../lib/errors";
import { emitEvent } from "../lib/events";
import { utcNow } from "../lib/ids";
import { hashPassword } from "../lib/passwords";
import { storedFilePath } from "./attachments";
import { enabledMethods, fallbackPreference, newRecoveryCodes, type TwoFactorMethod } from "./two-factor";

type Row = Record<string, any>;

/** `person:update` for `personId`, by the caller. */
export async function emitPersonUpdate(c: AppContext, personId: string): Promise<void> {
  await emitEvent(c.get("db"), c.get("events"), "person:update", { person_id: personId }, { userId: c.get("user").id });
}

/** Sets columns of one person row; the number of rows updated. */
async function setPersonColumns(db: Db, personId: string, values: Row): Promise<number> {
  const result = await db.updateTable("person").set({ ...values, updated_at: utcNow() }).where("id", "=", personId).executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Sets columns of a person in a transaction, emitting `person:update` in it when asked. */
export async function updatePerson(c: AppContext, personId: string, values: Row, options: { emitUpdate?: boolean } = {}): Promise<void> {
  await transact(c, async (db) => {
    await setPersonColumns(db, personId, values);
    if (options.emitUpdate) await emitPersonUpdate(c, personId);
  });
}

/** Stores a new password (hashed) and clears the failed login count. */
export async function storePassword(c: AppContext, personId: string, password: string, options: { emitUpdate?: boolean } = {}): Promise<void> {
  const hash = await hashPassword(password, c.get("config").bcryptCost);
  await updatePerson(c, personId, { password: hash, login_failed_attemps: 0 }, options);
}

/** An admin's reset of every two-factor method of a person (secrets, devices, recovery codes, preference). */
export async function resetTwoFactor(c: AppContext, personId: string): Promise<void> {
  await updatePerson(
    c,
    personId,
    {
      totp_enabled: false, totp_secret: null, email_otp_enabled: false, email_otp_secret: null, fido_enabled: false,
      fido_credentials: null, otp_recovery_codes: null, preferred_two_factor_authentication: null,
    },
    { emitUpdate: true },
  );
}

/**
 * Turns a two-factor method on (preferred when none was) with `extra` columns; recovery codes are
 * made when the person had none. The new codes, or null.
 */
export async function enableTwoFactorMethod(c: AppContext, person: PersonRow, method: TwoFactorMethod, extra: Row = {}): Promise<string[] | null> {
  const hadCodes = typeof person.otp_recovery_codes === "string" && person.otp_recovery_codes.length > 2;
  const recovery = hadCodes ? null : await newRecoveryCodes(c.get("config"));
  await updatePerson(c, person.id, {
    [`${method}_enabled`]: true,
    preferred_two_factor_authentication: person.preferred_two_factor_authentication ?? method,
    ...(recovery ? { otp_recovery_codes: recovery.stored } : {}),
    ...extra,
  });
  return recovery ? recovery.codes : null;
}

/** Turns a method off (secret cleared); when none is left, the preference and recovery codes go too. */
export async function disableTwoFactorMethod(
  c: AppContext,
  person: PersonRow,
  method: TwoFactorMethod,
  secretColumn: "totp_secret" | "email_otp_secret" | "fido_credentials",
): Promise<void> {
  const remaining = enabledMethods(person).filter((m) => m !== method);
  await updatePerson(c, person.id, {
    [`${method}_enabled`]: false,
    [secretColumn]: null,
    preferred_two_factor_authentication: remaining.length ? fallbackPreference(person, method) : null,
    ...(remaining.length ? {} : { otp_recovery_codes: null }),
  });
}

/** Stores the secret of a method being set up (TOTP, e-mail OTP). */
export async function storeOtpSecret(c: AppContext, personId: string, column: "totp_secret" | "email_otp_secret", secret: string): Promise<void> {
  await updatePerson(c, personId, { [column]: secret });
}

/** Stores the FIDO credentials left; FIDO is turned off when none is left. */
export async function storeFidoCredentials(c: AppContext, person: PersonRow, remaining: unknown[]): Promise<void> {
  if (remaining.length > 0) await updatePerson(c, person.id, { fido_credentials: JSON.stringify(remaining) });
  else await disableTwoFactorMethod(c, person, "fido", "fido_credentials");
}

/** New recovery codes replace the stored ones; the codes to show once. */
export async function replaceRecoveryCodes(c: AppContext, personId: string): Promise<string[]> {
  const recovery = await newRecoveryCodes(c.get("config"));
  await updatePerson(c, personId, { otp_recovery_codes: recovery.stored });
  return recovery.codes;
}

/**
 * Clears a person's avatar: `has_avatar` false and `person:update` emitted (404 when no such
 * person); the stored picture is removed when REMOVE_FILES is on (as Zou does).
 */
export async function clearAvatar(c: AppContext, personId: string): Promise<void> {
  await transact(c, async (db) => {
    if ((await setPersonColumns(db, personId, { has_avatar: false })) === 0) throw notFound();
    await emitPersonUpdate(c, personId);
  });
  const config = c.get("config");
  if (config.removeFiles) {
    await rm(storedFilePath(config.previewFolder, "pictures", "thumbnails", personId), { force: true }).catch(() => undefined);
  }
}
