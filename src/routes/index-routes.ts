/** Routes of the `index` area: API name and version, public configuration, health and stats. */
import type { Hono } from "hono";
import type { AppEnv } from "../context";
import { ZOU_API_VERSION } from "../config";

export function registerIndex(app: Hono<AppEnv>): void {
  app.get("/", (c) => c.json({ api: "Zou", version: ZOU_API_VERSION }));

  app.get("/config", (c) => {
    const config = c.get("config");
    const body: Record<string, unknown> = {
      is_self_hosted: config.isSelfHosted,
      crisp_token: config.crispToken,
      dark_theme_by_default: false,
      indexer_configured: false,
      saml_enabled: false,
      saml_idp_name: "",
      oidc_enabled: false,
      oidc_idp_name: "",
      enforce_2fa: false,
      default_locale: config.defaultLocale,
      default_timezone: config.defaultTimezone,
    };
    if (config.sentryDsn) body.sentry = { dsn: config.sentryDsn, sampleRate: 0.1 };
    return c.json(body);
  });
}
