/**
 * `zou-bun import-csv KIND FILE` and `zou-bun export-csv KIND`: the CSV import and export services
 * run from the command line, as an admin (the first one, or `--as EMAIL`), with a progress bar on
 * a terminal (stderr is a TTY) and plain progress lines otherwise.
 */
import { createWriteStream, statSync } from "node:fs";
import { Hono } from "hono";
import type { Config } from "./config";
import type { AppContext, AppEnv, PersonRow } from "./context";
import type { Db } from "./db/database";
import { csvLines, type CsvCell } from "./lib/csv";
import { ApiError } from "./lib/errors";
import { EventBus } from "./lib/events";
import { importCsv, type CsvImportKind } from "./services/csv-import";
import {
  exportCasting,
  exportEntities,
  exportPersons,
  exportProjects,
  exportTasks,
  exportTaskTypes,
  exportTimeSpents,
} from "./services/csv-export";

export const IMPORT_KINDS = ["persons", "assets", "shots", "edits", "casting", "estimations"] as const;
export const EXPORT_KINDS = ["assets", "shots", "edits", "casting", "persons", "projects", "tasks", "time-spents", "task-types"] as const;
const PROJECT_KINDS = new Set(["assets", "shots", "edits", "casting", "estimations"]);

export const CSV_HELP = `  import-csv KIND FILE [--project NAME] [--update] [--task-type NAME] [--episode NAME] [--as EMAIL]
                                   import a CSV file (KIND: ${IMPORT_KINDS.join(", ")}); the whole
                                   file or nothing; --task-type for estimations
  export-csv KIND [--project NAME] [--output FILE] [--as EMAIL]
                                   write a CSV export to FILE or stdout (KIND: ${EXPORT_KINDS.join(", ")})`;

type Option = (name: string) => string | undefined;

/** Progress on stderr: a redrawn bar on a terminal, a plain line every 10,000 rows otherwise. */
class Progress {
  private readonly tty = Boolean(process.stderr.isTTY);
  private lastStep = -1;
  private lastDraw = 0;
  constructor(
    private readonly label: string,
    private readonly total: number | null,
  ) {}

  update(done: number, rows: number): void {
    const ratio = this.total ? Math.min(1, done / this.total) : null;
    if (this.tty) {
      const now = Date.now();
      if (now - this.lastDraw < 100) return;
      this.lastDraw = now;
      const width = 30;
      const bar = ratio === null ? "" : `[${"#".repeat(Math.round(ratio * width)).padEnd(width, ".")}] ${Math.floor(ratio * 100)}% `;
      process.stderr.write(`\r${this.label} ${bar}${rows} rows`);
      return;
    }
    const step = Math.floor(rows / 10000);
    if (step > this.lastStep) {
      this.lastStep = step;
      if (step > 0) process.stderr.write(`${this.label}: ${rows} rows${ratio === null ? "" : ` (${Math.floor(ratio * 100)}% of the file read)`}\n`);
    }
  }

  done(message: string): void {
    if (this.tty) process.stderr.write("\r\x1b[K");
    if (message) process.stderr.write(`${message}\n`);
  }
}

async function actingAdmin(db: Db, email: string | undefined): Promise<PersonRow> {
  let q = db.selectFrom("person").selectAll().where("is_bot", "=", false);
  q = email ? q.where("email", "=", email.trim().toLowerCase()) : q.where("role", "=", "admin").where("active", "=", true).orderBy("created_at");
  const person = (await q.executeTakeFirst()) as PersonRow | undefined;
  if (!person) throw new Error(email ? `No person with email ${email}.` : "No active admin in the database (create one with create-admin).");
  return person;
}

async function findByName(db: Db, table: "project" | "task_type", name: string, extra?: (q: any) => any): Promise<Record<string, any>> {
  let q = db.selectFrom(table).selectAll().where("name", "=", name);
  if (extra) q = extra(q);
  const row = await q.executeTakeFirst();
  if (!row) throw new Error(`No ${table.replace("_", " ")} named "${name}".`);
  return row as Record<string, any>;
}

/** Runs `fn` with a request context acting as `user` (the services take Hono contexts). */
async function withContext<T>(db: Db, config: Config, user: PersonRow, fn: (c: AppContext) => Promise<T>): Promise<T> {
  const app = new Hono<AppEnv>();
  let result: T | undefined;
  let failure: unknown;
  app.post("/run", async (c) => {
    c.set("db", db);
    c.set("config", config);
    c.set("events", new EventBus());
    c.set("user", user);
    c.set("identityType", "person");
    c.set("claims", {});
    c.set("projectRoles", new Map());
    try {
      result = await fn(c);
    } catch (error) {
      failure = error;
    }
    return c.body(null, 204);
  });
  await app.request("/run", { method: "POST" });
  if (failure) throw failure;
  return result as T;
}

