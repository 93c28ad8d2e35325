// Finds runs whose worker died (process killed, machine lost) and hands them back: the queue job is
// failed so pg-boss retries it, or, when no attempt is left, the run is concluded as interrupted.
// No Check Run is ever left "in progress".
import { concludeInterrupted } from "../runbooks/registry.js";
import type { RunbookDeps } from "../runbooks/deps.js";
import { getRun, unfinishedRuns, type Run } from "../store/runs.js";
import { concludeRefused } from "../runbooks/refused-run.js";
import { whileOrphaned } from "./liveness.js";
import type { Queue } from "./queue.js";
import { repeatEvery } from "./repeat.js";

export async function reapOrphanedRuns(queue: Queue, deps: RunbookDeps): Promise<number> {
  let reaped = 0;
  const { runs, refused } = await unfinishedRuns(deps.db);
  for (const run of refused) {
    await concludeRefused(deps, run).catch((error) => deps.log.error({ err: error, run: run.id }, "could not conclude a refused run; next tick tries again"));
  }
  for (const run of runs) {
    if (!run.jobId || run.status !== "in_progress") continue;
    const job = await queue.boss.getJobById(run.kind, run.jobId);
    if (job && job.state !== "active" && job.state !== "failed") continue; // waiting for its retry
    if (await whileOrphaned(deps.db, run.id, () => handBack(queue, deps, run))) reaped++;
  }
  return reaped;
}

/** Under the run's lock, so its state cannot change meanwhile; false when the run turns out to be settled. */
async function handBack(queue: Queue, deps: RunbookDeps, listed: Run): Promise<boolean> {
  // The list is read before the locks are tried: a worker may have concluded the run and let its lock go since.
  const run = await getRun(deps.db, listed.id);
  if (!run?.jobId || run.status !== "in_progress" || run.jobId !== listed.jobId) return false;
  const { kind } = run;
  const job = await queue.boss.getJobById(kind, run.jobId);
  if (job && job.state !== "active" && job.state !== "failed") return false;
  deps.log.warn({ run: run.id, job: run.jobId }, "worker of this run is gone; handing it back");
  if (job?.state === "active") await queue.boss.fail(kind, run.jobId, { message: "worker stopped during the job" });
  const after = await queue.boss.getJobById(kind, run.jobId);
  if (!after || after.state === "failed") await concludeInterrupted(deps, run);
  return true;
}

/** Reaps now and every `everySeconds`, one pass at a time (a slow pass never overlaps the next); returns the stop. */
export function startReaper(queue: Queue, deps: RunbookDeps, everySeconds: number): () => Promise<void> {
  return repeatEvery(
    everySeconds,
    () => reapOrphanedRuns(queue, deps),
    (error) => deps.log.error({ err: error }, "reaper failed"),
  );
}
