/**
 * Chat notifications (events.md §6): each notification created for a person who enabled Slack,
 * Mattermost or Discord notifications is also sent there, in the person's locale, through the
 * organisation's chat settings (`chat_token_slack`, `chat_webhook_mattermost`,
 * `chat_token_discord`). The text is built while the notification is written (inside the
 * caller's transaction); the sends run on the background delivery queue (lib/chat-clients.ts), so
 * the API answer never waits for a chat service and a failed send is retried.
 */
import type { AppContext } from "../context";
import type { Config } from "../config";
import type { Db } from "../db/database";
import { isTrue, parseJson } from "../db/serialize";
import { chatDeliveries, postToDiscord, postToMattermost, postToSlack, type ChatSettings } from "../lib/chat-clients";
import { onRollback } from "../db/transaction";
import { fullEntityNames } from "./entity-names";
import type { NewNotification, NotificationType, Reply } from "./notifications";

type Service = "slack" | "mattermost" | "discord";

/** Bold, italic and link in a service's markup: Slack mrkdwn, Markdown for Mattermost and Discord. */
const MARKUP: Record<Service, { bold(text: string): string; italic(text: string): string; link(text: string, url: string): string }> = {
  slack: { bold: (t) => `*${t}*`, italic: (t) => `_${t}_`, link: (t, url) => `<${url}|${t}>` },
  mattermost: { bold: (t) => `**${t}**`, italic: (t) => `_${t}_`, link: (t, url) => `[${t}](${url})` },
  discord: { bold: (t) => `**${t}**`, italic: (t) => `*${t}*`, link: (t, url) => `[${t}](${url})` },
};

type MessageKey = NotificationType | "status-change";

/** Message templates per language; `{author}`, `{task}`, `{status}`, `{text}`, `{playlist}`, `{project}`. */
const TEMPLATES: Record<string, Record<MessageKey, string>> = {
  en: {
    comment: "{author} wrote a comment on {task} and set the status to {status}.\n\n{text}",
    "status-change": "{author} changed the status of {task} to {status}.",
    mention: "{author} mentioned you in a comment on {task}.\n\n{text}",
    reply: "{author} replied on {task}.\n\n{text}",
    "reply-mention": "{author} mentioned you in a reply on {task}.\n\n{text}",
    assignation: "{author} assigned you to {task}.",
    "playlist-ready": "{author} lets you know that the playlist {playlist} of {project} is ready for review.",
  },
  fr: {
    comment: "{author} a commenté {task} et a mis le statut à {status}.\n\n{text}",
    "status-change": "{author} a changé le statut de {task} en {status}.",
    mention: "{author} vous a mentionné dans un commentaire sur {task}.\n\n{text}",
    reply: "{author} a répondu sur {task}.\n\n{text}",
    "reply-mention": "{author} vous a mentionné dans une réponse sur {task}.\n\n{text}",
    assignation: "{author} vous a assigné à {task}.",
    "playlist-ready": "{author} vous informe que la playlist {playlist} de {project} est prête pour la relecture.",
  },
};

/** Templates of a locale (`fr_FR`, `fr`), English when the language has none. */
function templatesFor(locale: string | null | undefined): Record<MessageKey, string> {
  const language = (locale ?? "").toLowerCase().split(/[_-]/)[0] ?? "";
  return TEMPLATES[language] ?? TEMPLATES.en!;
}

/** What a message says, before markup. */
interface MessageParts {
  key: MessageKey;
  author: string;
  target: { name: string; url: string };
  status: string;
  text: string;
  project: string;
}

function render(locale: string | null | undefined, service: Service, parts: MessageParts): string {
  const markup = MARKUP[service];
  const values: Record<string, string> = {
    author: markup.bold(parts.author),
    task: markup.link(parts.target.name, parts.target.url),
    playlist: markup.link(parts.target.name, parts.target.url),
    status: markup.bold(parts.status),
    text: parts.text ? markup.italic(parts.text) : "",
    project: parts.project,
  };
  return templatesFor(locale)[parts.key].replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? "").trim();
}

/** The name and Kitsu address of a task (`Project / Entity / Task type`). */
async function describeTask(db: Db, config: Config, taskId: string) {
  const task = await db
    .selectFrom("task")
    .innerJoin("project", "project.id", "task.project_id")
    .leftJoin("task_type", "task_type.id", "task.task_type_id")
    .leftJoin("task_status", "task_status.id", "task.task_status_id")
    .select([
      "task.id", "task.entity_id", "task.project_id", "project.name as project_name", "project.production_type",
      "task_type.name as task_type_name", "task_type.for_entity", "task_status.short_name as status",
    ])
    .where("task.id", "=", taskId)
    .executeTakeFirst();
  if (!task) return undefined;
  const entity = task.entity_id ? (await fullEntityNames(db, [task.entity_id])).get(task.entity_id) : undefined;
  const episode = task.production_type === "tvshow" && entity?.episodeId ? `/episodes/${entity.episodeId}` : "";
  const kind = task.for_entity === "Shot" ? "shots" : "assets";
  return {
    name: `${task.project_name} / ${entity?.name ?? ""} / ${task.task_type_name ?? ""}`,
    url: `${config.domainProtocol}://${config.domainName}/productions/${task.project_id}${episode}/${kind}/tasks/${task.id}`,
    status: (task.status ?? "").toUpperCase(),
    project: task.project_name,
  };
}

