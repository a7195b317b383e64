/** Zou's full entity names (`names_service.get_full_entity_name`), shared by news, notifications, chats and quotas. */
import type { Db } from "../db/database";
import { selectIn } from "../lib/chunks";

type Row = Record<string, any>;

export interface EntityName {
  name: string;
  episodeId: string | null;
}

/**
 * Full display names of entities (`names_service.get_full_entity_name`): shots and scenes
 * "[Episode / ]Sequence / Shot", sequences "[Episode / ]Sequence", assets "Type / Asset" (their
 * episode is `source_id`), other kinds their own name. Three flat queries for any number of ids.
 */
export async function fullEntityNames(db: Db, ids: string[]): Promise<Map<string, EntityName>> {
  const result = new Map<string, EntityName>();
  const entities = await selectIn(db, "entity", "id", ids);
  if (entities.length === 0) return result;
  const parents = await selectIn(db, "entity", "id", entities.map((e) => e.parent_id));
  const grandParents = await selectIn(db, "entity", "id", parents.map((e) => e.parent_id));
  const byId = new Map<string, Row>([...entities, ...parents, ...grandParents].map((e) => [e.id, e]));
  const types = await selectIn(db, "entity_type", "id", [...byId.values()].map((e) => e.entity_type_id));
  const typeName = new Map<string, string>(types.map((t) => [t.id, t.name]));
  for (const entity of entities) {
    const kind = typeName.get(entity.entity_type_id);
    const parent = entity.parent_id ? byId.get(entity.parent_id) : undefined;
    let name: string = entity.name;
    let episodeId: string | null = null;
    if (kind === "Shot" || kind === "Scene") {
      const episode = parent?.parent_id ? byId.get(parent.parent_id) : undefined;
      if (parent && episode) {
        name = `${episode.name} / ${parent.name} / ${entity.name}`;
        episodeId = episode.id;
      } else if (parent) {
        name = `${parent.name} / ${entity.name}`;
      }
    } else if (kind === "Sequence" || kind === "Edit") {
      if (parent) {
        name = `${parent.name} / ${entity.name}`;
        episodeId = parent.id;
      }
    } else if (kind === "Episode") {
      episodeId = entity.id;
    } else if (kind !== "Concept") {
      name = `${kind ?? ""} / ${entity.name}`;
      episodeId = entity.source_id ?? null;
    }
    result.set(entity.id, { name, episodeId });
  }
  return result;
}
