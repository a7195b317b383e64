import { describe, expect, test, beforeAll } from "bun:test";
import { makeServer, type TestServer, type Person } from "./helpers";
import { newId, utcNow } from "../src/lib/ids";

const MINIMAL_KEYS = ["active", "departments", "desktop_login", "first_name", "full_name", "has_avatar", "id", "is_bot", "last_name", "role", "studio_id", "type"];
const SECRET_KEYS = ["password", "totp_secret", "email_otp_secret", "otp_recovery_codes", "fido_credentials", "jti", "login_failed_attemps", "last_login_failed"];

let server: TestServer;
let manager: Person;
let supervisor: Person;
let artist: Person;
beforeAll(async () => {
  server = await makeServer();
  manager = await server.person("manager");
  supervisor = await server.person("supervisor");
  artist = await server.person("user");
});

async function login(s: TestServer, email: string, password: string) {
  return s.json("POST", "/api/auth/login", { token: null, body: { email, password } });
}

describe("GET /data/persons", () => {
  test("admins get the safe form, others the minimal form", async () => {
    const asAdmin = await server.json("GET", "/api/data/persons");
    expect(asAdmin.status).toBe(200);
    const full = asAdmin.body.find((p: any) => p.id === artist.id);
    expect(full.email).toBe(artist.email);
    expect(full.full_name).toBe(`user ${full.last_name}`);
    expect(full.type).toBe("Person");
    for (const key of SECRET_KEYS) expect(full).not.toHaveProperty(key);
    expect(full).not.toHaveProperty("departments");

    for (const reader of [manager, supervisor, artist]) {
      const { status, body } = await server.json("GET", "/api/data/persons", { token: reader.token });
      expect(status).toBe(200);
      const minimal = body.find((p: any) => p.id === server.admin.id);
      expect(Object.keys(minimal).sort()).toEqual(MINIMAL_KEYS);
      expect(minimal.departments).toEqual([]);
    }
  });

  test("relations=true fills departments", async () => {
    const department = await server.db.selectFrom("department").select("id").executeTakeFirstOrThrow();
    const member = await server.person("user");
    await server.db.insertInto("department_link").values({ person_id: member.id, department_id: department.id }).execute();
    const { body } = await server.json("GET", `/api/data/persons?relations=true&id=${member.id}`, { token: artist.token });
    expect(body).toHaveLength(1);
    expect(body[0].departments).toEqual([department.id]);
  });

  test("with_pass_hash=true adds the hash for admins only", async () => {
    const admin = await server.json("GET", "/api/data/persons?with_pass_hash=true");
    expect(admin.body.find((p: any) => p.id === artist.id).password).toStartWith("$2");
    const other = await server.json("GET", "/api/data/persons?with_pass_hash=true", { token: artist.token });
    expect(other.body.find((p: any) => p.id === artist.id)).not.toHaveProperty("password");
  });

  test("filters: non-admins are limited to the minimal columns and email (vector 57)", async () => {
    const refused = await server.json("GET", "/api/data/persons?daily_salary=320", { token: artist.token });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toBe("Filtering on daily_salary is not allowed.");
    const byEmail = await server.json("GET", `/api/data/persons?email=${encodeURIComponent(manager.email)}`, { token: artist.token });
    expect(byEmail.status).toBe(200);
    expect(byEmail.body.map((p: any) => p.id)).toEqual([manager.id]);
    const admin = await server.json("GET", "/api/data/persons?daily_salary=0");
    expect(admin.status).toBe(200);
    const secret = await server.json("GET", "/api/data/persons?jti=abc");
    expect(secret.status).toBe(400);
    expect(secret.body.message).toBe("Filtering on jti is not allowed.");
  });
});

describe("GET /data/persons/:id", () => {
  test("managers and admins get the safe form with departments, others the minimal form", async () => {
    for (const reader of [server.admin, manager]) {
      const { status, body } = await server.json("GET", `/api/data/persons/${artist.id}`, { token: reader.token });
      expect(status).toBe(200);
      expect(body.email).toBe(artist.email);
      expect(body.departments).toEqual([]);
      for (const key of SECRET_KEYS) expect(body).not.toHaveProperty(key);
    }
    for (const reader of [supervisor, artist]) {
      const { status, body } = await server.json("GET", `/api/data/persons/${server.admin.id}`, { token: reader.token });
      expect(status).toBe(200);
      expect(Object.keys(body).sort()).toEqual(MINIMAL_KEYS);
    }
  });

  test("404 unknown, 400 malformed", async () => {
    expect((await server.json("GET", `/api/data/persons/${newId()}`)).status).toBe(404);
    const malformed = await server.json("GET", "/api/data/persons/abc");
    expect(malformed.status).toBe(400);
    expect(malformed.body.message).toBe("Malformed ID.");
  });
});

