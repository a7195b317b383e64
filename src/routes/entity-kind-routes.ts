/**
 * The routes every entity kind answers the same way under `/data/<kind plural>/:<kind>_id`:
 * deletion (canceled while it has tasks, unless `?force=true`), its task types, its tasks, and
 * for some kinds its previews by task type and its versions.
 */
import type { Hono } from "hono";
import type { AppContext, AppEnv } from "../context";
import { entityPreviewFiles } from "../services/playlists";
import { checkEntityDelete, entityVersions, loadEntity, queryFlag, taskTypesOf, type EntityKind, type EntityRow } from "../services/entities";
import { removeEntity } from "../services/entity-writes";
import { taskDicts } from "../services/tasks";

export interface EntityKindRoutes {
  /** The path parameter of the entity id (`concept_id`), served under `/data/<plural>/:<param>`. */
  plural: string;
  param: string;
  kind: EntityKind;
  /** Loads the entity of the path and checks that the caller may read it. */
  readable: (c: AppContext) => Promise<EntityRow>;
  /** Registers `DELETE /data/<plural>/:<param>` (default true). */
  remove?: boolean;
  /** Registers `GET .../preview-files`. */
  previews?: boolean;
  /** The `type` of the kind's versions (`ShotVersion`) when it has `GET .../versions`. */
  versionType?: string;
}

export function registerEntityKindRoutes(app: Hono<AppEnv>, routes: EntityKindRoutes): void {
  const { param, kind, readable } = routes;
  const path = `/data/${routes.plural}/:${param}`;
  if (routes.remove !== false) {
    app.delete(path, async (c) => {
      const row = await loadEntity(c, c.req.param(param), kind);
      await checkEntityDelete(c, row);
      await removeEntity(c, row, { force: queryFlag(c, "force") });
      return c.body(null, 204);
    });
  }
  app.get(`${path}/task-types`, async (c) => {
    const row = await readable(c);
    return c.json(await taskTypesOf(c, (q) => q.where("entity.id", "=", row.id)));
  });
  app.get(`${path}/tasks`, async (c) => {
    const row = await readable(c);
    return c.json(await taskDicts(c, (q) => q.where("task.entity_id", "=", row.id), { relations: queryFlag(c, "relations") }));
  });
  if (routes.previews) app.get(`${path}/preview-files`, async (c) => c.json(await entityPreviewFiles(c.get("db"), (await readable(c)).id)));
  const versionType = routes.versionType;
  if (versionType) app.get(`${path}/versions`, async (c) => c.json(await entityVersions(c, (await readable(c)).id, versionType)));
}
