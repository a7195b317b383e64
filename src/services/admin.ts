/**
 * `GET /admin/config/check`: for each setting Zou keeps in its key-value store (user limit,
 * default timezone and locale, Nomad host), the value of the environment now (`env`) beside the
 * value the running server holds (`redis`, a string as a key-value store keeps it; null when
 * the server holds none), plus the number of active human accounts.
 * Here settings are read once at start-up, so a difference means the environment changed since.
 */
import type { AppContext } from "../context";

const DEFAULT_NOMAD_HOST = "zou-nomad-01.zou";

type Comparison = { env: unknown; redis: string | null };

export async function configCheck(c: AppContext, env: Record<string, string | undefined> = process.env): Promise<Record<string, unknown>> {
  const config = c.get("config");
  const envLimit = Number(env.USER_LIMIT ?? 100);
  const result: Record<string, Comparison | number | null> = {
    user_limit: { env: Number.isFinite(envLimit) ? envLimit : env.USER_LIMIT, redis: String(config.userLimit) },
    default_timezone: { env: env.DEFAULT_TIMEZONE ?? "Europe/Paris", redis: config.defaultTimezone },
    default_locale: { env: env.DEFAULT_LOCALE ?? "en_US", redis: config.defaultLocale },
    // No Nomad job queue runs beside this server: nothing is held for it.
    nomad_host: { env: env.JOB_QUEUE_NOMAD_HOST ?? DEFAULT_NOMAD_HOST, redis: null },
  };
  try {
    const row = await c
      .get("db")
      .selectFrom("person")
      .select((eb) => eb.fn.countAll<number>().as("total"))
      .where("active", "=", true)
      .where("is_bot", "=", false)
      .executeTakeFirst();
    result.active_users = Number(row?.total ?? 0);
  } catch {
    result.active_users = null;
  }
  return result;
}
