import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { openStore, type Store } from "../src/store/store.js";
import {
  DEFAULT_ALERT_RULES,
  INACTIVE,
  alertRuleSchema,
  alertRulesSchema,
  effectiveRules,
  evaluateRules,
  isNotifiable,
  loadAlertStates,
  runAlertCycle,
  stepAlert,
  type AlertRule,
  type AlertState,
} from "../src/analytics/alerts.js";
import { createTestDatabase, query, type TestDatabase } from "./harness/postgres.js";
import { history, insertMigrationRun, insertSamples } from "./harness/synthetic-health.js";

const T0 = new Date("2025-03-01T12:00:00Z");
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

describe("alert rules", () => {
  test("a custom rule is validated, with defaults and the usual words for conditions", () => {
    const rule = alertRuleSchema.parse({ name: "slow-api", metric: "p95_response_seconds", condition: "above", threshold: 2 });
    assert.deepEqual(rule, { name: "slow-api", metric: "p95_response_seconds", condition: ">", threshold: 2, for_minutes: 0, severity: "warning" });
    assert.equal(
      alertRuleSchema.parse({ name: "x", metric: "errors_1h", condition: "lte", threshold: 1, for_minutes: 5, severity: "critical" }).condition,
      "<=",
    );

    const bad = alertRuleSchema.safeParse({ name: "x", metric: "cpu", condition: "~", threshold: "high", for_minutes: -1, extra: 1 });
    assert.equal(bad.success, false);
    const paths = bad.error!.issues.map((i) => i.path.join(".") || i.code).sort();
    assert.deepEqual(paths, ["condition", "for_minutes", "metric", "threshold", "unrecognized_keys"]);

    const twice = alertRulesSchema.safeParse([
      { name: "a", metric: "errors_1h", condition: ">", threshold: 1 },
      { name: "a", metric: "errors_1h", condition: ">", threshold: 2 },
    ]);
    assert.equal(twice.success, false);
    assert.deepEqual(twice.error!.issues[0].path, [1, "name"]);
  });

  test("the defaults, and a custom rule that replaces one by name", () => {
    assert.deepEqual(
      DEFAULT_ALERT_RULES.map((r) => `${r.metric} ${r.condition} ${r.threshold} ${r.severity}`),
      [
        "uptime_24h_percent < 95 warning",
        "uptime_24h_percent < 90 critical",
        "errors_1h > 10 warning",
        "migration_failures_1h > 0 warning",
        "p95_response_seconds > 5 warning",
        "p95_response_seconds > 10 critical",
      ],
    );
    const stricter = alertRuleSchema.parse({ name: "errors-1h", metric: "errors_1h", condition: ">", threshold: 3 });
    const rules = effectiveRules([stricter]);
    assert.equal(rules.length, DEFAULT_ALERT_RULES.length);
    assert.equal(rules.find((r) => r.name === "errors-1h")!.threshold, 3);
  });
});

describe("alert state machine (Prometheus `for`)", () => {
  const walk = (forMinutes: number, steps: Array<[number, boolean]>): AlertState[] => {
    const states: AlertState[] = [];
    let state = INACTIVE;
    for (const [minute, breached] of steps) {
      state = stepAlert(state, breached, breached ? 1 : 0, at(minute), forMinutes);
      states.push(state);
    }
    return states;
  };

  test("pending until the condition has held `for`, then firing, then resolved", () => {
    const states = walk(10, [
      [0, true],
      [5, true],
      [10, true],
      [15, true],
      [20, false],
      [25, false],
    ]);
    assert.deepEqual(
      states.map((s) => s.state),
      ["pending", "pending", "firing", "firing", "resolved", "resolved"],
    );
    assert.equal(states[1].activeSince?.getTime(), at(0).getTime());
    assert.equal(states[2].firedAt?.getTime(), at(10).getTime());
    assert.equal(states[3].firedAt?.getTime(), at(10).getTime(), "firing keeps the time it fired");
    assert.equal(states[4].resolvedAt?.getTime(), at(20).getTime());
  });

  test("a condition that stops holding while pending goes back to inactive, and the clock restarts", () => {
    const states = walk(10, [
      [0, true],
      [5, false],
      [6, true],
      [12, true],
      [16, true],
    ]);
    assert.deepEqual(
      states.map((s) => s.state),
      ["pending", "inactive", "pending", "pending", "firing"],
    );
    assert.equal(states[3].activeSince?.getTime(), at(6).getTime());
  });

  test("with `for` 0 a breach fires at once; a resolved alert breached again starts over", () => {
    assert.deepEqual(
      walk(0, [
        [0, true],
        [1, false],
        [2, true],
      ]).map((s) => s.state),
      ["firing", "resolved", "firing"],
    );
    assert.deepEqual(
      walk(5, [
        [0, true],
        [5, true],
        [6, false],
        [7, true],
        [11, true],
        [12, true],
      ]).map((s) => s.state),
      ["pending", "firing", "resolved", "pending", "pending", "firing"],
    );
  });

  test("only firing and resolved are told to people", () => {
    assert.deepEqual(
      ["inactive", "pending", "firing", "resolved"].map((to) => isNotifiable({ to: to as AlertState["state"] })),
      [false, false, true, true],
    );
  });
});

