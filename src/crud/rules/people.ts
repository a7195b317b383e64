/**
 * Crud rules of person and organisation (models.md §4.2, permissions.md §4.6, auth.md §1.5 and §3).
 */
import { forgetStoredFiles, idsWhere } from "../../services/stored-files";
import { sql } from "kysely";
import type { AppContext, PersonRow } from "../../context";
import type { Db } from "../../db/database";
import { TABLES, type TableName } from "../../db/tables.generated";
import { chunks } from "../../lib/chunks";
import { ApiError, badRequest, badRequestPlain, forbidden } from "../../lib/errors";
import { isUuid, normalizeId } from "../../lib/ids";
import { isTrueWord } from "../values";
import { checkCredentials } from "../../services/login";
import { checkAdmin, isAdmin } from "../../services/permissions";
import {
  checkDisplayDateFormat,
  checkEmailAvailable,
  checkTimezone,
  checkUserLimit,
  getOrCreateOrganisation,
  hashNewPassword,
  isProtectedAccount,
  isUserLimitReached,
  NON_ADMIN_PERSON_FILTERS,
  normalizeCountry,
  normalizeEmail,
  normalizeLocale,
  ORGANISATION_SECRET_KEYS,
  personFormFor,
  presentPerson,
  regenerateApiToken,
  todayUtc,
} from "../../services/persons";
import type { Dict, Row } from "../engine";
import { PERSON_LIST_READS } from "../../services/list-reads";
import type { ModelRules, RuleSet } from "./index";

/** Keys a non-admin editing their own person row cannot change (silently dropped). */
const ADMIN_ONLY_PERSON_KEYS = [
  "role", "departments", "active", "is_bot", "archived", "login_failed_attemps", "last_login_failed",
  "is_generated_from_ldap", "ldap_uid", "last_presence", "studio_id", "is_guest", "daily_salary",
];

/**
 * Second-factor keys: written only by the 2FA routes (/auth/totp, /auth/email-otp, /auth/fido,
 * /auth/recovery-codes, the admin's disable-two-factor-authentication), which demand proof; a
 * crud update drops them silently, whoever sends them.
 */
const TWO_FACTOR_PERSON_KEYS = [
  "totp_enabled", "totp_secret", "email_otp_enabled", "email_otp_secret", "fido_enabled", "fido_credentials",
  "otp_recovery_codes", "preferred_two_factor_authentication",
];

/**
 * A person changing their own e-mail gives their current password as `password` in the same
 * body (an e-mail change then a password reset would otherwise hand the account to whoever holds
 * a session). The check is the login's: lockout and failure counter included.
 */
async function checkOwnEmailChange(c: AppContext, row: Row, body: Dict): Promise<void> {
  if (!("email" in body) || c.get("identityType") === "bot") return;
  const wanted = typeof body.email === "string" ? body.email.trim().toLowerCase() : body.email;
  const current = typeof row.email === "string" ? row.email.toLowerCase() : row.email;
  if ((wanted ?? "") === (current ?? "")) return;
  if (typeof body.password !== "string" || body.password === "") {
    throw badRequestPlain("The current password is required to change the email (send it as password).");
  }
  const check = await checkCredentials(c, "", body.password, row as unknown as PersonRow);
  if (check.ok) return;
  if (check.reason === "too_many_failures") {
    throw new ApiError(400, { error: true, message: "Too many failed login attempts.", too_many_failed_login_attemps: true });
  }
  throw badRequestPlain("The current password is wrong.");
}

/** API tokens minted while creating or updating a person, added to that request's answer. */
const mintedTokens = new WeakMap<AppContext, string>();

/** Keeps the ids of existing departments (Zou silently drops unknown ones). */
async function keepExistingDepartments(db: Db, body: Dict): Promise<void> {
  if (!Array.isArray(body.departments)) return;
  const ids = body.departments
    .map((value) => (value && typeof value === "object" && "id" in value ? (value as { id: unknown }).id : value))
    .filter(isUuid)
    .map(normalizeId);
  if (ids.length === 0) {
    body.departments = [];
    return;
  }
  const rows = await db.selectFrom("department").select("id").where("id", "in", ids).execute();
  const existing = new Set(rows.map((row) => row.id));
  body.departments = ids.filter((id) => existing.has(id));
}

