// What a drift check found, as plain data: the plan, the status reply, the push gate and the
// scheduled issue all render it (report/drift-markdown.ts). The result is the one the store keeps.
import type { DriftResult } from "../store/drift-checks.js";

export type DriftFinding = DriftResult & { environment: string };

export const hasDrift = (finding: DriftFinding | undefined): boolean => finding?.kind === "compared" && finding.differences.length > 0;
