// The lint rules' identities: stable ids, default severities, and the one-line reason and safer
// alternative each finding carries. Kept apart from the rule code (and from the WebAssembly parser)
// so that directives and config validation can check rule ids without loading the parser.
import { closest } from "../../did-you-mean.js";

export type FindingSeverity = "error" | "warning" | "notice";
export type RuleSeverity = FindingSeverity | "off";

export interface LintRuleInfo {
  id: string;
  defaultSeverity: FindingSeverity;
  why: string;
  instead: string;
}

// Severities: data loss, and what fails at runtime (or breaks the running application), is an error;
// locks and rewrites are warnings, which a team may raise in its config; style and type advice are
// notices, shown in the plan but never changing its conclusion.
export const LINT_RULES: ReadonlyArray<LintRuleInfo> = [
  {
    id: "syntax-error",
    defaultSeverity: "error",
    why: "PostgreSQL cannot parse the file, so it would fail when applied.",
    instead: "Fix the SQL at the reported position.",
  },
  {
    id: "syntax-newer-than-target",
    defaultSeverity: "error",
    why: "The target's PostgreSQL version cannot parse this syntax, so the file would fail when applied there.",
    instead: "Write it with what the target's version has, or upgrade the target first (lint.postgres_version sets the version when the plan has no database).",
  },
  {
    id: "empty-migration",
    defaultSeverity: "warning",
    why: "The file has no statement: it would be recorded as applied without changing anything.",
    instead: "Add the statements, or delete the file.",
  },
  {
    id: "ban-drop-table",
    defaultSeverity: "error",
    why: "Dropping a table loses its data, and the running application may still use it.",
    instead: "Stop using the table in a release first; drop it in a later migration once nothing reads it, after a backup.",
  },
  {
    id: "ban-drop-column",
    defaultSeverity: "error",
    why: "Dropping a column loses its data and breaks application code that still selects or writes it.",
    instead: "Stop using the column in a release first; drop it in a later migration.",
  },
  {
    id: "ban-drop-database",
    defaultSeverity: "error",
    why: "Dropping a database loses everything in it.",
    instead: "Drop databases by hand, never from a migration.",
  },
  {
    id: "renaming-column",
    defaultSeverity: "error",
    why: "The application version that is running still uses the old name, and fails until it is redeployed.",
    instead: "Add the new column, write to both, backfill, switch reads, then drop the old column in a later migration.",
  },
  {
    id: "renaming-table",
    defaultSeverity: "error",
    why: "The application version that is running still uses the old name, and fails until it is redeployed.",
    instead: "Create the new table (or a view under the new name), migrate the code, then drop the old name later.",
  },
  {
    id: "adding-required-field",
    defaultSeverity: "error",
    why: "Adding a NOT NULL column without a default fails on a table that has rows.",
    instead: "Add the column with a DEFAULT, or add it nullable, backfill, then set NOT NULL.",
  },
  {
    id: "adding-not-nullable-field",
    defaultSeverity: "warning",
    why: "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock, blocking reads and writes.",
    instead: "ADD CONSTRAINT … CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, then SET NOT NULL (PostgreSQL 12+ uses the check) and drop the check.",
  },
  {
    id: "changing-column-type",
    defaultSeverity: "warning",
    why: "Changing a column's type usually rewrites the table and its indexes under an ACCESS EXCLUSIVE lock.",
    instead: "Add a column of the new type, backfill it in batches, switch the code, then drop the old column.",
  },
  {
    id: "require-concurrent-index-creation",
    defaultSeverity: "warning",
    why: "CREATE INDEX without CONCURRENTLY blocks writes to the table (SHARE lock) while it builds.",
    instead: "CREATE INDEX CONCURRENTLY, in a file that starts with -- autopilot:no-transaction.",
  },
  {
    id: "require-concurrent-index-deletion",
    defaultSeverity: "warning",
    why: "DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the table, blocking reads and writes.",
    instead: "DROP INDEX CONCURRENTLY, in a file that starts with -- autopilot:no-transaction.",
  },
  {
    id: "ban-concurrent-index-creation-in-transaction",
    defaultSeverity: "error",
    why: "CONCURRENTLY cannot run inside a transaction block: PostgreSQL refuses the statement.",
    instead: "Put the statement in its own file whose first line is -- autopilot:no-transaction, outside any BEGIN … COMMIT.",
  },
  {
    id: "constraint-missing-not-valid",
    defaultSeverity: "warning",
    why: "Adding a CHECK or FOREIGN KEY constraint validates every row while holding a lock that blocks writes.",
    instead: "ADD CONSTRAINT … NOT VALID, then VALIDATE CONSTRAINT in a later statement (it takes a weaker lock).",
  },
  {
    id: "adding-foreign-key-constraint",
    defaultSeverity: "warning",
    why: "A REFERENCES clause on a new column validates it at once, under a SHARE ROW EXCLUSIVE lock on both tables; it cannot be NOT VALID.",
    instead: "Add the column without REFERENCES, then ADD CONSTRAINT … FOREIGN KEY … NOT VALID, then VALIDATE CONSTRAINT.",
  },
  {
    id: "disallowed-unique-constraint",
    defaultSeverity: "warning",
    why: "Adding a UNIQUE constraint builds its index under an ACCESS EXCLUSIVE lock, blocking reads and writes.",
    instead: "CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT … UNIQUE USING INDEX.",
  },
  {
    id: "adding-serial-primary-key-field",
    defaultSeverity: "warning",
    why: "Adding a primary key to an existing table builds its index under an ACCESS EXCLUSIVE lock (and a serial column rewrites the table).",
    instead: "CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT … PRIMARY KEY USING INDEX.",
  },
  {
    id: "prefer-bigint-over-int",
    defaultSeverity: "notice",
    why: "integer and smallint columns run out (2^31 or 2^15), and widening them later rewrites the table.",
    instead: "Use bigint (or bigint GENERATED ALWAYS AS IDENTITY for ids).",
  },
  {
    id: "prefer-identity",
    defaultSeverity: "notice",
    why: "serial creates a loosely attached sequence with odd permissions and dump behaviour; identity columns are the SQL standard.",
    instead: "bigint GENERATED ALWAYS AS IDENTITY (or BY DEFAULT).",
  },
  {
    id: "prefer-text-field",
    defaultSeverity: "notice",
    why: "Raising a varchar(n) limit later needs an ACCESS EXCLUSIVE lock; varchar(n) is no faster than text.",
    instead: "Use text, with a CHECK (char_length(col) <= n) constraint if the limit matters.",
  },
  {
    id: "prefer-timestamptz",
    defaultSeverity: "notice",
    why: "timestamp without time zone drops the offset, so values depend on the session's time zone.",
    instead: "Use timestamptz (timestamp with time zone).",
  },
  {
    id: "ban-char-field",
    defaultSeverity: "notice",
    why: "char(n) pads with spaces, compares surprisingly, and is no faster than text.",
    instead: "Use text (or varchar), with a CHECK constraint if the length matters.",
  },
  {
    id: "ban-truncate-cascade",
    defaultSeverity: "error",
    why: "TRUNCATE … CASCADE also empties every table with a foreign key to it, possibly many more than intended.",
    instead: "TRUNCATE the tables you mean, each named explicitly.",
  },
  {
    id: "transaction-nesting",
    defaultSeverity: "error",
    why: "Autopilot runs this file in a transaction; a COMMIT or ROLLBACK inside ends it early and breaks all-or-nothing. In a no-transaction file, a BEGIN inside a BEGIN does not nest (the next COMMIT ends both), and a COMMIT with no transaction open does nothing.",
    instead: "Remove BEGIN/COMMIT/ROLLBACK, or start the file with -- autopilot:no-transaction and manage transactions yourself, one BEGIN to each COMMIT.",
  },
  {
    id: "ban-uncommitted-transaction",
    defaultSeverity: "error",
    why: "A BEGIN without COMMIT leaves the session in an open transaction, and its work is rolled back when the connection closes.",
    instead: "End every BEGIN with COMMIT in the same file.",
  },
  {
    id: "identifier-too-long",
    defaultSeverity: "warning",
    why: "PostgreSQL silently truncates identifiers to 63 bytes, so the object gets a different name than written (and two names may collide).",
    instead: "Use a name of at most 63 bytes.",
  },
  {
    id: "prefer-robust-stmts",
    defaultSeverity: "notice",
    why: "A no-transaction file that fails half-way keeps its first statements; re-running it then fails on objects that already exist (or are already gone).",
    instead:
      "Use CREATE … IF NOT EXISTS, DROP … IF EXISTS, ADD COLUMN IF NOT EXISTS, DROP COLUMN IF EXISTS, DROP CONSTRAINT IF EXISTS; precede ADD CONSTRAINT c with DROP CONSTRAINT IF EXISTS c.",
  },
  {
    id: "validate-constraint-in-same-transaction",
    defaultSeverity: "warning",
    why: "VALIDATE in the transaction that added the constraint NOT VALID keeps the ADD CONSTRAINT lock (ACCESS EXCLUSIVE for a CHECK, SHARE ROW EXCLUSIVE on both tables for a foreign key) through the whole validation scan, so NOT VALID gains nothing.",
    instead: "Move the VALIDATE CONSTRAINT to its own, later migration: it then takes only a SHARE UPDATE EXCLUSIVE lock, which lets reads and writes go on.",
  },
  {
    id: "adding-field-with-default",
    defaultSeverity: "warning",
    why: "A new column with a volatile default (random(), gen_random_uuid(), clock_timestamp(), a user function), or a GENERATED … STORED, identity or serial column, is written into every row: a table rewrite under an ACCESS EXCLUSIVE lock. Constant and stable defaults such as now() are not.",
    instead:
      "Add the column without the default (or with a constant one), set the default in a later statement, and backfill existing rows in batches; compute a generated value in the application or a trigger.",
  },
  {
    id: "require-concurrent-reindex",
    defaultSeverity: "warning",
    why: "REINDEX without CONCURRENTLY blocks writes to the table (SHARE lock), and reads that use the index (ACCESS EXCLUSIVE on it), while it rebuilds.",
    instead: "REINDEX … CONCURRENTLY (PostgreSQL 12+), in a file that starts with -- autopilot:no-transaction.",
  },
  {
    id: "require-concurrent-detach-partition",
    defaultSeverity: "warning",
    why: "DETACH PARTITION without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the partitioned table, blocking reads and writes of every partition.",
    instead: "DETACH PARTITION … CONCURRENTLY (PostgreSQL 14+; not with a default partition), in a file that starts with -- autopilot:no-transaction.",
  },
  {
    id: "dropping-not-null",
    defaultSeverity: "warning",
    why: "Once NULLs can be written, the application version that is still running (and other readers) may read a NULL where it assumes a value.",
    instead: "Release code that handles NULL in that column first, then drop NOT NULL in a later migration.",
  },
  {
    id: "ban-alter-domain-with-add-constraint",
    defaultSeverity: "warning",
    why: "ALTER DOMAIN … ADD CONSTRAINT checks every column of every table that uses the domain, holding a SHARE lock on each table that blocks writes.",
    instead:
      "ADD CONSTRAINT … NOT VALID (new values are checked at once), then VALIDATE CONSTRAINT in a later migration at a quiet time; or put a CHECK constraint on the columns, added NOT VALID.",
  },
];

