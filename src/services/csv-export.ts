/**
 * CSV exports (csv.md part B): each export is an async generator of row batches (the header
 * first), so big productions are written while they are read, 500 entities at a time.
 */
import { sql } from "kysely";
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import { chunks } from "../lib/chunks";
import { pythonFloat, type CsvCell } from "../lib/csv";
import { formatDate, isUuid, normalizeId } from "../lib/ids";
import { badRequest } from "../lib/errors";
import { parseJson } from "../db/serialize";
import { requestTypeIds, type EntityKind } from "./entities";
import { fullEntityNames } from "./entity-names";
import { slugify } from "./projects";
import { timeSpentsWithEntities } from "./time-spents";

type Row = Record<string, any>;
type Batches = AsyncGenerator<CsvCell[][]>;

/** Rows read per query by the streamed exports. */
const EXPORT_PAGE = 500;

/** Pages of a query (limit/offset on a total order), so memory stays bounded by one page. */
async function* pages(query: { limit(n: number): { offset(n: number): { execute(): Promise<unknown[]> } } }): AsyncGenerator<Row[]> {
  for (let offset = 0; ; offset += EXPORT_PAGE) {
    const rows = (await query.limit(EXPORT_PAGE).offset(offset).execute()) as Row[];
    if (rows.length > 0) yield rows;
    if (rows.length < EXPORT_PAGE) return;
  }
}

/** `kitsu_<slug>` of an export's base name. */
export function exportFileName(base: string): string {
  return `kitsu_${slugify(base, "_")}`;
}

function fullName(person: { first_name?: string | null; last_name?: string | null } | undefined): string {
  if (!person) return "";
  return `${person.first_name ?? ""} ${person.last_name ?? ""}`.trim();
}

function cellOf(value: unknown): CsvCell {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return value as CsvCell;
}

function entityDataOf(row: Row): Row {
  const data = parseJson(row.data);
  return data && typeof data === "object" && !Array.isArray(data) ? (data as Row) : {};
}

/** The `episode_id` filter: a UUID, `main`, `all` or absent (malformed → 400). */
function episodeFilter(value: string | undefined): string | undefined {
  if (value === undefined || value === "" || value === "main" || value === "all") return value || undefined;
  if (!isUuid(value)) throw badRequest(`Invalid UUID format for episode_id: ${value}`);
  return normalizeId(value);
}

// ---------------------------------------------------------------------------------------------
// Assets, shots, edits
// ---------------------------------------------------------------------------------------------

interface EntityExport {
  kind: "Asset" | "Shot" | "Edit";
  header: string[];
  cells(entity: Row, data: Row): CsvCell[];
}

const ENTITY_EXPORTS: Record<"assets" | "shots" | "edits", EntityExport> = {
  assets: {
    kind: "Asset",
    header: ["Project", "Type", "Name", "Description", "Time Spent"],
    cells: (e) => [e.project_name, e.type_name, e.name, e.description],
  },
  shots: {
    kind: "Shot",
    header: ["Project", "Episode", "Sequence", "Name", "Description", "Time Spent", "Frames", "Frame In", "Frame Out", "FPS"],
    cells: (e) => [e.project_name, e.episode_name, e.sequence_name, e.name, e.description],
  },
  edits: {
    kind: "Edit",
    header: ["Project", "Episode", "Name", "Description", "Time Spent"],
    cells: (e) => [e.project_name, e.episode_name, e.name, e.description],
  },
};

function entitiesQuery(db: Db, kind: "assets" | "shots" | "edits", project: Row, types: Record<string, string>, episodeId: string | undefined) {
  let q = db
    .selectFrom("entity")
    .innerJoin("entity_type", "entity_type.id", "entity.entity_type_id")
    .where("entity.project_id", "=", project.id);
  if (kind === "assets") {
    q = q.where("entity.entity_type_id", "not in", Object.values(types));
    if (episodeId === "main") q = q.where("entity.source_id", "is", null);
    else if (episodeId && episodeId !== "all") q = q.where("entity.source_id", "=", episodeId);
  } else if (kind === "shots") {
    q = q.where("entity.entity_type_id", "=", types.Shot);
    if (episodeId && episodeId !== "all" && episodeId !== "main") {
      q = q.where("entity.parent_id", "in", db.selectFrom("entity as s").select("s.id").where("s.parent_id", "=", episodeId));
    }
  } else {
    q = q.where("entity.entity_type_id", "=", types.Edit);
    if (episodeId && episodeId !== "all" && episodeId !== "main") q = q.where("entity.parent_id", "=", episodeId);
  }
  return q;
}

