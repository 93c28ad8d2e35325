// What a plan says about a target Autopilot has never migrated: a push would stop there (first-run
// safety) until someone adopts the other tool's history or baselines.
import type { ResolvedTarget } from "../config/server-config.js";
import { foreignHistorySentence, targetOriginFromUrl } from "../database/target-origin.js";

export async function takeOverNote(target: ResolvedTarget | string): Promise<string | undefined> {
  if (typeof target === "string") return undefined;
  // Called once the plan found the Autopilot history empty: it is not read again.
  const origin = await targetOriginFromUrl(target.databaseUrl, { historyKnownEmpty: true });
  const env = target.environment;
  if (origin.kind === "foreign") return `⚠️ ${foreignHistorySentence(origin.histories, `\`/autopilot adopt ${env}\``)}. Until then a push applies nothing.`;
  if (origin.kind === "populated") {
    return `⚠️ **${env}** has ${origin.tableCount} table(s) but no migration history: a push applies nothing until \`/autopilot baseline <version> ${env}\` (or \`migrations.baseline\`) records what it already has, or \`/autopilot adopt ${env}\` takes over another tool's history.`;
  }
  return undefined;
}
