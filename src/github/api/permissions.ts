// Who may do what, as GitHub sees it: the collaborator permission endpoint.
import type { GitHubClient, RepoRef } from "./client.js";
import type { Permission } from "../../commands/authorize.js";

export async function permissionOf(github: GitHubClient, repo: RepoRef, login: string): Promise<Permission> {
  try {
    const { data } = await github.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: login });
    // role_name keeps maintain/triage, which `permission` folds into write/read.
    const role = (data as { role_name?: string }).role_name;
    return (["admin", "maintain", "write", "triage", "read"].includes(role ?? "") ? role : data.permission) as Permission;
  } catch (error) {
    if ((error as { status?: number }).status === 404) return "none";
    throw error;
  }
}

/** The merged pull request that brought a commit in, with who opened and merged it. */
export interface MergedPull {
  number: number;
  author?: string;
  mergedBy?: string;
  /** The pull request's head when it was merged: the code its approvals must have seen. */
  headSha: string;
}

/** The number of the merged pull request that brought a commit in (the one lookup of it). */
export async function mergedPullNumber(github: GitHubClient, repo: RepoRef, commitSha: string): Promise<number | undefined> {
  const { data: pulls } = await github.rest.repos.listPullRequestsAssociatedWithCommit({ ...repo, commit_sha: commitSha });
  return pulls.find((pr) => pr.merged_at)?.number;
}

export async function mergedPullOf(github: GitHubClient, repo: RepoRef, commitSha: string): Promise<MergedPull | undefined> {
  const number = await mergedPullNumber(github, repo, commitSha);
  if (number === undefined) return undefined;
  // Only the full pull request names its merger.
  const { data: pull } = await github.rest.pulls.get({ ...repo, pull_number: number });
  return { number: pull.number, author: pull.user?.login?.toLowerCase(), mergedBy: pull.merged_by?.login?.toLowerCase(), headSha: pull.head.sha };
}

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

/** Users whose latest review of the pull request approves `headSha` (a review of an earlier head does not count). */
export async function approvingReviewers(github: GitHubClient, repo: RepoRef, pullNumber: number, headSha: string): Promise<string[]> {
  const reviews = await github.paginate(github.rest.pulls.listReviews, { ...repo, pull_number: pullNumber, per_page: 100 });
  const latest = new Map<string, { state: string; commitId: string | null }>();
  for (const review of reviews) {
    if (review.user && review.state !== "COMMENTED") latest.set(review.user.login.toLowerCase(), { state: review.state, commitId: review.commit_id });
  }
  return [...latest].filter(([, review]) => review.state === "APPROVED" && review.commitId === headSha).map(([login]) => login);
}
