// Whose approval of a migration counts: someone other than whoever brought the change in.
import type { MergedPull } from "../github/api/pulls.js";

/**
 * Who may not approve a migration, and why: whoever started it (the pusher), and the author and
 * the merger of the pull request that brought it. Approval means someone else looked.
 */
export function ineligibleApprovers(startedBy: string | null, pull: MergedPull | undefined): Map<string, string> {
  const ineligible = new Map<string, string>();
  if (pull?.mergedBy) ineligible.set(pull.mergedBy, `merged pull request #${pull.number}`);
  if (pull?.author) ineligible.set(pull.author, `opened pull request #${pull.number}`);
  if (startedBy) ineligible.set(startedBy.toLowerCase(), "started this migration (pushed the commit or asked for it)");
  return ineligible;
}
