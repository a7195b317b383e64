/** Issue 8 item 12: events past EVENT_RETENTION_DAYS and expired keys (revoked tokens) are pruned. */
import { describe, expect, test } from "bun:test";
import { loadConfig } from "../src/config";
import { pruneExpiredData } from "../src/lib/events";
import { makeServer } from "./helpers";

describe("event retention (issue 8, item 12)", () => {
  test("EVENT_RETENTION_DAYS defaults to 90 and is read from the environment", () => {
    expect(loadConfig({ SECRET_KEY: "k" }).eventRetentionDays).toBe(90);
    expect(loadConfig({ SECRET_KEY: "k", EVENT_RETENTION_DAYS: "7" }).eventRetentionDays).toBe(7);
  });

  test("events older than the retention leave /data/events/last; recent ones stay; revoked tokens past their lifetime go", async () => {
    const server = await makeServer();
    const names = ["Old Department", "Recent Department"];
    for (const name of names) expect((await server.json("POST", "/api/data/departments", { body: { name, color: "#000000" } })).status).toBe(201);
    const events = await server.json("GET", "/api/data/events/last?limit=100");
    const created = events.body.filter((e: any) => e.name === "department:new");
    expect(created.length).toBe(2);
    const old = created[created.length - 1];
    const hundredDaysAgo = new Date(Date.now() - 100 * 86_400_000).toISOString().slice(0, 19);
    await server.db.updateTable("api_event").set({ created_at: hundredDaysAgo }).where("id", "=", old.id).execute();

    // A logout stores the revoked token ids; once past their lifetime they are pruned too.
    const artist = await server.person("user");
    expect((await server.json("GET", "/api/auth/logout", { token: artist.token })).status).toBe(200);
    const revoked = await server.db.selectFrom("kv_store").select("key").where("value", "=", "true").execute();
    expect(revoked.length).toBeGreaterThan(0);
    await server.db.updateTable("kv_store").set({ expires_at: Date.now() - 1000 }).where("value", "=", "true").execute();

    const result = await pruneExpiredData(server.db, 90);
    expect(result.events).toBe(1);
    expect(result.expiredKeys).toBe(revoked.length);
    const after = await server.json("GET", "/api/data/events/last?limit=100");
    const remaining = after.body.filter((e: any) => e.name === "department:new").map((e: any) => e.id);
    expect(remaining).not.toContain(old.id);
    expect(remaining.length).toBe(1);
    expect(await server.db.selectFrom("kv_store").select("key").where("value", "=", "true").execute()).toEqual([]);

    // 0 keeps events forever.
    await server.db.updateTable("api_event").set({ created_at: hundredDaysAgo }).execute();
    expect((await pruneExpiredData(server.db, 0)).events).toBe(0);
    expect((await server.json("GET", "/api/data/events/last?limit=100")).body.length).toBeGreaterThan(0);
  });
});
