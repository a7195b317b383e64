/**
 * Person and organisation rules shared by the crud routes, the auth routes and the other areas
 * (models.md §4.2 Person/Organisation, auth.md §1.5 and §3): presentation forms, e-mail
 * normalisation and uniqueness, user limit, password hashing, API tokens, protected accounts and
 * the single organisation row.
 */
import type { AppContext, PersonRow } from "../context";
import type { Config } from "../config";
import type { Db } from "../db/database";
import { serialize } from "../db/serialize";
import { TABLES } from "../db/tables.generated";
import { chunks } from "../lib/chunks";
import { badRequest } from "../lib/errors";
import { newId, utcNow } from "../lib/ids";
import { hashPassword } from "../lib/passwords";
import { issueApiToken } from "./auth";
import { isAdmin, isManagerGlobally } from "./permissions";

type Row = Record<string, any>;
type Dict = Record<string, unknown>;

/**
 * The forms a person takes in Zou's answers:
 * - `full`: every column but the secrets, plus `full_name` and `type` (`departments` when given);
 * - `minimal`: MINIMAL_PERSON_KEYS (non-admin lists, non-manager reads);
 * - `author`: AUTHOR_PERSON_KEYS, the author nested in comments, replies and news.
 */
export type PersonForm = "full" | "minimal" | "author";

/** Keys of the minimal person form (non-admin lists, non-manager reads). */
export const MINIMAL_PERSON_KEYS: readonly string[] = TABLES.person.minimalKeys ?? [
  "id", "type", "first_name", "last_name", "full_name", "has_avatar", "active", "departments", "studio_id", "role", "desktop_login", "is_bot",
];

/** Keys of the author nested in comments (`person`, `replies[].person`) and news items. */
export const AUTHOR_PERSON_KEYS: readonly string[] = ["id", "first_name", "last_name", "full_name", "has_avatar", "role"];

/** Columns a non-admin may filter `/data/persons` on (permissions.md §4.6). */
export const NON_ADMIN_PERSON_FILTERS = new Set([
  "id", "first_name", "last_name", "full_name", "has_avatar", "active", "departments", "studio_id", "role", "desktop_login", "email", "is_bot",
]);

/**
 * A person as JSON in one of the forms of PersonForm. `departments` (ids) is added to the full
 * form when given; the minimal form always carries it (`[]` when not given); the author form never.
 */
export function presentPerson(_c: AppContext | null, row: Row, form: PersonForm = "full", departments?: string[]): Dict {
  const safe = serialize("person", row);
  if (departments !== undefined) safe.departments = departments;
  if (form === "full") return safe;
  const keys = form === "author" ? AUTHOR_PERSON_KEYS : MINIMAL_PERSON_KEYS;
  const picked: Dict = {};
  for (const key of keys) picked[key] = key === "departments" ? (safe.departments ?? []) : (safe[key] ?? null);
  return picked;
}

/**
 * Persons by id in one form (batched; unknown ids are absent from the map). `withDepartments`
 * adds the department ids to the full form (e.g. the assigner of `GET /data/tasks/<id>/full`).
 */
export async function presentPersonsById(
  db: Db,
  ids: Iterable<string | null | undefined>,
  form: PersonForm,
  options: { withDepartments?: boolean } = {},
): Promise<Map<string, Dict>> {
  const wanted = [...new Set([...ids].filter((id): id is string => typeof id === "string" && id !== ""))];
  const result = new Map<string, Dict>();
  if (wanted.length === 0) return result;
  const departments = options.withDepartments || form === "minimal" ? await departmentIdsByPerson(db, wanted) : null;
  for (const part of chunks(wanted)) {
    const rows = await db.selectFrom("person").selectAll().where("id", "in", part).execute();
    for (const row of rows) result.set(row.id, presentPerson(null, row, form, departments?.get(row.id)));
  }
  return result;
}

/** One person by id in one form, null when unknown. */
export async function presentPersonById(db: Db, id: string | null | undefined, form: PersonForm, options: { withDepartments?: boolean } = {}): Promise<Dict | null> {
  return (await presentPersonsById(db, [id], form, options)).get(id ?? "") ?? null;
}

