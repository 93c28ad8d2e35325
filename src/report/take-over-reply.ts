// The reply to `/autopilot adopt` and `/autopilot baseline`: what was recorded, or every mismatch and
// what to fix, or why nothing applies.
import type { TakeOverResult } from "../database/take-over.js";

export function renderTakeOver(verb: string, environment: string, branch: string, result: TakeOverResult): string {
  switch (result.kind) {
    case "recorded": {
      const first = result.recorded[0]?.version;
      const last = result.recorded.at(-1)?.version;
      const range = first === last ? `${first}` : `${first} … ${last}`;
      const how = verb === "adopt" ? `adopted from ${result.from}` : "baselined";
      return (
        `✅ **${verb} ${environment}**: recorded ${result.recorded.length} migration(s) ${how} (${range}) without running them. ` +
        `Autopilot's history is the ledger of **${environment}** from now on; the next push applies the files of \`${branch}\` after ${last}.`
      );
    }
    case "mismatches":
      return [
        `❌ **${verb} ${environment}**: nothing was recorded. ${result.from}'s history does not match the files of \`${branch}\`:`,
        "",
        ...result.mismatches.map((m) => `- ${m}`),
        "",
        `Fix these, then run \`/autopilot adopt ${environment}\` again.`,
      ].join("\n");
    case "refused":
      return renderTakeOverRefusal(verb, environment, result.reason);
  }
}

export function renderTakeOverRefusal(verb: string, environment: string, reason: string): string {
  return `❌ **${verb} ${environment}**: nothing was recorded: ${reason}.`;
}
