/**
 * Chats (the `chats` area of routes.tsv): the chat of an entity, created on first use, its
 * participants, its messages with their attachments, and the chats a person takes part in.
 * Chat events are live signals only (events.md: `chat:*` are not persisted).
 */
import type { AppContext } from "../context";
import type { Db } from "../db/database";
import { loadRelations, loadServiceRow } from "../db/rows";
import { serialize } from "../db/serialize";
import { transact } from "../db/transaction";
import { descNullsFirst } from "../db/order";
import { notFound } from "../lib/errors";
import { emitEvent } from "../lib/events";
import { chunks } from "../lib/chunks";
import { newId, serviceId, utcNow } from "../lib/ids";
import { removeAttachmentFile, storeAttachment, type UploadedFile } from "./attachments";
import { checkEntityAccess, checkProjectAccess } from "./permissions";
import { fullEntityNames } from "./entity-names";
import { OPEN_STATUS_NAMES } from "./user-context";

type Row = Record<string, any>;
type Dict = Record<string, unknown>;

/** Loads an entity by path id (404) and checks the caller may see it (project member; vendors: assigned). */
export async function loadChatEntity(c: AppContext, rawId: string | undefined): Promise<Row> {
  const entity = await loadServiceRow(c.get("db"), "entity", rawId);
  await checkProjectAccess(c, entity.project_id);
  await checkEntityAccess(c, { id: entity.id, project_id: entity.project_id });
  return entity;
}

/** The chat of an entity, created on first use (as Zou does). */
export async function getOrCreateChat(c: AppContext, entityId: string): Promise<Row> {
  const db = c.get("db");
  const existing = await db.selectFrom("chat").selectAll().where("object_id", "=", entityId).executeTakeFirst();
  if (existing) return existing as Row;
  return transact(c, async (trx) => {
    const now = utcNow();
    return (await trx
      .insertInto("chat")
      .values({ id: newId(), created_at: now, updated_at: now, object_id: entityId, object_type: "entity", last_message: null })
      .returningAll()
      .executeTakeFirstOrThrow()) as Row;
  });
}

/** Ids of the persons taking part in a chat. */
export async function chatParticipants(db: Db, chatId: string): Promise<string[]> {
  return (await loadRelations(db, "chat", [chatId])).get(chatId)?.participants ?? [];
}

/** Chat messages with their attachments `{id, name, extension}`, in the given order. */
export async function presentMessages(db: Db, rows: Row[]): Promise<Dict[]> {
  const attachments = new Map<string, Dict[]>();
  for (const part of chunks(rows.map((r) => r.id))) {
    const files = await db.selectFrom("attachment_file").select(["id", "name", "extension", "chat_message_id"]).where("chat_message_id", "in", part).execute();
    for (const file of files) {
      const list = attachments.get(file.chat_message_id!) ?? [];
      list.push({ id: file.id, name: file.name, extension: file.extension });
      attachments.set(file.chat_message_id!, list);
    }
  }
  return rows.map((row) => ({ ...serialize("chat_message", row), attachment_files: attachments.get(row.id) ?? [] }));
}

/** The messages of a chat with their attachments, oldest first. */
export async function chatMessages(db: Db, chatId: string): Promise<Dict[]> {
  const rows = (await db.selectFrom("chat_message").selectAll().where("chat_id", "=", chatId).orderBy("created_at").orderBy("id").execute()) as Row[];
  return presentMessages(db, rows);
}

/** A message of a chat by path id (404 when it is not one of that chat's). */
export async function loadChatMessage(c: AppContext, chatId: string, rawId: string | undefined): Promise<Row> {
  const id = serviceId(rawId);
  const row = await c.get("db").selectFrom("chat_message").selectAll().where("id", "=", id).where("chat_id", "=", chatId).executeTakeFirst();
  if (!row) throw notFound();
  return row as Row;
}

/**
 * Writes a message of the caller with its uploaded files as attachments, stamps the chat's
 * `last_message`, emits `chat:new-message`. Answers the message row, with `attachment_files`
 * only when files were sent (as Zou does).
 */
