/** Turns stored rows into Zou's JSON shapes (http-conventions.md "Serialization", models.md §1.2). */
import { TABLES, type TableName } from "./tables.generated";
import type { ColumnKind } from "./table-def";
import { formatDate, formatDateTime } from "../lib/ids";

type Row = Record<string, unknown>;
type Converter = (value: unknown) => unknown;

export function parseJson(value: unknown): unknown {
  if (typeof value !== "string") return value ?? null;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** A stored boolean read back (SQLite answers 0/1, PostgreSQL true/false). */
export function isTrue(value: unknown): boolean {
  return value === true || value === 1 || value === "1" || value === "true";
}

const converters: Partial<Record<ColumnKind, Converter>> = {
  bool: (v) => (v === null || v === undefined ? null : isTrue(v)),
  json: parseJson,
  array: parseJson,
  datetime: formatDateTime,
  date: formatDate,
  int: (v) => (v === null || v === undefined ? null : Number(v)),
  bigint: (v) => (v === null || v === undefined ? null : Number(v)),
  float: (v) => (v === null || v === undefined ? null : Number(v)),
  binary: (v) => (v instanceof Uint8Array ? new TextDecoder().decode(v) : v),
};

interface Plan {
  columns: [string, Converter | undefined][];
  typeName: string;
  hidden: Set<string>;
}
const plans = new Map<string, Plan>();

function planFor(table: TableName): Plan {
  let plan = plans.get(table);
  if (!plan) {
    const def = TABLES[table];
    plan = {
      columns: Object.entries(def.columns).map(([name, col]) => [name, converters[col.type]]),
      typeName: def.className ?? table,
      hidden: new Set(def.hidden),
    };
    plans.set(table, plan);
  }
  return plan;
}

export interface SerializeOptions {
  /** Keep hidden (sensitive) fields such as password hashes. */
  unsafe?: boolean;
  /** Override the `type` value (entities: Asset, Shot, ...). */
  typeName?: string;
}

/** Converts one row of `table` into its JSON dict: typed values, `type` key, hidden fields dropped. */
export function serialize(table: TableName, row: Row, options: SerializeOptions = {}): Row {
  const plan = planFor(table);
  const out: Row = {};
  for (const [name, convert] of plan.columns) {
    if (!options.unsafe && plan.hidden.has(name)) continue;
    const value = row[name];
    out[name] = convert ? convert(value) : value ?? null;
  }
  if (table === "notification") {
    out.notification_type = out.type;
  }
  if (table === "person") {
    const first = (out.first_name as string) ?? "";
    const last = (out.last_name as string) ?? "";
    out.full_name = first && last ? `${first} ${last}` : first || last;
  }
  if (table === "playlist_share_link") {
    out.has_password = Boolean(row.password);
  }
  out.type = options.typeName ?? plan.typeName;
  return out;
}

export function serializeMany(table: TableName, rows: Row[], options: SerializeOptions = {}): Row[] {
  return rows.map((row) => serialize(table, row, options));
}

/** Keeps only `fields` (plus id and type) of a serialized dict. */
export function pickFields(dict: Row, fields: string[]): Row {
  const out: Row = { id: dict.id, type: dict.type };
  for (const field of fields) if (field in dict) out[field] = dict[field];
  return out;
}
