/**
 * Routes of the `news` area of routes.tsv: the news feed of a project, of all the caller's open
 * projects, and one news item (events.md §7). News rows are written by the comment service.
 */
import type { Hono } from "hono";
import { sql } from "kysely";
import type { AppContext, AppEnv } from "../context";
import type { Db } from "../db/database";
import { serialize } from "../db/serialize";
import { badRequest, notFound } from "../lib/errors";
import { chunks } from "../lib/chunks";
import { parseDateTimeInput, queryId, serviceId } from "../lib/ids";
import { parseBoolWord } from "../crud/values";
import { blockVendor, checkProjectAccess, isAdmin } from "../services/permissions";
import { fullEntityNames } from "../services/entity-names";
import { openProjectIds, shortPersonsMap } from "../services/user-context";

type Row = Record<string, any>;
type Dict = Record<string, unknown>;

interface NewsFilters {
  projectIds: string[];
  newsId?: string;
  taskTypeId: string | null;
  taskStatusId: string | null;
  authorId: string | null;
  episodeId: string | null;
  onlyPreview: boolean;
  after: string | null;
  before: string | null;
}

function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw badRequest(`${name} must be a positive integer.`);
  return Number(value);
}

function dateArg(value: string | undefined, name: string): string | null {
  if (value === undefined || value === "") return null;
  const parsed = parseDateTimeInput(value);
  if (!parsed) throw badRequest(`Wrong date format for ${name}: ${value}`);
  return parsed;
}

/** The feed filters of the query string (400 for malformed ids, dates, numbers or booleans). */
function readFilters(c: AppContext, projectIds: string[]): NewsFilters & { page: number; limit: number } {
  const q = c.req.query();
  const id = (name: string) => (q[name] ? queryId(q[name]!) : null);
  let onlyPreview = false;
  if (q.only_preview !== undefined && q.only_preview !== "") {
    const parsed = parseBoolWord(q.only_preview);
    if (parsed === null) throw badRequest("only_preview must be a boolean.");
    onlyPreview = parsed;
  }
  return {
    projectIds,
    taskTypeId: id("task_type_id"),
    taskStatusId: id("task_status_id"),
    authorId: id("person_id"),
    episodeId: id("episode_id"),
    onlyPreview,
    after: dateArg(q.after, "after"),
    before: dateArg(q.before, "before"),
    page: positiveInt(q.page, "page", 1),
    limit: positiveInt(q.limit, "limit", 50),
  };
}

/** News joined with their task, project, entity, comment and preview, filtered. */
function newsQuery(db: Db, filters: NewsFilters) {
  let query = db
    .selectFrom("news")
    .innerJoin("task", "task.id", "news.task_id")
    .innerJoin("project", "project.id", "task.project_id")
    .innerJoin("entity", "entity.id", "task.entity_id")
    .leftJoin("comment", "comment.id", "news.comment_id")
    .leftJoin("preview_file", "preview_file.id", "news.preview_file_id")
    .where(filters.projectIds.length ? (eb) => eb("task.project_id", "in", filters.projectIds) : sql<boolean>`1 = 0`);
  if (filters.newsId) query = query.where("news.id", "=", filters.newsId);
  if (filters.episodeId) {
    const episodeId = filters.episodeId;
    query = query.where("entity.parent_id", "in", (eb) => eb.selectFrom("entity as sequence").select("sequence.id").where("sequence.parent_id", "=", episodeId));
  }
  if (filters.taskStatusId) query = query.where("comment.task_status_id", "=", filters.taskStatusId);
  if (filters.taskTypeId) query = query.where("task.task_type_id", "=", filters.taskTypeId);
  if (filters.authorId) query = query.where("news.author_id", "=", filters.authorId);
  if (filters.onlyPreview) query = query.where("news.preview_file_id", "is not", null);
  if (filters.after) query = query.where("news.created_at", ">", filters.after);
  if (filters.before) query = query.where("news.created_at", "<", filters.before);
  return query;
}

