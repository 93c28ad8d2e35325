// Down files are linted like any migration: a rollback takes the same locks, often during an
// incident, when a blocked table hurts most. What reverting is for (dropping what the up file
// created, renaming back) is only a notice there: flagging it as data loss would fail every plan
// that ships a rollback.
import { lintMigration, type LintFinding, type LintOptions } from "./index.js";

const REVERTING_RULES: ReadonlySet<string> = new Set(["ban-drop-table", "ban-drop-column", "renaming-column", "renaming-table"]);

/** A down file runs in one transaction with its history update (see database/rollback.ts), whatever its directives. */
export function lintDownFile(down: { path: string; sql: string }, options: LintOptions = {}): LintFinding[] {
  return lintMigration({ path: down.path, sql: down.sql, noTransaction: false }, options).map((finding) =>
    REVERTING_RULES.has(finding.rule) && finding.severity !== "notice"
      ? { ...finding, severity: "notice", downgraded: "reverting what the up file did: a notice in a down file" }
      : finding,
  );
}
