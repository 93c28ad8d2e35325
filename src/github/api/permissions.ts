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
