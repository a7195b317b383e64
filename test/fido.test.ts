/**
 * FIDO / WebAuthn (auth.md §2.7): registration and login with a software authenticator built in
 * the test (an ES256 key pair, "none" attestation, hand-made CBOR and authenticator data).
 */
import { describe, expect, test, beforeAll } from "bun:test";
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { makeServer, type TestServer, type Person } from "./helpers";

const ORIGIN = "https://localhost:8080";
const b64url = (bytes: Uint8Array | Buffer | string) => Buffer.from(bytes).toString("base64url");
const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest();

/** CBOR head of a major type with a length/value below 65536. */
function cborHead(major: number, value: number): Buffer {
  if (value < 24) return Buffer.from([(major << 5) | value]);
  if (value < 256) return Buffer.from([(major << 5) | 24, value]);
  return Buffer.from([(major << 5) | 25, value >> 8, value & 0xff]);
}
const cborText = (text: string) => Buffer.concat([cborHead(3, Buffer.byteLength(text)), Buffer.from(text)]);
const cborBytes = (bytes: Buffer) => Buffer.concat([cborHead(2, bytes.length), bytes]);

/** A software authenticator holding one ES256 credential. */
class SoftKey {
  readonly credentialId = randomBytes(16);
  readonly privateKey: KeyObject;
  readonly publicJwk: { x: string; y: string };
  counter = 0;

  constructor() {
    const pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
    this.privateKey = pair.privateKey;
    const jwk = pair.publicKey.export({ format: "jwk" });
    this.publicJwk = { x: jwk.x!, y: jwk.y! };
  }

  /** COSE_Key {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}. */
  coseKey(): Buffer {
    return Buffer.concat([
      Buffer.from([0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01]),
      Buffer.from([0x21]), cborBytes(Buffer.from(this.publicJwk.x, "base64url")),
      Buffer.from([0x22]), cborBytes(Buffer.from(this.publicJwk.y, "base64url")),
    ]);
  }

  authenticatorData(rpId: string, attested: boolean): Buffer {
    this.counter += 1;
    const flags = 0x01 | 0x04 | (attested ? 0x40 : 0); // user present, user verified, attested data
    const count = Buffer.alloc(4);
    count.writeUInt32BE(this.counter);
    const parts: Buffer[] = [sha256(rpId), Buffer.from([flags]), count];
    if (attested) {
      const idLength = Buffer.alloc(2);
      idLength.writeUInt16BE(this.credentialId.length);
      parts.push(Buffer.alloc(16), idLength, this.credentialId, this.coseKey());
    }
    return Buffer.concat(parts);
  }

  /** A `navigator.credentials.create()` answer, as JSON, for creation options. */
  register(options: any) {
    const clientData = Buffer.from(JSON.stringify({ type: "webauthn.create", challenge: options.challenge, origin: ORIGIN, crossOrigin: false }));
    const authData = this.authenticatorData(options.rp.id, true);
    const attestationObject = Buffer.concat([
      Buffer.from([0xa3]),
      cborText("fmt"), cborText("none"),
      cborText("attStmt"), Buffer.from([0xa0]),
      cborText("authData"), cborBytes(authData),
    ]);
    return {
      id: b64url(this.credentialId),
      rawId: b64url(this.credentialId),
      type: "public-key",
      response: { clientDataJSON: b64url(clientData), attestationObject: b64url(attestationObject), transports: ["usb"] },
      clientExtensionResults: {},
    };
  }

  /** A `navigator.credentials.get()` answer for request options; `signer` signs (another key = forgery). */
  assert(options: any, signer: KeyObject = this.privateKey) {
    const clientData = Buffer.from(JSON.stringify({ type: "webauthn.get", challenge: options.challenge, origin: ORIGIN, crossOrigin: false }));
    const authData = this.authenticatorData(options.rpId, false);
    const signature = sign("sha256", Buffer.concat([authData, sha256(clientData)]), signer);
    return {
      id: b64url(this.credentialId),
      rawId: b64url(this.credentialId),
      type: "public-key",
      response: { clientDataJSON: b64url(clientData), authenticatorData: b64url(authData), signature: b64url(signature) },
      clientExtensionResults: {},
    };
  }
}

let server: TestServer;
let artist: Person;
const key = new SoftKey();

beforeAll(async () => {
  server = await makeServer();
  artist = await server.person("user");
});

function login(extra: Record<string, unknown> = {}) {
  return server.json("POST", "/api/auth/login", { token: null, body: { email: artist.email, password: artist.password, ...extra } });
}

