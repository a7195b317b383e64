/**
 * `serve --workers N`: N server processes on one port (Bun.serve `reusePort`: the kernel spreads
 * connections over them), over one SQLite file in WAL mode. Caches stay correct across them because
 * each process checks the database's change signal (src/lib/change-signal.ts) on every cached read.
 *
 * The first process is the supervisor: it starts the workers (the same executable and command,
 * with ZOU_WORKER set) and, while they load their code, prepares the database once (migrations,
 * initial data, first admin) and removes partial uploads left by an earlier run; each worker opens
 * the database once told it is ready (`databasePrepared`). The supervisor also restarts a worker
 * that dies, forwards SIGTERM/SIGINT to them and, once all stopped, removes partial uploads and
 * writes the WAL back into the file.
 *
 * N comes from `--workers N`, else the WORKERS environment variable, else the number of cores; an
 * in-memory database is always served by one process.
 *
 * The realtime stream is served by one worker, the socket owner (worker 0): socket.io keeps its
 * sessions and review rooms in memory, and its long-polling transport sends each request on a new
 * connection, which reusePort may hand to any worker. The supervisor gives every worker the owner's
 * loopback port (SOCKET_OWNER_PORT_ENV); the others forward `/socket.io/` requests and WebSocket
 * upgrades there (services/live-forward.ts). On SQLite, the other workers' events reach the owner
 * over the IPC channel through the supervisor (lib/broadcast-ipc.ts); on PostgreSQL every worker is
 * an instance whose events already travel through LISTEN/NOTIFY.
 */
import { VERSION, type Config } from "./config";
import { closeDatabase, isPostgresUrl, openDatabase, sqlitePathFromUrl, type Db } from "./db/database";
import { isRelayedEvent } from "./lib/broadcast-ipc";
import { describeError } from "./lib/log";
import { cleanPartialUploads } from "./lib/uploads";
import { prepareDatabase } from "./services/database-setup";
import { option } from "./lib/args";

const WORKER_ENV = "ZOU_WORKER";
/** The loopback port on which the socket owner serves `/socket.io/` for the other workers. */
const SOCKET_OWNER_PORT_ENV = "ZOU_SOCKET_OWNER_PORT";
const MAX_WORKERS = 64;
const SOCKET_OWNER = 0;
const HELD_SIGNAL_MS = 10_000;

/**
 * The end of a graceful stop: partial uploads removed and the WAL written back (a single server or
 * the workers' supervisor; a worker leaves both to its supervisor, which does them once all its
 * workers stopped, instead of checkpointing while the others still write), exit.
 */
export async function finishShutdown(config: Config, db: Db, options: { code: number }): Promise<never> {
  let code = options.code;
  const worker = isWorkerProcess();
  try {
    if (!worker) await cleanPartialUploads(config);
    if (worker) await db.destroy();
    else await closeDatabase(db);
  } catch (error) {
    console.error(`Shutdown: ${describeError(error)}`);
    code = 1;
  }
  console.log("Stopped.");
  process.exit(code);
}

/** True in a worker started by the supervisor. */
export function isWorkerProcess(): boolean {
  return process.env[WORKER_ENV] !== undefined;
}

/** True in the process that runs the once-per-server timers (backups, LDAP sync): alone, or worker 0. */
export function isLeadProcess(): boolean {
  return !isWorkerProcess() || process.env[WORKER_ENV] === String(SOCKET_OWNER);
}

/**
 * Where this process's realtime stream lives: "alone" (a single server), "owner" (the worker serving
 * socket.io, also on `ownerPort` for the others) or "forward" (a worker forwarding to `ownerPort`).
 */
export function socketRole(): { role: "alone" } | { role: "owner" | "forward"; ownerPort: number } {
  const port = Number(process.env[SOCKET_OWNER_PORT_ENV]);
  if (!isWorkerProcess() || !Number.isInteger(port) || port <= 0) return { role: "alone" };
  return { role: process.env[WORKER_ENV] === String(SOCKET_OWNER) ? "owner" : "forward", ownerPort: port };
}

/**
 * Until the server is ready to stop gracefully, a SIGTERM or SIGINT is held (a worker killed by the
 * default action while starting would make its supervisor's stop fail): `release(stop)` installs
 * the real handler and runs it at once for a signal that came in the meantime. A start-up that
 * does not get there within HELD_SIGNAL_MS of the signal (a database that does not answer) is
 * abandoned: exit 0, as asked.
 */
