/**
 * Directory sync (Zou's `sync-with-ldap-server`): reads the persons of the directory (members of
 * LDAP_GROUP only, when set) and aligns the person rows with them: persons generated from LDAP that
 * the directory no longer lists are deactivated, found ones are updated (e-mail, names, desktop
 * login, active flag, `ldap_uid`, `is_generated_from_ldap`), missing active ones are created.
 *
 * What a directory entry gives (as Zou reads it):
 * - desktop login: `cn` (LDAP_IS_AD_SIMPLE), `sAMAccountName` (LDAP_IS_AD), else `uid`;
 * - `ldap_uid`: `objectGUID` (Active Directory), else `uniqueIdentifier` (null when absent);
 * - active: AD's `userAccountControl` without the ACCOUNTDISABLE bit (2); elsewhere
 *   `organizationalStatus` equal to "active" (an entry without it is inactive, so never created);
 * - e-mail: the first `mail` value, preferring the one equal to the login, then one in
 *   EMAIL_DOMAIN; `<login>@<EMAIL_DOMAIN>` without `mail`;
 * - names: `givenName` (else `cn`) and `sn`;
 * - photo: `jpegPhoto` (`thumbnailPhoto` on AD), made the avatar of a person that has none yet
 *   (when ffmpeg is there; Zou re-imports it on every run).
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import type { Entry } from "ldapts";
import type { Config, LdapConfig } from "../config";
import type { Db } from "../db/database";
import { emitEvent, type EventBus } from "../lib/events";
import { ffmpegAvailable, fitPicture, probe } from "../lib/ffmpeg";
import { sharedJobQueue } from "../lib/job-queue";
import { newId, utcNow } from "../lib/ids";
import { escapeDnValue, isConnectionError, ldapClient, LdapUnavailableError, loadLdapts } from "./ldap";
import { isUserLimitReached, normalizeEmail } from "./persons";
import { pendingFolder, storeFile, workPath } from "./preview-storage";

export interface DirectoryUser {
  first_name: string;
  last_name: string;
  email: string;
  /** Every address of the entry, the chosen one first. */
  emails: string[];
  desktop_login: string;
  active: boolean;
  ldap_uid: string | null;
  /** The directory photo (JPEG bytes), null when none. */
  photo: Buffer | null;
}

export interface SyncReport {
  created: string[];
  updated: string[];
  disabled: string[];
  failed: string[];
}

/** The name the sync binds with: LDAP_USER as a login (per directory kind) or as a full DN. */
function serviceBindName(config: LdapConfig): string {
  if (config.isAdSimple) return config.user;
  if (config.isAd) return `${config.domain}\\${config.user}`;
  if (config.user.includes("=")) return config.user;
  return `uid=${escapeDnValue(config.user)},${config.baseDn}`;
}

function isActiveDirectory(config: LdapConfig): boolean {
  return config.isAd || config.isAdSimple;
}

/** Values of an attribute, whatever case the server spelled its name in. */
function values(entry: Entry, name: string): (string | Buffer)[] {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(entry)) {
    if (key.toLowerCase() !== wanted || key === "dn") continue;
    return (Array.isArray(value) ? value : [value]).filter((item) => item !== undefined && item !== null);
  }
  return [];
}

function text(entry: Entry, name: string): string {
  const value = values(entry, name)[0];
  if (value === undefined) return "";
  return Buffer.isBuffer(value) ? value.toString("utf8") : String(value);
}

/** An objectGUID (16 bytes, little-endian first three fields) as `{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}`. */
export function formatGuid(bytes: Buffer): string {
  if (bytes.length !== 16) return bytes.toString("hex");
  const hex = (start: number, end: number, reverse = false) => {
    const part = [...bytes.subarray(start, end)];
    return (reverse ? part.reverse() : part).map((byte) => byte.toString(16).padStart(2, "0")).join("");
  };
  return `{${hex(0, 4, true)}-${hex(4, 6, true)}-${hex(6, 8, true)}-${hex(8, 10)}-${hex(10, 16)}}`;
}

/** A DN compared loosely: lower case, no spaces around separators. */
function normalizeDn(dn: string): string {
  return dn.toLowerCase().replace(/\s*([,=+])\s*/g, "$1").trim();
}

