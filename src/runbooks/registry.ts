// Which runbook runs which kind of queued run.
import type { RunKind } from "../jobs/queue.js";
import type { Run } from "../store/runs.js";
import type { Attempt, RunbookDeps } from "./deps.js";
import * as migrate from "./migrate.js";
import * as plan from "./plan.js";
import * as rollback from "./rollback.js";
import * as backup from "./backup.js";
import * as command from "./command.js";
import * as heal from "./heal.js";
import * as scan from "./scan.js";

export interface Runbook {
  run(deps: RunbookDeps, runId: number, attempt: Attempt): Promise<void>;
  /** Concludes a run whose worker died on its last attempt. */
  concludeInterrupted(deps: RunbookDeps, run: Run, attempts: number): Promise<void>;
}

export const RUNBOOKS: Record<RunKind, Runbook> = {
  migrate: { run: migrate.runMigrate, concludeInterrupted: migrate.concludeInterrupted },
  plan: { run: plan.runPlan, concludeInterrupted: plan.concludeInterrupted },
  rollback: { run: rollback.runRollback, concludeInterrupted: rollback.concludeInterrupted },
  backup: { run: backup.runBackup, concludeInterrupted: backup.concludeInterrupted },
  command: { run: command.runCommand, concludeInterrupted: command.concludeInterrupted },
  heal: { run: heal.runHeal, concludeInterrupted: heal.concludeInterrupted },
  scan: { run: scan.runScan, concludeInterrupted: scan.concludeInterrupted },
};
