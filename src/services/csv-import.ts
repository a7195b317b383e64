/**
 * CSV imports (csv.md part A): the row loop shared by every kind, and the persons, casting and
 * task-type estimation importers. Assets, shots and edits live in csv-import-entities.ts.
 *
 * One import is one transaction: the file is parsed as a stream (csv-parse), each row is applied
 * with lookups preloaded once per import, and the first bad row rolls everything back with a 400
 * naming its line (Zou commits row by row; here nothing is half-imported).
 */
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import { transact } from "../db/transaction";
import { CsvFormatError, readCsvRows, type CsvRow } from "../lib/csv";
import { ApiError } from "../lib/errors";
import { newId, utcNow } from "../lib/ids";
import { serialize } from "../db/serialize";
import { normalizeCountry } from "./persons";
import { updateCasting } from "./casting";
import { slugify } from "./projects";
import { requestTypeIds, type EntityRow } from "./entities";
import { updateTaskValues, type TaskRow } from "./tasks";
import { makeEntityImporter } from "./csv-import-entities";

export type CsvImportKind = "persons" | "assets" | "shots" | "edits" | "casting" | "estimations";
export type Dict = Record<string, unknown>;
export type Row = Record<string, any>;

/** A row-level failure with Zou's message (the loop adds line number and count). */
export class RowError extends Error {}

/** Zou's KeyError text for a required column that the file lacks. */
export function required(row: CsvRow, header: string): string | null {
  if (!row.has(header)) throw new RowError(`A columns is missing: '${header}'`);
  return row.get(header);
}

export function invalid(detail: string): RowError {
  return new RowError(`A value is invalid: ${detail}`);
}

/** Python's strtobool, or null for text it refuses. */
export function strToBool(value: string): boolean | null {
  const v = value.trim().toLowerCase();
  if (["y", "yes", "t", "true", "on", "1"].includes(v)) return true;
  if (["n", "no", "f", "false", "off", "0"].includes(v)) return false;
  return null;
}

/** Python's int() of a cell (surrounding blanks allowed), or null. */
export function parseInteger(value: string): number | null {
  const text = value.trim();
  return /^[+-]?\d+$/.test(text) ? Number(text) : null;
}

/** One importer: applies rows one by one, then finishes (bulk work deferred to the end). */
export interface RowImporter {
  row(row: CsvRow): Promise<unknown>;
  finish?(): Promise<void>;
}

export interface CsvImportTarget {
  kind: CsvImportKind;
  project?: Row | null;
  taskType?: Row | null;
  episodeId?: string | null;
}

export interface CsvImportOptions {
  update: boolean;
  /** Progress: bytes of the file read so far. */
  onBytes?: (bytes: number) => void;
  /** Progress: rows imported so far. */
  onRow?: (rows: number) => void;
  /** Keep each row's answer (the HTTP route does; the command line only counts). Default true. */
  keepResults?: boolean;
}

/** The answer of an import: the JSON text of each row's element (kept compact), and the count. */
export interface CsvImportResult {
  count: number;
  json: string[];
}

function rowFailure(error: unknown, line: number, imported: number): ApiError {
  let message: string;
  if (error instanceof ApiError) message = String(error.body.message ?? error.message);
  else if (error instanceof Error) message = error.message;
  else message = String(error);
  return new ApiError(400, { error: true, message, line_number: line, imported_rows: imported });
}

/**
 * Imports a CSV file (already on disk) in one transaction; the answer has one element per data
 * row. Bad rows and malformed files are 400s; nothing is kept on failure.
 */
export async function importCsv(c: AppContext, target: CsvImportTarget, path: string, options: CsvImportOptions): Promise<CsvImportResult> {
  return transact(c, async (db) => {
    const importer = await makeImporter(c, db, target, options.update);
    const keep = options.keepResults !== false;
    const results: CsvImportResult = { count: 0, json: [] };
    let line = 1;
    try {
      for await (const row of readCsvRows(path, { onBytes: options.onBytes })) {
        line = row.line;
        const element = await importer.row(row);
        if (keep) results.json.push(JSON.stringify(element ?? null));
        results.count += 1;
        options.onRow?.(results.count);
      }
      await importer.finish?.();
    } catch (error) {
      if (error instanceof CsvFormatError && error.message === "Could not determine delimiter") {
        throw new ApiError(400, { error: true, message: error.message });
      }
      if (error instanceof CsvFormatError) throw rowFailure(error, error.lineNumber ?? line, results.count);
      if (error instanceof ApiError && error.status !== 400) throw error;
      if (error instanceof RowError || error instanceof ApiError || error instanceof Error) throw rowFailure(error, line, results.count);
      throw error;
    }
    return results;
  });
}

