// What a target's errors may show the public. PostgreSQL's error details quote the offending row
// (production data); they leave the process only when the operator allows it for that target
// (server config `targets[].show_row_values`).
import { hideRowValues } from "../database/errors.js";
import type { CheckRunOutcome } from "./check-run.js";

/** A Check Run outcome as it may be shown: row values replaced by `…` unless `showRowValues`. */
export function shownOutcome(outcome: CheckRunOutcome, showRowValues: boolean): CheckRunOutcome {
  if (showRowValues) return outcome;
  return {
    ...outcome,
    title: hideRowValues(outcome.title),
    summary: hideRowValues(outcome.summary),
    ...(outcome.text !== undefined ? { text: hideRowValues(outcome.text) } : {}),
    ...(outcome.annotations ? { annotations: outcome.annotations.map((a) => ({ ...a, message: hideRowValues(a.message) })) } : {}),
  };
}
