// push: record the run and enqueue it. Everything slow happens in the migrate job. A push to a
// branch no environment maps is dropped here, so hundreds of feature-branch pushes never queue
// ahead of another repository's migration. A push to the default branch may change the config: every
// replica forgets the one it routes by.
import type { Context } from "probot";
import type pg from "pg";
import { environmentForBranch, type LoadedRepoConfig } from "../../config/repo-config.js";
import { recordAndEnqueue, type Queue } from "../../jobs/queue.js";
import { splitRepo } from "../api/client.js";
import type { RepoConfigReader } from "../api/repo-files.js";
import { announceDefaultBranchMoved } from "../../store/default-branch-moves.js";

/** `parse`: repoConfigParser's, one function for the process's life, so the reader reuses its result while the config's text is unchanged. */
export function handlePush(db: pg.Pool, queue: Queue, configs: RepoConfigReader, parse: (text: string | null) => LoadedRepoConfig) {
  return async (context: Context<"push">): Promise<void> => {
    const { payload } = context;
    if (payload.deleted || !payload.ref.startsWith("refs/heads/") || !payload.installation) return;
    if (payload.ref === `refs/heads/${payload.repository.default_branch}`) await defaultBranchMoved(db, configs, payload.repository.full_name);
    if (await mapsToNoEnvironment(context, configs, parse)) {
      context.log.debug({ ref: payload.ref }, "push to a branch no environment maps; nothing to do");
      return;
    }
    const run = await recordAndEnqueue(db, queue, {
      kind: "migrate",
      trigger: "push",
      repo: payload.repository.full_name,
      installationId: payload.installation.id,
      ref: payload.ref,
      commitSha: payload.after,
      requestedBy: payload.sender?.login ?? payload.pusher.name,
      deliveryId: context.id,
      params: {},
    });
    if (!run) context.log.info({ commit: payload.after }, "push already recorded (redelivery); not enqueued again");
  };
}

/** Every replica's cached config of the repository is stale now: this one's at once, the others' by notification. */
async function defaultBranchMoved(db: pg.Pool, configs: RepoConfigReader, repo: string): Promise<void> {
  configs.forget(repo);
  await announceDefaultBranchMoved(db, repo);
}

/**
 * True when the default branch's config maps this branch to no environment: decided by the config
 * cached since the default branch last moved (no request), else by one read conditional on the
 * last one's ETag (a 304 costs nothing against the rate limit).
 * A push to the default branch may change the config itself, and a config that cannot be read now
 * may be readable by the job's retries: both go to the job, which reports them.
 */
async function mapsToNoEnvironment(context: Context<"push">, configs: RepoConfigReader, parse: (text: string | null) => LoadedRepoConfig): Promise<boolean> {
  const { repository, ref } = context.payload;
  const branch = ref.slice("refs/heads/".length);
  if (branch === repository.default_branch) return false;
  try {
    const { config, errors } = await configs.readParsedTrusted(context.octokit, splitRepo(repository.full_name), repository.default_branch, parse);
    // The job skips a non-default branch while the config is invalid: the default branch's push reports it.
    return errors.length > 0 || !environmentForBranch(config, branch);
  } catch (error) {
    context.log.warn({ err: error, ref }, "could not read the config to route this push; the job will");
    return false;
  }
}
