/**
 * SAML single sign-on (auth.md §2.8) against a software identity provider: a self-signed
 * certificate made with openssl at test time, metadata served on a loopback port, and SAML
 * Responses signed with xml-crypto, posted to the assertion consumer route.
 */
import { sql } from "kysely";
import { describe, expect, test, beforeAll, afterAll } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { SignedXml } from "xml-crypto";
import { makeServer, type TestServer } from "./helpers";

const SP_ENTITY = "https://kitsu.test/api/auth/saml/login";
const ACS = "https://kitsu.test/api/auth/saml/sso";

interface KeyPair { key: string; cert: string }

function makeKeyPair(folder: string, name: string): KeyPair {
  const keyPath = join(folder, `${name}.key`);
  const certPath = join(folder, `${name}.crt`);
  const made = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyPath, "-out", certPath, "-days", "2", "-subj", `/CN=${name}`]);
  if (made.exitCode !== 0) throw new Error(`openssl failed: ${made.stderr.toString()}`);
  return { key: readFileSync(keyPath, "utf8"), cert: readFileSync(certPath, "utf8") };
}

function certBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, "").replace(/\s+/g, "");
}

/** A software identity provider: its metadata on a loopback port, and a signer of responses. */
async function startIdp(keys: KeyPair) {
  let issuer = "";
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(request): Response {
      if (new URL(request.url).pathname !== "/metadata") return new Response("not found", { status: 404 });
      const xml = `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${issuer}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" WantAuthnRequestsSigned="false">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certBody(keys.cert)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${issuer}/sso/post"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${issuer}/sso/redirect"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`;
      return new Response(xml, { headers: { "Content-Type": "application/samlmetadata+xml" } });
    },
  });
  issuer = `http://127.0.0.1:${server.port}`;
  return { server, issuer, metadataUrl: `${issuer}/metadata` };
}

let idCounter = 0;

interface ResponseOptions {
  email: string;
  attributes?: Record<string, string | string[]>;
  issuer?: string;
  audience?: string;
  /** Minutes from now of the assertion's end of validity (negative: expired). */
  validMinutes?: number;
  /** The key that signs the assertion (null: not signed). */
  signer?: KeyPair | null;
}

/** A base64 SAML Response whose assertion is signed (enveloped signature, exclusive c14n, RSA-SHA256). */
function samlResponse(options: ResponseOptions): string {
  const now = new Date();
  const end = new Date(now.getTime() + (options.validMinutes ?? 5) * 60_000);
  const start = new Date(Math.min(now.getTime(), end.getTime() - 60_000) - 10 * 60_000);
  idCounter += 1;
  const attributes = Object.entries(options.attributes ?? {})
    .map(([name, value]) => {
      const values = (Array.isArray(value) ? value : [value]).map((item) => `<saml:AttributeValue>${item}</saml:AttributeValue>`).join("");
      return `<saml:Attribute Name="${name}">${values}</saml:Attribute>`;
    })
    .join("");
  const xml =
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_resp${idCounter}" Version="2.0" IssueInstant="${now.toISOString()}" Destination="${ACS}">` +
    `<saml:Issuer>${options.issuer}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    `<saml:Assertion ID="_assertion${idCounter}" Version="2.0" IssueInstant="${now.toISOString()}">` +
    `<saml:Issuer>${options.issuer}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${options.email}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${end.toISOString()}" Recipient="${ACS}"/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${start.toISOString()}" NotOnOrAfter="${end.toISOString()}"><saml:AudienceRestriction><saml:Audience>${options.audience ?? SP_ENTITY}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${now.toISOString()}" SessionIndex="_session${idCounter}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    (attributes ? `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>` : "") +
    `</saml:Assertion></samlp:Response>`;
  if (options.signer === null) return Buffer.from(xml).toString("base64");
  const signer = options.signer!;
  const signature = new SignedXml({ privateKey: signer.key, publicCert: signer.cert });
  signature.addReference({
    xpath: "//*[local-name(.)='Assertion']",
    digestAlgorithm: "http://www.w3.org/2001/04/xmlenc#sha256",
    transforms: ["http://www.w3.org/2000/09/xmldsig#enveloped-signature", "http://www.w3.org/2001/10/xml-exc-c14n#"],
  });
  signature.canonicalizationAlgorithm = "http://www.w3.org/2001/10/xml-exc-c14n#";
  signature.signatureAlgorithm = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
  signature.computeSignature(xml, { location: { reference: "//*[local-name(.)='Assertion']/*[local-name(.)='Issuer']", action: "after" } });
  return Buffer.from(signature.getSignedXml()).toString("base64");
}

