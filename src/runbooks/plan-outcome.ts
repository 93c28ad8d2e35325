// What a plan found, as plain data. The plan runbook assembles it; report/ renders it.
import type { ConfigProblem } from "../config/yaml-errors.js";
import type { Problem } from "../database/migration-files.js";
import type { LintFinding } from "../database/lint/index.js";
import type { RehearsalResult } from "../database/rehearsal.js";

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
  pending: PlannedFile[];
  problems: Problem[];
  findings: Array<LintFinding & { cost?: string }>;
  rehearsal?: RehearsalResult;
  rehearsalNote?: string;
  /** Why nothing was downloaded, linted or rehearsed (a batch over the run's bounds). */
  notLinted?: string;
}

export type PlanOutcome =
  { kind: "config-invalid"; problems: ConfigProblem[] } | { kind: "planned"; report: PlanReport } | { kind: "crashed"; error: string; attempts: number };
