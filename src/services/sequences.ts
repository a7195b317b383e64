/**
 * Episodes, sequences and scenes (the `shots` area of routes.tsv): lists filtered by criteria,
 * the lists a vendor sees (what holds a task assigned to them), full entities with their project,
 * sequence and episode names, and the tasks and task types below an episode or a sequence.
 */
import type { AppContext } from "../context";
import type { AnySelect } from "../db/rows";
import { applyCriteria, presentEntities, presentEntity, requestTypeIds, taskTypesOf, whereAssigned, type Dict, type EntityKind, type EntityRow } from "./entities";
import { taskDicts } from "./tasks";

/** Rows of a kind filtered by the criteria, sorted by name (`get_sequences`, `get_episodes`). */
export async function entitiesOfKind(c: AppContext, kind: EntityKind, params: Record<string, string>): Promise<Dict[]> {
  const types = await requestTypeIds(c);
  if (kind === "Asset") return [];
  let q = c.get("db").selectFrom("entity").selectAll("entity").where("entity.entity_type_id", "=", types[kind]) as AnySelect;
  q = applyCriteria(q, params);
  const rows = (await q.orderBy("entity.name").execute()) as Dict[];
  return presentEntities(c.get("db"), rows, kind);
}

/** Sequences holding a shot with a task assigned to the caller (of a project or an episode). */
export async function assignedSequences(c: AppContext, scope: { projectId?: string; episodeId?: string }): Promise<Dict[]> {
  const types = await requestTypeIds(c);
  let q = c
    .get("db")
    .selectFrom("entity")
    .selectAll("entity")
    .where("entity.entity_type_id", "=", types.Sequence)
    .where((eb: any) => eb.exists(whereAssigned(eb.selectFrom("entity as shot").select("shot.id").whereRef("shot.parent_id", "=", "entity.id"), c.get("user").id, "shot.id"))) as AnySelect;
  if (scope.projectId) q = q.where("entity.project_id", "=", scope.projectId);
  if (scope.episodeId) q = q.where("entity.parent_id", "=", scope.episodeId);
  const rows = (await q.orderBy("entity.name").execute()) as Dict[];
  return presentEntities(c.get("db"), rows, "Sequence");
}

/** Episodes holding a shot, or being the episode of an asset, with a task assigned to the caller. */
export async function assignedEpisodes(c: AppContext, projectId: string): Promise<Dict[]> {
  const types = await requestTypeIds(c);
  const userId = c.get("user").id;
  const rows = (await c
    .get("db")
    .selectFrom("entity")
    .selectAll("entity")
    .where("entity.entity_type_id", "=", types.Episode)
    .where("entity.project_id", "=", projectId)
    .where((eb: any) =>
      eb.or([
        eb.exists(
          whereAssigned(
            eb.selectFrom("entity as sequence").innerJoin("entity as shot", "shot.parent_id", "sequence.id").select("shot.id").whereRef("sequence.parent_id", "=", "entity.id"),
            userId,
            "shot.id",
          ),
        ),
        eb.exists(whereAssigned(eb.selectFrom("entity as asset").select("asset.id").whereRef("asset.source_id", "=", "entity.id"), userId, "asset.id")),
      ]),
    )
    .orderBy("entity.name")
    .execute()) as Dict[];
  return presentEntities(c.get("db"), rows, "Episode");
}

// ---------------------------------------------------------------------------------------------
// Full entities
// ---------------------------------------------------------------------------------------------

export async function projectName(c: AppContext, projectId: string): Promise<string | null> {
  const row = await c.get("db").selectFrom("project").select("name").where("id", "=", projectId).executeTakeFirst();
  return row?.name ?? null;
}

async function withEpisode(c: AppContext, dict: Dict, parentId: string | null): Promise<void> {
  if (!parentId) return;
  const episode = await c.get("db").selectFrom("entity").select(["id", "name"]).where("id", "=", parentId).executeTakeFirst();
  if (episode) {
    dict.episode_id = episode.id;
    dict.episode_name = episode.name;
  }
}

/** An episode with its `project_name`. */
export async function fullEpisode(c: AppContext, row: EntityRow): Promise<Dict> {
  return { ...presentEntity(row, "Episode"), project_name: await projectName(c, row.project_id) };
}

/** A sequence with its `project_name`, `episode_id` and `episode_name`. */
export async function fullSequence(c: AppContext, row: EntityRow): Promise<Dict> {
  const dict: Dict = { ...presentEntity(row, "Sequence"), project_name: await projectName(c, row.project_id) };
  await withEpisode(c, dict, row.parent_id);
  return dict;
}

/** A scene with its `project_name`, sequence and episode ids and names. */
export async function fullScene(c: AppContext, row: EntityRow): Promise<Dict> {
  const dict: Dict = { ...presentEntity(row, "Scene"), project_name: await projectName(c, row.project_id) };
  if (row.parent_id) {
    const sequence = await c.get("db").selectFrom("entity").select(["id", "name", "parent_id"]).where("id", "=", row.parent_id).executeTakeFirst();
    if (sequence) {
      dict.sequence_id = sequence.id;
      dict.sequence_name = sequence.name;
      await withEpisode(c, dict, sequence.parent_id);
    }
  }
  return dict;
}

// ---------------------------------------------------------------------------------------------
// Tasks and task types below an episode or a sequence
// ---------------------------------------------------------------------------------------------

/** Narrows a query on `entity` to the entities whose parent is a sequence of the episode. */
export function inSequencesOfEpisode(q: AnySelect, episodeId: string): AnySelect {
  return q.where("entity.parent_id", "in", (eb: any) => eb.selectFrom("entity as sequence").select("sequence.id").where("sequence.parent_id", "=", episodeId));
}

/** Tasks of the entity itself (an episode's or a sequence's own tasks). */
export async function ownTasks(c: AppContext, entityId: string, options: { relations?: boolean; assignedTo?: string }): Promise<Dict[]> {
  return taskDicts(c, (q) => q.where("task.entity_id", "=", entityId), options);
}

/** Task types used by the tasks of the shots of the episode's sequences. */
export async function episodeTaskTypes(c: AppContext, episodeId: string): Promise<Dict[]> {
  return taskTypesOf(c, (q) => inSequencesOfEpisode(q, episodeId));
}

/** Task types used by the tasks of the sequence's shots. */
export async function sequenceTaskTypes(c: AppContext, sequenceId: string): Promise<Dict[]> {
  return taskTypesOf(c, (q) => q.where("entity.parent_id", "=", sequenceId));
}

/** Tasks of the shots of the episode's sequences. */
export async function episodeShotTasks(c: AppContext, episodeId: string, relations: boolean): Promise<Dict[]> {
  const types = await requestTypeIds(c);
  return taskDicts(c, (q) => inSequencesOfEpisode(q.where("entity.entity_type_id", "=", types.Shot), episodeId), { relations });
}

/** Tasks of the assets of the episode (assets whose `source_id` is the episode). */
export async function episodeAssetTasks(c: AppContext, episodeId: string, relations: boolean): Promise<Dict[]> {
  const types = await requestTypeIds(c);
  const reserved = Object.values(types);
  return taskDicts(c, (q) => q.where("entity.entity_type_id", "not in", reserved).where("entity.source_id", "=", episodeId), { relations });
}

/** Tasks of the sequence's shots. */
export async function sequenceShotTasks(c: AppContext, sequenceId: string, relations: boolean): Promise<Dict[]> {
  const types = await requestTypeIds(c);
  return taskDicts(c, (q) => q.where("entity.entity_type_id", "=", types.Shot).where("entity.parent_id", "=", sequenceId), { relations });
}
