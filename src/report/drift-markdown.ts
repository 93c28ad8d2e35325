// Drift as Markdown, shared by the plan, `/autopilot status`, the push gate and the drift issue.
import { describeDifference } from "../database/drift/describe.js";
import type { DriftFinding } from "../runbooks/drift-outcome.js";

/** At most this many differences are listed with their SQL; the rest are counted. */
const LISTED = 50;

export function driftHeadline(finding: DriftFinding): string {
  if (finding.kind === "failed") return `Drift of ${finding.environment} could not be checked: ${finding.error}`;
  const n = finding.differences.length;
  if (n === 0) return `${finding.environment} matches its migrations: no drift.`;
  const first = describeDifference(finding.differences[0], finding.environment);
  return `${finding.environment} differs from its migrations: ${first}${n > 1 ? ` (and ${n - 1} more)` : ""}`;
}

/** A heading, each difference with its SQL suggestion, and a note on versions with no file. */
export function driftMarkdown(finding: DriftFinding, heading = "### Drift"): string {
  const lines = [heading, "", driftHeadline(finding)];
  if (finding.kind === "failed") return lines.join("\n");
  for (const difference of finding.differences.slice(0, LISTED)) {
    lines.push(
      "",
      `- ${describeDifference(difference, finding.environment)}`,
      "",
      "  ```sql",
      ...difference.suggestion.split("\n").map((l) => `  ${l}`),
      "  ```",
    );
  }
  if (finding.differences.length > LISTED) lines.push("", `…and ${finding.differences.length - LISTED} more; run \`npx autopilot drift\` for the whole list.`);
  if (finding.unknownVersions.length) {
    lines.push(
      "",
      `> Applied version(s) ${finding.unknownVersions.map((v) => `\`${v}\``).join(", ")} have no file in the repository; what they did is not compared.`,
    );
  }
  return lines.join("\n");
}
