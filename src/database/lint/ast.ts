// Small accessors over libpg-query's parse tree, where every node is wrapped in an object keyed by
// its type (`{ AlterTableStmt: {…} }`), so that rules read like the SQL they look for.
import type { ColumnDef, Constraint, ConstrType, Node, RangeVar, TypeName } from "libpg-query";

export type NodeType = Node extends infer N ? (N extends unknown ? keyof N : never) : never;
export type NodeOf<K extends NodeType> = Extract<Node, { [P in K]: unknown }>[K];

export function nodeType(node: Node): NodeType {
  for (const key in node) return key as NodeType;
  throw new Error("empty parse tree node");
}

/** The node's content when it is of type `type`, else undefined. */
export function as<K extends NodeType>(node: Node | undefined, type: K): NodeOf<K> | undefined {
  return node && type in node ? (node as unknown as Record<K, NodeOf<K>>)[type] : undefined;
}

export interface TableName {
  schema?: string;
  name: string;
}

export function tableOf(relation: RangeVar | undefined): TableName {
  return { schema: relation?.schemaname, name: relation?.relname ?? "?" };
}

/** `schema.name` as written: qualified only when the SQL was. */
export function displayName(table: TableName): string {
  return table.schema ? `${table.schema}.${table.name}` : table.name;
}

/** The string parts of a qualified name list (`[{String: {sval}}…]`), as DROP and type names give them. */
export function nameParts(nodes: Node[] | undefined): string[] {
  return (nodes ?? []).map((n) => as(n, "String")?.sval ?? "");
}

/** A DROP object (`{List: {items: [schema?, name]}}` for relations, other shapes for other kinds) as a qualified name. */
export function droppedName(object: Node): TableName {
  const parts = nameParts(as(object, "List")?.items ?? as(object, "ObjectWithArgs")?.objname ?? as(object, "TypeName")?.names ?? [object]);
  const name = parts.pop() || "?";
  return { schema: parts.pop(), name };
}

export function constraintsOf(column: ColumnDef): Constraint[] {
  return (column.constraints ?? []).flatMap((c) => as(c, "Constraint") ?? []);
}

export function hasConstraint(column: ColumnDef, ...types: ConstrType[]): boolean {
  return constraintsOf(column).some((c) => c.contype !== undefined && types.includes(c.contype));
}

/**
 * The type's own name, lowercased, without the `pg_catalog.` the grammar adds to keyword types:
 * `integer` → "int4", `varchar(20)` → "varchar", `serial` → "serial". A user type in another schema
 * keeps its schema, so a type of one's own named `int4` is not taken for the built-in.
 */
export function typeKey(type: TypeName | undefined): string {
  const parts = nameParts(type?.names);
  if (parts.length === 2 && parts[0] === "pg_catalog") return parts[1];
  return parts.join(".").toLowerCase();
}

export function typeModifiers(type: TypeName | undefined): number[] {
  // The parse tree leaves a zero out: `numeric(10, 0)` has `{ ival: {} }` for its scale.
  return (type?.typmods ?? []).flatMap((m) => {
    const value = as(m, "A_Const")?.ival;
    return value === undefined ? [] : [value.ival ?? 0];
  });
}

const SQL_TYPE_NAMES: Readonly<Record<string, string>> = {
  int2: "smallint",
  int4: "integer",
  int8: "bigint",
  bpchar: "char",
  varchar: "varchar",
  timestamptz: "timestamptz",
};

/** How a person would write the type: `integer`, `varchar(20)`, `char(3)`. */
export function typeDisplay(type: TypeName | undefined): string {
  const key = typeKey(type);
  const modifiers = typeModifiers(type);
  const name = SQL_TYPE_NAMES[key] ?? key;
  const written = modifiers.length ? `${name}(${modifiers.join(", ")})` : name;
  return key === "timestamp" ? `${written} without time zone` : written;
}

export const SERIAL_TYPES = new Set(["serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"]);
