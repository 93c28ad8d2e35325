// How the file runs: Autopilot wraps a file in one transaction unless its first line is
// `-- autopilot:no-transaction`, in which case statements run one by one and a failure half-way
// leaves the first ones applied.
import type { TransactionStmtKind } from "libpg-query";
import { as, displayName, droppedName, tableOf } from "../ast.js";
import { rule, type FileFacts, type Hit, type Rule, type Statement } from "../statement.js";

const OPENS: ReadonlySet<TransactionStmtKind> = new Set(["TRANS_STMT_BEGIN", "TRANS_STMT_START"]);
const CLOSES: ReadonlySet<TransactionStmtKind> = new Set(["TRANS_STMT_COMMIT", "TRANS_STMT_ROLLBACK", "TRANS_STMT_PREPARE"]);

export function opensTransaction(statement: Statement): boolean {
  const kind = statement.as("TransactionStmt")?.kind;
  return kind !== undefined && OPENS.has(kind);
}

export function closesTransaction(statement: Statement): boolean {
  const kind = statement.as("TransactionStmt")?.kind;
  return kind !== undefined && CLOSES.has(kind);
}

export const transactionNesting = rule("transaction-nesting", ["TransactionStmt"], (statement) => {
  if (statement.file.noTransaction) return unpairedTransactionControl(statement);
  if (!(opensTransaction(statement) || closesTransaction(statement))) return undefined;
  return { message: `${transactionKeyword(statement)} inside a file that Autopilot already runs in a transaction` };
});

/** In a no-transaction file PostgreSQL only warns about these, and the file does not do what it reads as. */
function unpairedTransactionControl(statement: Statement): Hit | undefined {
  if (opensTransaction(statement) && statement.inTransactionBlock)
    return { message: `${transactionKeyword(statement)} inside a transaction this file already began: transactions do not nest, so the next COMMIT ends both` };
  if (closesTransaction(statement) && !statement.inTransactionBlock)
    return { message: `${transactionKeyword(statement)} with no transaction open: the statements before it were already committed one by one` };
  return undefined;
}

function transactionKeyword(statement: Statement): string {
  const kind = statement.as("TransactionStmt")?.kind ?? "";
  return kind.replace("TRANS_STMT_", "").replace("START", "START TRANSACTION").replace("PREPARE", "PREPARE TRANSACTION");
}

export const banUncommittedTransaction: Rule = {
  id: "ban-uncommitted-transaction",
  checkFile: (statements, file) => {
    if (!file.noTransaction) return [];
    let open: Statement | undefined;
    for (const statement of statements) {
      if (opensTransaction(statement)) open ??= statement;
      else if (closesTransaction(statement)) open = undefined;
    }
    return open ? [{ statement: open, message: `${transactionKeyword(open)} is never committed: the file ends inside the transaction` }] : [];
  },
};

/** What the statement does CONCURRENTLY, if anything; PostgreSQL refuses all of these in a transaction block. */
function concurrentOperation(statement: Statement): Hit | undefined {
  const index = statement.as("IndexStmt");
  if (index?.concurrent)
    return {
      message: `creates ${index.idxname ? `index ${index.idxname}` : "an index"} CONCURRENTLY inside a transaction`,
      table: displayName(tableOf(index.relation)),
    };
  const drop = statement.as("DropStmt");
  if (drop?.concurrent)
    return { message: `drops index ${(drop.objects ?? []).map((o) => displayName(droppedName(o))).join(", ")} CONCURRENTLY inside a transaction` };
  const reindex = statement.as("ReindexStmt");
  if (reindex?.params?.some((p) => as(p, "DefElem")?.defname === "concurrently")) return { message: "reindexes CONCURRENTLY inside a transaction" };
  const alter = statement.as("AlterTableStmt");
  const detaches = alter?.cmds?.some((c) => as(as(c, "AlterTableCmd")?.def, "PartitionCmd")?.concurrent);
  if (detaches) return { message: `detaches a partition of ${displayName(tableOf(alter?.relation))} CONCURRENTLY inside a transaction` };
  return undefined;
}

