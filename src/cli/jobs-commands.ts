// `autopilot jobs failed|retry`: the dead-letter queue, where jobs that exhausted their retries wait
// (store/dead-letters.ts). Store code (and pg, pg-boss) is imported when a command runs, so other
// commands start without it.
import type { Command } from "commander";
import { redact } from "../redact.js";
import { runCommand } from "./common.js";
import { withStore } from "./backups-commands.js";

export function registerJobsCommands(program: Command): void {
  const jobs = program.command("jobs").description("jobs of the durable queue that failed for good");
  jobs
    .command("failed")
    .description("jobs that exhausted their retries (or expired), newest first: id, kind, run, repository, when, error")
    .option("--repo <owner/name>", "only this repository")
    .option("--limit <n>", "how many, newest first", "100")
    .option("--json", "one JSON object per line")
    .action((flags: FailedFlags) => runCommand(() => listFailed(flags)));
  jobs
    .command("retry")
    .description("send a dead-lettered job's run back to its queue (the run reopened, as /autopilot retry does)")
    .argument("<id>", "the job's id, as `jobs failed` prints it")
    .action((id: string) => runCommand(() => retryFailed(id)));
}

type FailedFlags = { repo?: string; limit: string; json?: boolean };

async function listFailed(flags: FailedFlags): Promise<void> {
  const limit = Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new Error("--limit must be a positive whole number");
  const { listDeadLetters } = await import("../store/dead-letters.js");
  const letters = await withStore((db) => listDeadLetters(db, { repo: flags.repo, limit }));
  for (const l of letters) {
    // An error may quote a connection string or a token: it is shown redacted, like every other output.
    const error = redact(l.error);
    if (flags.json) console.log(JSON.stringify({ ...l, error }));
    else console.log([l.id, l.kind ?? "-", `run ${l.runId}`, l.repo ?? "-", new Date(l.failedAt).toISOString(), error.replace(/\s+/g, " ")].join("\t"));
  }
  if (!flags.json && letters.length === 0) console.error("no failed jobs");
}

async function retryFailed(id: string): Promise<void> {
  const { retryDeadLetter } = await import("../store/dead-letters.js");
  const { run, jobId } = await withStore((db) => retryDeadLetter(db, id));
  console.log(`run ${run.id} (${run.kind}, ${run.repo}) is queued again as job ${jobId}`);
}
