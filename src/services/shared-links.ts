/**
 * Playlist share links (models.md `playlist_share_link`, Zou's playlist_sharing_service): links
 * managed by project managers, and the account-less review they open. A link is checked as
 * strictly as a login: unknown, revoked, expired or password-mismatched links are one 404, the
 * password is a bcrypt hash compared in constant time, and five wrong passwords lock the link for
 * a minute. Guests are client persons bound to the link that created them.
 */
import type { AppContext, PersonRow } from "../context";
import type { Db } from "../db/database";
import { isTrue, parseJson, serialize } from "../db/serialize";
import { ApiError, badRequest, forbidden, notFound } from "../lib/errors";
import { isUuid, newId, normalizeId, parseDateTimeInput, utcNow } from "../lib/ids";
import { hashPassword, verifyPassword } from "../lib/passwords";
import { kvCount, kvDelete, kvIncrement } from "../lib/kv";
import { sendMail } from "../lib/mail";
import type { Row } from "../db/rows";
import { emit, type Dict } from "./tasks";
import { playlistShots, type PlaylistRow } from "./playlists";

export type ShareLinkRow = Row;

/** A refusal of a share link: always the same 404, whatever the reason. */
export const shareLinkNotFound = () => notFound("Playlist share link not found");

// ---------------------------------------------------------------------------------------------
// Managing links

export interface NewShareLink {
  expirationDate: string | null;
  canComment: boolean;
  password: string | null;
}

export function parseNewShareLink(body: Dict): NewShareLink {
  const { expiration_date: expiration, can_comment: canComment, password } = body;
  let expirationDate: string | null = null;
  if (expiration !== undefined && expiration !== null && expiration !== "") {
    expirationDate = parseDateTimeInput(expiration);
    if (!expirationDate) throw badRequest("expiration_date must be an ISO date or date-time.");
  }
  if (canComment !== undefined && canComment !== null && typeof canComment !== "boolean") throw badRequest("can_comment must be a boolean.");
  if (password !== undefined && password !== null && typeof password !== "string") throw badRequest("password must be a string.");
  return { expirationDate, canComment: canComment !== false, password: password ? password : null };
}

export async function createShareLink(c: AppContext, playlist: PlaylistRow, input: NewShareLink): Promise<Dict> {
  const now = utcNow();
  const row = {
    id: newId(),
    created_at: now,
    updated_at: now,
    token: newId(),
    playlist_id: playlist.id,
    created_by: c.get("user").id,
    expiration_date: input.expirationDate,
    is_active: true,
    can_comment: input.canComment,
    password: input.password ? await hashPassword(input.password, c.get("config").bcryptCost) : null,
  };
  const stored = await c.get("db").insertInto("playlist_share_link").values(row).returningAll().executeTakeFirstOrThrow();
  return serialize("playlist_share_link", stored);
}

export async function activeShareLinks(db: Db, playlistId: string): Promise<Dict[]> {
  const rows = await db
    .selectFrom("playlist_share_link")
    .selectAll()
    .where("playlist_id", "=", playlistId)
    .where("is_active", "=", true)
    .orderBy("created_at")
    .execute();
  return rows.map((row) => serialize("playlist_share_link", row));
}

/** The link of `token` on this playlist (404 otherwise, also for a token of another playlist). */
export async function playlistShareLink(db: Db, playlist: PlaylistRow, token: string): Promise<ShareLinkRow> {
  const row = await db.selectFrom("playlist_share_link").selectAll().where("token", "=", token).executeTakeFirst();
  if (!row || row.playlist_id !== playlist.id) throw shareLinkNotFound();
  return row;
}

