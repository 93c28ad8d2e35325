// The first migration of a target with no Autopilot history: baseline it when the repo config says
// so; otherwise stop, applying nothing, when another tool's history or the user's tables are there.
import type { ResolvedTarget } from "../config/server-config.js";
import type { RepoConfig } from "../config/repo-config.js";
import type { MigrationRef } from "../database/migration-files.js";
import { baselineHistory } from "../database/take-over.js";
import { readHistoryFromUrl, type HistoryRow } from "../database/history.js";
import { targetOriginFromUrl } from "../database/target-origin.js";
import type { MigrateOutcome } from "./migrate-outcome.js";

export const CONFIG_FILE = ".github/autopilot.yml";

/**
 * Called with the target's history just read and found empty, which is not read again: `history` is
 * what the plan goes on from (the rows a baseline recorded, or none), `stop` the outcome that ends the run.
 */
export async function takeOverOrStop(opts: {
  config: RepoConfig;
  target: ResolvedTarget;
  refs: MigrationRef[];
}): Promise<{ stop: MigrateOutcome } | { history: HistoryRow[] }> {
  const { config, target, refs } = opts;
  const environment = target.environment;
  const version = config.migrations.baseline;
  if (version !== undefined) {
    const result = await baselineHistory({
      databaseUrl: target.databaseUrl,
      refs,
      version,
      by: "migrations.baseline",
      lockWaitSeconds: config.migrations.lock_wait_seconds,
      historyKnownEmpty: true,
    });
    if (result.kind === "recorded") return { history: result.history };
    // A history that another run filled meanwhile is fine: the plan goes on from it.
    if (result.kind === "refused" && result.historyWritten) return { history: await readHistoryFromUrl(target.databaseUrl) };
    const reason = result.kind === "refused" ? result.reason : result.mismatches.join("; ");
    return {
      stop: {
        kind: "refused",
        environment,
        problems: [{ code: "bad-baseline", path: CONFIG_FILE, message: `migrations.baseline: ${reason}`, severity: "error" }],
      },
    };
  }
  const origin = await targetOriginFromUrl(target.databaseUrl, { historyKnownEmpty: true });
  if (origin.kind === "foreign") return { stop: { kind: "foreign-history", environment, histories: origin.histories } };
  if (origin.kind === "populated") {
    return { stop: { kind: "unmanaged-tables", environment, tableCount: origin.tableCount, tables: origin.tables, pending: refs.length } };
  }
  return { history: [] };
}
