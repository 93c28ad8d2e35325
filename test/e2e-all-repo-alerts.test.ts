import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { REPO, Scenario, TARGET_PASSWORD } from "./harness/scenario.js";
import { shopRepo } from "./harness/fixtures.js";
import { waitFor } from "./harness/app-process.js";
import type { IssueState } from "./harness/fake-github.js";

// Alerts-only cycles every 2 s (and discovery every second) keep this short; the default is every 5 min.
const SERVER_HEALTH = 'health:\n  discovery_seconds: 1\n  alerts_schedule: "*/2 * * * * *"';
// No `health` section. The default `migration-failed` rule is a warning (Slack only); made critical, it files an issue.
const CONFIG = `${readFileSync("fixtures/shop/autopilot.yml", "utf8")}alerts:
  - { name: migration-failed, metric: migration_failures_1h, condition: ">", threshold: 0, severity: critical }
`;
const ALERT_TITLE = "🔴 alert migration-failed is firing ()";

const alertIssues = (s: Scenario): IssueState[] => s.github.issues(REPO).filter((i) => i.title === ALERT_TITLE);

describe("alert rules of a repository without a health section", () => {
  let s: Scenario;
  before(async () => {
    s = await Scenario.start({ serverExtra: SERVER_HEALTH });
    const sha = await s.push({ ...shopRepo(["0001_init.sql"]), ".github/autopilot.yml": CONFIG });
    assert.equal((await s.completedCheckRun(sha)).conclusion, "success", "the first release is applied");
  });
  after(() => s.stop());

  test("alerts-only cycles run on the server's schedule: nothing probed, nothing filed while all is well", async () => {
    await s.moreRunsFinished("heal", 2);
    const runs = await s.storeQuery("select trigger, status, title from runs where kind = 'heal' and finished_at is not null order by id desc limit 1");
    assert.deepEqual(runs, [{ trigger: "schedule", status: "success", title: "no health section: alert rules evaluated" }]);
    const [samples] = await s.storeQuery("select count(*)::int as n from health_log");
    assert.equal(samples.n, 0, "no check was probed");
    assert.deepEqual(alertIssues(s), []);
  });

  test("a failed migration files the migration-failed alert issue; a good migration closes it", async () => {
    const bad = await s.push({ "migrations/0002_loyalty.sql": "create table loyalty (customer_id bigint references nowhere (id));\n" });
    assert.equal((await s.completedCheckRun(bad)).conclusion, "failure");
    const [opened] = await waitFor("the alert issue", () => (alertIssues(s).length ? alertIssues(s) : undefined));
    assert.equal(opened.state, "open");
    assert.ok(opened.labels.includes("autopilot"), `labels: ${opened.labels.join(", ")}`);
    assert.match(opened.body ?? "", /Critical alert \*\*migration-failed\*\* is firing for \*\*\*\*: migration_failures_1h > 0; value 1/);
    const [firing] = await s.storeQuery("select state from alert_state where rule = 'migration-failed'");
    assert.equal(firing.state, "firing");

    // Cycles go on while it fires: one issue, not one per cycle.
    await s.moreRunsFinished("heal", 2);
    assert.equal(alertIssues(s).length, 1);

    const good = await s.push({ "migrations/0002_loyalty.sql": "create table loyalty (customer_id bigint primary key);\n" });
    assert.equal((await s.completedCheckRun(good)).conclusion, "success");
    await waitFor("the alert issue closed", () => (issue(s, opened.number).state === "closed" ? true : undefined));
    assert.match(s.github.comments(REPO, opened.number).at(-1)!.body, /^✅ Alert resolved: migration_failures_1h > 0; value 0/);
    const [resolved] = await s.storeQuery("select state from alert_state where rule = 'migration-failed'");
    assert.equal(resolved.state, "resolved");
    const history = await s.storeQuery("select from_state, to_state from alert_history where rule = 'migration-failed' order by id");
    assert.deepEqual(
      history.map((h) => `${h.from_state}→${h.to_state}`),
      ["inactive→firing", "firing→resolved"],
    );
  });

  test("no request body GitHub would reject was sent, and the target's password went nowhere", () => {
    assert.deepEqual(s.github.violations, []);
    assert.ok(!s.everythingSent().includes(TARGET_PASSWORD));
  });
});

function issue(s: Scenario, number: number): IssueState {
  return s.github.issues(REPO).find((i) => i.number === number)!;
}