async function describePlaylist(db: Db, config: Config, playlistId: string) {
  const playlist = await db
    .selectFrom("playlist")
    .innerJoin("project", "project.id", "playlist.project_id")
    .select(["playlist.id", "playlist.name", "playlist.episode_id", "playlist.project_id", "project.name as project_name"])
    .where("playlist.id", "=", playlistId)
    .executeTakeFirst();
  if (!playlist) return undefined;
  const episode = playlist.episode_id ? `/episodes/${playlist.episode_id}` : "";
  return {
    name: playlist.name,
    url: `${config.domainProtocol}://${config.domainName}/productions/${playlist.project_id}${episode}/playlists/${playlist.id}`,
    status: "",
    project: playlist.project_name,
  };
}

/** The comment's or reply's text for a notification. */
async function notifiedText(db: Db, input: NewNotification): Promise<string> {
  if (!input.commentId) return "";
  const comment = await db.selectFrom("comment").select(["text", "replies"]).where("id", "=", input.commentId).executeTakeFirst();
  if (!comment) return "";
  if (input.replyId) return ((parseJson(comment.replies) as Reply[] | null) ?? []).find((r) => r.id === input.replyId)?.text ?? "";
  return comment.text ?? "";
}

/**
 * Queues the chat messages of one notification (nothing when the recipient enabled no chat or
 * the organisation lacks the setting). Never throws: a failure here must not undo the write.
 */
export async function queueChatNotification(c: AppContext, input: NewNotification): Promise<void> {
  try {
    await queueChatMessages(c, input);
  } catch (error) {
    console.error("chat notification not queued:", error instanceof Error ? error.message : error);
  }
}

async function queueChatMessages(c: AppContext, input: NewNotification): Promise<void> {
  const db = c.get("db");
  const config = c.get("config");
  const person = await db
    .selectFrom("person")
    .select([
      "locale", "notifications_slack_enabled", "notifications_slack_userid", "notifications_mattermost_enabled",
      "notifications_mattermost_userid", "notifications_discord_enabled", "notifications_discord_userid",
    ])
    .where("id", "=", input.personId)
    .executeTakeFirst();
  if (!person) return;
  const wanted = {
    slack: isTrue(person.notifications_slack_enabled) && person.notifications_slack_userid ? person.notifications_slack_userid : null,
    mattermost: isTrue(person.notifications_mattermost_enabled) && person.notifications_mattermost_userid ? person.notifications_mattermost_userid : null,
    discord: isTrue(person.notifications_discord_enabled) && person.notifications_discord_userid ? person.notifications_discord_userid : null,
  };
  if (!wanted.slack && !wanted.mattermost && !wanted.discord) return;
  const organisation = await db
    .selectFrom("organisation")
    .select(["chat_token_slack", "chat_webhook_mattermost", "chat_token_discord"])
    .orderBy("created_at")
    .executeTakeFirst();
  if (!organisation) return;

  const target = input.playlistId ? await describePlaylist(db, config, input.playlistId) : input.taskId ? await describeTask(db, config, input.taskId) : undefined;
  if (!target) return;
  const author = await db.selectFrom("person").select(["first_name", "last_name"]).where("id", "=", input.authorId).executeTakeFirst();
  const text = await notifiedText(db, input);
  const parts: MessageParts = {
    key: input.type === "comment" && !text ? "status-change" : input.type,
    author: author ? [author.first_name, author.last_name].filter(Boolean).join(" ") : "Kitsu",
    target, status: target.status, text, project: target.project,
  };

  const settings: ChatSettings = { slackApiUrl: config.slackApiUrl, discordApiUrl: config.discordApiUrl, timeoutMs: config.chatSendTimeoutMs };
  const policy = { retries: config.chatRetries, delayMs: config.chatRetryDelayMs };
  const { slack, mattermost, discord } = wanted;
  // Sends start once the current work yields; a rollback of the writing transaction cancels
  // those not started yet.
  const queue = (name: Service, send: () => Promise<void>) => {
    const cancel = chatDeliveries.push(name, send, policy);
    if (db.isTransaction) onRollback(db, async () => cancel());
  };
  if (slack && organisation.chat_token_slack) {
    const token = organisation.chat_token_slack;
    const message = render(person.locale, "slack", parts);
    queue("slack", () => postToSlack(settings, token, slack, message));
  }
  if (mattermost && organisation.chat_webhook_mattermost) {
    const webhook = organisation.chat_webhook_mattermost;
    const message = {
      text: render(person.locale, "mattermost", parts),
      channel: `@${mattermost}`,
      username: `Kitsu - ${target.project}`,
      icon_url: `${config.domainProtocol}://${config.domainName}/img/kitsu.b07d6464.png`,
    };
    queue("mattermost", () => postToMattermost(settings, webhook, message));
  }
  if (discord && organisation.chat_token_discord) {
    const token = organisation.chat_token_discord;
    const message = render(person.locale, "discord", parts);
    queue("discord", () => postToDiscord(settings, token, discord, message));
  }
}
