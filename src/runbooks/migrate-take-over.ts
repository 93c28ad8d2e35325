// The first migration of a target with no Autopilot history: baseline it when the repo config says
// so; otherwise stop, applying nothing, when another tool's history or the user's tables are there.
import type { ResolvedTarget } from "../config/server-config.js";
import type { RepoConfig } from "../config/repo-config.js";
import type { MigrationRef } from "../database/migration-files.js";
import { baselineHistory } from "../database/take-over.js";
import { targetOriginFromUrl } from "../database/target-origin.js";
import type { MigrateOutcome } from "./migrate-outcome.js";

export const CONFIG_FILE = ".github/autopilot.yml";

/** Undefined means "go on": the history was baselined, or the database is empty. */
export async function takeOverOrStop(opts: { config: RepoConfig; target: ResolvedTarget; refs: MigrationRef[] }): Promise<MigrateOutcome | undefined> {
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
    });
    // A history that another run filled meanwhile is fine: the plan goes on from it.
    if (result.kind === "refused" && !result.reason.includes("already has Autopilot history")) {
      return {
        kind: "refused",
        environment,
        problems: [{ code: "bad-baseline", path: CONFIG_FILE, message: `migrations.baseline: ${result.reason}`, severity: "error" }],
      };
    }
    return undefined;
  }
  const origin = await targetOriginFromUrl(target.databaseUrl);
  if (origin.kind === "foreign") return { kind: "foreign-history", environment, histories: origin.histories };
  if (origin.kind === "populated") return { kind: "unmanaged-tables", environment, tableCount: origin.tableCount, tables: origin.tables, pending: refs.length };
  return undefined;
}