/** Field checks shared by create and update: e-mail, country, locale, date format, timezone. */
async function normalizePersonValues(c: AppContext, values: Row, body: Dict, current: Row | null): Promise<void> {
  if ("email" in body) {
    if (body.email === null || body.email === "") {
      values.email = null;
    } else {
      values.email = normalizeEmail(body.email);
      const isBot = "is_bot" in values ? isTrueWord(values.is_bot) : isTrueWord(current?.is_bot);
      if (!isBot) await checkEmailAvailable(c.get("db"), values.email, current?.id);
    }
  }
  if ("country" in values) values.country = normalizeCountry(values.country);
  if ("locale" in values) values.locale = normalizeLocale(values.locale);
  if ("display_date_format" in values) checkDisplayDateFormat(values.display_date_format);
  if ("timezone" in values) checkTimezone(values.timezone);
}

// ---------------------------------------------------------------------------------------------
// Deleting a person

/** Columns of other tables that reference person.id (from the generated schema). */
function personReferences(): { table: TableName; column: string; nullable: boolean }[] {
  const references: { table: TableName; column: string; nullable: boolean }[] = [];
  for (const [table, def] of Object.entries(TABLES)) {
    for (const [column, col] of Object.entries(def.columns)) {
      if (col.fk === "person.id") references.push({ table: table as TableName, column, nullable: col.nullable !== false });
    }
  }
  return references;
}

/** Personal rows removed by a forced delete even though their column is nullable (Zou deletes them). */
const DELETED_WITH_PERSON = new Set(["time_spent.person_id", "day_off.person_id", "search_filter.person_id", "search_filter_group.person_id", "api_event.user_id"]);

async function removeCommentsOf(db: Db, personId: string): Promise<void> {
  const comments = await db.selectFrom("comment").select("id").where("person_id", "=", personId).execute();
  const ids = comments.map((comment) => comment.id);
  for (const chunk of chunks(ids)) {
    await db.deleteFrom("comment_mentions").where("comment", "in", chunk).execute();
    await db.deleteFrom("comment_department_mentions").where("comment", "in", chunk).execute();
    await db.deleteFrom("comment_acknoledgments").where("comment", "in", chunk).execute();
    await db.deleteFrom("comment_preview_link").where("comment", "in", chunk).execute();
    await db.deleteFrom("attachment_file").where("comment_id", "in", chunk).execute();
    await db.deleteFrom("notification").where("comment_id", "in", chunk).execute();
    await db.deleteFrom("news").where("comment_id", "in", chunk).execute();
    await db.deleteFrom("comment").where("id", "in", chunk).execute();
  }
}

/**
 * `?force=true`: removes what the person owns (comments, notifications, logs, filters, time
 * spents, day offs, team and assignment links, chat messages, news) and nulls their authorship
 * elsewhere, so the row can go.
 */
async function detachPerson(db: Db, personId: string): Promise<void> {
  await removeCommentsOf(db, personId);
  const groups = db.selectFrom("search_filter_group").select("id").where("person_id", "=", personId);
  await db.deleteFrom("search_filter").where("search_filter_group_id", "in", groups).execute();
  const messages = db.selectFrom("chat_message").select("id").where("person_id", "=", personId);
  await db.updateTable("attachment_file").set({ chat_message_id: null }).where("chat_message_id", "in", messages).execute();
  for (const { table, column, nullable } of personReferences()) {
    if (table === "department_link") continue;
    if (nullable && !DELETED_WITH_PERSON.has(`${table}.${column}`)) {
      await db.updateTable(table).set({ [column]: null } as any).where(column as any, "=", personId).execute();
    } else {
      await db.deleteFrom(table).where(column as any, "=", personId).execute();
    }
  }
}

