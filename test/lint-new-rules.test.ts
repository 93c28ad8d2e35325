// The zero-downtime rules of issue 16: each fires on the statement that locks, rewrites or cannot be
// re-run, and stays quiet on the safe way to write it.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { ensureLintReady, lintMigration, type LintFinding, type LintOptions } from "../src/database/lint/index.js";

before(() => ensureLintReady());

const NT = "-- autopilot:no-transaction\n";
const lint = (sql: string, options: LintOptions = {}) => lintMigration({ path: "migrations/0002_x.sql", sql, noTransaction: sql.startsWith(NT) }, options);
const only = (findings: LintFinding[], rule: string) => findings.filter((f) => f.rule === rule);
const linesOf = (sql: string, rule: string) => only(lint(sql), rule).map((f) => f.line);

test("validate-constraint-in-same-transaction: a CHECK added NOT VALID and validated in one transactional file holds ACCESS EXCLUSIVE", () => {
  const sql = "alter table orders add constraint positive check (total > 0) not valid;\nalter table orders validate constraint positive;";
  const [finding, ...rest] = only(lint(sql), "validate-constraint-in-same-transaction");
  assert.equal(rest.length, 0);
  assert.equal(finding.line, 2);
  assert.equal(finding.lock, "ACCESS EXCLUSIVE");
  assert.match(finding.message, /validates constraint positive on orders/);
  assert.match(finding.instead, /own, later migration/);
  // The advice constraint-missing-not-valid gives no longer hides the problem.
  assert.deepEqual(only(lint(sql), "constraint-missing-not-valid"), []);
});

test("validate-constraint-in-same-transaction: a foreign key holds SHARE ROW EXCLUSIVE, even across schema spellings", () => {
  const sql =
    "alter table public.orders add constraint orders_customer_fk foreign key (customer_id) references customers (id) not valid;\nalter table orders validate constraint orders_customer_fk;";
  const [finding] = only(lint(sql), "validate-constraint-in-same-transaction");
  assert.equal(finding.lock, "SHARE ROW EXCLUSIVE");
});

test("validate-constraint-in-same-transaction: quiet when the VALIDATE runs in another transaction or on another constraint", () => {
  const quiet = [
    "alter table orders validate constraint positive;",
    "alter table orders add constraint positive check (total > 0) not valid;\nalter table orders validate constraint other;",
    "alter table orders add constraint positive check (total > 0) not valid;\nalter table invoices validate constraint positive;",
    // No-transaction file: each statement commits on its own, so the ADD's lock is gone.
    `${NT}alter table orders add constraint positive check (total > 0) not valid;\nalter table orders validate constraint positive;`,
    // …and separate BEGIN … COMMIT blocks are separate transactions.
    `${NT}begin;\nalter table orders add constraint positive check (total > 0) not valid;\ncommit;\nbegin;\nalter table orders validate constraint positive;\ncommit;`,
    // A table the file created has no rows and no users.
    "create table t (n bigint);\nalter table t add constraint positive check (n > 0) not valid;\nalter table t validate constraint positive;",
  ];
  for (const sql of quiet) assert.deepEqual(linesOf(sql, "validate-constraint-in-same-transaction"), [], sql);
});

test("validate-constraint-in-same-transaction: fires inside one BEGIN … COMMIT of a no-transaction file", () => {
  const sql = `${NT}begin;\nalter table orders add constraint positive check (total > 0) not valid;\nalter table orders validate constraint positive;\ncommit;`;
  assert.deepEqual(linesOf(sql, "validate-constraint-in-same-transaction"), [4]);
});

test("adding-field-with-default: volatile defaults and generated, identity and serial columns rewrite an existing table", () => {
  const fires = [
    "alter table orders add column token uuid default gen_random_uuid();",
    "alter table orders add column r float8 default random();",
    "alter table orders add column at timestamptz default clock_timestamp();",
    "alter table orders add column token uuid default uuid_generate_v4();",
    "alter table orders add column code text default public.make_code();",
    "alter table orders add column code text default upper(md5(random()::text));",
    "alter table orders add column total_cents bigint generated always as (total * 100) stored;",
    "alter table orders add column seq bigint generated always as identity;",
    "alter table orders add column seq bigserial;",
  ];
  for (const sql of fires) {
    const [finding, ...rest] = only(lint(sql), "adding-field-with-default");
    assert.ok(finding, sql);
    assert.equal(rest.length, 0, sql);
    assert.equal(finding.lock, "ACCESS EXCLUSIVE");
    assert.equal(finding.rewrites, true);
    assert.equal(finding.table, "orders");
  }
  assert.match(only(lint(fires[1]), "adding-field-with-default")[0].message, /adds column orders\.r with the volatile default random\(\), rewriting the table/);
});

