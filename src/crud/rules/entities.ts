/**
 * Crud rules of: entity (assets, shots, sequences, episodes, edits, concepts), entity links, asset
 * instances (models.md §4.2). Entities are presented with their computed kind as `type` and emit
 * `<kind>:new|update|delete`.
 */
import { sql } from "kysely";
import type { AppContext } from "../../context";
import { WRONG_ID_FORMAT, forbidden } from "../../lib/errors";
import { isUuid, normalizeId } from "../../lib/ids";
import { checkEntityDelete, checkEntityRead, emitEntityEvent, entityData, entityKind, kindOfTypeId, requestTypeIds, whereAssigned, type EntityRow } from "../../services/entities";
import { checkEntityUnique, existingEntityIds, refreshAssetCastingStats, saveShotVersionIfNeeded } from "../../services/entity-writes";
import {
  checkManagerProjectAccess,
  checkProjectAccess,
  isAdmin,
  openMemberProjectIds,
  userDepartmentIds,
} from "../../services/permissions";
import { loadRelations, type AnySelect, type Row } from "../../db/rows";
import type { Dict } from "../engine";
import type { RuleSet } from "./index";

const ENTITY_PROTECTED = ["instance_casting", "entities_in", "entities_out", "type", "shotgun_id", "created_by"];

/**
 * `check_metadata_department_access`: admin; project member who is manager or the entity's
 * creator; a supervisor changing only `data`, with no department or only keys of descriptors (of
 * this entity kind) linked to one of their departments.
 */
async function checkMetadataDepartmentAccess(c: AppContext, row: Row, body: Dict): Promise<void> {
  const user = c.get("user");
  if (isAdmin(user)) return;
  const role = await checkProjectAccess(c, row.project_id);
  if (role === "manager" || (row.created_by && row.created_by === user.id)) return;
  if (role !== "supervisor") throw forbidden();
  const keys = Object.keys(body);
  if (keys.length !== 1 || keys[0] !== "data") throw forbidden();
  const departments = await userDepartmentIds(c);
  if (departments.length === 0) return;
  const data = body.data && typeof body.data === "object" ? Object.keys(body.data as Dict) : [];
  if (data.length === 0) return;
  const kind = await entityKind(c, row as EntityRow);
  const rows = await c
    .get("db")
    .selectFrom("metadata_descriptor")
    .innerJoin("department_metadata_descriptor_link", "department_metadata_descriptor_link.metadata_descriptor_id", "metadata_descriptor.id")
    .select(["metadata_descriptor.field_name"])
    .where("metadata_descriptor.project_id", "=", row.project_id)
    .where("metadata_descriptor.entity_type", "=", kind)
    .where("metadata_descriptor.field_name", "in", data)
    .where("department_metadata_descriptor_link.department_id", "in", departments)
    .execute();
  const allowed = new Set(rows.map((r) => r.field_name));
  if (!data.every((key) => allowed.has(key))) throw forbidden();
}

async function presentEntityDict(c: AppContext, row: Row, dict: Dict, mode: string): Promise<Dict> {
  const types = await requestTypeIds(c);
  const kind = kindOfTypeId(types, row.entity_type_id);
  dict.type = kind;
  if (mode === "update" && !("entities_out" in dict)) {
    Object.assign(dict, (await loadRelations(c.get("db"), "entity", [row.id])).get(row.id));
  }
  return dict;
}

