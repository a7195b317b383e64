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
// Builds do not depend on the database: the PostgreSQL run of .ci/run (TEST_DATABASE_URL) skips them.
const enabled = (process.env.ZOU_BUN_TEST_RELEASE === "1" || process.env.CI === "true") && !process.env.TEST_DATABASE_URL;
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

/**
 * Why macOS would refuse to start a Mach-O (Apple silicon runs only signed code), or null: the
 * ad-hoc code signature must sit at the end of the file and its SHA-256 page hashes must cover
 * everything before it, including the embedded application.
 */
async function machoSignatureProblem(path: string): Promise<string | null> {
  const file = Buffer.from(await Bun.file(path).arrayBuffer());
  const commands = file.readUInt32LE(16);
  let at = 32; // after the 64-bit Mach-O header
  let signature: { offset: number; size: number } | undefined;
  for (let i = 0; i < commands; i++) {
    if (file.readUInt32LE(at) === 0x1d) signature = { offset: file.readUInt32LE(at + 8), size: file.readUInt32LE(at + 12) };
    at += file.readUInt32LE(at + 4);
  }
  if (!signature) return "no LC_CODE_SIGNATURE";
  if (signature.offset + signature.size !== file.length) return "the signature is not at the end of the file";
  const blob = file.subarray(signature.offset, signature.offset + signature.size); // big-endian SuperBlob
  if (blob.readUInt32BE(0) !== 0xfade0cc0) return "no signature SuperBlob";
  for (let i = 0; i < blob.readUInt32BE(8); i++) {
    const directory = blob.subarray(blob.readUInt32BE(16 + 8 * i));
    if (directory.readUInt32BE(0) !== 0xfade0c02) continue; // not the CodeDirectory
    const hashOffset = directory.readUInt32BE(16);
    const pages = directory.readUInt32BE(28);
    const codeLimit = directory.readUInt32BE(32);
    const [hashSize, hashType, pageShift] = [directory[36]!, directory[37]!, directory[39]!];
    if (codeLimit !== signature.offset) return `the signature covers ${codeLimit} bytes of ${signature.offset}`;
    if (hashType !== 2 || hashSize !== 32) return `hash type ${hashType}, not SHA-256`;
    const pageSize = 2 ** pageShift;
    for (let page = 0; page < pages; page++) {
      const content = file.subarray(page * pageSize, Math.min((page + 1) * pageSize, codeLimit));
      const expected = directory.subarray(hashOffset + page * 32, hashOffset + (page + 1) * 32);
      if (!new Bun.CryptoHasher("sha256").update(content).digest().equals(expected)) return `page ${page} does not match its hash`;
    }
    return null;
  }
  return "no CodeDirectory";
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

      expect(await machoSignatureProblem(join(outdir, "zou-bun-darwin-arm64"))).toBeNull();

      // sha256sum's format: 64 hex digits, two spaces, the file name relative to the folder.
      const lines = readFileSync(join(outdir, "SHA256SUMS"), "utf8").split("\n").filter(Boolean);
      expect(lines.map((l) => l.slice(66)).sort()).toEqual(Object.keys(EXPECTED).sort());
      for (const line of lines) {
        const match = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line);
        expect(match).not.toBeNull();
        const digest = new Bun.CryptoHasher("sha256").update(await Bun.file(join(outdir, match![2]!)).arrayBuffer()).digest("hex");
        expect(digest).toBe(match![1]!);
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
