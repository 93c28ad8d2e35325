// Constraints whose validation scans tables under a lock: a VALIDATE that still holds the lock of the
// ADD CONSTRAINT … NOT VALID before it, and a domain constraint checked against every column of the domain.
import { as, displayName, nameParts, type TableName } from "../ast.js";
import type { Hit, Rule, Statement } from "../statement.js";
import { closesTransaction, opensTransaction } from "./transactions.js";

/** The lock ADD CONSTRAINT … NOT VALID takes, by the kinds of constraint that may be NOT VALID. */
const ADD_LOCK: Partial<Record<string, string>> = { CONSTR_CHECK: "ACCESS EXCLUSIVE", CONSTR_FOREIGN: "SHARE ROW EXCLUSIVE" };

function constraintKey(table: TableName, constraint: string): string {
  return `${table.name}\0${constraint}`;
}

/**
 * Every statement of a transactional file shares one transaction; in a no-transaction file only the
 * statements of one explicit BEGIN … COMMIT do, and the others commit one by one.
 */
export const validateConstraintInSameTransaction: Rule = {
  id: "validate-constraint-in-same-transaction",
  checkFile: (statements, file) => {
    const hits: Array<Hit & { statement: Statement }> = [];
    let addedNotValid = new Map<string, string>();
    for (const statement of statements) {
      if (file.noTransaction && (opensTransaction(statement) || closesTransaction(statement))) addedNotValid = new Map();
      if (file.noTransaction && !statement.inTransactionBlock) continue;
      for (const { command, table } of statement.alterCommands("AT_AddConstraint", "AT_ValidateConstraint")) {
        const constraint = as(command.def, "Constraint");
        const lock = ADD_LOCK[constraint?.contype ?? ""];
        if (constraint?.skip_validation && constraint.conname && lock) addedNotValid.set(constraintKey(table, constraint.conname), lock);
        const heldLock = command.subtype === "AT_ValidateConstraint" && addedNotValid.get(constraintKey(table, command.name ?? ""));
        if (heldLock)
          hits.push({
            statement,
            message: `validates constraint ${command.name} on ${displayName(table)} in the transaction that added it NOT VALID, still holding its ${heldLock} lock`,
            table: displayName(table),
            lock: heldLock,
          });
      }
    }
    return hits;
  },
};

/** A domain created earlier in the file has no column using it yet, so checking it costs nothing. */
export const banAlterDomainWithAddConstraint: Rule = {
  id: "ban-alter-domain-with-add-constraint",
  checkFile: (statements) => {
    const createdDomains = new Set<string>();
    return statements.flatMap((statement) => {
      const created = statement.as("CreateDomainStmt");
      if (created) createdDomains.add(nameParts(created.domainname).at(-1) ?? "");
      const alter = statement.as("AlterDomainStmt");
      const constraint = as(alter?.def, "Constraint");
      const domain = nameParts(alter?.typeName);
      if (alter?.subtype !== "C" || !constraint || constraint.skip_validation || createdDomains.has(domain.at(-1) ?? "")) return [];
      return [
        {
          statement,
          message: `adds a constraint to domain ${domain.join(".")}, checking every column of that type under a SHARE lock on its table`,
          lock: "SHARE",
        },
      ];
    });
  },
};