describe("FIDO registration", () => {
  test("POST without a pending PUT is refused", async () => {
    const answer = await server.json("POST", "/api/auth/fido", { token: artist.token, body: { registration_response: key.register({ challenge: "x", rp: { id: "localhost" } }), device_name: "Key" } });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: true, message: "No preregistration before." });
  });

  test("a response that does not verify is refused and the challenge is spent", async () => {
    const options = (await server.json("PUT", "/api/auth/fido", { token: artist.token })).body;
    const response = key.register({ ...options, challenge: b64url("another challenge") });
    const answer = await server.json("POST", "/api/auth/fido", { token: artist.token, body: { registration_response: response, device_name: "Key" } });
    expect(answer.status).toBe(400);
    expect(answer.body.message).toBe("FIDO server exception your registration response is probably wrong.");
    const again = await server.json("POST", "/api/auth/fido", { token: artist.token, body: { registration_response: key.register(options), device_name: "Key" } });
    expect(again.body.message).toBe("No preregistration before.");
  });

  test("PUT gives creation options, POST stores the device and enables FIDO", async () => {
    const put = await server.json("PUT", "/api/auth/fido", { token: artist.token });
    expect(put.status).toBe(200);
    expect(put.body.rp).toEqual({ name: "Kitsu", id: "localhost" });
    expect(put.body.user.name).toBe(artist.email);
    expect(put.body.user.id).toBe(b64url(artist.id));
    expect(put.body.authenticatorSelection).toMatchObject({ authenticatorAttachment: "cross-platform", userVerification: "preferred" });
    expect(typeof put.body.challenge).toBe("string");

    const post = await server.json("POST", "/api/auth/fido", { token: artist.token, body: { registration_response: key.register(put.body), device_name: "YubiKey" } });
    expect(post.status).toBe(200);
    expect(post.body.otp_recovery_codes).toHaveLength(16);
    expect(typeof post.body.access_token).toBe("string");
    expect(typeof post.body.refresh_token).toBe("string");

    const check = await server.json("GET", "/api/auth/authenticated", { token: artist.token });
    expect(check.body.user.fido_enabled).toBe(true);
    expect(check.body.user.fido_devices).toEqual(["YubiKey"]);
    expect(check.body.user.preferred_two_factor_authentication).toBe("fido");
    expect(check.body.user.fido_credentials).toBeUndefined();

    const row = await server.db.selectFrom("person").select("fido_credentials").where("id", "=", artist.id).executeTakeFirstOrThrow();
    const stored = JSON.parse(String(row.fido_credentials));
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ device_name: "YubiKey", credential_id: b64url(key.credentialId), counter: key.counter });
  });

  test("the new PUT excludes the registered device", async () => {
    const put = await server.json("PUT", "/api/auth/fido", { token: artist.token });
    expect(put.body.excludeCredentials.map((c: any) => c.id)).toEqual([b64url(key.credentialId)]);
  });
});

describe("FIDO login", () => {
  test("GET /auth/fido refuses accounts without FIDO", async () => {
    const other = await server.person("user");
    for (const email of [other.email, "nobody@example.com"]) {
      const answer = await server.json("GET", `/api/auth/fido?email=${encodeURIComponent(email)}`, { token: null });
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({ error: true, message: "FIDO not enabled." });
    }
  });

  test("a password alone asks for the second factor", async () => {
    const answer = await login();
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      error: true, login: false, missing_OTP: true,
      preferred_two_factor_authentication: "fido",
      two_factor_authentication_enabled: ["recovery_code", "fido"],
    });
  });

  test("a wrong signature is refused", async () => {
    const options = (await server.json("GET", `/api/auth/fido?email=${encodeURIComponent(artist.email)}`, { token: null })).body;
    const forger = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    const answer = await login({ fido_authentication_response: key.assert(options, forger) });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: true, login: false, wrong_OTP: true });
  });

  test("a response without a pending challenge is refused", async () => {
    const answer = await login({ fido_authentication_response: key.assert({ challenge: b64url("stale"), rpId: "localhost" }) });
    expect(answer.body).toEqual({ error: true, login: false, wrong_OTP: true });
  });

  test("the authenticator's assertion logs in, once", async () => {
    const get = await server.json("GET", `/api/auth/fido?email=${encodeURIComponent(artist.email)}`, { token: null });
    expect(get.status).toBe(200);
    expect(get.body.rpId).toBe("localhost");
    expect(get.body.allowCredentials.map((c: any) => c.id)).toEqual([b64url(key.credentialId)]);
    const assertion = key.assert(get.body);
    const answer = await login({ fido_authentication_response: assertion });
    expect(answer.status).toBe(200);
    expect(answer.body.login).toBe(true);
    expect(answer.body.user.id).toBe(artist.id);
    // The challenge is single use: replaying the same assertion fails.
    const replay = await login({ fido_authentication_response: assertion });
    expect(replay.body).toEqual({ error: true, login: false, wrong_OTP: true });
  });
});

describe("FIDO removal", () => {
  test("DELETE needs a proof, then removes the device and turns FIDO off", async () => {
    const noProof = await server.json("DELETE", "/api/auth/fido", { token: artist.token, body: { device_name: "YubiKey" } });
    expect(noProof.status).toBe(400);
    expect(noProof.body.wrong_OTP).toBe(true);

    const options = (await server.json("GET", `/api/auth/fido?email=${encodeURIComponent(artist.email)}`, { token: null })).body;
    const answer = await server.json("DELETE", "/api/auth/fido", {
      token: artist.token,
      body: { device_name: "YubiKey", fido_authentication_response: key.assert(options) },
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ success: true });
    const check = await server.json("GET", "/api/auth/authenticated", { token: artist.token });
    expect(check.body.user.fido_enabled).toBe(false);
    expect(check.body.user.fido_devices).toEqual([]);
    expect(check.body.user.preferred_two_factor_authentication).toBeNull();
    expect((await login()).status).toBe(200);
  });
});
