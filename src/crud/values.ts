/** Conversion of client JSON values into stored column values, with Zou's 400s. */
import type { ColumnDef } from "../db/table-def";
import { badRequest, integrityError } from "../lib/errors";
import { isUuid, normalizeId, parseDateInput, parseDateTimeInput } from "../lib/ids";

const TRUE_WORDS = new Set(["y", "yes", "t", "true", "on", "1"]);
const FALSE_WORDS = new Set(["n", "no", "f", "false", "off", "0"]);

export function parseBoolWord(value: string): boolean | null {
  const word = value.toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return null;
}

/** A client's boolean: `true`, `1`, or a word parseBoolWord reads as true ("yes", "on", "t"...). */
export function isTrueWord(value: unknown): boolean {
  return value === true || value === 1 || (typeof value === "string" && parseBoolWord(value) === true);
}

/** Converts a JSON body value for `column` to what is stored; throws 400 on a wrong type. */
export function toStoredValue(name: string, column: ColumnDef, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (column.type) {
    case "bool":
      if (typeof value === "boolean") return value;
      if (typeof value === "number") return value !== 0;
      if (typeof value === "string") {
        const parsed = parseBoolWord(value);
        if (parsed !== null) return parsed;
      }
      throw badRequest(`Field ${name} must be a boolean.`);
    case "json":
    case "array":
      return JSON.stringify(value);
    case "datetime": {
      const parsed = parseDateTimeInput(value);
      if (!parsed) throw badRequest(`Field ${name} must be an ISO 8601 date time.`);
      return parsed;
    }
    case "date": {
      const parsed = parseDateInput(value);
      if (!parsed) throw badRequest(`Field ${name} must be an ISO 8601 date.`);
      return parsed;
    }
    case "int":
    case "bigint":
    case "float": {
      const number = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
      if (!Number.isFinite(number)) throw badRequest(`Field ${name} must be a number.`);
      return column.type === "float" ? number : Math.trunc(number);
    }
    case "uuid":
      if (!isUuid(value)) throw badRequest(`Field ${name} is not a valid id.`);
      return normalizeId(value);
    case "enum":
      if (typeof value !== "string" || (column.values && !column.values.includes(value))) {
        throw badRequest(`Field ${name} has an invalid value: ${String(value)}.`);
      }
      return value;
    default: {
      if (typeof value === "object") throw badRequest(`Field ${name} must be a string.`);
      const text = String(value);
      // PostgreSQL refuses a varchar(n) value longer than n (Zou answers 400): same on every engine.
      if (column.length !== undefined && column.type === "string" && text.length > column.length) {
        throw integrityError(`Field ${name} is too long (${column.length} characters at most).`);
      }
      return column.lowercase ? text.toLowerCase() : text;
    }
  }
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
