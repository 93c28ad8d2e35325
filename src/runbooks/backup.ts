// The backup runbook (`/autopilot backup [env]`, and `backups.schedule`): one verified pg_dump of the
// environment's target, recorded (old ones pruned) and answered in the command's reply; a scheduled
// one that fails is told to Slack, since no one asked and no reply waits for it.
import { BackupFailedError } from "../backups/service.js";
import { redact } from "../redact.js";
import { notifySlack } from "../report/slack.js";
import { audit } from "../store/audit.js";
import { releaseBackupCommand } from "../store/backup-claims.js";
import { finishRun, type RunOf } from "../store/runs.js";
import { isLastAttempt, RetryLater, type Attempt, type RunbookDeps } from "./deps.js";
import { beginRun, RunContext } from "./run-context.js";

export async function runBackup(deps: RunbookDeps, runId: number, attempt: Attempt): Promise<void> {
  const begun = await beginRun(deps, runId, "backup");
  if (!begun) return;
  const { run, github } = begun;
  const context = new RunContext(deps, run, github);
  const { environment } = run.params;
  try {
    await conclude(context, environment, await backUp(context, environment));
  } catch (error) {
    const message = redact((error as Error)?.message ?? String(error));
    if (!(error instanceof BackupFailedError) && !isLastAttempt(attempt)) throw new RetryLater(message);
    await conclude(context, environment, { ok: false, text: `❌ **backup ${environment}** failed: ${message}` });
  }
}

export async function concludeInterrupted(deps: RunbookDeps, run: RunOf<"backup">): Promise<void> {
  const context = new RunContext(deps, run, await deps.github(run.installationId));
  await conclude(context, run.params.environment, { ok: false, text: "❌ **backup** was interrupted (the worker stopped); run it again." });
}

/** How a backup ended, and the reply that says so. */
interface BackupResult {
  ok: boolean;
  text: string;
}

async function backUp(context: RunContext<RunOf<"backup">>, environment: string): Promise<BackupResult> {
  const target = await context.resolveTarget(environment);
  if (typeof target === "string") return { ok: false, text: `❌ **backup ${environment}**: ${target}` };
  const backup = await context.step("backup", () => context.takeBackup(target, null));
  const mb = ((backup.sizeBytes ?? 0) / (1 << 20)).toFixed(2);
  const text = `✅ **backup ${environment}**: \`${backup.id}\` (${mb} MB, sha256 \`${backup.sha256?.slice(0, 12)}…\`, ${backup.durationMs} ms). Restore it with \`/autopilot rollback ${environment} ${backup.id}\`.`;
  return { ok: true, text };
}

async function conclude(context: RunContext<RunOf<"backup">>, environment: string, { ok, text }: BackupResult): Promise<void> {
  const { run } = context;
  // Only a backup taken counts against the command's rate limit: a failed one may be asked again at once.
  if (!ok && run.trigger !== "schedule") await releaseBackupCommand(context.deps.db, run.repo, environment, new Date(run.params.claimedAt));
  await finishRun(context.deps.db, run.id, { status: ok ? "success" : "failure", title: text.slice(0, 200) });
  await audit(context.deps.db, {
    actor: run.requestedBy,
    repo: run.repo,
    environment,
    action: "backup",
    outcome: ok ? "success" : "failure",
    detail: run.trigger === "schedule" ? { trigger: "schedule", slot: run.params.slot } : undefined,
  });
  if (run.trigger === "schedule" && !ok) await notifySlack(await context.slackUrl(), "failure", `${run.repo}: scheduled backup of ${environment} failed`, text);
  await context.answerCommand(ok, text);
}
