// What POST /autopilot/events does with a verified event, through the same queue and store as GitHub's.
import type { Probot } from "probot";
import type { RunbookDeps } from "../runbooks/deps.js";
import { recordExternalDeployment } from "../store/deployments.js";
import { claimDelivery, releaseDelivery } from "../store/event-deliveries.js";
import type { EventSink } from "./events.js";

export function eventSink(app: Probot, deps: RunbookDeps): EventSink {
  return {
    async heal(repo) {
      const [owner, name] = repo.split("/");
      const appClient = await app.auth();
      // Only GitHub's 404 means "not installed"; any other failure is an error the sender may retry on.
      const installation = await appClient.rest.apps
        .getRepoInstallation({ owner, repo: name })
        .catch((error: { status?: number }) => (error.status === 404 ? undefined : Promise.reject(error)));
      if (!installation) return undefined;
      const run = await deps.enqueue({
        kind: "heal",
        trigger: "event",
        repo,
        installationId: installation.data.id,
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
