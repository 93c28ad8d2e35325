// Statements that lock a busy table for as long as they scan, build or rewrite it. Tables created
// earlier in the same file are exempt: nobody is waiting on them yet (alterCommands filters them).
import type { ColumnDef, Constraint } from "libpg-query";
import { as, constraintsOf, displayName, droppedName, hasConstraint, SERIAL_TYPES, tableOf, typeDisplay, typeKey, type TableName } from "../ast.js";
import { keepsStoredValues } from "./binary-coercible.js";
import { rule, type AlterCommand, type Hit, type Statement } from "../statement.js";

const EXCLUSIVE = "ACCESS EXCLUSIVE";

function addedColumns(statement: Statement): Array<AlterCommand & { column: ColumnDef }> {
  return statement.alterCommands("AT_AddColumn").flatMap((c) => {
    const column = as(c.command.def, "ColumnDef");
    return column ? [{ ...c, column }] : [];
  });
}

function addedConstraints(statement: Statement): Array<AlterCommand & { constraint: Constraint }> {
  return statement.alterCommands("AT_AddConstraint").flatMap((c) => {
    const constraint = as(c.command.def, "Constraint");
    return constraint ? [{ ...c, constraint }] : [];
  });
}

/** A value for existing rows: a default, an identity or generated expression, or a serial's sequence. */
function fillsExistingRows(column: ColumnDef): boolean {
  return hasConstraint(column, "CONSTR_DEFAULT", "CONSTR_IDENTITY", "CONSTR_GENERATED") || SERIAL_TYPES.has(typeKey(column.typeName));
}

// A table this transaction emptied has no rows to fail on. TRUNCATE holds its lock to the end (after
// a DELETE a concurrent insert could slip in, rare on a table a migration empties); in a
// no-transaction file rows may arrive between the statements, so only a transactional file counts.
function emptiedInThisTransaction(statement: Statement, table: TableName): boolean {
  return !statement.file.noTransaction && statement.file.emptiedTables.has(table.name);
}

export const addingRequiredField = rule("adding-required-field", ["AlterTableStmt"], (statement) =>
  addedColumns(statement)
    .filter(({ column }) => (column.is_not_null || hasConstraint(column, "CONSTR_NOTNULL", "CONSTR_PRIMARY")) && !fillsExistingRows(column))
    .filter(({ table }) => !emptiedInThisTransaction(statement, table))
    .map(({ column, table }) => ({
      message: `adds column ${displayName(table)}.${column.colname} as NOT NULL without a default`,
      table: displayName(table),
      lock: EXCLUSIVE,
      byteOffset: column.location,
    })),
);

// PostgreSQL 12+ skips the scan when a validated CHECK (col IS NOT NULL) proves the column set: the
// recipe the rule's advice gives, seen in this file or an earlier one of the run.
export const addingNotNullableField = rule("adding-not-nullable-field", ["AlterTableStmt"], (statement) =>
  statement
    .alterCommands("AT_SetNotNull")
    .filter(({ command, table }) => !statement.file.schema.hasValidatedNotNullCheck(table, command.name ?? ""))
    .map(({ command, table }) => ({
      message: `sets ${displayName(table)}.${command.name} NOT NULL, scanning the table`,
      table: displayName(table),
      lock: EXCLUSIVE,
    })),
);

// Without USING, a change PostgreSQL makes in the catalog only (binary-coercible.ts) is no rewrite.
export const changingColumnType = rule("changing-column-type", ["AlterTableStmt"], (statement) =>
  statement
    .alterCommands("AT_AlterColumnType")
    .filter(({ command, table }) => {
      const retyped = as(command.def, "ColumnDef");
      const from = statement.file.schema.columnType(table, command.name ?? "");
      return retyped?.raw_default !== undefined || !keepsStoredValues(from, retyped?.typeName, statement.file.sessionInUtc);
    })
    .map(({ command, table }) => ({
      message: `changes the type of ${displayName(table)}.${command.name} to ${typeDisplay(as(command.def, "ColumnDef")?.typeName)}`,
      table: displayName(table),
      lock: EXCLUSIVE,
      rewrites: true,
    })),
);

export const requireConcurrentIndexCreation = rule("require-concurrent-index-creation", ["IndexStmt"], (statement) => {
  const index = statement.as("IndexStmt");
  if (!index || index.concurrent) return undefined;
  const table = tableOf(index.relation);
  if (statement.createdInFile(table)) return undefined;
  const name = index.idxname ? `index ${index.idxname}` : "an index";
  return { message: `creates ${name} on ${displayName(table)} without CONCURRENTLY`, table: displayName(table), lock: "SHARE" };
});

