/**
 * Chat notifications (issue 17, item 3): a comment notifying an assignee reaches recording
 * Slack, Mattermost and Discord stand-ins (a Bun.serve on a loopback port), in the person's
 * locale; the API answer does not wait for a slow service; failed sends are retried.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { makeServer, type Person, type TestServer } from "./helpers";
import { fixtures, type Fixtures } from "./tasks-fixtures";
import { chatDeliveries } from "../src/lib/chat-clients";
import { getOrCreateOrganisation } from "../src/services/persons";

interface Arrival {
  path: string;
  authorization: string | null;
  body: any;
}

/** What the stand-in records and how it misbehaves. */
const standIn = {
  arrivals: [] as Arrival[],
  /** While set, every answer waits for it (a service that does not answer). */
  hold: null as Promise<void> | null,
  answered: 0,
  /** Answers left to fail with a 503, per path. */
  failures: new Map<string, number>(),
  /** Slack's `ok: false` error to answer (not retryable), if any. */
  slackError: "" as string,
};

const chatServer = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(request) {
    const path = new URL(request.url).pathname;
    const text = await request.text();
    standIn.arrivals.push({ path, authorization: request.headers.get("authorization"), body: text ? JSON.parse(text) : null });
    if (standIn.hold) await standIn.hold;
    standIn.answered += 1;
    const failuresLeft = standIn.failures.get(path) ?? 0;
    if (failuresLeft > 0) {
      standIn.failures.set(path, failuresLeft - 1);
      return new Response("unavailable", { status: 503 });
    }
    if (path === "/slack/chat.postMessage") {
      return Response.json(standIn.slackError ? { ok: false, error: standIn.slackError } : { ok: true, channel: "D1", ts: "1.1" });
    }
    if (path === "/hooks/kitsu-hook") return new Response("ok");
    if (path === "/discord/users/@me/channels") return Response.json({ id: "900000000000000001", type: 1 });
    if (path === "/discord/channels/900000000000000001/messages") return Response.json({ id: "900000000000000002" });
    if (path === "/discord/users/@me/guilds") return Response.json([{ id: "700000000000000001" }]);
    if (path === "/discord/guilds/700000000000000001/members/search") {
      return Response.json([
        { user: { id: "600000000000000009", username: "bo_new", discriminator: "0", bot: true } },
        { user: { id: "600000000000000001", username: "bo_new", discriminator: "0" } },
      ]);
    }
    return new Response("not found", { status: 404 });
  },
});
const base = `http://127.0.0.1:${chatServer.port}`;

let server: TestServer;
let fx: Fixtures;
let manager: Person;
let artist: Person;
let frenchArtist: Person;
let project: any;
let taskId: string;
let wip: any;

beforeAll(async () => {
  server = await makeServer({
    slackApiUrl: `${base}/slack`,
    discordApiUrl: `${base}/discord`,
    chatRetries: 3,
    chatRetryDelayMs: 20,
    chatSendTimeoutMs: 5000,
    domainName: "kitsu.test",
    domainProtocol: "https",
  });
  fx = fixtures(server);
  manager = await server.person("manager", { first_name: "Mona", last_name: "Boss" });
  artist = await server.person("user", {
    first_name: "Ada", last_name: "Anim", locale: "en_US",
    notifications_slack_enabled: true, notifications_slack_userid: "U0ADA",
    notifications_mattermost_enabled: true, notifications_mattermost_userid: "ada.anim",
    notifications_discord_enabled: true, notifications_discord_userid: "123456789012345678",
  });
  frenchArtist = await server.person("user", {
    first_name: "Jean", last_name: "Dupont", locale: "fr_FR",
    notifications_slack_enabled: true, notifications_slack_userid: "U0JEAN",
  });
  await server.person("user", { first_name: "Quiet", last_name: "One", notifications_slack_enabled: false, notifications_slack_userid: "U0QUIET" });
  const organisation = await getOrCreateOrganisation(server.db);
  await server.db.updateTable("organisation").set({
    chat_token_slack: "xoxb-slack-token", chat_webhook_mattermost: `${base}/hooks/kitsu-hook`, chat_token_discord: "discord-bot-token",
  }).where("id", "=", organisation.id).execute();
  project = await server.project("Chat Project", [manager, artist, frenchArtist]);
  const sequence = await fx.sequence(project.id, "SQ01");
  const shot = await fx.shot(project.id, sequence, "SH010");
  const animation = await fx.taskType("Animation", "Shot");
  taskId = await fx.task(project.id, shot, animation.id);
  await fx.assign(taskId, artist);
  await fx.assign(taskId, frenchArtist);
  wip = await fx.status("wip");
});