async function makeImporter(c: AppContext, db: Db, target: CsvImportTarget, update: boolean): Promise<RowImporter> {
  switch (target.kind) {
    case "persons":
      return personsImporter(c, db, update);
    case "casting":
      return castingImporter(c, db, target.project!);
    case "estimations":
      return estimationsImporter(c, db, target.project!, target.taskType!, target.episodeId ?? null);
    default:
      return makeEntityImporter(c, db, target.kind, target.project!, update);
  }
}

// ---------------------------------------------------------------------------------------------
// Persons (A.8)
// ---------------------------------------------------------------------------------------------

const ROLES: Record<string, string> = {
  Artist: "user", "Studio Manager": "admin", Supervisor: "supervisor", "Production Manager": "manager", Client: "client", Vendor: "vendor",
};
const CONTRACTS: Record<string, string> = {
  "Open-ended": "open-ended", "Fixed-term": "fixed-term", "Short-term": "short-term", Freelance: "freelance", Apprentice: "apprentice", Internship: "internship",
};
const POSITIONS: Record<string, string> = { Supervisor: "supervisor", Lead: "lead", Artist: "artist" };
const SENIORITIES: Record<string, string> = { Senior: "senior", Mid: "mid", Junior: "junior" };

function choice(row: CsvRow, header: string, labels: Record<string, string>): string | undefined {
  const value = row.get(header);
  if (!value) return undefined;
  if (labels[value]) return labels[value];
  if (Object.values(labels).includes(value)) return value;
  throw invalid(`${header}: ${value}`);
}

