// GitHub Deployments: each successful migrate or rollback shows in the repository's Environments view.
import { redact } from "../redact.js";
import type { GitHubClient, RepoRef } from "../github/api/client.js";

export async function createDeployment(github: GitHubClient, repo: RepoRef, sha: string, environment: string, description: string): Promise<void> {
  const { data } = await github.rest.repos.createDeployment({
    ...repo,
    ref: sha,
    environment,
    description: redact(description).slice(0, 140),
    auto_merge: false,
    required_contexts: [],
    production_environment: environment === "production",
  });
  if (!("id" in data)) return; // 202: GitHub merged the branch instead; nothing to mark
  await github.rest.repos.createDeploymentStatus({
    ...repo,
    deployment_id: data.id,
    state: "success",
    environment,
    description: redact(description).slice(0, 140),
  });
}
