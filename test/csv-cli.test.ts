/** `zou-bun import-csv` / `export-csv` command bodies (src/cli-csv.ts), on the test database. */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportCsvCommand, importCsvCommand } from "../src/cli-csv";
import { makeServer } from "./helpers";
import { csvWorld } from "./csv-fixtures";

const dir = mkdtempSync(join(tmpdir(), "zou-bun-csv-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function optionOf(args: string[]) {
  return (name: string) => {
    const index = args.indexOf(name);
    return index === -1 ? undefined : args[index + 1];
  };
}

test("import-csv shots into a project, export-csv shots to a file, errors name the line", async () => {
  const server = await makeServer();
  await csvWorld(server);
  const file = join(dir, "shots.csv");
  writeFileSync(file, "Sequence,Name,Frame In,Frame Out\nSQ01,SH01,1,10\nSQ01,SH02,11,20\n");
  const importArgs = ["shots", file, "--project", "Cosmos Landromat"];
  await importCsvCommand(server.db, server.config, importArgs, optionOf(importArgs));
  const shots = await server.db.selectFrom("entity").select("name").where("nb_frames", "=", 10).execute();
  expect(shots.map((s) => s.name).sort()).toEqual(["SH01", "SH02"]);

  const out = join(dir, "out.csv");
  const exportArgs = ["shots", "--project", "Cosmos Landromat", "--output", out];
  await exportCsvCommand(server.db, server.config, exportArgs, optionOf(exportArgs));
  const text = readFileSync(out, "utf8");
  expect(text.split("\r\n")[0]).toStartWith("Project;Episode;Sequence;Name;Description;Time Spent;Frames;Frame In;Frame Out;FPS;Layout;Assignations");
  expect(text).toContain("Cosmos Landromat;;SQ01;SH01;;0.00;10;1;10;;todo;");

  writeFileSync(file, "Sequence,Name,Frame In\nSQ01,SH03,1\nSQ01,SH04,x\n");
  await expect(importCsvCommand(server.db, server.config, importArgs, optionOf(importArgs))).rejects.toThrow(
    "line 3: frame_in must be an integer, got 'x' (nothing imported)",
  );
  expect(await server.db.selectFrom("entity").select("id").where("name", "=", "SH03").execute()).toHaveLength(0);
  const missing = ["shots", file];
  await expect(importCsvCommand(server.db, server.config, missing, optionOf(missing))).rejects.toThrow("needs --project NAME");
});
