// A repository as GitHub describes it, and where its branches point.
import type { GitHubClient, RepoRef } from "./client.js";

export interface Repository {
  id: number;
  default_branch: string;
}

export async function repositoryOf(github: GitHubClient, repo: RepoRef): Promise<Repository> {
  const { data } = await github.rest.repos.get({ ...repo });
  return data;
}

/** The commit a branch points at now. */
export async function branchHead(github: GitHubClient, repo: RepoRef, branch: string): Promise<string> {
  const { data } = await github.rest.repos.getBranch({ ...repo, branch });
  return data.commit.sha;
}
