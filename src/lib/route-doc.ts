/** What the reference route list says of one route (see route-docs.generated.ts). */
export interface RouteDoc {
  area: string;
  summary: string;
  permission: string;
  success: number[];
  errors: number[];
}
