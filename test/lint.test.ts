import { before, test } from "node:test";
import assert from "node:assert/strict";
import { parseDirectives } from "../src/database/directives.js";
import {
  ensureLintReady,
  findTransactionControl,
  LINT_RULES,
  lintMigration,
  validateLintConfig,
  type LintFinding,
  type LintOptions,
} from "../src/database/lint/index.js";

before(() => ensureLintReady({ postgresVersion: 15 }));

const NT = "-- autopilot:no-transaction\n";
const lint = (sql: string, options: LintOptions & { noTransaction?: boolean } = {}) =>
  lintMigration({ path: "migrations/0002_x.sql", sql, noTransaction: options.noTransaction ?? sql.startsWith(NT) }, options);
const only = (findings: LintFinding[], rule: string) => findings.filter((f) => f.rule === rule);

interface RuleCase {
  rule: string;
  fires: string;
  line: number;
  table?: string;
  quiet: string;
  /** For rules that need one: syntax-newer-than-target needs the target's version. */
  options?: LintOptions;
}

// For every rule: SQL that fires it (at `line`, on `table`) and close SQL that does not.
const CASES: RuleCase[] = [
  { rule: "syntax-error", fires: "select 1;\ncreate tabel x (id bigint);", line: 2, quiet: "select 1;" },
  {
    rule: "syntax-newer-than-target",
    fires: "select 1;\nselect '{}' is json;",
    line: 2,
    quiet: "select 1;\nselect '{}'::json;",
    options: { postgresVersion: 15 },
  },
  { rule: "empty-migration", fires: "-- nothing yet\n", line: 1, quiet: "select 1;" },
  {
    rule: "ban-drop-table",
    fires: "select 1;\nDROP TABLE public.orders;",
    line: 2,
    table: "public.orders",
    quiet: "create table t (id bigint);\ndrop table t;",
  },
  { rule: "ban-drop-column", fires: "alter table orders drop column total;", line: 1, table: "orders", quiet: "alter table orders add column note text;" },
  { rule: "ban-drop-database", fires: "drop database shop;", line: 1, quiet: "drop schema if exists scratch;" },
  {
    rule: "renaming-column",
    fires: "\n\nalter table orders rename column total to amount;",
    line: 3,
    table: "orders",
    quiet: "alter table orders rename constraint a to b;",
  },
  {
    rule: "renaming-table",
    fires: "alter table orders rename to purchases;",
    line: 1,
    table: "orders",
    quiet: "alter index orders_idx rename to orders_idx2;",
  },
  {
    rule: "adding-required-field",
    fires: "alter table orders add column region text not null;",
    line: 1,
    table: "orders",
    quiet: "alter table orders add column region text not null default 'eu';",
  },
  {
    rule: "adding-not-nullable-field",
    fires: "alter table orders alter column region set not null;",
    line: 1,
    table: "orders",
    quiet: "alter table orders alter column region drop not null;",
  },
  {
    rule: "changing-column-type",
    fires: "alter table orders alter column total type numeric(14,2);",
    line: 1,
    table: "orders",
    quiet: "alter table orders alter column total set default 0;",
  },
  {
    rule: "require-concurrent-index-creation",
    fires: "create index orders_total_idx on orders (total);",
    line: 1,
    table: "orders",
    quiet: `${NT}create index concurrently if not exists orders_total_idx on orders (total);`,
  },
  {
    rule: "require-concurrent-index-deletion",
    fires: "drop index orders_total_idx;",
    line: 1,
    quiet: `${NT}drop index concurrently if exists orders_total_idx;`,
  },
  {
    rule: "ban-concurrent-index-creation-in-transaction",
    fires: "create index concurrently orders_total_idx on orders (total);",
    line: 1,
    table: "orders",
    quiet: `${NT}create index concurrently if not exists orders_total_idx on orders (total);`,
  },
  {
    rule: "constraint-missing-not-valid",
    fires: "alter table orders add constraint positive check (total > 0);",
    line: 1,
    table: "orders",
    quiet: "alter table orders add constraint positive check (total > 0) not valid;",
  },
  {
    rule: "adding-foreign-key-constraint",
    fires: "alter table orders add column customer_id bigint references customers (id);",
    line: 1,
    table: "orders",
    quiet: "alter table orders add constraint fk foreign key (customer_id) references customers (id) not valid;",
  },
  {
    rule: "disallowed-unique-constraint",
    fires: "alter table orders add constraint orders_ref_key unique (ref);",
    line: 1,
    table: "orders",
    quiet: "alter table orders add constraint orders_ref_key unique using index orders_ref_idx;",
  },
  {
    rule: "adding-serial-primary-key-field",
    fires: "alter table orders add column id bigserial primary key;",
    line: 1,
    table: "orders",
    quiet: "alter table orders add constraint orders_pkey primary key using index orders_id_idx;",
  },
  { rule: "prefer-bigint-over-int", fires: "create table t (\n  id bigint,\n  n integer\n);", line: 3, quiet: "create table t (id bigint, n bigint);" },
  {
    rule: "prefer-identity",
    fires: "create table t (id bigserial primary key);",
    line: 1,
    quiet: "create table t (id bigint generated always as identity primary key);",
  },
  { rule: "prefer-text-field", fires: "create table t (name varchar(40));", line: 1, quiet: "create table t (name text, code varchar);" },
  { rule: "prefer-timestamptz", fires: "create table t (at timestamp);", line: 1, quiet: "create table t (at timestamptz, t2 timestamp with time zone);" },
  { rule: "ban-char-field", fires: "create table t (code char(3));", line: 1, quiet: 'create table t (code text, flag "char");' },
  { rule: "ban-truncate-cascade", fires: "truncate orders cascade;", line: 1, table: "orders", quiet: "truncate orders;" },
  { rule: "transaction-nesting", fires: "select 1;\ncommit;", line: 2, quiet: `${NT}begin;\nselect 1;\ncommit;` },
  { rule: "ban-uncommitted-transaction", fires: `${NT}select 1;\nbegin;\nselect 2;`, line: 3, quiet: `${NT}begin;\nselect 2;\ncommit;` },
  { rule: "identifier-too-long", fires: `create table t (${"a".repeat(64)} bigint);`, line: 1, quiet: `create table t (${"a".repeat(63)} bigint);` },
  { rule: "prefer-robust-stmts", fires: `${NT}create index concurrently orders_total_idx on orders (total);`, line: 2, quiet: "create table t (id bigint);" },
  {
    rule: "validate-constraint-in-same-transaction",
    fires: "alter table orders add constraint positive check (total > 0) not valid;\nalter table orders validate constraint positive;",
    line: 2,
    table: "orders",
    quiet: "alter table orders validate constraint positive;",
  },
  {
    rule: "adding-field-with-default",
    fires: "alter table orders add column token uuid default gen_random_uuid();",
    line: 1,
    table: "orders",
    quiet: "alter table orders add column created_at timestamptz default now();",
  },
  { rule: "require-concurrent-reindex", fires: "reindex index orders_total_idx;", line: 1, quiet: `${NT}reindex index concurrently orders_total_idx;` },
  {
    rule: "require-concurrent-detach-partition",
    fires: "alter table events detach partition events_2024;",
    line: 1,
    table: "events",
    quiet: `${NT}alter table events detach partition events_2024 concurrently;`,
  },
  {
    rule: "dropping-not-null",
    fires: "alter table orders alter column region drop not null;",
    line: 1,
    table: "orders",
    quiet: "alter table orders alter column region set default 'eu';",
  },
  {
    rule: "ban-alter-domain-with-add-constraint",
    fires: "alter domain positive_amount add constraint above_zero check (value > 0);",
    line: 1,
    quiet: "alter domain positive_amount add constraint above_zero check (value > 0) not valid;",
  },
];

