/**
 * Compiles zou-bun into one executable, dist/zou-bun: the runtime, the code, the migrations and
 * the built-in file trees are embedded; it runs from an empty folder with no node_modules.
 *
 *   bun run build.ts [--target bun-linux-x64|bun-linux-arm64|bun-linux-x64-baseline|...]
 */
const args = process.argv.slice(2);
const target = args.includes("--target") ? args[args.indexOf("--target") + 1] : undefined;

const result = await Bun.build({
  entrypoints: ["./src/main.ts"],
  minify: true,
  sourcemap: "none",
  bytecode: true,
  format: "esm",
  compile: {
    outfile: "dist/zou-bun",
    ...(target ? { target: target as Bun.Build.CompileTarget } : {}),
    autoloadDotenv: false,
    autoloadBunfig: false,
  },
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
console.log(`built ${result.outputs.map((o) => o.path).join(", ")}`);
export {};