const RULES_BY_ID = new Map(LINT_RULES.map((rule) => [rule.id, rule]));

/** Names other linters use for the same checks, so ignores and configs written for them keep working. */
const RULE_ALIASES: Readonly<Record<string, string>> = {
  "adding-index-non-concurrently": "require-concurrent-index-creation",
  "prefer-big-int": "prefer-bigint-over-int",
  "prefer-bigint-over-smallint": "prefer-bigint-over-int",
};

export function ruleInfo(id: string): LintRuleInfo {
  const rule = RULES_BY_ID.get(id);
  if (!rule) throw new Error(`unknown lint rule ${id}`);
  return rule;
}

/** The canonical id of a rule name (an id or an alias), or undefined when it names no rule. */
export function resolveRuleId(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (RULES_BY_ID.has(lower)) return lower;
  return RULE_ALIASES[lower];
}

/** "did you mean …" for a mistyped rule id: the closest id within a few edits, if any. */
export function closestRuleId(name: string): string | undefined {
  return closest(name.toLowerCase(), [...RULES_BY_ID.keys(), ...Object.keys(RULE_ALIASES)], 4);
}

export function unknownRuleMessage(name: string): string {
  const guess = closestRuleId(name);
  return `unknown lint rule "${name}"${guess ? ` (did you mean ${resolveRuleId(guess)}?)` : ""}`;
}