test("every rule has a firing and a quiet example", () => {
  assert.deepEqual(new Set(CASES.map((c) => c.rule)), new Set(LINT_RULES.map((r) => r.id)));
});

for (const c of CASES) {
  test(`${c.rule}: fires at its line, and not on the safe variant`, () => {
    const [finding, ...rest] = only(lint(c.fires, c.options), c.rule);
    assert.ok(finding, `${c.rule} did not fire on: ${c.fires}`);
    assert.equal(rest.length, 0);
    assert.equal(finding.line, c.line);
    assert.equal(finding.severity, LINT_RULES.find((r) => r.id === c.rule)!.defaultSeverity);
    if (c.table) assert.equal(finding.table, c.table);
    assert.ok(finding.message && finding.why && finding.instead);
    assert.deepEqual(only(lint(c.quiet, c.options), c.rule), [], `${c.rule} fired on: ${c.quiet}`);
  });
}

test("a finding names what the statement does, the lock it takes, and whether it rewrites", () => {
  const [finding] = only(lint("alter table shop.orders alter column total type bigint;"), "changing-column-type");
  assert.equal(finding.message, "changes the type of shop.orders.total to bigint");
  assert.equal(finding.table, "shop.orders");
  assert.equal(finding.lock, "ACCESS EXCLUSIVE");
  assert.equal(finding.rewrites, true);
  assert.equal(only(lint("alter table orders drop column total;"), "ban-drop-column")[0].message, "drops column orders.total");
});

