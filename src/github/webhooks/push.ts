// push: hand the push to the router (jobs/push-router.ts), which records a migrate run for a branch an
// environment maps and drops the rest, so hundreds of feature-branch pushes never queue ahead of
// another repository's migration; everything slow happens in the migrate job. A push to the default
// branch may change the config: every replica forgets the one it routes by.
import type { Context } from "probot";
import type pg from "pg";
import type { PushRouter } from "../../jobs/push-router.js";
import type { RepoConfigReader } from "../api/repo-files.js";
import { announceDefaultBranchMoved } from "../../store/default-branch-moves.js";

export function handlePush(db: pg.Pool, configs: RepoConfigReader, router: PushRouter) {
  return async (context: Context<"push">): Promise<void> => {
    const { payload } = context;
    if (payload.deleted || !payload.ref.startsWith("refs/heads/") || !payload.installation) return;
    const { repository } = payload;
    if (payload.ref === `refs/heads/${repository.default_branch}`) await defaultBranchMoved(db, configs, repository.full_name);
    await router.take(
      {
        deliveryId: context.id,
        repo: repository.full_name,
        installationId: payload.installation.id,
        ref: payload.ref,
        commitSha: payload.after,
        defaultBranch: repository.default_branch,
        requestedBy: payload.sender?.login ?? payload.pusher.name,
      },
      context.octokit,
    );
  };
}

/** Every replica's cached config of the repository is stale now: this one's at once, the others' by notification. */
async function defaultBranchMoved(db: pg.Pool, configs: RepoConfigReader, repo: string): Promise<void> {
  configs.forget(repo);
  await announceDefaultBranchMoved(db, repo);
}
