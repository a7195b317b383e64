/**
 * `zou-bun sync-ldap`: one directory sync (Zou's `sync-with-ldap-server`), printing a line per
 * created, updated, disabled or skipped person. `serve` repeats it every LDAP_SYNC_INTERVAL seconds.
 */
import type { Config } from "./config";
import type { Db } from "./db/database";
import { syncWithLdap, type SyncReport } from "./services/ldap-sync";

export const LDAP_HELP = `  sync-ldap                        create, update and deactivate persons from the LDAP directory
                                   (LDAP_HOST, LDAP_BASE_DN, LDAP_USER, LDAP_PASSWORD, LDAP_GROUP...)`;

export async function syncLdapCommand(db: Db, config: Config, print: (line: string) => void = console.log): Promise<SyncReport> {
  const report = await syncWithLdap(db, config, { print });
  print(`LDAP sync done: ${report.created.length} created, ${report.updated.length} updated, ${report.disabled.length} disabled, ${report.failed.length} failed.`);
  return report;
}
