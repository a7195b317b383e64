/**
 * Runs `fn` in one database transaction. While it runs, `c.get("db")` is the transaction, so every
 * service called from `fn` joins it. (SQLite has one connection: a query on the root instance from
 * inside a transaction would wait for itself.)
 */
import type { AppContext } from "../context";
import type { Db } from "./database";

export async function transact<T>(c: AppContext, fn: (trx: Db) => Promise<T>): Promise<T> {
  const root = c.get("db");
  if (root.isTransaction) return fn(root);
  return root.transaction().execute(async (trx) => {
    c.set("db", trx);
    try {
      return await fn(trx);
    } finally {
      c.set("db", root);
    }
  });
}
