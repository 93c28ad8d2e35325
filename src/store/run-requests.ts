// What a run was asked to do: its kind, what started it, the commit it acts on and the parameters of
// its runbook. The one definition of that contract: a run is checked against it before it is
// recorded and again when its row is read back, so each runbook receives a request of its own kind.
import { z } from "zod";

const id = z.number().int().positive();
const commitSha = z.string().min(1);
/** The instant a scheduler slot was claimed, or a command's rate-limit claim was taken. */
const instant = z.iso.datetime();

/** Where the slash command that queued a run is answered: that run fills in its section when done. */
const replyRef = z.object({ issueNumber: id, commentId: id, replyId: id, section: z.number().int().nonnegative() });

/** Runs that commands queue answer in the command's reply; a button's have no reply. */
const byCommand = z.enum(["command", "button"]);

/** What a rollback goes back to (the database it acts on is the environment's target). */
const rollbackDestination = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("last") }),
  z.object({ kind: z.literal("version"), version: z.string().min(1) }),
  z.object({ kind: z.literal("backup"), id: z.string().min(1) }),
  z.object({ kind: z.literal("run"), runId: id }),
]);

/** Rollback rows recorded before the field was renamed call their destination `target`. */
function destinationOfOlderRow(params: unknown): unknown {
  if (typeof params !== "object" || params === null || !("target" in params) || "destination" in params) return params;
  const { target, ...rest } = params;
  return { ...rest, destination: target };
}

const migrateRequest = z.object({
  kind: z.literal("migrate"),
  trigger: z.enum(["push", "rerun", "heal", ...byCommand.options]),
  commitSha,
  params: z.object({ reply: replyRef.optional(), acceptDrift: z.boolean().optional() }),
});

const planParams = z.object({
  /** Absent for a plan of an environment's branch asked outside a pull request. */
  pull: id.optional(),
  baseRef: z.string().min(1),
  headRef: z.string().min(1),
  /** A fork's pull request is never trusted with targets. */
  fork: z.boolean(),
  reply: replyRef.optional(),
});

const planRequest = z.object({
  kind: z.literal("plan"),
  trigger: z.enum(["auto", "rerun", ...byCommand.options]),
  commitSha,
  params: planParams,
});

const rollbackRequest = z.object({
  kind: z.literal("rollback"),
  // "verify": a regression seen after a migration, with `verify.on_regression: rollback`.
  trigger: z.enum([...byCommand.options, "verify"]),
  commitSha,
  params: z.preprocess(
    destinationOfOlderRow,
    z.object({
      environment: z.string().min(1),
      destination: rollbackDestination,
      reply: replyRef.optional(),
      /** A restore that discards writes waits for this (`--confirm`, or the Confirm restore button). */
      confirmed: z.boolean().optional(),
    }),
  ),
});

const commandBackup = z.object({
  kind: z.literal("backup"),
  trigger: byCommand,
  commitSha,
  params: z.object({ environment: z.string().min(1), claimedAt: instant, reply: replyRef.optional() }),
});

/** `backups.schedule`: one run per target and slot, on no commit. */
const scheduledBackup = z.object({
  kind: z.literal("backup"),
  trigger: z.literal("schedule"),
  commitSha: z.null(),
  params: z.object({ environment: z.string().min(1), slot: instant }),
});

const backupRequest = z.discriminatedUnion("trigger", [commandBackup, scheduledBackup]);

const healRequest = z.object({
  kind: z.literal("heal"),
  trigger: z.enum(["schedule", "event", ...byCommand.options]),
  /** A command's heal records the default branch's head; a scheduled or external one acts on no commit. */
  commitSha: commitSha.nullable(),
  params: z.object({ slot: instant.optional(), reply: replyRef.optional() }),
});

const scanRequest = z.object({
  kind: z.literal("scan"),
  trigger: z.literal("schedule"),
  commitSha: z.null(),
  params: z.object({ slot: instant }),
});

