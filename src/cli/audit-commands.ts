// `autopilot audit`: the store's audit trail — who did what, when, and how it ended. The store code
// (and pg) is imported when the command runs, so other commands start without it.
import type { Command } from "commander";
import { registerSecret } from "../redact.js";
import { runCommand } from "./common.js";

export function registerAuditCommands(program: Command): void {
  program
    .command("audit")
    .description("print the audit trail from Autopilot's store (DATABASE_URL, or the local cluster in .autopilot/pgdata)")
    .option("--repo <owner/name>", "only this repository")
    .option("--limit <n>", "how many entries, newest first", "50")
    .option("--json", "one JSON object per line")
    .action((flags: { repo?: string; limit: string; json?: boolean }) => runCommand(() => printAudit(flags)));
}

async function printAudit(flags: { repo?: string; limit: string; json?: boolean }): Promise<void> {
  const limit = Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new Error("--limit must be a positive whole number");
  const { readEnvironment } = await import("../config/environment.js");
  const env = readEnvironment();
  const { openStore, resolveStoreUrl } = await import("../store/store.js");
  const { readAudit } = await import("../store/audit.js");
  const { url } = await resolveStoreUrl(env.DATABASE_URL, env.AUTOPILOT_DATA_DIR);
  registerSecret(url);
  const store = await openStore(url);
  try {
    const entries = await readAudit(store.pool, flags.repo, limit);
    for (const e of entries) {
      if (flags.json) console.log(JSON.stringify(e));
      else
        console.log([e.at.toISOString(), e.actor ?? "-", e.repo ?? "-", e.environment ?? "-", e.action, e.outcome, JSON.stringify(e.detail ?? {})].join("\t"));
    }
    if (!flags.json && entries.length === 0) console.error("no audit entries");
  } finally {
    await store.close();
  }
}
