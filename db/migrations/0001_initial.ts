/**
 * The initial schema: the 77 tables of Zou's data model, built from a frozen snapshot
 * (0001_initial.schema.json) so this migration never changes once released.
 * Works on SQLite and PostgreSQL: on PostgreSQL foreign keys are added after every table exists.
 */
import { sql, type Kysely, type ColumnDataType, type Expression } from "kysely";
import { isPostgres } from "../../src/db/dialect";

interface SnapshotColumn {
  type: string;
  nullable?: false;
  default?: unknown;
  fk?: string;
  onDelete?: string;
  unique?: true;
  index?: true;
  primaryKey?: true;
  length?: number;
}
interface SnapshotTable {
  primaryKey: string[];
  columns: Record<string, SnapshotColumn>;
  uniqueConstraints: { name: string; columns: string[] }[];
  indexes: { name: string; columns: string[]; unique?: boolean; where?: string }[];
  checks: { name: string; sql: string }[];
}

/** The snapshot, read when the migration runs (not at every start-up, where it is already applied). */
async function snapshotTables(): Promise<Record<string, SnapshotTable>> {
  return (await import("./0001_initial.schema.json")).default as unknown as Record<string, SnapshotTable>;
}

export function columnSqlType(column: SnapshotColumn, postgres: boolean): ColumnDataType | Expression<unknown> {
  switch (column.type) {
    case "uuid": return postgres ? "uuid" : "text";
    case "string": case "enum": return `varchar(${column.length ?? 255})`;
    case "text": return "text";
    case "int": return "integer";
    case "bigint": return "bigint";
    case "float": return postgres ? "double precision" : "real";
    case "bool": return "boolean";
    case "date": return postgres ? "date" : "text";
    case "datetime": return postgres ? "timestamp" : "text";
    case "json": case "array": return postgres ? "jsonb" : "text";
    default: return "text";
  }
}

function literalDefault(column: SnapshotColumn): unknown {
  const value = column.default;
  if (value === undefined || value === "uuid4" || value === "utc_now") return undefined;
  if (column.type === "json" || column.type === "array") return JSON.stringify(value);
  return value;
}

export async function up(db: Kysely<any>): Promise<void> {
  const postgres = isPostgres(db);
  const tables = await snapshotTables();
  for (const [name, table] of Object.entries(tables)) {
    let builder = db.schema.createTable(name);
    const primaryKey = table.primaryKey.includes("id") ? ["id"] : table.primaryKey;
    for (const [columnName, column] of Object.entries(table.columns)) {
      builder = builder.addColumn(columnName, columnSqlType(column, postgres) as ColumnDataType, (col) => {
        let c = col;
        if (column.nullable === false && !primaryKey.includes(columnName)) c = c.notNull();
        const value = literalDefault(column);
        if (value !== undefined) c = c.defaultTo(value);
        if (column.unique) c = c.unique();
        if (column.fk && !postgres) {
          const [targetTable, targetColumn] = column.fk.split(".") as [string, string];
          c = c.references(`${targetTable}.${targetColumn}`);
          if (column.onDelete === "CASCADE") c = c.onDelete("cascade");
        }
        return c;
      });
    }
    builder = builder.addPrimaryKeyConstraint(`${name}_pkey`, primaryKey as any);
    for (const unique of table.uniqueConstraints) {
      builder = builder.addUniqueConstraint(unique.name, unique.columns as any);
    }
    // Composite primary keys that include id keep their pair unique.
    if (primaryKey.length !== table.primaryKey.length && table.uniqueConstraints.length === 0 && name !== "entity_concept_link") {
      builder = builder.addUniqueConstraint(`${name}_pair_uc`, table.primaryKey.filter((c) => c !== "id") as any);
    }
    for (const check of table.checks) {
      builder = builder.addCheckConstraint(check.name, sql.raw(check.sql));
    }
    await builder.execute();
    for (const [columnName, column] of Object.entries(table.columns)) {
      if (column.index && !column.unique && !column.primaryKey) {
        await db.schema.createIndex(`ix_${name}_${columnName}`).on(name).column(columnName).execute();
      }
    }
    for (const index of table.indexes) {
      let indexBuilder = db.schema.createIndex(index.name).on(name).columns(index.columns);
      if (index.unique) indexBuilder = indexBuilder.unique();
      if (index.where) indexBuilder = indexBuilder.where(sql.raw<boolean>(index.where.replace(`${name}.`, "")));
      await indexBuilder.execute();
    }
  }
  // Zou's own foreign keys also index the link columns used by every listing.
  for (const [name, table] of Object.entries(tables)) {
    for (const [columnName, column] of Object.entries(table.columns)) {
      if (!column.fk) continue;
      if (!column.index && !column.primaryKey && !column.unique) {
        await db.schema.createIndex(`fk_${name}_${columnName}`).ifNotExists().on(name).column(columnName).execute();
      }
      if (postgres) {
        const [targetTable, targetColumn] = column.fk.split(".") as [string, string];
        await db.schema.alterTable(name)
          .addForeignKeyConstraint(`${name}_${columnName}_fkey`, [columnName], targetTable, [targetColumn],
            (fk) => (column.onDelete === "CASCADE" ? fk.onDelete("cascade") : fk))
          .execute();
      }
    }
  }
  // Key/value store with expiry (token revocation, reset tokens): Zou keeps these in Redis.
  await db.schema.createTable("kv_store")
    .addColumn("key", "varchar(255)", (c) => c.primaryKey())
    .addColumn("value", "text", (c) => c.notNull())
    .addColumn("expires_at", "bigint")
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  const tables = await snapshotTables();
  for (const name of [...Object.keys(tables)].reverse()) await db.schema.dropTable(name).ifExists().execute();
  await db.schema.dropTable("kv_store").ifExists().execute();
}
