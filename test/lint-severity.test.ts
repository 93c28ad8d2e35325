// Issue 16, severities: the `notice` severity, lint.small_table_rows on a real PostgreSQL, down files
// in the plan, and the whole Kratos migration history linted without a crash.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadRepoConfig } from "../src/config/repo-config.js";
import { lintDownFile } from "../src/database/lint/down-files.js";
import { countFindings, formatFinding } from "../src/database/lint/format.js";
import { DEFAULT_SMALL_TABLE_ROWS, ensureLintReady, LINT_RULES, lintMigration, validateLintConfig, type LintFinding } from "../src/database/lint/index.js";
import { downgradeSmallTableLocks } from "../src/database/lint/small-tables.js";
import { loadMigrationDirectory } from "../src/database/migration-files.js";
import { describeCost, tableCosts } from "../src/database/table-costs.js";
import { planMarkdown, renderPlan } from "../src/report/plan-report.js";
import { statusOf, type PlanReport } from "../src/runbooks/plan-outcome.js";
import { shopRepo } from "./harness/fixtures.js";
import { createTestDatabase, query, type TestDatabase } from "./harness/postgres.js";
import { Scenario } from "./harness/scenario.js";

before(() => ensureLintReady());

const lint = (sql: string) => lintMigration({ path: "migrations/0002_x.sql", sql, noTransaction: false });
const severityOf = (id: string) => LINT_RULES.find((r) => r.id === id)!.defaultSeverity;

function report(findings: LintFinding[], downFindings?: LintFinding[]): PlanReport {
  return { pending: [{ path: "migrations/0002_x.sql", version: "0002", name: "x" }], problems: [], findings, downFindings };
}

test("style and type advice are notices by default; data loss, runtime failures and broken clients stay errors; locks stay warnings", () => {
  for (const id of ["prefer-bigint-over-int", "prefer-identity", "prefer-text-field", "prefer-timestamptz", "prefer-robust-stmts", "ban-char-field"]) {
    assert.equal(severityOf(id), "notice", id);
  }
  for (const id of ["ban-drop-table", "ban-drop-column", "renaming-column", "renaming-table", "adding-required-field", "syntax-error", "transaction-nesting"]) {
    assert.equal(severityOf(id), "error", id);
  }
  for (const id of ["require-concurrent-index-creation", "changing-column-type", "adding-not-nullable-field", "constraint-missing-not-valid"]) {
    assert.equal(severityOf(id), "warning", id);
  }
  const findings = lint("create table t (id serial primary key, name varchar(20), at timestamp, code char(2));");
  assert.ok(findings.length >= 5);
  assert.ok(
    findings.every((f) => f.severity === "notice"),
    JSON.stringify(findings.map((f) => [f.rule, f.severity])),
  );
});

test("a plan with only notices succeeds; notices show with ℹ️, as notice annotations, and in the title", () => {
  const findings = lint("create table t (id integer primary key);");
  const outcome = { kind: "planned" as const, report: report(findings) };
  assert.equal(statusOf(outcome), "success");
  const rendered = renderPlan(outcome);
  assert.equal(rendered.conclusion, "success");
  assert.match(rendered.title, /1 notice/);
  assert.match(rendered.summary, /\| ℹ️ \| `prefer-bigint-over-int` \|/);
  assert.deepEqual(
    rendered.annotations?.map((a) => [a.title, a.level]),
    [["prefer-bigint-over-int", "notice"]],
  );
  const withWarning = report([...findings, ...lint("create index i on orders (a);")]);
  assert.equal(statusOf({ kind: "planned", report: withWarning }), "neutral");
});

test("rule config accepts notice, for any rule; the CLI counts notices apart and never fails on them", () => {
  const { rules, problems } = validateLintConfig({ rules: { "require-concurrent-index-creation": "notice", "prefer-text-field": "notise" } });
  assert.deepEqual(rules, { "require-concurrent-index-creation": "notice" });
  assert.equal(problems[0].key, "lint.rules.prefer-text-field");
  assert.match(problems[0].message, /severity must be error, warning, notice or off \(got "notise"\) \(did you mean notice\?\)/);
  const findings = lintMigration(
    { path: "m.sql", sql: "create index i on orders (a);", noTransaction: false },
    { rules: { "require-concurrent-index-creation": "notice" } },
  );
  assert.equal(findings[0].severity, "notice");
  assert.match(formatFinding(findings[0]), /^m\.sql:1: notice require-concurrent-index-creation: /);
  assert.deepEqual(countFindings(findings), { errors: 0, warnings: 0, notices: 1, ignored: 0 });
});

