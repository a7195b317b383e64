/**
 * The news feed (events.md §7): one query and one item shape for the project feeds, one news item
 * and the news of an entity. News rows are written by the comment service.
 */
import { sql } from "kysely";
import type { Db } from "../db/database";
import { serialize } from "../db/serialize";
import { chunks } from "../lib/chunks";
import { fullEntityNames } from "./entity-names";
import { presentPersonsById } from "./persons";
import { ascNullsLast } from "../db/order";

type Row = Record<string, any>;
type Dict = Record<string, unknown>;

export interface NewsFilters {
  /** The projects the news may come from (none: no news); undefined: every project. */
  projectIds?: string[];
  newsId?: string;
  entityId?: string;
  taskTypeId?: string | null;
  taskStatusId?: string | null;
  authorId?: string | null;
  episodeId?: string | null;
  onlyPreview?: boolean;
  after?: string | null;
  before?: string | null;
}

/** News joined with their task, project, entity, comment and preview, filtered. */
function newsQuery(db: Db, filters: NewsFilters) {
  let query = db
    .selectFrom("news")
    .innerJoin("task", "task.id", "news.task_id")
    .innerJoin("project", "project.id", "task.project_id")
    .innerJoin("entity", "entity.id", "task.entity_id")
    .leftJoin("comment", "comment.id", "news.comment_id")
    .leftJoin("preview_file", "preview_file.id", "news.preview_file_id");
  const projectIds = filters.projectIds;
  if (projectIds) query = query.where(projectIds.length ? (eb) => eb("task.project_id", "in", projectIds) : sql<boolean>`1 = 0`);
  if (filters.newsId) query = query.where("news.id", "=", filters.newsId);
  if (filters.entityId) query = query.where("entity.id", "=", filters.entityId);
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

/**
 * One page of news, newest first, as `{data, total, nb_pages, limit, offset, page}`: items with
 * their task, project, full entity name and short author (`person`), plus `preview_files` with
 * `onlyPreview`.
 */
export async function newsPage(db: Db, filters: NewsFilters, page = 1, limit = 50): Promise<Dict> {
  const base = newsQuery(db, filters);
  const countRow = await base.select((eb) => eb.fn.count<number>("news.id").as("total")).executeTakeFirst();
  const total = Number(countRow?.total ?? 0);
  const offset = (page - 1) * limit;
  const rows = (await base
    .selectAll("news")
    .select([
      "project.id as project_id", "project.name as project_name", "task.task_type_id", "comment.task_status_id",
      "task.entity_id as task_entity_id", "preview_file.extension as preview_file_extension",
      "preview_file.revision as preview_file_revision", "entity.preview_file_id as entity_preview_file_id",
    ])
    .orderBy("news.created_at", "desc")
    .orderBy("news.updated_at", "desc")
    .orderBy("news.id", "desc")
    .limit(limit)
    .offset(offset)
    .execute()) as Row[];
  const names = await fullEntityNames(db, rows.map((r) => r.task_entity_id));
  const authors = await presentPersonsById(db, rows.map((r) => r.author_id), "author");
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
  return { data, total, nb_pages: Math.ceil(total / limit), limit, offset, page };
}

/** Count of status-changing news per task status (the feed's `stats`). */
export async function newsStats(db: Db, filters: NewsFilters): Promise<Record<string, number>> {
  const rows = await newsQuery(db, filters)
    .where("news.change", "=", true as any)
    .where("comment.task_status_id", "is not", null)
    .select((eb) => ["comment.task_status_id", eb.fn.count<number>("news.id").as("count")])
    .groupBy("comment.task_status_id")
    .execute();
  const stats: Record<string, number> = {};
  for (const row of rows) stats[row.task_status_id!] = Number(row.count);
  return stats;
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
      .orderBy("revision", ascNullsLast)
      .orderBy("position", ascNullsLast)
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