export function holdStopSignals(): { release(stop: (signal: "SIGTERM" | "SIGINT") => void): void } {
  let received: "SIGTERM" | "SIGINT" | null = null;
  let abandon: ReturnType<typeof setTimeout> | undefined;
  const hold = (signal: "SIGTERM" | "SIGINT") => {
    if (received) return;
    received = signal;
    abandon = setTimeout(() => process.exit(0), HELD_SIGNAL_MS);
  };
  const onTerm = () => hold("SIGTERM");
  const onInt = () => hold("SIGINT");
  process.on("SIGTERM", onTerm);
  process.on("SIGINT", onInt);
  return {
    release(stop) {
      clearTimeout(abandon);
      process.on("SIGTERM", () => stop("SIGTERM"));
      process.on("SIGINT", () => stop("SIGINT"));
      process.off("SIGTERM", onTerm);
      process.off("SIGINT", onInt);
      if (received) stop(received);
    },
  };
}

/** IPC messages: a worker waits for the database; the supervisor has prepared it. */
const WAITING_MESSAGE = "waitingForDatabase";
const PREPARED_MESSAGE = "databasePrepared";

/**
 * In a worker: resolves to true once the supervisor has prepared the database (it does so while
 * its workers load their code). A stop signal meanwhile ends the worker (it served nothing); so
 * does the supervisor's end. Resolves to false at once in a process serving alone.
 */
export function databasePrepared(): Promise<boolean> {
  const send = process.send?.bind(process);
  if (!isWorkerProcess() || !send) return Promise.resolve(false);
  return new Promise((resolve) => {
    const quit = () => process.exit(0);
    const orphaned = () => process.exit(1);
    const onMessage = (message: unknown) => {
      if (!message || typeof message !== "object" || !(PREPARED_MESSAGE in message)) return;
      process.off("message", onMessage);
      process.off("disconnect", orphaned);
      process.off("SIGTERM", quit);
      process.off("SIGINT", quit);
      resolve(true);
    };
    process.on("message", onMessage);
    process.on("disconnect", orphaned);
    process.on("SIGTERM", quit);
    process.on("SIGINT", quit);
    send({ [WAITING_MESSAGE]: true });
  });
}

/**
 * In a worker: tells the supervisor it listens, and stops (gracefully) when the supervisor is
 * gone. Does nothing in a process serving alone.
 */
export function workerListening(port: number): void {
  if (!isWorkerProcess() || !process.send) return;
  process.send({ listening: port });
  process.on("disconnect", () => process.kill(process.pid, "SIGTERM"));
}

function withoutOption(args: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i += 1) {
    if (args[i] === name) i += 1;
    else if (!args[i]!.startsWith(`${name}=`)) out.push(args[i]!);
  }
  return out;
}

/** The number of worker processes asked for (`--workers`, WORKERS, else the cores). */
export function workerCount(args: string[], env = process.env): number {
  const asked = option(args, "--workers") ?? env.WORKERS;
  if (asked === undefined || asked === "") return Math.min(MAX_WORKERS, Math.max(1, navigator.hardwareConcurrency || 1));
  const count = Number(asked);
  if (!Number.isInteger(count) || count < 1 || count > MAX_WORKERS) {
    throw new Error(`--workers must be a whole number from 1 to ${MAX_WORKERS} (got "${asked}")`);
  }
  return count;
}

/** The command that runs this program again (the compiled binary, or bun with the entry script). */
function selfCommand(): string[] {
  const compiled = Bun.main.startsWith("/$bunfs/") || Bun.main.startsWith("B:/~BUN/");
  return compiled ? [process.execPath] : [process.execPath, Bun.main];
}