/** The directory user of one entry (null when it has no login). */
export function directoryUser(config: LdapConfig, entry: Entry): DirectoryUser | null {
  const ad = isActiveDirectory(config);
  const login = text(entry, config.isAdSimple ? "cn" : config.isAd ? "sAMAccountName" : "uid").trim();
  if (!login) return null;
  let ldapUid: string | null = null;
  if (ad) {
    const guid = values(entry, "objectGUID")[0];
    ldapUid = guid === undefined ? null : Buffer.isBuffer(guid) ? formatGuid(guid) : String(guid);
  } else {
    ldapUid = text(entry, "uniqueIdentifier") || null;
  }
  const photo = values(entry, ad ? "thumbnailPhoto" : "jpegPhoto")[0];
  let emails = values(entry, "mail").map((mail) => (Buffer.isBuffer(mail) ? mail.toString("utf8") : String(mail)).trim()).filter(Boolean);
  if (emails.length === 0) {
    emails = [`${login}@${config.emailDomain}`];
  } else {
    const rank = (mail: string) => (mail === login ? -2 : mail.includes(config.emailDomain) ? -1 : 0);
    emails = [...emails].sort((a, b) => rank(a) - rank(b));
  }
  let active: boolean;
  if (ad) {
    const control = Number(text(entry, "userAccountControl"));
    active = Number.isFinite(control) && (control & 2) === 0;
  } else {
    active = text(entry, "organizationalStatus").toLowerCase() === "active";
  }
  return {
    first_name: text(entry, "givenName") || text(entry, "cn"),
    last_name: text(entry, "sn"),
    email: emails[0]!.toLowerCase(),
    emails,
    desktop_login: login,
    active,
    ldap_uid: ldapUid,
    photo: Buffer.isBuffer(photo) && photo.length > 0 ? photo : null,
  };
}

/**
 * Binds with LDAP_USER / LDAP_PASSWORD and lists the directory's users (members of LDAP_GROUP when
 * set; LDAP_EXCLUDED_ACCOUNTS left out). Throws a clear Error when the bind or the group fails.
 */
