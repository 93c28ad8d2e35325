// False alarms the lint must not raise: statements PostgreSQL runs without the scan, rewrite or
// failure the rule warns about. Each case has its near miss, where the alarm is true and still fires.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { ensureLintReady, lintMigration, lintMigrations, type LintFinding } from "../src/database/lint/index.js";

before(() => ensureLintReady());

const NT = "-- autopilot:no-transaction\n";
const lint = (sql: string) => lintMigration({ path: "migrations/0002_x.sql", sql, noTransaction: sql.startsWith(NT) });
const rules = (findings: LintFinding[], rule: string) => findings.filter((f) => f.rule === rule);
const fires = (sql: string, rule: string) => rules(lint(sql), rule).length;

test("SET NOT NULL after a validated CHECK (col IS NOT NULL) in the same file: PostgreSQL 12+ skips the scan", () => {
  const recipe = [
    "alter table orders add constraint region_not_null check (region is not null) not valid;",
    "alter table orders validate constraint region_not_null;",
    "alter table orders alter column region set not null;",
    "alter table orders drop constraint region_not_null;",
  ].join("\n");
  assert.equal(fires(recipe, "adding-not-nullable-field"), 0);
  // an unnamed check added valid, and a conjunction of IS NOT NULL tests, prove it as well
  assert.equal(
    fires("alter table orders add check (region is not null);\nalter table orders alter column region set not null;", "adding-not-nullable-field"),
    0,
  );
  const both = "alter table orders add constraint c check (a is not null and region is not null);\nalter table orders alter column region set not null;";
  assert.equal(fires(both, "adding-not-nullable-field"), 0);
});

test("SET NOT NULL still fires when the check is not validated, is on another column, was dropped, or comes after", () => {
  const notValidated = "alter table orders add constraint c check (region is not null) not valid;\nalter table orders alter column region set not null;";
  const otherColumn = "alter table orders add constraint c check (city is not null);\nalter table orders alter column region set not null;";
  const otherTable = "alter table invoices add constraint c check (region is not null);\nalter table orders alter column region set not null;";
  const dropped =
    "alter table orders add constraint c check (region is not null);\nalter table orders drop constraint c;\nalter table orders alter column region set not null;";
  const after = "alter table orders alter column region set not null;\nalter table orders add constraint c check (region is not null);";
  const orTest = "alter table orders add constraint c check (region is not null or city is not null);\nalter table orders alter column region set not null;";
  for (const sql of [notValidated, otherColumn, otherTable, dropped, after, orTest]) assert.equal(fires(sql, "adding-not-nullable-field"), 1, sql);
});

test("SET NOT NULL after a check validated by an earlier file of the same run", () => {
  const files = [
    { path: "migrations/0001_check.sql", sql: "alter table orders add constraint c check (region is not null) not valid;", noTransaction: false },
    { path: "migrations/0002_validate.sql", sql: "alter table orders validate constraint c;", noTransaction: false },
    { path: "migrations/0003_set.sql", sql: "alter table orders alter column region set not null;", noTransaction: false },
  ];
  assert.deepEqual(rules(lintMigrations(files), "adding-not-nullable-field"), []);
  // without the VALIDATE file the check proves nothing; and a file linted alone knows nothing of the others
  assert.equal(rules(lintMigrations([files[0], files[2]]), "adding-not-nullable-field").length, 1);
  assert.equal(fires(files[2].sql, "adding-not-nullable-field"), 1);
});

test("prefer-robust-stmts: a temporary table dropped at commit cannot be left behind", () => {
  assert.equal(fires(`${NT}create temp table batch (id bigint) on commit drop;`, "prefer-robust-stmts"), 0);
  assert.equal(fires(`${NT}create table batch (id bigint);`, "prefer-robust-stmts"), 1);
  assert.equal(fires(`${NT}create temp table batch (id bigint) on commit delete rows;`, "prefer-robust-stmts"), 1);
});

test("prefer-bigint-over-int: a foreign key follows the integer key it references", () => {
  const sql = [
    "create table customers (id integer primary key);",
    "create table orders (id bigint primary key, customer_id integer references customers, seller_id int references sellers (id));",
    "create table lines (order_id bigint, customer_id int, foreign key (customer_id) references customers (id));",
    "alter table invoices add column customer_id int, add constraint fk foreign key (customer_id) references customers;",
  ].join("\n");
  assert.deepEqual(
    rules(lint(sql), "prefer-bigint-over-int").map((f) => f.message),
    ["column customers.id is integer"],
  );
});

test("prefer-bigint-over-int: an int foreign key to a bigint key still fires (it runs out first)", () => {
  const sql = "create table customers (id bigint primary key);\ncreate table orders (id bigint, customer_id integer references customers (id));";
  assert.deepEqual(
    rules(lint(sql), "prefer-bigint-over-int").map((f) => f.message),
    ["column orders.customer_id is integer"],
  );
  assert.equal(
    fires(
      "create table orders (id bigint, customer_id integer references customers);\ncreate table customers (id bigint primary key);",
      "prefer-bigint-over-int",
    ),
    0,
  );
});

