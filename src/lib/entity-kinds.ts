/** Entity type names that are not asset types (models.md §2); every other entity type is an asset type. */
export const RESERVED_ENTITY_TYPES = ["Shot", "Sequence", "Episode", "Scene", "Edit", "Concept"];

/** The kind of an entity from its type name: Shot, Sequence, ... or Asset. */
export function entityKind(typeName: string | null | undefined): string {
  return typeName && RESERVED_ENTITY_TYPES.includes(typeName) ? typeName : "Asset";
}
