/**
 * Compiles zou-bun into one executable: the runtime, the code, the migrations and the built-in
 * file trees are embedded; it runs from an empty folder with no node_modules.
 *
 *   bun run build.ts                      dist/zou-bun for this machine
 *   bun run build.ts --target bun-linux-x64-baseline
 *                                         dist/zou-bun for another platform or CPU level
 *   bun run build.ts --all                the release set, dist/zou-bun-<platform>[.exe], and
 *                                         dist/SHA256SUMS (check with `sha256sum -c SHA256SUMS`)
 *   bun run build.ts --all --only linux-x64,windows-x64
 *                                         a part of the release set (and its SHA256SUMS)
 *   --outdir DIR                          writes into DIR instead of dist/
 *
 * Bun fetches the runtime of another platform from the npm registry on its first use and keeps it
 * in its install cache (~/.bun/install/cache).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The release set: file name suffix and Bun compile target. */
export const RELEASE_TARGETS: readonly { name: string; target: Bun.Build.CompileTarget; exe: boolean }[] = [
  { name: "linux-x64", target: "bun-linux-x64-modern", exe: false },
  { name: "linux-x64-baseline", target: "bun-linux-x64-baseline", exe: false },
  { name: "linux-arm64", target: "bun-linux-arm64", exe: false },
  { name: "darwin-arm64", target: "bun-darwin-arm64", exe: false },
  { name: "windows-x64", target: "bun-windows-x64", exe: true },
];

function usage(message: string): never {
  console.error(`build.ts: ${message}`);
  console.error("usage: bun run build.ts [--target TARGET | --all [--only NAME,...]] [--outdir DIR]");
  process.exit(2);
}

function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  if (at < 0) return undefined;
  const value = args[at + 1];
  if (value === undefined || value.startsWith("--")) usage(`${name} needs a value`);
  return value;
}

async function compile(outfile: string, target: Bun.Build.CompileTarget | undefined): Promise<void> {
  const result = await Bun.build({
    entrypoints: [join(import.meta.dir, "src/main.ts")],
    minify: true,
    sourcemap: "none",
    bytecode: true,
    // CommonJS: a module that is only imported when used (import(), require() in a function) loads
    // its node: built-ins (net, tls, http, zlib...) when it is evaluated. An ES module bundle hoists
    // every built-in import of the whole bundle to its top, loading them all at start-up
    // (bench/startup.ts). Hence also no top-level await in the bundled sources.
    format: "cjs",
    compile: {
      outfile,
      ...(target ? { target } : {}),
      autoloadDotenv: false,
      autoloadBunfig: false,
    },
  });
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    console.error(`build.ts: the build of ${outfile}${target ? ` (${target})` : ""} failed`);
    process.exit(1);
  }
}

/** One `sha256sum` line per file: 64 hex digits, two spaces (text mode), the file name. */
async function checksumLines(dir: string, files: string[]): Promise<string> {
  const lines: string[] = [];
  for (const file of files) {
    const hasher = new Bun.CryptoHasher("sha256");
    // Streamed: a binary is about 100 MB.
    const reader = Bun.file(join(dir, file)).stream().getReader();
    for (let part = await reader.read(); !part.done; part = await reader.read()) hasher.update(part.value);
    lines.push(`${hasher.digest("hex")}  ${file}\n`);
  }
  return lines.join("");
}

async function buildRelease(outdir: string, only: string[] | undefined): Promise<void> {
  const unknown = (only ?? []).filter((name) => !RELEASE_TARGETS.some((t) => t.name === name));
  if (unknown.length > 0) usage(`unknown release target ${unknown.join(", ")} (known: ${RELEASE_TARGETS.map((t) => t.name).join(", ")})`);
  const targets = RELEASE_TARGETS.filter((t) => !only || only.includes(t.name));
  const files: string[] = [];
  for (const { name, target, exe } of targets) {
    const file = `zou-bun-${name}${exe ? ".exe" : ""}`;
    const started = performance.now();
    await compile(join(outdir, file), target);
    console.log(`built ${join(outdir, file)} (${target}, ${((performance.now() - started) / 1000).toFixed(1)} s)`);
    files.push(file);
  }
  writeFileSync(join(outdir, "SHA256SUMS"), await checksumLines(outdir, files));
  console.log(`wrote ${join(outdir, "SHA256SUMS")} (check: cd ${outdir} && sha256sum -c SHA256SUMS)`);
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const known = new Set(["--all", "--only", "--target", "--outdir"]);
  for (const [i, arg] of args.entries()) {
    const isValue = i > 0 && ["--only", "--target", "--outdir"].includes(args[i - 1]);
    if (!isValue && !known.has(arg)) usage(`unknown argument ${arg}`);
  }
  const outdir = option(args, "--outdir") ?? join(import.meta.dir, "dist");
  const target = option(args, "--target") as Bun.Build.CompileTarget | undefined;
  const only = option(args, "--only")?.split(",").filter(Boolean);
  mkdirSync(outdir, { recursive: true });
  if (args.includes("--all")) {
    if (target) usage("--all builds every release target: leave --target out");
    await buildRelease(outdir, only);
  } else {
    if (only) usage("--only goes with --all");
    const outfile = join(outdir, target?.startsWith("bun-windows") ? "zou-bun.exe" : "zou-bun");
    await compile(outfile, target);
    console.log(`built ${outfile}${target ? ` (${target})` : ""}`);
  }
}
