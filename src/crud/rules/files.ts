/**
 * Crud rules of working files and output files (models.md §4.2; output types and softwares are
 * reference data, see reference.ts). Events carry the project of the file's task or entity.
 */
import { sql } from "kysely";
import type { AppContext } from "../../context";
import { emitEvent } from "../../lib/events";
import {
  checkOutputFileAccess,
  checkOutputFileUpdateAccess,
  checkWorkingFileAccess,
  checkWorkingFileActionAccess,
  entityProjectId,
  presentOutputFiles,
  presentWorkingFiles,
  sourceFileSelections,
  workingFileProjectId,
  type OutputFileRow,
  type WorkingFileRow,
} from "../../services/files";
import { blockVendor, isAdmin, memberProjectIds, openMemberProjectIds } from "../../services/permissions";
import type { AnySelect, Row } from "../engine";
import type { RuleSet } from "./index";

/** Narrows a list to files whose entity belongs to one of `projectIds`. */
function entityInProjects(table: "working_file" | "output_file", projectIds: string[]) {
  return (q: AnySelect): AnySelect =>
    projectIds.length === 0
      ? q.where(sql<boolean>`1 = 0`)
      : q.where(`${table}.entity_id`, "in", (eb: any) => eb.selectFrom("entity").select("entity.id").where("entity.project_id", "in", projectIds));
}

async function emitFileEvent(c: AppContext, name: string, key: string, id: string, projectId: string | null): Promise<void> {
  await emitEvent(c.get("db"), c.get("events"), name, { [key]: id }, { projectId, userId: c.get("user").id });
}

const workingFileEvent = (action: string) => async (c: AppContext, row: Row) =>
  emitFileEvent(c, `working-file:${action}`, "working_file_id", row.id, await workingFileProjectId(c, row as WorkingFileRow));
const outputFileEvent = (action: string) => async (c: AppContext, row: Row) =>
  emitFileEvent(c, `output-file:${action}`, "output_file_id", row.id, await entityProjectId(c, row.entity_id));

/** `relations` asked for: default true on single reads, false on lists. */
function wantsRelations(c: AppContext, mode: string): boolean {
  const param = c.req.query("relations");
  if (mode === "read") return param === undefined || param.toLowerCase() === "true";
  return mode === "list" && (param ?? "").toLowerCase() === "true";
}

export const fileRules: RuleSet = {
  working_file: {
    list: async (c) => {
      await blockVendor(c);
      if (isAdmin(c.get("user"))) return;
      return entityInProjects("working_file", await memberProjectIds(c));
    },
    read: async (c, row) => checkWorkingFileAccess(c, row as WorkingFileRow),
    update: async (c, row) => checkWorkingFileActionAccess(c, row as WorkingFileRow),
    present: async (c, row, _dict, mode) => (await presentWorkingFiles(c, [row], { relations: wantsRelations(c, mode) }))[0]!,
    presentList: (c, rows) => presentWorkingFiles(c, rows, { relations: wantsRelations(c, "list") }),
    // Events are emitted by the hooks below so that they carry the project.
    event: () => null,
    afterCreate: workingFileEvent("new"),
    afterUpdate: workingFileEvent("update"),
    beforeDelete: async (c, row) => {
      await c.get("db").updateTable("output_file").set({ source_file_id: null }).where("source_file_id", "=", row.id).execute();
      await workingFileEvent("delete")(c, row);
    },
  },
  output_file: {
    list: async (c) => {
      await blockVendor(c);
      const withSource = (q: AnySelect): AnySelect =>
        q.leftJoin("working_file as source_file", "source_file.id", "output_file.source_file_id").select(sourceFileSelections() as any);
      if (isAdmin(c.get("user"))) return withSource;
      const scope = entityInProjects("output_file", await openMemberProjectIds(c));
      return (q) => withSource(scope(q));
    },
    read: async (c, row) => checkOutputFileAccess(c, row as OutputFileRow),
    update: async (c, row) => checkOutputFileUpdateAccess(c, row as OutputFileRow),
    present: async (c, row) => (await presentOutputFiles(c, [row]))[0]!,
    presentList: (c, rows) => presentOutputFiles(c, rows),
    event: () => null,
    afterCreate: outputFileEvent("new"),
    afterUpdate: outputFileEvent("update"),
    beforeDelete: outputFileEvent("delete"),
  },
};
