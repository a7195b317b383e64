/**
 * CSV import routes (`/import/csv/...`, area `source`) and CSV export routes (`/export/csv/...`,
 * area `export`), csv.md. Imports: multipart `file`, `?update=true`; exports: `;`-separated,
 * streamed, `kitsu_<slug>.csv` file names.
 */
import type { Hono } from "hono";
import type { AppContext, AppEnv } from "../context";
import { csvResponse, type CsvCell } from "../lib/csv";
import { ApiError, forbidden, notFound } from "../lib/errors";
import { isUuid, normalizeId } from "../lib/ids";
import { discardUploads, readMultipart } from "../services/attachments";
import { importCsv, type CsvImportTarget } from "../services/csv-import";
import {
  exportCasting,
  exportEntities,
  exportFileName,
  exportPersons,
  exportPlaylist,
  exportProjects,
  exportTasks,
  exportTaskTypes,
  exportTimeSpents,
} from "../services/csv-export";
import {
  blockVendor,
  checkAdmin,
  checkManager,
  checkManagerProjectAccess,
  checkProjectAccess,
  effectiveRole,
  isAdmin,
  isMember,
  userDepartmentIds,
} from "../services/permissions";
import { getProjectOr404 } from "../services/projects";
import { getRowById } from "../db/rows";

type Row = Record<string, any>;

const BAD_REQUEST = "The browser (or proxy) sent a request that this server could not understand.";

async function rowOr404(c: AppContext, table: "task_type" | "entity" | "playlist" | "project", id: string | undefined): Promise<Row> {
  if (!id || !isUuid(id)) throw notFound();
  const row = await getRowById(c.get("db"), table, normalizeId(id));
  if (!row) throw notFound();
  return row as Row;
}

/** Reads the uploaded `file`, imports it, always removes the temporary copy. 201 with the rows. */
async function runImport(c: AppContext, target: CsvImportTarget): Promise<Response> {
  const { files } = await readMultipart(c, (field) => field === "file");
  try {
    const file = files.find((f) => f.field === "file");
    if (!file) throw new ApiError(400, { error: true, message: BAD_REQUEST });
    const update = String(c.req.query("update") ?? "").toLowerCase() === "true";
    const { json } = await importCsv(c, target, file.tmpPath, { update });
    return c.body(`[${json.join(", ")}]`, 201, { "Content-Type": "application/json" });
  } finally {
    await discardUploads(files);
  }
}

/** Admin; project manager; or supervisor whose departments include the task type's (or none). */
async function checkEstimationAccess(c: AppContext, projectId: string, taskType: Row): Promise<void> {
  if (isAdmin(c.get("user"))) return;
  if (!(await isMember(c, projectId))) throw forbidden();
  const role = await effectiveRole(c, projectId);
  if (role === "manager") return;
  if (role === "supervisor") {
    const departments = await userDepartmentIds(c);
    if (departments.length === 0 || (taskType.department_id && departments.includes(taskType.department_id))) return;
  }
  throw forbidden();
}

function respond(fileName: string, rows: AsyncGenerator<CsvCell[][]>, contentType = "text/csv"): Response {
  return csvResponse(exportFileName(fileName), rows, contentType);
}

const GLOBAL_CONTENT_TYPE = "text/csv; charset=utf-8";