function freePort(hostname: string): number {
  const probe = Bun.serve({ hostname, port: 0, fetch: () => new Response(null) });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

/**
 * Runs the supervisor when more than one worker is asked for (resolves to true once they listen;
 * the process then lives as long as they do), or resolves to false when this process must serve
 * by itself (one worker, a worker process, an in-memory database).
 */
export async function serveWithWorkers(args: string[], config: Config): Promise<boolean> {
  if (isWorkerProcess()) return false;
  let count: number;
  try {
    count = workerCount(args);
  } catch (error) {
    console.error(`zou-bun: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  }
  if (count <= 1) return false;
  if (!isPostgresUrl(config.databaseUrl)) {
    const path = sqlitePathFromUrl(config.databaseUrl);
    if (path === ":memory:" || path.startsWith("file:")) return false;
  }

  const started = performance.now();
  const host = option(args, "--host") ?? config.host;
  let port = Number(option(args, "--port") ?? config.port);
  if (port === 0) port = freePort(host);
  const workerArgs = ["serve", ...withoutOption(withoutOption(withoutOption(args.slice(args[0] === "serve" ? 1 : 0), "--workers"), "--port"), "--host"), "--host", host, "--port", String(port)];
  // The socket owner's loopback port: the same across its restarts, so the others need no news.
  const socketOwnerPort = freePort("127.0.0.1");
  const children = new Map<number, ReturnType<typeof Bun.spawn>>();
  let stopping = false;
  /** Consecutive deaths of workers that never listened: a server that cannot start at all. */
  let failedStarts = 0;
  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));
  const listening = new Set<number>();
  /** The database is prepared (workers open it only then); the workers that asked before. */
  let databaseReady = false;
  const waitingForDatabase = new Set<number>();
  const tellPrepared = (child: ReturnType<typeof Bun.spawn>) => {
    try {
      child.send({ [PREPARED_MESSAGE]: true });
    } catch {
      /* the worker is exiting */
    }
  };

  const start = (index: number, restart: boolean) => {
    const startedAt = Date.now();
    const child = Bun.spawn([...selfCommand(), ...workerArgs], {
      env: { ...process.env, [WORKER_ENV]: String(index), [SOCKET_OWNER_PORT_ENV]: String(socketOwnerPort) },
      stdin: "ignore",
      stdout: "inherit",
      stderr: "inherit",
      ipc(message) {
        if (!message || typeof message !== "object") return;
        if (isRelayedEvent(message)) {
          // Another worker's event, for the socket owner's clients (dropped while it restarts).
          const owner = children.get(SOCKET_OWNER);
          if (index !== SOCKET_OWNER && owner && !stopping) {
            try {
              owner.send(message);
            } catch {
              /* the owner is exiting */
            }
          }
        } else if (WAITING_MESSAGE in message) {
          if (databaseReady) tellPrepared(child);
          else waitingForDatabase.add(index);
        } else if ("listening" in message) {
          failedStarts = 0;
          listening.add(index);
          if (listening.size === count) resolveReady();
        }
      },
      onExit(_proc, exitCode, signalCode) {
        children.delete(index);
        if (stopping) return;
        if (!listening.has(index) && ++failedStarts >= 3 * count) {
          console.error(`Workers die before listening (last: ${signalCode ?? `code ${exitCode}`}): giving up.`);
          stopping = true;
          for (const other of children.values()) other.kill("SIGKILL");
          process.exit(1);
        }
        listening.delete(index); // until its replacement listens
        // A worker dying at once again and again (a broken database, a port taken) is retried slowly.
        const delay = Date.now() - startedAt < 5_000 ? 1_000 : 50;
        console.error(`Worker ${index} (pid ${child.pid}) exited (${signalCode ?? `code ${exitCode}`}): restarting it in ${delay} ms.`);
        setTimeout(() => {
          if (!stopping) start(index, true);
        }, delay);
      },
    });
    children.set(index, child);
    console.log(`Worker ${index} ${restart ? "restarted" : "started"} (pid ${child.pid}).`);
  };
  // The stop handlers first: a signal while the workers start must not kill the supervisor.
  let preparation: Promise<void> = Promise.resolve();
  const stop = async (signal: "SIGTERM" | "SIGINT") => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping ${children.size} worker(s).`);
    const exits = [...children].map(async ([index, child]) => {
      child.kill(signal);
      const code = await child.exited;
      // A worker still loading its code has no handler yet and dies of the signal: it served
      // nothing and had nothing to write back, so that is a clean stop too.
      return !listening.has(index) && child.signalCode === signal ? 0 : code;
    });
    const codes = await Promise.all(exits);
    await preparation.catch(() => undefined); // reported below, by the start
    await finishShutdown(config, openDatabase(config.databaseUrl), { code: codes.some((c) => c !== 0) ? 1 : 0 });
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));

  // The workers start loading their code at once; meanwhile partial uploads are removed and the
  // database prepared (migrations, initial data, first admin) here, once for all of them.
  for (let index = 0; index < count; index += 1) start(index, false);
  preparation = (async () => {
    const partials = await cleanPartialUploads(config);
    if (partials > 0) console.log(`Removed ${partials} partial upload(s) left by a previous run.`);
    const db = openDatabase(config.databaseUrl);
    try {
      const admin = await prepareDatabase(db, config);
      if (admin) console.log(`Created the first admin account: ${admin.email}` + (admin.generatedPassword ? ` with password ${admin.generatedPassword}` : ""));
    } finally {
      await db.destroy();
    }
  })();

  try {
    await preparation;
  } catch (error) {
    if (stopping) return true; // a stop signal came meanwhile: that stop ends the process
    stopping = true;
    for (const child of children.values()) child.kill("SIGKILL");
    throw error;
  }
  databaseReady = true;
  for (const index of waitingForDatabase) {
    const child = children.get(index);
    if (child) tellPrepared(child);
  }
  waitingForDatabase.clear();
  await ready;
  console.log(`zou-bun ${VERSION} listening on http://${host}:${port}/api with ${count} workers (ready in ${Math.round(performance.now() - started)} ms)`);
  return true;
}
