/**
 * Crud rules of playlists (models.md §4.2 Playlist, permissions.md §4.8): lists scoped to the
 * caller's projects (clients: `for_client` only, vendors refused), reads by non-vendor members,
 * creation by supervisors and managers, edits by managers or the supervisor who created it;
 * clients read only `for_client` playlists (issue 9).
 */
import { sql } from "kysely";
import type { AppContext } from "../../context";
import { badRequest } from "../../lib/errors";
import { isUuid, normalizeId } from "../../lib/ids";
import { blockVendor, checkSupervisorProjectAccess, isAdmin } from "../../services/permissions";
import { buildJobIdsByPlaylist, checkPlaylistRead, checkPlaylistUpdateAccess } from "../../services/playlists";
import { forgetStoredFiles } from "../../services/stored-files";
import type { AnySelect, Dict, Row } from "../engine";
import type { RuleSet } from "./index";

const FOR_ENTITIES = ["shot", "asset", "sequence", "edit", "episode"];

/** The caller's projects split by effective role: where they see every playlist, where only `for_client` ones. */
async function visibleProjects(c: AppContext): Promise<{ all: string[]; forClient: string[] }> {
  const user = c.get("user");
  const links = await c.get("db").selectFrom("project_person_link").select(["project_id", "role"]).where("person_id", "=", user.id).execute();
  const all: string[] = [];
  const forClient: string[] = [];
  for (const link of links) {
    const role = link.role && link.role !== "admin" ? link.role : user.role;
    if (role === "vendor") continue;
    (role === "client" ? forClient : all).push(link.project_id);
  }
  return { all, forClient };
}

function checkForEntity(body: Dict): void {
  if (!("for_entity" in body) || body.for_entity === null) return;
  if (typeof body.for_entity !== "string" || !FOR_ENTITIES.includes(body.for_entity)) {
    throw badRequest(`Invalid for_entity. Expected one of: ${FOR_ENTITIES.join(", ")}.`);
  }
}

/** PUT `shots`: a list of `{entity_id, preview_file_id}`, items without a preview dropped. */
function normaliseShots(shots: unknown): unknown {
  if (shots === null) return null;
  if (!Array.isArray(shots)) throw badRequest("shots must be a list.");
  return shots
    .filter((shot): shot is Dict => Boolean(shot) && typeof shot === "object" && Boolean((shot as Dict).preview_file_id))
    .map((shot) => ({ entity_id: shot.entity_id ?? null, preview_file_id: shot.preview_file_id }));
}

export const playlistRules: RuleSet = {
  playlist: {
    list: async (c) => {
      await blockVendor(c);
      if (isAdmin(c.get("user"))) return;
      const { all, forClient } = await visibleProjects(c);
      return (q: AnySelect) =>
        q.where((eb: any) => {
          const visible = [];
          if (all.length) visible.push(eb("playlist.project_id", "in", all));
          if (forClient.length) visible.push(eb.and([eb("playlist.project_id", "in", forClient), eb("playlist.for_client", "=", true)]));
          return visible.length ? eb.or(visible) : sql<boolean>`1 = 0`;
        });
    },
    // Issue 9: a client reads only `for_client` playlists (stricter than Zou, on purpose).
    read: async (c, row) => {
      await checkPlaylistRead(c, row);
    },
    create: async (c, body) => {
      if (!isUuid(body.project_id)) throw badRequest("A valid project_id is required.");
      await checkSupervisorProjectAccess(c, normalizeId(body.project_id));
    },
    update: async (c, row) => checkPlaylistUpdateAccess(c, row),
    delete: async (c, row) => checkPlaylistUpdateAccess(c, row),
    prepareBody: async (c, body, mode) => {
      checkForEntity(body);
      if (mode === "update") {
        if ("shots" in body) body.shots = normaliseShots(body.shots);
        return body;
      }
      if (body.episode_id === "all" || body.episode_id === "main") body.episode_id = null;
      if ("task_type_id" in body && body.task_type_id !== null) {
        const found = isUuid(body.task_type_id)
          ? await c.get("db").selectFrom("task_type").select("id").where("id", "=", normalizeId(body.task_type_id)).executeTakeFirst()
          : undefined;
        body.task_type_id = found ? found.id : null;
      }
      return body;
    },
    beforeCreate: async (c, values) => {
      values.created_by = c.get("user").id;
    },
    // Zou's relations: `build_jobs` ids on a read (unless relations=false) and on the 201 of a create.
    present: async (c, row, dict, mode) => {
      if (mode === "create") return { ...dict, build_jobs: [] };
      if (mode === "read" && c.req.query("relations")?.toLowerCase() !== "false") {
        return { ...dict, build_jobs: (await buildJobIdsByPlaylist(c.get("db"), [row.id])).get(row.id) ?? [] };
      }
      return dict;
    },
    presentList: async (c, rows, dicts) => {
      if (c.req.query("relations")?.toLowerCase() !== "true") return dicts;
      const jobs = await buildJobIdsByPlaylist(c.get("db"), rows.map((row) => row.id));
      return dicts.map((dict, index) => ({ ...dict, build_jobs: jobs.get(rows[index]!.id) ?? [] }));
    },
    beforeDelete: async (c, row) => {
      const db = c.get("db");
      await db.deleteFrom("notification").where("playlist_id", "=", row.id).execute();
      const jobs = await db.selectFrom("build_job").select("id").where("playlist_id", "=", row.id).execute();
      await db.deleteFrom("build_job").where("playlist_id", "=", row.id).execute();
      await forgetStoredFiles(c, "build_job", jobs.map((job) => job.id), { force: true });
      await db.deleteFrom("playlist_share_link").where("playlist_id", "=", row.id).execute();
    },
  },
};