test("lines and columns count characters past multibyte text (the parser counts bytes)", () => {
  const sql = "-- créé par l'équipe 日本\ninsert into t values ('😀😀😀');\n/* ünïcödé */ drop table ünïcödé;\n  alter table x add column y varchar(9);";
  const findings = lint(sql);
  const drop = only(findings, "ban-drop-table")[0];
  assert.deepEqual([drop.line, drop.column, drop.table], [3, 15, "ünïcödé"]);
  const varchar = only(findings, "prefer-text-field")[0];
  assert.deepEqual([varchar.line, varchar.column], [4, 28]);
});

test("syntax error: PostgreSQL's message at its line and column, past multibyte text", () => {
  const findings = lint("select 'ééé';\n-- 日本語\nselect 'ü' frm orders;");
  assert.equal(findings.length, 1);
  assert.deepEqual(
    { rule: findings[0].rule, severity: findings[0].severity, line: findings[0].line, column: findings[0].column, message: findings[0].message },
    { rule: "syntax-error", severity: "error", line: 3, column: 16, message: 'syntax error at or near "orders"' },
  );
  assert.match(lint("select 'unterminated;")[0].message, /unterminated quoted string/);
});

test("the statement's line is its first token's, not the comments before it", () => {
  const findings = lint("select 1;\n\n-- why we drop it\n/* more\n   words */\n\n   drop table orders;");
  assert.deepEqual([findings[0].line, findings[0].column], [7, 4]);
});

test("severity overrides: raise, lower, switch off; syntax errors stay errors", () => {
  const sql = "create table t (id int);\nalter table orders drop column total;";
  const findings = lint(sql, { rules: { "prefer-bigint-over-int": "error", "ban-drop-column": "warning" } });
  assert.equal(only(findings, "prefer-bigint-over-int")[0].severity, "error");
  assert.equal(only(findings, "ban-drop-column")[0].severity, "warning");
  assert.deepEqual(only(lint(sql, { rules: { "ban-drop-column": "off" } }), "ban-drop-column"), []);
  assert.equal(lint("selec 1;", { rules: { "syntax-error": "off" } })[0].severity, "error");
});

test("transaction-nesting cannot be switched off or ignored: the migrator refuses such a file anyway", () => {
  const sql = "create table t (id bigint);\n-- autopilot:ignore transaction-nesting we know\ncommit;";
  const [finding] = only(lint(sql, { rules: { "transaction-nesting": "off" } }), "transaction-nesting");
  assert.equal(finding.severity, "error");
  assert.equal(finding.line, 3);
  assert.equal(finding.ignored, undefined);
});

test("findTransactionControl: the statements that would end the migrator's transaction, none for a file that does not parse", async () => {
  const found = await findTransactionControl({
    path: "migrations/0003_t.sql",
    sql: "select 1;\n-- autopilot:ignore transaction-nesting no\nabort;\nsavepoint s;",
  });
  assert.deepEqual(
    found.map((f) => [f.rule, f.line, f.path, f.message]),
    [["transaction-nesting", 3, "migrations/0003_t.sql", "ROLLBACK inside a file that Autopilot already runs in a transaction"]],
  );
  assert.deepEqual(await findTransactionControl({ path: "x.sql", sql: "select 'commit';" }), []);
  assert.deepEqual(await findTransactionControl({ path: "x.sql", sql: "commit; selec 1;" }), [], "PostgreSQL reports the syntax error when the file runs");
});

test("ignore directly above a statement silences that rule for that statement only, with its reason", () => {
  const sql = [
    "alter table a add column n text;",
    "-- archived into cold storage first",
    "-- autopilot:ignore ban-drop-table archived in ticket OPS-12",
    "drop table old_orders;",
    "drop table other_orders;",
  ].join("\n");
  const [ignored, counted] = only(lint(sql), "ban-drop-table");
  assert.deepEqual(ignored.ignored, { reason: "archived in ticket OPS-12", line: 3 });
  assert.equal(ignored.table, "old_orders");
  assert.equal(counted.ignored, undefined);
  assert.equal(counted.table, "other_orders");
});

