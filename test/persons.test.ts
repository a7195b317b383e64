/** Persons area admin tools: invitations, reset links, passwords, 2FA reset, avatars, departments, desktop logins. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeServer, type Person, type TestServer } from "./helpers";
import { bot } from "./people-fixtures";
import { kvGet } from "../src/lib/kv";
import { verifyPassword } from "../src/lib/passwords";

const UNKNOWN_ID = "3f4a9c2e-8b1d-4c6e-9a7f-2d5b8e1c0a93";

/** A minimal SMTP server keeping the DATA of each message. */
function fakeSmtp() {
  const messages: string[] = [];
  const server = Bun.listen<{ buffer: string; inData: boolean; data: string }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        socket.data = { buffer: "", inData: false, data: "" };
        socket.write("220 fake ESMTP\r\n");
      },
      data(socket, chunk) {
        const state = socket.data;
        state.buffer += chunk.toString();
        let index: number;
        while ((index = state.buffer.indexOf("\r\n")) !== -1) {
          const line = state.buffer.slice(0, index);
          state.buffer = state.buffer.slice(index + 2);
          if (state.inData) {
            if (line === ".") {
              state.inData = false;
              messages.push(state.data);
              state.data = "";
              socket.write("250 queued\r\n");
            } else state.data += line + "\n";
            continue;
          }
          const command = line.slice(0, 4).toUpperCase();
          if (command === "EHLO" || command === "HELO") socket.write("250 fake\r\n");
          else if (command === "DATA") {
            state.inData = true;
            socket.write("354 go\r\n");
          } else if (command === "QUIT") {
            socket.write("221 bye\r\n");
            socket.end();
          } else socket.write("250 ok\r\n");
        }
      },
    },
  });
  return { messages, port: server.port, stop: () => server.stop(true) };
}

let server: TestServer;
let mailServer: TestServer;
let smtp: ReturnType<typeof fakeSmtp>;
let artist: Person;
let manager: Person;
let robot: Person;

beforeAll(async () => {
  smtp = fakeSmtp();
  server = await makeServer();
  mailServer = await makeServer({ smtp: { host: "127.0.0.1", port: smtp.port, user: "", password: "", from: "kitsu@example.com", tls: false } });
  artist = await server.person("user");
  manager = await server.person("manager");
  robot = await bot(server);
});

afterAll(() => smtp.stop());

describe("invitations", () => {
  test("without SMTP: a clear 400", async () => {
    const answer = await server.json("GET", `/api/actions/persons/${artist.id}/invite`);
    expect(answer.status).toBe(400);
    expect(answer.body.message).toContain("MAIL_SERVER");
  });

  test("with SMTP: the invitation mail carries a 7-day reset link", async () => {
    const invited = await mailServer.person("user");
    const answer = await mailServer.json("GET", `/api/actions/persons/${invited.id}/invite`);
    expect(answer).toEqual({ status: 200, body: { success: true, message: "Email sent" } });
    const token = await kvGet(mailServer.db, `reset-token-${invited.email}`);
    expect(token).toHaveLength(64);
    const mail = smtp.messages.at(-1)!.replace(/=\r?\n/g, "").replace(/=3D/g, "=");
    expect(mail).toContain(`token=${token}`);
    expect(mail).toContain("type=new");
  });

  test("403 for managers and on bots, 404 for an unknown person", async () => {
    expect((await server.json("GET", `/api/actions/persons/${artist.id}/invite`, { token: manager.token })).status).toBe(403);
    expect((await server.json("GET", `/api/actions/persons/${robot.id}/invite`)).status).toBe(403);
    expect((await server.json("GET", `/api/actions/persons/${UNKNOWN_ID}/invite`)).status).toBe(404);
  });
});

describe("reset links and passwords", () => {
  test("reset link: returned, reused while valid", async () => {
    const first = await server.json("POST", `/api/actions/persons/${artist.id}/reset-password-link`);
    expect(first.status).toBe(200);
    expect(first.body.reset_password_link).toMatch(/\/reset-change-password\?email=.+&token=[A-Z0-9]{64}$/);
    const second = await server.json("POST", `/api/actions/persons/${artist.id}/reset-password-link`);
    expect(second.body.reset_password_link).toBe(first.body.reset_password_link);
    expect((await server.json("POST", `/api/actions/persons/${artist.id}/reset-password-link`, { token: manager.token })).status).toBe(403);
    expect((await server.json("POST", `/api/actions/persons/${robot.id}/reset-password-link`)).status).toBe(403);
  });

  test("admin changes a password: validation, then the new one logs in", async () => {
    const url = `/api/actions/persons/${artist.id}/change-password`;
    expect((await server.json("POST", url, { body: { password: "new-password-1" } })).status).toBe(400);
    const short = await server.json("POST", url, { body: { password: "short", password_2: "short" } });
    expect(short).toEqual({ status: 400, body: { error: true, message: "Password is too short." } });
    const mismatch = await server.json("POST", url, { body: { password: "new-password-1", password_2: "new-password-2" } });
    expect(mismatch.body.message).toBe("Confirmation password doesn't match.");
    expect((await server.json("POST", url, { token: manager.token, body: { password: "new-password-1", password_2: "new-password-1" } })).status).toBe(403);
    const ok = await server.json("POST", url, { body: { password: "new-password-1", password_2: "new-password-1" } });
    expect(ok).toEqual({ status: 200, body: { success: true } });
    const row = await server.db.selectFrom("person").select("password").where("id", "=", artist.id).executeTakeFirstOrThrow();
    expect(await verifyPassword("new-password-1", row.password)).toBe(true);
    expect((await server.json("POST", `/api/actions/persons/${UNKNOWN_ID}/change-password`, { body: { password: "new-password-1", password_2: "new-password-1" } })).status).toBe(404);
  });

  test("another admin's password cannot be changed", async () => {
    const otherAdmin = await server.person("admin");
    const answer = await server.json("POST", `/api/actions/persons/${otherAdmin.id}/change-password`, { body: { password: "new-password-1", password_2: "new-password-1" } });
    expect(answer.status).toBe(400);
  });
});

