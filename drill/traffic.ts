// The webhook traffic of `npm run drill:load`: a realistic mix of deliveries across the fleet, most of
// which Autopilot must answer and drop (pushes to branches no environment maps, ordinary comments,
// other apps' check runs), a few of which start work (plans, `/autopilot status`, plan re-runs), and
// pushes of a new migration to the default branch of some repositories. Each delivery says whether
// a run must be recorded for it, so that one never recorded counts as lost.
import { randomBytes, randomUUID } from "node:crypto";
import type { Fleet, FleetRepo } from "../test/harness/fleet.js";
import { checkRunPayload, issueCommentPayload, pullRequestPayload, pushPayload } from "../test/harness/webhooks.js";
import { PLAN_CHECK_NAME } from "../src/report/check-names.js";

export interface DrillDelivery {
  kind: TrafficKind | "migration push";
  repo: FleetRepo;
  event: string;
  deliveryId: string;
  /** The payload as sent; dropped once it is handed to the sender (120,000 of them would be gigabytes). */
  body?: string;
  /** A run must be recorded with this delivery's id. */
  expectsRun: boolean;
  /** For a migration push: the commit pushed. */
  commitSha?: string;
  /** When it is sent, in Date.now() milliseconds. */
  dueAt?: number;
}

/** Deliveries per 1,000, by kind: what a busy organisation's App receives. */
export const TRAFFIC_MIX = {
  "push to a feature branch (unmapped)": 700,
  "issue comment, not a command": 160,
  "check_run completed (another app)": 110,
  "pull_request synchronize (plan)": 15,
  "issue comment /autopilot status": 10,
  "check_run rerequested (plan re-run)": 5,
} as const;

export type TrafficKind = keyof typeof TRAFFIC_MIX;

const OPERATOR = "drill-ops";
/** The App's id as the app process is started with (APP_ID=1): only its own check runs are re-run. */
const APP_ID = 1;
const OTHER_APP_ID = 424242;
const PULLS_PER_REPO = 5;

export class Traffic {
  private readonly kinds: TrafficKind[] = [];
  private readonly operators = new Set<string>();
  /** The last head of each repository's pull requests: what a re-run re-plans. */
  private readonly pullHeads = new Map<string, { number: number; headRef: string; sha: string }>();
  private serial = 0;

  constructor(
    private readonly fleet: Fleet,
    private readonly random: () => number = Math.random,
  ) {
    for (const [kind, weight] of Object.entries(TRAFFIC_MIX) as Array<[TrafficKind, number]>) for (let i = 0; i < weight; i++) this.kinds.push(kind);
  }

  /** The next delivery of the mix, to a repository picked at random. */
  next(): DrillDelivery {
    const kind = this.kinds[Math.floor(this.random() * this.kinds.length)];
    const repo = this.fleet.repos[Math.floor(this.random() * this.fleet.repos.length)];
    switch (kind) {
      case "push to a feature branch (unmapped)":
        return this.delivery(kind, repo, "push", false, pushPayload(this.pushOptions(repo, `refs/heads/feature/drill-${this.serial++}`, sha(), sha())));
      case "issue comment, not a command":
        return this.delivery(
          kind,
          repo,
          "issue_comment",
          false,
          this.comment(repo, 1 + Math.floor(this.random() * 40), "Looks good to me, merging after CI.", "dev"),
        );
      case "check_run completed (another app)":
        return this.delivery(
          kind,
          repo,
          "check_run",
          false,
          checkRunPayload({
            action: "completed",
            repo: repo.fullName,
            installationId: repo.installationId,
            headSha: sha(),
            name: "ci/build",
            status: "completed",
            conclusion: "success",
            appId: OTHER_APP_ID,
          }),
        );
      case "pull_request synchronize (plan)":
        return this.synchronize(repo);
      case "issue comment /autopilot status":
        return this.statusCommand(repo);
      case "check_run rerequested (plan re-run)":
        return this.planRerun(repo);
    }
  }

  /** A push of a new migration file to the repository's default branch: one migrate run, one migration applied. */
  migrationPush(repo: FleetRepo, file: string, sql: string): DrillDelivery {
    const { before, after } = this.fleet.commitToMain(repo, { [file]: sql });
    const payload = pushPayload({ ...this.pushOptions(repo, "refs/heads/main", before, after), added: [file] });
    return { ...this.delivery("migration push", repo, "push", true, payload), commitSha: after };
  }

  private pushOptions(repo: FleetRepo, ref: string, before: string, after: string) {
    return { repo: repo.fullName, ref, before, after, installationId: repo.installationId, repoId: repo.id, sender: "dev" };
  }

  private synchronize(repo: FleetRepo): DrillDelivery {
    const number = 100 + Math.floor(this.random() * PULLS_PER_REPO);
    const headRef = `feature/pr-${number}`;
    const file = `migrations/0100_pr_${number}.sql`;
    const headSha = this.fleet.github.commit(
      repo.fullName,
      { ...repo.mainFiles, [file]: `alter table items add column note_${this.serial++} text;\n` },
      { branch: headRef },
    );
    this.fleet.github.setPullsForCommit(repo.fullName, headSha, [{ number, headRef, baseRef: "main", state: "open", user: "dev" }]);
    this.pullHeads.set(repo.fullName, { number, headRef, sha: headSha });
    const payload = pullRequestPayload({
      action: "synchronize",
      repo: repo.fullName,
      number,
      headSha,
      baseRef: "main",
      headRef,
      installationId: repo.installationId,
      login: "dev",
    });
    return this.delivery("pull_request synchronize (plan)", repo, "pull_request", true, payload);
  }

  private statusCommand(repo: FleetRepo): DrillDelivery {
    if (!this.operators.has(repo.fullName)) {
      this.fleet.github.setPermission(repo.fullName, OPERATOR, "write");
      this.operators.add(repo.fullName);
    }
    return this.delivery("issue comment /autopilot status", repo, "issue_comment", true, this.comment(repo, 1, "/autopilot status", OPERATOR));
  }

  private planRerun(repo: FleetRepo): DrillDelivery {
    const pull = this.pullHeads.get(repo.fullName);
    if (!pull) return this.synchronize(repo);
    const payload = checkRunPayload({
      action: "rerequested",
      repo: repo.fullName,
      installationId: repo.installationId,
      headSha: pull.sha,
      name: PLAN_CHECK_NAME,
      status: "completed",
      conclusion: "success",
      appId: APP_ID,
      headBranch: pull.headRef,
      login: "dev",
      pullRequests: [{ number: pull.number, headRef: pull.headRef, baseRef: "main" }],
    });
    return this.delivery("check_run rerequested (plan re-run)", repo, "check_run", true, payload);
  }

  /** A comment seeded in the fake GitHub (so the app can react to it and answer), as its delivery's payload. */
  private comment(repo: FleetRepo, issueNumber: number, body: string, login: string) {
    const commentId = this.fleet.github.addComment(repo.fullName, issueNumber, { body, user: login });
    return issueCommentPayload({ repo: repo.fullName, issueNumber, isPullRequest: false, body, login, installationId: repo.installationId, commentId });
  }

  private delivery(kind: DrillDelivery["kind"], repo: FleetRepo, event: string, expectsRun: boolean, payload: object): DrillDelivery {
    return { kind, repo, event, deliveryId: randomUUID(), body: JSON.stringify(payload), expectsRun };
  }
}

function sha(): string {
  return randomBytes(20).toString("hex");
}
