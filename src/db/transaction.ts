/**
 * Runs `fn` in one database transaction. While it runs, `c.get("db")` is the transaction, so every
 * service called from `fn` joins it. (SQLite has one connection: a query on the root instance from
 * inside a transaction would wait for itself.)
 */
import type { AppContext } from "../context";
import type { Db } from "./database";

type RollbackHook = () => Promise<void>;
const rollbackHooks = new WeakMap<Db, RollbackHook[]>();
const commitHooks = new WeakMap<Db, RollbackHook[]>();

/**
 * Registers work to undo outside the database if the transaction `trx` fails (e.g. remove a file
 * stored for a row that is not committed). Runs after the rollback, for transactions opened by
 * `transact`.
 */
export function onRollback(trx: Db, hook: RollbackHook): void {
  const hooks = rollbackHooks.get(trx);
  if (hooks) hooks.push(hook);
  else rollbackHooks.set(trx, [hook]);
}

/**
 * Registers work to do outside the database once the transaction `trx` has committed (e.g. remove
 * the stored files of deleted rows, which a rollback must keep). Runs right away when `trx` is not
 * a transaction; never runs when the transaction rolls back.
 */
export async function afterCommit(trx: Db, hook: RollbackHook): Promise<void> {
  if (!trx.isTransaction) {
    await hook().catch(() => undefined);
    return;
  }
  const hooks = commitHooks.get(trx);
  if (hooks) hooks.push(hook);
  else commitHooks.set(trx, [hook]);
}

export async function transact<T>(c: AppContext, fn: (trx: Db) => Promise<T>): Promise<T> {
  const root = c.get("db");
  if (root.isTransaction) return fn(root);
  let current: Db | null = null;
  let result: T;
  try {
    result = await root.transaction().execute(async (trx) => {
      current = trx;
      c.set("db", trx);
      try {
        return await fn(trx);
      } finally {
        c.set("db", root);
      }
    });
  } catch (error) {
    const hooks = current ? rollbackHooks.get(current) : undefined;
    for (const hook of hooks ?? []) await hook().catch(() => undefined);
    throw error;
  }
  const committed = current ? commitHooks.get(current) : undefined;
  for (const hook of committed ?? []) await hook().catch(() => undefined);
  return result;
}
