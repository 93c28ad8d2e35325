// The command runbook: a `/autopilot …` comment (or an Approve / Roll back button) is acknowledged,
// parsed, authorized by the commenter's permission, and answered with one reply. Quick commands are
// answered at once; work that takes time runs as its own job and fills in its section later.
import { helpText, unknownCommandReply } from "../commands/help.js";
import { authorize, type CommandPolicy, type Permission } from "../commands/authorize.js";
import { parseCommands, type Command } from "../commands/parse.js";
import { environmentForBranch, sectionWarnings, type RepoConfig } from "../config/repo-config.js";
import { ConfigError, formatProblem, type ConfigProblem } from "../config/yaml-errors.js";
import { permissionOf } from "../github/api/permissions.js";
import { postReply, react, type ReplyRef } from "../report/command-reply.js";
import type { GitHubClient } from "../github/api/client.js";
import { redact } from "../redact.js";
import { audit } from "../store/audit.js";
import type { CommandOf } from "../store/run-requests.js";
import { finishRun, findRunByCheckRun, getRun, isRunOf, waitingRunForCommit, type Run, type RunOf } from "../store/runs.js";
import { takeConfirmation } from "../store/restore-confirmations.js";
import type { Attempt, RunbookDeps } from "./deps.js";
import { CommandActions, type ActionResult } from "./command-actions.js";
import { beginRun, RunContext } from "./run-context.js";

type CommentParams = CommandOf<"comment">["params"];
type ButtonParams = CommandOf<"button">["params"];
type ReviewParams = CommandOf<"review">["params"];
type DashboardParams = CommandOf<"dashboard">["params"];

export async function runCommand(deps: RunbookDeps, runId: number, _attempt: Attempt): Promise<void> {
  const begun = await beginRun(deps, runId, "command");
  if (!begun) return;
  const { run, github } = begun;
  const session = new CommandRun(deps, run, github);
  switch (run.trigger) {
    case "comment":
      return session.answer(run.params);
    case "button":
      return session.pressButton(run.params);
    case "review":
      return session.reviewed(run.params, run.commitSha);
    case "dashboard":
      return session.pressDashboardButton(run.params);
  }
}

export async function concludeInterrupted(deps: RunbookDeps, run: Run): Promise<void> {
  await finishRun(deps.db, run.id, { status: "failure", title: "interrupted: the worker stopped", error: "interrupted" });
}

class CommandRun extends RunContext<RunOf<"command">> {
  constructor(deps: RunbookDeps, run: RunOf<"command">, github: GitHubClient) {
    super(deps, run, github);
  }

