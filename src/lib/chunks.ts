/** How many values an `in (...)` list holds at most (well under SQLite's and PostgreSQL's parameter limits). */
export const IN_LIST_SIZE = 500;

/** Splits a list into consecutive parts of `size` items (for `in (...)` filters and batched inserts). */
export function chunks<T>(items: T[], size = IN_LIST_SIZE): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}
