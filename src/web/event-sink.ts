// What POST /autopilot/events does with a verified event, through the same queue and store as GitHub's.
import type { Probot } from "probot";
import { splitRepo } from "../github/api/client.js";
import { installationOf } from "../github/api/installations.js";
import type { RunbookDeps } from "../runbooks/deps.js";
import { recordExternalDeployment } from "../store/deployments.js";
import { claimDelivery, releaseDelivery } from "../store/event-deliveries.js";
import type { EventSink } from "./events.js";

export function eventSink(app: Probot, deps: RunbookDeps): EventSink {
  return {
    async heal(repo) {
      // Any failure but "not installed" is an error the sender may retry on.
      const installationId = await installationOf(await app.auth(), splitRepo(repo));
      if (installationId === undefined) return undefined;
      const run = await deps.enqueue({
        kind: "heal",
        trigger: "event",
        repo,
        installationId,
        ref: null,
        commitSha: null,
        requestedBy: "external event",
        deliveryId: null,
        params: {},
      });
      return run?.id;
    },
    claimDelivery(repo, deliveryId) {
      return claimDelivery(deps.db, repo, deliveryId);
    },
    releaseDelivery(repo, deliveryId) {
      return releaseDelivery(deps.db, repo, deliveryId);
    },
    async deployed(event) {
      await recordExternalDeployment(deps.db, { repo: event.repo, environment: event.environment ?? "production", commitSha: event.commit ?? null });
    },
  };
}
