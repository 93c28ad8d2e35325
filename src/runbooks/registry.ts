// Which runbook runs which kind of queued run.
import type { RunKind } from "../store/run-requests.js";
import type { RunOf } from "../store/runs.js";
import type { Attempt, RunbookDeps } from "./deps.js";
import * as migrate from "./migrate.js";
import * as plan from "./plan.js";
import * as rollback from "./rollback.js";
import * as backup from "./backup.js";
import * as command from "./command.js";
import * as heal from "./heal.js";
import * as scan from "./scan.js";
import * as driftScheduled from "./drift-scheduled.js";
import * as drill from "./drill.js";

export interface Runbook<K extends RunKind> {
  run(deps: RunbookDeps, runId: number, attempt: Attempt): Promise<void>;
  /** Concludes a run whose worker died on its last attempt. */
  concludeInterrupted(deps: RunbookDeps, run: RunOf<K>, attempts: number): Promise<void>;
}

export const RUNBOOKS: { [K in RunKind]: Runbook<K> } = {
  migrate: { run: migrate.runMigrate, concludeInterrupted: migrate.concludeInterrupted },
  plan: { run: plan.runPlan, concludeInterrupted: plan.concludeInterrupted },
  rollback: { run: rollback.runRollback, concludeInterrupted: rollback.concludeInterrupted },
  backup: { run: backup.runBackup, concludeInterrupted: backup.concludeInterrupted },
  command: { run: command.runCommand, concludeInterrupted: command.concludeInterrupted },
  heal: { run: heal.runHeal, concludeInterrupted: heal.concludeInterrupted },
  scan: { run: scan.runScan, concludeInterrupted: scan.concludeInterrupted },
  drift: { run: driftScheduled.runScheduledDrift, concludeInterrupted: driftScheduled.concludeInterrupted },
  drill: { run: drill.runDrill, concludeInterrupted: drill.concludeInterrupted },
};

/** Concludes a run whose worker died on its last attempt, by the runbook of its kind. */
export function concludeInterrupted<K extends RunKind>(deps: RunbookDeps, run: RunOf<K>): Promise<void> {
  const runbook: Runbook<K> = RUNBOOKS[run.kind];
  return runbook.concludeInterrupted(deps, run, run.attempts);
}
