/** Conversion of client JSON values into stored column values, with Zou's 400s. */
import type { ColumnDef } from "../db/table-def";
import * as v from "valibot";
import { badRequest, integrityError } from "../lib/errors";
import { isUuid, normalizeId, parseDateInput, parseDateTimeInput } from "../lib/ids";
import { badFrameDataKey, boolWord } from "../lib/validation";

/** `true`/`false` for a boolean word (y/yes/t/true/on/1, n/no/f/false/off/0), null otherwise. */
export const parseBoolWord = boolWord;

/** A client's boolean: `true`, `1`, or a word parseBoolWord reads as true ("yes", "on", "t"...). */
export function isTrueWord(value: unknown): boolean {
  return value === true || value === 1 || (typeof value === "string" && parseBoolWord(value) === true);
}

/**
 * Numeric columns where a negative value has no meaning (durations, estimations, frames, sizes,
 * counts, priorities, money), with the largest sensible value where one exists.
 */
const NON_NEGATIVE_COLUMNS = new Set([
  "completion_rate", "daily_salary", "difficulty", "duration", "episode_span", "estimation", "file_size",
  "hd_bitrate_compression", "height", "hours_by_day", "inventory_amount", "ld_bitrate_compression", "man_days",
  "max_retakes", "monthly_cost", "months_duration", "nb_assets_ready", "nb_drawings", "nb_elements",
  "nb_entities_out", "nb_episodes", "nb_frames", "nb_occurences", "priority", "retake_count", "revision",
  "revision_padding", "salary", "size", "width",
]);
const COLUMN_MAX: Record<string, number> = { hours_by_day: 24, completion_rate: 100 };
/** Beyond this a duration, an estimation or a salary is a mistake (1e9 minutes is 1,900 years). */
const FLOAT_MAX = 1e9;
const INT_MAX = 2_147_483_647; // PostgreSQL INTEGER, which Zou uses; its out-of-range values are 400s there too.
/** Text columns holding a number (Kitsu sends `"25"`, a gazu script may send 25): a positive number. */
const NUMERIC_TEXT_COLUMNS = new Set(["fps"]);

type ColumnSchema = v.GenericSchema<unknown, unknown>;

/** The range of a numeric column. */
function numericRange(name: string, column: ColumnDef): { min: number; max: number } {
  const typeMax = column.type === "float" ? Number.MAX_VALUE : column.type === "bigint" ? Number.MAX_SAFE_INTEGER : INT_MAX;
  if (!NON_NEGATIVE_COLUMNS.has(name)) return { min: -typeMax, max: typeMax };
  const max = COLUMN_MAX[name] ?? (column.type === "float" ? FLOAT_MAX : typeMax);
  return { min: 0, max };
}

/**
 * The valibot schema of one column: checks a client's JSON value and turns it into the stored
 * value. Same as Zou on PostgreSQL: numbers may come as numeric text, booleans as true/false/0/1,
 * dates as ISO 8601 text; stricter than Zou: a number is not a string, JSON columns hold objects
 * or lists, numbers stay in a sensible range, choices are checked.
 */