export const entityRules: RuleSet = {
  entity: {
    /** Non-admins: open projects they belong to; vendors only entities with a task assigned to them. */
    list: async (c) => {
      const user = c.get("user");
      if (isAdmin(user)) return;
      const projectIds = await openMemberProjectIds(c);
      return (q: AnySelect) => {
        let scoped = projectIds.length === 0 ? q.where(sql<boolean>`1 = 0`) : q.where("entity.project_id", "in", projectIds);
        if (user.role === "vendor") scoped = whereAssigned(scoped, user.id);
        return scoped;
      };
    },
    read: async (c, row) => checkEntityRead(c, row as EntityRow),
    create: async (c, data) => {
      const projectId = data.project_id;
      if (projectId !== undefined && projectId !== null && !isUuid(projectId)) throw WRONG_ID_FORMAT();
      await checkManagerProjectAccess(c, typeof projectId === "string" ? normalizeId(projectId) : null);
    },
    update: async (c, row, data) => checkMetadataDepartmentAccess(c, row, data),
    delete: async (c, row) => checkEntityDelete(c, row as EntityRow),
    protectedOnUpdate: ENTITY_PROTECTED,
    relationsOnUpdate: true,
    prepareBody: async (c, body, mode, row) => {
      const input = { ...body };
      if ("entity_concept_links" in input) input.entity_concept_links = await existingEntityIds(c.get("db"), input.entity_concept_links);
      if (mode === "update" && row) {
        // PUT merges `data` into the stored dict (sent keys win, none removed).
        const sent = input.data && typeof input.data === "object" && !Array.isArray(input.data) ? (input.data as Dict) : {};
        input.data = { ...entityData(row.data), ...sent };
        if (input.source_id === "null") input.source_id = null;
      }
      return input;
    },
    beforeCreate: async (c, values) => {
      values.created_by = c.get("user").id;
    },
    afterCreate: async (c, row) => {
      await emitEntityEvent(c, await entityKind(c, row as EntityRow), "new", row as EntityRow);
    },
    beforeUpdate: async (c, row, values) => {
      if ("name" in values || "parent_id" in values || "entity_type_id" in values) {
        await checkEntityUnique(c.get("db"), row as EntityRow, {
          name: (values.name as string) ?? row.name,
          parentId: "parent_id" in values ? (values.parent_id as string | null) : row.parent_id,
          entityTypeId: (values.entity_type_id as string) ?? row.entity_type_id,
        });
      }
    },
    afterUpdate: async (c, row, previous) => {
      const kind = await entityKind(c, row as EntityRow);
      if (kind === "Shot") await saveShotVersionIfNeeded(c, previous as EntityRow, row as EntityRow);
      await emitEntityEvent(c, kind, "update", row as EntityRow);
      if (kind === "Asset" && (previous.ready_for ?? null) !== (row.ready_for ?? null)) await refreshAssetCastingStats(c, row as EntityRow);
    },
    beforeDelete: async (c, row) => {
      const db = c.get("db");
      const kind = await entityKind(c, row as EntityRow);
      if (kind === "Sequence") await db.deleteFrom("subscription").where("entity_id", "=", row.id).execute();
      await db.deleteFrom("entity_link").where((eb) => eb.or([eb("entity_in_id", "=", row.id), eb("entity_out_id", "=", row.id)])).execute();
      await db
        .deleteFrom("entity_concept_link")
        .where((eb) => eb.or([eb("entity_in_id", "=", row.id), eb("entity_out_id", "=", row.id)]))
        .execute();
      await emitEntityEvent(c, kind, "delete", row as EntityRow);
    },
    present: presentEntityDict,
    presentList: async (c, rows, dicts) => {
      const types = await requestTypeIds(c);
      dicts.forEach((dict, i) => (dict.type = kindOfTypeId(types, rows[i]!.entity_type_id)));
      return dicts;
    },
    event: () => null,
  },
  asset_instance: {
    read: async (c, row) => {
      if (isAdmin(c.get("user"))) return;
      const asset = await c.get("db").selectFrom("entity").select(["id", "project_id"]).where("id", "=", row.asset_id).executeTakeFirst();
      if (!asset) throw forbidden();
      await checkEntityRead(c, asset);
    },
    update: async (c, row) => {
      if (isAdmin(c.get("user"))) return;
      const asset = await c.get("db").selectFrom("entity").select(["id", "project_id"]).where("id", "=", row.asset_id).executeTakeFirst();
      if (!asset) throw forbidden();
      await checkEntityRead(c, asset);
    },
    protectedOnUpdate: ["number"],
  },
};
