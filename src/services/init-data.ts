/** Zou's initial data (models.md §5): statuses, entity types, departments and task types, get-or-create. */
import type { Db } from "../db/database";
import { newId, utcNow } from "../lib/ids";

export type Domain = "3d" | "2d" | "vfx" | "games";

const TASK_STATUSES = [
  { name: "Todo", short_name: "todo", color: "#f5f5f5", is_default: true },
  { name: "Work In Progress", short_name: "wip", color: "#3273dc", is_wip: true },
  { name: "Waiting For Approval", short_name: "wfa", color: "#ab26ff", is_feedback_request: true },
  { name: "Retake", short_name: "retake", color: "#ff3860", is_retake: true },
  { name: "Done", short_name: "done", color: "#22d160", is_done: true },
  { name: "Ready To Start", short_name: "ready", color: "#fbc02d" },
  { name: "Neutral", short_name: "neutral", color: "#CCCCCC", is_default: true, for_concept: true },
  { name: "Approved", short_name: "approved", color: "#66BB6A", for_concept: true },
  { name: "Rejected", short_name: "rejected", color: "#E81123", for_concept: true },
];

const ASSET_TYPES: Record<Domain, string[]> = {
  "3d": ["Character", "Prop", "Environment", "FX"],
  "2d": ["Character", "Prop", "Background", "FX"],
  vfx: ["Character", "Prop", "Environment", "FX", "Vehicle"],
  games: ["Character", "Prop", "Environment", "FX", "UI"],
};

const DEPARTMENTS: Record<Domain, [string, string][]> = {
  "3d": [["Modeling", "#78909C"], ["Animation", "#009688"], ["FX", "#26C6DA"], ["Compositing", "#F06292"], ["Concept", "#8D6E63"], ["Layout", "#7CB342"]],
  "2d": [["Concept", "#8D6E63"], ["Layout", "#7CB342"], ["Animation", "#009688"], ["Compositing", "#F06292"]],
  vfx: [["Modeling", "#78909C"], ["Animation", "#009688"], ["FX", "#26C6DA"], ["Compositing", "#F06292"], ["Concept", "#8D6E63"], ["Layout", "#7CB342"], ["Matchmove", "#5C6BC0"], ["DMP", "#8D6E63"]],
  games: [["Game Design", "#7B1FA2"], ["Level Design", "#00897B"], ["Character Art", "#78909C"], ["Environment Art", "#43A047"], ["Animation", "#009688"], ["VFX", "#26C6DA"], ["QA", "#E53935"]],
};

/** [name, department, color, priority, for_entity] */
type TaskTypeSeed = [string, string, string, number, string];
const TASK_TYPES: Record<Domain, TaskTypeSeed[]> = {
  "3d": [
    ["Concept", "Concept", "#8D6E63", 1, "Asset"], ["Modeling", "Modeling", "#78909C", 2, "Asset"],
    ["Shading", "Modeling", "#64B5F6", 3, "Asset"], ["Rigging", "Animation", "#9CCC65", 4, "Asset"],
    ["Storyboard", "Concept", "#43A047", 1, "Shot"], ["Layout", "Layout", "#7CB342", 2, "Shot"],
    ["Animation", "Animation", "#009688", 3, "Shot"], ["Lighting", "Compositing", "#F9A825", 4, "Shot"],
    ["FX", "FX", "#26C6DA", 5, "Shot"], ["Rendering", "Compositing", "#F06292", 6, "Shot"],
    ["Compositing", "Compositing", "#ff5252", 7, "Shot"], ["Edit", "Compositing", "#9b298c", 8, "Edit"],
    ["Concept", "Concept", "#8D6E63", 1, "Concept"],
  ],
  "2d": [
    ["Concept", "Concept", "#8D6E63", 1, "Asset"], ["Storyboard", "Concept", "#43A047", 1, "Shot"],
    ["Layout", "Layout", "#7CB342", 2, "Shot"], ["Animation", "Animation", "#009688", 3, "Shot"],
    ["Clean-up", "Animation", "#4DB6AC", 4, "Shot"], ["Color", "Compositing", "#F9A825", 5, "Shot"],
    ["Compositing", "Compositing", "#ff5252", 6, "Shot"], ["Edit", "Compositing", "#9b298c", 7, "Edit"],
    ["Concept", "Concept", "#8D6E63", 1, "Concept"],
  ],
  vfx: [
    ["Concept", "Concept", "#8D6E63", 1, "Asset"], ["Modeling", "Modeling", "#78909C", 2, "Asset"],
    ["Shading", "Modeling", "#64B5F6", 3, "Asset"], ["Rigging", "Animation", "#9CCC65", 4, "Asset"],
    ["Matchmove", "Matchmove", "#5C6BC0", 1, "Shot"], ["Rotomation", "Matchmove", "#7986CB", 2, "Shot"],
    ["Storyboard", "Concept", "#43A047", 1, "Shot"], ["Layout", "Layout", "#7CB342", 2, "Shot"],
    ["Animation", "Animation", "#009688", 3, "Shot"], ["Lighting", "Compositing", "#F9A825", 4, "Shot"],
    ["FX", "FX", "#26C6DA", 5, "Shot"], ["Rendering", "Compositing", "#F06292", 6, "Shot"],
    ["Compositing", "Compositing", "#ff5252", 7, "Shot"], ["DMP", "DMP", "#A1887F", 8, "Shot"],
    ["Edit", "Compositing", "#9b298c", 9, "Edit"], ["Concept", "Concept", "#8D6E63", 1, "Concept"],
  ],
  games: [
    ["Game Design", "Game Design", "#7B1FA2", 1, "Asset"], ["Level Design", "Level Design", "#00897B", 2, "Asset"],
    ["Character Art", "Character Art", "#78909C", 3, "Asset"], ["Environment Art", "Environment Art", "#43A047", 4, "Asset"],
    ["Animation", "Animation", "#009688", 5, "Asset"], ["VFX", "VFX", "#26C6DA", 6, "Asset"],
    ["Concept", "Character Art", "#8D6E63", 1, "Concept"], ["QA", "QA", "#E53935", 1, "Shot"],
  ],
};

