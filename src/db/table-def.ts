/** Metadata of one table, generated from the reference data model. */
export type ColumnKind =
  | "uuid" | "string" | "text" | "int" | "bigint" | "float" | "bool"
  | "date" | "datetime" | "json" | "array" | "binary" | "enum";

export interface ColumnDef {
  type: ColumnKind;
  nullable?: false;
  default?: unknown;
  defaultFromConfig?: string;
  fk?: string;
  onDelete?: string;
  unique?: true;
  index?: true;
  primaryKey?: true;
  length?: number;
  values?: string[];
  items?: ColumnKind;
  lowercase?: true;
}

export interface RelationDef {
  target: string;
  via: string;
  sourceColumn: string;
  targetColumn: string;
}

export interface TableDef {
  name: string;
  className: string | null;
  route: string | null;
  /** Crud methods served for the route. */
  routeMethods: ("list" | "create" | "read" | "update" | "delete")[];
  hasBaseColumns: boolean;
  primaryKey: string[];
  columns: Record<string, ColumnDef>;
  uniqueConstraints: { name: string; columns: string[] }[];
  indexes: { name: string; columns: string[]; unique?: boolean; where?: string }[];
  checks: { name: string; sql: string }[];
  relations: Record<string, RelationDef>;
  serializedKeys: string[];
  relationKeys: string[];
  hidden: string[];
  minimalKeys?: string[];
}
