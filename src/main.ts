/** Entry point of the compiled binary. */
import { runCommandLine } from "./cli";

runCommandLine(process.argv.slice(2));