test("ignore names one rule: the statement's other findings stay; a blank line detaches it", () => {
  const sql =
    "select 1;\n-- autopilot:ignore ban-drop-column we never read it\nalter table orders drop column total, alter column id type bigint;\n-- autopilot:ignore ban-drop-table reason\n\ndrop table x;";
  const findings = lint(sql);
  assert.ok(only(findings, "ban-drop-column")[0].ignored);
  assert.equal(only(findings, "changing-column-type")[0].ignored, undefined);
  assert.equal(only(findings, "ban-drop-table")[0].ignored, undefined);
});

test("ignore in the file's leading comment block covers the whole file", () => {
  const sql = "-- autopilot:ignore prefer-bigint-over-int legacy ids are int everywhere\n\ncreate table a (id int);\ncreate table b (id int);";
  const findings = only(lint(sql), "prefer-bigint-over-int");
  assert.equal(findings.length, 2);
  for (const f of findings) assert.deepEqual(f.ignored, { reason: "legacy ids are int everywhere", line: 1 });
});

test("ignore above an offending line inside a statement", () => {
  const sql = "create table t (\n  id bigint,\n  -- autopilot:ignore prefer-text-field the partner API caps it\n  code varchar(8)\n);";
  assert.ok(only(lint(sql), "prefer-text-field")[0].ignored);
});

test("tables created in the same file are exempt from the lock rules", () => {
  const sql = [
    "create table public.orders (id bigint generated always as identity primary key, total numeric);",
    "alter table orders add column region text not null;",
    "alter table orders alter column total set not null, alter column total type numeric(14,2);",
    "alter table orders add constraint positive check (total > 0), add constraint u unique (region);",
    "alter table orders add column customer_id bigint references customers (id);",
    "create index orders_region_idx on orders (region);",
    "drop index orders_region_idx;",
    "alter table orders drop column region;",
  ].join("\n");
  assert.deepEqual(
    lint(sql).map((f) => f.rule),
    [],
  );
  // the same statements on a table the file did not create all fire
  const existing = lint(sql.replace("create table public.orders", "create table public.invoices"));
  assert.deepEqual([...new Set(existing.map((f) => f.rule))].sort(), [
    "adding-foreign-key-constraint",
    "adding-not-nullable-field",
    "adding-required-field",
    "ban-drop-column",
    "changing-column-type",
    "constraint-missing-not-valid",
    "disallowed-unique-constraint",
    "require-concurrent-index-creation",
    "require-concurrent-index-deletion",
  ]);
});

test("CONCURRENTLY: an error in a transactional file or inside BEGIN … COMMIT, fine alone in a no-transaction file", () => {
  assert.equal(only(lint("drop index concurrently i;"), "ban-concurrent-index-creation-in-transaction").length, 1);
  assert.equal(
    only(lint(`${NT}begin;\ncreate index concurrently if not exists i on t (a);\ncommit;`), "ban-concurrent-index-creation-in-transaction")[0].line,
    3,
  );
  assert.deepEqual(only(lint(`${NT}reindex index concurrently i;`), "ban-concurrent-index-creation-in-transaction"), []);
});

test("bad input: empty, whitespace or only comments is an empty-migration warning", () => {
  for (const sql of ["", "  \n\t\n", "-- just a note\n/* and a block */\n", ";;"]) {
    const findings = lint(sql);
    assert.deepEqual(
      findings.map((f) => [f.rule, f.severity, f.line]),
      [["empty-migration", "warning", 1]],
      JSON.stringify(sql),
    );
  }
});

test("bad input: function bodies and nested dollar quotes are not linted, and do not confuse lines", () => {
  const sql = [
    "create function f() returns void language plpgsql as $fn$",
    "begin",
    "  drop table inside_body;",
    "  execute $q$ alter table t drop column c; $q$;",
    "  perform $$ truncate x cascade $$;",
    "end",
    "$fn$;",
    "do $$ begin drop table also_inside; end $$;",
    "drop table outside;",
  ].join("\n");
  const findings = lint(sql);
  assert.deepEqual(
    findings.map((f) => [f.rule, f.line, f.table]),
    [["ban-drop-table", 9, "outside"]],
  );
});

