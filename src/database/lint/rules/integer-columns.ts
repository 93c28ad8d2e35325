// When an integer or smallint column is the right choice after all: it must match the integer key it
// references, or a CHECK keeps its values far from the type's limits, so it cannot run out.
import type { Constraint, Node } from "libpg-query";
import { as, constraintsOf, nameParts, tableOf, typeKey } from "../ast.js";
import type { ColumnUse, Statement } from "../statement.js";

const RANGES: Readonly<Record<string, readonly [number, number]>> = {
  int2: [-(2 ** 15), 2 ** 15 - 1],
  int4: [-(2 ** 31), 2 ** 31 - 1],
};

const NARROW_KEYS = new Set(["int2", "int4", "serial", "serial4", "smallserial", "serial2"]);

/** The constraints the statement declares that may concern this column: its own and the table's. */
function statementConstraints(statement: Statement, column: ColumnUse): Constraint[] {
  const tableLevel =
    statement.as("CreateStmt")?.tableElts ??
    (statement.as("AlterTableStmt")?.cmds ?? []).flatMap((c) => {
      const command = as(c, "AlterTableCmd");
      return command?.subtype === "AT_AddConstraint" && command.def ? [command.def] : [];
    });
  return [...constraintsOf(column.definition), ...tableLevel.flatMap((e) => as(e, "Constraint") ?? [])];
}

/**
 * The column references a key whose type it must match, and that key is not known to be wider: the
 * advice belongs on the key's own definition (where this rule fires), not on the column that follows it.
 */
export function followsReferencedKey(statement: Statement, column: ColumnUse): boolean {
  return statementConstraints(statement, column).some((constraint) => {
    if (constraint.contype !== "CONSTR_FOREIGN") return false;
    const own = constraintsOf(column.definition).includes(constraint);
    const position = own ? 0 : nameParts(constraint.fk_attrs).indexOf(column.column);
    if (position < 0) return false;
    const parent = tableOf(constraint.pktable);
    const key = nameParts(constraint.pk_attrs)[position] ?? statement.file.schema.primaryKey(parent)[position];
    const keyType = referencedType(statement, parent.name, key);
    return keyType === undefined || NARROW_KEYS.has(keyType);
  });
}

/** The type of the referenced column, from this statement (a table referencing itself) or earlier ones. */
function referencedType(statement: Statement, table: string, column: string | undefined): string | undefined {
  if (column === undefined) return undefined;
  const here = statement.columns().find((c) => c.table.name === table && c.column === column);
  const type = here?.type ?? statement.file.schema.columnType({ name: table }, column);
  return type && typeKey(type);
}

/** A CHECK of this statement keeps the column inside its type's range on both sides. */
export function boundedByCheck(statement: Statement, column: ColumnUse): boolean {
  const range = RANGES[typeKey(column.type)];
  if (!range) return false;
  return statementConstraints(statement, column).some((constraint) => {
    if (constraint.contype !== "CONSTR_CHECK") return false;
    const [low, high] = boundsOf(constraint.raw_expr, column.column);
    return low >= range[0] && high <= range[1];
  });
}

type Bounds = [number, number];
const UNBOUNDED: Bounds = [-Infinity, Infinity];

/** The interval `expression` confines `column` to (conjunctions, comparisons with constants, BETWEEN, IN). */
function boundsOf(expression: Node | undefined, column: string): Bounds {
  const and = as(expression, "BoolExpr");
  if (and?.boolop === "AND_EXPR")
    return (and.args ?? []).map((a) => boundsOf(a, column)).reduce(([l1, h1], [l2, h2]) => [Math.max(l1, l2), Math.min(h1, h2)], UNBOUNDED);
  const comparison = as(expression, "A_Expr");
  if (!comparison) return UNBOUNDED;
  const operator = nameParts(comparison.name)[0];
  const list = (as(comparison.rexpr, "List")?.items ?? []).map(constantOf);
  if (!isColumn(comparison.lexpr, column)) return isColumn(comparison.rexpr, column) ? compare(FLIPPED[operator], constantOf(comparison.lexpr)) : UNBOUNDED;
  if (comparison.kind === "AEXPR_BETWEEN" && list.length === 2) return [list[0], list[1]];
  if (comparison.kind === "AEXPR_IN" && operator === "=" && list.length) return [Math.min(...list), Math.max(...list)];
  return comparison.kind === "AEXPR_OP" ? compare(operator, constantOf(comparison.rexpr)) : UNBOUNDED;
}

const FLIPPED: Readonly<Record<string, string>> = { "<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=" };

/** `column <operator> value` as an interval (integers, so `< 5` is `<= 4`). */
function compare(operator: string | undefined, value: number): Bounds {
  if (Number.isNaN(value)) return UNBOUNDED;
  const bounds: Partial<Record<string, Bounds>> = {
    "<": [-Infinity, value - 1],
    "<=": [-Infinity, value],
    ">": [value + 1, Infinity],
    ">=": [value, Infinity],
    "=": [value, value],
  };
  return bounds[operator ?? ""] ?? UNBOUNDED;
}

function isColumn(node: Node | undefined, column: string): boolean {
  const fields = nameParts(as(node, "ColumnRef")?.fields);
  return fields.length === 1 && fields[0] === column;
}

/** A numeric constant's value (the parse tree leaves zero out), NaN for anything else. */
function constantOf(node: Node | undefined): number {
  const constant = as(node, "A_Const");
  if (constant?.ival) return constant.ival.ival ?? 0;
  if (constant?.fval) return Number(constant.fval.fval);
  return NaN;
}
