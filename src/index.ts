// The Probot app: wires handlers, routes, the queue and its workers. Nothing else lives here.
import type { ApplicationFunctionOptions, Probot } from "probot";
import { handlePush } from "./github/webhooks/push.js";
import { PushRouter } from "./jobs/push-router.js";
import { handleCheckRunRerequested } from "./github/webhooks/check-run.js";
import { handleCheckSuite, handlePullRequest } from "./github/webhooks/plan-trigger.js";
import { handleIssueComment } from "./github/webhooks/issue-comment.js";
import { handleRequestedAction } from "./github/webhooks/requested-action.js";
import { handlePullRequestReview } from "./github/webhooks/pull-request-review.js";
import { recordAndEnqueue, requeueRun, retryRun, startQueue } from "./jobs/queue.js";
import { bindBreakerStore } from "./breakers.js";
import { RateBudgets } from "./github/api/rate-budget.js";
import { startWorkers } from "./jobs/workers.js";
import { RunLocks } from "./jobs/liveness.js";
import { startReaper } from "./jobs/reaper.js";
import { healthzHandler } from "./web/healthz.js";
import { Readiness, readyzHandler } from "./web/readiness.js";
import { metricsHandler } from "./web/metrics-route.js";
import { eventsHandler } from "./web/events.js";
import { eventSink } from "./web/event-sink.js";
import { eventSecrets } from "./web/event-secrets.js";
import { dashboardHandler } from "./web/dashboard.js";
import { gitHubEndpoints } from "./github/api/user-installations.js";
import { commandPolicyFor } from "./commands/authorize.js";
import { dropLeftoverRehearsals, startHousekeeping, storeRetentionOf } from "./jobs/cleanup.js";
import { HealthScheduler } from "./jobs/scheduler.js";
import { processEnvironment, type AutopilotEnv } from "./config/environment.js";
import type { ServerConfig } from "./config/server-config.js";
import { repoConfigParser } from "./config/repo-config.js";
import { RepoConfigReader } from "./github/api/repo-files.js";
import { ListedRepositories } from "./github/api/repositories.js";
import { listenForDefaultBranchMoves } from "./store/default-branch-moves.js";
import type { Logger } from "./logger.js";
import type { Store } from "./store/store.js";
import type { RunbookDeps } from "./runbooks/deps.js";

export interface AppServices {
  store: Store;
  serverConfig: ServerConfig;
  env: AutopilotEnv;
  log: Logger;
  /** Called when the process shuts down. */
  onStop(stop: () => Promise<void>): void;
}

