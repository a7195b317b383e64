/** Test harness: an app on a fresh in-memory database, people of every role, and HTTP helpers. */
import { createApp } from "../src/app";
import { testConfig, type Config } from "../src/config";
import { openDatabase, migrateToLatest, type Db } from "../src/db/database";
import { initData } from "../src/services/init-data";
import { signToken, ACCESS_TOKEN_SECONDS } from "../src/lib/jwt";
import { hashPassword } from "../src/lib/passwords";
import { newId, utcNow } from "../src/lib/ids";
import { EventBus } from "../src/lib/events";
import pg from "pg";

/**
 * The database tests run on: SQLite in memory by default; with TEST_DATABASE_URL=postgres://...
 * each server gets a fresh PostgreSQL database, copied from a migrated template made once per run.
 */
export const testDatabaseUrl = process.env.TEST_DATABASE_URL ?? "";
export const onPostgres = /^postgres(ql)?:\/\//.test(testDatabaseUrl);

let postgresAdmin: Promise<pg.Client> | null = null;
let templateReady: Promise<string> | null = null;
let databaseCounter = 0;

function databaseUrlNamed(name: string): string {
  const url = new URL(testDatabaseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function adminClient(): Promise<pg.Client> {
  postgresAdmin ??= (async () => {
    const client = new pg.Client({ connectionString: testDatabaseUrl });
    await client.connect();
    return client;
  })();
  return postgresAdmin;
}

export async function migratedTemplate(): Promise<string> {
  templateReady ??= (async () => {
    const client = await adminClient();
    // Databases left by earlier runs whose process is gone.
    const { rows } = await client.query("SELECT datname FROM pg_database WHERE datname LIKE 'zoubun_%'");
    for (const { datname } of rows as { datname: string }[]) {
      const pid = Number(datname.split("_")[2]);
      let alive = pid === process.pid;
      try { if (!alive) { process.kill(pid, 0); alive = true; } } catch { alive = false; }
      if (!alive) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => undefined);
    }
    const name = `zoubun_tpl_${process.pid}`;
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${name}"`);
    const db = openDatabase(databaseUrlNamed(name), 1);
    await migrateToLatest(db);
    await db.destroy();
    return name;
  })();
  return templateReady;
}

/**
 * An empty PostgreSQL database of the test's own (not migrated: a spawned server or the code under
 * test migrates it), and a `drop` for the end. Left-overs of dead runs are dropped by the next run.
 */
export async function emptyPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const client = await adminClient();
  databaseCounter += 1;
  const name = `zoubun_e_${process.pid}_${databaseCounter}`;
  await client.query(`CREATE DATABASE "${name}"`);
  return {
    url: databaseUrlNamed(name),
    drop: async () => {
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/**
 * A fresh, migrated, empty database for one test server (on SQLite, `sqliteUrl` when given: a
 * file other processes can open).
 */
export async function freshTestDatabase(poolSize = 3, sqliteUrl = "sqlite://:memory:"): Promise<{ db: Db; url: string }> {
  if (!onPostgres) {
    const db = openDatabase(sqliteUrl);
    await migrateToLatest(db);
    return { db, url: sqliteUrl };
  }
  const template = await migratedTemplate();
  const client = await adminClient();
  databaseCounter += 1;
  const name = `zoubun_t_${process.pid}_${databaseCounter}`;
  await client.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  const url = databaseUrlNamed(name);
  return { db: openDatabase(url, poolSize), url };
}

export type Role = "admin" | "manager" | "supervisor" | "user" | "client" | "vendor";

export interface Person {
  id: string;
  email: string;
  password: string;
  token: string;
  role: Role;
}

export interface TestServer {
  app: ReturnType<typeof createApp>;
  db: Db;
  config: Config;
  events: EventBus;
  admin: Person;
  /** Creates a person with that role (password "secret-password") and an access token. */
  person(role: Role, fields?: Record<string, unknown>): Promise<Person>;
  /** Sends a request; `body` objects are sent as JSON. */
  request(method: string, path: string, options?: { token?: string | null; body?: unknown; headers?: Record<string, string> }): Promise<Response>;
  /** Sends a request and parses the JSON answer. */
  json<T = any>(method: string, path: string, options?: { token?: string | null; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: T }>;
  /** Creates a project (Open status) with the given team members; returns its row as JSON. */
  project(name?: string, team?: Person[], fields?: Record<string, unknown>): Promise<any>;
  addToTeam(projectId: string, person: Person, role?: string | null): Promise<void>;
}

let counter = 0;

export async function tokenFor(config: Config, personId: string): Promise<string> {
  const { token } = await signToken(config.secretKey, personId, { type: "access", identityType: "person", lifetime: ACCESS_TOKEN_SECONDS });
  return token;
}

export async function makeServer(overrides: Partial<Config> = {}): Promise<TestServer> {
  // A SQLite file named by the caller (tests of several processes on one database); else a fresh one.
  const sqliteFile = overrides.databaseUrl?.startsWith("sqlite:") ? overrides.databaseUrl : undefined;
  const { db, url } = await freshTestDatabase(3, sqliteFile);
  const config = testConfig({ databaseUrl: url, ...overrides });
  await initData(db, "3d");
  const events = new EventBus();
  const app = createApp({ db, config, events });
  const passwordHash = await hashPassword("secret-password", 4);

  async function person(role: Role, fields: Record<string, unknown> = {}): Promise<Person> {
    counter += 1;
    const now = utcNow();
    const id = newId();
    const email = (fields.email as string) ?? `${role}${counter}@example.com`;
    await db.insertInto("person").values({
      id, created_at: now, updated_at: now, first_name: role, last_name: `Number${counter}`, email,
      password: passwordHash, role, active: true, ...fields,
    } as any).execute();
    return { id, email, password: "secret-password", token: await tokenFor(config, id), role };
  }

  const admin = await person("admin", { email: "admin@example.com" });

  async function request(method: string, path: string, options: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    const token = options.token === undefined ? admin.token : options.token;
    if (token) headers.Authorization = `Bearer ${token}`;
    let body: string | FormData | undefined;
    if (options.body instanceof FormData || typeof options.body === "string") body = options.body as string | FormData;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers["Content-Type"] ??= "application/json";
    }
    return app.request(path, { method, headers, body });
  }

  async function json(method: string, path: string, options = {}) {
    const response = await request(method, path, options);
    const text = await response.text();
    let body: any = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    return { status: response.status, body };
  }

  async function addToTeam(projectId: string, member: Person, role: string | null = null) {
    await db.insertInto("project_person_link").values({ project_id: projectId, person_id: member.id, role } as any).execute();
  }

  async function project(name = `Project ${++counter}`, team: Person[] = [], fields: Record<string, unknown> = {}) {
    const open = await db.selectFrom("project_status").select("id").where("name", "=", "Open").executeTakeFirstOrThrow();
    const now = utcNow();
    const id = newId();
    await db.insertInto("project").values({ id, created_at: now, updated_at: now, name, project_status_id: open.id, ...fields } as any).execute();
    for (const member of team) await addToTeam(id, member);
    return (await json("GET", `/api/data/projects/${id}`)).body;
  }

  return { app, db, config, events, admin, person, request, json, project, addToTeam };
}
