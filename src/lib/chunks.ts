import type { Db } from "../db/database";
import type { TableName } from "../db/tables.generated";

/** How many values an `in (...)` list holds at most (well under SQLite's and PostgreSQL's parameter limits). */
export const IN_LIST_SIZE = 500;

/** Splits a list into consecutive parts of `size` items (for `in (...)` filters and batched inserts). */
export function chunks<T>(items: T[], size = IN_LIST_SIZE): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

/** Rows of `table` whose `column` is in `values`, chunked. */
export async function selectIn(db: Db, table: TableName, column: string, values: string[]): Promise<Record<string, any>[]> {
  const unique = [...new Set(values.filter(Boolean))];
  const rows: Record<string, any>[] = [];
  for (const part of chunks(unique)) {
    rows.push(...((await db.selectFrom(table).selectAll().where(column as any, "in", part).execute()) as Record<string, any>[]));
  }
  return rows;
}
