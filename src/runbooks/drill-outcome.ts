// What a scheduled restore drill ended with, as plain data (report/drill-report.ts renders it).
import type { BackupRecord } from "../store/backups.js";
import type { RestoreDrill } from "../store/restore-drills.js";
import type { RunStatus } from "../store/runs.js";

export type DrillOutcome =
  /** The drill ran: `drill.ok` says whether the backup came back with its rows. */
  | { kind: "drilled"; environment: string; backup: BackupRecord; drill: RestoreDrill }
  /** Nothing to drill or nowhere to drill it (no good backup yet, no shadow server, no target). */
  | { kind: "skipped"; environment: string; reason: string }
  /** The drill could not run (the shadow server refused a scratch database, every attempt): no verdict on the backup. */
  | { kind: "unavailable"; environment: string; error: string };

export function statusOf(outcome: DrillOutcome): Extract<RunStatus, "success" | "failure" | "neutral"> {
  if (outcome.kind === "drilled") return outcome.drill.ok ? "success" : "failure";
  return outcome.kind === "skipped" ? "neutral" : "failure";
}

export function titleOf(outcome: DrillOutcome): string {
  switch (outcome.kind) {
    case "drilled":
      return `restore drill of ${outcome.environment}: ${outcome.drill.ok ? "verified" : "FAILED"} ${outcome.backup.id}`;
    case "skipped":
      return `restore drill of ${outcome.environment} skipped: ${outcome.reason}`;
    case "unavailable":
      return `restore drill of ${outcome.environment} could not run`;
  }
}