test("lint.small_table_rows: 10,000 by default, a whole number of rows or a problem naming the key", () => {
  assert.equal(loadRepoConfig("").config.lint.small_table_rows, DEFAULT_SMALL_TABLE_ROWS);
  assert.equal(DEFAULT_SMALL_TABLE_ROWS, 10_000);
  const set = loadRepoConfig("lint:\n  small_table_rows: 500\n  rules: { ban-drop-column: notice }\n");
  assert.deepEqual(set.config.lint, { rules: { "ban-drop-column": "notice" }, small_table_rows: 500, postgres_version: 15 });
  assert.deepEqual(set.warnings, []);
  for (const bad of ["-1", "1.5", "lots"]) {
    const loaded = loadRepoConfig(`lint:\n  small_table_rows: ${bad}\n`);
    assert.equal(loaded.config.lint.small_table_rows, DEFAULT_SMALL_TABLE_ROWS, bad);
    assert.deepEqual(
      loaded.warnings.map((w) => `${w.line}:${w.key}`),
      ["2:lint.small_table_rows"],
      bad,
    );
  }
  assert.match(loadRepoConfig("lint:\n  small_table_row: 5\n").warnings[0].message, /did you mean "small_table_rows"\?/);
});

describe("lint.small_table_rows on a real PostgreSQL", () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase("severity");
    await query(db.url, "create table orders (id bigint, total numeric, note text)");
    await query(db.url, "insert into orders select g, g, 'n' from generate_series(1, 120) g");
    await query(db.url, "create table events (id bigint, kind text)");
    await query(db.url, "insert into events select g, 'k' from generate_series(1, 20000) g");
    await query(db.url, "analyze orders; analyze events");
  });
  after(() => db?.drop());

  async function planFindings(sql: string, smallTableRows = DEFAULT_SMALL_TABLE_ROWS): Promise<LintFinding[]> {
    const findings = lint(sql);
    const costs = await tableCosts(
      db.url,
      findings.flatMap((f) => f.table ?? []),
    );
    const costed = findings.map((f) => {
      const cost = f.table ? costs.get(f.table) : undefined;
      return cost?.exists ? { ...f, cost: describeCost(cost, f.lock, f.rewrites) } : f;
    });
    return downgradeSmallTableLocks(costed, costs, smallTableRows);
  }

  test("a lock on a table estimated under lint.small_table_rows is a notice that says so (real PostgreSQL statistics)", async () => {
    const [small] = await planFindings("create index orders_total on orders (total);");
    assert.equal(small.rule, "require-concurrent-index-creation");
    assert.equal(small.severity, "notice");
    assert.equal(small.downgraded, "orders has ~120 rows: notice (under lint.small_table_rows 10,000)");
    const outcome = { kind: "planned" as const, report: report([small]) };
    assert.equal(statusOf(outcome), "success");
    assert.match(renderPlan(outcome).summary, /orders has ~120 rows: notice/);

    const [big] = await planFindings("create index events_kind on events (kind);");
    assert.equal(big.severity, "warning", "20,000 rows is not small");
    assert.equal(big.downgraded, undefined);
    const [raised] = await planFindings("create index events_kind on events (kind);", 50_000);
    assert.equal(raised.severity, "notice", "a higher threshold covers it");
    const [off] = await planFindings("create index orders_total on orders (total);", 0);
    assert.equal(off.severity, "warning", "0 turns the downgrade off");
  });

  test("a small table keeps the findings whose harm is not the lock, and a table not on the target is not downgraded", async () => {
    const findings = await planFindings(
      "alter table orders drop column note;\nalter table orders rename column total to amount;\nalter table orders add column region text not null;\ncreate index fresh_a on fresh (a);",
    );
    assert.deepEqual(
      findings.map((f) => [f.rule, f.severity]),
      [
        ["ban-drop-column", "error"],
        ["renaming-column", "error"],
        ["adding-required-field", "error"],
        ["require-concurrent-index-creation", "warning"],
      ],
    );
  });
});

test("down files: lock rules apply to rollbacks; what reverting is for is a notice", () => {
  const findings = lintDownFile({
    path: "migrations/0002_x.down.sql",
    sql: "drop index orders_total;\nalter table orders drop column region;\ndrop table audit_log;\nalter table orders rename column amount to total;",
  });
  assert.deepEqual(
    findings.map((f) => [f.rule, f.severity]),
    [
      ["require-concurrent-index-deletion", "warning"],
      ["ban-drop-column", "notice"],
      ["ban-drop-table", "notice"],
      ["renaming-column", "notice"],
    ],
  );
  assert.match(findings[1].downgraded!, /reverting what the up file did/);
  assert.equal(lintDownFile({ path: "d.down.sql", sql: "-- cannot be undone\n" })[0].severity, "notice");
  const inTransaction = lintDownFile({ path: "d.down.sql", sql: "-- autopilot:no-transaction\ndrop index concurrently i;\n" });
  assert.equal(inTransaction[0].rule, "ban-concurrent-index-creation-in-transaction", "rollback runs a down file in a transaction");
  assert.equal(inTransaction[0].severity, "error");
});