/** One page of the feed, with `stats` (count of status-changing news per task status). */
async function newsFeed(db: Db, filters: NewsFilters & { page: number; limit: number }): Promise<Dict> {
  const base = newsQuery(db, filters);
  const countRow = await base.select((eb) => eb.fn.count<number>("news.id").as("total")).executeTakeFirst();
  const total = Number(countRow?.total ?? 0);
  const offset = (filters.page - 1) * filters.limit;
  const rows = (await base
    .selectAll("news")
    .select([
      "project.id as project_id", "project.name as project_name", "task.task_type_id", "comment.task_status_id",
      "task.entity_id as task_entity_id", "preview_file.extension as preview_file_extension",
      "preview_file.revision as preview_file_revision", "entity.preview_file_id as entity_preview_file_id",
    ])
    .orderBy("news.created_at", "desc")
    .orderBy("news.id", "desc")
    .limit(filters.limit)
    .offset(offset)
    .execute()) as Row[];
  const names = await fullEntityNames(db, rows.map((r) => r.task_entity_id));
  const authors = await shortPersonsMap(db, rows.map((r) => r.author_id));
  const data: Dict[] = rows.map((row) => {
    const news = serialize("news", row);
    const name = names.get(row.task_entity_id);
    return {
      id: news.id,
      type: "News",
      author_id: news.author_id,
      comment_id: news.comment_id,
      task_id: news.task_id,
      task_type_id: row.task_type_id,
      task_status_id: row.task_status_id ?? null,
      task_entity_id: row.task_entity_id,
      preview_file_id: news.preview_file_id,
      preview_file_extension: row.preview_file_extension ?? null,
      preview_file_revision: row.preview_file_revision ?? null,
      project_id: row.project_id,
      project_name: row.project_name,
      created_at: news.created_at,
      change: news.change,
      full_entity_name: name?.name ?? "",
      episode_id: name?.episodeId ?? null,
      entity_preview_file_id: row.entity_preview_file_id ?? null,
      person: authors.get(row.author_id) ?? null,
    };
  });
  if (filters.onlyPreview) await attachPreviewFiles(db, data);
  const statsRows = await newsQuery(db, filters)
    .where("news.change", "=", true as any)
    .where("comment.task_status_id", "is not", null)
    .select((eb) => ["comment.task_status_id", eb.fn.count<number>("news.id").as("count")])
    .groupBy("comment.task_status_id")
    .execute();
  const stats: Record<string, number> = {};
  for (const row of statsRows) stats[row.task_status_id!] = Number(row.count);
  return { data, total, nb_pages: Math.ceil(total / filters.limit), limit: filters.limit, offset, page: filters.page, stats };
}

/** `preview_files` of each news: the previews of the news' task at the same revision (minimal form). */
async function attachPreviewFiles(db: Db, data: Dict[]): Promise<void> {
  const taskIds = [...new Set(data.map((d) => d.task_id as string))];
  const byKey = new Map<string, Dict[]>();
  for (const part of chunks(taskIds)) {
    const previews = await db
      .selectFrom("preview_file")
      .select(["id", "name", "extension", "revision", "position", "status", "task_id"])
      .where("task_id", "in", part)
      .orderBy("task_id")
      .orderBy("revision")
      .orderBy("position")
      .execute();
    for (const preview of previews) {
      const key = `${preview.task_id}-${preview.revision}`;
      const list = byKey.get(key) ?? [];
      list.push({ id: preview.id, name: preview.name, extension: preview.extension, revision: preview.revision, position: preview.position, status: preview.status });
      byKey.set(key, list);
    }
  }
  for (const entry of data) entry.preview_files = byKey.get(`${entry.task_id}-${entry.preview_file_revision}`) ?? [];
}

async function loadProject(c: AppContext): Promise<string> {
  const id = serviceId(c.req.param("project_id"));
  const project = await c.get("db").selectFrom("project").select("id").where("id", "=", id).executeTakeFirst();
  if (!project) throw notFound();
  return project.id;
}

export function registerNews(app: Hono<AppEnv>): void {
  app.get("/data/projects/news", async (c) => {
    const db = c.get("db");
    const user = c.get("user");
    let projectIds = await openProjectIds(db, isAdmin(user) ? null : user.id);
    const requested = c.req.query("project_id");
    if (requested) {
      const id = queryId(requested);
      projectIds = projectIds.includes(id) ? [id] : [];
    }
    return c.json(await newsFeed(db, readFilters(c, projectIds)));
  });

  app.get("/data/projects/:project_id/news", async (c) => {
    const projectId = await loadProject(c);
    await checkProjectAccess(c, projectId);
    return c.json(await newsFeed(c.get("db"), readFilters(c, [projectId])));
  });

  app.get("/data/projects/:project_id/news/:news_id", async (c) => {
    const projectId = await loadProject(c);
    await checkProjectAccess(c, projectId);
    await blockVendor(c, projectId);
    const newsId = serviceId(c.req.param("news_id"));
    const feed = await newsFeed(c.get("db"), {
      projectIds: [projectId], newsId, taskTypeId: null, taskStatusId: null, authorId: null, episodeId: null,
      onlyPreview: false, after: null, before: null, page: 1, limit: 1,
    });
    const [item] = feed.data as Dict[];
    if (!item) throw notFound();
    return c.json(item);
  });
}
