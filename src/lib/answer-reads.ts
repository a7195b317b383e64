/**
 * Answer scopes by what an answer reads (for `cachedResponse`, src/lib/response-cache.ts): a kept
 * answer stays current while none of the writes issued since it was built (the write log of
 * src/db/write-tracker.ts) may have changed a row it or its permission checks read, and no other
 * process committed (src/lib/change-signal.ts).
 *
 * What an answer reads is told as:
 *  - the tables it never reads (`unread`), or the only tables it reads (`only`): writes to the
 *    others are ignored;
 *  - per read table, a filter telling which writes are known to touch only rows the answer does
 *    not read (`ignore`), e.g. rows of another project (`outside`), or existing rows that are not
 *    listed (`otherExisting`).
 * Anything not known (a raw SQL write, a WHERE without the filtered column) counts as a change.
 */
import type { AppContext } from "../context";
import { writesSince, type WriteRecord } from "../db/write-tracker";
import { currentWrites } from "../db/write-version";
import { declareAnswerScope } from "./response-cache";

/** True when the write is known to leave alone every row of its table that the answer reads. */
export type WriteFilter = (record: WriteRecord) => boolean;

export interface AnswerReads {
  /** The only tables the answer and its permission checks read (all when absent). */
  only?: ReadonlySet<string>;
  /** Tables neither the answer nor its permission checks read. */
  unread?: ReadonlySet<string>;
  /** Per read table: writes that are known not to touch the rows read there. */
  ignore?: Readonly<Record<string, WriteFilter>>;
}

/** Where the write log stood when an answer's build began. */
export interface WriteMark {
  position: number;
  external: number;
}

/** Call before the build reads anything (permission checks included). */
export function markWrites(c: AppContext): WriteMark {
  return currentWrites(c.get("db"));
}

/** True when `record` may change what `reads` describes. */
export function concerns(reads: AnswerReads, record: WriteRecord): boolean {
  const table = record.table;
  if (table === null) return true;
  if (reads.only && !reads.only.has(table)) return false;
  if (reads.unread?.has(table)) return false;
  const ignore = reads.ignore?.[table];
  return !(ignore && ignore(record));
}

/**
 * Declares to the answer cache that the answer being built stays current while no write since
 * `mark` concerns `reads`.
 */
export function declareAnswerReads(c: AppContext, mark: WriteMark, reads: AnswerReads): void {
  const db = c.get("db");
  let position = mark.position;
  declareAnswerScope(c, () => {
    const { external, position: now } = currentWrites(db);
    if (external !== mark.external) return false;
    const records = writesSince(position);
    if (!records) return false;
    for (const record of records) if (concerns(reads, record)) return false;
    // None concerned the answer: later checks start after them.
    position = now;
    return true;
  });
}

/**
 * True when the write is known to touch only rows whose `column` is not one of `values`, and to
 * give none of them such a value (an insert is judged by the values it inserts).
 */
export function outside(record: WriteRecord, column: string, values: ReadonlySet<unknown>): boolean {
  const matched = record.match.get(column);
  if (!matched || matched.some((value) => values.has(value))) return false;
  if (!record.sets.has(column)) return true;
  const set = record.sets.get(column);
  return set !== null && set !== undefined && !set.some((value) => values.has(value));
}

/**
 * True for an update or delete known to touch only rows whose id is not in `ids`, and setting
 * none of `moving` (columns that could bring another row into the answer).
 */
export function otherExisting(record: WriteRecord, ids: ReadonlySet<unknown>, moving: readonly string[] = []): boolean {
  if (record.kind !== "update" && record.kind !== "delete") return false;
  if (moving.some((column) => record.sets.has(column))) return false;
  return outside(record, "id", ids);
}

/**
 * Tables of activity and logs that the lists Kitsu loads on every screen (task lists, persons,
 * the user context) do not read; each list adds or removes its own.
 */
export const ACTIVITY_TABLES: readonly string[] = [
  "comment_mentions", "comment_department_mentions", "comment_acknoledgments", "comment_preview_link", "attachment_file",
  "preview_file", "api_event", "news", "time_spent", "day_off", "desktop_login_log", "login_log", "working_file", "output_file",
  "playlist", "playlist_share_link", "build_job", "chat", "chat_participant", "chat_message", "data_import_error",
  "schedule_item", "milestone", "production_schedule_version", "production_schedule_version_task_link",
  "production_schedule_version_task_link_person_link", "budget", "budget_entry", "entity_version", "asset_instance",
  "asset_instance_link",
];
