import { test } from "node:test";
import assert from "node:assert/strict";
import { decideIncidents, formatDuration, type IncidentIssue } from "../src/health/incident-policy.js";
import type { CheckState } from "../src/store/health.js";

const policy = { recoverySuccesses: 2, reopenWindowMs: 3_600_000, reminderIntervalMs: 3_600_000 };
const now = new Date("2026-01-01T12:00:00Z");
const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000);
const state = (over: Partial<CheckState> = {}): CheckState => ({
  check: "site",
  status: "healthy",
  downSince: null,
  healthyStreak: 0,
  lastReminderAt: null,
  ...over,
});

test("a check that stays down after healing opens an incident; one healed does not", () => {
  const opened = decideIncidents(now, [{ check: "site", status: "unhealthy", escalate: true }], new Map(), [], policy);
  assert.deepEqual(opened.actions, [{ kind: "open", check: "site", downSince: now }]);
  const healed = decideIncidents(now, [{ check: "site", status: "unhealthy", escalate: false }], new Map(), [], policy);
  assert.deepEqual(healed.actions, []);
  assert.equal(healed.states[0].downSince, now);
});

test("while down: a reminder at most once an hour", () => {
  const issues: IncidentIssue[] = [{ number: 7, check: "site", open: true, closedAt: null }];
  const soon = decideIncidents(
    now,
    [{ check: "site", status: "unhealthy", escalate: true }],
    new Map([["site", state({ status: "unhealthy", downSince: minutesAgo(90), lastReminderAt: minutesAgo(30) })]]),
    issues,
    policy,
  );
  assert.deepEqual(soon.actions, []);
  const due = decideIncidents(
    now,
    [{ check: "site", status: "unhealthy", escalate: true }],
    new Map([["site", state({ status: "unhealthy", downSince: minutesAgo(90), lastReminderAt: minutesAgo(61) })]]),
    issues,
    policy,
  );
  assert.equal(due.actions[0].kind, "remind");
});

test("recovery needs N healthy cycles in a row and reports the downtime", () => {
  const issues: IncidentIssue[] = [{ number: 7, check: "site", open: true, closedAt: null }];
  const down = state({ status: "unhealthy", downSince: minutesAgo(72) });
  const first = decideIncidents(now, [{ check: "site", status: "healthy", escalate: false }], new Map([["site", down]]), issues, policy);
  assert.deepEqual(first.actions, []);
  const second = decideIncidents(now, [{ check: "site", status: "healthy", escalate: false }], new Map([["site", first.states[0]]]), issues, policy);
  assert.deepEqual(second.actions, [{ kind: "resolve", check: "site", number: 7, downSince: down.downSince, downtimeMs: 72 * 60_000 }]);
  assert.equal(formatDuration(72 * 60_000), "1 h 12 m");
});

test("a relapse within an hour of closing reopens; later it files a new issue", () => {
  const recent: IncidentIssue[] = [{ number: 7, check: "site", open: false, closedAt: minutesAgo(20) }];
  assert.equal(decideIncidents(now, [{ check: "site", status: "unhealthy", escalate: true }], new Map(), recent, policy).actions[0].kind, "reopen");
  const old: IncidentIssue[] = [{ number: 7, check: "site", open: false, closedAt: minutesAgo(90) }];
  assert.equal(decideIncidents(now, [{ check: "site", status: "unhealthy", escalate: true }], new Map(), old, policy).actions[0].kind, "open");
});

test("maintenance changes nothing; an incident of a removed check is closed", () => {
  const issues: IncidentIssue[] = [
    { number: 7, check: "site", open: true, closedAt: null },
    { number: 9, check: "old", open: true, closedAt: null },
  ];
  const down = state({ status: "unhealthy", downSince: minutesAgo(10) });
  const { actions, states } = decideIncidents(now, [{ check: "site", status: "maintenance", escalate: false }], new Map([["site", down]]), issues, policy);
  assert.deepEqual(states[0], down);
  assert.deepEqual(actions, [{ kind: "close-removed", check: "old", number: 9 }]);
});