async function personsImporter(c: AppContext, db: Db, update: boolean): Promise<RowImporter> {
  const people = await db.selectFrom("person").selectAll().where("is_bot", "=", false).execute();
  const byEmail = new Map(people.map((p) => [p.email, p as Row]));
  const studios = new Map((await db.selectFrom("studio").select(["id", "name"]).execute()).map((s) => [s.name, s.id]));
  const departments = new Map((await db.selectFrom("department").select(["id", "name"]).execute()).map((d) => [d.name, d.id]));
  const config = c.get("config");
  return {
    async row(row) {
      const firstName = required(row, "First Name");
      const lastName = required(row, "Last Name");
      const email = required(row, "Email");
      const values: Row = {};
      const role = choice(row, "Role", ROLES);
      if (role) values.role = role;
      const contract = choice(row, "Contract Type", CONTRACTS);
      if (contract) values.contract_type = contract;
      const position = choice(row, "Position", POSITIONS);
      if (position) values.position = position;
      const seniority = choice(row, "Seniority", SENIORITIES);
      if (seniority) values.seniority = seniority;
      const country = row.get("Country");
      if (country) {
        if (!/^[A-Za-z]{2}$/.test(country.trim())) throw invalid(`Country: ${country}`);
        values.country = normalizeCountry(country.trim()) ?? country.trim().toUpperCase();
      }
      const salary = row.get("Daily Salary");
      if (salary) {
        const n = parseInteger(salary);
        if (n === null) throw invalid(`Daily Salary: ${salary}`);
        values.daily_salary = n;
      }
      const studio = row.get("Studio");
      if (studio) {
        const id = studios.get(studio);
        if (!id) throw new RowError(`Studio not found: ${studio}`);
        values.studio_id = id;
      }
      const active = row.get("Active");
      if (active) {
        const flag = strToBool(active);
        if (flag === null) throw invalid(`Active: ${active}`);
        values.active = flag;
      }
      const phone = row.get("Phone");
      if (phone) values.phone = phone;
      const departmentCell = row.get("Departments");
      let departmentIds: string[] | null = null;
      if (departmentCell) {
        departmentIds = [];
        for (const name of departmentCell.split(",").map((n) => n.trim()).filter(Boolean)) {
          const id = departments.get(name);
          if (!id) throw new RowError(`Department not found: ${name}`);
          if (!departmentIds.includes(id)) departmentIds.push(id);
        }
      }
      let person = byEmail.get(email ?? "");
      const now = utcNow();
      if (!person) {
        person = (await db
          .insertInto("person")
          .values({
            id: newId(), created_at: now, updated_at: now, first_name: firstName ?? "", last_name: lastName ?? "", email,
            password: null, role: "user", active: true, contract_type: "open-ended", position: "artist", seniority: "mid",
            daily_salary: 0, locale: config.defaultLocale, timezone: config.defaultTimezone, is_bot: false, is_guest: false, ...values,
          } as any)
          .returningAll()
          .executeTakeFirstOrThrow()) as Row;
        for (const id of departmentIds ?? []) await db.insertInto("department_link").values({ person_id: person.id, department_id: id }).execute();
        byEmail.set(email ?? "", person);
      } else if (update) {
        person = (await db
          .updateTable("person")
          .set({ first_name: firstName ?? person.first_name, last_name: lastName ?? person.last_name, ...values, updated_at: now } as any)
          .where("id", "=", person.id)
          .returningAll()
          .executeTakeFirstOrThrow()) as Row;
        if (departmentIds) {
          await db.deleteFrom("department_link").where("person_id", "=", person.id).execute();
          for (const id of departmentIds) await db.insertInto("department_link").values({ person_id: person.id, department_id: id }).execute();
        }
        byEmail.set(email ?? "", person);
      }
      return serialize("person", person);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Casting (A.6)
// ---------------------------------------------------------------------------------------------

interface CastTarget {
  entity: Row & { kind: string };
  entries: Map<string, { assetId: string; nbOccurences: number; label: string }>;
}

async function castingImporter(c: AppContext, db: Db, project: Row): Promise<RowImporter> {
  const types = await requestTypeIds(c);
  const entities = (await db
    .selectFrom("entity")
    .leftJoin("entity_type", "entity_type.id", "entity.entity_type_id")
    .selectAll("entity")
    .select("entity_type.name as type_name")
    .where("entity.project_id", "=", project.id)
    .execute()) as Row[];
  const byId = new Map(entities.map((e) => [e.id as string, e]));
  const reserved = new Set<string>(Object.values(types));
  const assets = new Map<string, Row>();
  const shots = new Map<string, Row>();
  const episodes = new Map<string, Row>();
  for (const e of entities) {
    if (!reserved.has(e.entity_type_id)) assets.set(slugify(e.type_name ?? "", "-") + slugify(e.name, "-"), { ...e, kind: "Asset" });
    else if (e.entity_type_id === types.Episode) episodes.set("episode" + slugify(e.name, "-"), { ...e, kind: "Episode" });
    else if (e.entity_type_id === types.Shot) {
      const sequence = e.parent_id ? byId.get(e.parent_id) : undefined;
      const episode = sequence?.parent_id ? byId.get(sequence.parent_id) : undefined;
      shots.set(slugify(episode?.name ?? "", "-") + slugify(sequence?.name ?? "", "-") + slugify(e.name, "-"), { ...e, kind: "Shot" });
    }
  }
  const targets = new Map<string, CastTarget>();
  return {
    async row(row) {
      let episode = row.has("Episode") ? (row.get("Episode") ?? "") : "";
      if (episode === "MP") episode = "";
      const parent = required(row, "Parent") ?? "";
      const name = required(row, "Name") ?? "";
      const assetType = required(row, "Asset Type") ?? "";
      const assetName = required(row, "Asset") ?? "";
      const occurences = required(row, "Occurences");
      let nb = 1;
      if (occurences) {
        const n = parseInteger(occurences);
        if (n === null) throw invalid(`invalid literal for int() with base 10: '${occurences}'`);
        nb = n;
      }
      const label = row.has("Label") && row.get("Label") ? slugify(row.get("Label")!, "-") : "fixed";
      const asset = assets.get(slugify(assetType, "-") + slugify(assetName, "-"));
      const target =
        shots.get(slugify(episode, "-") + slugify(parent, "-") + slugify(name, "-")) ??
        assets.get(slugify(parent, "-") + slugify(name, "-")) ??
        (parent === "Episode" ? episodes.get("episode" + slugify(name, "-")) : undefined);
      if (!asset || !target) return null;
      let entry = targets.get(target.id);
      if (!entry) {
        entry = { entity: target as CastTarget["entity"], entries: new Map() };
        targets.set(target.id, entry);
      }
      entry.entries.set(asset.id, { assetId: asset.id, nbOccurences: nb, label });
      return null;
    },
    async finish() {
      for (const { entity, entries } of targets.values()) {
        const existing = await db.selectFrom("entity_link").selectAll().where("entity_in_id", "=", entity.id).execute();
        const wanted = new Map<string, { assetId: string; nbOccurences: number; label: string }>();
        for (const link of existing) wanted.set(link.entity_out_id, { assetId: link.entity_out_id, nbOccurences: link.nb_occurences ?? 1, label: link.label ?? "" });
        for (const [assetId, value] of entries) wanted.set(assetId, value);
        await updateCasting(c, entity, [], wanted);
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Task type estimations (A.7)
// ---------------------------------------------------------------------------------------------

function isoDate(value: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value.trim());
  const date = match ? new Date(`${match[0]}T00:00:00Z`) : null;
  if (!date || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value.trim()) {
    throw invalid(`time data '${value}' does not match format '%Y-%m-%d'`);
  }
  return value.trim();
}

/** Adds business days (Mon-Fri) to a date, counting forward day by day. */
export function addBusinessDays(date: string, days: number): string {
  const current = new Date(`${date}T00:00:00Z`);
  let left = days;
  while (left > 0) {
    current.setUTCDate(current.getUTCDate() + 1);
    const weekday = current.getUTCDay();
    if (weekday !== 0 && weekday !== 6) left -= 1;
  }
  return current.toISOString().slice(0, 10);
}

async function estimationsImporter(c: AppContext, db: Db, project: Row, taskType: Row, episodeId: string | null): Promise<RowImporter> {
  const types = await requestTypeIds(c);
  const organisation = await db.selectFrom("organisation").select("hours_by_day").executeTakeFirst();
  const hoursByDay = Number(organisation?.hours_by_day ?? 8) || 8;
  const forShots = taskType.for_entity === "Shot";
  const rows = (await db
    .selectFrom("task")
    .innerJoin("entity", "entity.id", "task.entity_id")
    .leftJoin("entity as parent", "parent.id", "entity.parent_id")
    .leftJoin("entity_type", "entity_type.id", "entity.entity_type_id")
    .selectAll("task")
    .select(["entity.name as entity_name", "entity.source_id as entity_source_id", "parent.name as parent_name", "parent.parent_id as grand_parent_id", "entity_type.name as type_name", "entity.entity_type_id as entity_type_id"])
    .where("task.project_id", "=", project.id)
    .where("task.task_type_id", "=", taskType.id)
    .execute()) as Row[];
  const tasks = new Map<string, Row>();
  for (const task of rows) {
    if (forShots) {
      if (task.entity_type_id !== types.Shot) continue;
      if (episodeId && task.grand_parent_id !== episodeId) continue;
      tasks.set(slugify(task.parent_name ?? "", "-") + slugify(task.entity_name, "-"), task);
    } else {
      if (episodeId && task.entity_source_id !== episodeId) continue;
      tasks.set(slugify(task.type_name ?? "", "-") + slugify(task.entity_name, "-"), task);
    }
  }
  const descriptors = await db
    .selectFrom("metadata_descriptor")
    .select(["name", "field_name", "data_type"])
    .where("project_id", "=", project.id)
    .where("entity_type", "=", "Task")
    .where("task_type_id", "=", taskType.id)
    .execute();
  return {
    async row(row) {
      const parent = required(row, "Parent") ?? "";
      const entity = required(row, "Entity") ?? "";
      const task = tasks.get(slugify(parent, "-") + slugify(entity, "-"));
      if (!task) throw new RowError(`Entity '${entity}' with parent '${parent}' not found`);
      const values: Dict = {};
      const estimation = row.get("Estimation");
      let days: number | null = null;
      if (estimation) {
        days = Number(estimation.trim());
        if (estimation.trim() === "" || Number.isNaN(days)) throw invalid(`could not convert string to float: '${estimation}'`);
        values.estimation = Math.round(days * hoursByDay * 60);
      }
      const drawings = row.get("Drawings");
      if (drawings) {
        const n = parseInteger(drawings);
        if (n === null) throw invalid(`invalid literal for int() with base 10: '${drawings}'`);
        values.nb_drawings = n;
      }
      const difficulty = row.get("Difficulty");
      if (difficulty) {
        const n = parseInteger(difficulty);
        if (n === null) throw invalid(`invalid literal for int() with base 10: '${difficulty}'`);
        values.difficulty = n;
      }
      const start = row.get("Start date");
      const due = row.get("Due date");
      if (start) values.start_date = `${isoDate(start)}T00:00:00`;
      if (due) values.due_date = `${isoDate(due)}T00:00:00`;
      else if (start && days !== null) values.due_date = `${addBusinessDays(isoDate(start), days - 1)}T00:00:00`;
      if (descriptors.some((d) => row.has(d.name))) {
        const data = { ...(typeof task.data === "string" ? JSON.parse(task.data || "{}") : (task.data ?? {})) } as Dict;
        for (const descriptor of descriptors) {
          if (row.has(descriptor.name)) data[descriptor.field_name] = row.get(descriptor.name) ?? "";
        }
        values.data = JSON.stringify(data);
      }
      if (Object.keys(values).length > 0) {
        const updated = await updateTaskValues(c, task as TaskRow, values);
        tasks.set(slugify(parent, "-") + slugify(entity, "-"), { ...task, ...updated });
      }
      return null;
    },
  };
}

export type { EntityRow };
