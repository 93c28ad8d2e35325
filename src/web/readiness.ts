// GET /readyz: whether this replica should be sent traffic yet. /healthz says the process is alive;
// readiness says it is warm: a replica that runs the scheduler is ready once its first discovery
// round has read every installed repository's config. Before that every push is kept in the store
// until its config is read, and a thousand of those in the first seconds after a start queued behind
// one another (drill:load). A load balancer that sends deliveries to ready replicas only (Kubernetes'
// readinessProbe, a rolling deploy) keeps them on the warm ones meanwhile.
import type { IncomingMessage, ServerResponse } from "node:http";
import type pg from "pg";
import { answerWhenStoreAnswers } from "./healthz.js";

/** What a replica still warms up before it is ready; each part is marked done once. */
export class Readiness {
  private readonly waiting: Set<string>;

  constructor(parts: string[]) {
    this.waiting = new Set(parts);
  }

  done(part: string): void {
    this.waiting.delete(part);
  }

  /** The parts still warming up (empty once ready). */
  get waitingFor(): string[] {
    return [...this.waiting];
  }
}

/** `db`: a pool of its own (the healthz pool), so the answer never waits behind busy jobs. */
export function readyzHandler(db: pg.Pool, readiness: Readiness) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== "GET" || req.url?.split("?")[0] !== "/readyz") return false;
    const waitingFor = readiness.waitingFor;
    if (waitingFor.length) res.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify({ status: "starting", waitingFor }));
    else await answerWhenStoreAnswers(db, res, { status: "ready" });
    return true;
  };
}