afterAll(() => {
  chatServer.stop(true);
});

beforeEach(async () => {
  await chatDeliveries.idle();
  standIn.arrivals = [];
  standIn.hold = null;
  standIn.answered = 0;
  standIn.failures.clear();
  standIn.slackError = "";
});

async function comment(text: string): Promise<number> {
  const answer = await server.request("POST", `/api/actions/tasks/${taskId}/comment`, { token: manager.token, body: { task_status_id: wip.id, comment: text } });
  return answer.status;
}

const arrivalsAt = (path: string) => standIn.arrivals.filter((a) => a.path === path);

describe("chat notifications of a comment", () => {
  test("reach Slack, Mattermost and Discord with the expected payloads, in each person's locale", async () => {
    expect(await comment("Looks great")).toBe(201);
    await chatDeliveries.idle();

    const taskUrl = `https://kitsu.test/productions/${project.id}/shots/tasks/${taskId}`;
    const taskName = "Chat Project / SQ01 / SH010 / Animation";
    const slack = arrivalsAt("/slack/chat.postMessage");
    expect(slack).toHaveLength(2);
    for (const arrival of slack) expect(arrival.authorization).toBe("Bearer xoxb-slack-token");
    const toAda = slack.find((a) => a.body.channel === "@U0ADA")!;
    const english = `*Mona Boss* wrote a comment on <${taskUrl}|${taskName}> and set the status to *WIP*.\n\n_Looks great_`;
    expect(toAda.body).toEqual({ channel: "@U0ADA", text: english, blocks: [{ type: "section", text: { type: "mrkdwn", text: english } }], as_user: true });
    const toJean = slack.find((a) => a.body.channel === "@U0JEAN")!;
    expect(toJean.body.text).toBe(`*Mona Boss* a commenté <${taskUrl}|${taskName}> et a mis le statut à *WIP*.\n\n_Looks great_`);
    expect(slack.some((a) => a.body.channel === "@U0QUIET")).toBe(false);

    const mattermost = arrivalsAt("/hooks/kitsu-hook");
    expect(mattermost).toHaveLength(1);
    expect(mattermost[0]!.body).toEqual({
      text: `**Mona Boss** wrote a comment on [${taskName}](${taskUrl}) and set the status to **WIP**.\n\n_Looks great_`,
      channel: "@ada.anim",
      username: "Kitsu - Chat Project",
      icon_url: "https://kitsu.test/img/kitsu.b07d6464.png",
    });

    const dm = arrivalsAt("/discord/users/@me/channels");
    expect(dm).toHaveLength(1);
    expect(dm[0]!.authorization).toBe("Bot discord-bot-token");
    expect(dm[0]!.body).toEqual({ recipient_id: "123456789012345678" });
    const posted = arrivalsAt("/discord/channels/900000000000000001/messages");
    expect(posted).toHaveLength(1);
    expect(posted[0]!.authorization).toBe("Bot discord-bot-token");
    expect(posted[0]!.body).toEqual({
      embeds: [{ description: `**Mona Boss** wrote a comment on [${taskName}](${taskUrl}) and set the status to **WIP**.\n\n*Looks great*` }],
    });
  });

  test("the API answer does not wait for a chat service that has not answered", async () => {
    let release = () => {};
    standIn.hold = new Promise<void>((resolve) => (release = resolve));
    expect(await comment("Slow services")).toBe(201);
    // Answered while no chat service has answered anything: the sends are still pending.
    expect(standIn.answered).toBe(0);
    expect(chatDeliveries.pending).toBe(4);
    release();
    await chatDeliveries.idle();
    expect(arrivalsAt("/slack/chat.postMessage").map((a) => a.body.channel).sort()).toEqual(["@U0ADA", "@U0JEAN"]);
    expect(arrivalsAt("/hooks/kitsu-hook")).toHaveLength(1);
    expect(arrivalsAt("/discord/channels/900000000000000001/messages")).toHaveLength(1);
  });

  test("a failing service is retried until the message goes through", async () => {
    standIn.failures.set("/hooks/kitsu-hook", 2);
    standIn.failures.set("/discord/channels/900000000000000001/messages", 1);
    await comment("Retry please");
    await chatDeliveries.idle();
    const mattermost = arrivalsAt("/hooks/kitsu-hook");
    expect(mattermost).toHaveLength(3);
    expect(mattermost.every((a) => a.body.text.includes("_Retry please_"))).toBe(true);
    // Discord retries the whole send: the DM channel is opened again, then the message posted.
    expect(arrivalsAt("/discord/channels/900000000000000001/messages")).toHaveLength(2);
    expect(arrivalsAt("/discord/users/@me/channels")).toHaveLength(2);
  });

  test("gives up after CHAT_RETRIES, and never retries an answer a retry cannot change", async () => {
    standIn.failures.set("/hooks/kitsu-hook", 10);
    standIn.slackError = "channel_not_found";
    await comment("Down for good");
    await chatDeliveries.idle();
    expect(arrivalsAt("/hooks/kitsu-hook")).toHaveLength(4);
    expect(arrivalsAt("/slack/chat.postMessage")).toHaveLength(2);
  });

  test("an assignment is sent too; a Discord user name is resolved", async () => {
    const other = await server.person("user", {
      first_name: "Bo", last_name: "New", notifications_slack_enabled: true, notifications_slack_userid: "U0BO",
      notifications_discord_enabled: true, notifications_discord_userid: "bo_new",
    });
    await server.addToTeam(project.id, other);
    const answer = await server.request("PUT", `/api/actions/persons/${other.id}/assign`, { token: manager.token, body: { task_ids: [taskId] } });
    expect(answer.status).toBe(200);
    await chatDeliveries.idle();
    const slack = arrivalsAt("/slack/chat.postMessage");
    expect(slack).toHaveLength(1);
    expect(slack[0]!.body.channel).toBe("@U0BO");
    expect(slack[0]!.body.text).toBe(
      `*Mona Boss* assigned you to <https://kitsu.test/productions/${project.id}/shots/tasks/${taskId}|Chat Project / SQ01 / SH010 / Animation>.`,
    );
    // A Discord user name (not an id) is looked up among the members of the bot's guilds.
    expect(arrivalsAt("/discord/users/@me/channels")[0]!.body).toEqual({ recipient_id: "600000000000000001" });
    expect(arrivalsAt("/discord/channels/900000000000000001/messages")).toHaveLength(1);
  });

  test("a reply reaches the replied-to people in their locale", async () => {
    const created = await server.json("POST", `/api/actions/tasks/${taskId}/comment`, { token: manager.token, body: { task_status_id: wip.id, comment: "Base" } });
    await chatDeliveries.idle();
    standIn.arrivals = [];
    const reply = await server.json("POST", `/api/data/tasks/${taskId}/comments/${created.body.id}/reply`, { token: manager.token, body: { text: "Encore un effort" } });
    expect(reply.status).toBe(200);
    await chatDeliveries.idle();
    const toJean = arrivalsAt("/slack/chat.postMessage").find((a) => a.body.channel === "@U0JEAN")!;
    expect(toJean.body.text).toBe(
      `*Mona Boss* a répondu sur <https://kitsu.test/productions/${project.id}/shots/tasks/${taskId}|Chat Project / SQ01 / SH010 / Animation>.\n\n_Encore un effort_`,
    );
  });

  test("a playlist ready for clients is sent to the clients", async () => {
    const client = await server.person("client", {
      first_name: "Cli", last_name: "Ent", notifications_mattermost_enabled: true, notifications_mattermost_userid: "client.one",
    });
    await server.addToTeam(project.id, client);
    const playlistId = crypto.randomUUID();
    await server.db.insertInto("playlist").values({ id: playlistId, name: "Dailies 12", project_id: project.id, for_client: true } as any).execute();
    const answer = await server.json("POST", `/api/data/playlists/${playlistId}/notify-clients`, { token: manager.token, body: {} });
    expect(answer.status).toBe(200);
    await chatDeliveries.idle();
    const mattermost = arrivalsAt("/hooks/kitsu-hook");
    expect(mattermost).toHaveLength(1);
    expect(mattermost[0]!.body.channel).toBe("@client.one");
    expect(mattermost[0]!.body.text).toBe(
      `**Mona Boss** lets you know that the playlist [Dailies 12](https://kitsu.test/productions/${project.id}/playlists/${playlistId}) of Chat Project is ready for review.`,
    );
  });
});

describe("the delivery queue", () => {
  test("a cancelled send (its transaction rolled back) is never attempted", async () => {
    let attempts = 0;
    const cancel = chatDeliveries.push("test", async () => void (attempts += 1), { retries: 2, delayMs: 1 });
    cancel();
    await chatDeliveries.idle();
    expect(attempts).toBe(0);
  });
});
