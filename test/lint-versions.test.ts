// Issue 16, versions: a file is parsed with the grammar of the target's PostgreSQL major too, so syntax
// newer than the target is a finding naming the version that introduced it. The test cluster runs 15.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { loadRepoConfig } from "../src/config/repo-config.js";
import { ensureLintReady, LINT_RULES, lintMigration, lintMigrations, lintOptionsOf, validateLintConfig } from "../src/database/lint/index.js";
import { parseForTarget } from "../src/database/lint/grammars.js";
import { jsonText } from "../src/database/lint/parse-tree.js";
import { serverMajor } from "../src/database/server-version.js";
import { shopRepo } from "./harness/fixtures.js";
import { createTestDatabase, type TestDatabase } from "./harness/postgres.js";
import { Scenario } from "./harness/scenario.js";

const MERGE =
  "create table t (id bigint primary key, a int);\ncreate table s (id bigint primary key);\n\nmerge into t using s on t.id = s.id\n  when matched then update set a = 1;\n";
const IS_JSON = "select 1;\nselect '{}' is json;\n";

before(() => ensureLintReady({ postgresVersion: 13 }));

const tooNew = (sql: string, postgresVersion?: number) =>
  lintMigration({ path: "migrations/0002_x.sql", sql, noTransaction: false }, { postgresVersion }).filter((f) => f.rule === "syntax-newer-than-target");

test("MERGE on a PostgreSQL 14 target is an error at its line naming 15; on 15 it is fine", () => {
  const [finding, ...more] = tooNew(MERGE, 14);
  assert.equal(more.length, 0);
  assert.equal(finding.severity, "error");
  assert.equal(finding.line, 4);
  assert.equal(finding.message, "MERGE needs PostgreSQL 15; the target runs 14");
  assert.deepEqual(tooNew(MERGE, 15), []);
  assert.deepEqual(tooNew(MERGE, 17), []);
});

test("IS JSON (PostgreSQL 16) on a 15 target names 16; older targets name the first version past the same place", () => {
  const [finding] = tooNew(IS_JSON, 15);
  assert.equal(finding.line, 2);
  assert.match(finding.message, /needs PostgreSQL 16; the target runs 15$/);
  assert.match(tooNew(IS_JSON, 13)[0].message, /needs PostgreSQL 16; the target runs 13$/);
  assert.deepEqual(tooNew(IS_JSON, 16), []);
});

test("a file with MERGE and IS JSON on a 14 target names 15 for MERGE, the first place 14 refuses", () => {
  assert.equal(tooNew(MERGE + IS_JSON, 14)[0].message, "MERGE needs PostgreSQL 15; the target runs 14");
});

test("without a target version nothing is checked; the rules still run on PostgreSQL 17's parse tree", () => {
  assert.deepEqual(tooNew(MERGE), []);
  const findings = lintMigrations(
    [
      {
        path: "migrations/0002_x.sql",
        sql: "alter table t drop column a;\nmerge into t using s on t.id = s.id when matched then delete;\n",
        noTransaction: false,
      },
    ],
    {
      postgresVersion: 14,
    },
  );
  assert.deepEqual(findings.map((f) => f.rule).sort(), ["ban-drop-column", "syntax-newer-than-target"]);
});

test("on a 15 or 16 target the rules read that grammar's own tree; a file it refuses is read from the newest's, its rules still firing", () => {
  const versionOf = (sql: string, target?: number) => {
    const { parsed } = parseForTarget(sql, target);
    return "json" in parsed ? (JSON.parse(jsonText(parsed.json)) as { version: number }).version : undefined;
  };
  assert.equal(Math.floor(versionOf("select 1;", 15)! / 10000), 15);
  assert.equal(Math.floor(versionOf("select 1;", 16)! / 10000), 16);
  assert.equal(Math.floor(versionOf("select 1;", 14)! / 10000), 17, "below 15 the rules read the newest tree");
  assert.equal(Math.floor(versionOf(IS_JSON, 15)! / 10000), 17);
  const rules = lintMigration(
    { path: "migrations/0002_x.sql", sql: "alter table t drop column a;\n" + IS_JSON, noTransaction: false },
    { postgresVersion: 15 },
  );
  assert.deepEqual(rules.map((f) => f.rule).sort(), ["ban-drop-column", "syntax-newer-than-target"]);
  const typo = lintMigration({ path: "migrations/0002_x.sql", sql: "selec 1;\n", noTransaction: false }, { postgresVersion: 15 });
  assert.deepEqual(
    typo.map((f) => `${f.rule}: ${f.message}`),
    ['syntax-error: syntax error at or near "selec"'],
  );
});