describe("POST /data/persons", () => {
  test("vector 8: managers cannot create, admins can", async () => {
    const body = { first_name: "John", last_name: "Doe", email: "john.doe@example.com" };
    expect((await server.json("POST", "/api/data/persons", { token: manager.token, body })).status).toBe(403);
    const created = await server.json("POST", "/api/data/persons", { body });
    expect(created.status).toBe(201);
    expect(created.body.first_name).toBe("John");
    expect(created.body.full_name).toBe("John Doe");
    expect(created.body.role).toBe("user");
    expect(created.body.contract_type).toBe("open-ended");
    expect(created.body.active).toBe(true);
    expect(created.body.timezone).toBe("Europe/Paris");
    expect(created.body.locale).toBe("en_US");
    expect(created.body.departments).toEqual([]);
    expect(created.body).not.toHaveProperty("access_token");
    for (const key of SECRET_KEYS) expect(created.body).not.toHaveProperty(key);
    const events = await server.db.selectFrom("api_event").select("data").where("name", "=", "person:new").execute();
    expect(events.map((event) => JSON.parse(event.data as string).person_id)).toContain(created.body.id);
  });

  test("email is normalised and unique among humans only", async () => {
    const created = await server.json("POST", "/api/data/persons", { body: { first_name: "Ann", last_name: "Lee", email: "  Ann.Lee@Example.COM " } });
    expect(created.status).toBe(201);
    expect(created.body.email).toBe("ann.lee@example.com");
    const duplicate = await server.json("POST", "/api/data/persons", { body: { first_name: "Ann", last_name: "Two", email: "ANN.LEE@example.com" } });
    expect(duplicate.status).toBe(400);
    expect(duplicate.body.message).toBe("Email already in use.");
    const bot = await server.json("POST", "/api/data/persons", { body: { first_name: "Ann", last_name: "Bot", email: "ann.lee@example.com", is_bot: true } });
    expect(bot.status).toBe(201);
    const invalid = await server.json("POST", "/api/data/persons", { body: { first_name: "No", last_name: "Mail", email: "not-an-address" } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toBe(true);
  });

  test("bots get an access token in the answer; the token works and carries identity bot", async () => {
    const created = await server.json("POST", "/api/data/persons", { body: { first_name: "Sync", last_name: "Bot", is_bot: true, role: "manager" } });
    expect(created.status).toBe(201);
    const token = created.body.access_token as string;
    const payload = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
    expect(payload.identity_type).toBe("bot");
    expect(payload.sub).toBe(created.body.id);
    const read = await server.json("GET", `/api/data/persons/${artist.id}`, { token });
    expect(read.status).toBe(200);
    expect(read.body.email).toBe(artist.email);
    // The jti is stored and never shown.
    const row = await server.db.selectFrom("person").select("jti").where("id", "=", created.body.id).executeTakeFirstOrThrow();
    expect(row.jti).toBe(payload.jti);
  });

  test("field validation", async () => {
    const base = { first_name: "Val", last_name: "Idation" };
    const cases: Record<string, unknown>[] = [
      { role: "superuser" },
      { contract_type: "forever" },
      { country: "France" },
      { locale: "not a locale" },
      { display_date_format: "DD.MM.YYYY" },
      { expiration_date: "2001-01-01" },
      { preferred_two_factor_authentication: "sms" },
      { unknown_column: 1 },
    ];
    for (const extra of cases) {
      const { status, body } = await server.json("POST", "/api/data/persons", { body: { ...base, ...extra } });
      expect(status).toBe(400);
      expect(typeof body.message).toBe("string");
    }
    const missing = await server.json("POST", "/api/data/persons", { body: { first_name: "Only" } });
    expect(missing.status).toBe(400);
    const normalised = await server.json("POST", "/api/data/persons", { body: { ...base, country: "fr", locale: "fr-fr" } });
    expect(normalised.status).toBe(201);
    expect(normalised.body.country).toBe("FR");
    expect(normalised.body.locale).toBe("fr_FR");
  });

  test("the password is bcrypt-hashed and logs in", async () => {
    const created = await server.json("POST", "/api/data/persons", {
      body: { first_name: "Pat", last_name: "Word", email: "pat.word@example.com", password: "pat-password" },
    });
    expect(created.status).toBe(201);
    const row = await server.db.selectFrom("person").select("password").where("id", "=", created.body.id).executeTakeFirstOrThrow();
    expect(String(row.password)).toStartWith("$2b$");
    expect((await login(server, "pat.word@example.com", "pat-password")).status).toBe(200);
  });

  test("departments are linked, unknown ids dropped", async () => {
    const department = await server.db.selectFrom("department").select("id").executeTakeFirstOrThrow();
    const created = await server.json("POST", "/api/data/persons", {
      body: { first_name: "Dep", last_name: "Artment", departments: [department.id, newId()] },
    });
    expect(created.status).toBe(201);
    expect(created.body.departments).toEqual([department.id]);
  });

  test("user limit", async () => {
    const small = await makeServer({ userLimit: 2 });
    await small.person("user");
    const refused = await small.json("POST", "/api/data/persons", { body: { first_name: "Over", last_name: "Limit" } });
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ error: true, message: "User limit reached.", data: null });
    expect((await small.json("POST", "/api/data/persons", { body: { first_name: "A", last_name: "Bot", is_bot: true } })).status).toBe(201);
    expect((await small.json("POST", "/api/data/persons", { body: { first_name: "A", last_name: "Guest", is_guest: true } })).status).toBe(201);
    const inactive = await small.json("POST", "/api/data/persons", { body: { first_name: "Not", last_name: "Active", active: false } });
    expect(inactive.status).toBe(201);
    const reactivate = await small.json("PUT", `/api/data/persons/${inactive.body.id}`, { body: { active: true } });
    expect(reactivate.status).toBe(400);
    expect(reactivate.body.message).toBe("User limit reached.");
  });
});