export const banConcurrentIndexCreationInTransaction = rule(
  "ban-concurrent-index-creation-in-transaction",
  ["IndexStmt", "DropStmt", "ReindexStmt", "AlterTableStmt"],
  (statement) => {
    if (statement.file.noTransaction && !statement.inTransactionBlock) return undefined;
    return concurrentOperation(statement);
  },
);

// Only no-transaction files: a transactional file that fails leaves nothing behind to trip over.
const robustStatement = rule("prefer-robust-stmts", ["CreateStmt", "IndexStmt", "DropStmt", "AlterTableStmt"], (statement) => {
  if (!statement.file.noTransaction) return undefined;
  const create = statement.as("CreateStmt");
  // A temporary table dropped at commit is gone before any retry could trip over it.
  const droppedAtCommit = create?.relation?.relpersistence === "t" && create.oncommit === "ONCOMMIT_DROP";
  if (create && !create.if_not_exists && !droppedAtCommit) return { message: `creates table ${displayName(tableOf(create.relation))} without IF NOT EXISTS` };
  const index = statement.as("IndexStmt");
  if (index && !index.if_not_exists)
    return {
      message: `creates ${index.idxname ? `index ${index.idxname}` : "an unnamed index"} without IF NOT EXISTS${index.idxname ? "" : " (which needs a name)"}`,
    };
  const drop = statement.as("DropStmt");
  if (drop && !drop.missing_ok) return { message: `drops ${(drop.objects ?? []).map((o) => displayName(droppedName(o))).join(", ")} without IF EXISTS` };
  return robustAlterColumns(statement);
});

export const preferRobustStmts: Rule = { ...robustStatement, checkFile: constraintsThatCannotBeReAdded };

function robustAlterColumns(statement: Statement): Hit[] {
  const alter = statement.as("AlterTableStmt");
  const table = displayName(tableOf(alter?.relation));
  return (alter?.cmds ?? []).flatMap((c) => {
    const command = as(c, "AlterTableCmd");
    if (!command || command.missing_ok) return [];
    if (command.subtype === "AT_AddColumn") return [{ message: `adds column ${table}.${as(command.def, "ColumnDef")?.colname} without IF NOT EXISTS` }];
    if (command.subtype === "AT_DropColumn") return [{ message: `drops column ${table}.${command.name} without IF EXISTS` }];
    if (command.subtype === "AT_DropConstraint") return [{ message: `drops constraint ${command.name} of ${table} without IF EXISTS` }];
    return [];
  });
}

/** ADD CONSTRAINT has no IF NOT EXISTS: a re-run succeeds only when an earlier DROP CONSTRAINT IF EXISTS clears the way. */
function constraintsThatCannotBeReAdded(statements: Statement[], file: FileFacts): Array<Hit & { statement: Statement }> {
  if (!file.noTransaction) return [];
  const droppedFirst = new Set<string>();
  return statements.flatMap((statement) => {
    const alter = statement.as("AlterTableStmt");
    const table = tableOf(alter?.relation);
    return (alter?.cmds ?? []).flatMap((c) => {
      const command = as(c, "AlterTableCmd");
      if (command?.subtype === "AT_DropConstraint" && command.missing_ok) droppedFirst.add(`${table.name}\0${command.name}`);
      const constraint = command?.subtype === "AT_AddConstraint" ? as(command.def, "Constraint") : undefined;
      if (!constraint || (constraint.conname && droppedFirst.has(`${table.name}\0${constraint.conname}`))) return [];
      const message = constraint.conname
        ? `adds constraint ${constraint.conname} to ${displayName(table)}, which fails on a re-run: no DROP CONSTRAINT IF EXISTS ${constraint.conname} before it`
        : `adds an unnamed constraint to ${displayName(table)}, which a re-run adds a second time (or fails on)`;
      return [{ statement, message, byteOffset: constraint.location }];
    });
  });
}
