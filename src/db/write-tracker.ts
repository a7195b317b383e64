/**
 * Watches the writes issued through Kysely (a plugin of the database instance), so in-process
 * caches can tell whether rows they hold may have changed:
 *  - counters per table: read `writeGeneration` before loading, compare it later;
 *  - a log of the recent writes with what each statement says about the rows it touches (the
 *    equality conditions of its WHERE, the values it inserts or sets), so a cache can work out
 *    which of its parts a write concerns (`writeLogPosition`, `writesSince`).
 * A write is recorded when its statement is issued (before it commits, also when it rolls back),
 * which can only make a cache drop entries too early. Raw SQL writes (`sql\`update ...\``) move
 * every table's counter and are logged with no table (they may have touched anything).
 *
 * Other processes' writes join the same log (`recordWrites`): the database layer stores the
 * records of each committed transaction in the database (./change-log.ts) and reads those of the
 * other processes, so the caches see them exactly like local ones.
 */
import type { KyselyPlugin, OperationNode, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from "kysely";

/** Values of a column: the list of known values, or null when some value is an expression. */
export type ColumnValues = Map<string, unknown[] | null>;

/** What one write statement says about the rows it touches. */
export interface WriteRecord {
  /** The table written, or null for a raw SQL write (any table). */
  table: string | null;
  kind: "insert" | "update" | "delete" | "raw";
  /**
   * Columns the touched rows are known to match before the write: the `column = value` /
   * `column in (...)` conditions ANDed in the WHERE of an update or delete; the inserted values
   * of an insert. A column that is absent is not known.
   */
  match: ColumnValues;
  /** Columns an update sets or an insert fills, with their new values (null: not a plain value). */
  sets: ColumnValues;
}

const generations = new Map<string, number>();
let rawWrites = 0;
let allWrites = 0;

/** The last LOG_SIZE records; `allWrites` is the position after the newest one. */
const LOG_SIZE = 8192;
const log: WriteRecord[] = new Array(LOG_SIZE);

/** Records of the statements tracked, by their operation node (read by the database driver). */
const issued = new WeakMap<RootOperationNode, WriteRecord[]>();
/** The records of the statement being tracked (null until it records one). */
let collected: WriteRecord[] | null = null;
let collecting = false;

function record(entry: WriteRecord): void {
  if (collecting) (collected ??= []).push(entry);
  log[allWrites % LOG_SIZE] = entry;
  allWrites += 1;
  if (entry.table) generations.set(entry.table, (generations.get(entry.table) ?? 0) + 1);
  else rawWrites += 1;
}

/** Table name of a TableNode or an aliased one. */
function tableName(node: OperationNode | undefined): string | undefined {
  if (!node) return undefined;
  if (node.kind === "TableNode") return (node as unknown as { table: { identifier: { name: string } } }).table.identifier.name;
  if (node.kind === "AliasNode") return tableName((node as unknown as { node: OperationNode }).node);
  return undefined;
}

/** Column name of a ColumnNode or a (table-qualified) ReferenceNode. */
function columnName(node: any): string | undefined {
  if (!node) return undefined;
  if (node.kind === "ColumnNode") return node.column?.name;
  if (node.kind === "ReferenceNode" && node.column?.kind === "ColumnNode") return node.column.column?.name;
  return undefined;
}

/** The plain values of a value operand (a value, a list of values), or null. */
function plainValues(node: any): unknown[] | null {
  if (!node) return null;
  if (node.kind === "ValueNode") return [node.value];
  if (node.kind === "PrimitiveValueListNode") return [...node.values];
  if (node.kind === "ValueListNode" || node.kind === "ParensNode") {
    const items = node.kind === "ParensNode" ? [node.node] : node.values;
    const out: unknown[] = [];
    for (const item of items) {
      const values = plainValues(item);
      if (!values) return null;
      out.push(...values);
    }
    return out;
  }
  return null;
}

function add(into: ColumnValues, column: string, values: unknown[] | null): void {
  if (!into.has(column)) into.set(column, values);
  else {
    const current = into.get(column);
    into.set(column, current && values ? [...current, ...values] : null);
  }
}

/** `column = value` and `column in (...)` conditions ANDed at the top of a WHERE. */
function whereMatch(node: any, into: ColumnValues): void {
  if (!node) return;
  switch (node.kind) {
    case "WhereNode":
      whereMatch(node.where, into);
      break;
    case "ParensNode":
      whereMatch(node.node, into);
      break;
    case "AndNode":
      whereMatch(node.left, into);
      whereMatch(node.right, into);
      break;
    case "BinaryOperationNode": {
      const operator = node.operator?.operator;
      if (operator !== "=" && operator !== "in" && operator !== "is") return;
      const column = columnName(node.leftOperand);
      const values = plainValues(node.rightOperand);
      // Two conditions on one column both hold: either list narrows the rows (keep the first).
      if (column && values && !into.has(column)) into.set(column, values);
      break;
    }
    default:
      break;
  }
}

function insertValues(node: any): ColumnValues {
  const out: ColumnValues = new Map();
  const columns: (string | undefined)[] = (node.columns ?? []).map(columnName);
  const rows = node.values?.kind === "ValuesNode" ? node.values.values : null;
  if (!rows) {
    // INSERT ... SELECT: the values are not known.
    for (const column of columns) if (column) out.set(column, null);
    return out;
  }
  for (const row of rows) {
    const items: unknown[] | null = row.kind === "PrimitiveValueListNode" ? row.values : null;
    columns.forEach((column, i) => {
      if (!column) return;
      if (items) add(out, column, [items[i]]);
      else {
        const item = row.values?.[i];
        add(out, column, item && item.kind !== "DefaultInsertValueNode" ? plainValues(item) : null);
      }
    });
  }
  return out;
}

function track(node: RootOperationNode): void {
  const any = node as any;
  switch (node.kind) {
    case "InsertQueryNode":
    case "MergeQueryNode": {
      const table = tableName(any.into);
      if (!table) return record({ table: null, kind: "raw", match: new Map(), sets: new Map() });
      const values = node.kind === "InsertQueryNode" ? insertValues(any) : new Map();
      const sets: ColumnValues = new Map(values);
      // An upsert may also update the conflicting row: its SET columns change too.
      for (const update of any.onConflict?.updates ?? []) {
        const column = columnName(update.column);
        if (column) add(sets, column, plainValues(update.value));
      }
      record({ table, kind: "insert", match: node.kind === "InsertQueryNode" ? values : new Map(), sets });
      break;
    }
    case "UpdateQueryNode": {
      const table = tableName(any.table);
      if (!table) return record({ table: null, kind: "raw", match: new Map(), sets: new Map() });
      const match: ColumnValues = new Map();
      whereMatch(any.where, match);
      const sets: ColumnValues = new Map();
      for (const update of any.updates ?? []) {
        const column = columnName(update.column);
        if (column) sets.set(column, plainValues(update.value));
      }
      record({ table, kind: "update", match, sets });
      break;
    }
    case "DeleteQueryNode": {
      const match: ColumnValues = new Map();
      whereMatch(any.where, match);
      for (const from of any.from.froms) {
        const table = tableName(from);
        record(table ? { table, kind: "delete", match, sets: new Map() } : { table: null, kind: "raw", match: new Map(), sets: new Map() });
      }
      break;
    }
    case "RawNode":
      if (/^\s*(insert|update|delete|replace|merge|drop|alter|truncate)\b/i.test(any.sqlFragments[0] ?? "")) {
        record({ table: null, kind: "raw", match: new Map(), sets: new Map() });
      }
      break;
    default:
      break;
  }
}

/** Sum of the write counters of `tables` (changes whenever one of them may have changed). */
export function writeGeneration(tables: readonly string[]): number {
  let sum = rawWrites;
  for (const table of tables) sum += generations.get(table) ?? 0;
  return sum;
}

/** Count of every write statement issued so far, whatever the table. */
export function totalWriteGeneration(): number {
  return allWrites;
}

/** The position of the next write in the log (read it before loading rows). */
export function writeLogPosition(): number {
  return allWrites;
}

/**
 * The writes issued since `position` (oldest first), or null when some of them are no longer in
 * the log (too many writes since): the caller must then assume anything changed.
 */
export function writesSince(position: number): WriteRecord[] | null {
  if (position > allWrites || allWrites - position > LOG_SIZE) return null;
  const out: WriteRecord[] = [];
  for (let i = position; i < allWrites; i++) out.push(log[i % LOG_SIZE]!);
  return out;
}

/** Adds writes made elsewhere (another process's commit, a commit of this process) to the log. */
export function recordWrites(records: readonly WriteRecord[]): void {
  for (const entry of records) record(entry);
}

/** The records the plugin made for the statement `node` (undefined: not a write it saw). */
export function issuedRecords(node: RootOperationNode): WriteRecord[] | undefined {
  return issued.get(node);
}

/** Longest string value kept in a stored record (longer ones are stored as unknown: null). */
const MAX_STORED_TEXT = 200;
/** Most values kept per column in a stored record. */
const MAX_STORED_VALUES = 1000;

function storableValues(values: unknown[] | null): unknown[] | null {
  if (!values || values.length > MAX_STORED_VALUES) return null;
  for (const value of values) {
    const type = typeof value;
    if (value === null || type === "number" || type === "boolean") continue;
    if (type === "string" && (value as string).length <= MAX_STORED_TEXT) continue;
    return null; // an object, a date, bytes or a long text: not something a cache matches on
  }
  return values;
}

function storableColumns(values: ColumnValues): [string, unknown[] | null][] {
  return [...values].map(([column, list]) => [column, storableValues(list)]);
}

/**
 * The records as JSON text for the database. Values a cache cannot match on (long texts, objects)
 * become null ("not a plain value"), which makes a reader only more careful.
 */
export function encodeRecords(records: readonly WriteRecord[]): string {
  return JSON.stringify(records.map((r) => [r.table, r.kind, storableColumns(r.match), storableColumns(r.sets)]));
}

/** The records of `encodeRecords`' text (throws on text that is not). */
export function decodeRecords(text: string): WriteRecord[] {
  const items = JSON.parse(text) as [string | null, WriteRecord["kind"], [string, unknown[] | null][], [string, unknown[] | null][]][];
  return items.map(([table, kind, match, sets]) => ({ table, kind, match: new Map(match), sets: new Map(sets) }));
}

export const writeTracker: KyselyPlugin = {
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    collecting = true;
    try {
      track(args.node);
      if (collected) issued.set(args.node, collected);
    } finally {
      collecting = false;
      collected = null;
    }
    return args.node;
  },
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  },
};
