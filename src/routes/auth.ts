/**
 * Routes of the `auth` area (auth.md §2): login, logout, session checks, token refresh, password
 * change and reset, the TOTP / e-mail OTP / FIDO / recovery code management routes and OpenID
 * Connect and SAML single sign-on.
 */
import type { Hono } from "hono";
import * as v from "valibot";
import type { AppContext, AppEnv, PersonRow } from "../context";
import { transact } from "../db/transaction";
import { readLooseBody, validate } from "../lib/body";
import { ApiError, badRequest, badRequestPlain } from "../lib/errors";
import { utcNow } from "../lib/ids";
import { ACCESS_TOKEN_SECONDS, signToken, type TokenClaims } from "../lib/jwt";
import { sendMail } from "../lib/mail";
import { authenticate, currentPerson, issueTokenPair, requirePerson, revokeSession } from "../services/auth";
import {
  checkCredentials,
  checkResetToken,
  clearAuthCookies,
  createResetToken,
  deleteResetToken,
  findLoginPerson,
  isBrowserRequest,
  personByEmail,
  recordLoginFailure,
  recordLoginLog,
  requiresTwoFactorSetup,
  resetLoginFailures,
  resetPasswordLink,
  setAccessCookie,
  setAuthCookies,
} from "../services/login";
import { departmentIdsOf, fidoDeviceNames, getOrCreateOrganisation, personIsAdmin, presentOrganisation, presentPerson } from "../services/persons";
import {
  checkTwoFactorProof,
  escapeHtml,
  hasTwoFactor,
  missingOtpBody,
  newOtpSecret,
  sendEmailOtp,
  totpProvisioningUri,
  verifyEmailOtp,
  verifyTotp,
  type TwoFactorMethod,
} from "../services/two-factor";
import { finishOidcLogin, startOidcLogin } from "../services/oidc";
import { finishSamlLogin, requireSaml, startSamlLogin } from "../services/saml";
import { authenticationOptions, registrationOptions, verifyRegistration, withoutDevice } from "../services/fido";
import {
  disableTwoFactorMethod,
  enableTwoFactorMethod,
  replaceRecoveryCodes,
  storeFidoCredentials,
  storeOtpSecret,
  storePassword,
} from "../services/person-updates";
import { describeError } from "../lib/log";

const required = (field: string) => v.pipe(v.string(`${field} must be a string.`), v.minLength(1, `${field} is required.`));
/** An optional code: strings, or numbers sent by JSON clients. */
const optionalCode = v.optional(v.nullable(v.pipe(v.union([v.string(), v.number()], "Must be a string."), v.transform(String))));

const proofEntries = {
  totp: optionalCode,
  email_otp: optionalCode,
  fido_authentication_response: v.optional(v.unknown()),
  recovery_code: optionalCode,
};

const LoginBody = v.object({
  email: v.pipe(v.string("Field required"), v.minLength(1, "String should have at least 1 character")),
  password: v.optional(v.string("Input should be a valid string"), "default"),
  ...proofEntries,
});
const ChangePasswordBody = v.object({
  old_password: required("old_password"),
  password: required("password"),
  password_2: required("password_2"),
});
const ResetRequestBody = v.object({ email: required("email") });
const ResetBody = v.object({
  email: required("email"),
  token: required("token"),
  password: required("password"),
  password2: required("password2"),
});
const ProofBody = v.object(proofEntries);
const FidoRegisterBody = v.object({
  registration_response: v.record(v.string(), v.unknown(), "registration_response must be an object."),
  device_name: required("device_name"),
});
const FidoDeleteBody = v.object({ device_name: required("device_name") });
const TotpBody = v.object({ totp: v.pipe(v.union([v.string(), v.number()], "totp must be a string."), v.transform(String)) });
const EmailOtpBody = v.object({ email_otp: v.pipe(v.union([v.string(), v.number()], "email_otp must be a string."), v.transform(String)) });

const GENERIC_LOGIN_ERROR = "A server error occurred. Please contact your administrator.";