test("the plan reports down files in their own section; their errors count, their notices do not", () => {
  const up = lint("alter table orders add column region text;");
  const down = lintDownFile({ path: "migrations/0002_x.down.sql", sql: "alter table orders drop column region;\ndrop index orders_region;" });
  const markdown = planMarkdown(report(up, down));
  assert.match(markdown, /### Lint\n\n✅ No findings\.\n\n### Down files\n\nWhat rolling back would do/);
  assert.match(markdown, /\| ℹ️ \| `ban-drop-column` \| `migrations\/0002_x\.down\.sql:1` \|/);
  assert.match(markdown, /\| ⚠️ \| `require-concurrent-index-deletion` \| `migrations\/0002_x\.down\.sql:2` \|/);
  assert.equal(statusOf({ kind: "planned", report: report(up, down) }), "neutral");
  assert.equal(statusOf({ kind: "planned", report: report(up, lintDownFile({ path: "d.down.sql", sql: "selec 1;" })) }), "failure");
  assert.match(planMarkdown(report(up, [])), /### Down files\n\n.*\n\n✅ No findings\./);
  assert.doesNotMatch(planMarkdown(report(up)), /Down files/);
  const annotations = renderPlan({ kind: "planned", report: report(up, down) }).annotations!;
  assert.ok(annotations.some((a) => a.path === "migrations/0002_x.down.sql" && a.level === "warning"));
});

test("the whole Kratos migration history lints without a crash, every finding under a known rule id", async () => {
  const { files } = await loadMigrationDirectory("fixtures/kratos-migrations");
  assert.ok(files.length >= 340, `${files.length} files`);
  const known = new Set(LINT_RULES.map((r) => r.id));
  const findings = files.flatMap((f) => [
    ...lintMigration({ path: f.path, sql: f.sql, noTransaction: f.directives.noTransaction }),
    ...(f.down ? lintDownFile(f.down) : []),
  ]);
  assert.ok(files.filter((f) => f.down).length >= 340);
  assert.ok(findings.length > 0);
  for (const finding of findings) {
    assert.ok(known.has(finding.rule), finding.rule);
    assert.ok(["error", "warning", "notice"].includes(finding.severity));
    assert.ok(finding.line >= 1, `${finding.path}:${finding.line}`);
  }
  assert.ok(
    findings.filter((f) => f.rule.startsWith("prefer-")).every((f) => f.severity === "notice"),
    "style advice never changes a conclusion",
  );
});

test("autopilot plan --lint lints down files too, notices apart, and exits 0 on notices alone", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "autopilot-lint-severity-"));
  mkdirSync(path.join(dir, "migrations"));
  writeFileSync(path.join(dir, "migrations/0001_users.sql"), "create table users (id bigint, name varchar(80));\n");
  writeFileSync(path.join(dir, "migrations/0001_users.down.sql"), "drop table users;\n");
  const bin = fileURLToPath(new URL("../bin/autopilot.js", import.meta.url));
  const env = { ...process.env };
  delete env.AUTOPILOT_DATABASE_URL;
  const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) =>
    execFile(process.execPath, [bin, "plan", "--lint", "--dir", "migrations"], { cwd: dir, env }, (error, out) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout: out }),
    ),
  );
  assert.equal(code, 0, stdout);
  assert.match(
    stdout,
    /^migrations\/0001_users\.down\.sql:1: notice ban-drop-table: drops table users \(reverting what the up file did: a notice in a down file\)$/m,
  );
  assert.match(stdout, /Lint: 0 error\(s\), 0 warning\(s\), 2 notice\(s\) in 1 file\(s\)\./);
});

describe("the plan on a pull request, end to end", () => {
  let s: Scenario;
  before(async () => {
    s = await Scenario.start();
    const sha = await s.push(shopRepo(["0001_init.sql", "0002_orders.sql"]));
    assert.equal((await s.completedCheckRun(sha)).conclusion, "success");
    await s.targetQuery("analyze orders");
  });
  after(() => s.stop());

  test("a lock on the small orders table is a notice naming its rows; the down file is linted in its own section", async () => {
    const sha = await s.pullRequest(21, {
      "migrations/0003_total_idx.sql": "create index orders_total on orders (total_cents);\n",
      "migrations/0003_total_idx.down.sql": "drop index orders_total;\n",
    });
    const run = await s.completedPlan(sha);
    const summary = run.output.summary!;
    assert.match(
      summary,
      /\| ℹ️ \| `require-concurrent-index-creation` \| `migrations\/0003_total_idx\.sql:1` \|.*orders has ~\d+ rows: notice \(under lint\.small_table_rows 10,000\)/,
    );
    assert.match(summary, /### Down files[\s\S]*`require-concurrent-index-deletion` \| `migrations\/0003_total_idx\.down\.sql:1`/);
    assert.equal(run.conclusion, "neutral", "the down file's DROP INDEX names no table to measure: it stays a warning");
    assert.ok(run.output.annotations.some((a) => a.path === "migrations/0003_total_idx.sql" && a.annotation_level === "notice"));
  });
});
