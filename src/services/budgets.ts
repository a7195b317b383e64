/** Budgets and budget entries of a project. */
import type { AppContext } from "../context";
import { serialize } from "../db/serialize";
import { badRequest, notFound } from "../lib/errors";
import { newId, serviceId, utcNow } from "../lib/ids";
import { type Dict, type Row, emit } from "./project-base";

// ---------------------------------------------------------------------------------------------
// Budgets

export function presentBudget(row: Row): Dict {
  const dict = serialize("budget", row);
  return { id: dict.id, project_id: dict.project_id, revision: dict.revision, name: dict.name, currency: dict.currency };
}

export function presentBudgetEntry(row: Row): Dict {
  const dict = serialize("budget_entry", row);
  const keys = ["id", "budget_id", "department_id", "person_id", "start_date", "months_duration", "daily_salary", "position", "seniority", "exceptions"];
  return Object.fromEntries(keys.map((key) => [key, dict[key] ?? null]));
}

/** A budget of the project (404 for a malformed, unknown or other-project id). */
export async function getBudgetOr404(c: AppContext, projectId: string, rawId: string): Promise<Row> {
  const id = serviceId(rawId);
  const row = await c.get("db").selectFrom("budget").selectAll().where("id", "=", id).executeTakeFirst();
  if (!row || row.project_id !== projectId) throw notFound();
  return row as Row;
}

export async function getBudgetEntryOr404(c: AppContext, budgetId: string, rawId: string): Promise<Row> {
  const id = serviceId(rawId);
  const row = await c.get("db").selectFrom("budget_entry").selectAll().where("id", "=", id).executeTakeFirst();
  if (!row || row.budget_id !== budgetId) throw notFound();
  return row as Row;
}

export async function listBudgets(c: AppContext, projectId: string): Promise<Dict[]> {
  const rows = await c.get("db").selectFrom("budget").selectAll().where("project_id", "=", projectId).orderBy("revision").execute();
  return rows.map((row) => presentBudget(row as Row));
}

export async function createBudget(c: AppContext, projectId: string, name: string, currency: string | null): Promise<Dict> {
  const db = c.get("db");
  const last = await db.selectFrom("budget").select("revision").where("project_id", "=", projectId).orderBy("revision", "desc").executeTakeFirst();
  const now = utcNow();
  const row = { id: newId(), created_at: now, updated_at: now, project_id: projectId, name, currency, revision: last ? Number(last.revision) + 1 : 1 };
  await db.insertInto("budget").values(row).execute();
  await emit(c, "budget:create", { budget_id: row.id }, projectId);
  return serialize("budget", row);
}

export async function updateBudget(c: AppContext, budget: Row, changes: { name?: string | null; currency?: string | null }): Promise<Dict> {
  const values: Row = { updated_at: utcNow() };
  if (changes.name !== undefined && changes.name !== null) values.name = changes.name;
  if (changes.currency !== undefined && changes.currency !== null) values.currency = changes.currency;
  const db = c.get("db");
  await db.updateTable("budget").set(values).where("id", "=", budget.id).execute();
  await emit(c, "budget:update", { budget_id: budget.id }, budget.project_id);
  return serialize("budget", (await db.selectFrom("budget").selectAll().where("id", "=", budget.id).executeTakeFirstOrThrow()) as Row);
}

export async function deleteBudget(c: AppContext, budget: Row): Promise<void> {
  const db = c.get("db");
  await db.deleteFrom("budget_entry").where("budget_id", "=", budget.id).execute();
  await db.deleteFrom("budget").where("id", "=", budget.id).execute();
  await emit(c, "budget:delete", { budget_id: budget.id }, budget.project_id);
}

export async function listBudgetEntries(c: AppContext, budgetId: string): Promise<Dict[]> {
  const rows = await c.get("db").selectFrom("budget_entry").selectAll().where("budget_id", "=", budgetId).orderBy("start_date").execute();
  return rows.map((row) => presentBudgetEntry(row as Row));
}

/** Keeps the positive whole-number exceptions of a `{month: amount}` map. */
export function cleanExceptions(value: unknown): Record<string, number> {
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw badRequest("exceptions must be an object.");
  const result: Record<string, number> = {};
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    if (raw === null || raw === undefined) continue;
    const number = Math.trunc(Number(raw));
    if (!Number.isFinite(number)) throw badRequest(`Wrong value for exception ${key}.`);
    if (number > 0) result[key] = number;
  }
  return result;
}

export async function writeBudgetEntry(c: AppContext, budget: Row, entry: Row | null, values: Row): Promise<Dict> {
  const db = c.get("db");
  const now = utcNow();
  let id: string;
  if (entry) {
    id = entry.id;
    await db.updateTable("budget_entry").set({ ...values, updated_at: now }).where("id", "=", id).execute();
  } else {
    id = newId();
    await db.insertInto("budget_entry").values({ id, created_at: now, updated_at: now, budget_id: budget.id, exceptions: "{}", ...values } as any).execute();
  }
  await emit(c, entry ? "budget-entry:update" : "budget-entry:create", { budget_id: budget.id, budget_entry_id: id }, budget.project_id);
  return serialize("budget_entry", (await db.selectFrom("budget_entry").selectAll().where("id", "=", id).executeTakeFirstOrThrow()) as Row);
}

export async function deleteBudgetEntry(c: AppContext, budget: Row, entry: Row): Promise<void> {
  await c.get("db").deleteFrom("budget_entry").where("id", "=", entry.id).execute();
  await emit(c, "budget-entry:delete", { budget_id: budget.id, budget_entry_id: entry.id }, budget.project_id);
}