test("adding-field-with-default: constant and stable defaults, new tables and new primary keys stay quiet", () => {
  const quiet = [
    "alter table orders add column created_at timestamptz default now();",
    "alter table orders add column created_at timestamptz default current_timestamp;",
    "alter table orders add column created_at timestamptz not null default statement_timestamp();",
    "alter table orders add column status text default 'new';",
    "alter table orders add column meta jsonb default '{}'::jsonb;",
    "alter table orders add column note text;",
    "alter table orders alter column token set default gen_random_uuid();",
    "create table t (id bigint);\nalter table t add column token uuid default gen_random_uuid();",
    "create table t (token uuid default gen_random_uuid(), n bigint generated always as (1) stored);",
    // adding-serial-primary-key-field reports these.
    "alter table orders add column id bigserial primary key;",
  ];
  for (const sql of quiet) assert.deepEqual(linesOf(sql, "adding-field-with-default"), [], sql);
});

test("require-concurrent-reindex: every REINDEX without CONCURRENTLY on existing objects", () => {
  assert.deepEqual(linesOf("reindex index orders_total_idx;", "require-concurrent-reindex"), [1]);
  const [table] = only(lint("reindex table orders;"), "require-concurrent-reindex");
  assert.deepEqual([table.table, table.lock], ["orders", "SHARE"]);
  assert.deepEqual(linesOf("reindex schema shop;", "require-concurrent-reindex"), [1]);
  for (const sql of [
    `${NT}reindex index concurrently orders_total_idx;`,
    `${NT}reindex (concurrently) table orders;`,
    "reindex system shop;",
    "create table t (n bigint);\ncreate index t_n on t (n);\nreindex index t_n;\nreindex table t;",
  ])
    assert.deepEqual(linesOf(sql, "require-concurrent-reindex"), [], sql);
});

test("require-concurrent-detach-partition: DETACH PARTITION without CONCURRENTLY locks the parent", () => {
  const [finding] = only(lint("alter table events detach partition events_2024;"), "require-concurrent-detach-partition");
  assert.deepEqual([finding.table, finding.lock], ["events", "ACCESS EXCLUSIVE"]);
  assert.match(finding.message, /detaches partition events_2024 from events without CONCURRENTLY/);
  for (const sql of [
    `${NT}alter table events detach partition events_2024 concurrently;`,
    `${NT}alter table events detach partition events_2024 finalize;`,
    "alter table events attach partition events_2025 for values from ('2025-01-01') to ('2026-01-01');",
  ])
    assert.deepEqual(linesOf(sql, "require-concurrent-detach-partition"), [], sql);
});

test("dropping-not-null: fires on an existing table, not on one the file created", () => {
  const [finding] = only(lint("alter table orders alter column region drop not null;"), "dropping-not-null");
  assert.equal(finding.table, "orders");
  assert.match(finding.message, /drops NOT NULL from orders\.region/);
  assert.deepEqual(linesOf("create table t (a text not null);\nalter table t alter column a drop not null;", "dropping-not-null"), []);
  assert.deepEqual(linesOf("alter table orders alter column region set not null;", "dropping-not-null"), []);
});

test("ban-alter-domain-with-add-constraint: validated domain constraints fire; NOT VALID and new domains do not", () => {
  assert.deepEqual(linesOf("select 1;\nalter domain shop.amount add constraint above_zero check (value > 0);", "ban-alter-domain-with-add-constraint"), [2]);
  for (const sql of [
    "alter domain amount add constraint above_zero check (value > 0) not valid;",
    "alter domain amount validate constraint above_zero;",
    "alter domain amount drop constraint above_zero;",
    "create domain amount as numeric;\nalter domain amount add constraint above_zero check (value > 0);",
    "create domain amount as numeric check (value > 0);",
  ])
    assert.deepEqual(linesOf(sql, "ban-alter-domain-with-add-constraint"), [], sql);
});

