/** Server configuration, read from environment variables (all documented in README.md). */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";

export interface OidcConfig {
  idpName: string;
  /** The issuer URL or its `/.well-known/openid-configuration` document. */
  discoveryUrl: string;
  clientId: string;
  clientSecret: string;
  scopes: string;
  emailClaim: string;
  givenNameClaim: string;
  familyNameClaim: string;
  requireEmailVerified: boolean;
  skip2fa: boolean;
}

export interface SamlConfig {
  /** SAML_IDP_NAME: the name of the login button Kitsu shows. */
  idpName: string;
  /** SAML_METADATA_URL: where the identity provider publishes its metadata (SSO URL, signing certificates). */
  metadataUrl: string;
  /** SAML_SKIP_2FA: SAML logins are not restricted by ENFORCE_2FA (the identity provider handles MFA). */
  skip2fa: boolean;
}

/** LDAP / Active Directory (AUTH_STRATEGY=auth_remote_ldap, `zou-bun sync-ldap`). */
export interface LdapConfig {
  host: string;
  port: number;
  /** LDAP_BASE_DN: where persons are bound (`uid=<login>,<base>`) and searched. */
  baseDn: string;
  /** LDAP_GROUP: only members of this group are synced ("" : everyone). */
  group: string;
  /** LDAP_DOMAIN: the `DOMAIN\login` bind name of LDAP_IS_AD. */
  domain: string;
  /** LDAP_FALLBACK: persons not generated from LDAP log in with their local password. */
  fallback: boolean;
  isAd: boolean;
  isAdSimple: boolean;
  /** LDAP_SSL: ldaps:// instead of ldap://. */
  ssl: boolean;
  /** LDAP_SSL_VERIFY: check the server certificate of ldaps:// (system CAs, NODE_EXTRA_CA_CERTS). */
  sslVerify: boolean;
  /** LDAP_USER / LDAP_PASSWORD: the account the sync binds with (a login or a full DN). */
  user: string;
  password: string;
  /** EMAIL_DOMAIN: e-mail of directory users without `mail` (`<login>@<domain>`). */
  emailDomain: string;
  /** LDAP_EXCLUDED_ACCOUNTS: comma-separated logins the sync leaves alone. */
  excludedAccounts: string[];
  /** LDAP_SYNC_INTERVAL: seconds between directory syncs run by `serve` (0: none). */
  syncIntervalSeconds: number;
  /** LDAP_TIMEOUT: seconds a connection or an operation may take. */
  timeoutSeconds: number;
}

export interface Config {
  databaseUrl: string;
  secretKey: string;
  previewFolder: string;
  tmpFolder: string;
  host: string;
  port: number;
  userLimit: number;
  /** bcrypt cost (Zou: 12). */
  bcryptCost: number;
  minPasswordLength: number;
  defaultLocale: string;
  defaultTimezone: string;
  authStrategy: string;
  ldap: LdapConfig;
  smtp: { host: string; port: number; user: string; password: string; from: string; tls: boolean } | null;
  domainName: string;
  domainProtocol: string;
  /** OpenID Connect single sign-on (OIDC_*); null when OIDC_ENABLED is off. */
  oidc: OidcConfig | null;
  /** SAML single sign-on (SAML_*); null when SAML_ENABLED is off. */
  saml: SamlConfig | null;
  isSelfHosted: boolean;
  crispToken: string;
  sentryDsn: string;
  removeFiles: boolean;
  protectedAccounts: string[];
  /** ENFORCE_2FA: persons without any second factor get restricted tokens. */
  enforce2fa: boolean;
  /** 2FA_EXEMPT_USERS: emails exempt from ENFORCE_2FA. */
  twoFactorExemptUsers: string[];
  corsAllowedOrigins: string[];
  /** MAX_JSON_BODY_SIZE: bytes of a body read whole (JSON, forms); larger ones get a 413. */
  maxJsonBodySize: number;
  /** EVENT_RETENTION_DAYS: api_event rows older than this are deleted daily (0: kept forever). */
  eventRetentionDays: number;
  /** SHUTDOWN_GRACE_SECONDS: on SIGTERM/SIGINT, how long in-flight requests may take to finish. */
  shutdownGraceSeconds: number;
  /** ADMIN_TOKEN: enables `GET /admin/config/check` for `Authorization: Bearer <ADMIN_TOKEN>` (empty: route absent). */
  adminToken: string;
  /** SLACK_API_URL / DISCORD_API_URL: chat services' API bases (Mattermost uses the organisation's webhook). */
  slackApiUrl: string;
  discordApiUrl: string;
  /** CHAT_SEND_TIMEOUT_MS: time limit of one chat HTTP call. */
  chatSendTimeoutMs: number;
  /** CHAT_RETRIES / CHAT_RETRY_DELAY_MS: retries of a failed chat send, first delay (doubled each time). */
  chatRetries: number;
  chatRetryDelayMs: number;
  /** LOGIN_RATE_LIMIT login attempts per client address per LOGIN_RATE_WINDOW seconds (0: no limit). */
  loginRateLimit: number;
  loginRateWindow: number;
  /** TRUSTED_PROXIES: addresses/CIDRs whose X-Forwarded-For and X-Forwarded-Proto are believed. */
  trustedProxies: string;
  /** KITSU_DIST (or `serve --ui DIR`): a Kitsu build folder served at `/` (null: API only). */
  uiDir: string | null;
  /** BACKUP_DIR: where `serve` writes scheduled backups ("" : none). */
  backupDir: string;
  /** BACKUP_INTERVAL: hours between scheduled backups (default 24). */
  backupIntervalHours: number;
  /** BACKUP_KEEP: scheduled backups kept, the newest (default 7; 0 keeps all). */
  backupKeep: number;
  /** LOG_FORMAT: access log lines, `plain` (default), `json` or `off`. */
  logFormat: "plain" | "json" | "off";
  version: string;
}

