// The state a migrate run is stored with comes from its outcome: every kind, and the Check Run agrees.
import { test } from "node:test";
import assert from "node:assert/strict";
import { statusOf, waitingForOf, type MigrateOutcome } from "../src/runbooks/migrate-outcome.js";
import { renderCheckRun, withHealthWarnings } from "../src/report/migrate-report.js";
import type { BackupRecord } from "../src/store/backups.js";

const backup: BackupRecord = {
  id: "bk_1",
  repo: "acme/shop",
  environment: "production",
  runId: 1,
  commitSha: "a".repeat(40),
  status: "ok",
  path: "/backups/bk_1.dump",
  sizeBytes: 2048,
  sha256: "f".repeat(64),
  durationMs: 120,
  error: null,
  createdAt: new Date(),
};
const file = { version: "0002", name: "add_name", path: "migrations/0002_add_name.sql" };

/** One outcome of each kind: a kind added to MigrateOutcome fails the typecheck until it is listed here. */
const outcomes: { [K in MigrateOutcome["kind"]]: Extract<MigrateOutcome, { kind: K }> } = {
  "config-invalid": { kind: "config-invalid", problems: [{ file: ".github/autopilot.yml", key: "environments", message: "expected an array" }] },
  unbound: { kind: "unbound", repo: "acme/shop", environment: "production", reason: "no target for acme/shop production" },
  "wrong-repository": { kind: "wrong-repository", repo: "acme/shop", environment: "production", reason: "bound to acme/other" },
  refused: {
    kind: "refused",
    environment: "production",
    problems: [{ code: "checksum-mismatch", path: file.path, message: "changed since applied", severity: "error" }],
  },
  "up-to-date": { kind: "up-to-date", environment: "production", appliedCount: 3 },
  "backup-failed": { kind: "backup-failed", environment: "production", error: "pg_dump: connection refused", pending: 2 },
  applied: { kind: "applied", environment: "production", applied: [{ ...file, durationMs: 12 }], backup, appliedCount: 4 },
  failed: {
    kind: "failed",
    environment: "production",
    applied: [],
    failure: { file, line: 3, message: 'column "name" already exists', code: "42701" },
    backup,
    recovery: { action: "nothing-committed" },
  },
  cancelled: {
    kind: "cancelled",
    environment: "production",
    applied: [{ ...file, durationMs: 12 }],
    remaining: [{ version: "0003", name: "slow", path: "migrations/0003_slow.sql" }],
    by: "ada",
    backup,
  },
  locked: {
    kind: "locked",
    environment: "production",
    lock: { repo: "acme/shop", environment: "production", lockedBy: "ada", reason: "freeze", lockedAt: new Date() },
  },
  "awaiting-approval": { kind: "awaiting-approval", environment: "production", needed: 2, approvers: ["grace"] },
  "foreign-history": {
    kind: "foreign-history",
    environment: "production",
    histories: [{ toolName: "Flyway", table: "public.flyway_schema_history", latestVersion: "42", description: "Flyway up to version 42" }],
  },
  "unmanaged-tables": { kind: "unmanaged-tables", environment: "production", tableCount: 7, tables: ["public.users"], pending: 120 },
  "drift-blocked": {
    kind: "drift-blocked",
    environment: "production",
    drift: { kind: "compared", environment: "production", differences: [], unknownVersions: [] },
  },
  unreachable: { kind: "unreachable", environment: "production", error: "ECONNREFUSED", attempts: 3 },
  crashed: { kind: "crashed", error: "boom", attempts: 3 },
};

const expected: Record<MigrateOutcome["kind"], ReturnType<typeof statusOf>> = {
  "config-invalid": "failure",
  unbound: "neutral",
  "wrong-repository": "failure",
  refused: "failure",
  "up-to-date": "success",
  "backup-failed": "failure",
  applied: "success",
  failed: "failure",
  cancelled: "cancelled",
  locked: "action_required",
  "awaiting-approval": "action_required",
  "foreign-history": "action_required",
  "unmanaged-tables": "action_required",
  "drift-blocked": "action_required",
  unreachable: "failure",
  crashed: "failure",
};

test("every migrate outcome has its stored status, and its Check Run concludes with the same", () => {
  for (const outcome of Object.values(outcomes)) {
    assert.equal(statusOf(outcome), expected[outcome.kind], outcome.kind);
    assert.equal(renderCheckRun(outcome, 7).conclusion, statusOf(outcome), outcome.kind);
  }
});

test("a locked run and one awaiting approval share a status but say what each waits for", () => {
  assert.equal(waitingForOf(outcomes.locked), "lock");
  assert.equal(waitingForOf(outcomes["awaiting-approval"]), "approval");
  for (const outcome of Object.values(outcomes).filter((o) => o.kind !== "locked" && o.kind !== "awaiting-approval")) {
    assert.equal(waitingForOf(outcome), undefined, outcome.kind);
  }
});

test("health warnings add to the summary and annotations without changing the conclusion", () => {
  const rendered = renderCheckRun(outcomes.applied, 7);
  const problem = { file: ".github/autopilot.yml", key: "health.retries", line: 9, message: "expected a number" };
  const warned = withHealthWarnings(rendered, [problem]);
  assert.equal(warned.conclusion, "success");
  assert.match(warned.summary, /health section of \.github\/autopilot\.yml is invalid/);
  assert.deepEqual(warned.annotations?.at(-1), {
    path: ".github/autopilot.yml",
    line: 9,
    level: "warning",
    title: "health config",
    message: "health.retries: expected a number",
  });
  assert.equal(withHealthWarnings(rendered, []), rendered);
});
