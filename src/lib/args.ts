/** Command-line arguments of the zou-bun commands. */

/** The value of `--name VALUE` or `--name=VALUE`; undefined when absent. */
export function option(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  if (index !== -1) return args[index + 1];
  return args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

/** A command that cannot run as asked: the reason on standard error, exit code 2. */
export function fail(message: string): never {
  console.error(`zou-bun: ${message}`);
  process.exit(2);
}
