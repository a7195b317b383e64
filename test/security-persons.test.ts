/** Issue 8 item 2: second-factor fields only through the 2FA routes; own e-mail change needs the password; is_guest/daily_salary not self-service. */
import { describe, expect, test } from "bun:test";
import { makeServer } from "./helpers";

const personRow = async (server: Awaited<ReturnType<typeof makeServer>>, id: string) =>
  server.db.selectFrom("person").selectAll().where("id", "=", id).executeTakeFirstOrThrow();

describe("self-service person updates (issue 8, item 2)", () => {
  test("PUT /data/persons/{self} cannot switch a second factor off or on", async () => {
    const server = await makeServer();
    const artist = await server.person("user", { totp_enabled: true, totp_secret: "JBSWY3DPEHPK3PXP", preferred_two_factor_authentication: "totp" });
    const off = await server.json("PUT", `/api/data/persons/${artist.id}`, {
      token: artist.token,
      body: { totp_enabled: false, totp_secret: null, preferred_two_factor_authentication: null, first_name: "Still" },
    });
    expect(off.status).toBe(200);
    const row = await personRow(server, artist.id);
    expect(Boolean(row.totp_enabled)).toBe(true);
    expect(row.totp_secret).toBe("JBSWY3DPEHPK3PXP");
    expect(row.preferred_two_factor_authentication).toBe("totp");
    expect(row.first_name).toBe("Still");

    const other = await server.person("user");
    await server.json("PUT", `/api/data/persons/${other.id}`, {
      token: other.token,
      body: { totp_enabled: true, email_otp_enabled: true, fido_enabled: true, otp_recovery_codes: ["x"] },
    });
    const otherRow = await personRow(server, other.id);
    expect(Boolean(otherRow.totp_enabled)).toBe(false);
    expect(Boolean(otherRow.email_otp_enabled)).toBe(false);
    expect(Boolean(otherRow.fido_enabled)).toBe(false);
    expect(otherRow.otp_recovery_codes).toBeNull();
    // A login still asks for the second factor.
    const login = await server.json("POST", "/api/auth/login", { token: null, body: { email: artist.email, password: artist.password } });
    expect(login.body.missing_OTP).toBe(true);
  });

  test("admins do not switch second factors through the crud route either", async () => {
    const server = await makeServer();
    const artist = await server.person("user", { totp_enabled: true, totp_secret: "JBSWY3DPEHPK3PXP" });
    expect((await server.json("PUT", `/api/data/persons/${artist.id}`, { body: { totp_enabled: false } })).status).toBe(200);
    expect(Boolean((await personRow(server, artist.id)).totp_enabled)).toBe(true);
  });

  test("is_guest and daily_salary are not self-service; admins still set them", async () => {
    const server = await makeServer();
    const artist = await server.person("user");
    const answer = await server.json("PUT", `/api/data/persons/${artist.id}`, { token: artist.token, body: { is_guest: true, daily_salary: 9999 } });
    expect(answer.status).toBe(200);
    let row = await personRow(server, artist.id);
    expect(Boolean(row.is_guest)).toBe(false);
    expect(Number(row.daily_salary ?? 0)).toBe(0);
    expect((await server.json("PUT", `/api/data/persons/${artist.id}`, { body: { is_guest: true, daily_salary: 300 } })).status).toBe(200);
    row = await personRow(server, artist.id);
    expect(Boolean(row.is_guest)).toBe(true);
    expect(Number(row.daily_salary)).toBe(300);
  });

  test("changing one's own e-mail needs the current password as `password`", async () => {
    const server = await makeServer();
    const artist = await server.person("user", { email: "artist@example.com" });
    const put = (body: Record<string, unknown>, token = artist.token) => server.json("PUT", `/api/data/persons/${artist.id}`, { token, body });
    const missing = await put({ email: "thief@example.com" });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toContain("current password");
    const wrong = await put({ email: "thief@example.com", password: "not-it" });
    expect(wrong.status).toBe(400);
    expect((await personRow(server, artist.id)).email).toBe("artist@example.com");
    // The same address (any case) needs no password: Kitsu's profile form sends it back unchanged.
    expect((await put({ email: "Artist@Example.com", first_name: "Ann" })).status).toBe(200);
    const ok = await put({ email: "artist.new@example.com", password: artist.password });
    expect(ok.status).toBe(200);
    expect(ok.body.email).toBe("artist.new@example.com");
    // Wrong passwords count as login failures (the one above, and this one).
    await put({ email: "x@example.com", password: "bad" });
    expect(Number((await personRow(server, artist.id)).login_failed_attemps)).toBe(2);
    // An admin changes another person's e-mail without a password.
    expect((await server.json("PUT", `/api/data/persons/${artist.id}`, { body: { email: "by-admin@example.com" } })).status).toBe(200);
  });
});
