// What a plan found, as plain data. The plan runbook assembles it; report/ renders it.
import type { ConfigProblem } from "../config/yaml-errors.js";
import type { Problem } from "../database/migration-files.js";
import type { LintFinding } from "../database/lint/index.js";
import type { RehearsalResult } from "../database/rehearsal.js";
import type { RunStatus } from "../store/runs.js";
import type { DriftFinding } from "./drift-outcome.js";

/** A lint finding, with what its lock would cost on the target when the plan could tell. */
export type PlanFinding = LintFinding & { cost?: string };

export interface PlannedFile {
  path: string;
  version: string;
  name: string;
}

export interface PlanReport {
  environment?: string;
  /** Why the target's history was not consulted, when it was not. */
  targetNote?: string;
  appliedCount?: number;
  /** Which migration layout the files were read in, and why: `flyway (detected from V1__init.sql …)`. */
  layout?: string;
  pending: PlannedFile[];
  problems: Problem[];
  findings: PlanFinding[];
  /** Findings in the pending files' `.down.sql` files; undefined when none has one. */
  downFindings?: PlanFinding[];
  rehearsal?: RehearsalResult;
  rehearsalNote?: string;
  /** Why nothing was downloaded, linted or rehearsed (a batch over the run's bounds). */
  notLinted?: string;
  /** How the target differs from its applied migrations; shown, never changing the conclusion. */
  drift?: DriftFinding;
}

export type PlanOutcome =
  { kind: "config-invalid"; problems: ConfigProblem[] } | { kind: "planned"; report: PlanReport } | { kind: "crashed"; error: string; attempts: number };

/** The states a plan run can end in; its Check Run concludes with the same. */
export type PlanStatus = Extract<RunStatus, "success" | "failure" | "neutral">;

export interface SeverityCounts {
  errors: number;
  warnings: number;
  /** Shown, never changing the conclusion. */
  notices: number;
}

/**
 * What a plan found: integrity problems, active lint findings (down files' too), and a failed
 * rehearsal (an error). Notices are counted for the title only.
 */
export function severityCounts(report: PlanReport): SeverityCounts {
  const active = [...report.findings, ...(report.downFindings ?? [])].filter((f) => !f.ignored);
  const rehearsalFailed = report.rehearsal && !report.rehearsal.ok ? 1 : 0;
  return {
    errors: report.problems.filter((p) => p.severity === "error").length + active.filter((f) => f.severity === "error").length + rehearsalFailed,
    warnings: report.problems.filter((p) => p.severity === "warning").length + active.filter((f) => f.severity === "warning").length,
    notices: active.filter((f) => f.severity === "notice").length,
  };
}

/** The run's stored state, decided from what the plan found (never from the text rendered for it). */
export function statusOf(outcome: PlanOutcome): PlanStatus {
  switch (outcome.kind) {
    case "planned": {
      const counts = severityCounts(outcome.report);
      return counts.errors > 0 ? "failure" : counts.warnings > 0 ? "neutral" : "success";
    }
    case "config-invalid":
    case "crashed":
      return "failure";
  }
}
