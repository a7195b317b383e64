/**
 * Routes of the `source` area except CSV imports: ShotGrid imports, their error log and remove
 * routes, OTIO/EDL edit imports and Kitsu sync imports.
 */
import type { Hono } from "hono";
import type { AppContext, AppEnv } from "../context";
import { badRequestPlain, notFound } from "../lib/errors";
import { loadEntityWithKind } from "../services/entities";
import { checkManagerProjectAccess } from "../services/permissions";
import { getProjectOr404 } from "../services/projects";
import { SHOTGUN_IMPORTERS } from "../services/shotgun-importers";
import { addImportError, deleteImportError, listImportErrors, runShotgunImport, runShotgunRemove, SHOTGUN_REMOVERS } from "../services/shotgun-import";
import { DEFAULT_CONVENTION, DEFAULT_EPISODE_CONVENTION, importTimeline } from "../services/otio-import";
import { KITSU_SYNC_KINDS, runKitsuSync } from "../services/kitsu-sync";

/** A boolean argument as Flask-RESTful's `inputs.boolean`: true/1/yes/on, false/0/no/off. */
function booleanArg(value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null || value === "") return fallback;
  const word = String(value).toLowerCase();
  if (["true", "1", "yes", "on", "t", "y"].includes(word)) return true;
  if (["false", "0", "no", "off", "f", "n"].includes(word)) return false;
  throw badRequestPlain(`match_case: invalid boolean value "${String(value)}".`);
}

async function importEdit(c: AppContext, episodeRoute: boolean): Promise<Response> {
  const project = await getProjectOr404(c, c.req.param("project_id"));
  await checkManagerProjectAccess(c, project.id);
  const episode = episodeRoute ? await loadEntityWithKind(c.get("db"), c.req.param("episode_id"), "Episode") : null;
  if (episode && episode.project_id !== project.id) throw notFound();
  const contentType = (c.req.header("content-type") ?? "").toLowerCase();
  const form = contentType.includes("multipart/form-data") ? await c.req.parseBody() : {};
  const file = form.file;
  if (!(file instanceof File)) throw badRequestPlain("No file was sent: send the edit in the 'file' field of a multipart form.");
  const arg = (name: string) => {
    const fromForm = form[name];
    return typeof fromForm === "string" ? fromForm : c.req.query(name);
  };
  const result = await importTimeline(c, {
    projectId: project.id,
    episode,
    fileName: file.name,
    content: await file.text(),
    namingConvention: arg("naming_convention") || (episodeRoute ? DEFAULT_EPISODE_CONVENTION : DEFAULT_CONVENTION),
    matchCase: booleanArg(arg("match_case"), true),
  });
  return c.json(result, 201);
}

export function registerImports(app: Hono<AppEnv>): void {
  app.get("/import/shotgun/errors", async (c) => c.json(await listImportErrors(c)));
  app.post("/import/shotgun/errors", async (c) => c.json(await addImportError(c), 201));
  app.delete("/import/shotgun/errors/:error_id", async (c) => {
    await deleteImportError(c, c.req.param("error_id"));
    return c.body(null, 204);
  });
  for (const name of Object.keys(SHOTGUN_REMOVERS)) {
    app.post(`/import/shotgun/remove/${name}`, async (c) => {
      await runShotgunRemove(c, name);
      return c.body(null, 204);
    });
  }
  for (const [name, importer] of Object.entries(SHOTGUN_IMPORTERS)) {
    app.post(`/import/shotgun/${name}`, async (c) => c.json(await runShotgunImport(c, importer)));
  }

  app.post("/import/otio/projects/:project_id", (c) => importEdit(c, false));
  app.post("/import/otio/projects/:project_id/episodes/:episode_id", (c) => importEdit(c, true));

  for (const [name, kind] of Object.entries(KITSU_SYNC_KINDS)) {
    app.post(`/import/kitsu/${name}`, async (c) => c.json(await runKitsuSync(c, kind)));
  }
}