describe("PUT /data/persons/:id", () => {
  test("vectors 9 and 10: managers cannot edit others", async () => {
    const email = await server.json("PUT", `/api/data/persons/${server.admin.id}`, { token: manager.token, body: { email: "x@example.com" } });
    expect(email.status).toBe(403);
    const role = await server.json("PUT", `/api/data/persons/${artist.id}`, { token: manager.token, body: { role: "admin" } });
    expect(role.status).toBe(403);
    expect((await server.json("GET", `/api/data/persons/${artist.id}`, { token: manager.token })).status).toBe(200);
  });

  test("self edit: admin-only keys and the password are silently dropped", async () => {
    const self = await server.person("user");
    const department = await server.db.selectFrom("department").select("id").executeTakeFirstOrThrow();
    const answer = await server.json("PUT", `/api/data/persons/${self.id}`, {
      token: self.token,
      body: { first_name: "Renamed", role: "admin", active: false, departments: [department.id], password: "hacked-password", jti: "x", phone: "123" },
    });
    expect(answer.status).toBe(200);
    expect(answer.body.first_name).toBe("Renamed");
    expect(answer.body.phone).toBe("123");
    expect(answer.body.role).toBe("user");
    expect(answer.body.active).toBe(true);
    expect(answer.body.departments).toEqual([]);
    for (const key of SECRET_KEYS) expect(answer.body).not.toHaveProperty(key);
    expect((await login(server, self.email, "hacked-password")).status).toBe(400);
    expect((await login(server, self.email, self.password)).status).toBe(200);
  });

  test("admins edit roles, departments and e-mails with the uniqueness rule", async () => {
    const target = await server.person("user");
    const department = await server.db.selectFrom("department").select("id").executeTakeFirstOrThrow();
    const answer = await server.json("PUT", `/api/data/persons/${target.id}`, { body: { role: "supervisor", departments: [department.id], email: "NEW.Mail@example.com" } });
    expect(answer.status).toBe(200);
    expect(answer.body.role).toBe("supervisor");
    expect(answer.body.departments).toEqual([department.id]);
    expect(answer.body.email).toBe("new.mail@example.com");
    const taken = await server.json("PUT", `/api/data/persons/${target.id}`, { body: { email: artist.email } });
    expect(taken.status).toBe(400);
    expect(taken.body.message).toBe("Email already in use.");
    const same = await server.json("PUT", `/api/data/persons/${target.id}`, { body: { email: "new.mail@example.com" } });
    expect(same.status).toBe(200);
    const badRole = await server.json("PUT", `/api/data/persons/${target.id}`, { body: { role: "boss" } });
    expect(badRole.status).toBe(400);
    expect((await server.json("PUT", `/api/data/persons/${newId()}`, { body: { first_name: "x" } })).status).toBe(404);
  });

  test("expiration_date regenerates a bot's token and revokes the previous one", async () => {
    const created = await server.json("POST", "/api/data/persons", { body: { first_name: "Rot", last_name: "Bot", is_bot: true } });
    const oldToken = created.body.access_token as string;
    expect((await server.json("GET", "/api/data/persons", { token: oldToken })).status).toBe(200);
    const updated = await server.json("PUT", `/api/data/persons/${created.body.id}`, { body: { expiration_date: null } });
    expect(updated.status).toBe(200);
    expect(typeof updated.body.access_token).toBe("string");
    expect((await server.json("GET", "/api/data/persons", { token: oldToken })).status).toBe(401);
    expect((await server.json("GET", "/api/data/persons", { token: updated.body.access_token })).status).toBe(200);
    // A bot cannot renew its own token.
    const selfRenew = await server.json("PUT", `/api/data/persons/${created.body.id}`, { token: updated.body.access_token, body: { expiration_date: null } });
    expect(selfRenew.status).toBe(200);
    expect(selfRenew.body.access_token).toBeUndefined();
  });

  test("protected accounts cannot be deactivated, demoted or deleted by someone else", async () => {
    const guarded = await makeServer({ protectedAccounts: ["boss@example.com"] });
    const boss = await guarded.person("admin", { email: "boss@example.com" });
    const off = await guarded.json("PUT", `/api/data/persons/${boss.id}`, { body: { active: false } });
    expect(off.status).toBe(403);
    const demote = await guarded.json("PUT", `/api/data/persons/${boss.id}`, { body: { role: "user" } });
    expect(demote.status).toBe(403);
    expect((await guarded.json("PUT", `/api/data/persons/${boss.id}`, { body: { phone: "42" } })).status).toBe(200);
    expect((await guarded.json("PUT", `/api/data/persons/${boss.id}`, { token: boss.token, body: { first_name: "Me" } })).status).toBe(200);
    const removed = await guarded.json("DELETE", `/api/data/persons/${boss.id}`);
    expect(removed.status).toBe(400);
    expect(removed.body.message).toBe("Can't delete this person it's a protected account.");
  });
});

