/**
 * Issue 17 items 1-2: LDAP login (AUTH_STRATEGY=auth_remote_ldap) and `zou-bun sync-ldap`, against
 * Debian's slapd started on a free loopback port in a temporary folder (a throwaway slapd.conf, a
 * `dc=example,dc=org` suffix filled with slapadd). Skipped when slapd is not installed (`.ci/run`
 * installs it).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Database } from "bun:sqlite";
import { Attribute, Change, Client } from "ldapts";
import { testConfig, type LdapConfig } from "../src/config";
import { syncLdapCommand } from "../src/cli-ldap";
import { bindName, escapeDnValue } from "../src/services/ldap";
import { formatGuid, syncPersonsWithDirectory, type DirectoryUser } from "../src/services/ldap-sync";
import { makeServer, type TestServer } from "./helpers";

// slapd, ffmpeg and the CLI are separate processes: slow on a loaded machine.
setDefaultTimeout(60_000);

const SLAPD = "/usr/sbin/slapd";
const SLAPADD = "/usr/sbin/slapadd";
const hasSlapd = existsSync(SLAPD) && existsSync(SLAPADD);

const SUFFIX = "dc=example,dc=org";
const ADMIN_DN = `cn=admin,${SUFFIX}`;
const ADMIN_PASSWORD = "admin-secret";

function person(login: string, fields: Record<string, string | undefined>): string {
  const lines = [`dn: uid=${login},${SUFFIX}`, "objectClass: inetOrgPerson", "objectClass: extensibleObject", `uid: ${login}`];
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) lines.push(`${name}: ${value}`);
  return lines.join("\n");
}

const hasFfmpeg = Bun.which("ffmpeg") !== null && Bun.which("ffprobe") !== null;

const directory = (photo: string | null) => [
  [`dn: ${SUFFIX}`, "objectClass: dcObject", "objectClass: organization", "o: Example", "dc: example"].join("\n"),
  person("alice", { cn: "Alice Liddell", givenName: "Alice", sn: "Liddell", mail: "alice@example.org", userPassword: "alice-pw", organizationalStatus: "active", uniqueIdentifier: "1001" }) + (photo ? `\njpegPhoto:< file://${photo}` : ""),
  person("bob", { cn: "Bob Marley", givenName: "Bob", sn: "Marley", mail: "bob@example.org", userPassword: "bob-pw", organizationalStatus: "Active" }),
  // Not in the group: never synced.
  person("carol", { cn: "Carol Ann", givenName: "Carol", sn: "Ann", mail: "carol@example.org", userPassword: "carol-pw", organizationalStatus: "active" }),
  // In the group but inactive: not created.
  person("dave", { cn: "Dave Null", givenName: "Dave", sn: "Null", mail: "dave@example.org", userPassword: "dave-pw", organizationalStatus: "inactive" }),
  // No mail, no givenName: e-mail from EMAIL_DOMAIN, first name from cn.
  person("eve", { cn: "Eve", sn: "Adams", userPassword: "eve-pw", organizationalStatus: "active", uniqueIdentifier: "1005" }),
  [`dn: cn=artists,${SUFFIX}`, "objectClass: groupOfUniqueNames", "cn: artists", ...["alice", "bob", "dave", "eve"].map((login) => `uniqueMember: uid=${login},${SUFFIX}`)].join("\n"),
].join("\n\n") + "\n";

let folder = "";
let slapd: ReturnType<typeof Bun.spawn> | null = null;
let port = 0;
/** The ldaps:// port (0 when openssl could not make a certificate). */
let sslPort = 0;

function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const free = listener.port;
  listener.stop(true);
  return free;
}

