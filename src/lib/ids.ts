/** UUIDs and timestamps in Zou's formats. */
import { MALFORMED_ID, WRONG_ID_FORMAT, notFound } from "./errors";

const UUID_PREFIX = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/;

export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID_PREFIX.test(value);
}

export function newId(): string {
  return crypto.randomUUID();
}

/** Canonical stored form of an id: lower-case, first 36 characters. */
export function normalizeId(value: string): string {
  return value.slice(0, 36).toLowerCase();
}

/** Crud routes: a malformed id is a 400 "Malformed ID.". */
export function crudId(value: string): string {
  if (!isUuid(value)) throw MALFORMED_ID();
  return normalizeId(value);
}
/** Service routes: a malformed id is the same 404 as an unknown one. */
export function serviceId(value: string | undefined): string {
  if (!value || !isUuid(value)) throw notFound();
  return normalizeId(value);
}
/** Query parameters such as project_id: a malformed id is a 400. */
export function queryId(value: string): string {
  if (!isUuid(value)) throw WRONG_ID_FORMAT();
  return normalizeId(value);
}

/** Current UTC time as Zou stores it: `YYYY-MM-DDTHH:MM:SS` (naive UTC). */
export function utcNow(): string {
  return new Date().toISOString().slice(0, 19);
}

let lastStamp = "";
/**
 * Current UTC time with microseconds (`YYYY-MM-DDTHH:MM:SS.ffffff`), strictly increasing within the
 * process: rows written in the same second (comments, events) keep their order; serialization
 * drops the fraction.
 */
export function preciseNow(): string {
  const now = new Date();
  let stamp = `${now.toISOString().slice(0, 23)}000`;
  if (stamp <= lastStamp) {
    const micros = Number(lastStamp.slice(20)) + 1;
    stamp = micros > 999999 ? stamp : `${lastStamp.slice(0, 20)}${String(micros).padStart(6, "0")}`;
  }
  lastStamp = stamp;
  return stamp;
}

/** Formats a stored or JS date value as naive UTC `YYYY-MM-DDTHH:MM:SS`. */
export function formatDateTime(value: unknown): string | null {
  if (value === null || value === undefined || value === "") return null;
  if (value instanceof Date) return value.toISOString().slice(0, 19);
  const text = String(value);
  if (text.length >= 19) return text.slice(0, 10) + "T" + text.slice(11, 19);
  if (text.length === 10) return text + "T00:00:00";
  return text;
}
export function formatDate(value: unknown): string | null {
  if (value === null || value === undefined || value === "") return null;
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  return String(value).slice(0, 10);
}

/**
 * Parses an ISO 8601 date or datetime sent by a client (Z and offsets accepted) into the stored
 * naive-UTC form. Returns null when the text is not a valid date.
 */
export function parseDateTimeInput(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const text = value.trim();
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(text);
  if (!match) return null;
  const [, y, mo, d, h = "00", mi = "00", s = "00", , zone] = match;
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}${zone ? (zone === "Z" ? "Z" : zone.length === 5 ? zone.slice(0, 3) + ":" + zone.slice(3) : zone) : "Z"}`);
  if (Number.isNaN(date.getTime())) return null;
  if (date.getUTCFullYear() !== Number(y) && !zone) return null;
  return date.toISOString().slice(0, 19);
}
export function parseDateInput(value: unknown): string | null {
  const dateTime = parseDateTimeInput(value);
  return dateTime ? dateTime.slice(0, 10) : null;
}
