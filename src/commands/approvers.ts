// Whose approval of a migration counts: someone other than whoever brought the change in.

/** The pull request that brought the change in, as far as approvals care (github/api/pulls.ts's MergedPull fits). */
export interface BroughtInBy {
  number: number;
  author?: string;
  mergedBy?: string;
}

/**
 * Who may not approve a migration, and why: whoever started it (the pusher), and the author and
 * the merger of the pull request that brought it. Approval means someone else looked.
 */
export function ineligibleApprovers(startedBy: string | null, pull: BroughtInBy | undefined): Map<string, string> {
  const ineligible = new Map<string, string>();
  if (pull?.mergedBy) ineligible.set(pull.mergedBy, `merged pull request #${pull.number}`);
  if (pull?.author) ineligible.set(pull.author, `opened pull request #${pull.number}`);
  if (startedBy) ineligible.set(startedBy.toLowerCase(), "started this migration (pushed the commit or asked for it)");
  return ineligible;
}