function columnSchema(name: string, column: ColumnDef): ColumnSchema {
  const field = `Field ${name}`;
  switch (column.type) {
    case "bool":
      return v.pipe(
        v.union([v.boolean(), v.picklist([0, 1])], `${field} must be a boolean.`),
        v.transform((value) => value === true || value === 1),
      );
    case "json":
      return v.pipe(
        v.custom<object>((value) => typeof value === "object" && value !== null, `${field} must be a JSON object or list.`),
        v.check((value) => badFrameDataKey(value) === null, (issue) => `Field ${name}.${badFrameDataKey(issue.input)} must be a non-negative number.`),
        v.transform((value) => JSON.stringify(value)),
      );
    case "array":
      return v.pipe(v.array(v.unknown(), `${field} must be a list.`), v.transform((value) => JSON.stringify(value)));
    case "datetime":
      return v.pipe(
        v.custom<string>((value) => parseDateTimeInput(value) !== null, `${field} must be an ISO 8601 date time.`),
        v.transform((value) => parseDateTimeInput(value)!),
      );
    case "date":
      return v.pipe(
        v.custom<string>((value) => parseDateInput(value) !== null, `${field} must be an ISO 8601 date.`),
        v.transform((value) => parseDateInput(value)!),
      );
    case "int":
    case "bigint":
    case "float": {
      const { min, max } = numericRange(name, column);
      const integer = column.type !== "float";
      return v.pipe(
        v.union([v.number(), v.pipe(v.string(), v.trim(), v.nonEmpty())], `${field} must be a number.`),
        v.transform((value) => (typeof value === "number" ? value : Number(value))),
        v.check((value) => Number.isFinite(value), `${field} must be a number.`),
        v.check((value) => !integer || Number.isInteger(value), `${field} must be an integer.`),
        v.check((value) => value >= min && value <= max, min === 0 ? `${field} must be between 0 and ${max}.` : `${field} is out of range.`),
      );
    }
    case "uuid":
      return v.pipe(
        v.custom<string>((value) => isUuid(value), `${field} is not a valid id.`),
        v.transform((value) => normalizeId(value)),
      );
    case "enum":
      return v.custom<string>(
        (value) => typeof value === "string" && (!column.values || column.values.includes(value)),
        (issue) => `${field} has an invalid value: ${typeof issue.input === "string" ? issue.input : JSON.stringify(issue.input)}.`,
      );
    default: {
      const numericText = NUMERIC_TEXT_COLUMNS.has(name);
      const text = numericText
        ? v.pipe(
            v.union([v.string(), v.number()], `${field} must be a string.`),
            v.transform((value) => String(value).trim()),
            v.check((value) => value === "" || (Number(value) > 0 && Number(value) <= 1000), `${field} must be a positive number.`),
          )
        : v.string(`${field} must be a string.`);
      return v.pipe(
        text,
        // PostgreSQL refuses a varchar(n) value longer than n (Zou answers 400): same on every engine.
        v.check((value) => column.length === undefined || column.type !== "string" || value.length <= column.length, `${field} is too long (${column.length} characters at most).`),
        v.transform((value) => (column.lowercase ? value.toLowerCase() : value)),
      );
    }
  }
}

const schemasByColumn = new WeakMap<ColumnDef, ColumnSchema>();

/** The column's schema, built once. */
function schemaOf(name: string, column: ColumnDef): ColumnSchema {
  let schema = schemasByColumn.get(column);
  if (!schema) {
    schema = columnSchema(name, column);
    schemasByColumn.set(column, schema);
  }
  return schema;
}

/** Converts a JSON body value for `column` to what is stored; throws a 400 naming the field. */
export function toStoredValue(name: string, column: ColumnDef, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  const result = v.safeParse(schemaOf(name, column), value);
  if (result.success) return result.output;
  const message = result.issues[0]!.message;
  // A too-long text is the integrity error PostgreSQL raises in Zou (`{message}` only).
  if (message.includes("is too long")) throw integrityError(message);
  throw badRequest(message);
}

/** Converts a query-string filter value for `column`; throws Zou's 400s. */
export function toFilterValue(name: string, column: ColumnDef, value: string): unknown {
  switch (column.type) {
    case "uuid":
      if (!isUuid(value)) throw badRequest("One of the ID sent in parameter is not properly formatted.");
      return normalizeId(value);
    case "bool": {
      const parsed = parseBoolWord(value);
      if (parsed === null) throw badRequest(`One of the value of the filter has not the proper format: ${name}=${value}`);
      return parsed;
    }
    case "int":
    case "bigint":
    case "float": {
      const number = Number(value);
      if (value.trim() === "" || !Number.isFinite(number)) {
        throw badRequest(`One of the value of the filter has not the proper format: ${name}=${value}`);
      }
      return number;
    }
    case "datetime": {
      const parsed = parseDateTimeInput(value);
      if (!parsed) throw badRequest(`One of the value of the filter has not the proper format: ${name}=${value}`);
      return parsed;
    }
    case "date": {
      const parsed = parseDateInput(value);
      if (!parsed) throw badRequest(`One of the value of the filter has not the proper format: ${name}=${value}`);
      return parsed;
    }
    default:
      return column.lowercase ? value.toLowerCase() : value;
  }
}
