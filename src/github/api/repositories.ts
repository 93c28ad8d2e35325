// A repository as GitHub describes it, and where its branches point.
import type { GitHubClient, RepoRef } from "./client.js";

export interface Repository {
  id: number;
  default_branch: string;
}

/**
 * What the scheduler's discovery last listed of each installed repository (its id and default
 * branch): a heal cycle, every minute for every repository, reads it rather than asking GitHub each
 * time. Entries older than `freshForMs` (no discovery has succeeded since) are not used.
 */
export class ListedRepositories {
  private readonly listed = new Map<string, { repository: Repository; at: number }>();

  constructor(private readonly freshForMs: number) {}

  /** This discovery's listing: it replaces the last one. */
  replace(repositories: Array<Repository & { full_name: string }>): void {
    this.listed.clear();
    const at = Date.now();
    for (const { id, default_branch, full_name } of repositories) this.listed.set(full_name.toLowerCase(), { repository: { id, default_branch }, at });
  }

  fresh(fullName: string): Repository | undefined {
    const entry = this.listed.get(fullName.toLowerCase());
    return entry && Date.now() - entry.at <= this.freshForMs ? entry.repository : undefined;
  }
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
