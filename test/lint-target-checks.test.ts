// Issue 16, false alarms: SET NOT NULL after a validated CHECK (col IS NOT NULL) that an applied
// migration put on the target (read from pg_constraint on a real PostgreSQL) is no finding; a
// NOT VALID check, or none, leaves it; dropping the check in the file brings it back.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ensureLintReady, lintMigration, type LintOptions } from "../src/database/lint/index.js";
import { exemptSetNotNullCheckedOnTarget, notNullColumnsOf } from "../src/database/lint/target-checks.js";
import { checkConstraints } from "../src/database/table-costs.js";
import { createTestDatabase, query, type TestDatabase } from "./harness/postgres.js";

const RULE = "adding-not-nullable-field";
const bin = fileURLToPath(new URL("../bin/autopilot.js", import.meta.url));

describe("SET NOT NULL and the target's CHECK constraints", () => {
  let db: TestDatabase;
  before(async () => {
    await ensureLintReady();
    db = await createTestDatabase("notnullchecks");
    await query(
      db.url,
      `create table orders (id bigint, note text, region text, total numeric, "Ship To" text);
       alter table orders add constraint orders_note_set check (note is not null);
       alter table orders add constraint orders_region_set check (region is not null) not valid;
       alter table orders add constraint orders_ship_to_and_total check ("Ship To" is not null and total > 0);`,
    );
  });
  after(() => db?.drop());

  async function findings(sql: string, options: LintOptions = {}) {
    const input = { path: "migrations/0002_x.sql", sql, noTransaction: false };
    const found = await exemptSetNotNullCheckedOnTarget(lintMigration(input, options), options, db.url, (checked) => lintMigration(input, checked));
    return found.filter((f) => f.rule === RULE).map((f) => f.message);
  }

  test("a validated check on the target exempts SET NOT NULL; a NOT VALID one or none does not", async () => {
    assert.deepEqual(await findings("alter table orders alter column note set not null;"), []);
    assert.deepEqual(await findings(`alter table orders alter column "Ship To" set not null;`), [], "a conjunction proves its IS NOT NULL part");
    assert.deepEqual(await findings("alter table orders alter column region set not null;"), ["sets orders.region NOT NULL, scanning the table"]);
    assert.deepEqual(await findings("alter table orders alter column total set not null;"), ["sets orders.total NOT NULL, scanning the table"]);
  });

  test("a check the file drops first exempts nothing; validating the target's NOT VALID one earlier in the run does", async () => {
    assert.deepEqual(await findings("alter table orders drop constraint orders_note_set;\nalter table orders alter column note set not null;"), [
      "sets orders.note NOT NULL, scanning the table",
    ]);
    assert.deepEqual(await findings("alter table orders validate constraint orders_region_set;\nalter table orders alter column region set not null;"), []);
  });

  test("the catalog's definitions as pg_get_constraintdef prints them, NOT VALID ones marked", async () => {
    const checks = await checkConstraints(db.url, ["orders", "missing_table"]);
    assert.deepEqual(checks.map((c) => [c.constraint, c.definition, c.validated, notNullColumnsOf(c.definition)]).sort(), [
      ["orders_note_set", "CHECK ((note IS NOT NULL))", true, ["note"]],
      ["orders_region_set", "CHECK ((region IS NOT NULL)) NOT VALID", false, ["region"]],
      ["orders_ship_to_and_total", `CHECK ((("Ship To" IS NOT NULL) AND (total > (0)::numeric)))`, true, ["Ship To"]],
    ]);
    assert.deepEqual(notNullColumnsOf("CHECK ((note IS NULL))"), []);
    assert.deepEqual(notNullColumnsOf("CHECK (((a IS NOT NULL) OR (b IS NOT NULL)))"), []);
  });

  test("an unreachable target leaves the findings as they are, and its URL appears nowhere", async () => {
    const input = { path: "migrations/0002_x.sql", sql: "alter table orders alter column note set not null;", noTransaction: false };
    const found = lintMigration(input);
    const url = "postgres://secret_user:hunter2@127.0.0.1:1/none";
    const kept = await exemptSetNotNullCheckedOnTarget(found, {}, url, (checked) => lintMigration(input, checked));
    assert.deepEqual(kept, found);
    await assert.rejects(checkConstraints(url, ["orders"]), (error: Error) => !error.message.includes("hunter2"));
  });

  test("autopilot plan --lint with a database URL: the applied check exempts the pending SET NOT NULL", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "autopilot-notnull-"));
    mkdirSync(path.join(dir, "migrations"));
    writeFileSync(
      path.join(dir, "migrations/0001_set.sql"),
      "alter table orders alter column note set not null;\nalter table orders alter column region set not null;\n",
    );
    const { stdout } = await new Promise<{ stdout: string }>((resolve) =>
      execFile(process.execPath, [bin, "plan", "--lint", "--dir", "migrations", "--database-url", db.url], { cwd: dir }, (_error, stdout) =>
        resolve({ stdout }),
      ),
    );
    assert.doesNotMatch(stdout, /orders\.note NOT NULL/);
    assert.match(stdout, /^migrations\/0001_set\.sql:2: \w+ adding-not-nullable-field: sets orders\.region NOT NULL, scanning the table$/m);
  });
});
