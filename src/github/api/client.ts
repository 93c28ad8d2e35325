// The narrow slice of Octokit that report/ and the runbooks use, so tests and the CLI can pass
// any authenticated client (Probot's installation client in production).
import type { ProbotOctokit } from "probot";

export type GitHubClient = InstanceType<typeof ProbotOctokit>;

export interface RepoRef {
  owner: string;
  repo: string;
}

export function splitRepo(fullName: string): RepoRef {
  const [owner, repo] = fullName.split("/");
  return { owner, repo };
}
