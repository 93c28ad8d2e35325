// SET NOT NULL skips its scan (PostgreSQL 12+) when a validated CHECK (col IS NOT NULL) is on the
// table: one added earlier in the run is known from the files (known-schema.ts), one an applied
// migration added is on the target. With a database, the plan reads the validated checks of the
// tables that SET NOT NULL findings name and lints again knowing them, so the recipe the docs
// recommend, split across migrations, is not flagged. A NOT VALID check proves nothing until a
// VALIDATE CONSTRAINT of the run (known-schema.ts marks it validated then).
import { checkConstraints, type TargetCheck } from "../table-costs.js";
import type { LintFinding, LintOptions } from "./index.js";
import type { NotNullCheckOnTarget } from "./known-schema.js";

const SET_NOT_NULL_RULE = "adding-not-nullable-field";

/**
 * The findings, or, when a SET NOT NULL finding's table has a CHECK (col IS NOT NULL) on the target,
 * those of `relint` given them (validated or NOT VALID, as the catalog says). An unreadable catalog leaves the findings as they are.
 */
export async function exemptSetNotNullCheckedOnTarget(
  findings: LintFinding[],
  options: LintOptions,
  databaseUrl: string,
  relint: (options: LintOptions) => Promise<LintFinding[]> | LintFinding[],
): Promise<LintFinding[]> {
  const tables = findings.filter((f) => f.rule === SET_NOT_NULL_RULE && f.table && !f.ignored).map((f) => f.table!);
  if (tables.length === 0) return findings;
  const checks = await checkConstraints(databaseUrl, tables).catch(() => []);
  const notNullChecks = checks.flatMap(asNotNullCheck);
  return notNullChecks.length ? relint({ ...options, notNullChecks }) : findings;
}

function asNotNullCheck(check: TargetCheck): NotNullCheckOnTarget[] {
  const columns = notNullColumnsOf(check.definition);
  return columns.length ? [{ table: check.table, constraint: check.constraint, columns, validated: check.validated }] : [];
}

// How pg_get_constraintdef prints a column test: `(note IS NOT NULL)`, `("Note" IS NOT NULL)`.
const NOT_NULL_TEST = /^\(("(?:[^"]|"")+"|[a-z_][a-z0-9_$]*) IS NOT NULL\)$/;

/**
 * The columns a printed CHECK proves non-null: `CHECK ((a IS NOT NULL))`, or each such test joined
 * by AND at the top (`CHECK (((a IS NOT NULL) AND (b > 0)))` proves a), as known-schema.ts reads
 * the SQL. Anything it cannot read proves nothing, so the finding stays.
 */
export function notNullColumnsOf(definition: string): string[] {
  const body = /^CHECK \((.*)\)(?: NOT VALID)?$/.exec(definition)?.[1];
  if (!body) return [];
  const single = NOT_NULL_TEST.exec(body);
  if (single) return [unquote(single[1])];
  const conjunction = /^\((.*)\)$/.exec(body)?.[1];
  return (conjunction?.split(" AND ") ?? []).flatMap((part) => {
    const test = NOT_NULL_TEST.exec(part);
    return test ? [unquote(test[1])] : [];
  });
}

function unquote(identifier: string): string {
  return identifier.startsWith('"') ? identifier.slice(1, -1).replaceAll('""', '"') : identifier;
}
