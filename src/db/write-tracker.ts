/**
 * Counts the writes issued to each table through Kysely (a plugin of the database instance), so
 * in-process caches can tell whether rows they hold may have changed: read `writeGeneration`
 * before loading, compare it later. The counter moves when a write statement is issued (before it
 * commits, also when it rolls back), which can only make a cache drop entries too early.
 * Raw SQL writes (`sql\`update ...\``) move every table's counter.
 */
import type { KyselyPlugin, OperationNode, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from "kysely";

const generations = new Map<string, number>();
let rawWrites = 0;
let allWrites = 0;

function bump(table: string | undefined): void {
  allWrites += 1;
  if (table) generations.set(table, (generations.get(table) ?? 0) + 1);
}

/** Table name of a TableNode or an aliased one. */
function tableName(node: OperationNode | undefined): string | undefined {
  if (!node) return undefined;
  if (node.kind === "TableNode") return (node as unknown as { table: { identifier: { name: string } } }).table.identifier.name;
  if (node.kind === "AliasNode") return tableName((node as unknown as { node: OperationNode }).node);
  return undefined;
}

function track(node: RootOperationNode): void {
  switch (node.kind) {
    case "InsertQueryNode":
      bump(tableName(node.into));
      break;
    case "UpdateQueryNode":
      bump(tableName(node.table));
      break;
    case "DeleteQueryNode":
      for (const from of node.from.froms) bump(tableName(from));
      break;
    case "MergeQueryNode":
      bump(tableName(node.into));
      break;
    case "RawNode":
      if (/^\s*(insert|update|delete|replace|merge|drop|alter|truncate)\b/i.test(node.sqlFragments[0] ?? "")) {
        rawWrites += 1;
        allWrites += 1;
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

export const writeTracker: KyselyPlugin = {
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    track(args.node);
    return args.node;
  },
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  },
};