const RESERVED_ENTITY_TYPES = ["Episode", "Sequence", "Shot", "Edit"];

function base() {
  const now = utcNow();
  return { id: newId(), created_at: now, updated_at: now };
}

/**
 * Inserts the initial rows that are missing. With `onlyIfEmpty`, does nothing when the database
 * already has task statuses (so `serve` seeds a fresh database once and never again).
 */
export async function initData(db: Db, domain: Domain = "3d", options: { onlyIfEmpty?: boolean } = {}): Promise<void> {
  if (options.onlyIfEmpty) {
    const any = await db.selectFrom("task_status").select("id").limit(1).executeTakeFirst();
    if (any) return;
  }
  await db.transaction().execute(async (trx) => {
    for (const name of ["Open", "Closed"]) {
      const found = await trx.selectFrom("project_status").select("id").where("name", "=", name).executeTakeFirst();
      if (!found) await trx.insertInto("project_status").values({ ...base(), name, color: "#000000" }).execute();
    }
    for (const status of TASK_STATUSES) {
      let query = trx.selectFrom("task_status").select("id");
      query = status.is_default
        ? query.where("is_default", "=", true).where("for_concept", "=", Boolean(status.for_concept))
        : query.where("name", "=", status.name);
      const found = (await query.executeTakeFirst()) ??
        (await trx.selectFrom("task_status").select("id").where("short_name", "=", status.short_name).executeTakeFirst());
      if (!found) await trx.insertInto("task_status").values({ ...base(), ...status }).execute();
    }
    for (const name of [...RESERVED_ENTITY_TYPES, ...ASSET_TYPES[domain]]) {
      const found = await trx.selectFrom("entity_type").select("id").where("name", "=", name).executeTakeFirst();
      if (!found) await trx.insertInto("entity_type").values({ ...base(), name }).execute();
    }
    const departmentIds = new Map<string, string>();
    for (const [name, color] of DEPARTMENTS[domain]) {
      const found = await trx.selectFrom("department").select("id").where("name", "=", name).executeTakeFirst();
      if (found) departmentIds.set(name, found.id);
      else {
        const row = { ...base(), name, color };
        await trx.insertInto("department").values(row).execute();
        departmentIds.set(name, row.id);
      }
    }
    for (const [name, department, color, priority, forEntity] of TASK_TYPES[domain]) {
      const found = await trx.selectFrom("task_type").select("id").where("name", "=", name).where("for_entity", "=", forEntity).executeTakeFirst();
      if (!found) {
        await trx.insertInto("task_type").values({
          ...base(), name, short_name: "", color, priority, for_entity: forEntity,
          department_id: departmentIds.get(department) ?? null, allow_timelog: true, archived: false,
        }).execute();
      }
    }
  });
}