export const VERSION = "0.1.0";
/** The Zou API version we answer as. */
export const ZOU_API_VERSION = "1.0.67";

/** A non-negative number from the environment, else `fallback`. */
function envNumber(value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === "") return fallback;
  const number = Number(value);
  return Number.isFinite(number) && number >= 0 ? number : fallback;
}

function envBool(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === "") return fallback;
  return ["1", "true", "yes", "on", "y", "t"].includes(value.toLowerCase());
}

/** SECRET_KEY, or a key generated once and kept next to the database so tokens survive restarts. */
function secretKey(env: Record<string, string | undefined>, secretFile: string): string {
  if (env.SECRET_KEY) return env.SECRET_KEY;
  if (existsSync(secretFile)) return readFileSync(secretFile, "utf8").trim();
  const key = randomBytes(32).toString("hex");
  writeFileSync(secretFile, key + "\n", { mode: 0o600 });
  return key;
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cwd = process.cwd();
  const smtpHost = env.MAIL_SERVER ?? "";
  return {
    databaseUrl: env.DATABASE_URL ?? "sqlite://./zou.db",
    secretKey: secretKey(env, resolve(cwd, env.SECRET_KEY_FILE ?? ".zou-secret")),
    previewFolder: resolve(cwd, env.PREVIEW_FOLDER ?? "./previews"),
    tmpFolder: resolve(cwd, env.TMP_DIR ?? "./tmp"),
    host: env.HOST ?? "0.0.0.0",
    port: Number(env.PORT ?? 8080),
    userLimit: Number(env.USER_LIMIT ?? 100),
    bcryptCost: Number(env.BCRYPT_LOG_ROUNDS ?? 12),
    minPasswordLength: Number(env.MIN_PASSWORD_LENGTH ?? 8),
    defaultLocale: env.DEFAULT_LOCALE ?? "en_US",
    defaultTimezone: env.DEFAULT_TIMEZONE ?? "Europe/Paris",
    authStrategy: env.AUTH_STRATEGY ?? "auth_local_classic",
    ldap: {
      host: env.LDAP_HOST || "127.0.0.1",
      port: Number(env.LDAP_PORT || 389),
      baseDn: env.LDAP_BASE_DN ?? "cn=Users,dc=zou,dc=local",
      group: env.LDAP_GROUP ?? "",
      domain: env.LDAP_DOMAIN ?? "zou.local",
      fallback: envBool(env.LDAP_FALLBACK, false),
      isAd: envBool(env.LDAP_IS_AD, false),
      isAdSimple: envBool(env.LDAP_IS_AD_SIMPLE, false),
      ssl: envBool(env.LDAP_SSL, false),
      sslVerify: envBool(env.LDAP_SSL_VERIFY, true),
      user: env.LDAP_USER ?? "",
      password: env.LDAP_PASSWORD ?? "password",
      emailDomain: env.EMAIL_DOMAIN || "studio.local",
      excludedAccounts: (env.LDAP_EXCLUDED_ACCOUNTS ?? "").split(",").map((s) => s.trim()).filter(Boolean),
      syncIntervalSeconds: envNumber(env.LDAP_SYNC_INTERVAL, 0),
      timeoutSeconds: envNumber(env.LDAP_TIMEOUT, 10),
    },
    smtp: smtpHost
      ? {
          host: smtpHost,
          port: Number(env.MAIL_PORT ?? 25),
          user: env.MAIL_USERNAME ?? "",
          password: env.MAIL_PASSWORD ?? "",
          from: env.MAIL_DEFAULT_SENDER ?? "no-reply@cg-wire.com",
          tls: envBool(env.MAIL_USE_TLS, false),
        }
      : null,
    domainName: env.DOMAIN_NAME ?? "localhost:8080",
    domainProtocol: env.DOMAIN_PROTOCOL ?? "https",
    saml: envBool(env.SAML_ENABLED, false)
      ? { idpName: env.SAML_IDP_NAME ?? "", metadataUrl: env.SAML_METADATA_URL ?? "", skip2fa: envBool(env.SAML_SKIP_2FA, false) }
      : null,
    oidc: envBool(env.OIDC_ENABLED, false)
      ? {
          idpName: env.OIDC_IDP_NAME ?? "",
          discoveryUrl: env.OIDC_DISCOVERY_URL ?? "",
          clientId: env.OIDC_CLIENT_ID ?? "",
          clientSecret: env.OIDC_CLIENT_SECRET ?? "",
          scopes: env.OIDC_SCOPES ?? "openid email profile",
          emailClaim: env.OIDC_EMAIL_CLAIM ?? "email",
          givenNameClaim: env.OIDC_GIVEN_NAME_CLAIM ?? "given_name",
          familyNameClaim: env.OIDC_FAMILY_NAME_CLAIM ?? "family_name",
          requireEmailVerified: envBool(env.OIDC_REQUIRE_EMAIL_VERIFIED, true),
          skip2fa: envBool(env.OIDC_SKIP_2FA, false),
        }
      : null,
    isSelfHosted: envBool(env.IS_SELF_HOSTED, true),
    crispToken: env.CRISP_TOKEN ?? "",
    sentryDsn: env.SENTRY_KITSU_DSN ?? "",
    removeFiles: envBool(env.REMOVE_FILES, false),
    protectedAccounts: (env.PROTECTED_ACCOUNTS ?? "").split(/[;,]/).map((s) => s.trim().toLowerCase()).filter(Boolean),
    enforce2fa: envBool(env.ENFORCE_2FA, false),
    twoFactorExemptUsers: (env["2FA_EXEMPT_USERS"] ?? "").split(/[;,]/).map((s) => s.trim().toLowerCase()).filter(Boolean),
    corsAllowedOrigins: (env.CORS_ALLOWED_ORIGINS ?? "").split(/[;,]/).map((s) => s.trim()).filter(Boolean),
    maxJsonBodySize: envNumber(env.MAX_JSON_BODY_SIZE, 8 * 1024 * 1024),
    eventRetentionDays: envNumber(env.EVENT_RETENTION_DAYS, 90),
    shutdownGraceSeconds: envNumber(env.SHUTDOWN_GRACE_SECONDS, 10),
    adminToken: env.ADMIN_TOKEN ?? "",
    slackApiUrl: env.SLACK_API_URL || "https://slack.com/api",
    discordApiUrl: env.DISCORD_API_URL || "https://discord.com/api/v10",
    chatSendTimeoutMs: envNumber(env.CHAT_SEND_TIMEOUT_MS, 10_000),
    chatRetries: envNumber(env.CHAT_RETRIES, 3),
    chatRetryDelayMs: envNumber(env.CHAT_RETRY_DELAY_MS, 2_000),
    loginRateLimit: envNumber(env.LOGIN_RATE_LIMIT, 20),
    loginRateWindow: envNumber(env.LOGIN_RATE_WINDOW, 60),
    trustedProxies: env.TRUSTED_PROXIES ?? "",
    uiDir: env.KITSU_DIST ? resolve(cwd, env.KITSU_DIST) : null,
    backupDir: env.BACKUP_DIR ? resolve(cwd, env.BACKUP_DIR) : "",
    backupIntervalHours: envNumber(env.BACKUP_INTERVAL, 24),
    backupKeep: envNumber(env.BACKUP_KEEP, 7),
    logFormat: env.LOG_FORMAT === "json" || env.LOG_FORMAT === "off" ? env.LOG_FORMAT : "plain",
    version: VERSION,
  };
}

/** Temporary folders of test configurations, removed when the test process exits. */
const testFolders: string[] = [];

/** A configuration for tests: in-memory database, temporary preview folder, fixed secret. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  const base = loadConfig({ SECRET_KEY: "test-secret-key-test-secret-key-0123456789", DATABASE_URL: "sqlite://:memory:", LOG_FORMAT: "off" });
  const folder = resolve(require("node:os").tmpdir(), `zou-bun-test-${process.pid}-${Math.random().toString(36).slice(2)}`);
  if (testFolders.length === 0) {
    process.once("exit", () => {
      for (const path of testFolders) require("node:fs").rmSync(path, { recursive: true, force: true });
    });
  }
  testFolders.push(folder);
  // No login rate limit unless a test asks for one: app.request() calls have no client address.
  return { ...base, bcryptCost: 4, loginRateLimit: 0, previewFolder: folder + "/previews", tmpFolder: folder + "/tmp", ...overrides };
}
