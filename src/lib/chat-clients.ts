/**
 * Outgoing chat messages (Slack, Mattermost, Discord) over their HTTP APIs with `fetch`, and the
 * background delivery queue that retries failed sends with exponential backoff.
 *
 *   await postToSlack(settings, token, userId, text);          // chat.postMessage to @userId
 *   await postToMattermost(settings, webhookUrl, body);         // incoming webhook
 *   await postToDiscord(settings, botToken, userId, text);      // DM: create channel, post message
 *   const cancel = chatDeliveries.push("slack", () => postToSlack(...), policy);  // never awaited
 *   await chatDeliveries.idle();                                // tests: everything settled
 *
 * A send throws `ChatSendError`; `retryable` is false for answers that a retry cannot change
 * (bad token, unknown user), true for network errors, timeouts, 429 and 5xx.
 */

export interface ChatSettings {
  /** SLACK_API_URL (Web API base, e.g. https://slack.com/api). */
  slackApiUrl: string;
  /** DISCORD_API_URL (REST base, e.g. https://discord.com/api/v10). */
  discordApiUrl: string;
  /** CHAT_SEND_TIMEOUT_MS: one HTTP call's time limit. */
  timeoutMs: number;
}

export class ChatSendError extends Error {
  constructor(message: string, readonly retryable: boolean) {
    super(message);
    this.name = "ChatSendError";
  }
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

/** POSTs JSON; answers the parsed body (or null), throws ChatSendError on transport or HTTP errors. */
async function postJson(url: string, body: unknown, headers: Record<string, string>, timeoutMs: number, service: string): Promise<any> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json; charset=utf-8", ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new ChatSendError(`${service}: ${error instanceof Error ? error.message : String(error)}`, true);
  }
  const text = await response.text().catch(() => "");
  if (!response.ok) {
    const retryable = response.status === 429 || response.status >= 500 || response.status === 408;
    throw new ChatSendError(`${service}: HTTP ${response.status} ${text.slice(0, 200)}`, retryable);
  }
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Slack `chat.postMessage` to the person's direct messages (`@userid`), as a mrkdwn section. */
export async function postToSlack(settings: ChatSettings, token: string, userId: string, text: string): Promise<void> {
  const answer = await postJson(
    `${trimSlash(settings.slackApiUrl)}/chat.postMessage`,
    { channel: `@${userId}`, text, blocks: [{ type: "section", text: { type: "mrkdwn", text } }], as_user: true },
    { Authorization: `Bearer ${token}` },
    settings.timeoutMs,
    "Slack",
  );
  // Slack answers 200 with `ok: false` for API errors; only rate limits are worth a retry.
  if (answer && answer.ok === false) {
    throw new ChatSendError(`Slack: ${answer.error ?? "error"}`, answer.error === "ratelimited" || answer.error === "internal_error");
  }
}

export interface MattermostMessage {
  text: string;
  channel: string;
  username: string;
  icon_url: string;
}

/** A Mattermost incoming webhook (the whole URL is the organisation's setting). */
export async function postToMattermost(settings: ChatSettings, webhookUrl: string, message: MattermostMessage): Promise<void> {
  await postJson(webhookUrl, message, {}, settings.timeoutMs, "Mattermost");
}

/**
 * A direct message from the bot: opens (or reuses) the DM channel with the user, then posts the
 * text as an embed. `userId` is a Discord user id (snowflake); a user name (`name` or
 * `name#1234`, as Zou accepts) is looked up among the members of the bot's guilds.
 */
export async function postToDiscord(settings: ChatSettings, token: string, userId: string, text: string): Promise<void> {
  const base = trimSlash(settings.discordApiUrl);
  const headers = { Authorization: `Bot ${token}` };
  const recipientId = /^\d{5,}$/.test(userId) ? userId : await findDiscordUser(settings, base, headers, userId);
  const channel = await postJson(`${base}/users/@me/channels`, { recipient_id: recipientId }, headers, settings.timeoutMs, "Discord");
  if (!channel?.id) throw new ChatSendError("Discord: no DM channel in the answer", true);
  await postJson(`${base}/channels/${channel.id}/messages`, { embeds: [{ description: text }] }, headers, settings.timeoutMs, "Discord");
}

async function getJson(url: string, headers: Record<string, string>, timeoutMs: number): Promise<any> {
  let response: Response;
  try {
    response = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new ChatSendError(`Discord: ${error instanceof Error ? error.message : String(error)}`, true);
  }
  if (!response.ok) throw new ChatSendError(`Discord: HTTP ${response.status}`, response.status === 429 || response.status >= 500);
  return response.json();
}

/** The id of the non-bot member named `name` (or `name#discriminator`) in one of the bot's guilds. */
async function findDiscordUser(settings: ChatSettings, base: string, headers: Record<string, string>, name: string): Promise<string> {
  const [username, discriminator] = name.split("#");
  const guilds = (await getJson(`${base}/users/@me/guilds`, headers, settings.timeoutMs)) as { id: string }[];
  for (const guild of guilds ?? []) {
    const query = new URLSearchParams({ query: username!, limit: "100" });
    const members = (await getJson(`${base}/guilds/${guild.id}/members/search?${query}`, headers, settings.timeoutMs)) as { user?: any }[];
    const found = (members ?? []).find(({ user }) =>
      user && !user.bot && user.username === username && (discriminator === undefined ? (user.discriminator ?? "0") === "0" : user.discriminator === discriminator),
    );
    if (found) return String(found.user.id);
  }
  throw new ChatSendError(`Discord: user ${name} not found by the bot`, false);
}

// ---------------------------------------------------------------------------------------------
// Delivery queue

export interface RetryPolicy {
  /** Retries after the first failed attempt (CHAT_RETRIES). */
  retries: number;
  /** Delay before the first retry, doubled for each next one (CHAT_RETRY_DELAY_MS). */
  delayMs: number;
}

/**
 * Runs sends in the background: `push` returns at once; a failed retryable send is tried again
 * after `delayMs`, `2 * delayMs`, ... up to `retries` times, then logged and dropped.
 */
export class ChatDeliveryQueue {
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  /**
   * Queues a send; the answer cancels it (attempts not yet started are dropped; used when the
   * transaction that created the notification rolls back).
   */
  push(name: string, send: () => Promise<void>, policy: RetryPolicy): () => void {
    this.inFlight += 1;
    let cancelled = false;
    const attempt = (number: number) => {
      if (cancelled) {
        this.settle();
        return;
      }
      send().then(
        () => this.settle(),
        (error) => {
          const retryable = !(error instanceof ChatSendError) || error.retryable;
          if (retryable && number < policy.retries) {
            setTimeout(() => attempt(number + 1), policy.delayMs * 2 ** number);
            return;
          }
          console.error(`chat notification (${name}) not sent:`, error instanceof Error ? error.message : error);
          this.settle();
        },
      );
    };
    setTimeout(() => attempt(0), 0);
    return () => {
      cancelled = true;
    };
  }

  /** Sends started and not yet delivered or given up. */
  get pending(): number {
    return this.inFlight;
  }

  /** Resolves once every pushed send is delivered or given up. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private settle(): void {
    this.inFlight -= 1;
    if (this.inFlight > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** The process-wide chat delivery queue. */
export const chatDeliveries = new ChatDeliveryQueue();
