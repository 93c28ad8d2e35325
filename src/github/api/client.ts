// The authenticated Octokit every call to GitHub goes through: Probot's client, authenticated as an
// installation (or as the app, for the app-level reads), in production and against the fake GitHub in tests.
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
