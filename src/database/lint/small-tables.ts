// With a database, the plan knows how big each locked table is. A lock on a table of a few thousand
// rows is over before anyone waits on it, so below `lint.small_table_rows` estimated rows a lock
// finding becomes a notice, and says so. Findings whose harm is not the lock (lost data, clients
// broken by a rename, a NOT NULL column that fails on existing rows) keep their severity.
import type { TableCost } from "../table-costs.js";
import type { LintFinding } from "./index.js";

const HARM_IS_NOT_THE_LOCK: ReadonlySet<string> = new Set([
  "ban-drop-table",
  "ban-drop-column",
  "ban-drop-database",
  "ban-truncate-cascade",
  "renaming-column",
  "renaming-table",
  "adding-required-field",
  // Readers that assume a value break whatever the table's size.
  "dropping-not-null",
]);

/** Lock findings on existing tables estimated under `smallTableRows` rows, as notices naming the estimate. */
export function downgradeSmallTableLocks<F extends LintFinding>(findings: F[], costs: Map<string, TableCost>, smallTableRows: number): F[] {
  return findings.map((finding) => {
    const cost = finding.table ? costs.get(finding.table) : undefined;
    if (!cost?.exists || cost.rows >= smallTableRows || finding.severity === "notice") return finding;
    if (!(finding.lock || finding.rewrites) || HARM_IS_NOT_THE_LOCK.has(finding.rule)) return finding;
    const rows = Math.round(cost.rows).toLocaleString("en-US");
    return {
      ...finding,
      severity: "notice",
      downgraded: `${cost.table} has ~${rows} rows: notice (under lint.small_table_rows ${smallTableRows.toLocaleString("en-US")})`,
    };
  });
}
