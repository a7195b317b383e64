/**
 * Issue 16 item 5: `bun run build.ts --all` writes the five release binaries and a SHA256SUMS file
 * that `sha256sum -c` accepts. Five compiles (and, on a fresh machine, four runtimes fetched from
 * the npm registry) take a minute or more, so this runs only with ZOU_BUN_TEST_RELEASE=1 or in CI
 * (CI=true). The binary of this platform is smoke-tested on every run by test/binary.test.ts.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const bun = join(root, "node_modules/.bin/bun");
const enabled = process.env.ZOU_BUN_TEST_RELEASE === "1" || process.env.CI === "true";
const outdir = enabled ? mkdtempSync(join(tmpdir(), "zou-bun-release-")) : "";
afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

/** Each release file and the executable format its first bytes must show. */
const EXPECTED: Record<string, "elf-x64" | "elf-arm64" | "macho-arm64" | "pe-x64"> = {
  "zou-bun-linux-x64": "elf-x64",
  "zou-bun-linux-x64-baseline": "elf-x64",
  "zou-bun-linux-arm64": "elf-arm64",
  "zou-bun-darwin-arm64": "macho-arm64",
  "zou-bun-windows-x64.exe": "pe-x64",
};

/** The executable format read from a file's headers. */
function executableFormat(path: string): string {
  const head = Buffer.alloc(4096);
  const fd = openSync(path, "r");
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (head.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) {
    const machine = head.readUInt16LE(18); // e_machine of a little-endian ELF
    return machine === 0x3e ? "elf-x64" : machine === 0xb7 ? "elf-arm64" : `elf-${machine}`;
  }
  if (head.readUInt32LE(0) === 0xfeedfacf) {
    const cpu = head.readUInt32LE(4);
    return cpu === 0x0100000c ? "macho-arm64" : `macho-${cpu}`;
  }
  if (head.toString("latin1", 0, 2) === "MZ") {
    const pe = head.readUInt32LE(0x3c);
    if (head.toString("latin1", pe, pe + 4) !== "PE\0\0") return "mz";
    const machine = head.readUInt16LE(pe + 4);
    return machine === 0x8664 ? "pe-x64" : `pe-${machine}`;
  }
  return "unknown";
}

describe.skipIf(!enabled)("build.ts --all (ZOU_BUN_TEST_RELEASE=1 or CI=true)", () => {
  test(
    "builds five binaries and a SHA256SUMS that verifies",
    async () => {
      const started = performance.now();
      const build = Bun.spawn([bun, "run", join(root, "build.ts"), "--all", "--outdir", outdir], { cwd: root, stdout: "pipe", stderr: "pipe" });
      const [stdout, stderr, code] = await Promise.all([new Response(build.stdout).text(), new Response(build.stderr).text(), build.exited]);
      if (code !== 0) throw new Error(`build.ts --all failed (${code}):\n${stdout}${stderr}`);
      console.log(`build.ts --all: ${((performance.now() - started) / 1000).toFixed(1)} s`);

      expect(readdirSync(outdir).sort()).toEqual([...Object.keys(EXPECTED), "SHA256SUMS"].sort());
      for (const [file, format] of Object.entries(EXPECTED)) expect(`${file}: ${executableFormat(join(outdir, file))}`).toBe(`${file}: ${format}`);

      // sha256sum's format: 64 hex digits, two spaces, the file name relative to the folder.
      const lines = readFileSync(join(outdir, "SHA256SUMS"), "utf8").split("\n").filter(Boolean);
      expect(lines.map((l) => l.slice(66)).sort()).toEqual(Object.keys(EXPECTED).sort());
      for (const line of lines) {
        const match = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line);
        expect(match).not.toBeNull();
        const hasher = new Bun.CryptoHasher("sha256");
        for await (const chunk of Bun.file(join(outdir, match![2]!)).stream()) hasher.update(chunk);
        expect(hasher.digest("hex")).toBe(match![1]!);
      }
      if (Bun.which("sha256sum")) {
        const check = Bun.spawnSync(["sha256sum", "-c", "SHA256SUMS"], { cwd: outdir });
        expect(check.stdout.toString().trim().split("\n").sort()).toEqual(Object.keys(EXPECTED).map((f) => `${f}: OK`).sort());
        expect(check.exitCode).toBe(0);
      }

      // The builds this machine can run start and answer.
      const runnable = process.platform === "linux" && process.arch === "x64" ? ["zou-bun-linux-x64", "zou-bun-linux-x64-baseline"] : [];
      for (const file of runnable) {
        if (file === "zou-bun-linux-x64" && !/\bavx2\b/.test(readFileSync("/proc/cpuinfo", "utf8"))) continue;
        const version = Bun.spawnSync([join(outdir, file), "--version"], { env: { PATH: process.env.PATH ?? "" } });
        expect(`${file}: ${version.exitCode} ${version.stdout.toString().trim()}`).toMatch(new RegExp(`^${file}: 0 \\d+\\.\\d+\\.\\d+$`));
      }
    },
    600_000,
  );
});
