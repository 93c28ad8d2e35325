// A new column whose value differs row by row (a volatile default, a generated, identity or serial
// column) makes PostgreSQL write it into every existing row: a table rewrite under ACCESS EXCLUSIVE.
// A constant or stable default (`now()`) is stored once in the catalog and costs nothing (PG 11+).
import type { ColumnDef, FuncCall } from "libpg-query";
import { as, constraintsOf, displayName, hasConstraint, nameParts, SERIAL_TYPES, typeKey } from "../ast.js";
import { rule } from "../statement.js";

/** Built-in functions that are stable or immutable and common in defaults; any other call may be volatile. */
const NON_VOLATILE_FUNCTIONS: ReadonlySet<string> = new Set([
  "now",
  "transaction_timestamp",
  "statement_timestamp",
  "current_setting",
  "current_database",
  "current_schema",
  "timezone",
  "date_trunc",
  "date_part",
  "make_date",
  "make_interval",
  "make_timestamp",
  "make_timestamptz",
  "to_timestamp",
  "to_date",
  "to_char",
  "lower",
  "upper",
  "btrim",
  "ltrim",
  "rtrim",
  "concat",
  "concat_ws",
  "length",
  "char_length",
  "md5",
  "abs",
  "round",
  "jsonb_build_object",
  "jsonb_build_array",
  "json_build_object",
  "json_build_array",
  "to_jsonb",
  "to_json",
  "array_fill",
]);

function functionCalls(node: unknown): FuncCall[] {
  if (Array.isArray(node)) return node.flatMap(functionCalls);
  if (!node || typeof node !== "object") return [];
  return Object.entries(node).flatMap(([key, value]) => (key === "FuncCall" ? [value as FuncCall, ...functionCalls(value)] : functionCalls(value)));
}

/** `random()` or `myschema.f()`: a call outside pg_catalog is a user function, of unknown volatility. */
function volatileCall(call: FuncCall): string | undefined {
  const parts = nameParts(call.funcname);
  const builtIn = parts.length === 1 || parts[0] === "pg_catalog";
  return builtIn && NON_VOLATILE_FUNCTIONS.has(parts.at(-1) ?? "") ? undefined : `${parts.join(".")}()`;
}

/** Why the column is filled row by row, if it is. */
function rowByRowValue(column: ColumnDef): string | undefined {
  const constraints = constraintsOf(column);
  if (constraints.some((c) => c.contype === "CONSTR_GENERATED")) return "as a GENERATED … STORED column";
  // A new primary key column is adding-serial-primary-key-field's finding.
  if (hasConstraint(column, "CONSTR_PRIMARY")) return undefined;
  if (constraints.some((c) => c.contype === "CONSTR_IDENTITY")) return "as an identity column";
  if (SERIAL_TYPES.has(typeKey(column.typeName))) return `as ${typeKey(column.typeName)}`;
  const defaultValue = constraints.find((c) => c.contype === "CONSTR_DEFAULT")?.raw_expr;
  const volatile = functionCalls(defaultValue).flatMap((call) => volatileCall(call) ?? [])[0];
  return volatile && `with the volatile default ${volatile}`;
}

export const addingFieldWithDefault = rule("adding-field-with-default", ["AlterTableStmt"], (statement) =>
  statement.alterCommands("AT_AddColumn").flatMap(({ command, table }) => {
    const column = as(command.def, "ColumnDef");
    const how = column && rowByRowValue(column);
    if (!column || !how) return [];
    return [
      {
        message: `adds column ${displayName(table)}.${column.colname} ${how}, rewriting the table`,
        table: displayName(table),
        lock: "ACCESS EXCLUSIVE",
        rewrites: true,
        byteOffset: column.location,
      },
    ];
  }),
);