/** The scheduled drift check (`drift.schedule`) of every environment whose target has a shadow server. */
const driftRequest = z.object({
  kind: z.literal("drift"),
  trigger: z.literal("schedule"),
  commitSha: z.null(),
  params: z.object({ slot: instant }),
});

/** A restore drill of one environment's newest good backup, on `backups.verify_schedule`. */
const drillRequest = z.object({
  kind: z.literal("drill"),
  trigger: z.literal("schedule"),
  commitSha: z.null(),
  params: z.object({ environment: z.string().min(1), slot: instant }),
});

/** A `/autopilot …` comment: it acts on no commit of its own. */
const commentCommand = z.object({
  kind: z.literal("command"),
  trigger: z.literal("comment"),
  commitSha: z.null(),
  params: z.object({ commentId: id, issueNumber: id, isPullRequest: z.boolean(), body: z.string() }),
});

/** An Approve or Roll back button on the Check Run of a migrate run. */
const buttonCommand = z.object({
  kind: z.literal("command"),
  trigger: z.literal("button"),
  commitSha,
  /** `runId`: the migrate run the button names (`rollback:<run id>`); older buttons name none. */
  params: z.object({ button: z.enum(["approve", "rollback", "confirm"]), checkRunId: id, runId: id.optional() }),
});

/** An approving review of a merged pull request, on its merge commit. */
const reviewCommand = z.object({
  kind: z.literal("command"),
  trigger: z.literal("review"),
  commitSha,
  params: z.object({ review: z.object({ pull: id, reviewId: id }) }),
});

/** A button on the dashboard, pressed by a signed-in user: the same command, authorized the same way. */
const dashboardCommand = z.object({
  kind: z.literal("command"),
  trigger: z.literal("dashboard"),
  commitSha: z.null(),
  params: z.object({ verb: z.enum(["heal", "backup", "rollback", "lock", "unlock"]), environment: z.string().min(1), reason: z.string().optional() }),
});

const commandRequest = z.discriminatedUnion("trigger", [commentCommand, buttonCommand, reviewCommand, dashboardCommand]);

const runRequest = z.discriminatedUnion("kind", [
  migrateRequest,
  planRequest,
  rollbackRequest,
  backupRequest,
  commandRequest,
  healRequest,
  scanRequest,
  driftRequest,
  drillRequest,
]);

export type RunRequest = z.infer<typeof runRequest>;
export type RunKind = RunRequest["kind"];
export type RequestOf<K extends RunKind> = Extract<RunRequest, { kind: K }>;
export type ParamsOf<K extends RunKind> = RequestOf<K>["params"];
export type CommandOf<T extends RequestOf<"command">["trigger"]> = Extract<RequestOf<"command">, { trigger: T }>;

/** A row or a new run whose request does not match its kind's schema. */
export class MalformedRunError extends Error {}

/** The request part of `run`, checked against its kind's schema; `what` names the run in the error. */
export function parseRunRequest(run: Partial<Record<"kind" | "trigger" | "commitSha" | "params", unknown>>, what: string): RunRequest {
  const parsed = runRequest.safeParse({ kind: run.kind, trigger: run.trigger, commitSha: run.commitSha, params: run.params });
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(request)"}: ${issue.message}`);
  throw new MalformedRunError(`${what} does not match the run contract (src/store/run-requests.ts): ${problems.join("; ")}`);
}

/** The reply of the slash command that queued this run, if one did. */
export function commandReplyOf(request: RunRequest): z.infer<typeof replyRef> | undefined {
  return "reply" in request.params ? request.params.reply : undefined;
}

/** What the plan runbook needs to know of a pull request. */
export function planParamsOfPull(pull: {
  number: number;
  head: { ref: string; repo: { id: number } | null };
  base: { ref: string; repo: { id: number } };
}): ParamsOf<"plan"> {
  return {
    pull: pull.number,
    baseRef: pull.base.ref,
    headRef: pull.head.ref,
    // A pull request whose head lives in another repository is a fork's: never trusted with targets.
    fork: pull.head.repo?.id !== pull.base.repo.id,
  };
}
