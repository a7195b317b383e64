/**
 * Stored files follow their rows (issue 17 item 4): a forced project deletion removes the stored
 * previews, attachments and working-file contents after commit when REMOVE_FILES is on, keeps them
 * when it is off or when the deleting transaction rolls back; `clean-files` lists and removes
 * stored files no row refers to.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, readdirSync, statSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileOf, jobsDone, makePreviewWorld, type PreviewWorld } from "./previews-fixtures";
import { newId, utcNow } from "../src/lib/ids";
import { transact } from "../src/db/transaction";
import { forgetStoredFiles, storedPathsOf } from "../src/services/stored-files";
import { cleanFilesCommand } from "../src/cli-clean";

setDefaultTimeout(60_000);

function storedFiles(root: string): string[] {
  if (!existsSync(root)) return [];
  const out: string[] = [];
  for (const name of readdirSync(root)) {
    if (name === ".uploads") continue;
    const path = join(root, name);
    if (statSync(path).isDirectory()) out.push(...storedFiles(path));
    else out.push(path);
  }
  return out;
}

/** A task with an uploaded picture preview, a comment attachment and a working file with content. */
async function populate(w: PreviewWorld): Promise<{ taskId: string; previewId: string }> {
  const taskId = await w.newTask(`SH${Math.floor(Math.random() * 1e6)}`);
  const previewId = await w.newSlot(taskId);
  const uploaded = await w.upload(previewId, await fileOf(w.media.picture, "frame.png"));
  expect(uploaded).toMatchObject({ status: 201 });
  await jobsDone();

  const form = new FormData();
  form.append("task_status_id", w.wfa.id);
  form.append("comment", "with a file");
  form.append("file-0", new File(["notes"], "notes.txt", { type: "text/plain" }));
  const commented = await w.server.json("POST", `/api/actions/tasks/${taskId}/comment`, { token: w.people.artist.token, body: form });
  expect(commented.status).toBe(201);
  expect(commented.body.attachment_files.length).toBe(1);

  const task = await w.fx.getTask(taskId);
  const workingFileId = newId();
  await w.server.db.insertInto("working_file").values({
    id: workingFileId, created_at: utcNow(), updated_at: utcNow(), name: "main", revision: 1, task_id: taskId, entity_id: task.entity_id,
    person_id: w.people.artist.id, path: "/prod/scene",
  } as any).execute();
  const content = new FormData();
  content.append("file", new File(["scene data"], "scene.blend"));
  expect((await w.server.request("POST", `/api/data/working-files/${workingFileId}/file`, { token: w.people.artist.token, body: content })).status).toBe(201);
  return { taskId, previewId };
}

async function closeAndForceDelete(w: PreviewWorld): Promise<number> {
  const closed = await w.server.db.selectFrom("project_status").select("id").where("name", "=", "Closed").executeTakeFirstOrThrow();
  expect((await w.server.json("PUT", `/api/data/projects/${w.project.id}`, { body: { project_status_id: closed.id } })).status).toBe(200);
  return (await w.server.request("DELETE", `/api/data/projects/${w.project.id}?force=true`)).status;
}

describe("stored files follow their rows", () => {
  test("a forced project deletion leaves no stored file behind with REMOVE_FILES=true", async () => {
    const w = await makePreviewWorld();
    w.server.config.removeFiles = true;
    await populate(w);
    const before = storedFiles(w.server.config.previewFolder);
    expect(before.some((p) => p.includes("/pictures/original/"))).toBe(true);
    expect(before.some((p) => p.includes("/files/attachments/"))).toBe(true);
    expect(before.some((p) => p.includes("/working-files/"))).toBe(true);
    expect(await closeAndForceDelete(w)).toBe(204);
    expect(await w.server.db.selectFrom("preview_file").select("id").execute()).toEqual([]);
    expect(storedFiles(w.server.config.previewFolder)).toEqual([]);
  });

  test("REMOVE_FILES=false keeps the stored files of a forced project deletion", async () => {
    const w = await makePreviewWorld();
    w.server.config.removeFiles = false;
    await populate(w);
    const before = storedFiles(w.server.config.previewFolder).sort();
    expect(before.length).toBeGreaterThanOrEqual(3);
    expect(await closeAndForceDelete(w)).toBe(204);
    expect(storedFiles(w.server.config.previewFolder).sort()).toEqual(before);
  });

  test("a rolled-back delete keeps its files; a committed one removes them", async () => {
    const w = await makePreviewWorld();
    w.server.config.removeFiles = true;
    const { previewId } = await populate(w);
    const stored = storedPathsOf(w.server.config, "preview_file", previewId).filter((p) => existsSync(p));
    expect(stored.length).toBeGreaterThan(0);
    const vars: Record<string, unknown> = { db: w.server.db, config: w.server.config };
    const c = { get: (key: string) => vars[key], set: (key: string, value: unknown) => (vars[key] = value) } as any;
    await expect(
      transact(c, async (db) => {
        await db.deleteFrom("comment_preview_link").where("preview_file", "=", previewId).execute();
        await forgetStoredFiles(c, "preview_file", [previewId]);
        throw new Error("refused");
      }),
    ).rejects.toThrow("refused");
    for (const path of stored) expect(existsSync(path)).toBe(true);

    // The same delete through the API (a forced preview deletion) commits and removes them.
    expect((await w.server.request("DELETE", `/api/data/preview-files/${previewId}`)).status).toBe(204);
    for (const path of stored) expect(existsSync(path)).toBe(false);
  });

  test("clean-files lists an orphan in a dry run and removes it with --delete", async () => {
    const w = await makePreviewWorld();
    await populate(w);
    const referenced = storedFiles(w.server.config.previewFolder);
    const orphan = storedPathsOf(w.server.config, "preview_file", newId())[0]!;
    mkdirSync(dirname(orphan), { recursive: true });
    writeFileSync(orphan, "left behind");
    const lines: string[] = [];
    expect(await cleanFilesCommand(w.server.db, w.server.config, [], (line) => lines.push(line))).toEqual([orphan]);
    expect(lines[0]).toBe(orphan);
    expect(lines[1]).toContain("dry run");
    expect(existsSync(orphan)).toBe(true);
    expect(await cleanFilesCommand(w.server.db, w.server.config, ["--delete"], () => undefined)).toEqual([orphan]);
    expect(existsSync(orphan)).toBe(false);
    for (const path of referenced) expect(existsSync(path)).toBe(true);
    expect(await cleanFilesCommand(w.server.db, w.server.config, [], () => undefined)).toEqual([]);
  });
});
