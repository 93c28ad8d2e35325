// Who may do what, as GitHub sees it: the collaborator permission endpoint.
import type { GitHubClient, RepoRef } from "../report/octokit.js";
import type { Permission } from "../commands/authorize.js";

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

/** Users whose latest review of the pull request approves it. */
export async function approvingReviewers(github: GitHubClient, repo: RepoRef, pullNumber: number): Promise<string[]> {
  const reviews = await github.paginate(github.rest.pulls.listReviews, { ...repo, pull_number: pullNumber, per_page: 100 });
  const latest = new Map<string, string>();
  for (const review of reviews) {
    if (review.user && review.state !== "COMMENTED") latest.set(review.user.login.toLowerCase(), review.state);
  }
  return [...latest].filter(([, state]) => state === "APPROVED").map(([login]) => login);
}