export async function fetchDirectoryUsers(config: LdapConfig): Promise<DirectoryUser[]> {
  const ad = isActiveDirectory(config);
  const { escapeFilter, InvalidCredentialsError } = await loadLdapts();
  const client = await ldapClient(config);
  try {
    try {
      await client.bind(serviceBindName(config), config.password);
    } catch (error) {
      if (error instanceof InvalidCredentialsError) throw new Error(`The LDAP server refused the credentials of ${serviceBindName(config)} (LDAP_USER / LDAP_PASSWORD).`);
      if (isConnectionError(error)) throw new LdapUnavailableError(config, error);
      throw error;
    }
    const attributes = ["givenName", "sn", "mail", "cn"];
    if (ad) attributes.push(config.isAdSimple ? "cn" : "sAMAccountName", "userAccountControl", "objectGUID", "thumbnailPhoto");
    else attributes.push("uid", "uniqueIdentifier", "organizationalStatus", "jpegPhoto");
    let filter = ad ? "(&(objectClass=person)(!(objectClass=computer)))" : "(objectClass=person)";
    let members: Set<string> | null = null;
    if (config.group) {
      if (ad) {
        filter = escapeFilter`(&(objectClass=person)(memberOf=${config.group}))`;
      } else {
        const groups = await client.search(config.baseDn, {
          scope: "sub",
          filter: escapeFilter`(&(objectClass=groupOfUniqueNames)(cn=${config.group}))`,
          attributes: ["uniqueMember"],
        });
        const group = groups.searchEntries[0];
        if (!group) throw new Error(`The LDAP group ${config.group} was not found under ${config.baseDn} (LDAP_GROUP).`);
        members = new Set(values(group, "uniqueMember").map((dn) => normalizeDn(String(dn))));
      }
    }
    const found = await client.search(config.baseDn, {
      scope: "sub",
      filter,
      attributes,
      explicitBufferAttributes: ["objectGUID", "thumbnailPhoto", "jpegPhoto"],
      paged: true,
    });
    const users: DirectoryUser[] = [];
    for (const entry of found.searchEntries) {
      if (members && !members.has(normalizeDn(entry.dn))) continue;
      const user = directoryUser(config, entry);
      if (user && !config.excludedAccounts.includes(user.desktop_login)) users.push(user);
    }
    return users;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

type PersonRow = Record<string, any>;

/** The non-bot person a directory user matches: by `ldap_uid`, else desktop login, else one of its e-mails. */
async function matchingPerson(db: Db, user: DirectoryUser): Promise<PersonRow | undefined> {
  const humans = () => db.selectFrom("person").selectAll().where("is_bot", "=", false);
  if (user.ldap_uid) {
    const byUid = await humans().where("ldap_uid", "=", user.ldap_uid).executeTakeFirst();
    if (byUid) return byUid;
  }
  const byLogin = await humans().where("desktop_login", "=", user.desktop_login).executeTakeFirst();
  if (byLogin) return byLogin;
  for (const mail of user.emails) {
    const byEmail = await humans().where("email", "=", mail.toLowerCase()).executeTakeFirst();
    if (byEmail) return byEmail;
  }
  return undefined;
}

function isValidEmail(email: string): boolean {
  try {
    normalizeEmail(email);
    return true;
  } catch {
    return false;
  }
}

async function emailTakenByAnother(db: Db, email: string, personId: string | null): Promise<boolean> {
  let query = db.selectFrom("person").select("id").where("email", "=", email).where("is_bot", "=", false);
  if (personId) query = query.where("id", "!=", personId);
  return Boolean(await query.executeTakeFirst());
}

/**
 * Makes a directory photo the 400×400 avatar of a person (as an avatar upload does), sets
 * `has_avatar` and emits `person:update`. False when the photo cannot be read.
 */
async function storeDirectoryPhoto(db: Db, config: Config, personId: string, photo: Buffer, events?: EventBus): Promise<boolean> {
  await mkdir(pendingFolder(config), { recursive: true });
  const input = workPath(config, personId, `ldap-photo-${newId()}.jpg`);
  const output = workPath(config, personId, `ldap-avatar-${newId()}.png`);
  try {
    await writeFile(input, photo);
    await sharedJobQueue().run(`ldap photo ${personId}`, async () => {
      const info = await probe(input);
      if (!info.hasVideo) throw new Error("not a picture");
      await fitPicture(input, output, 400, 400, info);
    });
    await storeFile(output, config, "pictures", "thumbnails", personId);
  } catch {
    return false;
  } finally {
    await rm(input, { force: true });
    await rm(output, { force: true });
  }
  await db.transaction().execute(async (trx) => {
    await trx.updateTable("person").set({ has_avatar: true, updated_at: utcNow() }).where("id", "=", personId).execute();
    await emitEvent(trx, events, "person:update", { person_id: personId });
  });
  return true;
}

const SYNCED_KEYS = ["email", "first_name", "last_name", "desktop_login", "active", "ldap_uid"] as const;

function differs(person: PersonRow, user: DirectoryUser): boolean {
  if (!person.is_generated_from_ldap) return true;
  return SYNCED_KEYS.some((key) => {
    const current = person[key];
    const wanted = user[key];
    return typeof wanted === "boolean" ? Boolean(current) !== wanted : (current ?? null) !== wanted;
  });
}

/**
 * Aligns the person rows with the directory users (see the file comment). Each change is its own
 * transaction with its `person:new` / `person:update` event; a change that cannot be made (user
 * limit, e-mail of another person) is reported and skipped. `print` gets one line per change.
 */
export async function syncPersonsWithDirectory(
  db: Db,
  config: Config,
  users: DirectoryUser[],
  options: { events?: EventBus; print?: (line: string) => void } = {},
): Promise<SyncReport> {
  const print = options.print ?? (() => undefined);
  const report: SyncReport = { created: [], updated: [], disabled: [], failed: [] };
  const toUpdate: { person: PersonRow; user: DirectoryUser }[] = [];
  const toCreate: DirectoryUser[] = [];
  const claimed = new Set<string>();
  // Inactive entries first, as Zou does: an active entry sharing a login or e-mail wins.
  for (const user of [...users].sort((a, b) => Number(a.active) - Number(b.active))) {
    const person = await matchingPerson(db, user);
    if (person) {
      toUpdate.push({ person, user });
      claimed.add(person.id);
    } else {
      toCreate.push(user);
    }
  }

  const change = async (personId: string, fields: Record<string, unknown>, event: "person:new" | "person:update", insert = false) => {
    await db.transaction().execute(async (trx) => {
      if (insert) await trx.insertInto("person").values(fields as any).execute();
      else await trx.updateTable("person").set({ ...fields, updated_at: utcNow() } as any).where("id", "=", personId).execute();
      await emitEvent(trx, options.events, event, { person_id: personId });
    });
  };

  const stale = await db
    .selectFrom("person")
    .select(["id", "desktop_login"])
    .where("is_generated_from_ldap", "=", true)
    .where("active", "=", true)
    .execute();
  for (const person of stale) {
    if (claimed.has(person.id)) continue;
    await change(person.id, { active: false }, "person:update");
    report.disabled.push(person.desktop_login ?? person.id);
    print(`User ${person.desktop_login} disabled (not found in LDAP).`);
  }

  const importPhoto = async (personId: string, user: DirectoryUser) => {
    if (!user.photo || !ffmpegAvailable()) return;
    if (await storeDirectoryPhoto(db, config, personId, user.photo, options.events)) print(`User ${user.desktop_login} photo imported.`);
    else print(`User ${user.desktop_login} photo could not be read.`);
  };

  for (const { person, user } of toUpdate) {
    const login = user.desktop_login;
    if (!person.has_avatar) await importPhoto(person.id, user);
    if (!differs(person, user)) continue;
    if (!person.active && user.active && (await isUserLimitReached(db, config))) {
      report.failed.push(login);
      print(`User ${login} update failed (limit reached, limit ${config.userLimit}).`);
      continue;
    }
    if (!isValidEmail(user.email)) {
      report.failed.push(login);
      print(`User ${login} update failed (${user.email} is not a valid email address).`);
      continue;
    }
    if (await emailTakenByAnother(db, user.email, person.id)) {
      report.failed.push(login);
      print(`User ${login} update failed (email ${user.email} already used by another person).`);
      continue;
    }
    await change(person.id, {
      email: user.email,
      first_name: user.first_name,
      last_name: user.last_name,
      active: user.active,
      is_generated_from_ldap: true,
      desktop_login: login,
      ldap_uid: user.ldap_uid,
    }, "person:update");
    report.updated.push(login);
    print(`User ${login} updated.`);
  }

  for (const user of toCreate) {
    const login = user.desktop_login;
    if (!user.active) continue;
    if (await isUserLimitReached(db, config)) {
      report.failed.push(login);
      print(`User ${login} creation failed (limit reached, limit ${config.userLimit}).`);
      continue;
    }
    if (!isValidEmail(user.email)) {
      report.failed.push(login);
      print(`User ${login} creation failed (${user.email} is not a valid email address).`);
      continue;
    }
    if (await emailTakenByAnother(db, user.email, null)) {
      report.failed.push(login);
      print(`User ${login} creation failed (email ${user.email} already used by another person).`);
      continue;
    }
    const now = utcNow();
    const id = newId();
    await change(id, {
      id, created_at: now, updated_at: now, email: user.email, first_name: user.first_name, last_name: user.last_name,
      desktop_login: login, is_generated_from_ldap: true, ldap_uid: user.ldap_uid, active: true, role: "user",
      // No local password: a directory person logs in through the directory.
      password: null, phone: "", locale: config.defaultLocale, timezone: config.defaultTimezone,
    }, "person:new", true);
    report.created.push(login);
    print(`User ${login} created.`);
    await importPhoto(id, user);
  }
  return report;
}

/** One full sync: reads the directory, then aligns the persons. */
export async function syncWithLdap(db: Db, config: Config, options: { events?: EventBus; print?: (line: string) => void } = {}): Promise<SyncReport> {
  const users = await fetchDirectoryUsers(config.ldap);
  return syncPersonsWithDirectory(db, config, users, options);
}

/**
 * Runs `syncWithLdap` every LDAP_SYNC_INTERVAL seconds (nothing when 0); a failed run is logged and
 * the next one tried on time. Returns the stop function.
 */
export function startScheduledLdapSync(db: Db, config: Config, events?: EventBus): () => void {
  const seconds = config.ldap.syncIntervalSeconds;
  if (!seconds) return () => undefined;
  let running = false;
  const run = async () => {
    if (running) return;
    running = true;
    try {
      const report = await syncWithLdap(db, config, { events });
      const changes = report.created.length + report.updated.length + report.disabled.length;
      if (changes + report.failed.length > 0) {
        console.log(`LDAP sync: ${report.created.length} created, ${report.updated.length} updated, ${report.disabled.length} disabled, ${report.failed.length} failed.`);
      }
    } catch (error) {
      console.error(`LDAP sync failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      running = false;
    }
  };
  void run();
  const timer = setInterval(() => void run(), seconds * 1000);
  timer.unref?.();
  return () => clearInterval(timer);
}
