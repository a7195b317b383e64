/**
 * Routes of the `project_templates` area of routes.tsv: the workflow links of a project template
 * (studio managers read, admins write). The template rows themselves are served by the crud.
 */
import type { Hono } from "hono";
import type { AppEnv } from "../context";
import { transact } from "../db/transaction";
import { readLooseBody } from "../lib/body";
import { ApiError } from "../lib/errors";
import { checkAdmin, checkManager } from "../services/permissions";
import {
  addTemplateLink,
  listTemplateLinks,
  loadTemplate,
  reorderTemplateLinks,
  removeTemplateLink,
  TEMPLATE_LINKS,
  type TemplateLinkKind,
} from "../services/project-templates";

export function registerProjectTemplates(app: Hono<AppEnv>): void {
  for (const kind of Object.keys(TEMPLATE_LINKS) as TemplateLinkKind[]) {
    const { column } = TEMPLATE_LINKS[kind];
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
  for (const kind of ["task-types", "task-statuses"] as const) {
    const key = kind === "task-types" ? "task_type_ids" : "task_status_ids";
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
