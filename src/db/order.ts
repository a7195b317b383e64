/**
 * NULL placement in ORDER BY: Zou runs on PostgreSQL, which puts NULLs last ascending and first
 * descending; SQLite does the opposite. These modifiers make every engine sort as PostgreSQL on
 * columns that can be NULL: `.orderBy("task.end_date", descNullsFirst)`.
 */
import type { OrderByModifiersCallbackExpression } from "kysely";

export const ascNullsLast: OrderByModifiersCallbackExpression = (ob) => ob.asc().nullsLast();
export const descNullsFirst: OrderByModifiersCallbackExpression = (ob) => ob.desc().nullsFirst();
