// The state a plan run is stored with comes from what it found: every kind, and the Check Run agrees.
import { test } from "node:test";
import assert from "node:assert/strict";
import { statusOf, type PlanOutcome, type PlanReport } from "../src/runbooks/plan-outcome.js";
import { renderPlan } from "../src/report/plan-report.js";
import type { LintFinding } from "../src/database/lint/index.js";
import type { RehearsalResult } from "../src/database/rehearsal.js";

const pending = [{ path: "migrations/0002_add_name.sql", version: "0002", name: "add_name" }];
const clean: PlanReport = { environment: "production", appliedCount: 1, pending, problems: [], findings: [] };
const finding = (severity: LintFinding["severity"], ignored?: LintFinding["ignored"]): LintFinding => ({
  rule: "add-column-default",
  severity,
  path: pending[0].path,
  line: 1,
  message: "adds a column",
  why: "it rewrites the table",
  instead: "add it without a default",
  ...(ignored ? { ignored } : {}),
});
const rehearsal = (ok: boolean): RehearsalResult => ({
  scratchDatabase: "autopilot_scratch_1",
  schemaFrom: "target",
  files: [{ ...pending[0], status: ok ? "applied" : "failed", ...(ok ? {} : { error: { message: "syntax error", line: 1 } }) }],
  ok,
  durationMs: 10,
});
const planned = (report: Partial<PlanReport>): PlanOutcome => ({ kind: "planned", report: { ...clean, ...report } });

const cases: Array<[string, PlanOutcome, ReturnType<typeof statusOf>]> = [
  ["invalid config", { kind: "config-invalid", problems: [{ file: ".github/autopilot.yml", key: "migrations", message: "expected an object" }] }, "failure"],
  ["crashed", { kind: "crashed", error: "boom", attempts: 3 }, "failure"],
  ["clean plan", planned({}), "success"],
  ["nothing pending", planned({ pending: [] }), "success"],
  [
    "integrity warning",
    planned({ problems: [{ code: "out-of-order", path: pending[0].path, message: "older than applied", severity: "warning" }] }),
    "neutral",
  ],
  [
    "integrity error",
    planned({ problems: [{ code: "checksum-mismatch", path: pending[0].path, message: "changed since applied", severity: "error" }] }),
    "failure",
  ],
  ["lint warning", planned({ findings: [finding("warning")] }), "neutral"],
  ["lint error", planned({ findings: [finding("error")] }), "failure"],
  ["ignored lint error", planned({ findings: [finding("error", { reason: "table is empty", line: 1 })] }), "success"],
  ["rehearsal passed", planned({ rehearsal: rehearsal(true) }), "success"],
  ["rehearsal failed", planned({ rehearsal: rehearsal(false) }), "failure"],
];

test("every plan outcome has its stored status, and its Check Run concludes with the same", () => {
  for (const [name, outcome, status] of cases) {
    assert.equal(statusOf(outcome), status, name);
    assert.equal(renderPlan(outcome).conclusion, status, name);
  }
});
