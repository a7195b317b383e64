/** Outgoing e-mail through the SMTP settings (MAIL_* variables), with nodemailer. */
import type { Config } from "../config";
import { badRequest } from "./errors";

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

/** True when SMTP is configured (MAIL_SERVER set). */
export function mailConfigured(config: Config): boolean {
  return config.smtp !== null;
}

/** Throws a clear 400 when a route needs mail and no SMTP server is configured. */
export function requireMail(config: Config): void {
  if (!config.smtp) {
    throw badRequest("No mail server is configured: set MAIL_SERVER (and MAIL_PORT, MAIL_USERNAME, MAIL_PASSWORD) to send e-mails.");
  }
}

/** Messages sent while no SMTP server is configured are kept here (tests read them). */
export const outbox: MailMessage[] = [];

export async function sendMail(config: Config, message: MailMessage): Promise<void> {
  if (!config.smtp) {
    outbox.push(message);
    return;
  }
  // Loaded on first use: nodemailer weighs on the start-up and most servers never send mail.
  const { default: nodemailer } = await import("nodemailer");
  const transport = nodemailer.createTransport({
    host: config.smtp.host,
    port: config.smtp.port,
    secure: config.smtp.tls && config.smtp.port === 465,
    auth: config.smtp.user ? { user: config.smtp.user, pass: config.smtp.password } : undefined,
  });
  await transport.sendMail({ from: config.smtp.from, ...message });
}
