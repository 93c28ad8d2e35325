// Column types that are cheap to choose well now and expensive to change later. They apply to new
// tables as much as to old ones: a new table is where the choice is made.
import { SERIAL_TYPES, typeDisplay, typeKey, typeModifiers } from "../ast.js";
import { columnName, rule, type ColumnUse, type Rule, type Statement } from "../statement.js";
import { boundedByCheck, followsReferencedKey } from "./integer-columns.js";

/** A rule that fires on every column (created, added or retyped) whose type matches. */
function columnTypeRule(id: string, matches: (column: ColumnUse, statement: Statement) => boolean): Rule {
  return rule(id, ["CreateStmt", "AlterTableStmt"], (statement) =>
    statement
      .columns()
      .filter((column) => matches(column, statement))
      .map((column) => ({
        message: `column ${columnName(column)} is ${typeDisplay(column.type)}`,
        byteOffset: column.byteOffset,
      })),
  );
}

const NARROW_INTEGERS = new Set(["int2", "int4", "serial", "serial4", "smallserial", "serial2"]);

export const preferBigintOverInt = columnTypeRule(
  "prefer-bigint-over-int",
  (c, statement) => NARROW_INTEGERS.has(typeKey(c.type)) && !followsReferencedKey(statement, c) && !boundedByCheck(statement, c),
);

export const preferIdentity = columnTypeRule("prefer-identity", (c) => SERIAL_TYPES.has(typeKey(c.type)));

// varchar without a length is text under another name; only a limit is a problem.
export const preferTextField = columnTypeRule("prefer-text-field", (c) => typeKey(c.type) === "varchar" && typeModifiers(c.type).length > 0);

export const preferTimestamptz = columnTypeRule("prefer-timestamptz", (c) => typeKey(c.type) === "timestamp");

// `char` and `character(n)` are bpchar; the quoted one-byte "char" is an internal type, not this.
export const banCharField = columnTypeRule("ban-char-field", (c) => typeKey(c.type) === "bpchar");
