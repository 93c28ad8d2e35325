// Where the app is installed. Listing installations and finding a repository's installation take the
// app's own client (authenticated as the app); an installation's repositories take that installation's.
import type { GitHubClient, RepoRef } from "./client.js";

export async function listInstallations(appClient: GitHubClient) {
  return appClient.paginate(appClient.rest.apps.listInstallations, { per_page: 100 });
}

/** The repositories an installation client may reach. */
export async function installedRepositories(github: GitHubClient) {
  return github.paginate(github.rest.apps.listReposAccessibleToInstallation, { per_page: 100 });
}

/** The id of the installation on `repo`; undefined when the app is not installed there (GitHub's 404 only). */
export async function installationOf(appClient: GitHubClient, repo: RepoRef): Promise<number | undefined> {
  try {
    const { data } = await appClient.rest.apps.getRepoInstallation({ ...repo });
    return data.id;
  } catch (error) {
    if ((error as { status?: number }).status === 404) return undefined;
    throw error;
  }
}
