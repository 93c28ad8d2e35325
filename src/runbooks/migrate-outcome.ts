// What a migrate run ended with, as plain data. The runbook decides it; report/ renders it.
import type { LossEstimate } from "../backups/loss-report.js";
import type { ConfigProblem } from "../config/yaml-errors.js";
import type { MigrationFailure } from "../database/migrator.js";
import type { MigrationFile, Problem } from "../database/migration-files.js";
import type { Verification } from "../health/verification.js";
import type { ForeignSummary } from "../database/target-origin.js";
import type { BackupRecord } from "../store/backups.js";
import type { EnvironmentLock } from "../store/locks.js";
import type { RunStatus, WaitingFor } from "../store/runs.js";
import type { DriftFinding } from "./drift-outcome.js";

export interface AppliedFile {
  version: string;
  name: string;
  path: string;
  durationMs: number;
}

export type Recovery =
  | { action: "nothing-committed" }
  /** `safetyBackupIds`: backups of the state right before the restore (one per attempt), newest last. */
  /** `loss`: what the restore discarded, estimated just before it (stored as JSON: its date comes back a string). */
  | { action: "restored"; backupId: string; safetyBackupIds: string[]; historyCount: number; ownersNotKept: string[]; loss?: LossEstimate }
  | { action: "kept"; committed: string[] }
  /** The safety backup failed, so the restore did not start: what committed stays. */
  | { action: "not-restored"; backupId: string; committed: string[]; error: string }
  | { action: "restore-failed"; backupId: string; safetyBackupIds: string[]; error: string };

export type FailedOutcome = Extract<MigrateOutcome, { kind: "failed" }>;

/** What a run that restores reports besides the restore itself: kept with its restore intent, so a retry can report it. */
export type RestoreReport = Pick<FailedOutcome, "applied" | "failure">;

export type MigrateOutcome =
  | { kind: "config-invalid"; problems: ConfigProblem[] }
  | { kind: "unbound"; repo: string; environment: string; reason: string }
  | { kind: "wrong-repository"; repo: string; environment: string; reason: string }
  | { kind: "refused"; environment: string; problems: Problem[] }
  | { kind: "up-to-date"; environment: string; appliedCount: number }
  | { kind: "backup-failed"; environment: string; error: string; pending: number }
  /** `verification`: how production did after the change, when the repo config verifies. */
  | { kind: "applied"; environment: string; applied: AppliedFile[]; backup: BackupRecord; appliedCount: number; verification?: Verification }
  | {
      kind: "failed";
      environment: string;
      applied: AppliedFile[];
      failure: Omit<MigrationFailure, "file" | "committedBefore"> & { file: Pick<MigrationFile, "path" | "version" | "name"> };
      backup: BackupRecord;
      recovery: Recovery;
    }
  /** `/autopilot cancel` by `by` stopped the run before its next file: `applied` stay applied (no restore), `remaining` never ran. */
  | {
      kind: "cancelled";
      environment: string;
      applied: AppliedFile[];
      remaining: Array<Pick<MigrationFile, "path" | "version" | "name">>;
      by: string;
      backup: BackupRecord;
    }
  | { kind: "locked"; environment: string; lock: EnvironmentLock }
  | { kind: "awaiting-approval"; environment: string; needed: number; approvers: string[] }
  /** No Autopilot history, another tool's instead: `/autopilot adopt` first. */
  | { kind: "foreign-history"; environment: string; histories: ForeignSummary[] }
  /** No history of any tool, but tables: running file one on them is never a good idea. */
  | { kind: "unmanaged-tables"; environment: string; tableCount: number; tables: string[]; pending: number }
  /** drift.on_push: block, and the environment's schema differs from its migrations. */
  | { kind: "drift-blocked"; environment: string; drift: DriftFinding }
  | { kind: "unreachable"; environment: string; error: string; attempts: number }
  | { kind: "crashed"; error: string; attempts: number };

/** The states a migrate run can end in; its Check Run concludes with the same. */
export type MigrateStatus = Extract<RunStatus, "success" | "failure" | "neutral" | "action_required" | "cancelled">;

/** The run's stored state, decided from what happened (never from the text rendered for it). */
export function statusOf(outcome: MigrateOutcome): MigrateStatus {
  switch (outcome.kind) {
    case "applied":
      return outcome.verification?.regressed ? "failure" : "success";
    case "up-to-date":
      return "success";
    case "unbound":
      return "neutral";
    case "cancelled":
      return "cancelled";
    case "locked":
    case "awaiting-approval":
    case "foreign-history":
    case "unmanaged-tables":
    case "drift-blocked":
      return "action_required";
    case "config-invalid":
    case "wrong-repository":
    case "refused":
    case "backup-failed":
    case "failed":
    case "unreachable":
    case "crashed":
      return "failure";
  }
}

/** What an action_required run waits for: a locked run stays stopped, while approvals restart one that awaits them. */
export function waitingForOf(outcome: MigrateOutcome): WaitingFor | undefined {
  if (outcome.kind === "locked") return "lock";
  if (outcome.kind === "awaiting-approval") return "approval";
  return undefined;
}

export function isSuccess(outcome: MigrateOutcome): boolean {
  return statusOf(outcome) === "success";
}
