// A run whose stored request the run contract refuses (written by hand, or by an older release).
import { splitRepo } from "../github/api/client.js";
import { CheckRunReporter } from "../report/check-run.js";
import { concludeRefusedRun, REFUSED_RUN_TITLE, type RefusedRun } from "../store/runs.js";
import type { RunbookDeps } from "./deps.js";

/**
 * A row the run contract refuses can never run. Its Check Run is concluded first: when GitHub is
 * unreachable the row stays unfinished and the next tick tries again.
 */
export async function concludeRefused(deps: Pick<RunbookDeps, "db" | "github" | "log">, run: RefusedRun): Promise<void> {
  deps.log.warn({ run: run.id, reason: run.reason }, "run refused by the run contract; concluding it as failed");
  if (run.checkRunId) {
    const checkRun = CheckRunReporter.existing(await deps.github(run.installationId), splitRepo(run.repo), run.checkRunId);
    await checkRun.complete({
      conclusion: "failure",
      title: REFUSED_RUN_TITLE,
      summary: `Run ${run.id} cannot run: ${run.reason}. Push again or repeat the command.`,
    });
  }
  await concludeRefusedRun(deps.db, run);
}