describe("DELETE /data/persons/:id", () => {
  test("vector 11 and self: 403", async () => {
    expect((await server.json("DELETE", `/api/data/persons/${server.admin.id}`, { token: manager.token })).status).toBe(403);
    expect((await server.json("DELETE", `/api/data/persons/${server.admin.id}`)).status).toBe(403);
    expect((await server.json("DELETE", `/api/data/persons/${newId()}`)).status).toBe(404);
  });

  test("a person without data goes; a referenced one needs force", async () => {
    const plain = await server.person("user");
    expect((await server.request("DELETE", `/api/data/persons/${plain.id}`)).status).toBe(204);
    expect((await server.json("GET", `/api/data/persons/${plain.id}`)).status).toBe(404);
    expect((await server.json("GET", "/api/data/persons", { token: plain.token })).status).toBe(401);

    const busy = await server.person("user");
    const department = await server.db.selectFrom("department").select("id").executeTakeFirstOrThrow();
    await server.db.insertInto("department_link").values({ person_id: busy.id, department_id: department.id }).execute();
    expect((await login(server, busy.email, busy.password)).status).toBe(200);
    const project = await server.project("Delete Me Project", [busy]);
    const now = utcNow();
    await server.db.insertInto("search_filter").values({ id: newId(), created_at: now, updated_at: now, list_type: "asset", name: "mine", search_query: "x", person_id: busy.id } as any).execute();

    // Production data authored by or linked to the person.
    const taskType = await server.db.selectFrom("task_type").select("id").executeTakeFirstOrThrow();
    const taskStatus = await server.db.selectFrom("task_status").select("id").executeTakeFirstOrThrow();
    const assetType = await server.db.selectFrom("entity_type").select("id").where("name", "=", "Character").executeTakeFirstOrThrow();
    const entityId = newId();
    await server.db.insertInto("entity").values({ id: entityId, created_at: now, updated_at: now, name: "Hero", project_id: project.id, entity_type_id: assetType.id, created_by: busy.id } as any).execute();
    const taskId = newId();
    await server.db.insertInto("task").values({ id: taskId, created_at: now, updated_at: now, name: "main", project_id: project.id, entity_id: entityId, task_type_id: taskType.id, task_status_id: taskStatus.id, assigner_id: busy.id } as any).execute();
    await server.db.insertInto("task_person_link").values({ task_id: taskId, person_id: busy.id } as any).execute();
    const commentId = newId();
    await server.db.insertInto("comment").values({ id: commentId, created_at: now, updated_at: now, object_id: taskId, object_type: "Task", person_id: busy.id, text: "hi" } as any).execute();
    await server.db.insertInto("comment_mentions").values({ comment: commentId, person: server.admin.id } as any).execute();
    await server.db.insertInto("notification").values({ id: newId(), created_at: now, updated_at: now, type: "comment", person_id: server.admin.id, author_id: busy.id, comment_id: commentId, task_id: taskId } as any).execute();
    await server.db.insertInto("time_spent").values({ id: newId(), created_at: now, updated_at: now, duration: 60, date: "2024-01-02", task_id: taskId, person_id: busy.id } as any).execute();

    const refused = await server.json("DELETE", `/api/data/persons/${busy.id}`);
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ error: true, message: "Some data are still linked to given person." });
    expect((await server.json("GET", `/api/data/persons/${busy.id}`)).status).toBe(200);

    const forced = await server.request("DELETE", `/api/data/persons/${busy.id}?force=true`);
    expect(forced.status).toBe(204);
    expect(await server.db.selectFrom("login_log").select("id").where("person_id", "=", busy.id).execute()).toEqual([]);
    expect(await server.db.selectFrom("project_person_link").select("project_id").where("person_id", "=", busy.id).execute()).toEqual([]);
    expect(await server.db.selectFrom("department_link").select("department_id").where("person_id", "=", busy.id).execute()).toEqual([]);
    expect((await server.json("GET", `/api/data/projects/${project.id}`)).status).toBe(200);
    expect(await server.db.selectFrom("comment").select("id").where("id", "=", commentId).execute()).toEqual([]);
    expect(await server.db.selectFrom("time_spent").select("id").where("task_id", "=", taskId).execute()).toEqual([]);
    expect(await server.db.selectFrom("task_person_link").select("task_id").where("task_id", "=", taskId).execute()).toEqual([]);
    const task = await server.db.selectFrom("task").select("assigner_id").where("id", "=", taskId).executeTakeFirstOrThrow();
    expect(task.assigner_id).toBeNull();
    const entity = await server.db.selectFrom("entity").select("created_by").where("id", "=", entityId).executeTakeFirstOrThrow();
    expect(entity.created_by).toBeNull();
    const events = await server.db.selectFrom("api_event").select("data").where("name", "=", "person:delete").execute();
    expect(events.map((event) => JSON.parse(event.data as string).person_id)).toContain(busy.id);
  });
});

