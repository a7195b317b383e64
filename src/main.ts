/** Entry point of the compiled binary. */
import { main } from "./cli";

await main(process.argv.slice(2));