let folder: string;
let idpKeys: KeyPair;
let otherKeys: KeyPair;
let idp: Awaited<ReturnType<typeof startIdp>>;
let server: TestServer;

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), "zou-bun-saml-"));
  idpKeys = makeKeyPair(folder, "idp");
  otherKeys = makeKeyPair(folder, "intruder");
  idp = await startIdp(idpKeys);
  server = await makeServer({
    domainName: "kitsu.test",
    domainProtocol: "https",
    saml: { idpName: "Studio IdP", metadataUrl: idp.metadataUrl, skip2fa: false },
  });
});

afterAll(() => {
  idp.server.stop(true);
  rmSync(folder, { recursive: true, force: true });
});

function post(target: TestServer, SAMLResponse: string | null): Promise<Response> {
  const body = SAMLResponse === null ? "" : new URLSearchParams({ SAMLResponse, RelayState: "" }).toString();
  return target.request("POST", "/api/auth/saml/sso", { token: null, body, headers: { "Content-Type": "application/x-www-form-urlencoded" } });
}

/** A response from the test identity provider, signed with its key unless told otherwise. */
function fromIdp(options: Omit<ResponseOptions, "issuer"> & { issuer?: string }): string {
  return samlResponse({ issuer: idp.issuer, signer: idpKeys, ...options });
}

function accessCookie(response: Response): string | null {
  const cookie = response.headers.getSetCookie().find((line) => line.startsWith("access_token_cookie="));
  return cookie ? cookie.split(";")[0]!.slice("access_token_cookie=".length) : null;
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
}

async function refusal(response: Response): Promise<{ status: number; body: any }> {
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : { location: response.headers.get("location") } };
}

