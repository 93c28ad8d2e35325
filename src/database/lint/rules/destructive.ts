// Statements that lose data or break the application version that is still running. A table
// created earlier in the same file holds no data and has no users yet, so it is exempt.
import { displayName, droppedName, tableOf } from "../ast.js";
import { rule, type Statement } from "../statement.js";

const EXCLUSIVE = "ACCESS EXCLUSIVE";

function droppedTables(statement: Statement) {
  const drop = statement.as("DropStmt");
  if (drop?.removeType !== "OBJECT_TABLE") return [];
  return (drop.objects ?? []).map(droppedName).filter((table) => !statement.createdInFile(table));
}

export const banDropTable = rule("ban-drop-table", ["DropStmt"], (statement) =>
  droppedTables(statement).map((table) => ({ message: `drops table ${displayName(table)}`, table: displayName(table), lock: EXCLUSIVE })),
);

export const banDropColumn = rule("ban-drop-column", ["AlterTableStmt"], (statement) =>
  statement.alterCommands("AT_DropColumn").map(({ command, table }) => ({
    message: `drops column ${displayName(table)}.${command.name}`,
    table: displayName(table),
    lock: EXCLUSIVE,
  })),
);

export const banDropDatabase = rule("ban-drop-database", ["DropdbStmt"], (statement) => {
  const drop = statement.as("DropdbStmt");
  return drop && { message: `drops database ${drop.dbname}` };
});

function renameOf(statement: Statement, renameType: "OBJECT_COLUMN" | "OBJECT_TABLE") {
  const rename = statement.as("RenameStmt");
  if (rename?.renameType !== renameType) return undefined;
  const table = tableOf(rename.relation);
  return statement.createdInFile(table) ? undefined : { rename, table };
}

export const renamingColumn = rule("renaming-column", ["RenameStmt"], (statement) => {
  const found = renameOf(statement, "OBJECT_COLUMN");
  if (!found) return undefined;
  const table = displayName(found.table);
  return { message: `renames column ${table}.${found.rename.subname} to ${found.rename.newname}`, table, lock: EXCLUSIVE };
});

export const renamingTable = rule("renaming-table", ["RenameStmt"], (statement) => {
  const found = renameOf(statement, "OBJECT_TABLE");
  if (!found) return undefined;
  const table = displayName(found.table);
  return { message: `renames table ${table} to ${found.rename.newname}`, table, lock: EXCLUSIVE };
});

export const banTruncateCascade = rule("ban-truncate-cascade", ["TruncateStmt"], (statement) => {
  const truncate = statement.as("TruncateStmt");
  if (truncate?.behavior !== "DROP_CASCADE") return undefined;
  const tables = (truncate.relations ?? []).map((r) => displayName(tableOf("RangeVar" in r ? r.RangeVar : undefined)));
  return {
    message: `truncates ${tables.join(", ")} with CASCADE, emptying every table that references ${tables.length > 1 ? "them" : "it"}`,
    table: tables[0],
    lock: EXCLUSIVE,
  };
});

export const droppingNotNull = rule("dropping-not-null", ["AlterTableStmt"], (statement) =>
  statement.alterCommands("AT_DropNotNull").map(({ command, table }) => ({
    message: `drops NOT NULL from ${displayName(table)}.${command.name}, which running code may assume is always set`,
    table: displayName(table),
  })),
);
