// Whether a failed migrate run may resume from its last checkpoint (`/autopilot retry`), and where.
// Resuming is refused when the database no longer is where the run stopped: its failure restored the
// backup (or tried to), or a later run has changed the environment since.
import type pg from "pg";
import { checkpointsOf, type RunCheckpoints } from "../store/checkpoints.js";
import { restoreIntentOf } from "../store/restore-intents.js";
import { laterMigrateRun, type Run } from "../store/runs.js";
import type { Recovery } from "./migrate-outcome.js";
import { redact } from "../redact.js";

export type Resumability = { resumable: true; where: string } | { resumable: false; reason: string };

const START_OVER = "a new push, or `/autopilot migrate`, starts over from a fresh backup";

export async function resumability(db: pg.Pool, run: Run): Promise<Resumability> {
  const refuse = (reason: string): Resumability => ({ resumable: false, reason });
  if (run.kind !== "migrate") return refuse(`run #${run.id} is a ${run.kind} run; only migrate runs resume from checkpoints (run its command again)`);
  if (run.status !== "failure") return refuse(`run #${run.id} did not fail (it is ${run.status.replace("_", " ")}); there is nothing to resume`);
  const intent = await restoreIntentOf<unknown, Recovery>(db, run.id);
  if (intent) return refuse(`${restoreDescription(run.id, intent.backupId, intent.recovery)}, so it cannot resume where it stopped; ${START_OVER}`);
  const later = await laterMigrateRun(db, run);
  if (later) {
    const what = later.status === "queued" || later.status === "in_progress" ? `is ${later.status.replace("_", " ")}` : "has changed the environment since";
    return refuse(
      `run #${later.id}, a later migration of this repository, ${what}; resuming #${run.id} would apply an older commit's files over it, so ${START_OVER}`,
    );
  }
  const checkpoints = await checkpointsOf(db, run.id);
  if ((checkpoints.verified as { regressed?: boolean } | undefined)?.regressed) {
    return refuse(
      `run #${run.id} applied its files and its verification found a regression; there is nothing left to resume (roll back with \`/autopilot rollback\`, or push a fix)`,
    );
  }
  return { resumable: true, where: resumePoint(run.id, checkpoints) };
}

/** "resuming run #12 after its backup bk_…: 2 of 5 files already applied" */
export function resumePoint(runId: number, { backupId, planned, applied, deployed, verifyStartedAt }: RunCheckpoints): string {
  if (!backupId) return `resuming run #${runId} from its start: it stopped before its backup, so nothing of it was applied`;
  const total = planned?.length ?? applied.length;
  const files = `${applied.length} of ${total} file${total === 1 ? "" : "s"} already applied`;
  if (verifyStartedAt) return `resuming run #${runId} during its verification (backup ${backupId}, ${files}, deploy hook called)`;
  if (deployed) return `resuming run #${runId} after its deploy hook (backup ${backupId}, ${files})`;
  return `resuming run #${runId} after its backup ${backupId}: ${files}`;
}

function restoreDescription(runId: number, backupId: string, recovery: Recovery | undefined): string {
  if (recovery?.action === "restored") return `run #${runId}'s failure rolled the database back by restoring its backup ${backupId}`;
  if (recovery?.action === "not-restored")
    return `run #${runId}'s failure called for restoring its backup ${backupId}, which did not happen (${redact(recovery.error)})`;
  return `run #${runId}'s failure started restoring its backup ${backupId}, which did not finish: the database's state needs a person's look`;
}