describe("/data/organisations", () => {
  test("created as Kitsu on first read; chat tokens hidden from non-admins (vector 56)", async () => {
    const fresh = await makeServer();
    const reader = await fresh.person("user");
    const list = await fresh.json("GET", "/api/data/organisations", { token: reader.token });
    expect(list.status).toBe(200);
    expect(list.body).toHaveLength(1);
    const organisation = list.body[0];
    expect(organisation.name).toBe("Kitsu");
    expect(organisation.hours_by_day).toBe(8);
    expect(organisation.type).toBe("Organisation");
    for (const key of ["chat_token_slack", "chat_webhook_mattermost", "chat_token_discord"]) expect(organisation).not.toHaveProperty(key);
    const filter = await fresh.json("GET", "/api/data/organisations?chat_token_slack=x", { token: reader.token });
    expect(filter.status).toBe(400);
    expect(filter.body.message).toBe("Filtering on chat_token_slack is not allowed.");
    const one = await fresh.json("GET", `/api/data/organisations/${organisation.id}`, { token: reader.token });
    expect(one.status).toBe(200);
    expect(one.body).not.toHaveProperty("chat_token_slack");

    const admin = await fresh.json("GET", `/api/data/organisations/${organisation.id}`);
    expect(admin.body.chat_token_slack).toBe("");
    expect((await fresh.json("GET", "/api/data/organisations?chat_token_slack=")).status).toBe(200);
  });

  test("only admins update; hours_by_day becomes a float", async () => {
    const list = await server.json("GET", "/api/data/organisations");
    const id = list.body[0].id;
    expect((await server.json("PUT", `/api/data/organisations/${id}`, { token: artist.token, body: { name: "Studio" } })).status).toBe(403);
    const updated = await server.json("PUT", `/api/data/organisations/${id}`, { body: { hours_by_day: "7.5", chat_token_slack: "xoxb" } });
    expect(updated.status).toBe(200);
    expect(updated.body.hours_by_day).toBe(7.5);
    const seen = await server.json("GET", "/api/auth/authenticated", { token: artist.token });
    expect(seen.body.organisation.hours_by_day).toBe(7.5);
    expect(seen.body.organisation).not.toHaveProperty("chat_token_slack");
    const asAdmin = await server.json("GET", "/api/auth/authenticated");
    expect(asAdmin.body.organisation.chat_token_slack).toBe("xoxb");
  });
});
