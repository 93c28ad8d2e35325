// GitHub asks an app to send one client's writes in turn and about one a second (Probot's throttling
// spaces each installation's writes so, in arrival order). In arrival order, a production migration's
// check run waited behind every plan comment and command reply its installation had queued: in
// drill:load a migration applied in 50 ms then read "Backing up…" for 80 s. The jobs' writes therefore
// pass through one lane per installation, one write at a time, the most urgent kind of run first, so
// the throttle's own queue holds only the write going out. Reads are not held: they have no such limit.
// Nor is the installation token's request, which Octokit makes from inside the write that needs it.
import type { RunKind } from "../../store/run-requests.js";
import type { GitHubClient } from "./client.js";

/** Lower goes first; runs of one urgency write in the order they asked. */
export const WRITE_URGENCY: Record<RunKind, number> = {
  // A change to a database in flight: its check run and its comments are what people watch.
  migrate: 0,
  rollback: 0,
  // Someone waiting for a reply; an incident opened or closed.
  command: 1,
  heal: 1,
  backup: 2,
  plan: 2,
  drift: 2,
  drill: 2,
  // Anomaly findings and weekly insights can wait.
  scan: 3,
};

interface WaitingWrite {
  urgency: number;
  order: number;
  go: () => void;
}

/** One installation's writes: one at a time, the most urgent waiting write next. */
class Lane {
  private writing = false;
  private asked = 0;
  private readonly waiting: WaitingWrite[] = [];

  get idle(): boolean {
    return !this.writing && this.waiting.length === 0;
  }

  async write<T>(urgency: number, send: () => Promise<T>): Promise<T> {
    if (this.writing) await new Promise<void>((go) => this.enqueue({ urgency, order: this.asked++, go }));
    this.writing = true;
    try {
      return await send();
    } finally {
      // The lane passes straight to the next write, so nothing can slip in between.
      const next = this.waiting.shift();
      if (next) next.go();
      else this.writing = false;
    }
  }

  private enqueue(write: WaitingWrite): void {
    const at = this.waiting.findIndex((w) => w.urgency > write.urgency);
    if (at === -1) this.waiting.push(write);
    else this.waiting.splice(at, 0, write);
  }
}

export class WriteLanes {
  private readonly lanes = new Map<number, Lane>();

  /** The client's writes take their turn in the installation's lane at the urgency of `kind`. */
  order(github: GitHubClient, installationId: number, kind: RunKind): GitHubClient {
    const urgency = WRITE_URGENCY[kind];
    github.hook.wrap("request", async (request, options) => {
      if (!isRepositoryWrite(options)) return request(options);
      const lane = this.laneOf(installationId);
      try {
        return await lane.write(urgency, async () => request(options));
      } finally {
        // An idle lane is dropped (a thousand installations keep no map); a newer one is left alone.
        if (lane.idle && this.lanes.get(installationId) === lane) this.lanes.delete(installationId);
      }
    });
    return github;
  }

  private laneOf(installationId: number): Lane {
    let lane = this.lanes.get(installationId);
    if (!lane) this.lanes.set(installationId, (lane = new Lane()));
    return lane;
  }
}

/** A write to a repository (a check run, a comment, an issue, a reaction), as opposed to a read or the app's own token requests. */
function isRepositoryWrite(options: { method: string; url: string }): boolean {
  const path = options.url.replace(/^https?:\/\/[^/]+(\/api\/v3)?/, "");
  return options.method !== "GET" && options.method !== "HEAD" && path.startsWith("/repos/");
}
