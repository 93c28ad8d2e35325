// Pull requests: one by number, the merged one that brought a commit in, and its approving reviews.
import type { GitHubClient, RepoRef } from "./client.js";

export type PullRequest = Awaited<ReturnType<GitHubClient["rest"]["pulls"]["get"]>>["data"];

export async function pullRequest(github: GitHubClient, repo: RepoRef, number: number): Promise<PullRequest> {
  const { data } = await github.rest.pulls.get({ ...repo, pull_number: number });
  return data;
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
  const pull = await pullRequest(github, repo, number);
  return { number: pull.number, author: pull.user?.login?.toLowerCase(), mergedBy: pull.merged_by?.login?.toLowerCase(), headSha: pull.head.sha };
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