test("a file the newest grammar refuses is a syntax error, not newer syntax", () => {
  const rules = lintMigration({ path: "migrations/0002_x.sql", sql: "selec 1;\n", noTransaction: false }, { postgresVersion: 14 }).map((f) => f.rule);
  assert.deepEqual(rules, ["syntax-error"]);
});

test("the rule is in the catalog with why and instead", () => {
  const rule = LINT_RULES.find((r) => r.id === "syntax-newer-than-target");
  assert.ok(rule?.why && rule.instead);
  assert.equal(rule.defaultSeverity, "error");
});

test("lint.postgres_version defaults to 15, takes a supported major, and refuses others listing the supported ones", () => {
  assert.equal(loadRepoConfig("").config.lint.postgres_version, 15);
  assert.equal(loadRepoConfig("lint:\n  postgres_version: 14\n").config.lint.postgres_version, 14);
  for (const given of [9, "15", 18]) {
    const { problems, postgres_version } = validateLintConfig({ postgres_version: given });
    assert.equal(postgres_version, undefined);
    assert.equal(problems[0].key, "lint.postgres_version");
    assert.match(problems[0].message, /13, 14, 15, 16, 17/);
  }
});

test("lintOptionsOf (the CLI's and the plan's): the target's real major when known, else lint.postgres_version", () => {
  const { lint } = loadRepoConfig("lint:\n  postgres_version: 14\n  rules:\n    ban-drop-column: warning\n").config;
  assert.deepEqual(lintOptionsOf(lint), { rules: { "ban-drop-column": "warning" }, postgresVersion: 14 });
  assert.deepEqual(lintOptionsOf(lint, 16), { rules: { "ban-drop-column": "warning" }, postgresVersion: 16 });
  assert.deepEqual(lintOptionsOf(loadRepoConfig("").config.lint), { rules: {}, postgresVersion: 15 });
});

describe("with a database, the target's real major wins over lint.postgres_version", () => {
  let db: TestDatabase;
  before(async () => (db = await createTestDatabase()));
  after(() => db.drop());

  test("the test server's major is 15, and IS JSON there names 16", async () => {
    const major = await serverMajor(db.url);
    assert.equal(major, 15);
    await ensureLintReady({ postgresVersion: major });
    assert.match(tooNew(IS_JSON, major)[0].message, /needs PostgreSQL 16; the target runs 15$/);
  });
});

describe("the plan on a pull request, end to end", () => {
  let s: Scenario;
  before(async () => {
    s = await Scenario.start();
    const repo = shopRepo(["0001_init.sql", "0002_orders.sql"]);
    repo[".github/autopilot.yml"] += "lint:\n  postgres_version: 17\n";
    const sha = await s.push(repo);
    assert.equal((await s.completedCheckRun(sha)).conclusion, "success");
  });
  after(() => s.stop());

  test("IS JSON fails the plan on the PostgreSQL 15 target although the config says 17", async () => {
    const sha = await s.pullRequest(31, { "migrations/0003_json.sql": IS_JSON });
    const run = await s.completedPlan(sha);
    assert.match(run.output.summary!, /`syntax-newer-than-target` \| `migrations\/0003_json\.sql:2` \|.*needs PostgreSQL 16; the target runs 15/);
    assert.equal(run.conclusion, "failure");
  });
});
