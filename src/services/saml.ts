/**
 * SAML 2.0 single sign-on (auth.md §2.8) with @node-saml/node-saml, set up as Zou sets up its
 * service provider:
 * - entity id `<DOMAIN_PROTOCOL>://<DOMAIN_NAME>/api/auth/saml/login`, assertion consumer service
 *   `<DOMAIN_PROTOCOL>://<DOMAIN_NAME>/api/auth/saml/sso` (HTTP-POST binding);
 * - the identity provider is read from SAML_METADATA_URL: its entity id (the expected issuer), its
 *   HTTP-Redirect single sign-on URL and its signing certificates;
 * - AuthnRequests are not signed; the assertion must be signed by the identity provider;
 *   unsolicited (IdP-initiated) responses are accepted.
 * The NameID is the person's e-mail; a person is matched by it or created, and the attributes
 * `first_name, last_name, phone, departments, studio_id, country` are copied onto the person.
 * Each assertion is accepted once (its id is kept in the kv store until it expires).
 */
import { createHash, randomBytes } from "node:crypto";
import type { Profile, SAML } from "@node-saml/node-saml";
import type { AppContext } from "../context";
import type { Config, SamlConfig } from "../config";
import { setRelation } from "../db/rows";
import { transact } from "../db/transaction";
import { ApiError } from "../lib/errors";
import { emitEvent } from "../lib/events";
import { isUuid, newId, normalizeId, utcNow } from "../lib/ids";
import { kvGet, kvSet } from "../lib/kv";
import { hashPassword } from "../lib/passwords";
import { departmentIdsOf, normalizeCountry } from "./persons";

type Row = Record<string, any>;

const METADATA_NS = "urn:oasis:names:tc:SAML:2.0:metadata";
const DSIG_NS = "http://www.w3.org/2000/09/xmldsig#";
const REDIRECT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
/** The identity provider's metadata is fetched again after this time. */
const METADATA_TTL_MS = 60 * 60 * 1000;
const METADATA_TIMEOUT_MS = 10_000;
/** Clock difference tolerated between the identity provider and us. */
const CLOCK_SKEW_MS = 60_000;
/** How long an assertion id is remembered when the assertion gives no expiry. */
const REPLAY_WINDOW_SECONDS = 60 * 60;

export interface IdpMetadata {
  entityId: string;
  /** The single sign-on URL of the HTTP-Redirect binding (null when the provider has none). */
  ssoRedirectUrl: string | null;
  /** PEM certificates the provider signs with. */
  signingCerts: string[];
}

function fail(status: 400 | 502, message: string): ApiError {
  return new ApiError(status, { error: true, message });
}

/** The SAML settings, or Zou's 400 when SAML is off. */
export function requireSaml(config: Config): SamlConfig {
  if (!config.saml) throw new ApiError(400, { error: "SAML is not enabled." });
  return config.saml;
}

/** Our entity id (Zou names its service provider after the login route). */
export function samlEntityId(config: Config): string {
  return `${config.domainProtocol}://${config.domainName}/api/auth/saml/login`;
}

/** Our assertion consumer service URL. */
export function samlAcsUrl(config: Config): string {
  return `${config.domainProtocol}://${config.domainName}/api/auth/saml/sso`;
}

function toPem(base64: string): string {
  const body = base64.replace(/\s+/g, "");
  return `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)!.join("\n")}\n-----END CERTIFICATE-----\n`;
}

/** Reads an identity provider's metadata document (an EntityDescriptor, or EntitiesDescriptor holding one). */
export async function parseIdpMetadata(xml: string): Promise<IdpMetadata> {
  // Loaded at the first SAML call, not at start-up (as @node-saml/node-saml below).
  const { DOMParser } = await import("@xmldom/xmldom");
  let document: Document;
  try {
    document = new DOMParser({ errorHandler: { error: () => {}, warning: () => {}, fatalError: () => {} } }).parseFromString(xml, "text/xml") as unknown as Document;
  } catch {
    throw fail(502, "The SAML identity provider metadata is not valid XML.");
  }
  const descriptors = Array.from(document.getElementsByTagNameNS(METADATA_NS, "IDPSSODescriptor"));
  const idp = descriptors[0];
  const entity = idp?.parentNode as Element | null | undefined;
  const entityId = entity?.getAttribute?.("entityID") ?? "";
  if (!idp || !entityId) throw fail(502, "The SAML metadata describes no identity provider.");
  let ssoRedirectUrl: string | null = null;
  for (const service of Array.from(idp.getElementsByTagNameNS(METADATA_NS, "SingleSignOnService"))) {
    if (service.getAttribute("Binding") === REDIRECT_BINDING && service.getAttribute("Location")) {
      ssoRedirectUrl = service.getAttribute("Location");
      break;
    }
  }
  const signingCerts: string[] = [];
  for (const key of Array.from(idp.getElementsByTagNameNS(METADATA_NS, "KeyDescriptor"))) {
    const use = key.getAttribute("use");
    if (use && use !== "signing") continue;
    for (const cert of Array.from(key.getElementsByTagNameNS(DSIG_NS, "X509Certificate"))) {
      const text = (cert.textContent ?? "").trim();
      if (text) signingCerts.push(toPem(text));
    }
  }
  if (signingCerts.length === 0) throw fail(502, "The SAML metadata gives no signing certificate.");
  return { entityId, ssoRedirectUrl, signingCerts };
}