describe("two-factor reset", () => {
  test("turns every method off; 400 when none is on", async () => {
    const person = await server.person("user", { totp_enabled: true, totp_secret: "ABC", preferred_two_factor_authentication: "totp" });
    const url = `/api/actions/persons/${person.id}/disable-two-factor-authentication`;
    expect((await server.json("DELETE", url, { token: manager.token })).status).toBe(403);
    expect((await server.json("DELETE", url)).body).toEqual({ success: true });
    const row = await server.db.selectFrom("person").selectAll().where("id", "=", person.id).executeTakeFirstOrThrow();
    expect(Boolean(row.totp_enabled)).toBe(false);
    expect(row.totp_secret).toBeNull();
    const again = await server.json("DELETE", url);
    expect(again).toEqual({ status: 400, body: { error: true, message: "Two factor authentication not enabled for this user." } });
  });
});

describe("avatars and departments", () => {
  test("admin clears an avatar: 204, 404 unknown, 403 non-admin", async () => {
    await server.db.updateTable("person").set({ has_avatar: true }).where("id", "=", artist.id).execute();
    expect((await server.json("DELETE", `/api/actions/persons/${artist.id}/clear-avatar`, { token: manager.token })).status).toBe(403);
    expect((await server.json("DELETE", `/api/actions/persons/${artist.id}/clear-avatar`)).status).toBe(204);
    expect((await server.json("GET", `/api/data/persons/${artist.id}`)).body.has_avatar).toBe(false);
    expect((await server.json("DELETE", `/api/actions/persons/${UNKNOWN_ID}/clear-avatar`)).status).toBe(404);
  });

  test("add to and remove from a department", async () => {
    const department = await server.db.selectFrom("department").select("id").where("name", "=", "Animation").executeTakeFirstOrThrow();
    const url = `/api/actions/persons/${artist.id}/departments/add`;
    const added = await server.json("POST", url, { body: { department_id: department.id } });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ id: artist.id, type: "Person", departments: [department.id] });
    expect((await server.json("POST", url, { body: { department_id: department.id } })).body.departments).toEqual([department.id]);
    expect((await server.json("POST", url, { body: { department_id: UNKNOWN_ID } })).body.message).toBe("Department ID matches no department");
    expect((await server.json("POST", url, { body: {} })).status).toBe(400);
    expect((await server.json("POST", url, { token: manager.token, body: { department_id: department.id } })).status).toBe(403);
    expect((await server.json("POST", `/api/actions/persons/${UNKNOWN_ID}/departments/add`, { body: { department_id: department.id } })).status).toBe(404);
    const events = (await server.db.selectFrom("api_event").select("name").execute()).map((e) => e.name);
    expect(events).toContain("person:update");
    expect((await server.json("DELETE", `/api/actions/persons/${artist.id}/departments/${department.id}`)).status).toBe(204);
    expect((await server.json("GET", `/api/data/persons/${artist.id}`)).body.departments).toEqual([]);
    expect((await server.json("DELETE", `/api/actions/persons/${artist.id}/departments/${UNKNOWN_ID}`)).status).toBe(400);
  });
});

describe("desktop login logs of a person", () => {
  test("404 for an unknown person (for managers), 403 for someone else", async () => {
    expect((await server.json("GET", `/api/data/persons/${UNKNOWN_ID}/desktop-login-logs`, { token: manager.token })).status).toBe(404);
    expect((await server.json("GET", `/api/data/persons/${manager.id}/desktop-login-logs`, { token: artist.token })).status).toBe(403);
    expect((await server.json("POST", `/api/data/persons/${artist.id}/desktop-login-logs`, { body: { date: "2024-01-02" } })).status).toBe(201);
    expect((await server.json("GET", `/api/data/persons/${artist.id}/desktop-login-logs`, { token: artist.token })).body[0].date).toBe("2024-01-02T00:00:00");
  });
});