test("prefer-bigint-over-int: a CHECK that bounds the column on both sides within its type", () => {
  const quiet = [
    "create table reviews (stars smallint check (stars between 1 and 5), percent int check (percent >= 0 and percent <= 100));",
    "create table levels (level smallint, code int, check (level in (0, 1, 2)), check (0 < code and code < 1000));",
    "alter table reviews add column weight smallint check (weight > -10 and weight < 10);",
  ].join("\n");
  assert.deepEqual(rules(lint(quiet), "prefer-bigint-over-int"), []);
  const fire = [
    "create table a (n smallint check (n >= 0));", // no upper bound: it can still run out
    "create table b (n smallint check (n between 0 and 100000));", // wider than smallint
    "create table c (n int check (n >= 0 or n <= 10));", // OR bounds nothing
    "create table d (n int, m int check (m between 1 and 5));", // the check bounds another column
  ];
  for (const sql of fire) assert.equal(fires(sql, "prefer-bigint-over-int"), 1, sql);
});

test("changing-column-type: binary-coercible changes of a column the file defined need no rewrite", () => {
  const table =
    "create table t (id bigint, name varchar(20), note varchar(5), price numeric(10,2), amount numeric(8,2), flags varbit(4), net cidr, at timestamp, code text);\n";
  const quiet = [
    "alter table t alter column name type varchar(40);",
    "alter table t alter column note type text;",
    "alter table t alter column name type varchar;",
    "alter table t alter column price type numeric(12,2);",
    "alter table t alter column amount type numeric;",
    "alter table t alter column flags type varbit(8);",
    "alter table t alter column net type inet;",
    "alter table t alter column code type varchar;",
  ];
  // t exists from an earlier file, so the lock rules look at the ALTERs
  for (const change of quiet) {
    const findings = lintMigrations([
      { path: "migrations/0001_t.sql", sql: table, noTransaction: false },
      { path: "migrations/0002_x.sql", sql: change, noTransaction: false },
    ]);
    assert.deepEqual(rules(findings, "changing-column-type"), [], change);
  }
});

test("changing-column-type still fires on narrowing, other scales, USING, real conversions and unknown old types", () => {
  const table = "create table t (id int, name varchar(20), price numeric(10,2), flags varbit(4), net inet, at timestamp, code text, c char(3));\n";
  const fire = [
    "alter table t alter column name type varchar(10);",
    "alter table t alter column price type numeric(12,3);",
    "alter table t alter column price type numeric(9,2);",
    "alter table t alter column flags type varbit(2);",
    "alter table t alter column net type cidr;",
    "alter table t alter column code type varchar(10);",
    "alter table t alter column name type varchar(40) using upper(name);",
    "alter table t alter column id type bigint;",
    "alter table t alter column c type text;",
    "alter table t alter column at type timestamptz;",
    "alter table orders alter column name type varchar(40);",
  ];
  for (const change of fire) {
    const findings = lintMigrations([
      { path: "migrations/0001_t.sql", sql: table, noTransaction: false },
      { path: "migrations/0002_x.sql", sql: change, noTransaction: false },
    ]);
    assert.equal(rules(findings, "changing-column-type").length, 1, change);
  }
});

test("changing-column-type: timestamp ↔ timestamptz only when the session's time zone is UTC", () => {
  const table = { path: "migrations/0001_t.sql", sql: "create table t (id bigint, at timestamp, at_tz timestamptz);", noTransaction: false };
  const typeChanges = (sql: string) =>
    rules(lintMigrations([table, { path: "migrations/0002_x.sql", sql, noTransaction: false }]), "changing-column-type").length;
  assert.equal(typeChanges("set timezone = 'UTC';\nalter table t alter column at type timestamptz;"), 0);
  assert.equal(typeChanges("set time zone 'Etc/UTC';\nalter table t alter column at_tz type timestamp;"), 0);
  assert.equal(typeChanges("alter table t alter column at type timestamptz;"), 1);
  assert.equal(typeChanges("set timezone = 'Europe/Paris';\nalter table t alter column at type timestamptz;"), 1);
  assert.equal(typeChanges("set timezone = 'UTC';\nreset timezone;\nalter table t alter column at type timestamptz;"), 1);
  assert.equal(typeChanges("alter table t alter column at type timestamptz;\nset timezone = 'UTC';"), 1);
  assert.equal(typeChanges("set timezone = 'UTC';\nalter table t alter column at type timestamptz(3);"), 1);
});

test("adding-required-field: not on a table this transaction created or emptied", () => {
  const created = "create table regions (id bigint);\nalter table regions add column code text not null;";
  const truncated = "truncate staging;\nalter table staging add column code text not null;";
  const deleted = "delete from staging;\nalter table staging add column code text not null;";
  for (const sql of [created, truncated, deleted]) assert.equal(fires(sql, "adding-required-field"), 0, sql);
});

test("adding-required-field still fires when rows may remain or came back", () => {
  const fire = [
    "delete from staging where id < 10;\nalter table staging add column code text not null;",
    "truncate staging;\ninsert into staging values (1);\nalter table staging add column code text not null;",
    "truncate other;\nalter table staging add column code text not null;",
    "alter table staging add column code text not null;\ntruncate staging;",
    `${NT}truncate staging;\nalter table staging add column code text not null;`, // rows may arrive in between
  ];
  for (const sql of fire) assert.equal(fires(sql, "adding-required-field"), 1, sql);
});
