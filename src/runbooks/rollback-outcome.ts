// What a rollback ended with, as plain data.
import type { Verification } from "../health/verification.js";
import type { LossEstimate } from "../backups/loss-report.js";
import type { BackupRecord } from "../store/backups.js";
import type { RunStatus } from "../store/runs.js";

export type RollbackOutcome =
  | { kind: "refused"; environment: string; reason: string }
  /** `verification`: how production did after the rollback was deployed, when the repo config verifies. */
  | {
      kind: "reverted";
      environment: string;
      reverted: Array<{ version: string; name: string; durationMs: number }>;
      safetyBackup: BackupRecord;
      verification?: Verification;
    }
  /** `ownersNotKept`: owners of the backup the restoring role cannot become (it owns their objects now). */
  | {
      kind: "restored";
      environment: string;
      restoredBackupId: string;
      safetyBackup: BackupRecord;
      historyCount: number;
      ownersNotKept: string[];
      verification?: Verification;
      /** What the restore discarded, as estimated just before it. */
      loss?: LossEstimate;
    }
  /** The restore would discard writes: nothing was changed, it waits for a confirmation (`runId`: this rollback run). */
  | { kind: "unconfirmed"; environment: string; runId: number; loss: LossEstimate }
  | {
      kind: "failed";
      environment: string;
      error: string;
      where?: { path: string; line: number };
      reverted: Array<{ version: string; name: string }>;
      safetyBackup: BackupRecord;
    }
  | { kind: "crashed"; error: string; attempts: number };

/** The states a rollback run can end in; its Check Run concludes with the same. */
export type RollbackStatus = Extract<RunStatus, "success" | "failure" | "action_required">;

/** The run's stored state, decided from what happened (never from the text rendered for it). */
export function statusOf(outcome: RollbackOutcome): RollbackStatus {
  switch (outcome.kind) {
    case "reverted":
    case "restored":
      return outcome.verification?.regressed ? "failure" : "success";
    case "unconfirmed":
      return "action_required";
    case "refused":
    case "failed":
    case "crashed":
      return "failure";
  }
}