/** The form the caller gets on the person list (admins: full) or on a single read (admins and managers: full). */
export function personFormFor(c: AppContext, use: "list" | "read"): PersonForm {
  const user = c.get("user");
  if (use === "list") return isAdmin(user) ? "full" : "minimal";
  return isManagerGlobally(user) ? "full" : "minimal";
}

/** Department ids of each person: Map<person id, department ids> (chunked, one query per 500 persons). */
export async function departmentIdsByPerson(db: Db, personIds: string[]): Promise<Map<string, string[]>> {
  const result = new Map<string, string[]>();
  for (const id of personIds) result.set(id, []);
  for (const part of chunks(personIds)) {
    const rows = await db.selectFrom("department_link").select(["person_id", "department_id"]).where("person_id", "in", part).execute();
    for (const row of rows) result.get(row.person_id)?.push(row.department_id);
  }
  return result;
}

export async function departmentIdsOf(db: Db, personId: string): Promise<string[]> {
  return (await departmentIdsByPerson(db, [personId])).get(personId) ?? [];
}

/** Names of the registered FIDO devices of a person (for `/auth/authenticated`). */
export function fidoDeviceNames(row: Row): string[] {
  let credentials: unknown = row.fido_credentials;
  if (typeof credentials === "string") {
    try {
      credentials = JSON.parse(credentials);
    } catch {
      credentials = [];
    }
  }
  if (!Array.isArray(credentials)) return [];
  return credentials
    .map((credential) => (credential && typeof credential === "object" ? (credential as Dict).device_name : null))
    .filter((name): name is string => typeof name === "string");
}

// ---------------------------------------------------------------------------------------------
// Validation and normalisation of person fields

const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+$/;

/**
 * Validates and normalises an e-mail address (trimmed, lower-cased). Throws a 400 with the reason
 * when it is not a valid address.
 */
export function normalizeEmail(value: unknown): string {
  if (typeof value !== "string") throw badRequest("The email address is not valid. It must be a string.");
  const email = value.trim().toLowerCase();
  if (!EMAIL_PATTERN.test(email)) throw badRequest("The email address is not valid. It must have exactly one @-sign.");
  const domain = email.split("@")[1]!;
  if (!/^[a-z0-9.-]+$/.test(domain) || !domain.includes(".") || domain.startsWith(".") || domain.endsWith(".") || domain.includes("..")) {
    throw badRequest(`The domain name ${domain} is not valid.`);
  }
  return email;
}

/** 400 'Email already in use.' when another non-bot person has that address. */
export async function checkEmailAvailable(db: Db, email: string, exceptPersonId?: string): Promise<void> {
  let query = db.selectFrom("person").select("id").where("email", "=", email).where("is_bot", "=", false);
  if (exceptPersonId) query = query.where("id", "!=", exceptPersonId);
  if (await query.executeTakeFirst()) throw badRequest("Email already in use.");
}

/** True when the active non-bot non-guest persons reach USER_LIMIT. */
export async function isUserLimitReached(db: Db, config: Config): Promise<boolean> {
  const row = await db
    .selectFrom("person")
    .select((eb) => eb.fn.countAll<number>().as("total"))
    .where("active", "=", true)
    .where("is_bot", "=", false)
    .where("is_guest", "=", false)
    .executeTakeFirst();
  return Number(row?.total ?? 0) >= config.userLimit;
}

export async function checkUserLimit(db: Db, config: Config): Promise<void> {
  if (await isUserLimitReached(db, config)) throw badRequest("User limit reached.");
}

/** PROTECTED_ACCOUNTS holds e-mails separated by semicolons (or commas). */
export function isProtectedAccount(config: Config, email: unknown): boolean {
  if (typeof email !== "string" || !email) return false;
  const protectedEmails = config.protectedAccounts.flatMap((entry) => entry.split(/[;,]/)).map((entry) => entry.trim().toLowerCase());
  return protectedEmails.includes(email.toLowerCase());
}

