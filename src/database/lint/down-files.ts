// Down files are linted like any migration: a rollback takes the same locks, often during an
// incident, when a blocked table hurts most. What reverting is for (dropping what the up file
// created, renaming back) is only a notice there, as is an empty down file (a migration that cannot
// be undone, said so): flagging them would fail or cloud every plan that ships a rollback.
import { lintMigration, type LintFinding, type LintInput, type LintOptions } from "./index.js";

const DOWN_FILE_NOTICES: ReadonlyMap<string, string> = new Map([
  ["ban-drop-table", "reverting what the up file did: a notice in a down file"],
  ["ban-drop-column", "reverting what the up file did: a notice in a down file"],
  ["renaming-column", "reverting what the up file did: a notice in a down file"],
  ["renaming-table", "reverting what the up file did: a notice in a down file"],
  ["empty-migration", "a rollback that changes nothing: a notice in a down file"],
]);

/** A down file runs in one transaction with its history update (see database/rollback.ts), whatever its directives. */
export function lintDownFile(down: { path: string; sql: string }, options: LintOptions = {}): LintFinding[] {
  return asDownFileFindings(lintMigration(downFileInput(down), options));
}

export function downFileInput(down: { path: string; sql: string }): LintInput {
  return { path: down.path, sql: down.sql, noTransaction: false };
}

/** A down file's findings, from linting it as downFileInput: reverting is only a notice. */
export function asDownFileFindings(findings: LintFinding[]): LintFinding[] {
  return findings.map((finding) => {
    const downgraded = DOWN_FILE_NOTICES.get(finding.rule);
    return downgraded && finding.severity !== "notice" ? { ...finding, severity: "notice", downgraded } : finding;
  });
}
