/** Reads of the `edits` area of routes.tsv that the with-tasks and entity services do not cover. */
import type { AppContext } from "../context";
import { presentEntities, requestTypeIds, type Dict } from "./entities";

/** The edits whose parent is the episode, by name, as entity dicts (with relations if asked). */
export async function editsOfEpisode(c: AppContext, episodeId: string, relations: boolean): Promise<Dict[]> {
  const types = await requestTypeIds(c);
  const rows = (await c
    .get("db")
    .selectFrom("entity")
    .selectAll()
    .where("entity_type_id", "=", types.Edit)
    .where("parent_id", "=", episodeId)
    .orderBy("name")
    .execute()) as Dict[];
  return presentEntities(c.get("db"), rows, "Edit", relations);
}