async function startSlapd(): Promise<void> {
  folder = mkdtempSync(join(tmpdir(), "zou-bun-ldap-"));
  mkdirSync(join(folder, "data"));
  const conf = join(folder, "slapd.conf");
  // A self-signed certificate for the ldaps:// listener.
  const cert = join(folder, "cert.pem");
  const key = join(folder, "key.pem");
  const madeCert = Bun.which("openssl")
    ? Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0
    : false;
  writeFileSync(conf, [
    ...(madeCert ? [`TLSCertificateFile ${cert}`, `TLSCertificateKeyFile ${key}`] : []),
    "include /etc/ldap/schema/core.schema",
    "include /etc/ldap/schema/cosine.schema",
    "include /etc/ldap/schema/inetorgperson.schema",
    "modulepath /usr/lib/ldap",
    "moduleload back_mdb",
    `pidfile ${join(folder, "slapd.pid")}`,
    "database mdb",
    `suffix "${SUFFIX}"`,
    `rootdn "${ADMIN_DN}"`,
    `rootpw ${ADMIN_PASSWORD}`,
    `directory ${join(folder, "data")}`,
    "",
  ].join("\n"));
  // A small JPEG as Alice's directory photo (when ffmpeg is there to make it and read it back).
  let photo: string | null = null;
  if (hasFfmpeg) {
    photo = join(folder, "alice.jpg");
    const made = Bun.spawnSync(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=red:s=64x48", "-frames:v", "1", photo], { stdout: "ignore", stderr: "pipe" });
    if (made.exitCode !== 0) photo = null;
  }
  writeFileSync(join(folder, "data.ldif"), directory(photo));
  const added = Bun.spawnSync([SLAPADD, "-f", conf, "-l", join(folder, "data.ldif")], { stdout: "pipe", stderr: "pipe" });
  if (added.exitCode !== 0) throw new Error(`slapadd failed: ${added.stderr.toString()}`);
  port = freePort();
  sslPort = madeCert ? freePort() : 0;
  const urls = `ldap://127.0.0.1:${port}/` + (sslPort ? ` ldaps://127.0.0.1:${sslPort}/` : "");
  // -d keeps slapd in the foreground (a child we can kill); it runs as the current user.
  slapd = Bun.spawn([SLAPD, "-f", conf, "-h", urls, "-d", "0"], { stdout: "ignore", stderr: "pipe" });
  for (let attempt = 0; ; attempt++) {
    const client = new Client({ url: `ldap://127.0.0.1:${port}`, connectTimeout: 500, timeout: 1000 });
    try {
      await client.bind(ADMIN_DN, ADMIN_PASSWORD);
      return;
    } catch (error) {
      if (attempt > 100) throw new Error(`slapd did not start: ${String(error)}`);
      await Bun.sleep(100);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }
}

/** Applies changes to one entry as the directory admin. */
async function modify(dn: string, changes: Change[]): Promise<void> {
  const client = new Client({ url: `ldap://127.0.0.1:${port}` });
  try {
    await client.bind(ADMIN_DN, ADMIN_PASSWORD);
    await client.modify(dn, changes);
  } finally {
    await client.unbind();
  }
}

function ldapSettings(overrides: Partial<LdapConfig> = {}): LdapConfig {
  return {
    ...testConfig().ldap,
    host: "127.0.0.1",
    port,
    baseDn: SUFFIX,
    group: "artists",
    user: ADMIN_DN,
    password: ADMIN_PASSWORD,
    emailDomain: "studio.test",
    timeoutSeconds: 5,
    ...overrides,
  };
}

beforeAll(async () => {
  if (hasSlapd) await startSlapd();
});

afterAll(async () => {
  if (slapd) {
    slapd.kill();
    await slapd.exited;
  }
  if (folder) rmSync(folder, { recursive: true, force: true });
});

describe("LDAP bind names", () => {
  const base = testConfig().ldap;
  test("uid=<login>,<base>; cn=<login>,<base> for AD simple; DOMAIN\\login for AD; values escaped", () => {
    expect(bindName({ ...base, baseDn: "ou=people,dc=x" }, "alice")).toBe("uid=alice,ou=people,dc=x");
    expect(bindName({ ...base, baseDn: "cn=Users,dc=x", isAdSimple: true }, "Alice Liddell")).toBe("cn=Alice Liddell,cn=Users,dc=x");
    expect(bindName({ ...base, domain: "STUDIO", isAd: true }, "alice")).toBe("STUDIO\\alice");
    expect(bindName({ ...base, baseDn: "dc=x" }, "a,b=c")).toBe("uid=a\\,b\\=c,dc=x");
    expect(escapeDnValue("#lead ")).toBe("\\#lead\\ ");
  });

  test("objectGUID bytes read as the Microsoft GUID string", () => {
    const bytes = Buffer.from("00112233445566778899aabbccddeeff", "hex");
    expect(formatGuid(bytes)).toBe("{33221100-5544-7766-8899-aabbccddeeff}");
  });
});

describe("person sync rules (no directory)", () => {
  const user = (login: string, fields: Partial<DirectoryUser> = {}): DirectoryUser => ({
    first_name: login, last_name: "Doe", email: `${login}@example.org`, emails: [`${login}@example.org`], desktop_login: login,
    active: true, ldap_uid: null, photo: null, ...fields,
  });

  test("invalid or taken e-mails and the user limit skip an entry with a reason; inactive entries are not created", async () => {
    const server = await makeServer({ userLimit: 4 });
    await server.person("user", { email: "taken@example.org" });
    const lines: string[] = [];
    const report = await syncPersonsWithDirectory(server.db, server.config, [
      user("ann"),
      user("bad", { email: "not-an-address", emails: ["not-an-address"] }),
      user("dup", { email: "taken@example.org", emails: ["taken@example.org"] }),
      user("gone", { active: false }),
      user("zed"),
      user("zoe"),
    ], { print: (line) => lines.push(line) });
    expect(report.created).toEqual(["ann", "zed"]);
    expect(report.failed.sort()).toEqual(["bad", "zoe"]);
    expect(report.updated).toEqual(["dup"]); // matched by e-mail: the local person becomes a directory person
    expect(lines).toContain("User bad creation failed (not-an-address is not a valid email address).");
    expect(lines).toContain("User zoe creation failed (limit reached, limit 4).");
    const { body } = await server.json("GET", "/api/data/persons");
    const logins = (body as any[]).map((p) => p.desktop_login).filter(Boolean).sort();
    expect(logins).toEqual(["ann", "dup", "zed"]);
  });
});

describe.skipIf(!hasSlapd)("LDAP directory (slapd)", () => {
  let server: TestServer;
  let lines: string[];

  const sync = async () => {
    lines = [];
    return syncLdapCommand(server.db, server.config, (line) => lines.push(line));
  };
  const personByLogin = async (login: string) => {
    const { status, body } = await server.json("GET", "/api/data/persons");
    expect(status).toBe(200);
    return (body as any[]).find((p) => p.desktop_login === login);
  };
  const login = (email: string, password: string) => server.json("POST", "/api/auth/login", { token: null, body: { email, password } });

  beforeAll(async () => {
    server = await makeServer({ authStrategy: "auth_remote_ldap", ldap: ldapSettings() });
  });

  test("sync-ldap creates the active members of LDAP_GROUP, with their directory fields", async () => {
    const report = await sync();
    expect(report.created.sort()).toEqual(["alice", "bob", "eve"]);
    expect(lines).toContain("User alice created.");
    expect(lines.at(-1)).toBe("LDAP sync done: 3 created, 0 updated, 0 disabled, 0 failed.");
    const alice = await personByLogin("alice");
    expect(alice).toMatchObject({
      first_name: "Alice", last_name: "Liddell", email: "alice@example.org", active: true, role: "user",
      is_generated_from_ldap: true, ldap_uid: "1001",
    });
    expect(await personByLogin("bob")).toMatchObject({ email: "bob@example.org", ldap_uid: null, is_generated_from_ldap: true, has_avatar: false });
    if (hasFfmpeg) {
      // The directory photo became Alice's avatar.
      expect(alice.has_avatar).toBe(true);
      expect(lines).toContain("User alice photo imported.");
      const avatar = await server.request("GET", `/api/pictures/thumbnails/persons/${alice.id}.png`);
      expect(avatar.status).toBe(200);
      expect(avatar.headers.get("content-type")).toContain("image/png");
    }
    expect(await personByLogin("eve")).toMatchObject({ first_name: "Eve", last_name: "Adams", email: "eve@studio.test", ldap_uid: "1005" });
    expect(await personByLogin("carol")).toBeUndefined(); // not in the group
    expect(await personByLogin("dave")).toBeUndefined(); // inactive in the directory
    const created = await server.db.selectFrom("api_event").select("name").where("name", "=", "person:new").execute();
    expect(created.length).toBe(3);
    // A second run changes nothing.
    expect(await sync()).toEqual({ created: [], updated: [], disabled: [], failed: [] });
  });

  test("a directory person logs in with the directory password (e-mail or desktop login), not with a wrong one", async () => {
    const ok = await login("alice@example.org", "alice-pw");
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ login: true, user: { email: "alice@example.org" } });
    expect(typeof ok.body.access_token).toBe("string");
    const me = await server.json("GET", "/api/auth/authenticated", { token: ok.body.access_token });
    expect(me.status).toBe(200);
    expect((await login("bob", "bob-pw")).status).toBe(200);

    const wrong = await login("alice@example.org", "not-her-password");
    expect(wrong).toEqual({ status: 400, body: { login: false } });
    expect((await login("alice@example.org", "")).status).toBe(400); // never an anonymous bind
    const row = await server.db.selectFrom("person").select("login_failed_attemps").where("desktop_login", "=", "alice").executeTakeFirstOrThrow();
    expect(Number(row.login_failed_attemps)).toBe(2); // both refusals count towards the lockout
  });

  test("a local person has no fallback unless LDAP_FALLBACK", async () => {
    const local = await server.person("user", { email: "local@example.com" });
    expect(await login(local.email, local.password)).toEqual({ status: 400, body: { login: false } });
    const withFallback = await makeServer({ authStrategy: "auth_remote_ldap", ldap: ldapSettings({ fallback: true }) });
    const other = await withFallback.person("user", { email: "local@example.com" });
    const answer = await withFallback.json("POST", "/api/auth/login", { token: null, body: { email: other.email, password: other.password } });
    expect(answer.status).toBe(200);
    const wrong = await withFallback.json("POST", "/api/auth/login", { token: null, body: { email: other.email, password: "wrong-password" } });
    expect(wrong).toEqual({ status: 400, body: { login: false } });
  });

  test("sync-ldap updates changed entries and deactivates persons gone from the group", async () => {
    await modify(`uid=bob,${SUFFIX}`, [new Change({ operation: "replace", modification: new Attribute({ type: "sn", values: ["Dylan"] }) })]);
    await modify(`cn=artists,${SUFFIX}`, [new Change({ operation: "delete", modification: new Attribute({ type: "uniqueMember", values: [`uid=alice,${SUFFIX}`] }) })]);
    const report = await sync();
    expect(report).toEqual({ created: [], updated: ["bob"], disabled: ["alice"], failed: [] });
    expect(lines).toContain("User alice disabled (not found in LDAP).");
    expect(await personByLogin("bob")).toMatchObject({ last_name: "Dylan", full_name: "Bob Dylan", active: true });
    expect(await personByLogin("alice")).toMatchObject({ active: false });
    // Her directory password is still right, but she is inactive now.
    const refused = await login("alice@example.org", "alice-pw");
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ login: false, unactive: true });
  });

  test("an entry matching a local person by e-mail turns it into a directory person", async () => {
    const server2 = await makeServer({ authStrategy: "auth_remote_ldap", ldap: ldapSettings() });
    const local = await server2.person("supervisor", { email: "eve@studio.test" });
    lines = [];
    const report = await syncLdapCommand(server2.db, server2.config, (line) => lines.push(line));
    expect(report.updated).toEqual(["eve"]);
    const { body } = await server2.json("GET", `/api/data/persons/${local.id}`);
    expect(body).toMatchObject({ desktop_login: "eve", is_generated_from_ldap: true, ldap_uid: "1005", role: "supervisor" });
    const answer = await server2.json("POST", "/api/auth/login", { token: null, body: { email: "eve", password: "eve-pw" } });
    expect(answer.status).toBe(200);
  });

  test("an unreachable directory is a clear 500, not counted as a failed attempt", async () => {
    const down = await makeServer({ authStrategy: "auth_remote_ldap", ldap: ldapSettings({ port: freePort(), timeoutSeconds: 2 }) });
    const id = crypto.randomUUID();
    await down.db.insertInto("person").values({ id, first_name: "Far", last_name: "Away", email: "far@example.org", desktop_login: "far", is_generated_from_ldap: true, active: true } as any).execute();
    const answer = await down.json("POST", "/api/auth/login", { token: null, body: { email: "far@example.org", password: "pw" } });
    expect(answer.status).toBe(500);
    expect(answer.body).toMatchObject({ error: true, login: false });
    const row = await down.db.selectFrom("person").select("login_failed_attemps").where("id", "=", id).executeTakeFirstOrThrow();
    expect(Number(row.login_failed_attemps ?? 0)).toBe(0);
  });

  test("LDAP_SSL: sync and login over ldaps://; an untrusted certificate is refused unless LDAP_SSL_VERIFY is off", async () => {
    if (!sslPort) return; // no openssl to make the certificate
    const secure = await makeServer({ authStrategy: "auth_remote_ldap", ldap: ldapSettings({ port: sslPort, ssl: true, sslVerify: false }) });
    const report = await syncLdapCommand(secure.db, secure.config, () => undefined);
    expect(report.created).toContain("bob");
    const answer = await secure.json("POST", "/api/auth/login", { token: null, body: { email: "bob", password: "bob-pw" } });
    expect(answer.status).toBe(200);
    secure.config.ldap = { ...secure.config.ldap, sslVerify: true };
    const refused = await secure.json("POST", "/api/auth/login", { token: null, body: { email: "bob", password: "bob-pw" } });
    expect(refused.status).toBe(500);
  });

  test("the zou-bun sync-ldap command reads the LDAP_* settings", async () => {
    const cwd = mkdtempSync(join(folder, "cli-"));
    const root = resolve(import.meta.dir, "..");
    const env = {
      PATH: process.env.PATH ?? "", SECRET_KEY: "ldap-test-secret-key-0123456789abcdef", LOG_FORMAT: "off", DATABASE_URL: "sqlite://./zou.db",
      LDAP_HOST: "127.0.0.1", LDAP_PORT: String(port), LDAP_BASE_DN: SUFFIX, LDAP_GROUP: "artists", LDAP_USER: ADMIN_DN,
      LDAP_PASSWORD: ADMIN_PASSWORD, EMAIL_DOMAIN: "studio.test", LDAP_EXCLUDED_ACCOUNTS: "eve",
    };
    const proc = Bun.spawn([join(root, "node_modules/.bin/bun"), "run", join(root, "src/cli.ts"), "sync-ldap"], { cwd, env, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toContain("LDAP sync done: 1 created, 0 updated, 0 disabled, 0 failed.");
    const db = new Database(join(cwd, "zou.db"), { readonly: true });
    const rows = db.query("SELECT desktop_login FROM person WHERE is_generated_from_ldap = 1").all() as { desktop_login: string }[];
    db.close();
    expect(rows.map((row) => row.desktop_login)).toEqual(["bob"]);

    const refused = Bun.spawn([join(root, "node_modules/.bin/bun"), "run", join(root, "src/cli.ts"), "sync-ldap"], { cwd, env: { ...env, LDAP_PASSWORD: "wrong" }, stdout: "ignore", stderr: "pipe" });
    const [refusal, refusedCode] = await Promise.all([new Response(refused.stderr).text(), refused.exited]);
    expect(refusedCode).toBe(2);
    expect(refusal).toContain("refused the credentials");
  }, 60_000);
});