const metadataCache = new Map<string, { metadata: IdpMetadata; fetchedAt: number }>();

/** The identity provider's metadata, fetched from SAML_METADATA_URL at most once an hour. */
async function idpMetadata(saml: SamlConfig): Promise<IdpMetadata> {
  if (!saml.metadataUrl) throw fail(502, "SAML_METADATA_URL is not set.");
  const cached = metadataCache.get(saml.metadataUrl);
  if (cached && Date.now() - cached.fetchedAt < METADATA_TTL_MS) return cached.metadata;
  let text: string;
  try {
    const response = await fetch(saml.metadataUrl, { signal: AbortSignal.timeout(METADATA_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    text = await response.text();
  } catch {
    // A provider briefly down does not stop logins while the last metadata is known.
    if (cached) return cached.metadata;
    throw fail(502, "The SAML identity provider metadata cannot be fetched.");
  }
  const metadata = await parseIdpMetadata(text);
  metadataCache.set(saml.metadataUrl, { metadata, fetchedAt: Date.now() });
  return metadata;
}

async function samlClient(config: Config, metadata: IdpMetadata): Promise<SAML> {
  const { SAML, ValidateInResponseTo } = await import("@node-saml/node-saml");
  return new SAML({
    issuer: samlEntityId(config),
    callbackUrl: samlAcsUrl(config),
    audience: samlEntityId(config),
    idpCert: metadata.signingCerts,
    entryPoint: metadata.ssoRedirectUrl ?? undefined,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    validateInResponseTo: ValidateInResponseTo.never,
    disableRequestedAuthnContext: true,
    acceptedClockSkewMs: CLOCK_SKEW_MS,
  });
}

/** The identity provider's URL carrying a new AuthnRequest (HTTP-Redirect binding). */
export async function startSamlLogin(config: Config): Promise<string> {
  const metadata = await idpMetadata(requireSaml(config));
  if (!metadata.ssoRedirectUrl) throw fail(502, "The SAML identity provider offers no HTTP-Redirect single sign-on service.");
  return (await samlClient(config, metadata)).getAuthorizeUrlAsync("", undefined, {});
}

// ---------------------------------------------------------------------------------------------
// Assertion consumer

/** Attribute values as strings (node-saml gives a string for one value, a list for several). */
function attributeValues(profile: Profile, name: string): string[] | null {
  if (!Object.hasOwn(profile, name)) return null;
  const raw = profile[name];
  const list = Array.isArray(raw) ? raw : [raw];
  return list.filter((value): value is string => typeof value === "string").map((value) => value.trim());
}

interface PersonAttributes {
  columns: Row;
  departments: string[] | null;
}

/** The person fields an assertion carries (Zou's list); values that cannot be stored are left out. */
function personAttributes(profile: Profile): PersonAttributes {
  const columns: Row = {};
  for (const name of ["first_name", "last_name", "phone"]) {
    const values = attributeValues(profile, name);
    if (values) columns[name] = values.join(" ").trim();
  }
  const country = attributeValues(profile, "country");
  if (country) {
    try {
      columns.country = normalizeCountry(country.join(" ").trim());
    } catch {
      // A malformed country is dropped; it neither blocks the login nor erases the stored one.
    }
  }
  const studio = attributeValues(profile, "studio_id");
  if (studio) {
    const id = studio.find((value) => value !== "");
    if (id === undefined) columns.studio_id = null;
    else if (isUuid(id)) columns.studio_id = normalizeId(id);
  }
  const departments = attributeValues(profile, "departments");
  return { columns, departments: departments ? departments.filter(isUuid).map(normalizeId) : null };
}

/** Validates a SAMLResponse (signature, issuer, audience, times) and returns its profile. */
async function validatedProfile(config: Config, samlResponse: string): Promise<Profile> {
  const metadata = await idpMetadata(requireSaml(config));
  let profile: Profile | null;
  try {
    ({ profile } = await (await samlClient(config, metadata)).validatePostResponseAsync({ SAMLResponse: samlResponse }));
  } catch (error) {
    throw fail(400, `SAML response refused: ${error instanceof Error ? error.message : "invalid response"}.`);
  }
  if (!profile) throw fail(400, "SAML response refused: it carries no assertion.");
  // node-saml checks the issuer of logout messages only: the assertion's is checked here.
  if (profile.issuer !== metadata.entityId) throw fail(400, "SAML response refused: unknown issuer.");
  return profile;
}

/** Refuses an assertion seen before; remembers this one until it expires. */
async function checkNotReplayed(c: AppContext, profile: Profile): Promise<void> {
  const assertion = profile.getAssertion?.() as Row | undefined;
  const attributes = assertion?.Assertion?.$ as Record<string, string> | undefined;
  const id = attributes?.ID;
  if (!id) return;
  // Hashed: issuer and id are free-length text, kv keys are at most 255 characters.
  const key = `saml-assertion-${createHash("sha256").update(`${profile.issuer}\n${id}`).digest("hex")}`;
  const db = c.get("db");
  if ((await kvGet(db, key)) !== null) throw fail(400, "SAML response refused: this assertion was already used.");
  const conditions = assertion?.Assertion?.Conditions?.[0]?.$ as Record<string, string> | undefined;
  const expiresAt = conditions?.NotOnOrAfter ? Date.parse(conditions.NotOnOrAfter) : NaN;
  const ttl = Number.isFinite(expiresAt) ? Math.max(60, Math.ceil((expiresAt + CLOCK_SKEW_MS - Date.now()) / 1000)) : REPLAY_WINDOW_SECONDS;
  await kvSet(db, key, "1", ttl);
}

function sameDepartments(a: string[], b: string[]): boolean {
  return a.length === b.length && [...a].sort().join() === [...b].sort().join();
}

/**
 * Handles the identity provider's POST: returns the person the assertion names, matched by
 * e-mail (NameID) or created, with the assertion's attributes copied onto it. 400 for a
 * response that is not valid, not signed by the provider, expired, replayed or without e-mail.
 */
export async function finishSamlLogin(c: AppContext, samlResponse: string): Promise<Row> {
  const config = c.get("config");
  const profile = await validatedProfile(config, samlResponse);
  const email = (profile.nameID ?? "").trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw fail(400, "SAML response refused: the NameID is not an e-mail address.");
  const { columns, departments } = personAttributes(profile);
  // bcrypt is slow on purpose: a new person's password is hashed before the transaction opens.
  const known = await c.get("db").selectFrom("person").select("id").where("email", "=", email).where("is_bot", "=", false).executeTakeFirst();
  const newPassword = known ? null : await hashPassword(randomBytes(48).toString("base64url"), config.bcryptCost);

  return transact(c, async (db) => {
    await checkNotReplayed(c, profile);
    if (columns.studio_id && !(await db.selectFrom("studio").select("id").where("id", "=", columns.studio_id).executeTakeFirst())) {
      delete columns.studio_id; // an unknown studio is ignored, as unknown departments are
    }
    const existing = (await db.selectFrom("person").selectAll().where("email", "=", email).where("is_bot", "=", false).executeTakeFirst()) as Row | undefined;
    const now = utcNow();
    if (!existing) {
      const id = newId();
      const password = newPassword ?? (await hashPassword(randomBytes(48).toString("base64url"), config.bcryptCost));
      await db
        .insertInto("person")
        .values({
          id, created_at: now, updated_at: now, email, password, role: "user", active: true,
          first_name: email.split("@")[0]!, last_name: "", phone: "", desktop_login: "",
          locale: config.defaultLocale, timezone: config.defaultTimezone,
          ...columns,
        } as any)
        .execute();
      if (departments) await setRelation(db, "person", "departments", id, departments);
      await emitEvent(db, c.get("events"), "person:new", { person_id: id }, { userId: null });
      return (await db.selectFrom("person").selectAll().where("id", "=", id).executeTakeFirstOrThrow()) as Row;
    }
    const changed = Object.fromEntries(Object.entries(columns).filter(([key, value]) => (existing[key] ?? null) !== value));
    const departmentsChanged = departments !== null && !sameDepartments(await departmentIdsOf(db, existing.id), departments);
    if (Object.keys(changed).length === 0 && !departmentsChanged) return existing;
    if (Object.keys(changed).length > 0) {
      await db.updateTable("person").set({ ...changed, updated_at: now }).where("id", "=", existing.id).execute();
    }
    if (departmentsChanged) await setRelation(db, "person", "departments", existing.id, departments);
    await emitEvent(db, c.get("events"), "person:update", { person_id: existing.id }, { userId: null });
    return (await db.selectFrom("person").selectAll().where("id", "=", existing.id).executeTakeFirstOrThrow()) as Row;
  });
}