export async function* exportEntities(c: AppContext, kind: "assets" | "shots" | "edits", project: Row, query: Record<string, string>): Batches {
  const db = c.get("db");
  const spec = ENTITY_EXPORTS[kind];
  const types = (await requestTypeIds(c)) as unknown as Record<string, string>;
  const episodeId = episodeFilter(query.episode_id);
  const descriptors = await db
    .selectFrom("metadata_descriptor")
    .select(["name", "field_name", "data_type"])
    .where("project_id", "=", project.id)
    .where("entity_type", "=", spec.kind as EntityKind)
    .orderBy("position")
    .orderBy("name")
    .execute();
  const taskTypes = await db
    .selectFrom("task_type")
    .select(["id", "name"])
    .where("id", "in", db.selectFrom("task").select("task.task_type_id").where("task.entity_id", "in", entitiesQuery(db, kind, project, types, episodeId).select("entity.id")))
    .orderBy("priority")
    .orderBy("name")
    .execute();
  const header: string[] = [...spec.header, ...descriptors.map((d) => d.name)];
  for (const t of taskTypes) header.push(t.name, "Assignations");
  yield [header];

  let q = entitiesQuery(db, kind, project, types, episodeId)
    .selectAll("entity")
    .select("entity_type.name as type_name");
  if (kind === "shots") {
    q = q
      .leftJoin("entity as sequence", "sequence.id", "entity.parent_id")
      .leftJoin("entity as episode", "episode.id", "sequence.parent_id")
      .select(["sequence.name as sequence_name", "episode.name as episode_name"]) as typeof q;
  } else if (kind === "edits") {
    q = q.leftJoin("entity as episode", "episode.id", "entity.parent_id").select("episode.name as episode_name") as typeof q;
  }
  const order = kind === "assets" ? ["entity_type.name", "entity.name"] : kind === "shots" ? ["episode.name", "sequence.name", "entity.name"] : ["episode.name", "entity.name"];
  for (const column of order) q = q.orderBy(sql.ref(column));
  q = q.orderBy("entity.id");
  const statuses = new Map((await db.selectFrom("task_status").select(["id", "short_name"]).execute()).map((s) => [s.id, s.short_name]));

  // One page of entities at a time (memory bounded by the page, whatever the production size).
  for (let offset = 0; ; offset += EXPORT_PAGE) {
    const part = (await q.limit(EXPORT_PAGE).offset(offset).execute()) as Row[];
    if (part.length === 0) break;
    const ids = part.map((e) => e.id as string);
    const tasks = await db.selectFrom("task").select(["id", "entity_id", "task_type_id", "task_status_id", "duration"]).where("entity_id", "in", ids).execute();
    const assignees = await db
      .selectFrom("task_person_link")
      .innerJoin("person", "person.id", "task_person_link.person_id")
      .innerJoin("task", "task.id", "task_person_link.task_id")
      .select(["task_person_link.task_id", "person.first_name", "person.last_name"])
      .where("task.entity_id", "in", ids)
      .execute();
    const namesByTask = new Map<string, string[]>();
    for (const a of assignees) {
      if (!namesByTask.has(a.task_id)) namesByTask.set(a.task_id, []);
      namesByTask.get(a.task_id)!.push(fullName(a));
    }
    const tasksByEntity = new Map<string, Map<string, Row>>();
    const minutes = new Map<string, number>();
    for (const t of tasks) {
      if (!tasksByEntity.has(t.entity_id!)) tasksByEntity.set(t.entity_id!, new Map());
      tasksByEntity.get(t.entity_id!)!.set(t.task_type_id!, t);
      minutes.set(t.entity_id!, (minutes.get(t.entity_id!) ?? 0) + Number(t.duration ?? 0));
    }
    const batch: CsvCell[][] = [];
    for (const entity of part) {
      entity.project_name = project.name;
      const data = entityDataOf(entity);
      const cells: CsvCell[] = [...spec.cells(entity, data).map(cellOf), ((minutes.get(entity.id) ?? 0) / 8 / 60).toFixed(2)];
      if (kind === "shots") cells.push(cellOf(entity.nb_frames), cellOf(data.frame_in), cellOf(data.frame_out), cellOf(data.fps));
      for (const d of descriptors) {
        const value = data[d.field_name];
        cells.push(d.data_type === "boolean" ? (String(value ?? "").toLowerCase() === "true" ? "true" : "false") : cellOf(value));
      }
      const byType = tasksByEntity.get(entity.id);
      for (const t of taskTypes) {
        const task = byType?.get(t.id);
        cells.push(task ? (statuses.get(task.task_status_id) ?? "") : "", task ? (namesByTask.get(task.id) ?? []).join(",") : "");
      }
      batch.push(cells);
    }
    yield batch;
    if (part.length < EXPORT_PAGE) break;
  }
}

