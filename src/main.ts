/** Entry point of the compiled binary. */
import { main } from "./cli";

main(process.argv.slice(2)).catch((error) => {
  console.error(error);
  process.exit(1);
});
