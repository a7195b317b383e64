/**
 * Shots (the `shots` area of routes.tsv): lists with their project and sequence names, the full
 * shot, shots of an episode, scene links and frame counts set from previews.
 */
import type { AppContext } from "../context";
import { transact } from "../db/transaction";
import { loadRelations, type AnySelect } from "../db/rows";
import { emitEvent } from "../lib/events";
import { applyCriteria, presentEntities, presentEntity, requestTypeIds, whereAssigned, type Dict, type EntityRow } from "./entities";
import { writeEntity } from "./entity-writes";
import { inSequencesOfEpisode, projectName } from "./sequences";
import { roundHalfEven } from "./shot-quotas";
import { rowsToDicts, shotsWithTasks } from "./with-tasks";

/**
 * `get_shots` / `get_scenes`: rows of a kind filtered by the criteria, joined to their project and
 * sequence (`project_name`, `sequence_name`), sorted by name.
 */
export async function entitiesWithSequenceNames(c: AppContext, kind: "Shot" | "Scene", params: Record<string, string>, assignedTo?: string): Promise<Dict[]> {
  const types = await requestTypeIds(c);
  let q = c
    .get("db")
    .selectFrom("entity")
    .innerJoin("project", "project.id", "entity.project_id")
    .innerJoin("entity as sequence", "sequence.id", "entity.parent_id")
    .selectAll("entity")
    .select(["project.name as __project_name", "sequence.name as __sequence_name"])
    .where("entity.entity_type_id", "=", types[kind]) as AnySelect;
  q = applyCriteria(q, params);
  if (assignedTo) q = whereAssigned(q, assignedTo);
  const rows = (await q.execute()) as Dict[];
  const dicts: Dict[] = rows.map((row) => ({ ...presentEntity(row, kind), project_name: row.__project_name, sequence_name: row.__sequence_name }));
  dicts.sort((a, b) => String(a.name).toLowerCase().localeCompare(String(b.name).toLowerCase()));
  return dicts;
}

/** A shot as its with-tasks entry (episode, sequence, fps, frame range, tasks) with its own fields and relations. */
export async function fullShot(c: AppContext, row: EntityRow): Promise<Dict> {
  const listed = rowsToDicts(await shotsWithTasks(c, { id: row.id }));
  const base: Dict = listed[0] ?? {
    episode_id: null,
    episode_name: "",
    fps: null,
    frame_in: null,
    frame_out: null,
    project_name: await projectName(c, row.project_id),
    sequence_id: null,
    sequence_name: null,
    tasks: [],
  };
  return { ...base, ...presentEntity(row, "Shot"), ...(await loadRelations(c.get("db"), "entity", [row.id])).get(row.id) };
}

/** Shots of the episode's sequences, sorted by sequence name then shot name. */
export async function shotsOfEpisode(c: AppContext, episodeId: string, relations: boolean): Promise<Dict[]> {
  const types = await requestTypeIds(c);
  const rows = (await c
    .get("db")
    .selectFrom("entity")
    .innerJoin("entity as sequence", "sequence.id", "entity.parent_id")
    .selectAll("entity")
    .where("entity.entity_type_id", "=", types.Shot)
    .where("sequence.parent_id", "=", episodeId)
    .orderBy("sequence.name")
    .orderBy("entity.name")
    .execute()) as Dict[];
  return presentEntities(c.get("db"), rows, "Shot", relations);
}

// ---------------------------------------------------------------------------------------------
// Scene links
// ---------------------------------------------------------------------------------------------

async function emitSceneLink(c: AppContext, name: string, scene: EntityRow, shot: EntityRow): Promise<void> {
  await emitEvent(c.get("db"), c.get("events"), name, { scene_id: scene.id, shot_id: shot.id }, { projectId: scene.project_id, userId: c.get("user").id });
}

/** Links the shot to the scene (its `source_id`) and emits `shot:add-to-scene`, in one transaction. */
export async function addShotToScene(c: AppContext, scene: EntityRow, shot: EntityRow): Promise<EntityRow> {
  return transact(c, async () => {
    const row = await writeEntity(c, shot, { source_id: scene.id });
    await emitSceneLink(c, "shot:add-to-scene", scene, shot);
    return row;
  });
}

/** Unlinks the shot from the scene and emits `shot:remove-from-scene`, in one transaction. */
export async function removeShotFromScene(c: AppContext, scene: EntityRow, shot: EntityRow): Promise<void> {
  await transact(c, async () => {
    await writeEntity(c, shot, { source_id: null });
    await emitSceneLink(c, "shot:remove-from-scene", scene, shot);
  });
}

// ---------------------------------------------------------------------------------------------
// Frame counts from previews
// ---------------------------------------------------------------------------------------------

/** Sets each shot's nb_frames from the duration of the newest preview of the task type. */
export async function setShotFramesFromPreviews(c: AppContext, projectId: string, taskTypeId: string, episodeId: string | undefined, fps: number): Promise<Dict[]> {
  const types = await requestTypeIds(c);
  let q = c
    .get("db")
    .selectFrom("preview_file")
    .innerJoin("task", "task.id", "preview_file.task_id")
    .innerJoin("entity", "entity.id", "task.entity_id")
    .select(["entity.id as shot_id", "preview_file.duration", "preview_file.created_at"])
    .where("entity.project_id", "=", projectId)
    .where("entity.entity_type_id", "=", types.Shot)
    .where("task.task_type_id", "=", taskTypeId) as AnySelect;
  if (episodeId) {
    q = inSequencesOfEpisode(q, episodeId);
  }
  const rows = (await q.orderBy("preview_file.created_at", "desc").execute()) as Dict[];
  const newest = new Map<string, Dict>();
  for (const row of rows) if (!newest.has(row.shot_id as string)) newest.set(row.shot_id as string, row);
  const updates: Dict[] = [];
  for (const [shotId, row] of newest) {
    if (row.duration === null || row.duration === undefined) continue;
    updates.push({ id: shotId, nb_frames: roundHalfEven(Number(row.duration) * fps) });
  }
  if (updates.length > 0) {
    await transact(c, async (db) => {
      for (const update of updates) {
        const shot = (await db.selectFrom("entity").selectAll().where("id", "=", update.id as string).executeTakeFirstOrThrow()) as EntityRow;
        await writeEntity(c, shot, { nb_frames: update.nb_frames });
      }
    });
  }
  return updates;
}
