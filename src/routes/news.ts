/**
 * Routes of the `news` area of routes.tsv: the news feed of a project, of all the caller's open
 * projects, and one news item (events.md §7). News rows are written by the comment service.
 */
import type { Hono } from "hono";
import type { AppContext, AppEnv } from "../context";
import type { Db } from "../db/database";
import { badRequest, notFound } from "../lib/errors";
import { parseDateTimeInput, queryId, serviceId } from "../lib/ids";
import { parseBoolWord } from "../crud/values";
import { blockVendor, checkProjectAccess, isAdmin } from "../services/permissions";
import { newsPage, newsStats, type NewsFilters } from "../services/news";
import { openProjectIds } from "../services/user-context";
import { loadServiceRow } from "../db/rows";

type Dict = Record<string, unknown>;

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

/** One page of a project feed with `stats` (count of status-changing news per task status). */
async function newsFeed(db: Db, filters: NewsFilters & { page: number; limit: number }): Promise<Dict> {
  const { page, limit, ...criteria } = filters;
  return { ...(await newsPage(db, criteria, page, limit)), stats: await newsStats(db, criteria) };
}

async function loadProject(c: AppContext): Promise<string> {
  const project = await loadServiceRow(c.get("db"), "project", c.req.param("project_id"));
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
    const page = await newsPage(c.get("db"), { projectIds: [projectId], newsId }, 1, 1);
    const [item] = page.data as Dict[];
    if (!item) throw notFound();
    return c.json(item);
  });
}