export const requireConcurrentIndexDeletion = rule("require-concurrent-index-deletion", ["DropStmt"], (statement) => {
  const drop = statement.as("DropStmt");
  if (drop?.removeType !== "OBJECT_INDEX" || drop.concurrent) return [];
  return (drop.objects ?? [])
    .map(droppedName)
    .filter((index) => {
      const table = statement.file.createdIndexes.get(index.name);
      return !(table && statement.createdInFile(table));
    })
    .map((index) => ({ message: `drops index ${displayName(index)} without CONCURRENTLY`, lock: EXCLUSIVE }));
});

const VALIDATION_LOCK: Partial<Record<string, string>> = { CONSTR_CHECK: EXCLUSIVE, CONSTR_FOREIGN: "SHARE ROW EXCLUSIVE" };

export const constraintMissingNotValid = rule("constraint-missing-not-valid", ["AlterTableStmt"], (statement) =>
  addedConstraints(statement)
    .filter(({ constraint }) => VALIDATION_LOCK[constraint.contype ?? ""] && !constraint.skip_validation)
    .map(({ constraint, table }) => ({
      message: `adds ${constraintLabel(constraint)} to ${displayName(table)} without NOT VALID, validating every row`,
      table: displayName(table),
      lock: VALIDATION_LOCK[constraint.contype ?? ""],
      byteOffset: constraint.location,
    })),
);

// ADD CONSTRAINT … FOREIGN KEY is constraint-missing-not-valid's; this rule covers the REFERENCES
// clause of a new column, which cannot be NOT VALID, so one statement never gets both findings.
export const addingForeignKeyConstraint = rule("adding-foreign-key-constraint", ["AlterTableStmt"], (statement) =>
  addedColumns(statement).flatMap(({ column, table }) =>
    constraintsOf(column)
      .filter((c) => c.contype === "CONSTR_FOREIGN")
      .map((c) => ({
        message: `adds column ${displayName(table)}.${column.colname} with a foreign key to ${displayName(tableOf(c.pktable))}, validated at once`,
        table: displayName(table),
        lock: "SHARE ROW EXCLUSIVE",
        byteOffset: c.location,
      })),
  ),
);

export const disallowedUniqueConstraint = rule("disallowed-unique-constraint", ["AlterTableStmt"], (statement): Hit[] => [
  ...addedConstraints(statement)
    .filter(({ constraint }) => constraint.contype === "CONSTR_UNIQUE" && !constraint.indexname)
    .map(({ constraint, table }) => uniqueHit(`adds ${constraintLabel(constraint)} to ${displayName(table)}`, displayName(table), constraint)),
  ...addedColumns(statement).flatMap(({ column, table }) =>
    constraintsOf(column)
      .filter((c) => c.contype === "CONSTR_UNIQUE")
      .map((c) => uniqueHit(`adds column ${displayName(table)}.${column.colname} as UNIQUE`, displayName(table), c)),
  ),
]);

function uniqueHit(what: string, table: string, constraint: Constraint): Hit {
  return { message: `${what}, building its index under an ACCESS EXCLUSIVE lock`, table, lock: EXCLUSIVE, byteOffset: constraint.location };
}

export const addingSerialPrimaryKeyField = rule("adding-serial-primary-key-field", ["AlterTableStmt"], (statement): Hit[] => [
  ...addedColumns(statement)
    .filter(({ column }) => hasConstraint(column, "CONSTR_PRIMARY"))
    .map(({ column, table }) => ({
      message: `adds primary key column ${displayName(table)}.${column.colname} (${typeDisplay(column.typeName)}) to an existing table`,
      table: displayName(table),
      lock: EXCLUSIVE,
      rewrites: SERIAL_TYPES.has(typeKey(column.typeName)),
      byteOffset: column.location,
    })),
  ...addedConstraints(statement)
    .filter(({ constraint }) => constraint.contype === "CONSTR_PRIMARY" && !constraint.indexname)
    .map(({ constraint, table }) => ({
      message: `adds a primary key to ${displayName(table)} without USING INDEX`,
      table: displayName(table),
      lock: EXCLUSIVE,
      byteOffset: constraint.location,
    })),
]);

function constraintLabel(constraint: Constraint): string {
  const kind = { CONSTR_CHECK: "CHECK", CONSTR_FOREIGN: "FOREIGN KEY", CONSTR_UNIQUE: "UNIQUE" }[constraint.contype as string] ?? "a";
  return constraint.conname ? `${kind} constraint ${constraint.conname}` : `a ${kind} constraint`;
}