/** Errors of a database that cannot be reached (closed, missing file, refused connection). */
function isDatabaseUnreachable(error: unknown): boolean {
  const text = `${(error as { name?: string })?.name ?? ""} ${(error as { code?: string })?.code ?? ""} ${(error as Error)?.message ?? ""}`;
  return /destroyed|SQLITE_(CANTOPEN|BUSY|LOCKED|IOERR|NOTADB)|database is locked|ECONNREFUSED|Connection terminated|closed database/i.test(text);
}

/** 400 with Zou's password rule messages (length first, then confirmation). */
function checkNewPassword(c: AppContext, password: string, confirmation: string): void {
  if (password.length < c.get("config").minPasswordLength) throw badRequestPlain("Password is too short.");
  if (password !== confirmation) throw badRequestPlain("Confirmation password doesn't match.");
}

async function sessionBody(c: AppContext, person: PersonRow): Promise<{ user: Record<string, unknown>; organisation: Record<string, unknown> }> {
  const db = c.get("db");
  const user = presentPerson(c, person, "full", await departmentIdsOf(db, person.id));
  const organisation = presentOrganisation(await getOrCreateOrganisation(db), { admin: personIsAdmin(person) });
  return { user, organisation };
}

async function mailQuietly(c: AppContext, message: Parameters<typeof sendMail>[1]): Promise<void> {
  try {
    await sendMail(c.get("config"), message);
  } catch (error) {
    console.error(`sending "${message.subject}" failed: ${describeError(error)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// 2FA helpers

/**
 * Turns a method on and answers Zou's "registration response": recovery codes when the person had
 * none, and a fresh unrestricted token pair (cookies for browsers).
 */
async function enableMethod(c: AppContext, person: PersonRow, method: TwoFactorMethod, extra: Record<string, unknown> = {}): Promise<Response> {
  const recoveryCodes = await enableTwoFactorMethod(c, person, method, extra);
  const tokens = await issueTokenPair(c, person.id);
  if (isBrowserRequest(c)) setAuthCookies(c, tokens);
  return c.json({ otp_recovery_codes: recoveryCodes, ...tokens });
}

async function requireProof(c: AppContext, person: PersonRow, body?: Record<string, unknown>): Promise<void> {
  const proof = validate(ProofBody, body ?? (await readLooseBody(c)));
  const result = await checkTwoFactorProof(c.get("db"), c.get("config"), person, proof);
  if (result !== "ok") throw new ApiError(400, { error: true, message: "OTP verification failed.", wrong_OTP: true });
}

// ---------------------------------------------------------------------------------------------

const SamlSsoBody = v.object({ SAMLResponse: required("SAMLResponse") });

/**
 * The end of a single sign-on (OIDC callback, SAML assertion consumer): an active person gets a
 * token pair as cookies (restricted under ENFORCE_2FA unless the provider's SKIP_2FA setting) and
 * a "web" login log; everyone is sent back to the web UI.
 */
async function ssoSignIn(c: AppContext, person: Record<string, any>, skip2fa: boolean): Promise<Response> {
  const config = c.get("config");
  if (person.active) {
    const restricted = !skip2fa && requiresTwoFactorSetup(config, person);
    const tokens = await issueTokenPair(c, person.id, restricted ? { requires_2fa_setup: true } : {});
    setAuthCookies(c, tokens);
    await transact(c, () => recordLoginLog(c, person.id, "web"));
  }
  return c.redirect(`${config.domainProtocol}://${config.domainName}`, 302);
}

export function registerAuth(app: Hono<AppEnv>): void {
  app.post("/auth/login", async (c) => {
    const body = validate(LoginBody, await readLooseBody(c));
    const config = c.get("config");
    const db = c.get("db");
    try {
      const check = await checkCredentials(c, body.email, body.password);
      if (!check.ok) {
        switch (check.reason) {
          case "too_many_failures":
            return c.json({ error: true, login: false, too_many_failed_login_attemps: true }, 400);
          case "inactive":
            return c.json({ error: true, login: false, unactive: true, message: "User is unactive, he cannot log in." }, 401);
          case "unknown_strategy":
            return c.json({ login: false }, 409);
          default:
            return c.json({ login: false }, 400);
        }
      }
      const person = check.person;
      if (hasTwoFactor(person)) {
        const proof = await checkTwoFactorProof(db, config, person, body);
        if (proof === "missing") return c.json(missingOtpBody(person), 400);
        if (proof === "wrong") {
          await recordLoginFailure(db, person);
          return c.json({ error: true, login: false, wrong_OTP: true }, 400);
        }
      }
      await resetLoginFailures(db, person);
      if (body.password === "default" && config.authStrategy !== "auth_local_no_password") {
        const token = await createResetToken(db, person.email ?? body.email.trim().toLowerCase());
        return c.json({ login: false, default_password: true, token }, 400);
      }
      const restricted = requiresTwoFactorSetup(config, person);
      const tokens = await issueTokenPair(c, person.id, restricted ? { requires_2fa_setup: true } : {});
      const browser = isBrowserRequest(c);
      await transact(c, () => recordLoginLog(c, person.id, browser ? "web" : "script"));
      const answer: Record<string, unknown> = { ...(await sessionBody(c, person)), login: true, ...tokens };
      if (restricted) answer.two_factor_authentication_required = true;
      if (browser) setAuthCookies(c, tokens);
      return c.json(answer);
    } catch (error) {
      if (error instanceof ApiError) throw error;
      console.error(`login failed: ${describeError(error)}`);
      const message = isDatabaseUnreachable(error) ? "Database doesn't seem reachable." : GENERIC_LOGIN_ERROR;
      return c.json({ error: true, login: false, message }, 500);
    }
  });

  app.get("/auth/logout", async (c) => {
    requirePerson(c);
    try {
      await revokeSession(c, c.get("claims") as TokenClaims);
    } catch (error) {
      console.error(`storing the revoked tokens failed: ${describeError(error)}`);
    }
    if (isBrowserRequest(c)) clearAuthCookies(c);
    return c.json({ logout: true });
  });

  app.get("/auth/authenticated", async (c) => {
    const person = c.get("user");
    const { user, organisation } = await sessionBody(c, person);
    user.fido_devices = fidoDeviceNames(person);
    return c.json({ authenticated: true, user, organisation });
  });

  app.get("/auth/refresh-token", async (c) => {
    const person = await authenticate(c, "refresh");
    requirePerson(c);
    const claims = c.get("claims") as TokenClaims;
    const extra: Record<string, unknown> = { refresh_jti: claims.jti };
    if (requiresTwoFactorSetup(c.get("config"), person)) extra.requires_2fa_setup = true;
    const { token } = await signToken(c.get("config").secretKey, person.id, {
      type: "access",
      identityType: "person",
      lifetime: ACCESS_TOKEN_SECONDS,
      extra,
    });
    if (isBrowserRequest(c)) {
      setAccessCookie(c, token);
      return c.json({ refresh: true });
    }
    return c.json({ access_token: token });
  });

  app.post("/auth/change-password", async (c) => {
    requirePerson(c);
    const body = validate(ChangePasswordBody, await readLooseBody(c));
    const person = await currentPerson(c);
    const check = await checkCredentials(c, "", body.old_password, person);
    if (!check.ok) {
      switch (check.reason) {
        case "too_many_failures":
          throw new ApiError(400, { error: true, message: "Too many failed login attempts.", too_many_failed_login_attemps: true });
        case "inactive":
          throw badRequestPlain("User is unactive.");
        case "unknown_strategy":
          return c.json({ error: true, message: "Unknown authentication strategy." }, 409);
        default:
          throw badRequestPlain("Old password is wrong.");
      }
    }
    checkNewPassword(c, body.password, body.password_2);
    await storePassword(c, person.id, body.password);
    if (person.email) {
      const when = `${utcNow().replace("T", " ")} UTC`;
      const from = c.req.header("x-forwarded-for") ?? c.req.header("x-real-ip") ?? "an unknown address";
      await mailQuietly(c, {
        to: person.email,
        subject: "Kitsu: your password was changed",
        text: `Hello ${person.first_name},\n\nYour Kitsu password was changed on ${when} from ${from}.\nIf you did not do it, contact your studio administrator.\n`,
        html: `<p>Hello ${escapeHtml(person.first_name)},</p><p>Your Kitsu password was changed on ${when} from ${escapeHtml(from)}.</p><p>If you did not do it, contact your studio administrator.</p>`,
      });
    }
    return c.json({ success: true });
  });

  app.post("/auth/reset-password", async (c) => {
    const body = validate(ResetRequestBody, await readLooseBody(c));
    const db = c.get("db");
    const email = body.email.trim().toLowerCase();
    const person = await personByEmail(db, email);
    if (person && person.active && person.email) {
      const token = await createResetToken(db, person.email);
      const link = resetPasswordLink(c.get("config"), person.email, token);
      await mailQuietly(c, {
        to: person.email,
        subject: "Kitsu: password recovery",
        text: `Hello ${person.first_name},\n\nTo choose a new Kitsu password, open this link within 2 hours:\n${link}\n\nIf you did not ask for it, ignore this e-mail.\n`,
        html: `<p>Hello ${escapeHtml(person.first_name)},</p><p>To choose a new Kitsu password, open <a href="${escapeHtml(link)}">this link</a> within 2 hours.</p><p>If you did not ask for it, ignore this e-mail.</p>`,
      });
    }
    return c.json({ success: "Reset token sent" });
  });

  app.put("/auth/reset-password", async (c) => {
    const body = validate(ResetBody, await readLooseBody(c));
    const db = c.get("db");
    const email = body.email.trim().toLowerCase();
    if (!(await checkResetToken(db, email, body.token))) throw badRequestPlain("Wrong or expired token.");
    checkNewPassword(c, body.password, body.password2);
    const person = await personByEmail(db, email);
    if (!person) throw badRequestPlain("Wrong or expired token.");
    await storePassword(c, person.id, body.password);
    await deleteResetToken(db, email);
    return c.json({ success: true });
  });

  // --- TOTP -----------------------------------------------------------------------------------
  app.put("/auth/totp", async (c) => {
    const person = await currentPerson(c);
    if (person.totp_enabled) throw badRequestPlain("TOTP already enabled.");
    const secret = newOtpSecret();
    await storeOtpSecret(c, person.id, "totp_secret", secret);
    const organisation = await getOrCreateOrganisation(c.get("db"));
    const account = person.email ?? person.desktop_login ?? person.id;
    return c.json({ totp_provisionning_uri: totpProvisioningUri(secret, account, organisation.name), otp_secret: secret });
  });

  app.post("/auth/totp", async (c) => {
    const person = await currentPerson(c);
    const body = validate(TotpBody, await readLooseBody(c));
    if (person.totp_enabled) throw badRequestPlain("TOTP already enabled.");
    if (!verifyTotp(person.totp_secret, body.totp)) {
      throw new ApiError(400, { error: true, message: "TOTP verification failed.", wrong_OTP: true });
    }
    return enableMethod(c, person, "totp");
  });

  app.delete("/auth/totp", async (c) => {
    const person = await currentPerson(c);
    if (!person.totp_enabled) throw badRequestPlain("TOTP not enabled.");
    await requireProof(c, person);
    await disableTwoFactorMethod(c, person, "totp", "totp_secret");
    return c.json({ success: true });
  });

  // --- E-mail OTP -----------------------------------------------------------------------------
  app.get("/auth/email-otp", async (c) => {
    const identifier = c.req.query("email");
    if (!identifier) throw badRequest("Missing required parameter: email");
    const person = await findLoginPerson(c.get("db"), identifier);
    if (person && person.active && person.email_otp_enabled) await sendEmailOtp(c, person);
    return c.json({ success: true });
  });

  app.put("/auth/email-otp", async (c) => {
    const person = await currentPerson(c);
    if (person.email_otp_enabled) throw badRequestPlain("OTP by email already enabled.");
    if (!person.email) throw badRequestPlain("An email address is needed to receive codes.");
    const secret = newOtpSecret();
    await storeOtpSecret(c, person.id, "email_otp_secret", secret);
    await sendEmailOtp(c, { ...person, email_otp_secret: secret });
    return c.json({ success: true });
  });

  app.post("/auth/email-otp", async (c) => {
    const person = await currentPerson(c);
    const body = validate(EmailOtpBody, await readLooseBody(c));
    if (person.email_otp_enabled) throw badRequestPlain("OTP by email already enabled.");
    if (!(await verifyEmailOtp(c.get("db"), person, body.email_otp))) {
      throw new ApiError(400, { error: true, message: "OTP by email verification failed.", wrong_OTP: true });
    }
    return enableMethod(c, person, "email_otp");
  });

  app.delete("/auth/email-otp", async (c) => {
    const person = await currentPerson(c);
    if (!person.email_otp_enabled) throw badRequestPlain("OTP by email not enabled.");
    await requireProof(c, person);
    await disableTwoFactorMethod(c, person, "email_otp", "email_otp_secret");
    return c.json({ success: true });
  });

  // --- FIDO / WebAuthn ------------------------------------------------------------------------
  app.get("/auth/fido", async (c) => {
    const identifier = c.req.query("email");
    if (!identifier) throw badRequest("Missing required parameter: email");
    const person = await findLoginPerson(c.get("db"), identifier);
    if (!person || !person.active || !person.fido_enabled) throw badRequestPlain("FIDO not enabled.");
    return c.json(await authenticationOptions(c.get("db"), c.get("config"), person));
  });

  app.put("/auth/fido", async (c) => {
    const person = await currentPerson(c);
    return c.json(await registrationOptions(c.get("db"), c.get("config"), person));
  });

  app.post("/auth/fido", async (c) => {
    const person = await currentPerson(c);
    const body = validate(FidoRegisterBody, await readLooseBody(c));
    const credentials = await verifyRegistration(c.get("db"), c.get("config"), person, body.registration_response, body.device_name);
    return enableMethod(c, person, "fido", { fido_credentials: JSON.stringify(credentials) });
  });

  app.delete("/auth/fido", async (c) => {
    const person = await currentPerson(c);
    const raw = await readLooseBody(c);
    const body = validate(FidoDeleteBody, raw);
    if (!person.fido_enabled) throw badRequestPlain("FIDO not enabled.");
    await requireProof(c, person, raw);
    await storeFidoCredentials(c, person, withoutDevice(person, body.device_name));
    return c.json({ success: true });
  });

  // --- OpenID Connect single sign-on ------------------------------------------------------------
  app.get("/auth/oidc/login", async (c) => {
    return c.redirect(await startOidcLogin(c.get("db"), c.get("config")), 302);
  });

  app.get("/auth/oidc/callback", async (c) => {
    const person = await finishOidcLogin(c, new URL(c.req.url).searchParams);
    return ssoSignIn(c, person, Boolean(c.get("config").oidc?.skip2fa));
  });

  // --- SAML single sign-on --------------------------------------------------------------------
  app.get("/auth/saml/login", async (c) => {
    return c.redirect(await startSamlLogin(c.get("config")), 302);
  });

  app.post("/auth/saml/sso", async (c) => {
    requireSaml(c.get("config"));
    const body = validate(SamlSsoBody, await readLooseBody(c));
    const person = await finishSamlLogin(c, body.SAMLResponse);
    return ssoSignIn(c, person, Boolean(c.get("config").saml?.skip2fa));
  });

  // --- Recovery codes -------------------------------------------------------------------------
  app.put("/auth/recovery-codes", async (c) => {
    const person = await currentPerson(c);
    if (!hasTwoFactor(person)) throw badRequestPlain("No two factor authentication enabled.");
    await requireProof(c, person);
    return c.json({ otp_recovery_codes: await replaceRecoveryCodes(c, person.id) });
  });
}
