/**
 * The search bar (`POST /data/search`): persons, assets and shots whose words start with the
 * words typed, found through the database's own full-text indexes (src/db/search-index.ts).
 * Assets and shots are limited to the caller's open projects (every open project for admins);
 * persons are global, as in Zou.
 */
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import { searchEntityIds, searchPersonIds, queryWords } from "../db/search-index";
import { selectIn } from "../lib/chunks";
import { isAdmin } from "./permissions";
import { presentEntity, requestTypeIds, reservedIdList } from "./entities";
import { presentPersonsById } from "./persons";
import { openProjectIds } from "./user-context";

type Dict = Record<string, unknown>;
type Row = Record<string, any>;

export const SEARCH_INDEX_NAMES = ["assets", "shots", "persons"] as const;
export type SearchIndexName = (typeof SEARCH_INDEX_NAMES)[number];

export interface SearchRequest {
  query: string;
  projectId: string | null;
  limit: number;
  offset: number;
  indexNames: string[];
}

/** Queries shorter than this answer `{}` (Zou's threshold). */
const MIN_QUERY_LENGTH = 3;

/** Rows of `table` by id, in the order of `ids` (unknown ids skipped). */
async function rowsInOrder(db: Db, table: "entity" | "project" | "entity_type" | "preview_file", ids: string[]): Promise<Row[]> {
  if (ids.length === 0) return [];
  const rows = await selectIn(db, table, "id", ids);
  const byId = new Map(rows.map((row) => [row.id as string, row]));
  return ids.map((id) => byId.get(id)).filter((row): row is Row => row !== undefined);
}

async function rowMap(db: Db, table: "entity" | "project" | "entity_type" | "preview_file", ids: Iterable<string | null | undefined>): Promise<Map<string, Row>> {
  const wanted = [...new Set([...ids].filter((id): id is string => typeof id === "string" && id !== ""))];
  return new Map((await rowsInOrder(db, table, wanted)).map((row) => [row.id as string, row]));
}

/** Project names and preview extensions shared by the asset and shot answers. */
async function entityContext(db: Db, rows: Row[]) {
  const projects = await rowMap(db, "project", rows.map((row) => row.project_id));
  const previews = await rowMap(db, "preview_file", rows.map((row) => row.preview_file_id));
  return {
    projects,
    projectName: (row: Row) => (projects.get(row.project_id)?.name as string | undefined) ?? "",
    previewExtension: (row: Row) => (row.preview_file_id ? ((previews.get(row.preview_file_id)?.extension as string | undefined) ?? null) : null),
  };
}

async function presentAssets(db: Db, rows: Row[]): Promise<Dict[]> {
  const context = await entityContext(db, rows);
  const types = await rowMap(db, "entity_type", rows.map((row) => row.entity_type_id));
  return rows.map((row) => ({
    ...presentEntity(row, "Asset"),
    project_name: context.projectName(row),
    asset_type_name: (types.get(row.entity_type_id)?.name as string | undefined) ?? "",
    preview_file_extension: context.previewExtension(row),
  }));
}

async function presentShots(db: Db, rows: Row[]): Promise<Dict[]> {
  const context = await entityContext(db, rows);
  const sequences = await rowMap(db, "entity", rows.map((row) => row.parent_id));
  const episodes = await rowMap(db, "entity", [...sequences.values()].map((row) => row.parent_id));
  return rows.map((row) => {
    const sequence = row.parent_id ? sequences.get(row.parent_id) : undefined;
    const dict: Dict = {
      ...presentEntity(row, "Shot"),
      project_name: context.projectName(row),
      sequence_name: (sequence?.name as string | undefined) ?? "",
      preview_file_extension: context.previewExtension(row),
    };
    const episode = sequence?.parent_id ? episodes.get(sequence.parent_id) : undefined;
    if (context.projects.get(row.project_id)?.production_type === "tvshow" && episode) {
      dict.episode = episode.name;
      dict.episode_id = episode.id;
    }
    return dict;
  });
}

/** The project ids searched: the caller's open projects, narrowed to `projectId` when it is one of them. */
async function searchedProjectIds(c: AppContext, projectId: string | null): Promise<string[]> {
  const user = c.get("user");
  const ids = await openProjectIds(c.get("db"), isAdmin(user) ? null : user.id);
  if (projectId) return ids.includes(projectId) ? [projectId] : [];
  return ids;
}

/** Zou's search answer: one list per requested index (`{}` for a query under three characters). */
export async function search(c: AppContext, request: SearchRequest): Promise<Dict> {
  const result: Dict = {};
  if (request.query.length < MIN_QUERY_LENGTH) return result;
  const db = c.get("db");
  const words = queryWords(request.query);
  const { limit, offset } = request;
  const wanted = new Set(request.indexNames);

  if (wanted.has("persons")) {
    const ids = await searchPersonIds(db, words, limit, offset);
    const persons = await presentPersonsById(db, ids, "minimal");
    result.persons = ids.map((id) => persons.get(id)).filter((person) => person !== undefined);
  }
  if (wanted.has("assets") || wanted.has("shots")) {
    const projectIds = await searchedProjectIds(c, request.projectId);
    const types = await requestTypeIds(c);
    if (wanted.has("assets")) {
      const ids = await searchEntityIds(db, { words, projectIds, entityTypes: { exclude: reservedIdList(types) }, limit, offset });
      result.assets = await presentAssets(db, await rowsInOrder(db, "entity", ids));
    }
    if (wanted.has("shots")) {
      const ids = await searchEntityIds(db, { words, projectIds, entityTypes: { include: [types.Shot] }, limit, offset });
      result.shots = await presentShots(db, await rowsInOrder(db, "entity", ids));
    }
  }
  return result;
}
