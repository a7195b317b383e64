/**
 * A bounded in-process job queue: at most `concurrency` jobs run at once, the others wait in
 * arrival order. Used for ffmpeg work (preview processing, playlist builds) so that uploads never
 * start more encodes than the machine has cores.
 *
 *   const queue = sharedJobQueue();            // the process-wide queue
 *   const result = await queue.run("name", async () => ...);   // waits for a slot, runs, resolves
 *   queue.push("name", async () => ...);       // fire and forget (errors are logged, never thrown)
 *   await queue.idle();                        // resolves once nothing is queued or running
 *
 * Concurrency: `JOB_QUEUE_CONCURRENCY` (default: one job per CPU core).
 * A job's own time limit is its business (ffmpeg calls carry theirs, see lib/ffmpeg.ts).
 */
import { availableParallelism } from "node:os";

interface Waiting {
  name: string;
  start: () => void;
}

export class JobQueue {
  private running = 0;
  private readonly waiting: Waiting[] = [];
  private idleWaiters: (() => void)[] = [];

  constructor(readonly concurrency: number = defaultConcurrency()) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error("JobQueue concurrency must be a positive integer.");
  }

  /** Jobs running now. */
  get active(): number {
    return this.running;
  }

  /** Jobs waiting for a slot. */
  get pending(): number {
    return this.waiting.length;
  }

  /** Runs `job` when a slot is free; resolves or rejects with its outcome. */
  run<T>(name: string, job: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.running += 1;
        let outcome: Promise<T>;
        try {
          outcome = job();
        } catch (error) {
          outcome = Promise.reject(error);
        }
        outcome.then(resolve, reject).finally(() => {
          this.running -= 1;
          this.next();
        });
      };
      if (this.running < this.concurrency) start();
      else this.waiting.push({ name, start });
    });
  }

  /** Queues `job` without waiting for it; a failure is logged (jobs record their own errors). */
  push(name: string, job: () => Promise<unknown>): void {
    this.run(name, job).catch((error) => console.error(`job ${name} failed:`, error));
  }

  /** Resolves once no job runs or waits. */
  idle(): Promise<void> {
    if (this.running === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private next(): void {
    const nextJob = this.waiting.shift();
    if (nextJob) {
      nextJob.start();
      return;
    }
    if (this.running === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}

/** JOB_QUEUE_CONCURRENCY, else the number of CPU cores. */
export function defaultConcurrency(): number {
  const configured = Number(process.env.JOB_QUEUE_CONCURRENCY);
  if (Number.isInteger(configured) && configured >= 1) return configured;
  return Math.max(1, availableParallelism());
}

let shared: JobQueue | null = null;

/** The process-wide queue for ffmpeg jobs (created on first use). */
export function sharedJobQueue(): JobQueue {
  shared ??= new JobQueue();
  return shared;
}

// ---------------------------------------------------------------------------------------------
// Claims: a job that outlives its request (a movie preview, a playlist build) is claimed before it
// is queued, so that it runs once even when several instances share the database: the instance
// that receives the upload claims it, and the start-up pass of another instance that finds the
// preview still `processing` skips it while the claim is held.

/** Where claims live beyond this process (PostgreSQL: advisory locks, see ./postgres-link.ts). */
export interface JobClaimer {
  /** True when `name` was free and is now held by this process. */
  tryClaim(name: string): Promise<boolean>;
  release(name: string): Promise<void>;
}

/** A held claim; `release` is idempotent. */
export interface JobClaim {
  release(): Promise<void>;
}

const claimers = new WeakMap<object, JobClaimer>();
const heldClaims = new WeakMap<object, Set<string>>();

/** Makes the claims on `db` visible to the other instances (set by `serve` on PostgreSQL). */
export function attachJobClaimer(db: object, claimer: JobClaimer): void {
  claimers.set(db, claimer);
}

export function detachJobClaimer(db: object): void {
  claimers.delete(db);
}

/**
 * Claims the job `name` for this process, or answers null when this process or (on PostgreSQL)
 * another instance already holds it. Without a claimer, claims are this process's only; when the
 * claimer cannot answer (the database link is down), the claim is this process's only too, so an
 * upload is still processed (logged).
 */
export async function claimJob(db: object, name: string): Promise<JobClaim | null> {
  let held = heldClaims.get(db);
  if (!held) {
    held = new Set();
    heldClaims.set(db, held);
  }
  if (held.has(name)) return null;
  held.add(name);
  let claimer = claimers.get(db);
  try {
    if (claimer && !(await claimer.tryClaim(name))) {
      held.delete(name);
      return null;
    }
  } catch (error) {
    console.error(`job ${name}: claimed in this process only (${error instanceof Error ? error.message : String(error)})`);
    claimer = undefined;
  }
  let released = false;
  const owner = held;
  return {
    async release() {
      if (released) return;
      released = true;
      owner.delete(name);
      if (claimer) await claimer.release(name).catch((error) => console.error(`job ${name}: releasing its claim failed:`, error));
    },
  };
}

/** True when `name` is claimed by this process or another instance (checked without keeping it). */
export async function isJobClaimed(db: object, name: string): Promise<boolean> {
  const claim = await claimJob(db, name);
  if (!claim) return true;
  await claim.release();
  return false;
}
