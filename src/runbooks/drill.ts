// The drill runbook (`backups.verify_schedule`): the newest good backup of one environment is
// restored into a scratch database on its shadow server and its row counts checked
// (backups/restore-drill.ts); a failed drill opens an incident issue, the next passing one closes it.
import { drillBackup } from "../backups/restore-drill.js";
import { ConfigError } from "../config/yaml-errors.js";
import { redact } from "../redact.js";
import { reportDrill } from "../report/drill-report.js";
import { incidentLabels } from "../report/incidents.js";
import { listBackups } from "../store/backups.js";
import { finishRun, updateRun, type RunOf } from "../store/runs.js";
import { isLastAttempt, RetryLater, type Attempt, type RunbookDeps } from "./deps.js";
import { statusOf, titleOf, type DrillOutcome } from "./drill-outcome.js";
import { beginRun, RunContext } from "./run-context.js";

type DrillContext = RunContext<RunOf<"drill">>;

export async function runDrill(deps: RunbookDeps, runId: number, attempt: Attempt): Promise<void> {
  const begun = await beginRun(deps, runId, "drill");
  if (!begun) return;
  const context = new RunContext(deps, begun.run, begun.github);
  const { environment } = begun.run.params;
  await updateRun(deps.db, runId, { environment });
  let outcome: DrillOutcome;
  try {
    outcome = await drill(context, environment);
  } catch (error) {
    // The shadow server or the store was out of reach: tried again with backoff, then concluded.
    const message = redact((error as Error)?.message ?? String(error));
    if (!isLastAttempt(attempt)) throw new RetryLater(message);
    outcome = { kind: "unavailable", environment, error: message };
  }
  await conclude(context, outcome);
}

export async function concludeInterrupted(deps: RunbookDeps, run: RunOf<"drill">): Promise<void> {
  await finishRun(deps.db, run.id, { status: "failure", title: "restore drill interrupted: the worker stopped", error: "interrupted" });
}

async function drill(context: DrillContext, environment: string): Promise<DrillOutcome> {
  const target = await context.resolveTarget(environment);
  if (typeof target === "string") return { kind: "skipped", environment, reason: target };
  if (!target.shadowDatabaseUrl) return { kind: "skipped", environment, reason: "the target has no shadow server (shadow_database_url_env) to restore into" };
  const backup = (await listBackups(context.deps.db, context.run.repo, environment)).find((b) => b.status === "ok");
  if (!backup) return { kind: "skipped", environment, reason: "no good backup to verify yet" };
  const result = await context.step("restore drill", () =>
    drillBackup({
      db: context.deps.db,
      backup,
      settings: context.backupSettings(target),
      shadowUrl: target.shadowDatabaseUrl!,
      runId: context.run.id,
      onDropError: (error) => context.deps.log.warn({ run: context.run.id, err: error }, "scratch database of a restore drill not dropped"),
    }),
  );
  return { kind: "drilled", environment, backup, drill: result };
}

async function conclude(context: DrillContext, outcome: DrillOutcome): Promise<void> {
  const { deps, run } = context;
  const error = outcome.kind === "unavailable" ? outcome.error : outcome.kind === "drilled" && !outcome.drill.ok ? outcome.drill.details : undefined;
  await finishRun(deps.db, run.id, { status: statusOf(outcome), title: titleOf(outcome).slice(0, 200), summary: summaryOf(outcome), error });
  if (outcome.kind === "unavailable") deps.log.warn({ repo: run.repo, environment: outcome.environment, error: outcome.error }, "restore drill could not run");
  if (outcome.kind !== "drilled") return;
  const config = await context.loadRepoConfig().catch(() => undefined);
  const labels = incidentLabels(config instanceof ConfigError ? undefined : config);
  // GitHub out of reach: the issue catches up with the next drill, which reconciles it the same way.
  await reportDrill(context.github, context.repo, outcome, labels).catch((err) =>
    deps.log.warn({ repo: run.repo, environment: outcome.environment, err }, "restore drill incident not updated; the next drill tries again"),
  );
}

function summaryOf(outcome: DrillOutcome): string {
  if (outcome.kind === "drilled") return outcome.drill.details;
  return outcome.kind === "skipped" ? outcome.reason : outcome.error;
}
