/**
 * Routes of the `chats` area of routes.tsv: the chat of an entity, its messages (JSON or multipart
 * with attachments) and their deletion. The queries are in services/chats.ts.
 */
import type { Hono } from "hono";
import type { AppContext, AppEnv } from "../context";
import { serialize } from "../db/serialize";
import { readLooseBody } from "../lib/body";
import { badRequest, forbidden } from "../lib/errors";
import { discardUploads, isMultipart, readMultipart, type UploadedFile } from "../services/attachments";
import { isAdmin } from "../services/permissions";
import {
  chatMessages,
  chatParticipants,
  createChatMessage,
  deleteChatMessage,
  getOrCreateChat,
  loadChatEntity,
  loadChatMessage,
  presentMessages,
} from "../services/chats";

/** The message text and uploaded files of a POST (JSON `{message}` or multipart `message` + files). */
async function readMessage(c: AppContext): Promise<{ text: string; files: UploadedFile[] }> {
  if (isMultipart(c)) {
    const { fields, files } = await readMultipart(c);
    if (typeof fields.message !== "string") {
      await discardUploads(files);
      throw badRequest("Validation error.", { errors: [{ field: "message", message: "message is required." }] });
    }
    return { text: fields.message, files };
  }
  const body = await readLooseBody(c);
  if (typeof body.message !== "string") throw badRequest("Validation error.", { errors: [{ field: "message", message: "message is required." }] });
  return { text: body.message, files: [] };
}

export function registerChats(app: Hono<AppEnv>): void {
  app.get("/data/entities/:entity_id/chat", async (c) => {
    const entity = await loadChatEntity(c, c.req.param("entity_id"));
    const chat = await getOrCreateChat(c, entity.id);
    // Zou's chat answer carries an empty `messages` list: messages come from .../chat/messages.
    return c.json({ ...serialize("chat", chat), participants: await chatParticipants(c.get("db"), chat.id), messages: [] });
  });

  app.get("/data/entities/:entity_id/chat/messages", async (c) => {
    const entity = await loadChatEntity(c, c.req.param("entity_id"));
    const chat = await getOrCreateChat(c, entity.id);
    return c.json(await chatMessages(c.get("db"), chat.id));
  });

  app.post("/data/entities/:entity_id/chat/messages", async (c) => {
    const entity = await loadChatEntity(c, c.req.param("entity_id"));
    const { text, files } = await readMessage(c);
    try {
      const chat = await getOrCreateChat(c, entity.id);
      if (!(await chatParticipants(c.get("db"), chat.id)).includes(c.get("user").id)) throw badRequest("You are not a participant of this chat");
      return c.json(await createChatMessage(c, chat.id, text, files), 201);
    } finally {
      await discardUploads(files);
    }
  });

  app.get("/data/entities/:entity_id/chat/messages/:chat_message_id", async (c) => {
    const entity = await loadChatEntity(c, c.req.param("entity_id"));
    const chat = await getOrCreateChat(c, entity.id);
    const message = await loadChatMessage(c, chat.id, c.req.param("chat_message_id"));
    return c.json((await presentMessages(c.get("db"), [message]))[0]);
  });

  app.delete("/data/entities/:entity_id/chat/messages/:chat_message_id", async (c) => {
    const entity = await loadChatEntity(c, c.req.param("entity_id"));
    const chat = await getOrCreateChat(c, entity.id);
    const message = await loadChatMessage(c, chat.id, c.req.param("chat_message_id"));
    if (message.person_id !== c.get("user").id && !isAdmin(c.get("user"))) throw forbidden();
    await deleteChatMessage(c, chat.id, message.id);
    return c.body(null, 204);
  });
}
