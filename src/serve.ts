/**
 * `serve` in one process: alone, or as one of the workers of `serve --workers N` (src/workers.ts).
 * Loaded by the command line when it serves, so other commands and the workers' supervisor do not
 * load the app.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { createApp } from "./app";
import { VERSION, type Config } from "./config";
import { openDatabase, type Db } from "./db/database";
import { isPostgres } from "./db/dialect";
import { fail, option } from "./lib/args";
import { IpcReceivingBroadcaster, IpcSendingBroadcaster } from "./lib/broadcast-ipc";
import { EventBus, pruneExpiredData } from "./lib/events";
import { describeError } from "./lib/log";
import { cleanPartialUploads } from "./lib/uploads";
import { prepareDatabase } from "./services/database-setup";
import { serveRealtime } from "./services/live-forward";
import { startPreviewProcessing } from "./services/preview-processing";
import { databasePrepared, finishShutdown, holdStopSignals, isLeadProcess, isWorkerProcess, socketRole, workerListening } from "./workers";

const DAY_MS = 86_400_000;
/** When `serve` first prunes old events and expired keys (ms after listening). */
const HOUSEKEEPING_DELAY_MS = 10_000;

/**
 * SIGTERM/SIGINT: stop accepting connections, let in-flight requests finish for up to
 * SHUTDOWN_GRACE_SECONDS, then cut the rest, remove partial uploads, write the WAL back into the
 * database file, and exit 0.
 */
function stopGracefully(server: Bun.Server<any>, live: { close(): void }, db: Db, config: Config, daily: ReturnType<typeof setInterval>, signals: ReturnType<typeof holdStopSignals>): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(daily);
    console.log(`${signal}: finishing in-flight requests (up to ${config.shutdownGraceSeconds} s), then stopping.`);
    live.close(); // socket.io clients are told to go, its timers stop
    const finished = server.stop(false).then(() => true);
    const inTime = await Promise.race([finished, Bun.sleep(config.shutdownGraceSeconds * 1000).then(() => false)]);
    if (!inTime) {
      console.log("Grace period over: closing the remaining connections.");
      await server.stop(true);
    }
    await finishShutdown(config, db, { code: 0 });
  };
  signals.release((signal) => void stop(signal));
}

/** Serves until a stop signal: database prepared, app and realtime stream listening, timers set. */
export async function serveAlone(args: string[], config: Config): Promise<void> {
  const signals = holdStopSignals();
  const started = performance.now();
  const host = option(args, "--host") ?? config.host;
  const ui = option(args, "--ui");
  if (ui) config.uiDir = resolve(ui);
  if (config.uiDir && !existsSync(join(config.uiDir, "index.html"))) fail(`${config.uiDir} is not a Kitsu build folder (no index.html)`);
  if (config.secretKey.length < 32) {
    console.warn(`Warning: SECRET_KEY is ${config.secretKey.length} characters long; use at least 32 random characters (tokens signed with a short key can be forged).`);
  }
  const port = Number(option(args, "--port") ?? config.port);
  // A worker waits for its supervisor to remove partial uploads and prepare the database, which
  // it does while its workers load their code.
  const preparedBySupervisor = await databasePrepared();
  if (!isWorkerProcess()) {
    const partials = await cleanPartialUploads(config);
    if (partials > 0) console.log(`Removed ${partials} partial upload(s) left by a previous run.`);
  }
  const db = openDatabase(config.databaseUrl);
  const admin = preparedBySupervisor ? null : await prepareDatabase(db, config);
  if (admin) {
    console.log(`Created the first admin account: ${admin.email}` + (admin.generatedPassword ? ` with password ${admin.generatedPassword}` : ""));
  }
  const events = new EventBus();
  // PostgreSQL: other instances' commits, events and job claims (README, several instances).
  const instance = isPostgres(db) ? await (await import("./lib/postgres-instance")).startPostgresInstance(db, config.databaseUrl, events) : null;
  const app = createApp({ db, config, events });
  const role = socketRole();
  const broadcaster = instance?.broadcaster ?? (role.role === "owner" ? new IpcReceivingBroadcaster(events) : role.role === "forward" ? new IpcSendingBroadcaster(events) : undefined);
  const { server, live } = await serveRealtime(app, { db, config, events, broadcaster }, {
    hostname: host,
    port,
    maxRequestBodySize: 4 * 1024 * 1024 * 1024,
    idleTimeout: 120,
    reusePort: isWorkerProcess(),
  }, role);
  console.log(`zou-bun ${VERSION} listening on http://${server.hostname}:${server.port}/api${config.uiDir ? `, Kitsu from ${config.uiDir} at /` : ""} (ready in ${Math.round(performance.now() - started)} ms)`);
  workerListening(server.port!);
  // After listening: the ffmpeg check and the previews a stop left processing (re-queued or
  // marked broken) do not hold the first answers back.
  await startPreviewProcessing({ db, config, events });
  const housekeeping = async () => {
    try {
      const pruned = await pruneExpiredData(db, config.eventRetentionDays);
      if (pruned.events + pruned.expiredKeys > 0) {
        console.log(`Pruned ${pruned.events} event(s) older than ${config.eventRetentionDays} days and ${pruned.expiredKeys} expired key(s).`);
      }
    } catch (error) {
      console.error(`Pruning old events failed: ${describeError(error)}`);
    }
  };
  // The first pass a little after the start: on a large event log it would hold the first
  // answers back.
  setTimeout(() => void housekeeping(), HOUSEKEEPING_DELAY_MS).unref();
  const daily = setInterval(() => void housekeeping(), DAY_MS);
  // One process writes the scheduled backups and syncs the directory: the single server, or worker 0.
  if (isLeadProcess()) {
    if (config.backupDir && config.backupIntervalHours > 0) (await import("./services/backup")).startScheduledBackups(db, config);
    if (config.ldap.syncIntervalSeconds) (await import("./services/ldap-sync")).startScheduledLdapSync(db, config, events);
  }
  stopGracefully(server, live, db, config, daily, signals);
}
