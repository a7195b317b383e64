/**
 * Routes of the `persons` area of routes.tsv: desktop login logs, admin tools (invitation, reset
 * link, password change, 2FA reset, avatar clearing) and department membership. The timesheet,
 * day-off, quota and presence routes of this area live in routes/time-spents.ts.
 */
import type { Hono } from "hono";
import * as v from "valibot";
import type { AppContext, AppEnv } from "../context";
import { readLooseBody, validate } from "../lib/body";
import { ApiError, badRequest, forbidden } from "../lib/errors";
import { isUuid, normalizeId, serviceId, utcNow } from "../lib/ids";
import { mailConfigured, requireMail, sendMail } from "../lib/mail";
import { escapeHtml } from "../services/two-factor";
import { addPersonToDepartment, existingDepartmentId, removePersonFromDepartment } from "../services/departments";
import { createResetToken, INVITATION_TOKEN_SECONDS, resetPasswordLink, storedResetToken } from "../services/login";
import { checkAdmin, isAdmin, isManagerGlobally } from "../services/permissions";
import { departmentIdsOf, getOrCreateOrganisation, isProtectedAccount, presentPerson } from "../services/persons";
import { clearAvatar, resetTwoFactor, storePassword } from "../services/person-updates";
import { checkPersonIsNotBot, createDesktopLoginLog, desktopLoginLogs, loadPerson } from "../services/time-spents";

type Row = Record<string, any>;

const PasswordBody = v.object({
  password: v.pipe(v.string("New password is missing."), v.nonEmpty("New password is missing.")),
  password_2: v.pipe(v.string("New password confirmation is missing."), v.nonEmpty("New password confirmation is missing.")),
});

const DepartmentBody = v.object({
  department_id: v.pipe(v.string("department_id is required."), v.check((value) => isUuid(value), "department_id is not a valid id.")),
});

/** `check_password_change_allowed`: no change on protected accounts, inactive persons or another admin's account. */
function checkPasswordChangeAllowed(c: AppContext, person: Row): void {
  if (isProtectedAccount(c.get("config"), person.email)) {
    throw badRequest("Can't change the password of this person it's a protected account.");
  }
  if (!person.active) throw new ApiError(400, { error: true, message: "User is unactive." });
  if (person.role === "admin" && person.id !== c.get("user").id && person.password) {
    throw new ApiError(400, { error: true, message: "An admin can't change the password of another admin." });
  }
}

/** Sends a notice mail when SMTP is configured; a failure is logged, never fatal. */
async function notifyByMail(c: AppContext, to: string | null, subject: string, text: string): Promise<void> {
  if (!to || !mailConfigured(c.get("config"))) return;
  try {
    await sendMail(c.get("config"), { to, subject, text, html: `<p>${escapeHtml(text).replace(/\n/g, "<br>")}</p>` });
  } catch (error) {
    console.error(`mail to ${to} failed:`, error);
  }
}

function requestIp(c: AppContext): string {
  return (c.req.header("x-forwarded-for") ?? "").split(",")[0]!.trim();
}

