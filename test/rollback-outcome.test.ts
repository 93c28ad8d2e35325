// The state a rollback run is stored with comes from its outcome: every kind, and the Check Run agrees.
import { test } from "node:test";
import assert from "node:assert/strict";
import { statusOf, type RollbackOutcome } from "../src/runbooks/rollback-outcome.js";
import { renderRollback } from "../src/report/rollback-report.js";
import type { BackupRecord } from "../src/store/backups.js";

const safetyBackup: BackupRecord = {
  id: "bk_safety",
  repo: "acme/shop",
  environment: "production",
  runId: 2,
  commitSha: "b".repeat(40),
  status: "ok",
  path: "/backups/bk_safety.dump",
  sizeBytes: 4096,
  sha256: "e".repeat(64),
  durationMs: 90,
  error: null,
  createdAt: new Date(),
};

/** One outcome of each kind: a kind added to RollbackOutcome fails the typecheck until it is listed here. */
const outcomes: { [K in RollbackOutcome["kind"]]: Extract<RollbackOutcome, { kind: K }> } = {
  refused: { kind: "refused", environment: "production", reason: "production is locked by @ada" },
  reverted: { kind: "reverted", environment: "production", reverted: [{ version: "0002", name: "add_name", durationMs: 8 }], safetyBackup },
  restored: { kind: "restored", environment: "production", restoredBackupId: "bk_1", safetyBackup, historyCount: 1, ownersNotKept: [] },
  failed: {
    kind: "failed",
    environment: "production",
    error: 'relation "users" does not exist (SQLSTATE 42P01)',
    where: { path: "migrations/0002_add_name.down.sql", line: 1 },
    reverted: [],
    safetyBackup,
  },
  crashed: { kind: "crashed", error: "boom", attempts: 1 },
  unconfirmed: {
    kind: "unconfirmed",
    environment: "production",
    runId: 3,
    loss: { backupId: "bk_1", backupTakenAt: new Date(), tables: [], caveats: ["no table statistics were recorded with backup bk_1"] },
  },
};

const expected: Record<RollbackOutcome["kind"], ReturnType<typeof statusOf>> = {
  refused: "failure",
  reverted: "success",
  restored: "success",
  failed: "failure",
  crashed: "failure",
  unconfirmed: "action_required",
};

test("every rollback outcome has its stored status, and its Check Run concludes with the same", () => {
  for (const outcome of Object.values(outcomes)) {
    assert.equal(statusOf(outcome), expected[outcome.kind], outcome.kind);
    assert.equal(renderRollback(outcome).conclusion, statusOf(outcome), outcome.kind);
  }
});
