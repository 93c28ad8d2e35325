// Drift in words, the same everywhere it is shown (plan, status, the drift issue, the CLI):
// "index `orders_created_at_idx` exists only in production".
import type { DriftDifference } from "./compare.js";

/** One sentence; `where` names the target as people know it ("production", "the database"). */
export function describeDifference(difference: DriftDifference, where: string): string {
  const subject = `${difference.kind} \`${difference.name}\``;
  if (difference.change === "only-in-target") return `${subject} exists only in ${where}`;
  if (difference.change === "missing-from-target") return `${subject} is missing from ${where}`;
  const what = difference.changes.map((c) => `${c.attribute} is ${shown(c.target)} in ${where}, ${shown(c.migrations)} in the migrations`);
  return `${subject} differs: ${what.join("; ")}`;
}

/** The heading every report opens with. */
export function driftHeadline(differences: DriftDifference[], where: string): string {
  if (differences.length === 0) return `No drift: ${where} matches its migrations.`;
  return `${capitalized(where)} differs from its migrations: ${differences.length} difference${differences.length === 1 ? "" : "s"}.`;
}

/** Plain text: each difference, then its SQL suggestion indented under it. */
export function driftAsText(differences: DriftDifference[], where: string): string {
  const lines = [driftHeadline(differences, where)];
  for (const difference of differences) {
    lines.push(`- ${describeDifference(difference, where)}`);
    lines.push(...difference.suggestion.split("\n").map((line) => `    ${line}`));
  }
  return lines.join("\n");
}

function shown(value: string): string {
  if (value === "") return "none";
  const oneLine = value.replace(/\s+/g, " ");
  return `\`${oneLine.length > 120 ? `${oneLine.slice(0, 117)}…` : oneLine}\``;
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