function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const body = error.body;
    return body.line_number ? `line ${body.line_number}: ${body.message} (nothing imported)` : String(body.message ?? error.message);
  }
  return error instanceof Error ? error.message : String(error);
}

export async function importCsvCommand(db: Db, config: Config, args: string[], option: Option): Promise<void> {
  const positional = args.filter((a, i) => !a.startsWith("--") && !(i > 0 && args[i - 1]!.startsWith("--") && !["--update"].includes(args[i - 1]!)));
  const [kind, file] = positional;
  if (!kind || !file || !(IMPORT_KINDS as readonly string[]).includes(kind)) {
    throw new Error(`usage: import-csv KIND FILE [--project NAME] (KIND: ${IMPORT_KINDS.join(", ")})`);
  }
  const user = await actingAdmin(db, option("--as"));
  const projectName = option("--project");
  if (PROJECT_KINDS.has(kind) && !projectName) throw new Error(`import-csv ${kind} needs --project NAME`);
  const project = projectName ? await findByName(db, "project", projectName) : null;
  let taskType: Record<string, any> | null = null;
  let episodeId: string | null = null;
  if (kind === "estimations") {
    const name = option("--task-type");
    if (!name) throw new Error("import-csv estimations needs --task-type NAME");
    taskType = await findByName(db, "task_type", name);
    const episode = option("--episode");
    if (episode) {
      const row = await db.selectFrom("entity").select("id").where("project_id", "=", project!.id).where("name", "=", episode).executeTakeFirst();
      if (!row) throw new Error(`No episode named "${episode}".`);
      episodeId = row.id;
    }
  }
  const size = statSync(file).size;
  const progress = new Progress(`import ${kind}`, size);
  let bytes = 0;
  const started = performance.now();
  let count: number;
  try {
    ({ count } = await withContext(db, config, user, (c) =>
      importCsv(c, { kind: kind as CsvImportKind, project, taskType, episodeId }, file, {
        update: args.includes("--update"),
        onBytes: (b) => (bytes = b),
        onRow: (rows) => progress.update(bytes, rows),
        keepResults: false,
      }),
    ));
  } catch (error) {
    progress.done("");
    throw new Error(describeError(error));
  }
  const seconds = (performance.now() - started) / 1000;
  progress.done(`Imported ${count} rows of ${kind} from ${file} in ${seconds.toFixed(1)} s.`);
}

export async function exportCsvCommand(db: Db, config: Config, args: string[], option: Option): Promise<void> {
  const kind = args.find((a, i) => !a.startsWith("--") && !(i > 0 && args[i - 1]!.startsWith("--")));
  if (!kind || !(EXPORT_KINDS as readonly string[]).includes(kind)) {
    throw new Error(`usage: export-csv KIND [--project NAME] [--output FILE] (KIND: ${EXPORT_KINDS.join(", ")})`);
  }
  const user = await actingAdmin(db, option("--as"));
  const projectName = option("--project");
  if (PROJECT_KINDS.has(kind) && !projectName) throw new Error(`export-csv ${kind} needs --project NAME`);
  const project = projectName ? await findByName(db, "project", projectName) : null;
  const output = option("--output");
  const out = output ? createWriteStream(output) : process.stdout;
  const progress = new Progress(`export ${kind}`, null);
  let rows = -1;
  await withContext(db, config, user, async (c) => {
    const batches: AsyncGenerator<CsvCell[][]> =
      kind === "assets" || kind === "shots" || kind === "edits"
        ? exportEntities(c, kind, project!, {})
        : kind === "casting"
          ? exportCasting(c, project!, {})
          : kind === "persons"
            ? exportPersons(c)
            : kind === "projects"
              ? exportProjects(c)
              : kind === "tasks"
                ? exportTasks(c)
                : kind === "time-spents"
                  ? exportTimeSpents(c)
                  : exportTaskTypes(c);
    for await (const batch of batches) {
      const text = csvLines(batch);
      if (!out.write(text)) await new Promise((resolve) => out.once("drain", resolve));
      rows += batch.length;
      progress.update(0, Math.max(rows, 0));
    }
  });
  if (output) await new Promise<void>((resolve, reject) => (out as ReturnType<typeof createWriteStream>).end((error?: Error | null) => (error ? reject(error) : resolve())));
  progress.done(`Exported ${Math.max(rows, 0)} rows of ${kind}${output ? ` to ${output}` : ""}.`);
}
