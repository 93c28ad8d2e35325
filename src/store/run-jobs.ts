// How a run becomes a pg-boss job: shared by the queue (jobs/queue.ts) and the CLI's `jobs retry`
// (which may not import jobs/), so both send a run to its queue the same way.
import type PgBoss from "pg-boss";
import type { RunKind } from "./run-requests.js";
import type { Run } from "./runs.js";

export interface RunJobData {
  runId: number;
}

/** Migrations and rollbacks queue per repository; plans per pull request. */
export function serialKeyOf(run: Run): string {
  return run.kind === "plan" && run.params.pull ? `${run.repo}#${run.params.pull}` : run.repo;
}

/** `serialKey`: runs sharing it (in a singleton queue) run one at a time, in order. */
export async function sendRunJob(boss: PgBoss, kind: RunKind, runId: number, serialKey: string): Promise<string> {
  const id = await boss.send(kind, { runId } satisfies RunJobData, { singletonKey: serialKey.toLowerCase() });
  if (!id) throw new Error(`the queue refused a ${kind} job for ${serialKey}`);
  return id;
}