export async function createChatMessage(c: AppContext, chatId: string, text: string, files: UploadedFile[]): Promise<Dict> {
  const user = c.get("user");
  return transact(c, async (db) => {
    const now = utcNow();
    const row = (await db
      .insertInto("chat_message")
      .values({ id: newId(), created_at: now, updated_at: now, chat_id: chatId, person_id: user.id, text })
      .returningAll()
      .executeTakeFirstOrThrow()) as Row;
    await db.updateTable("chat").set({ last_message: now, updated_at: now }).where("id", "=", chatId).execute();
    const attachments: Dict[] = [];
    for (const file of files) attachments.push(await storeAttachment(c, { chatMessageId: row.id }, file));
    const dict: Dict = serialize("chat_message", row);
    if (attachments.length > 0) dict.attachment_files = attachments;
    await emitEvent(db, c.get("events"), "chat:new-message", { chat_id: chatId, chat_message_id: row.id, last_message: dict.created_at }, { userId: user.id });
    return dict;
  });
}

/** Deletes a chat message and its attachment files; emits `chat:deleted-message`. */
export async function deleteChatMessage(c: AppContext, chatId: string, messageId: string): Promise<void> {
  await transact(c, async (db) => {
    const attachments = await db.selectFrom("attachment_file").select("id").where("chat_message_id", "=", messageId).execute();
    for (const attachment of attachments) await removeAttachmentFile(c, attachment.id);
    await db.deleteFrom("chat_message").where("id", "=", messageId).execute();
    await emitEvent(db, c.get("events"), "chat:deleted-message", { chat_id: chatId, chat_message_id: messageId }, { userId: c.get("user").id });
  });
}

/** Adds a person to an entity's chat (idempotent); emits `chat:joined`. Returns the chat. */
export async function joinChat(c: AppContext, entityId: string, personId: string): Promise<Dict> {
  const chat = await getOrCreateChat(c, entityId);
  await transact(c, async (db) => {
    const existing = await db.selectFrom("chat_participant").select("chat_id").where("chat_id", "=", chat.id).where("person_id", "=", personId).executeTakeFirst();
    if (!existing) await db.insertInto("chat_participant").values({ chat_id: chat.id, person_id: personId }).execute();
    await emitEvent(db, c.get("events"), "chat:joined", { chat_id: chat.id, person_id: personId }, { userId: c.get("user").id });
  });
  return serialize("chat", chat);
}

/** Removes a person from an entity's chat; emits `chat:left`. */
export async function leaveChat(c: AppContext, entityId: string, personId: string): Promise<void> {
  const chat = await getOrCreateChat(c, entityId);
  await transact(c, async (db) => {
    await db.deleteFrom("chat_participant").where("chat_id", "=", chat.id).where("person_id", "=", personId).execute();
    await emitEvent(db, c.get("events"), "chat:left", { chat_id: chat.id, person_id: personId }, { userId: c.get("user").id });
  });
}

/** Chats of open projects a person takes part in: `{id, object_id, last_message, entity_name, project_id, preview_file_id}`. */
export async function chatsForPerson(db: Db, personId: string): Promise<Dict[]> {
  const rows = await db
    .selectFrom("chat")
    .innerJoin("chat_participant", "chat_participant.chat_id", "chat.id")
    .innerJoin("entity", "entity.id", "chat.object_id")
    .innerJoin("project", "project.id", "entity.project_id")
    .innerJoin("project_status", "project_status.id", "project.project_status_id")
    .select(["chat.id", "chat.object_id", "chat.last_message", "entity.project_id", "entity.preview_file_id"])
    .where("chat_participant.person_id", "=", personId)
    .where("project_status.name", "in", OPEN_STATUS_NAMES)
    .orderBy("chat.last_message", descNullsFirst)
    .execute();
  const names = await fullEntityNames(db, rows.map((r) => r.object_id));
  return rows.map((row) => ({
    id: row.id,
    object_id: row.object_id,
    last_message: serialize("chat", { last_message: row.last_message }).last_message,
    entity_name: names.get(row.object_id)?.name ?? null,
    project_id: row.project_id,
    preview_file_id: row.preview_file_id,
  }));
}
