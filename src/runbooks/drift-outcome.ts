// What a drift check found, as plain data: the plan, the status reply, the push gate and the
// scheduled issue all render it (report/drift-markdown.ts).
import type { DriftDifference } from "../database/drift/compare.js";

export type DriftFinding =
  | { kind: "compared"; environment: string; differences: DriftDifference[]; unknownVersions: string[] }
  /** The check could not run (target or shadow server unreachable, a file that no longer applies). */
  | { kind: "failed"; environment: string; error: string };

export const hasDrift = (finding: DriftFinding | undefined): boolean => finding?.kind === "compared" && finding.differences.length > 0;