export function registerPersons(app: Hono<AppEnv>): void {
  app.get("/data/persons/:person_id/desktop-login-logs", async (c) => {
    const user = c.get("user");
    const personId = serviceId(c.req.param("person_id"));
    if (user.id !== personId && !isManagerGlobally(user)) throw forbidden();
    const person = await loadPerson(c, personId);
    return c.json(await desktopLoginLogs(c.get("db"), person.id));
  });

  app.post("/data/persons/:person_id/desktop-login-logs", async (c) => {
    const body = await readLooseBody(c);
    const user = c.get("user");
    const personId = serviceId(c.req.param("person_id"));
    if (user.id !== personId && !isAdmin(user)) throw forbidden();
    const person = await loadPerson(c, personId);
    return c.json(await createDesktopLoginLog(c, person.id, body.date), 201);
  });

  app.get("/actions/persons/:person_id/invite", async (c) => {
    const person = await checkPersonIsNotBot(c, c.req.param("person_id"));
    checkAdmin(c);
    const config = c.get("config");
    requireMail(config);
    if (!person.email) throw badRequest("This person has no e-mail address.");
    const token = await createResetToken(c.get("db"), person.email, INVITATION_TOKEN_SECONDS);
    const link = resetPasswordLink(config, person.email, token, true);
    const organisation = await getOrCreateOrganisation(c.get("db"));
    const text = [
      `Hello ${person.first_name},`,
      "",
      `You are invited by ${organisation.name} to collaborate on their Kitsu production tracker.`,
      `Your login is: ${person.email}`,
      `You are invited to set your password by following this link: ${link}`,
      "",
      `Thank you and see you soon on Kitsu,`,
      `${organisation.name} Team`,
    ].join("\n");
    try {
      await sendMail(config, { to: person.email, subject: `You are invited by ${organisation.name} to join their Kitsu production tracker`, text, html: `<p>${escapeHtml(text).replace(/\n/g, "<br>")}</p>` });
    } catch (error) {
      throw badRequest(`The invitation e-mail could not be sent: ${error instanceof Error ? error.message : String(error)}`);
    }
    return c.json({ success: true, message: "Email sent" });
  });

  app.post("/actions/persons/:person_id/reset-password-link", async (c) => {
    const person = await checkPersonIsNotBot(c, c.req.param("person_id"));
    checkAdmin(c);
    checkPasswordChangeAllowed(c, person);
    if (!person.email) throw badRequest("This person has no e-mail address.");
    const db = c.get("db");
    const token = (await storedResetToken(db, person.email)) ?? (await createResetToken(db, person.email));
    return c.json({ reset_password_link: resetPasswordLink(c.get("config"), person.email, token) });
  });

  app.post("/actions/persons/:person_id/change-password", async (c) => {
    const person = await checkPersonIsNotBot(c, c.req.param("person_id"));
    checkAdmin(c);
    const { password, password_2 } = validate(PasswordBody, await readLooseBody(c));
    checkPasswordChangeAllowed(c, person);
    if (password.length < c.get("config").minPasswordLength) throw new ApiError(400, { error: true, message: "Password is too short." });
    if (password !== password_2) throw new ApiError(400, { error: true, message: "Confirmation password doesn't match." });
    await storePassword(c, person.id, password, { emitUpdate: true });
    const organisation = await getOrCreateOrganisation(c.get("db"));
    await notifyByMail(
      c,
      person.email,
      `${organisation.name} - Kitsu: password changed`,
      `Hello ${person.first_name},\n\nYour password was changed by an administrator at ${utcNow()} (UTC).\nThe IP of the user who changed your password is: ${requestIp(c)}.\nIf you don't know the person who changed the password, please contact our support team.\n\n${organisation.name} Team`,
    );
    return c.json({ success: true });
  });

  app.delete("/actions/persons/:person_id/disable-two-factor-authentication", async (c) => {
    const person = await checkPersonIsNotBot(c, c.req.param("person_id"));
    checkAdmin(c);
    if (person.role === "admin" && person.id !== c.get("user").id) {
      throw new ApiError(400, { error: true, message: "An admin can't disable 2FA for other admins." });
    }
    if (!person.active) throw new ApiError(400, { error: true, message: "User is unactive." });
    if (!person.totp_enabled && !person.email_otp_enabled && !person.fido_enabled) {
      throw new ApiError(400, { error: true, message: "Two factor authentication not enabled for this user." });
    }
    await resetTwoFactor(c, person.id);
    const organisation = await getOrCreateOrganisation(c.get("db"));
    await notifyByMail(
      c,
      person.email,
      `${organisation.name} - Kitsu: two factor authentication disabled`,
      `Hello ${person.first_name},\n\nYour two factor authentication was disabled by an administrator at ${utcNow()} (UTC).\nThe IP of the user who disabled it is: ${requestIp(c)}.\nIf you don't know the person who did it, please contact our support team.\n\n${organisation.name} Team`,
    );
    return c.json({ success: true });
  });

  app.delete("/actions/persons/:person_id/clear-avatar", async (c) => {
    checkAdmin(c);
    const person = await loadPerson(c, c.req.param("person_id"));
    await clearAvatar(c, person.id);
    return c.body(null, 204);
  });

  app.post("/actions/persons/:person_id/departments/add", async (c) => {
    checkAdmin(c);
    const { department_id } = validate(DepartmentBody, await readLooseBody(c));
    const departmentId = await existingDepartmentId(c.get("db"), normalizeId(department_id));
    if (!departmentId) throw badRequest("Department ID matches no department");
    const person = await loadPerson(c, c.req.param("person_id"));
    await addPersonToDepartment(c, person.id, departmentId);
    return c.json(presentPerson(c, person, "full", await departmentIdsOf(c.get("db"), person.id)), 201);
  });

  app.delete("/actions/persons/:person_id/departments/:department_id", async (c) => {
    checkAdmin(c);
    const rawDepartment = c.req.param("department_id");
    const departmentId = isUuid(rawDepartment) ? await existingDepartmentId(c.get("db"), normalizeId(rawDepartment)) : undefined;
    if (!departmentId) throw badRequest("Department ID matches no department");
    const person = await loadPerson(c, c.req.param("person_id"));
    await removePersonFromDepartment(c, person.id, departmentId);
    return c.body(null, 204);
  });
}

/** Kept for routes/user.ts, which clears the caller's own avatar. */