  async answer(params: CommentParams): Promise<void> {
    const config = await this.loadRepoConfig();
    if (config instanceof ConfigError) {
      await react(this.github, this.repo, params.commentId, "eyes");
      await postReply(this.github, this.repo, params.issueNumber, [
        `❌ Autopilot cannot read its config:\n\n${config.problems.map((p) => `- \`${formatProblem(p)}\``).join("\n")}`,
      ]);
      return this.finish(params.commentId, false, "config invalid");
    }
    const scope = await this.scope(config);
    const { commands, errors } = parseCommands(params.body, { environments: scope.environments });
    // A mention inside a code block or a quote is not a command: no reaction, no reply.
    if (commands.length === 0 && errors.length === 0) {
      return void (await finishRun(this.deps.db, this.run.id, { status: "skipped", title: "no command in the comment" }));
    }
    await react(this.github, this.repo, params.commentId, "eyes");
    const help = helpText({ environments: scope.environments, defaultEnvironment: scope.defaultEnvironment, policy: scope.policy });
    const permission = await permissionOf(this.github, this.repo, this.run.requestedBy!);
    const actions = new CommandActions(this, config, { issueNumber: params.issueNumber, isPullRequest: params.isPullRequest });

    const results: ActionResult[] = errors.map((error) => ({ ok: false, text: unknownCommandReply(error, help) }));
    if (scope.problems.length) results.push({ ok: true, text: ignoredSettings(scope.problems) });
    for (const command of commands) results.push(await this.run1(command, permission, scope, actions, help));
    const replyId = await postReply(
      this.github,
      this.repo,
      params.issueNumber,
      results.map((r) => r.text),
    );
    const pending = results.filter((r) => r.later);
    for (const [section, result] of results.entries()) {
      if (result.later) await result.later({ issueNumber: params.issueNumber, commentId: params.commentId, replyId, section });
    }
    // Work still running reacts for itself when done; what is already settled is marked now.
    const failed = results.some((r) => !r.ok);
    if (failed || pending.length === 0) await this.finish(params.commentId, !failed, `${results.length} command(s)`);
    else await finishRun(this.deps.db, this.run.id, { status: "success", title: `${results.length} command(s); ${pending.length} queued` });
  }

  /** Authorizes and runs one command; every refusal says why and is audited. */
  private async run1(command: Command, permission: Permission, scope: Scope, actions: CommandActions, help: string): Promise<ActionResult> {
    // A cancel acts on its run's environment (admin on production), not on the default one.
    if (command.verb === "cancel") command = { ...command, environment: (await actions.cancelEnvironment(command.runId)) ?? command.environment };
    const decision = authorize(command, permission, scope.policy, scope.defaultEnvironment, this.run.requestedBy ?? undefined);
    const environment = command.environment ?? scope.defaultEnvironment;
    if (!decision.allowed) {
      await audit(this.deps.db, {
        actor: this.run.requestedBy,
        repo: this.run.repo,
        environment,
        action: command.verb,
        outcome: "refused",
        detail: { reason: decision.reason },
      });
      return { ok: false, text: `❌ \`${command.text}\`: ${decision.reason}` };
    }
    try {
      const result = command.verb === "help" ? { ok: true, text: help } : await actions.perform(command, environment);
      await audit(this.deps.db, {
        actor: this.run.requestedBy,
        repo: this.run.repo,
        environment,
        action: command.verb,
        outcome: result.later ? "queued" : result.ok ? "success" : "failure",
        detail: { command: command.text },
      });
      return result;
    } catch (error) {
      const message = redact((error as Error)?.message ?? String(error));
      await audit(this.deps.db, {
        actor: this.run.requestedBy,
        repo: this.run.repo,
        environment,
        action: command.verb,
        outcome: "error",
        detail: { error: message },
      });
      return { ok: false, text: `❌ \`${command.text}\` failed: ${message}` };
    }
  }

  /**
   * The Approve and Roll back buttons on a migrate run: the same commands, by whoever pressed. Roll
   * back reverts the run the button names and nothing else (the rollback refuses when that run was
   * rolled back already or a newer one is applied on top of it).
   */
  async pressButton(params: ButtonParams): Promise<void> {
    if (params.button === "confirm") return this.confirmRestore(params);
    const migrateRun = await this.runOfButton(params);
    const config = await this.loadRepoConfig();
    if (!migrateRun?.environment || config instanceof ConfigError) {
      const why = migrateRun?.environment
        ? "the repository config is invalid"
        : `no migrate run of ${this.run.repo} ${params.runId ?? `for check run ${params.checkRunId}`}`;
      return void (await finishRun(this.deps.db, this.run.id, { status: "failure", title: `${params.button} button: ${why}` }));
    }
    const scope = await this.scope(config);
    const command: Command =
      params.button === "approve"
        ? { verb: "approve", environment: migrateRun.environment, line: 0, text: "Approve button" }
        : { verb: "rollback", environment: migrateRun.environment, rollback: { kind: "run", runId: migrateRun.id }, line: 0, text: "Roll back button" };
    const permission = await permissionOf(this.github, this.repo, this.run.requestedBy!);
    const actions = new CommandActions(this, config, { waitingRun: migrateRun });
    const result = await this.run1(command, permission, scope, actions, "");
    if (result.later) await result.later(undefined);
    await finishRun(this.deps.db, this.run.id, { status: result.ok ? "success" : "failure", title: result.text.slice(0, 200) });
  }

  /**
   * The Confirm restore button of a rollback that waited: the same rollback again, confirmed, by
   * whoever pressed it with their own authorization; taken once, so a second press restores nothing.
   */
  private async confirmRestore(params: ButtonParams): Promise<void> {
    const waiting = params.runId ? await getRun(this.deps.db, params.runId) : undefined;
    const config = await this.loadRepoConfig();
    const fail = (why: string) => finishRun(this.deps.db, this.run.id, { status: "failure", title: `Confirm restore button: ${why}` });
    if (!waiting || !isRunOf(waiting, "rollback") || waiting.repo.toLowerCase() !== this.run.repo.toLowerCase()) {
      return void (await fail(`no rollback run of ${this.run.repo} ${params.runId ?? ""}`.trim()));
    }
    if (config instanceof ConfigError) return void (await fail("the repository config is invalid"));
    const scope = await this.scope(config);
    const { environment, destination } = waiting.params;
    const command: Command = { verb: "rollback", environment, rollback: destination, confirm: true, line: 0, text: "Confirm restore button" };
    const permission = await permissionOf(this.github, this.repo, this.run.requestedBy!);
    const allowed = authorize(command, permission, scope.policy, scope.defaultEnvironment, this.run.requestedBy ?? undefined).allowed;
    // Only an authorized press takes the confirmation; a refused one is refused (and audited) by run1.
    if (allowed && !(await takeConfirmation(this.deps.db, waiting.id, this.run.requestedBy ?? "unknown"))) {
      return void (await fail(`rollback run ${waiting.id} is not waiting for a confirmation (confirmed already?)`));
    }
    const result = await this.run1(command, permission, scope, new CommandActions(this, config, {}), "");
    if (result.later) await result.later(undefined);
    await finishRun(this.deps.db, this.run.id, { status: result.ok ? "success" : "failure", title: result.text.slice(0, 200) });
  }

  /** The migrate run a button belongs to: the one it names, else the one that owns the Check Run. */
  private async runOfButton(params: ButtonParams): Promise<RunOf<"migrate"> | undefined> {
    const run = params.runId ? await getRun(this.deps.db, params.runId) : await findRunByCheckRun(this.deps.db, params.checkRunId);
    // A button only ever acts on a migrate run of its own repository.
    return run?.kind === "migrate" && run.repo.toLowerCase() === this.run.repo.toLowerCase() ? run : undefined;
  }

  /** A dashboard button: the command it stands for, authorized by the user's permission now, audited as from the dashboard. */
  async pressDashboardButton(params: DashboardParams): Promise<void> {
    const config = await this.loadRepoConfig();
    if (config instanceof ConfigError) {
      return void (await finishRun(this.deps.db, this.run.id, { status: "failure", title: `dashboard ${params.verb}: the repository config is invalid` }));
    }
    const scope = await this.scope(config);
    const command: Command = {
      verb: params.verb,
      environment: params.environment,
      ...(params.verb === "rollback" ? { rollback: { kind: "last" as const } } : {}),
      ...(params.reason ? { reason: params.reason } : {}),
      line: 0,
      text: `dashboard: ${params.verb} ${params.environment}`,
    };
    const permission = await permissionOf(this.github, this.repo, this.run.requestedBy!);
    const result = await this.run1(command, permission, scope, new CommandActions(this, config, {}), "");
    if (result.later) await result.later(undefined);
    await finishRun(this.deps.db, this.run.id, { status: result.ok ? "success" : "failure", title: result.text.slice(0, 200) });
  }

  /** An approving review submitted after the merge: the waiting migration counts its approvals again. */
  async reviewed(params: ReviewParams, mergeCommitSha: string): Promise<void> {
    const waiting = await waitingRunForCommit(this.deps.db, this.run.repo, mergeCommitSha);
    // A run stopped by a lock stays stopped; requeue refuses it too (store/runs.ts reopenRun).
    const requeued = waiting && waiting.waitingFor !== "lock" ? await this.deps.requeue(waiting) : false;
    await finishRun(this.deps.db, this.run.id, {
      status: requeued ? "success" : "skipped",
      title: requeued
        ? `review of #${params.review.pull}: the waiting ${waiting!.environment} migration counts its approvals again`
        : `review of #${params.review.pull}: no migration of ${mergeCommitSha.slice(0, 7)} waits for approval`,
    });
  }

  private async finish(commentId: number, ok: boolean, title: string): Promise<void> {
    await react(this.github, this.repo, commentId, ok ? "rocket" : "confused");
    await finishRun(this.deps.db, this.run.id, { status: ok ? "success" : "failure", title });
  }

  /** The environments commands may name, the default one, and who may do what. */
  private async scope(config: RepoConfig): Promise<Scope> {
    const environments = [...new Set(config.environments.map((e) => e.environment))];
    const defaultEnvironment = environmentForBranch(config, await this.defaultBranch())?.environment ?? environments[0];
    return { environments, defaultEnvironment, policy: config.commands, problems: sectionWarnings(this.repoConfigWarnings, "commands") };
  }
}

interface Scope {
  environments: string[];
  defaultEnvironment: string;
  policy: CommandPolicy;
  /** Repository settings that would loosen the rules, ignored. */
  problems: ConfigProblem[];
}

function ignoredSettings(problems: ConfigProblem[]): string {
  const list = problems.map((p) => `- \`${p.key}\`: ${p.message}`).join("\n");
  return `⚠️ **.github/autopilot.yml**: these settings would loosen the rules and are ignored:\n\n${list}`;
}

export type { ReplyRef };
