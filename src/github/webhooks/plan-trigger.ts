// pull_request and check_suite events that ask for a plan of a pull request's head.
import type { Context } from "probot";
import type pg from "pg";
import { recordAndEnqueue, type Queue } from "../../jobs/queue.js";
import { planParamsOfPull } from "../../store/run-requests.js";

export function handlePullRequest(db: pg.Pool, queue: Queue) {
  return async (context: Context<"pull_request.opened" | "pull_request.synchronize" | "pull_request.reopened">): Promise<void> => {
    const { pull_request: pull, repository, installation, sender } = context.payload;
    if (!installation || pull.state !== "open") return;
    await recordAndEnqueue(db, queue, {
      kind: "plan",
      trigger: "auto",
      repo: repository.full_name,
      installationId: installation.id,
      ref: pull.head.ref,
      commitSha: pull.head.sha,
      requestedBy: sender.login,
      deliveryId: context.id,
      params: planParamsOfPull(pull),
    });
  };
}

/** check_suite requested/rerequested: GitHub lists the suite's (same-repository) pull requests. */
export function handleCheckSuite(db: pg.Pool, queue: Queue) {
  return async (context: Context<"check_suite.requested" | "check_suite.rerequested">): Promise<void> => {
    const { check_suite: suite, repository, installation, sender, action } = context.payload;
    if (!installation) return;
    for (const pull of suite.pull_requests) {
      await recordAndEnqueue(db, queue, {
        kind: "plan",
        trigger: action === "requested" ? "auto" : "rerun",
        repo: repository.full_name,
        installationId: installation.id,
        ref: pull.head.ref,
        commitSha: suite.head_sha,
        requestedBy: sender.login,
        deliveryId: context.id,
        params: planParamsOfPull(pull),
      });
    }
  };
}