test("bad input: a 5 MB file finishes, with findings at the right lines", () => {
  const line = "insert into events (id, payload) values (1, 'ünïcödé payload to make this line longer than most');\n";
  const body = line.repeat(Math.ceil(5_000_000 / Buffer.byteLength(line)));
  const findings = lint(`${body}drop table events;\n`);
  const lines = body.split("\n").length;
  assert.deepEqual(
    findings.map((f) => [f.rule, f.line]),
    [["ban-drop-table", lines]],
  );
});

test("bad input: odd strings never throw", () => {
  const odd = [
    "select '\uD800';",
    "select 1;\0drop table x;",
    "\uFEFFselect 1;",
    "select $$ unterminated",
    "/* unterminated",
    "x".repeat(10_000),
    "(".repeat(5_000),
  ];
  for (const sql of odd) {
    const findings = lint(sql);
    assert.ok(Array.isArray(findings), sql.slice(0, 20));
  }
  assert.equal(lint("select 1;\0drop table x;")[0].rule, "syntax-error");
  assert.equal(lint("select $$ unterminated")[0].rule, "syntax-error");
  assert.equal(lintMigration({ path: "x.sql", sql: undefined as unknown as string, noTransaction: false })[0].rule, "empty-migration");
});

test("identifier-too-long counts bytes, not characters, and names the truncated result", () => {
  const name = "é".repeat(32); // 64 bytes in 32 characters
  const [finding] = only(lint(`create table "${name}" (id bigint);`), "identifier-too-long");
  assert.match(finding.message, /is 64 bytes; PostgreSQL truncates it to "é{31}"/);
  assert.equal(finding.column, 14);
  assert.deepEqual(only(lint(`select '${"a".repeat(80)}';`), "identifier-too-long"), []);
});

test("prefer-robust-stmts only in no-transaction files, where a retry re-runs statements", () => {
  const robust = only(lint(`${NT}create table t (id bigint);\ndrop index concurrently i;\nalter table t add column c text;`), "prefer-robust-stmts");
  assert.deepEqual(
    robust.map((f) => f.line),
    [2, 3, 4],
  );
});

test("validateLintConfig: unknown ids and bad severities are problems with a suggestion", () => {
  const { rules, problems } = validateLintConfig({
    rules: {
      "ban-drop-column": "warning",
      "ban-drop-colum": "off",
      "prefer-text-field": "warn",
      "prefer-identity": false,
      "syntax-error": "off",
      "prefer-big-int": "error",
    },
    extra: 1,
  });
  assert.deepEqual(rules, { "ban-drop-column": "warning", "prefer-identity": "off", "prefer-bigint-over-int": "error" });
  assert.deepEqual(problems.map((p) => p.key).sort(), ["lint.extra", "lint.rules.ban-drop-colum", "lint.rules.prefer-text-field", "lint.rules.syntax-error"]);
  assert.match(problems.find((p) => p.key === "lint.rules.ban-drop-colum")!.message, /did you mean ban-drop-column\?/);
  assert.match(problems.find((p) => p.key === "lint.rules.prefer-text-field")!.message, /did you mean warning\?/);
  assert.deepEqual(validateLintConfig(undefined), { rules: {}, problems: [] });
  assert.equal(validateLintConfig("strict").problems[0].key, "lint");
  assert.equal(validateLintConfig({ rules: ["x"] }).problems[0].key, "lint.rules");
});

test("directives: ignore may appear anywhere, other directives only at the top; unknown rule ids are bad directives", () => {
  const ok = parseDirectives("select 1;\n-- autopilot:ignore ban-drop-table ok\ndrop table t;", "m.sql");
  assert.deepEqual(ok.problems, []);
  assert.deepEqual(ok.directives.ignores, [{ rule: "ban-drop-table", reason: "ok", line: 2 }]);
  const bad = parseDirectives("-- autopilot:ignore ban-drop-tabel ok\nselect 1;\n-- autopilot:lock-timeout 5s\n", "m.sql");
  assert.deepEqual(
    bad.problems.map((p) => [p.code, p.line]),
    [
      ["bad-directive", 1],
      ["bad-directive", 3],
    ],
  );
  assert.match(bad.problems[0].message, /did you mean ban-drop-table\?/);
});