export async function revokeShareLink(db: Db, link: ShareLinkRow): Promise<Dict> {
  const row = await db
    .updateTable("playlist_share_link")
    .set({ is_active: false, updated_at: utcNow() })
    .where("id", "=", link.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return serialize("playlist_share_link", row);
}

// ---------------------------------------------------------------------------------------------
// Checking a link

const MAX_FAILURES = 5;
const LOCK_MS = 60_000;
/** Failed passwords of a link, counted in kv_store so that every process counts them together. */
const failureKey = (linkId: string) => `share-link-failures:${linkId}`;

/**
 * The active, unexpired link of `token`. With `checkPassword`, a protected link also needs its
 * password (wrong or missing: 404; five failures lock it for a minute).
 */
export async function validateShareLink(c: AppContext, token: string, options: { checkPassword: boolean; password?: string | null }): Promise<ShareLinkRow> {
  const link = await c.get("db").selectFrom("playlist_share_link").selectAll().where("token", "=", token).executeTakeFirst();
  if (!link || !isTrue(link.is_active)) throw shareLinkNotFound();
  if (link.expiration_date && String(link.expiration_date).slice(0, 19).replace(" ", "T") < utcNow()) throw shareLinkNotFound();
  if (options.checkPassword && link.password) {
    const db = c.get("db");
    // Locked while 5 failures came each within a minute of the previous one.
    if ((await kvCount(db, failureKey(link.id))).count >= MAX_FAILURES) throw shareLinkNotFound();
    const ok = typeof options.password === "string" && options.password !== "" && (await verifyPassword(options.password, link.password));
    if (!ok) {
      await kvIncrement(db, failureKey(link.id), LOCK_MS, { slide: true });
      throw shareLinkNotFound();
    }
    if ((await kvCount(db, failureKey(link.id))).count > 0) await kvDelete(db, failureKey(link.id));
  }
  return link;
}

export async function sharedPlaylist(db: Db, link: ShareLinkRow): Promise<PlaylistRow> {
  const playlist = await db.selectFrom("playlist").selectAll().where("id", "=", link.playlist_id).executeTakeFirst();
  if (!playlist) throw shareLinkNotFound();
  return playlist;
}

/** Ids of the entities listed in a playlist. */
export function playlistEntityIds(playlist: PlaylistRow): string[] {
  return playlistShots(playlist)
    .map((shot) => shot.entity_id ?? shot.id ?? shot.shot_id)
    .filter((id): id is string => typeof id === "string" && isUuid(id));
}

/** Tasks reachable through a shared playlist: the tasks of the previews its entries show. */
export async function sharedTaskIds(db: Db, playlist: PlaylistRow): Promise<Set<string>> {
  const previewIds = playlistShots(playlist)
    .map((shot) => shot.preview_file_id)
    .filter((id): id is string => typeof id === "string" && isUuid(id));
  if (previewIds.length === 0) return new Set();
  const rows = await db.selectFrom("preview_file").select("task_id").where("id", "in", previewIds).execute();
  return new Set(rows.map((row) => row.task_id).filter((id): id is string => Boolean(id)));
}

/** A preview file shown by a shared playlist (any revision of its entities' tasks); 404 otherwise. */
export async function sharedPreviewFile(db: Db, playlist: PlaylistRow, rawId: string | undefined): Promise<Row> {
  if (!rawId || !isUuid(rawId)) throw notFound();
  const entityIds = playlistEntityIds(playlist);
  if (entityIds.length === 0) throw notFound();
  const row = await db
    .selectFrom("preview_file")
    .innerJoin("task", "task.id", "preview_file.task_id")
    .selectAll("preview_file")
    .where("preview_file.id", "=", normalizeId(rawId))
    .where("task.entity_id", "in", entityIds)
    .executeTakeFirst();
  if (!row) throw notFound();
  return row;
}

// ---------------------------------------------------------------------------------------------
// Guests

function guestLinkId(person: Row): string | null {
  const data = parseJson(person.data) as Dict | null;
  return data && typeof data.share_link_id === "string" ? data.share_link_id : null;
}

/** The guest `guestId` created through this link; 403 for anyone else. */
export async function linkGuest(db: Db, link: ShareLinkRow, guestId: unknown): Promise<PersonRow> {
  if (!isUuid(guestId)) throw badRequest("guest_id must be a valid id.");
  const person = await db.selectFrom("person").selectAll().where("id", "=", normalizeId(guestId)).executeTakeFirst();
  if (!person || !isTrue(person.is_guest) || guestLinkId(person) !== link.id) throw forbidden();
  return person;
}

/** Reuses the guest of that name on this link, or creates one (a client person flagged `is_guest`). */
export async function createGuest(c: AppContext, link: ShareLinkRow, firstName: string, lastName: string): Promise<{ guest: Dict; created: boolean }> {
  const db = c.get("db");
  const candidates = await db
    .selectFrom("person")
    .selectAll()
    .where("is_guest", "=", true)
    .where("first_name", "=", firstName)
    .where("last_name", "=", lastName)
    .execute();
  const existing = candidates.find((person) => guestLinkId(person) === link.id);
  if (existing) return { guest: serialize("person", existing), created: false };
  const now = utcNow();
  const row = {
    id: newId(),
    created_at: now,
    updated_at: now,
    first_name: firstName,
    last_name: lastName,
    email: `guest-${newId().replace(/-/g, "").slice(0, 12)}@guest.kitsu`,
    role: "client",
    is_guest: true,
    active: true,
    data: JSON.stringify({ share_link_id: link.id }),
  };
  const stored = await db.insertInto("person").values(row as any).returningAll().executeTakeFirstOrThrow();
  await emit(c, "person:new", { person_id: row.id }, null);
  return { guest: serialize("person", stored), created: true };
}

// ---------------------------------------------------------------------------------------------
// Guest comments and annotations

/** A comment of a guest on a task of the shared playlist: 404 unknown, 403 not theirs or off the playlist. */
export async function guestComment(db: Db, playlist: PlaylistRow, guest: PersonRow, rawId: string | undefined): Promise<Row> {
  if (!rawId || !isUuid(rawId)) throw notFound();
  const comment = await db.selectFrom("comment").selectAll().where("id", "=", normalizeId(rawId)).executeTakeFirst();
  if (!comment) throw notFound();
  if (comment.person_id !== guest.id) throw forbidden();
  if (!(await sharedTaskIds(db, playlist)).has(comment.object_id)) throw forbidden();
  return comment;
}

/** A task status a guest may set: exists and `is_client_allowed` (403 otherwise). */
export async function guestStatus(db: Db, rawId: unknown): Promise<Row> {
  if (!isUuid(rawId)) throw badRequest("task_status_id must be a valid id.");
  const status = await db.selectFrom("task_status").selectAll().where("id", "=", normalizeId(rawId)).executeTakeFirst();
  if (!status || !isTrue(status.is_client_allowed)) throw forbidden();
  return status;
}

/** Comments a share link shows: on the playlist's tasks, `for_client` or written by a guest; newest first. */
export async function sharedComments(db: Db, playlist: PlaylistRow): Promise<Row[]> {
  const taskIds = [...(await sharedTaskIds(db, playlist))];
  if (taskIds.length === 0) return [];
  return db
    .selectFrom("comment")
    .innerJoin("person", "person.id", "comment.person_id")
    .selectAll("comment")
    .where("comment.object_id", "in", taskIds)
    .where((eb) => eb.or([eb("comment.for_client", "=", true), eb("person.is_guest", "=", true)]))
    .orderBy("comment.created_at", "desc")
    .execute();
}

/** 403 when the link does not allow comments and annotations. */
export function checkCanComment(link: ShareLinkRow): void {
  if (!isTrue(link.can_comment)) throw new ApiError(403, { error: true, message: "Comments are disabled for this link" });
}

// ---------------------------------------------------------------------------------------------
// Invitations

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * `POST /data/playlists/<id>/share/<token>/invite`: mails the share URL to raw addresses and to
 * persons by id (deduplicated, case-insensitive); 400 for an invalid address; the link must be
 * active. Returns the addresses written to.
 */
export async function sendShareInvitations(c: AppContext, playlist: PlaylistRow, link: ShareLinkRow, body: Dict): Promise<string[]> {
  if (!isTrue(link.is_active)) throw shareLinkNotFound();
  const { emails = [], person_ids: personIds = [], message = null } = body;
  if (!Array.isArray(emails) || !emails.every((email) => typeof email === "string")) throw badRequest("emails must be a list of e-mail addresses.");
  if (!Array.isArray(personIds) || !personIds.every(isUuid)) throw badRequest("person_ids must be a list of person ids.");
  if (message !== null && typeof message !== "string") throw badRequest("message must be a string.");
  const recipients = new Map<string, string>();
  for (const raw of emails as string[]) {
    const email = raw.trim();
    if (!EMAIL.test(email)) throw badRequest(`Invalid email: ${raw}`);
    if (!recipients.has(email.toLowerCase())) recipients.set(email.toLowerCase(), email);
  }
  const db = c.get("db");
  for (const id of personIds as string[]) {
    const person = await db.selectFrom("person").select("email").where("id", "=", normalizeId(id)).executeTakeFirst();
    const email = person?.email?.trim();
    if (email && EMAIL.test(email)) recipients.set(email.toLowerCase(), email);
  }
  const config = c.get("config");
  const project = await db.selectFrom("project").select("name").where("id", "=", playlist.project_id).executeTakeFirst();
  const author = c.get("user");
  const url = `${config.domainProtocol}://${config.domainName}/playlists/shared/${link.token}`;
  const sent: string[] = [];
  for (const email of recipients.values()) {
    const lines = [
      `${author.first_name ?? ""} ${author.last_name ?? ""}`.trim() + ` invites you to review the playlist ${playlist.name} of ${project?.name ?? ""}.`,
      ...(message ? ["", message] : []),
      "",
      url,
    ];
    await sendMail(config, { to: email, subject: `[Kitsu] Review invitation: ${playlist.name}`, text: lines.join("\n") });
    sent.push(email);
  }
  return sent;
}
