/**
 * LDAP / Active Directory connection (auth.md §2.1 `auth_remote_ldap`, §5 LDAP_*): the bind names of
 * the three directory kinds, a bind that tells wrong credentials from an unreachable server, and the
 * password check of persons generated from the directory. The sync lives in `ldap-sync.ts`.
 *
 * ldapts speaks simple binds only (no NTLM): for LDAP_IS_AD the `DOMAIN\login` name is sent as a
 * simple bind, which Active Directory accepts as a down-level logon name.
 */
import type { Client } from "ldapts";
import type { LdapConfig } from "../config";

type Ldapts = typeof import("ldapts");
let ldapts: Ldapts | null = null;
/**
 * ldapts, loaded at the first LDAP call: a server without LDAP does not pay for it (and for the
 * node:net/tls modules it pulls in) at start-up.
 */
export async function loadLdapts(): Promise<Ldapts> {
  return (ldapts ??= await import("ldapts"));
}

/** The directory could not be reached (connection refused, timeout, TLS failure...). */
export class LdapUnavailableError extends Error {
  constructor(config: LdapConfig, cause: unknown) {
    super(`Cannot connect to the LDAP/Active Directory server ${ldapUrl(config)}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "LdapUnavailableError";
  }
}

/** `ldap://host:port`, or `ldaps://` with LDAP_SSL (IPv6 hosts in brackets). */
export function ldapUrl(config: LdapConfig): string {
  const host = config.host.includes(":") && !config.host.startsWith("[") ? `[${config.host}]` : config.host;
  return `${config.ssl ? "ldaps" : "ldap"}://${host}:${config.port}`;
}

/** A value escaped for one RDN of a DN (RFC 4514 §2.4). */
export function escapeDnValue(value: string): string {
  let escaped = value.replace(/[\\,+"<>;=]/g, (char) => `\\${char}`).replace(/\0/g, "\\00");
  if (escaped.startsWith("#") || escaped.startsWith(" ")) escaped = `\\${escaped}`;
  if (escaped.endsWith(" ") && escaped.length > 1) escaped = `${escaped.slice(0, -1)}\\ `;
  return escaped;
}

/**
 * The name a directory account binds with: `cn=<login>,<base>` (LDAP_IS_AD_SIMPLE),
 * `<domain>\<login>` (LDAP_IS_AD), else `uid=<login>,<base>`.
 */
export function bindName(config: LdapConfig, login: string): string {
  if (config.isAdSimple) return `cn=${escapeDnValue(login)},${config.baseDn}`;
  if (config.isAd) return `${config.domain}\\${login}`;
  return `uid=${escapeDnValue(login)},${config.baseDn}`;
}

export async function ldapClient(config: LdapConfig): Promise<Client> {
  const timeout = Math.max(1, config.timeoutSeconds) * 1000;
  const { Client } = await loadLdapts();
  return new Client({
    url: ldapUrl(config),
    timeout,
    connectTimeout: timeout,
    strictDN: false,
    tlsOptions: config.ssl ? { rejectUnauthorized: config.sslVerify } : undefined,
  });
}

/**
 * Binds `name` with `password` on a new connection: true when the directory accepts them, false on
 * invalid credentials (an empty password is refused without asking: it would be an anonymous bind).
 * Throws LdapUnavailableError when the server cannot be reached; other directory errors propagate.
 */
export async function ldapBind(config: LdapConfig, name: string, password: string): Promise<boolean> {
  if (password === "" || name === "") return false;
  const client = await ldapClient(config);
  try {
    await client.bind(name, password);
    return true;
  } catch (error) {
    if (error instanceof ldapts!.InvalidCredentialsError) return false;
    if (isConnectionError(error)) throw new LdapUnavailableError(config, error);
    throw error;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

/**
 * True for failures of the transport (refused, reset, unreachable, timeouts, TLS handshake), as
 * opposed to an answer of the directory (a ResultCodeError carries the LDAP result code).
 */
export function isConnectionError(error: unknown): boolean {
  // Before ldapts is loaded no directory has answered anything.
  return error instanceof Error && !(ldapts && error instanceof ldapts.ResultCodeError);
}

/** The directory password check of a person generated from LDAP (false without a desktop login). */
export async function ldapPasswordMatches(config: LdapConfig, desktopLogin: string | null | undefined, password: string): Promise<boolean> {
  if (!desktopLogin) return false;
  return ldapBind(config, bindName(config, desktopLogin), password);
}
