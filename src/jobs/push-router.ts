// Routing a push: a migrate run when an environment maps its branch (or it is the default branch),
// nothing otherwise. Decided by the default branch's config: when this replica holds it trusted
// (github/api/repo-files.ts), while the webhook waits, at no cost; when it does not, the push is kept
// in the store and routed behind the answer, once the config has been read (one read per repository
// however many of its pushes wait). A push never waits for GitHub before it is answered, so a cold
// cache after a start (every repository's config to read, behind the installation's other
// requests) costs the answers nothing. A kept push whose replica stopped is routed by the sweep.
import type pg from "pg";
import { environmentForBranch, type LoadedRepoConfig } from "../config/repo-config.js";
import { splitRepo, type GitHubClient } from "../github/api/client.js";
import type { RepoConfigReader } from "../github/api/repo-files.js";
import type { Logger } from "../logger.js";
import { GroupCommit } from "../store/group-commit.js";
import { dropPushesKeptLongerThan, keepPushesToRoute, pushesLeftToRoute, routed, type PushToRoute } from "../store/pushes-to-route.js";
import { recordAndEnqueue, type Queue } from "./queue.js";
import { repeatEvery } from "./repeat.js";

/** A kept push older than this was not routed by its replica (which routes within seconds): the sweep does it. */
export const LEFT_BEHIND_SECONDS = 60;

/**
 * Config reads for kept pushes under way at once on this replica. After a start every repository's
 * first push is kept and its config read; unpaced, a thousand answers arrived together and parsing
 * them held the event loop for seconds, acknowledgements included (drill:load, a web replica).
 */
export const CONFIG_READS_AT_ONCE = 4;

/** A push nobody could route for this long (the app lost access to the repository, say) is dropped, with an error in the log. */
export const GIVE_UP_HOURS = 24;

export interface PushRouterDeps {
  /** The webhooks' own connections: what an answer waits for (keeping a push, routing it now). */
  answering: pg.Pool;
  /** The store's pool: routing behind the answers never takes a connection an answer waits for. */
  db: pg.Pool;
  queue: Queue;
  configs: RepoConfigReader;
  /** repoConfigParser's, one function for the process's life, so the reader reuses its result while the config's text is unchanged. */
  parse: (text: string | null) => LoadedRepoConfig;
  github: (installationId: number) => Promise<GitHubClient>;
  log: Logger;
}

export class PushRouter {
  private reading = 0;
  private readonly waiting: Array<() => void> = [];
  /**
   * Kept pushes are written together: after a start every push is kept until its config is read,
   * and one insert each queued them for the webhooks' few connections — answers took seconds.
   */
  private readonly keeping: GroupCommit<PushToRoute>;

  constructor(private readonly deps: PushRouterDeps) {
    this.keeping = new GroupCommit((pushes) => keepPushesToRoute(deps.answering, pushes));
  }

  /**
   * Routes the push now when that asks GitHub nothing (the default branch, or a config this replica
   * trusts), else keeps it in the store and routes it behind the answer.
   */
  async take(push: PushToRoute, github: GitHubClient): Promise<void> {
    if (isDefaultBranch(push) || this.deps.configs.trusts(splitRepo(push.repo), push.defaultBranch)) return this.route(push, github, this.deps.answering);
    await this.keeping.add(push);
    // The event's own client: a client per kept push would cost as much as the read it saves.
    void this.routeKept(push, github);
  }

  /** Routes the pushes other replicas kept and did not route (they stopped); returns how many. */
  async sweep(): Promise<number> {
    for (const push of await dropPushesKeptLongerThan(this.deps.db, GIVE_UP_HOURS)) {
      this.deps.log.error({ repo: push.repo, ref: push.ref, delivery: push.deliveryId }, `a push could not be routed for ${GIVE_UP_HOURS} hours; dropped`);
    }
    const left = await pushesLeftToRoute(this.deps.db, LEFT_BEHIND_SECONDS);
    for (const push of left) await this.routeKept(push);
    return left.length;
  }

  /** Sweeps every `everySeconds`, at once first (a replica that restarts routes what it left); returns a stop function. */
  start(everySeconds = 30): () => Promise<void> {
    return repeatEvery(
      everySeconds,
      () => this.sweep(),
      (error) => this.deps.log.warn({ err: error }, "routing left-behind pushes failed; trying again later"),
    );
  }

  /** Routes a kept push and forgets it; on failure it stays for the sweep. */
  private async routeKept(push: PushToRoute, github?: GitHubClient): Promise<void> {
    try {
      await this.whileReadingPaced(push, async () => this.route(push, github ?? (await this.deps.github(push.installationId)), this.deps.db));
      await routed(this.deps.db, push.deliveryId);
    } catch (error) {
      this.deps.log.warn({ err: error, repo: push.repo, ref: push.ref }, "could not route a push yet; the sweep will");
    }
  }

  /** Runs `work` at once when it needs no config read, else with at most CONFIG_READS_AT_ONCE others that do. */
  private async whileReadingPaced(push: PushToRoute, work: () => Promise<void>): Promise<void> {
    if (this.deps.configs.trusts(splitRepo(push.repo), push.defaultBranch)) return work();
    if (this.reading >= CONFIG_READS_AT_ONCE) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.reading++;
    try {
      await work();
    } finally {
      this.reading--;
      this.waiting.shift()?.();
    }
  }

  private async route(push: PushToRoute, github: GitHubClient, db: pg.Pool): Promise<void> {
    if (await this.mapsToNoEnvironment(push, github)) {
      this.deps.log.debug({ repo: push.repo, ref: push.ref }, "push to a branch no environment maps; nothing to do");
      return;
    }
    const run = await recordAndEnqueue(db, this.deps.queue, {
      kind: "migrate",
      trigger: "push",
      repo: push.repo,
      installationId: push.installationId,
      ref: push.ref,
      commitSha: push.commitSha,
      requestedBy: push.requestedBy,
      deliveryId: push.deliveryId,
      params: {},
    });
    if (!run) this.deps.log.info({ repo: push.repo, commit: push.commitSha }, "push already recorded (redelivery); not enqueued again");
  }

  /**
   * True when the default branch's config maps this branch to no environment. A push to the default
   * branch may change the config itself, and a config that cannot be read now may be readable by the
   * job's retries: both go to the job, which reports them.
   */
  private async mapsToNoEnvironment(push: PushToRoute, github: GitHubClient): Promise<boolean> {
    if (isDefaultBranch(push)) return false;
    try {
      const { config, errors } = await this.deps.configs.readParsedTrusted(github, splitRepo(push.repo), push.defaultBranch, this.deps.parse);
      // The job skips a non-default branch while the config is invalid: the default branch's push reports it.
      return errors.length > 0 || !environmentForBranch(config, branchOf(push));
    } catch (error) {
      this.deps.log.warn({ err: error, repo: push.repo, ref: push.ref }, "could not read the config to route this push; the job will");
      return false;
    }
  }
}

const branchOf = (push: PushToRoute) => push.ref.slice("refs/heads/".length);
const isDefaultBranch = (push: PushToRoute) => branchOf(push) === push.defaultBranch;