describe("SAML single sign-on", () => {
  test("/config advertises the identity provider", async () => {
    const config = await server.json("GET", "/api/config", { token: null });
    expect(config.body.saml_enabled).toBe(true);
    expect(config.body.saml_idp_name).toBe("Studio IdP");
  });

  test("login redirects to the provider's HTTP-Redirect URL with an AuthnRequest for our ACS", async () => {
    const response = await server.request("GET", "/api/auth/saml/login", { token: null });
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get("location")!);
    expect(`${location.origin}${location.pathname}`).toBe(`${idp.issuer}/sso/redirect`);
    const request = inflateRawSync(Buffer.from(location.searchParams.get("SAMLRequest")!, "base64")).toString();
    expect(request).toContain("AuthnRequest");
    expect(request).toContain(`AssertionConsumerServiceURL="${ACS}"`);
    expect(request).toContain(`<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">${SP_ENTITY}</saml:Issuer>`);
    expect(request).not.toContain("RequestedAuthnContext");
  });

  test("an unknown e-mail creates the person from the assertion's attributes; cookies and a web login log", async () => {
    const department = await server.json("POST", "/api/data/departments", { body: { name: "Lighting SSO", color: "#000000" } });
    expect(department.status).toBe(201);
    const response = await post(server, fromIdp({
      email: "Jane.Doe@Studio.test",
      attributes: { first_name: "Jane", last_name: ["Doe", "Smith"], phone: "+33 1 23", departments: [department.body.id], country: "fr" },
    }));
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("https://kitsu.test");
    const token = accessCookie(response);
    expect(token).not.toBeNull();
    expect(response.headers.getSetCookie().some((line) => line.startsWith("refresh_token_cookie="))).toBe(true);
    const check = await server.json("GET", "/api/auth/authenticated", { token });
    expect(check.status).toBe(200);
    expect(check.body.user).toMatchObject({
      email: "jane.doe@studio.test", first_name: "Jane", last_name: "Doe Smith", phone: "+33 1 23", country: "FR",
      role: "user", active: true, departments: [department.body.id],
    });
    const logs = await server.db.selectFrom("login_log").selectAll().where("person_id", "=", check.body.user.id).execute();
    expect(logs.map((log) => log.origin)).toEqual(["web"]);
    const events = await server.db.selectFrom("api_event").select("name").where(sql`cast(data as text)`, "like", `%${check.body.user.id}%`).execute();
    expect(events.map((event) => event.name)).toContain("person:new");
  });

  test("an existing person is matched by e-mail and their fields follow the assertion", async () => {
    const artist = await server.person("user", { email: "artist.saml@example.com" });
    const unknownStudio = "0b4f7c52-3e5d-4a8e-9c1a-2f3b4c5d6e7f";
    const response = await post(server, fromIdp({ email: "ARTIST.SAML@example.com", attributes: { first_name: "Ada", last_name: "Lovelace", studio_id: unknownStudio, country: "nowhere" } }));
    expect(response.status).toBe(302);
    const check = await server.json("GET", "/api/auth/authenticated", { token: accessCookie(response) });
    expect(check.body.user).toMatchObject({ id: artist.id, first_name: "Ada", last_name: "Lovelace", role: "user", studio_id: null, country: null });
    const count = await server.db.selectFrom("person").select((eb) => eb.fn.countAll<number>().as("n")).where("email", "=", "artist.saml@example.com").executeTakeFirst();
    expect(Number(count?.n)).toBe(1);
  });

  test("an inactive person is sent back to the UI without tokens", async () => {
    await server.person("user", { email: "gone.saml@example.com", active: false });
    const response = await post(server, fromIdp({ email: "gone.saml@example.com" }));
    expect(response.status).toBe(302);
    expect(accessCookie(response)).toBeNull();
  });

  test("forged, unsigned, foreign, misaddressed, expired and replayed responses are refused with 400", async () => {
    const genuine = Buffer.from(fromIdp({ email: "victim.saml@example.com" }), "base64").toString();
    const forged = Buffer.from(genuine.replace("victim.saml@example.com", "admin@example.com")).toString("base64");
    const cases: [string, string][] = [
      ["forged", forged],
      ["unsigned", fromIdp({ email: "admin@example.com", signer: null })],
      ["signed by another key", fromIdp({ email: "admin@example.com", signer: otherKeys })],
      ["another issuer", fromIdp({ email: "admin@example.com", issuer: "https://other-idp.test" })],
      ["another audience", fromIdp({ email: "admin@example.com", audience: "https://elsewhere.test/sp" })],
      ["expired", fromIdp({ email: "admin@example.com", validMinutes: -10 })],
      ["not base64 XML", Buffer.from("hello").toString("base64")],
    ];
    for (const [name, body] of cases) {
      const answer = await refusal(await post(server, body));
      expect({ name, status: answer.status, error: answer.body.error }).toEqual({ name, status: 400, error: true });
      expect(answer.body.message).toStartWith("SAML response refused");
    }
    const replayed = fromIdp({ email: "replay.saml@example.com" });
    expect((await post(server, replayed)).status).toBe(302);
    const again = await refusal(await post(server, replayed));
    expect(again.status).toBe(400);
    expect(again.body.message).toContain("already used");

    const missing = await refusal(await post(server, null));
    expect(missing.status).toBe(400);
    const nonEmail = await refusal(await post(server, fromIdp({ email: "not-an-email" })));
    expect(nonEmail).toMatchObject({ status: 400, body: { message: "SAML response refused: the NameID is not an e-mail address." } });
  });

  test("ENFORCE_2FA restricts SAML logins unless SAML_SKIP_2FA", async () => {
    for (const skip2fa of [false, true]) {
      const enforced = await makeServer({ domainName: "kitsu.test", domainProtocol: "https", enforce2fa: true, saml: { idpName: "", metadataUrl: idp.metadataUrl, skip2fa } });
      const response = await post(enforced, fromIdp({ email: `twofa-${skip2fa}@example.com` }));
      expect(response.status).toBe(302);
      const claims = claimsOf(accessCookie(response)!);
      expect({ skip2fa, restricted: claims.requires_2fa_setup === true }).toEqual({ skip2fa, restricted: !skip2fa });
    }
  });

  test("an unreachable metadata URL is a 502 with a message", async () => {
    const broken = await makeServer({ saml: { idpName: "", metadataUrl: "http://127.0.0.1:1/metadata", skip2fa: false } });
    const answer = await broken.json("GET", "/api/auth/saml/login", { token: null });
    expect(answer).toEqual({ status: 502, body: { error: true, message: "The SAML identity provider metadata cannot be fetched." } });
  });
});
