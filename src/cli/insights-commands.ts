// `autopilot insights`: the week in figures from Autopilot's store, with a target's query performance
// when one is given. Read-only on both sides. The analytics and store code is imported when the
// command runs, so other commands start without it.
import type { Command } from "commander";
import { redact, registerSecret } from "../redact.js";
import { connectionOptions, resolveDatabaseUrl, runCommand, type ConnectionFlags } from "./common.js";

interface InsightsFlags extends ConnectionFlags {
  repo?: string;
  days: string;
  json?: boolean;
}

export function registerInsightsCommands(program: Command): void {
  connectionOptions(
    program
      .command("insights")
      .description(
        "checks, errors, migrations, rollbacks, outages and trends from Autopilot's store (DATABASE_URL, or the local cluster in .autopilot/pgdata); " +
          "with a target database, its slowest statements and index and VACUUM candidates. Nothing is applied.",
      )
      .option("--repo <owner/name>", "only this repository")
      .option("--days <n>", "length of the window, ending now", "7")
      .option("--json", "print the insights as JSON instead of Markdown"),
  ).action((flags: InsightsFlags) => runCommand(() => printInsights(flags)));
}

async function printInsights(flags: InsightsFlags): Promise<void> {
  const days = Number(flags.days);
  if (!Number.isFinite(days) || days <= 0) throw new Error("--days must be a positive number");
  if (flags.repo && !/^[\w.-]+\/[\w.-]+$/.test(flags.repo)) throw new Error("--repo must be owner/name");
  // The target is optional here: without one, the report has the store's figures only.
  const databaseUrl = flags.databaseUrl || flags.databaseUrlEnv ? resolveDatabaseUrl(flags) : undefined;
  const { readEnvironment } = await import("../config/environment.js");
  const env = readEnvironment();
  const { openStore, resolveStoreUrl } = await import("../store/store.js");
  const { gatherInsights } = await import("../analytics/insights.js");
  const { renderInsights } = await import("../analytics/insights-report.js");
  const { url } = await resolveStoreUrl(env.DATABASE_URL, env.AUTOPILOT_DATA_DIR);
  registerSecret(url);
  const store = await openStore(url);
  try {
    const insights = await gatherInsights(store.pool, { repo: flags.repo, days, databaseUrl });
    // The narrative comes from an outside service, which may echo what it was sent (its key included).
    console.log(redact(flags.json ? JSON.stringify(insights, null, 2) : renderInsights(insights).trimEnd()));
  } finally {
    await store.close();
  }
}