/** True when some row of another table still references the person (department links aside). */
async function isPersonReferenced(db: Db, personId: string): Promise<boolean> {
  for (const { table, column } of personReferences()) {
    if (table === "department_link") continue;
    const row = await db
      .selectFrom(table)
      .select(sql<number>`1`.as("one"))
      .where(column as any, "=", personId)
      .limit(1)
      .executeTakeFirst();
    if (row) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------

const personRules: ModelRules = {
  list: async () => {},
  listReads: async () => PERSON_LIST_READS,
  read: async () => {},
  // `present` reads the caller's role only (part of the by-id answer key).
  readDependsOn: [],
  create: async (c) => checkAdmin(c),
  update: async (c, row, body) => {
    if (row.id !== c.get("user").id) checkAdmin(c);
    else await checkOwnEmailChange(c, row, body);
  },
  prepareBody: async (c, body, mode) => {
    if (mode === "update") for (const key of TWO_FACTOR_PERSON_KEYS) delete body[key];
    if (mode === "update" && !isAdmin(c.get("user"))) {
      for (const key of ADMIN_ONLY_PERSON_KEYS) delete body[key];
      if (c.get("identityType") === "bot") delete body.expiration_date;
    }
    await keepExistingDepartments(c.get("db"), body);
    return body;
  },
  relationsOnUpdate: true,
  delete: async (c, row) => {
    if (row.id === c.get("user").id) throw forbidden();
    checkAdmin(c);
  },
  filterable: (c) => (isAdmin(c.get("user")) ? null : NON_ADMIN_PERSON_FILTERS),
  protectedOnUpdate: ["password", "jti", "totp_secret", "email_otp_secret", "otp_recovery_codes", "fido_credentials"],

  beforeCreate: async (c, values, body) => {
    const config = c.get("config");
    delete values.jti;
    await normalizePersonValues(c, values, body, null);
    if (values.expiration_date && String(values.expiration_date) < todayUtc()) {
      throw badRequest("Expiration date can't be in the past.");
    }
    const countsForLimit = !isTrueWord(values.is_bot) && !isTrueWord(values.is_guest) && values.active !== false;
    if (countsForLimit) await checkUserLimit(c.get("db"), config);
    if ("password" in body) values.password = await hashNewPassword(config, body.password);
  },
  afterCreate: async (c, row) => {
    if (isTrueWord(row.is_bot)) mintedTokens.set(c, await regenerateApiToken(c, row));
  },
  beforeUpdate: async (c, row, values, body) => {
    const config = c.get("config");
    const user = c.get("user");
    await normalizePersonValues(c, values, body, row);
    if (row.id !== user.id && isProtectedAccount(config, row.email)) {
      if (values.active === false) throw forbidden("Can't set this person as inactive it's a protected account.");
      if ("role" in values && values.role !== row.role) throw forbidden("Can't change the role of a protected account.");
    }
    const becomesActive = values.active === true && !isTrueWord(row.active);
    const isBot = "is_bot" in values ? isTrueWord(values.is_bot) : isTrueWord(row.is_bot);
    if (becomesActive && !isBot && !isTrueWord(row.is_guest) && (await isUserLimitReached(c.get("db"), config))) {
      throw badRequest("User limit reached.");
    }
  },
  afterUpdate: async (c, row, _previous, body) => {
    if (!("expiration_date" in body)) return;
    const date = row.expiration_date ? String(row.expiration_date).slice(0, 10) : null;
    if (date === null || date >= todayUtc()) mintedTokens.set(c, await regenerateApiToken(c, row));
  },

  beforeDelete: async (c, row) => {
    if (isProtectedAccount(c.get("config"), row.email)) {
      throw badRequestPlain("Can't delete this person it's a protected account.");
    }
    const db = c.get("db");
    if ((c.req.query("force") ?? "").toLowerCase() === "true") {
      const comments = (await db.selectFrom("comment").select("id").where("person_id", "=", row.id).execute()).map((comment) => comment.id);
      await forgetStoredFiles(c, "attachment_file", await idsWhere(db, "attachment_file", "comment_id", comments));
      await detachPerson(db, row.id);
    }
    if (await isPersonReferenced(db, row.id)) throw badRequestPlain("Some data are still linked to given person.");
  },

  present: async (c, row, dict, mode) => {
    if (mode === "list" || mode === "read") {
      const form = personFormFor(c, mode);
      const result = presentPerson(c, row, form, dict.departments as string[] | undefined);
      if (mode === "list" && form === "full" && isTrueWord(c.req.query("with_pass_hash"))) result.password = row.password ?? null;
      return result;
    }
    const result = presentPerson(c, row, "full", (dict.departments as string[] | undefined) ?? []);
    const token = mintedTokens.get(c);
    if (token) result.access_token = token;
    return result;
  },
};

const organisationRules: ModelRules = {
  list: async (c) => {
    await getOrCreateOrganisation(c.get("db"));
  },
  read: async () => {},
  // `present` reads the caller's role only (part of the by-id answer key).
  readDependsOn: [],
  filterable: (c) => {
    if (isAdmin(c.get("user"))) return null;
    return new Set(Object.keys(TABLES.organisation.columns).filter((column) => !ORGANISATION_SECRET_KEYS.includes(column)));
  },
  present: (c, _row, dict) => {
    if (!isAdmin(c.get("user"))) for (const key of ORGANISATION_SECRET_KEYS) delete dict[key];
    return dict;
  },
};

export const peopleRules: RuleSet = {
  person: personRules,
  organisation: organisationRules,
};
