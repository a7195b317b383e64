/** Routes of the `index` area: API name and version, public configuration, health and stats. */
import { cpus, freemem, loadavg, totalmem } from "node:os";
import type { Hono } from "hono";
import { sql } from "kysely";
import type { AppContext, AppEnv } from "../context";
import type { Db } from "../db/database";
import { ZOU_API_VERSION } from "../config";
import { RESERVED_ENTITY_TYPES } from "../lib/entity-kinds";
import { streamOf } from "../lib/broadcast";
import { emitEvent } from "../lib/events";
import { checkAdmin } from "../services/permissions";
import { enforce2fa } from "../services/login";
import { searchIndexAvailable } from "../db/search-index";
import { storageStatus } from "../services/backup";
import { sharedJobQueue } from "../lib/job-queue";

const API_NAME = "Zou";

interface Health {
  database: boolean;
  keyValueStore: boolean;
  eventStream: boolean;
  /** Clients connected to the realtime stream. */
  connections: number;
  jobQueue: boolean;
  indexer: boolean;
}

async function reachable(check: () => Promise<unknown>): Promise<boolean> {
  try {
    await check();
    return true;
  } catch {
    return false;
  }
}

/**
 * Health of the services Zou runs beside the API. Here the key-value store is a database table,
 * the event stream (up when the server runs one, see services/live-events.ts) and the job queue
 * live in this process, and the indexer is the database's own
 * full-text index (src/db/search-index.ts).
 */
async function health(c: AppContext): Promise<Health> {
  const db = c.get("db");
  const database = await reachable(() => db.selectFrom("project_status").select("id").limit(1).execute());
  const keyValueStore = await reachable(() => db.selectFrom("kv_store").select("key").limit(1).execute());
  const stream = streamOf(c.get("events"));
  return { database, keyValueStore, eventStream: stream !== undefined, connections: stream?.connections() ?? 0, jobQueue: database, indexer: database && searchIndexAvailable(db) };
}

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

async function count(db: Db, build: (db: Db) => any): Promise<number> {
  const row = (await build(db).select(sql<number>`count(*)`.as("total")).executeTakeFirst()) as { total: number } | undefined;
  return Number(row?.total ?? 0);
}

/** Counts of the main models (Zou's preview/comment counters, plus the documented production counters). */
/** `GET /stats`: Zou's four counters (previews by kind, comments). */
async function mainStats(db: Db): Promise<Record<string, number>> {
  return {
    number_of_video_previews: await count(db, (d) => d.selectFrom("preview_file").where("extension", "=", "mp4")),
    number_of_picture_previews: await count(db, (d) => d.selectFrom("preview_file").where("extension", "=", "png")),
    number_of_model_previews: await count(db, (d) => d.selectFrom("preview_file").where("extension", "=", "obj")),
    number_of_comments: await count(db, (d) => d.selectFrom("comment")),
  };
}

export function registerIndex(app: Hono<AppEnv>): void {
  app.get("/", (c) => c.json({ api: API_NAME, version: ZOU_API_VERSION }));

  app.get("/config", async (c) => {
    const config = c.get("config");
    const organisation = await c
      .get("db")
      .selectFrom("organisation")
      .select("dark_theme_by_default")
      .orderBy("created_at")
      .executeTakeFirst()
      .catch(() => undefined);
    const body: Record<string, unknown> = {
      is_self_hosted: config.isSelfHosted,
      crisp_token: config.crispToken,
      dark_theme_by_default: Boolean(organisation?.dark_theme_by_default),
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
