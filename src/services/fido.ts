/**
 * FIDO / WebAuthn second factor (auth.md §2.7), verified with @simplewebauthn/server.
 *
 * The relying party is "Kitsu" with the host name of DOMAIN_NAME as its id; the origin is not
 * checked while DOMAIN_NAME is the default `localhost:8080` (as Zou). The challenge of a pending
 * registration or authentication is kept server side in the kv store under `fido-state-<person id>`
 * for five minutes and is single use.
 *
 * Stored credentials (`person.fido_credentials`, a JSON array):
 * `{device_name, aaguid, credential_id (base64url), public_key (base64url COSE key), counter, transports}`.
 * Entries in Zou's own integer encoding (imported databases) are kept but never match.
 */
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from "@simplewebauthn/server";
import type { Config } from "../config";
import type { Db } from "../db/database";
import { badRequestPlain } from "../lib/errors";
import { kvDelete, kvGet, kvSet } from "../lib/kv";

type Row = Record<string, any>;

/** Transports as the option generators take them. */
type WebAuthn = typeof import("@simplewebauthn/server");
type Transport = NonNullable<NonNullable<Parameters<WebAuthn["generateRegistrationOptions"]>[0]["excludeCredentials"]>[number]["transports"]>[number];

/** @simplewebauthn/server, loaded on first use: with its X.509/ASN.1 stack it was the heaviest import of the start-up. */
let webauthn: Promise<WebAuthn> | undefined;
const loadWebAuthn = (): Promise<WebAuthn> => (webauthn ??= import("@simplewebauthn/server"));

const RP_NAME = "Kitsu";
const STATE_SECONDS = 5 * 60;
const DEFAULT_DOMAIN = "localhost:8080";

export interface FidoCredential {
  device_name: string;
  aaguid: string;
  credential_id: string;
  public_key: string;
  counter: number;
  transports?: Transport[];
}

/** The relying party id: the host name of DOMAIN_NAME. */
export function relyingPartyId(config: Config): string {
  try {
    return new URL(`https://${config.domainName}`).hostname;
  } catch {
    return "localhost";
  }
}

function stateKey(personId: string): string {
  return `fido-state-${personId}`;
}

/** Takes (and forgets) the pending challenge of a person. */
async function popChallenge(db: Db, personId: string): Promise<string | null> {
  const challenge = await kvGet(db, stateKey(personId));
  if (challenge !== null) await kvDelete(db, stateKey(personId));
  return challenge;
}

/** The person's stored credentials (all entries, whatever their encoding). */
export function storedEntries(person: Row): Row[] {
  let value: unknown = person.fido_credentials;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      value = [];
    }
  }
  return Array.isArray(value) ? value.filter((entry): entry is Row => !!entry && typeof entry === "object") : [];
}

/** Credentials this server can verify against (base64url id and COSE key). */
function usableCredentials(person: Row): FidoCredential[] {
  return storedEntries(person).filter(
    (entry): entry is FidoCredential => typeof entry.credential_id === "string" && typeof entry.public_key === "string",
  );
}

/** The origin to expect: any origin the client reports while DOMAIN_NAME is the default. */
function expectedOrigin(config: Config, clientDataJSON: unknown): string {
  if (config.domainName === DEFAULT_DOMAIN && typeof clientDataJSON === "string") {
    try {
      const clientData = JSON.parse(Buffer.from(clientDataJSON, "base64url").toString("utf8"));
      if (typeof clientData?.origin === "string") return clientData.origin;
    } catch {
      // falls through to the configured origin: verification then fails cleanly
    }
  }
  return `${config.domainProtocol}://${config.domainName}`;
}

function fullName(person: Row): string {
  return [person.first_name, person.last_name].filter((part) => typeof part === "string" && part !== "").join(" ");
}