/** ISO 3166-1 alpha-2 code, upper-cased; 400 when not two letters. */
export function normalizeCountry(value: unknown): string | null {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value !== "string" || !/^[A-Za-z]{2}$/.test(value.trim())) throw badRequest("Invalid country code.");
  return value.trim().toUpperCase();
}

/** A Babel-style locale name (`en_US`, `fr_FR`, `ja`); `en-us` is accepted and normalised. */
export function normalizeLocale(value: unknown): string | null {
  if (value === null || value === undefined || value === "") return null;
  const match = typeof value === "string" ? /^([A-Za-z]{2,3})(?:[_-]([A-Za-z]{2}))?$/.exec(value.trim()) : null;
  if (!match) throw badRequest("Invalid locale.");
  return match[2] ? `${match[1]!.toLowerCase()}_${match[2].toUpperCase()}` : match[1]!.toLowerCase();
}

export const DATE_FORMATS = ["YYYY-MM-DD", "DD/MM/YYYY", "MM/DD/YYYY"];

export function checkDisplayDateFormat(value: unknown): void {
  if (value === null || value === undefined) return;
  if (typeof value !== "string" || !DATE_FORMATS.includes(value)) {
    throw badRequest(`Invalid display_date_format: must be one of ${DATE_FORMATS.join(", ")}.`);
  }
}

/** IANA time zone name check (Intl knows them all). */
export function checkTimezone(value: unknown): void {
  if (value === null || value === undefined) return;
  try {
    if (typeof value !== "string") throw new Error();
    new Intl.DateTimeFormat("en-US", { timeZone: value });
  } catch {
    throw badRequest("Invalid timezone.");
  }
}

/** Today's date (UTC) as `YYYY-MM-DD`. */
export function todayUtc(): string {
  return utcNow().slice(0, 10);
}

/** bcrypt hash of a new password (null for an empty one: the person cannot log in locally). */
export async function hashNewPassword(config: Config, password: unknown): Promise<string | null> {
  if (typeof password !== "string" || password === "") return null;
  return hashPassword(password, config.bcryptCost);
}

/**
 * Mints a new API token for a person (identity `bot` for bots, `person_api` for humans) valid until
 * the end of its expiration date, stores its jti (the previous token is revoked by that) and
 * returns the token.
 */
export async function regenerateApiToken(c: AppContext, person: Row): Promise<string> {
  const expiration = person.expiration_date ? String(person.expiration_date).slice(0, 10) : null;
  const { token, jti } = await issueApiToken(c.get("config").secretKey, { id: person.id, is_bot: person.is_bot }, expiration);
  await c.get("db").updateTable("person").set({ jti }).where("id", "=", person.id).execute();
  return token;
}

// ---------------------------------------------------------------------------------------------
// Organisation

export const ORGANISATION_SECRET_KEYS = ["chat_token_slack", "chat_webhook_mattermost", "chat_token_discord"];

/** The organisation row, created as "Kitsu" with default settings when missing. */
export async function getOrCreateOrganisation(db: Db): Promise<Row> {
  const existing = await db.selectFrom("organisation").selectAll().orderBy("created_at").executeTakeFirst();
  if (existing) return existing;
  const now = utcNow();
  await db
    .insertInto("organisation")
    .values({ id: newId(), created_at: now, updated_at: now, name: "Kitsu", hours_by_day: 8 } as any)
    .onConflict((oc) => oc.column("name").doNothing())
    .execute();
  return (await db.selectFrom("organisation").selectAll().orderBy("created_at").executeTakeFirstOrThrow()) as Row;
}

/** The organisation as JSON; chat tokens only for admins. */
export function presentOrganisation(row: Row, options: { admin: boolean }): Dict {
  const dict = serialize("organisation", row);
  if (!options.admin) for (const key of ORGANISATION_SECRET_KEYS) delete dict[key];
  return dict;
}

/** True when the person row is a global admin (for code paths without an authenticated caller). */
export function personIsAdmin(person: Pick<PersonRow, "role"> | null | undefined): boolean {
  return Boolean(person && isAdmin(person));
}
