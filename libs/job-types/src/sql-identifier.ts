/**
 * SQL identifiers of a declaration. The schema already whitelists them (lower case, a-z0-9_), and they are
 * quoted anyway, so that a reserved word (`"order"`) works and nothing in a name can ever be read as SQL.
 */
export const quoteIdentifier = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** `schema.table` → `"schema"."table"`; `table` → `"table"`. */
export const quoteTableName = (name: string): string => name.split('.').map(quoteIdentifier).join('.');

/** The table's own name, without its schema. */
export const unqualifiedName = (name: string): string => name.slice(name.lastIndexOf('.') + 1);
