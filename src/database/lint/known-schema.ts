// What earlier statements of the run (this file and the files linted before it, in order) tell the
// rules about tables they cannot see on the target: column types, primary keys, and CHECK
// (col IS NOT NULL) constraints, so a rule can tell a real rewrite or scan from one PostgreSQL skips.
// Tables are keyed by bare name, as createdInFile matches `t` with `public.t`.
import type { ColumnDef, Constraint, Node, TypeName } from "libpg-query";
import { as, constraintsOf, droppedName, nameParts, tableOf, type TableName } from "./ast.js";
import type { Statement } from "./statement.js";

interface NotNullCheck {
  columns: string[];
  validated: boolean;
}

interface KnownTable {
  name: string;
  columns: Map<string, TypeName>;
  primaryKey: string[];
  notNullChecks: Map<string, NotNullCheck>;
}

/** A CHECK (col IS NOT NULL) already on the target (target-checks.ts): table name as written in SQL. */
export interface NotNullCheckOnTarget {
  table: string;
  constraint: string;
  columns: string[];
  /** NOT VALID on the target: exempts nothing until the run validates it. */
  validated: boolean;
}

export class KnownSchema {
  private readonly tables = new Map<string, KnownTable>();

  /** Starts from the target's CHECK (col IS NOT NULL) constraints, when the run knows them. */
  constructor(onTarget: readonly NotNullCheckOnTarget[] = []) {
    for (const check of onTarget) {
      const known = this.table({ name: bareName(check.table) });
      known.notNullChecks.set(check.constraint, { columns: check.columns, validated: check.validated });
    }
  }

  columnType(table: TableName, column: string): TypeName | undefined {
    return this.tables.get(table.name)?.columns.get(column);
  }

  primaryKey(table: TableName): string[] {
    return this.tables.get(table.name)?.primaryKey ?? [];
  }

  /** A validated CHECK (column IS NOT NULL): PostgreSQL 12+ then sets NOT NULL without scanning. */
  hasValidatedNotNullCheck(table: TableName, column: string): boolean {
    const checks = this.tables.get(table.name)?.notNullChecks.values() ?? [];
    return [...checks].some((check) => check.validated && check.columns.includes(column));
  }

  /** Learns from one statement, after the rules have looked at it. */
  record(statement: Statement): void {
    const create = statement.as("CreateStmt");
    if (create) return this.recordCreate(create.relation && tableOf(create.relation), create.tableElts ?? []);
    const alter = statement.as("AlterTableStmt");
    if (alter && (!alter.objtype || alter.objtype === "OBJECT_TABLE")) return this.recordAlter(tableOf(alter.relation), alter.cmds ?? []);
    const drop = statement.as("DropStmt");
    if (drop?.removeType === "OBJECT_TABLE") for (const object of drop.objects ?? []) this.tables.delete(droppedName(object).name);
  }

  private table(table: TableName): KnownTable {
    let known = this.tables.get(table.name);
    if (!known) this.tables.set(table.name, (known = { name: table.name, columns: new Map(), primaryKey: [], notNullChecks: new Map() }));
    return known;
  }

  private recordCreate(table: TableName | undefined, elements: Node[]): void {
    if (!table) return;
    this.tables.delete(table.name);
    const known = this.table(table);
    for (const element of elements) {
      const column = as(element, "ColumnDef");
      if (column) this.addColumn(known, column);
      const constraint = as(element, "Constraint");
      if (constraint) this.addConstraint(known, constraint);
    }
  }

  private recordAlter(table: TableName, commands: Node[]): void {
    const known = this.table(table);
    for (const command of commands.flatMap((c) => as(c, "AlterTableCmd") ?? [])) {
      const column = as(command.def, "ColumnDef");
      const constraint = as(command.def, "Constraint");
      if (command.subtype === "AT_AddColumn" && column) this.addColumn(known, column);
      else if (command.subtype === "AT_AlterColumnType" && column?.typeName && command.name) known.columns.set(command.name, column.typeName);
      else if (command.subtype === "AT_DropColumn" && command.name) known.columns.delete(command.name);
      else if (command.subtype === "AT_AddConstraint" && constraint) this.addConstraint(known, constraint);
      else if (command.subtype === "AT_DropConstraint" && command.name) known.notNullChecks.delete(command.name);
      else if (command.subtype === "AT_ValidateConstraint" && command.name) {
        const check = known.notNullChecks.get(command.name);
        if (check) check.validated = true;
      }
    }
  }

  private addColumn(known: KnownTable, column: ColumnDef): void {
    if (!column.colname) return;
    if (column.typeName) known.columns.set(column.colname, column.typeName);
    for (const constraint of constraintsOf(column)) this.addConstraint(known, constraint, column.colname);
  }

  private addConstraint(known: KnownTable, constraint: Constraint, column?: string): void {
    if (constraint.contype === "CONSTR_PRIMARY") known.primaryKey = column ? [column] : nameParts(constraint.keys);
    if (constraint.contype !== "CONSTR_CHECK") return;
    const columns = notNullColumns(constraint.raw_expr);
    // An unnamed check gets PostgreSQL's name for it, so a later VALIDATE CONSTRAINT finds it.
    const name = constraint.conname ?? `${known.name}_${column ?? columns[0]}_check`;
    if (columns.length) known.notNullChecks.set(name, { columns, validated: !constraint.skip_validation });
  }
}

/** `shop."Orders"` → `Orders`: tables are keyed by bare name, as the parser gives relname. */
function bareName(table: string): string {
  const last = /(?:^|\.)("(?:[^"]|"")+"|[^."]+)$/.exec(table)?.[1] ?? table;
  return last.startsWith('"') ? last.slice(1, -1).replaceAll('""', '"') : last.toLowerCase();
}

/** The columns `a IS NOT NULL [AND b IS NOT NULL …]` proves non-null (PostgreSQL's implication proof accepts the conjunction). */
function notNullColumns(expression: Node | undefined): string[] {
  const test = as(expression, "NullTest");
  if (test) {
    const column = nameParts(as(test.arg, "ColumnRef")?.fields);
    return test.nulltesttype === "IS_NOT_NULL" && column.length === 1 ? column : [];
  }
  const and = as(expression, "BoolExpr");
  return and?.boolop === "AND_EXPR" ? (and.args ?? []).flatMap(notNullColumns) : [];
}