test("prefer-robust-stmts: DROP CONSTRAINT without IF EXISTS in a no-transaction file", () => {
  const [finding] = only(lint(`${NT}alter table orders drop constraint positive;`), "prefer-robust-stmts");
  assert.equal(finding.message, "drops constraint positive of orders without IF EXISTS");
  assert.deepEqual(linesOf(`${NT}alter table orders drop constraint if exists positive;`, "prefer-robust-stmts"), []);
  assert.deepEqual(linesOf("alter table orders drop constraint positive;", "prefer-robust-stmts"), []);
});

test("prefer-robust-stmts: ADD CONSTRAINT that a re-run cannot skip, unless DROP CONSTRAINT IF EXISTS clears the way first", () => {
  const named = `${NT}alter table orders add constraint positive check (total > 0) not valid;`;
  const [finding] = only(lint(named), "prefer-robust-stmts");
  assert.match(finding.message, /adds constraint positive to orders, which fails on a re-run/);
  assert.deepEqual(linesOf(`${NT}alter table orders add check (total > 0) not valid;`, "prefer-robust-stmts"), [2]);
  assert.deepEqual(
    linesOf(
      `${NT}alter table orders drop constraint if exists positive;\nalter table orders add constraint positive check (total > 0) not valid;`,
      "prefer-robust-stmts",
    ),
    [],
  );
  // The DROP must come first, for the same name on the same table.
  assert.deepEqual(
    linesOf(
      `${NT}alter table orders drop constraint if exists other;\nalter table orders add constraint positive check (total > 0) not valid;`,
      "prefer-robust-stmts",
    ),
    [3],
  );
  assert.deepEqual(
    linesOf(
      `${NT}alter table orders add constraint positive check (total > 0) not valid;\nalter table orders drop constraint if exists positive;`,
      "prefer-robust-stmts",
    ),
    [2],
  );
  // A transactional file that fails leaves nothing behind.
  assert.deepEqual(linesOf("alter table orders add constraint positive check (total > 0) not valid;", "prefer-robust-stmts"), []);
});

test("transaction-nesting: BEGIN inside BEGIN and COMMIT with nothing open in a no-transaction file", () => {
  const nested = only(lint(`${NT}begin;\nbegin;\nselect 1;\ncommit;`), "transaction-nesting");
  assert.deepEqual(
    nested.map((f) => [f.line, f.message]),
    [[3, "BEGIN inside a transaction this file already began: transactions do not nest, so the next COMMIT ends both"]],
  );
  const doubled = only(lint(`${NT}begin;\nselect 1;\ncommit;\ncommit;`), "transaction-nesting");
  assert.deepEqual(
    doubled.map((f) => [f.line, f.message]),
    [[5, "COMMIT with no transaction open: the statements before it were already committed one by one"]],
  );
  for (const sql of [
    `${NT}begin;\nselect 1;\ncommit;\nbegin;\nselect 2;\ncommit;`,
    `${NT}select 1;\nsavepoint s;`,
    `${NT}begin;\nsavepoint s;\nrollback to savepoint s;\ncommit;`,
  ])
    assert.deepEqual(linesOf(sql, "transaction-nesting"), [], sql);
});

test("transaction-nesting in a no-transaction file can be ignored or switched off (PostgreSQL runs it), unlike in a wrapped file", () => {
  const sql = `${NT}commit;`;
  assert.deepEqual(only(lint(sql, { rules: { "transaction-nesting": "off" } }), "transaction-nesting"), []);
  const [ignored] = only(lint(`${NT}-- autopilot:ignore transaction-nesting leaves the driver's transaction\ncommit;`), "transaction-nesting");
  assert.equal(ignored.ignored?.reason, "leaves the driver's transaction");
  const [wrapped] = only(lint("commit;", { rules: { "transaction-nesting": "off" } }), "transaction-nesting");
  assert.equal(wrapped.severity, "error");
});