/** Creation options for a new device (PUT /auth/fido); remembers the challenge. */
export async function registrationOptions(db: Db, config: Config, person: Row): Promise<Record<string, unknown>> {
  const options = await (await loadWebAuthn()).generateRegistrationOptions({
    rpName: RP_NAME,
    rpID: relyingPartyId(config),
    userID: new TextEncoder().encode(String(person.id)),
    userName: person.email ?? person.desktop_login ?? String(person.id),
    userDisplayName: fullName(person),
    attestationType: "none",
    excludeCredentials: usableCredentials(person).map((credential) => ({ id: credential.credential_id, transports: credential.transports })),
    authenticatorSelection: { authenticatorAttachment: "cross-platform", userVerification: "preferred" },
  });
  await kvSet(db, stateKey(person.id), options.challenge, STATE_SECONDS);
  return options as unknown as Record<string, unknown>;
}

const SERVER_ERROR = "FIDO server exception your registration response is probably wrong.";

/**
 * Verifies a registration response against the pending challenge and returns the person's new
 * credential list (the new device appended). 400 when no challenge is pending or it does not verify.
 */
export async function verifyRegistration(db: Db, config: Config, person: Row, response: unknown, deviceName: string): Promise<Row[]> {
  const challenge = await popChallenge(db, person.id);
  if (challenge === null) throw badRequestPlain("No preregistration before.");
  let credential: FidoCredential;
  try {
    const registration = response as RegistrationResponseJSON;
    const result = await (await loadWebAuthn()).verifyRegistrationResponse({
      response: registration,
      expectedChallenge: challenge,
      expectedOrigin: expectedOrigin(config, registration?.response?.clientDataJSON),
      expectedRPID: relyingPartyId(config),
      requireUserVerification: false,
    });
    if (!result.verified) throw new Error("not verified");
    const info = result.registrationInfo;
    credential = {
      device_name: deviceName,
      aaguid: info.aaguid,
      credential_id: info.credential.id,
      public_key: Buffer.from(info.credential.publicKey).toString("base64url"),
      counter: info.credential.counter,
      ...(info.credential.transports ? { transports: info.credential.transports as Transport[] } : {}),
    };
  } catch {
    throw badRequestPlain(SERVER_ERROR);
  }
  return [...storedEntries(person), credential];
}

/** Request options for a login (GET /auth/fido); remembers the challenge. */
export async function authenticationOptions(db: Db, config: Config, person: Row): Promise<Record<string, unknown>> {
  const options = await (await loadWebAuthn()).generateAuthenticationOptions({
    rpID: relyingPartyId(config),
    allowCredentials: usableCredentials(person).map((credential) => ({ id: credential.credential_id, transports: credential.transports })),
    userVerification: "preferred",
  });
  await kvSet(db, stateKey(person.id), options.challenge, STATE_SECONDS);
  return options as unknown as Record<string, unknown>;
}

/**
 * Checks an authentication response against the pending challenge and the person's devices; on
 * success the device's signature counter is saved. False when anything does not verify.
 */
export async function verifyAuthentication(db: Db, config: Config, person: Row, response: unknown): Promise<boolean> {
  const challenge = await popChallenge(db, person.id);
  if (challenge === null || !response || typeof response !== "object") return false;
  const assertion = response as AuthenticationResponseJSON;
  const credential = usableCredentials(person).find((entry) => entry.credential_id === assertion.id);
  if (!credential) return false;
  try {
    const result = await (await loadWebAuthn()).verifyAuthenticationResponse({
      response: assertion,
      expectedChallenge: challenge,
      expectedOrigin: expectedOrigin(config, assertion.response?.clientDataJSON),
      expectedRPID: relyingPartyId(config),
      credential: {
        id: credential.credential_id,
        publicKey: new Uint8Array(Buffer.from(credential.public_key, "base64url")),
        counter: Number(credential.counter) || 0,
      },
      requireUserVerification: false,
    });
    if (!result.verified) return false;
    const entries = storedEntries(person).map((entry) =>
      entry.credential_id === credential.credential_id ? { ...entry, counter: result.authenticationInfo.newCounter } : entry,
    );
    await db.updateTable("person").set({ fido_credentials: JSON.stringify(entries) }).where("id", "=", person.id).execute();
    person.fido_credentials = JSON.stringify(entries);
    return true;
  } catch {
    return false;
  }
}

/** The credential list without the named device. */
export function withoutDevice(person: Row, deviceName: string): Row[] {
  const entries = storedEntries(person);
  const index = entries.findIndex((entry) => entry.device_name === deviceName);
  return index === -1 ? entries : entries.filter((_, i) => i !== index);
}