function todayIn(timezone: string | null | undefined): string {
  try {
    return new Intl.DateTimeFormat("en-CA", { timeZone: timezone || "Europe/Paris", year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
  } catch {
    return new Date().toISOString().slice(0, 10);
  }
}

export function registerCsv(app: Hono<AppEnv>): void {
  // Imports ---------------------------------------------------------------------------------
  app.post("/import/csv/persons", async (c) => {
    checkAdmin(c);
    return runImport(c, { kind: "persons" });
  });
  for (const kind of ["assets", "shots", "edits", "casting"] as const) {
    app.post(`/import/csv/projects/:project_id/${kind}`, async (c) => {
      const projectId = c.req.param("project_id");
      if (!isUuid(projectId)) throw notFound();
      await checkManagerProjectAccess(c, normalizeId(projectId));
      const project = await getProjectOr404(c, projectId);
      return runImport(c, { kind, project });
    });
  }
  const estimations = async (c: AppContext, episodeParam: string | null) => {
    const project = await rowOr404(c, "project", c.req.param("project_id"));
    const taskType = await rowOr404(c, "task_type", c.req.param("task_type_id"));
    await checkEstimationAccess(c, project.id, taskType);
    let episodeId: string | null = null;
    if (episodeParam && episodeParam !== "main" && episodeParam !== "all") episodeId = (await rowOr404(c, "entity", episodeParam)).id;
    return runImport(c, { kind: "estimations", project, taskType, episodeId });
  };
  app.post("/import/csv/projects/:project_id/task-types/:task_type_id/estimations", (c) => estimations(c, null));
  app.post("/import/csv/projects/:project_id/episodes/:episode_id/task-types/:task_type_id/estimations", (c) =>
    estimations(c, c.req.param("episode_id")),
  );

  // Exports ---------------------------------------------------------------------------------
  for (const kind of ["assets", "shots", "edits"] as const) {
    app.get(`/export/csv/projects/:project_id/${kind}.csv`, async (c) => {
      const project = await rowOr404(c, "project", c.req.param("project_id"));
      await checkProjectAccess(c, project.id);
      await blockVendor(c, project.id);
      const rows = exportEntities(c, kind, project, c.req.query());
      await primeHeader(rows);
      return respond(`${project.name} ${kind}`, rows);
    });
  }
  app.get("/export/csv/projects/:project_id/casting.csv", async (c) => {
    const project = await rowOr404(c, "project", c.req.param("project_id"));
    await checkProjectAccess(c, project.id);
    await blockVendor(c, project.id);
    const rows = exportCasting(c, project, c.req.query());
    await primeHeader(rows);
    return respond(`${project.name} casting`, rows);
  });
  app.get("/export/csv/playlists/:playlist_id", async (c) => {
    const playlist = await rowOr404(c, "playlist", c.req.param("playlist_id"));
    const project = await rowOr404(c, "project", playlist.project_id);
    await checkProjectAccess(c, project.id);
    const role = await effectiveRole(c, project.id);
    const allowed = role === "admin" || role === "manager" || role === "supervisor" || (role === "client" && Boolean(playlist.for_client));
    if (!allowed) throw forbidden();
    return respond(`${project.name} playlist ${playlist.name}`, exportPlaylist(c, playlist, project));
  });
  app.get("/export/csv/persons.csv", (c) => {
    checkManager(c);
    return respond("people_export", exportPersons(c), GLOBAL_CONTENT_TYPE);
  });
  app.get("/export/csv/projects.csv", (c) => {
    checkManager(c);
    return respond("export", exportProjects(c), GLOBAL_CONTENT_TYPE);
  });
  app.get("/export/csv/tasks.csv", (c) => {
    checkManager(c);
    return respond("tasks_export", exportTasks(c), GLOBAL_CONTENT_TYPE);
  });
  app.get("/export/csv/time-spents.csv", (c) => {
    checkManager(c);
    return respond(`${todayIn(c.get("user").timezone)}_open_projects_time_spents_export`, exportTimeSpents(c), GLOBAL_CONTENT_TYPE);
  });
  app.get("/export/csv/task-types.csv", (c) => {
    checkManager(c);
    return respond("export", exportTaskTypes(c), GLOBAL_CONTENT_TYPE);
  });
}

/**
 * Runs an export up to its header, so bad query parameters are a 400 before the 200 starts (the
 * header batch is replayed by the stream).
 */
async function primeHeader(rows: AsyncGenerator<CsvCell[][]>): Promise<void> {
  const first = await rows.next();
  const original = rows.next.bind(rows);
  let replayed = false;
  rows.next = async () => {
    if (!replayed) {
      replayed = true;
      return first;
    }
    return original();
  };
}