// ---------------------------------------------------------------------------------------------
// Casting
// ---------------------------------------------------------------------------------------------

export async function* exportCasting(c: AppContext, project: Row, query: Record<string, string>): Batches {
  const db = c.get("db");
  const types = await requestTypeIds(c);
  const episodeId = episodeFilter(query.episode_id);
  const shotCasting = String(query.is_shot_casting ?? "").toLowerCase() === "true";
  const withEpisode = project.production_type === "tvshow" && episodeId !== "all";
  const base = ["Parent", "Name", "Asset Type", "Asset", "Occurences", "Label"];
  yield [withEpisode ? ["Episode", ...base] : base];

  const links = (await db
    .selectFrom("entity_link")
    .innerJoin("entity as target", "target.id", "entity_link.entity_in_id")
    .innerJoin("entity as asset", "asset.id", "entity_link.entity_out_id")
    .innerJoin("entity_type as asset_type", "asset_type.id", "asset.entity_type_id")
    .innerJoin("entity_type as target_type", "target_type.id", "target.entity_type_id")
    .leftJoin("entity as parent", "parent.id", "target.parent_id")
    .leftJoin("entity as grand", "grand.id", "parent.parent_id")
    .leftJoin("entity as source", "source.id", "target.source_id")
    .select([
      "entity_link.nb_occurences", "entity_link.label", "asset.name as asset_name", "asset_type.name as asset_type_name",
      "target.name as target_name", "target.entity_type_id as target_type_id", "target_type.name as target_type_name", "target.source_id as target_source_id",
      "parent.name as parent_name", "parent.parent_id as parent_parent_id", "grand.name as grand_name", "source.name as source_name",
    ])
    .where("target.project_id", "=", project.id)
    .execute()) as Row[];
  const reserved = new Set<string>(Object.values(types));
  const tail = (l: Row): CsvCell[] => [l.asset_type_name, l.asset_name, l.nb_occurences ?? 1, l.label ?? ""];
  const sortBy = (rows: CsvCell[][]) => rows.sort((a, b) => {
    for (let i = 0; i < a.length; i++) {
      const x = String(a[i] ?? "");
      const y = String(b[i] ?? "");
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  });
  let rows: CsvCell[][] = [];
  if (episodeId === "all") {
    rows = sortBy(links.filter((l) => l.target_type_id === types.Episode).map((l) => ["Episode", l.target_name, ...tail(l)]));
  } else if (shotCasting) {
    const shotLinks = links.filter((l) => l.target_type_id === types.Shot && (!episodeId || episodeId === "main" || l.parent_parent_id === episodeId));
    rows = sortBy(shotLinks.map((l) => [...(withEpisode ? [l.grand_name ?? ""] : []), l.parent_name ?? "", l.target_name, ...tail(l)]));
  } else {
    const assetLinks = links.filter((l) => !reserved.has(l.target_type_id));
    if (withEpisode) {
      const inEpisodes = episodeId === "main" ? [] : assetLinks.filter((l) => l.target_source_id && (!episodeId || l.target_source_id === episodeId));
      const mainPack = assetLinks.filter((l) => !l.target_source_id);
      rows = [
        ...sortBy(inEpisodes.map((l) => [l.source_name ?? "", l.target_type_name, l.target_name, ...tail(l)])),
        ...sortBy(mainPack.map((l) => ["MP", l.target_type_name, l.target_name, ...tail(l)])),
      ];
    } else {
      rows = sortBy(assetLinks.map((l) => [l.target_type_name, l.target_name, ...tail(l)]));
    }
  }
  for (const part of chunks(rows, 1000)) yield part;
}

// ---------------------------------------------------------------------------------------------
// Global exports
// ---------------------------------------------------------------------------------------------

export async function* exportPersons(c: AppContext): Batches {
  const db = c.get("db");
  yield [["First Name", "Last Name", "Email", "Phone", "Role", "Departments", "Studio", "Country", "Contract Type", "Position", "Seniority", "Daily Salary", "Active"]];
  const persons = (await db
    .selectFrom("person")
    .leftJoin("studio", "studio.id", "person.studio_id")
    .selectAll("person")
    .select("studio.name as studio_name")
    .where("person.is_bot", "=", false)
    .where("person.is_guest", "=", false)
    .execute()) as Row[];
  persons.sort((a, b) => {
    const x = String(a.first_name ?? "").toLowerCase();
    const y = String(b.first_name ?? "").toLowerCase();
    if (x !== y) return x < y ? -1 : 1;
    const u = String(a.last_name ?? "").toLowerCase();
    const w = String(b.last_name ?? "").toLowerCase();
    return u < w ? -1 : u > w ? 1 : 0;
  });
  const departments = new Map((await db.selectFrom("department").select(["id", "name"]).execute()).map((d) => [d.id, d.name]));
  for (const part of chunks(persons, 500)) {
    const links = await db.selectFrom("department_link").select(["person_id", "department_id"]).where("person_id", "in", part.map((p) => p.id)).execute();
    const byPerson = new Map<string, string[]>();
    for (const l of links) {
      if (!byPerson.has(l.person_id)) byPerson.set(l.person_id, []);
      byPerson.get(l.person_id)!.push(departments.get(l.department_id) ?? "");
    }
    yield part.map((p) => [
      p.first_name, p.last_name, p.email, p.phone, p.role, (byPerson.get(p.id) ?? []).sort().join(","), p.studio_name ?? "", p.country ?? "",
      p.contract_type, p.position, p.seniority, p.daily_salary === null || p.daily_salary === undefined ? "" : Math.trunc(Number(p.daily_salary)),
      p.active === true || p.active === 1 ? "yes" : "no",
    ]);
  }
}

export async function* exportProjects(c: AppContext): Batches {
  yield [["Name", "Status"]];
  const rows = await c
    .get("db")
    .selectFrom("project")
    .leftJoin("project_status", "project_status.id", "project.project_status_id")
    .select(["project.name", "project_status.name as status_name"])
    .orderBy("project.name")
    .execute();
  yield rows.map((r) => [r.name, r.status_name ?? ""]);
}

export async function* exportTaskTypes(c: AppContext): Batches {
  yield [["Department", "Name"]];
  const rows = await c
    .get("db")
    .selectFrom("task_type")
    .innerJoin("department", "department.id", "task_type.department_id")
    .select(["department.name as department_name", "task_type.name"])
    .orderBy("department.name")
    .orderBy("task_type.name")
    .execute();
  yield rows.map((r) => [r.department_name, r.name]);
}

async function projectIdsWithStatus(db: Db, names: string[]): Promise<string[]> {
  const rows = await db
    .selectFrom("project")
    .innerJoin("project_status", "project_status.id", "project.project_status_id")
    .select("project.id")
    .where("project_status.name", "in", names)
    .execute();
  return rows.map((r) => r.id);
}

export async function* exportTasks(c: AppContext): Batches {
  const db = c.get("db");
  yield [["Project", "Task Type", "Episode", "Sequence", "Entity Type", "Entity", "Assigner", "Assignees", "Duration", "Estimation", "Start date", "Due date", "WIP date", "Validation date", "Task Status"]];
  const projectIds = await projectIdsWithStatus(db, ["Open"]);
  if (projectIds.length === 0) return;
  const tasks = db
    .selectFrom("task")
    .innerJoin("project", "project.id", "task.project_id")
    .innerJoin("task_type", "task_type.id", "task.task_type_id")
    .innerJoin("task_status", "task_status.id", "task.task_status_id")
    .innerJoin("entity", "entity.id", "task.entity_id")
    .innerJoin("entity_type", "entity_type.id", "entity.entity_type_id")
    .leftJoin("entity as parent", "parent.id", "entity.parent_id")
    .leftJoin("entity as grand", "grand.id", "parent.parent_id")
    .leftJoin("person as assigner", "assigner.id", "task.assigner_id")
    .select([
      "task.id", "project.name as project_name", "task_type.name as task_type_name", "grand.name as episode_name", "parent.name as sequence_name",
      "entity_type.name as entity_type_name", "entity.name as entity_name", "assigner.first_name", "assigner.last_name",
      "task.duration", "task.estimation", "task.start_date", "task.due_date", "task.real_start_date", "task.end_date", "task_status.name as status_name",
    ])
    .where("task.project_id", "in", projectIds)
    .orderBy("project.name")
    .orderBy("task_type.name")
    .orderBy("grand.name")
    .orderBy("parent.name")
    .orderBy("entity_type.name")
    .orderBy("entity.name")
    .orderBy("task.id");
  for await (const part of pages(tasks)) {
    const links = await db
      .selectFrom("task_person_link")
      .innerJoin("person", "person.id", "task_person_link.person_id")
      .select(["task_person_link.task_id", "person.first_name", "person.last_name"])
      .where("task_person_link.task_id", "in", part.map((t) => t.id))
      .execute();
    const names = new Map<string, string[]>();
    for (const l of links) {
      if (!names.has(l.task_id)) names.set(l.task_id, []);
      names.get(l.task_id)!.push(fullName(l));
    }
    yield part.map((t) => [
      t.project_name, t.task_type_name, t.episode_name ?? "", t.sequence_name ?? "", t.entity_type_name, t.entity_name, fullName(t),
      (names.get(t.id) ?? []).join(", "), pythonFloat(t.duration ?? 0), pythonFloat(t.estimation ?? 0), formatDate(t.start_date) ?? "",
      formatDate(t.due_date) ?? "", formatDate(t.real_start_date) ?? "", formatDate(t.end_date) ?? "", t.status_name,
    ]);
  }
}

export async function* exportTimeSpents(c: AppContext): Batches {
  const db = c.get("db");
  yield [["Project", "Person", "Entity Type Name", "Entity", "Task Type", "Date", "Time spent"]];
  const projectIds = await projectIdsWithStatus(db, ["Active", "open", "Open"]);
  if (projectIds.length === 0) return;
  const rows = timeSpentsWithEntities(db)
    .innerJoin("person", "person.id", "time_spent.person_id")
    .innerJoin("task_type", "task_type.id", "task.task_type_id")
    .select([
      "project.name as project_name", "person.first_name", "person.last_name", "entity_type.name as entity_type_name", "entity.id as entity_id",
      "entity.name as entity_name", "task_type.name as task_type_name", "time_spent.date", "time_spent.duration",
    ])
    .where("task.project_id", "in", projectIds)
    .orderBy("time_spent.date")
    .orderBy("person.last_name")
    .orderBy("project.name")
    .orderBy("entity_type.name")
    .orderBy("entity.name")
    .orderBy("time_spent.id");
  for await (const part of pages(rows)) {
    const shotIds = part.filter((r) => r.entity_type_name === "Shot").map((r) => r.entity_id as string);
    const names = shotIds.length ? await fullEntityNames(db, [...new Set(shotIds)]) : new Map();
    yield part.map((r) => [
      r.project_name, fullName(r), r.entity_type_name, names.get(r.entity_id)?.name ?? r.entity_name, r.task_type_name, formatDate(r.date) ?? "",
      pythonFloat(r.duration ?? 0),
    ]);
  }
}

// ---------------------------------------------------------------------------------------------
// Playlist
// ---------------------------------------------------------------------------------------------

/** `yyyy-MM-ddTHH:mm:ss` of a naive UTC date in a timezone. */
function inTimezone(value: unknown, timezone: string | null | undefined): string {
  if (!value) return "";
  const text = String(value).replace(" ", "T").slice(0, 19);
  const date = new Date(`${text}Z`);
  if (Number.isNaN(date.getTime())) return text;
  try {
    const parts = new Intl.DateTimeFormat("en-CA", {
      timeZone: timezone || "Europe/Paris", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
    }).formatToParts(date);
    const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "00";
    return `${get("year")}-${get("month")}-${get("day")}T${get("hour")}:${get("minute")}:${get("second")}`;
  } catch {
    return text;
  }
}

export async function* exportPlaylist(c: AppContext, playlist: Row, project: Row): Batches {
  const db = c.get("db");
  const timezone = c.get("user").timezone;
  const episode = playlist.episode_id ? await db.selectFrom("entity").select("name").where("id", "=", playlist.episode_id).executeTakeFirst() : undefined;
  const context = `${project.name}${episode ? ` - ${episode.name}` : ""} | for ${playlist.for_entity === "shot" || !playlist.for_entity ? "shots" : "assets"}`;
  yield [
    ["Playlist", context, playlist.name, inTimezone(playlist.created_at, timezone), "", "", ""],
    ["", "", "", "", "", "", ""],
    ["Entity name", "Nb Frames", "Task Type", "Retake count", "Revision", "Task Status", "Last comment author", "Last comment date", "Last comment"],
  ];
  const entries = (parseJson(playlist.shots) as Row[] | null) ?? [];
  const entityIds = entries.map((e) => e.entity_id ?? e.id).filter((id): id is string => typeof id === "string");
  const names = await fullEntityNames(db, entityIds);
  const rows: CsvCell[][] = [];
  for (const entry of entries) {
    const entityId = (entry.entity_id ?? entry.id) as string | undefined;
    if (!entityId) continue;
    const entity = await db.selectFrom("entity").select(["nb_frames"]).where("id", "=", entityId).executeTakeFirst();
    const preview = entry.preview_file_id
      ? await db.selectFrom("preview_file").select(["revision", "task_id"]).where("id", "=", entry.preview_file_id).executeTakeFirst()
      : undefined;
    const task = preview?.task_id
      ? await db
          .selectFrom("task")
          .innerJoin("task_type", "task_type.id", "task.task_type_id")
          .innerJoin("task_status", "task_status.id", "task.task_status_id")
          .select(["task.id", "task.retake_count", "task_type.name as task_type_name", "task_status.name as status_name"])
          .where("task.id", "=", preview.task_id)
          .executeTakeFirst()
      : undefined;
    const comment = task
      ? await db
          .selectFrom("comment")
          .leftJoin("person", "person.id", "comment.person_id")
          .select(["comment.text", "comment.created_at", "person.first_name", "person.last_name"])
          .where("comment.object_id", "=", task.id)
          .orderBy("comment.created_at", "desc")
          .executeTakeFirst()
      : undefined;
    rows.push([
      names.get(entityId)?.name ?? "", cellOf(entity?.nb_frames), task?.task_type_name ?? "", cellOf(task?.retake_count), cellOf(preview?.revision),
      task?.status_name ?? "", comment ? fullName(comment) : "", comment ? inTimezone(comment.created_at, timezone) : "", comment?.text ?? "",
    ]);
  }
  yield rows;
}
