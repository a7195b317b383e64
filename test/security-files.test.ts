/**
 * Issue 8 items 8 and 13: stored files are put in place outside the database transaction (and
 * removed when the row is not committed); working file uploads record size and checksum.
 */
import { afterEach, beforeAll, describe, expect, spyOn, test } from "bun:test";
import * as fsp from "node:fs/promises";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { sql } from "kysely";
import { insertWorkingFile, makeFilesWorld, type FilesWorld } from "./files-fixtures";
import { onPostgres } from "./helpers";

let w: FilesWorld;
let wip: { id: string };
beforeAll(async () => {
  w = await makeFilesWorld();
  wip = await w.server.db.selectFrom("task_status").select("id").where("short_name", "=", "wip").executeTakeFirstOrThrow();
});

/** Every file under a folder (recursive), or [] when it does not exist. */
function filesUnder(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

const commentWithFile = (bytes: Uint8Array<ArrayBuffer>, name = "notes.bin") => {
  const form = new FormData();
  form.append("task_status_id", wip.id);
  form.append("comment", "with a file");
  form.append("file-0", new File([bytes], name));
  return w.server.request("POST", `/api/actions/tasks/${w.tasks.shot.id}/comment`, { body: form });
};

describe("stored files and transactions (issue 8, item 8)", () => {
  let spy: ReturnType<typeof spyOn> | null = null;
  afterEach(() => {
    spy?.mockRestore();
    spy = null;
  });

  test("with TMP_DIR on another filesystem, storing an attachment does not hold the database", async () => {
    // Needs a second filesystem (tmpfs) next to the one of the preview folder.
    if (!existsSync("/dev/shm") || statSync("/dev/shm").dev === statSync(tmpdir()).dev) return;
    const tmp = `/dev/shm/zou-bun-test-${process.pid}`;
    mkdirSync(tmp, { recursive: true });
    w.server.config.tmpFolder = tmp;
    try {
      // A slow disk: every copy takes 600 ms more.
      const realCopy = fsp.copyFile;
      let copying: () => void = () => {};
      const copyStarted = new Promise<void>((resolve) => (copying = resolve));
      spy = spyOn(fsp, "copyFile").mockImplementation((async (...args: Parameters<typeof fsp.copyFile>) => {
        copying();
        await Bun.sleep(600);
        return realCopy(...args);
      }) as typeof fsp.copyFile);
      const upload = commentWithFile(new Uint8Array(100_000).fill(7));
      await Promise.race([copyStarted, Bun.sleep(300)]);
      const started = performance.now();
      const read = await w.server.json("GET", `/api/data/persons/${w.people.artist.id}`);
      const waited = performance.now() - started;
      expect(read.status).toBe(200);
      expect(waited).toBeLessThan(300);
      const answer = await upload;
      expect(answer.status).toBe(201);
      const created = await answer.json();
      const download = await w.server.request("GET", `/api/data/attachment-files/${created.attachment_files[0].id}/file/notes.bin`);
      expect((await download.arrayBuffer()).byteLength).toBe(100_000);
      expect(readdirSync(tmp).filter((name) => name.startsWith("upload-"))).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  test("when the transaction fails after the file was stored, the file is removed again", async () => {
    const attachments = join(w.server.config.previewFolder, "files", "attachments");
    const before = filesUnder(attachments).length;
    // A trigger makes the comment's event insert fail, after the file was stored.
    if (onPostgres) {
      await sql.raw(`create function refuse_comment_new() returns trigger language plpgsql as $$ begin raise exception 'refused'; end $$`).execute(w.server.db);
      await sql`create trigger refuse_comment_new before insert on api_event for each row when (new.name = 'comment:new') execute function refuse_comment_new()`.execute(w.server.db);
    } else {
      await sql`create trigger refuse_comment_new before insert on api_event when new.name = 'comment:new' begin select raise(abort, 'refused'); end`.execute(w.server.db);
    }
    try {
      const answer = await commentWithFile(new Uint8Array([1, 2, 3]));
      expect(answer.status).toBeGreaterThanOrEqual(400);
    } finally {
      await sql.raw(onPostgres ? "drop trigger refuse_comment_new on api_event" : "drop trigger refuse_comment_new").execute(w.server.db);
      if (onPostgres) await sql`drop function refuse_comment_new()`.execute(w.server.db);
    }
    expect(filesUnder(attachments).length).toBe(before);
    expect(filesUnder(join(w.server.config.previewFolder, ".uploads"))).toEqual([]);
    expect(await w.server.db.selectFrom("attachment_file").select("id").where("name", "=", "notes.bin").where("size", "=", 3).execute()).toEqual([]);
  });
});

describe("working file content (issue 8, item 13)", () => {
  test("an upload fills size and checksum (CRC-32, signed 32-bit)", async () => {
    const file = await insertWorkingFile(w.server, w.tasks.asset, { name: "checksummed" });
    const bytes = new Uint8Array(70_000).map((_, i) => (i * 31) % 256);
    const form = new FormData();
    form.append("file", new Blob([bytes]), "scene.blend");
    const uploaded = await w.server.json("POST", `/api/data/working-files/${file.id}/file`, { token: w.people.artist.token, body: form });
    expect(uploaded.status).toBe(201);
    const expected = crc32(bytes) | 0;
    expect(uploaded.body.size).toBe(70_000);
    expect(uploaded.body.checksum).toBe(expected);
    const read = await w.server.json("GET", `/api/data/working-files/${file.id}`);
    expect(read.body.size).toBe(70_000);
    expect(read.body.checksum).toBe(expected);
    expect(filesUnder(join(w.server.config.previewFolder, ".uploads"))).toEqual([]);
  });
});
