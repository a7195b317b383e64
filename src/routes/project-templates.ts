/**
 * Routes of the `project_templates` area of routes.tsv: the workflow links of a project template
 * (studio managers read, admins write). The template rows themselves are served by the crud.
 */
import type { Hono } from "hono";
import * as v from "valibot";
import type { AppEnv } from "../context";
import { transact } from "../db/transaction";
import { readLooseBody } from "../lib/body";
import { ApiError } from "../lib/errors";
import { declareRouteSchemas } from "../services/route-schemas";
import { checkAdmin, checkManager } from "../services/permissions";
import { getProjectOr404 } from "../services/projects";
import {
  addTemplateLink,
  applyTemplateToProject,
  listTemplateLinks,
  loadTemplate,
  reorderTemplateLinks,
  removeTemplateLink,
  setTemplateDefaultBackground,
  setTemplateDescriptors,
  templateFromProject,
  TEMPLATE_LINKS,
  type TemplateLinkKind,
} from "../services/project-templates";

/** Bodies of these routes, for /openapi.json (the services check them with Zou's own messages). */
const uuid = v.pipe(v.string(), v.uuid());
function linkBody(kind: TemplateLinkKind) {
  const id = { [TEMPLATE_LINKS[kind].column]: uuid };
  if (kind === "task-types") return v.object({ ...id, priority: v.optional(v.nullable(v.number())) });
  if (kind === "task-statuses") return v.object({ ...id, priority: v.optional(v.nullable(v.number())), roles_for_board: v.optional(v.array(v.string())) });
  return v.object(id);
}
const FromProjectBody = v.object({ name: v.pipe(v.string(), v.minLength(1)), description: v.optional(v.nullable(v.string())) });
const DefaultBackgroundBody = v.object({ default_preview_background_file_id: v.nullable(uuid) });
const DescriptorsBody = v.object({ metadata_descriptors: v.array(v.record(v.string(), v.unknown())) });

export function registerProjectTemplates(app: Hono<AppEnv>): void {
  for (const kind of Object.keys(TEMPLATE_LINKS) as TemplateLinkKind[]) {
    const { column } = TEMPLATE_LINKS[kind];
    declareRouteSchemas("POST", `/data/project-templates/:project_template_id/${kind}`, { body: linkBody(kind) });
    app.get(`/data/project-templates/:project_template_id/${kind}`, async (c) => {
      checkManager(c);
      const template = await loadTemplate(c, c.req.param("project_template_id"));
      return c.json(await listTemplateLinks(c, template.id, kind));
    });
    app.post(`/data/project-templates/:project_template_id/${kind}`, async (c) => {
      checkAdmin(c);
      const template = await loadTemplate(c, c.req.param("project_template_id"));
      const body = await readLooseBody(c);
      return c.json(await transact(c, () => addTemplateLink(c, template.id, kind, body)), 201);
    });
    app.delete(`/data/project-templates/:project_template_id/${kind}/:${column}`, async (c) => {
      checkAdmin(c);
      const template = await loadTemplate(c, c.req.param("project_template_id"));
      await transact(c, () => removeTemplateLink(c, template, kind, c.req.param(column)));
      return c.body(null, 204);
    });
  }
  declareRouteSchemas("PUT", "/data/project-templates/:project_template_id/default-preview-background-file", { body: DefaultBackgroundBody });
  declareRouteSchemas("PUT", "/data/project-templates/:project_template_id/metadata-descriptors", { body: DescriptorsBody });
  declareRouteSchemas("POST", "/data/project-templates/from-project/:project_id", { body: FromProjectBody });
  app.put("/data/project-templates/:project_template_id/default-preview-background-file", async (c) => {
    checkAdmin(c);
    const template = await loadTemplate(c, c.req.param("project_template_id"));
    const body = await readLooseBody(c);
    return c.json(await transact(c, () => setTemplateDefaultBackground(c, template, body.default_preview_background_file_id)));
  });
  app.put("/data/project-templates/:project_template_id/metadata-descriptors", async (c) => {
    checkAdmin(c);
    const template = await loadTemplate(c, c.req.param("project_template_id"));
    // A bare JSON array is accepted too (Zou's legacy shape).
    let descriptors: unknown;
    try {
      const raw = await c.req.raw.clone().json();
      descriptors = Array.isArray(raw) ? raw : (raw as Record<string, unknown> | null)?.metadata_descriptors;
    } catch {
      descriptors = (await readLooseBody(c)).metadata_descriptors;
    }
    return c.json(await transact(c, () => setTemplateDescriptors(c, template, descriptors)));
  });
  app.post("/data/project-templates/from-project/:project_id", async (c) => {
    checkAdmin(c);
    const project = await getProjectOr404(c, c.req.param("project_id")).catch(() => {
      throw new ApiError(404, { message: "Project not found" });
    });
    const body = await readLooseBody(c);
    if (typeof body.name !== "string" || body.name.trim() === "") throw new ApiError(400, { message: "name is required" });
    const description = typeof body.description === "string" ? body.description : null;
    return c.json(await transact(c, () => templateFromProject(c, project, body.name as string, description)), 201);
  });
  app.post("/data/projects/:project_id/apply-template/:project_template_id", async (c) => {
    checkAdmin(c);
    const project = await getProjectOr404(c, c.req.param("project_id")).catch(() => {
      throw new ApiError(404, { message: "Project not found" });
    });
    const template = await loadTemplate(c, c.req.param("project_template_id"));
    return c.json(await transact(c, () => applyTemplateToProject(c, project, template)));
  });

  for (const kind of ["task-types", "task-statuses"] as const) {
    const key = kind === "task-types" ? "task_type_ids" : "task_status_ids";
    declareRouteSchemas("POST", `/actions/project-templates/:project_template_id/${kind}/reorder`, { body: v.object({ [key]: v.array(uuid) }) });
    app.post(`/actions/project-templates/:project_template_id/${kind}/reorder`, async (c) => {
      checkAdmin(c);
      const template = await loadTemplate(c, c.req.param("project_template_id"));
      const body = await readLooseBody(c);
      if (!Array.isArray(body[key])) {
        throw new ApiError(400, { error: true, message: `Request body must be a JSON object with a '${key}' list.` });
      }
      return c.json(await transact(c, () => reorderTemplateLinks(c, template.id, kind, body[key] as unknown[])));
    });
  }
}
