/** Entity type names that are not asset types (models.md §2); every other entity type is an asset type. */
export const RESERVED_TYPE_NAMES = ["Shot", "Sequence", "Episode", "Scene", "Edit", "Concept"] as const;
export type ReservedTypeName = (typeof RESERVED_TYPE_NAMES)[number];
/** The `type` an entity is presented with (and its event prefix, lower-cased). */
export type EntityKind = ReservedTypeName | "Asset";

/** RESERVED_TYPE_NAMES as plain strings, for name filters. */
export const RESERVED_ENTITY_TYPES: string[] = [...RESERVED_TYPE_NAMES];

/** The kind of an entity from its type name: Shot, Sequence, ... or Asset. */
export function entityKind(typeName: string | null | undefined): EntityKind {
  return typeName && RESERVED_ENTITY_TYPES.includes(typeName) ? (typeName as ReservedTypeName) : "Asset";
}