describe("alert cycles against the store", () => {
  let db: TestDatabase;
  let store: Store;
  const repo = "acme/shop";
  const customRule: AlertRule = { name: "errors-burst", metric: "errors_1h", condition: ">", threshold: 2, for_minutes: 10, severity: "critical" };

  before(async () => {
    db = await createTestDatabase("alerts");
    store = await openStore(db.url);
    // A day of checks; the last 30 minutes all fail (6 samples).
    await insertSamples(store.pool, history({ repo, check: "site", now: T0, days: 1, seed: 1, errorRate: (h) => (h < 0.5 ? 1 : 0) }));
    await insertMigrationRun(store.pool, { repo, commitSha: "f00dfeed", finishedAt: at(-5), status: "failure" });
  });
  after(async () => {
    await store.close();
    await db.drop();
  });

  test("the evaluator reads every rule's value per check, or per repository", async () => {
    const values = await evaluateRules(store.pool, repo, effectiveRules([customRule]), T0);
    const value = (name: string) => values.find((v) => v.rule.name === name)!;
    assert.ok(Math.abs(value("uptime-24h-warning").value! - (100 * 282) / 288) < 1e-9);
    assert.equal(value("uptime-24h-warning").subject, "site");
    assert.equal(value("uptime-24h-warning").breached, false);
    assert.equal(value("errors-1h").value, 6);
    assert.equal(value("errors-burst").breached, true);
    assert.deepEqual([value("migration-failed").subject, value("migration-failed").value], ["", 1]);
    assert.ok(value("p95-response-warning").value! < 1, "answered samples only");
    assert.deepEqual(await evaluateRules(store.pool, "acme/nothing", [customRule], T0), [], "no data, no series");
  });

  test("pending → firing → resolved is persisted, with its history", async () => {
    const rules = effectiveRules([customRule]);
    const first = await runAlertCycle(store.pool, repo, rules, T0);
    assert.deepEqual(first.transitions.map((t) => `${t.ruleName}/${t.subject}: ${t.from} → ${t.to}`).sort(), [
      "errors-burst/site: inactive → pending",
      "migration-failed/: inactive → firing",
    ]);
    assert.deepEqual((await runAlertCycle(store.pool, repo, rules, at(5))).transitions, [], "still pending, nothing new");
    const third = await runAlertCycle(store.pool, repo, rules, at(10));
    assert.deepEqual(
      third.transitions.map((t) => `${t.ruleName}: ${t.to}`),
      ["errors-burst: firing"],
    );
    assert.deepEqual(
      [...(await loadAlertStates(store.pool, repo)).values()]
        .filter((a) => a.state.state === "firing")
        .map((a) => `${a.rule} ${a.severity}`)
        .sort(),
      ["errors-burst critical", "migration-failed warning"],
    );

    // An hour later the failed samples and the failed migration have left the window.
    const later = await runAlertCycle(store.pool, repo, rules, at(70));
    assert.deepEqual(later.transitions.map((t) => `${t.ruleName}: ${t.from} → ${t.to}`).sort(), [
      "errors-burst: firing → resolved",
      "migration-failed: firing → resolved",
    ]);
    const history = await query(db.url, "select rule, from_state, to_state, threshold from alert_history where rule = 'errors-burst' order by id");
    assert.deepEqual(
      history.map((h) => `${h.from_state}→${h.to_state}`),
      ["inactive→pending", "pending→firing", "firing→resolved"],
    );
    assert.equal(history[0].threshold, 2);
  });

  test("a firing alert whose rule is removed from the config resolves", async () => {
    const otherRepo = "acme/removed";
    await insertMigrationRun(store.pool, { repo: otherRepo, commitSha: "bad", finishedAt: at(-1), status: "failure" });
    const onlyMigrations = DEFAULT_ALERT_RULES.filter((r) => r.name === "migration-failed");
    const fired = await runAlertCycle(store.pool, otherRepo, onlyMigrations, T0);
    assert.deepEqual(
      fired.transitions.map((t) => t.to),
      ["firing"],
    );
    const removed = await runAlertCycle(store.pool, otherRepo, [], at(1));
    assert.deepEqual(
      removed.transitions.map((t) => [t.ruleName, t.to, t.rule]),
      [["migration-failed", "resolved", null]],
    );
  });
});
