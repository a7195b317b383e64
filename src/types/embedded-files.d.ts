/** Files imported `with { type: "file" }` (embedded by `bun build --compile`) are their path. */
declare module "swagger-ui-dist/*" {
  const path: string;
  export default path;
}