export function autopilotApp(services: AppServices) {
  return async (app: Probot, { addHandler }: ApplicationFunctionOptions): Promise<void> => {
    const { store, env, log } = services;
    // Unset while Probot's setup wizard runs: then no check run is ours.
    const appId = env.APP_ID ?? Number.NaN;
    const queue = await startQueue(
      store.url,
      store.pool,
      {
        retryLimit: env.AUTOPILOT_RETRY_LIMIT,
        retryDelaySeconds: env.AUTOPILOT_RETRY_DELAY_SECONDS,
        pollingIntervalSeconds: env.AUTOPILOT_JOB_POLL_SECONDS,
        maintains: env.AUTOPILOT_ROLE === "all",
      },
      log,
    );
    // Slack, deploy hooks and the LLM endpoint share their circuit breakers' state through the store.
    bindBreakerStore(store.pool);
    const rateBudgets = new RateBudgets(store.pool);
    const deps: RunbookDeps = {
      db: store.pool,
      serverConfig: services.serverConfig,
      github: async (installationId) => rateBudgets.watch(await app.auth(installationId), installationId),
      rateBudgets,
      log,
      env: processEnvironment(),
      configs: new RepoConfigReader(),
      // Two discovery rounds: a repository discovery stopped listing is asked about again.
      repositories: new ListedRepositories(2 * services.serverConfig.health.discovery_seconds * 1000),
      enqueue: (run) => recordAndEnqueue(store.pool, queue, run),
      requeue: (run) => requeueRun(store.pool, queue, run),
      retry: (run, reply) => retryRun(store.pool, queue, run, reply),
    };

    // Handlers record and enqueue on their own connections: an acknowledgement never waits behind a job.
    const hooks = store.webhookPool;
    const pushRouter = new PushRouter({
      answering: hooks,
      db: store.pool,
      queue,
      configs: deps.configs,
      parse: repoConfigParser(services.serverConfig),
      github: deps.github,
      log,
    });
    app.on("push", handlePush(hooks, deps.configs, pushRouter));
    app.on("check_run.rerequested", handleCheckRunRerequested(hooks, queue, appId));
    app.on(["pull_request.opened", "pull_request.synchronize", "pull_request.reopened"], handlePullRequest(hooks, queue));
    app.on(["check_suite.requested", "check_suite.rerequested"], handleCheckSuite(hooks, queue));
    app.on("issue_comment.created", handleIssueComment(hooks, queue));
    app.on("check_run.requested_action", handleRequestedAction(hooks, queue, appId));
    app.on("pull_request_review.submitted", handlePullRequestReview(hooks, queue));
    const stopListening = listenForDefaultBranchMoves(
      store.url,
      { onMove: (repo) => deps.configs.forget(repo), onListening: (on) => deps.configs.listen(on) },
      log,
    );
    addHandler(healthzHandler(store.healthzPool));
    // A web replica keeps pushes until their config is read and has no discovery to wait for.
    const readiness = new Readiness(env.AUTOPILOT_ROLE === "web" ? [] : ["configs"]);
    addHandler(readyzHandler(store.healthzPool, readiness));
    addHandler(metricsHandler(store.pool, { token: env.AUTOPILOT_METRICS_TOKEN, public: env.AUTOPILOT_METRICS_PUBLIC }));
    const events = eventSecrets(services.serverConfig, processEnvironment(), env.AUTOPILOT_SECRET, log);
    addHandler(eventsHandler(events.secretsFor, eventSink(app, deps), events.enabled));
    addHandler(
      dashboardHandler({
        db: store.pool,
        secret: env.AUTOPILOT_SECRET,
        oauth: env.GITHUB_CLIENT_ID && env.GITHUB_CLIENT_SECRET ? { clientId: env.GITHUB_CLIENT_ID, clientSecret: env.GITHUB_CLIENT_SECRET } : undefined,
        endpoints: gitHubEndpoints(env.GHE_HOST, env.GHE_PROTOCOL),
        serverConfig: services.serverConfig,
        policy: commandPolicyFor(services.serverConfig.commands, undefined).policy,
        enqueue: deps.enqueue,
        log,
      }),
    );

    // Every role: a push kept by a replica that stopped before routing it is routed by the others.
    const stopRoutingLeftPushes = pushRouter.start();
    const stopAnswering = async () => {
      await stopRoutingLeftPushes();
      await stopListening();
    };
    if (env.AUTOPILOT_ROLE === "web") {
      // Answers only: the jobs it enqueues are run by the replicas with the role "all".
      log.info("role web: this replica answers HTTP and runs no jobs, scheduler or housekeeping");
      services.onStop(async () => {
        await stopAnswering();
        await queue.stop();
      });
      return;
    }
    const runLocks = new RunLocks(store.url, log);
    await startWorkers(queue, deps, runLocks);
    void dropLeftoverRehearsals(services.serverConfig, log);
    const stopReaper = startReaper(queue, deps, env.AUTOPILOT_REAPER_SECONDS);
    const scheduler = new HealthScheduler(app, deps);
    scheduler.start(services.serverConfig.health.discovery_seconds, () => readiness.done("configs"));
    const stopHousekeeping = startHousekeeping(store.pool, storeRetentionOf(services.serverConfig), log);
    services.onStop(async () => {
      await stopAnswering();
      await stopReaper();
      await stopHousekeeping();
      await scheduler.stop();
      await queue.stop();
      await runLocks.close();
    });
  };
}
