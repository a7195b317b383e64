/** Routes of the `index` area: API name and version, public configuration, health and stats. */
import { cpus, freemem, loadavg, totalmem } from "node:os";
import type { Hono } from "hono";
import type { AppEnv } from "../context";
import { ZOU_API_VERSION } from "../config";
import { emitEvent } from "../lib/events";
import { checkAdmin } from "../services/permissions";
import { enforce2fa } from "../services/login";
import { searchIndexAvailable } from "../db/search-index";
import { storageStatus } from "../services/backup";
import { darkThemeByDefault, health, mainStats } from "../services/status";
import { sharedJobQueue } from "../lib/job-queue";

const API_NAME = "Zou";

/** Local time as Python's `datetime.now().isoformat()` (microseconds). */
function localIsoNow(): string {
  const now = new Date();
  const local = new Date(now.getTime() - now.getTimezoneOffset() * 60_000);
  return `${local.toISOString().slice(0, 23)}000`;
}

type CpuTimes = { idle: number; total: number }[];
function cpuTimes(): CpuTimes {
  return cpus().map((cpu) => {
    const t = cpu.times;
    return { idle: t.idle, total: t.user + t.nice + t.sys + t.idle + t.irq };
  });
}

/** Per-CPU usage percentages over a short sampling window. */
async function cpuPercents(windowMs = 200): Promise<number[]> {
  const before = cpuTimes();
  await Bun.sleep(windowMs);
  const after = cpuTimes();
  return after.map((cpu, i) => {
    const total = cpu.total - (before[i]?.total ?? 0);
    const idle = cpu.idle - (before[i]?.idle ?? 0);
    return total > 0 ? Math.round(((total - idle) / total) * 1000) / 10 : 0;
  });
}

export function registerIndex(app: Hono<AppEnv>): void {
  app.get("/", (c) => c.json({ api: API_NAME, version: ZOU_API_VERSION }));

  app.get("/config", async (c) => {
    const config = c.get("config");
    const body: Record<string, unknown> = {
      is_self_hosted: config.isSelfHosted,
      crisp_token: config.crispToken,
      dark_theme_by_default: await darkThemeByDefault(c.get("db")),
      indexer_configured: searchIndexAvailable(c.get("db")),
      saml_enabled: config.saml !== null,
      saml_idp_name: config.saml?.idpName ?? "",
      oidc_enabled: config.oidc !== null,
      oidc_idp_name: config.oidc?.idpName ?? "",
      enforce_2fa: enforce2fa(config),
      default_locale: config.defaultLocale,
      default_timezone: config.defaultTimezone,
    };
    if (config.sentryDsn) body.sentry = { dsn: config.sentryDsn, sampleRate: 0.1 };
    return c.json(body);
  });

  app.get("/status", async (c) => {
    const status = await health(c);
    return c.json({
      name: API_NAME,
      version: ZOU_API_VERSION,
      "database-up": status.database,
      "key-value-store-up": status.keyValueStore,
      "event-stream-up": status.eventStream,
      "event-stream-connections": status.connections,
      "job-queue-up": status.jobQueue,
      "indexer-up": status.indexer,
      // zou-bun's own keys: database size, stored files, job queue.
      ...(await storageStatus(c.get("config"))),
      "job-queue-running": sharedJobQueue().active,
      "job-queue-waiting": sharedJobQueue().pending,
    });
  });

  app.get("/status/influx", async (c) => {
    const status = await health(c);
    return c.json({
      "database-up": Number(status.database),
      "key-value-store-up": Number(status.keyValueStore),
      "event-stream-up": Number(status.eventStream),
      "job-queue-up": Number(status.jobQueue),
      "indexer-up": Number(status.indexer),
      time: Date.now() / 1000,
    });
  });

  app.get("/status.txt", async (c) => {
    const status = await health(c);
    const word = (up: boolean) => (up ? "up" : "down");
    const text = [
      `name: ${API_NAME}`,
      `version: ${ZOU_API_VERSION}`,
      `database-up: ${word(status.database)}`,
      `event-stream-up: ${word(status.eventStream)}`,
      `key-value-store-up: ${word(status.keyValueStore)}`,
      `job-queue-up: ${word(status.jobQueue)}`,
      `indexer-up: ${word(status.indexer)}`,
      "",
    ].join("\n");
    // Zou's content type is the bare word `text`.
    return c.body(text, 200, { "Content-Type": "text" });
  });

  app.get("/status/resources", async (c) => {
    const [one, five, fifteen] = loadavg();
    const total = totalmem();
    const available = freemem();
    return c.json({
      date: localIsoNow(),
      cpu: {
        percent: await cpuPercents(),
        loadavg: { "last 1 min": one, "last 5 min": five, "last 10 min": fifteen },
      },
      memory: {
        total,
        used: total - available,
        available,
        percent: Math.round(((total - available) / total) * 1000) / 10,
      },
      jobs: { running_jobs: 0 },
    });
  });

  app.get("/status/test-event", async (c) => {
    await emitEvent(c.get("db"), c.get("events"), "main:test", {}, { persist: false });
    return c.json({ success: true });
  });

  app.get("/stats", async (c) => {
    checkAdmin(c);
    return c.json(await mainStats(c.get("db")));
  });
}
