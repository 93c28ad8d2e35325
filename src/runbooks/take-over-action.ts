// `/autopilot adopt [env]` and `/autopilot baseline <version> [env]`: the files of the environment's
// branch are matched against the target and recorded, or not, at once. Both only write history rows,
// so they answer in the command's reply rather than as runs of their own.
import type { Command } from "../commands/parse.js";
import { branchForEnvironment, type RepoConfig } from "../config/repo-config.js";
import { indexMigrations, type MigrationRef } from "../database/migration-files.js";
import { adoptForeignHistory, baselineHistory } from "../database/take-over.js";
import { listDirectory } from "../github/api/repo-files.js";
import { renderTakeOver, renderTakeOverRefusal } from "../report/take-over-reply.js";
import { describeLock, findLock } from "../store/locks.js";
import type { ActionResult } from "./command-actions.js";
import type { RunContext } from "./run-context.js";

export async function takeOver(ctx: RunContext, config: RepoConfig, command: Command, environment: string): Promise<ActionResult> {
  const verb = command.verb === "baseline" ? `baseline ${command.version}` : "adopt";
  const refuse = (reason: string): ActionResult => ({ ok: false, text: renderTakeOverRefusal(verb, environment, reason) });
  const lock = await findLock(ctx.deps.db, ctx.run.repo, environment);
  if (lock) return refuse(`${environment} is locked: ${describeLock(lock)}`);
  const target = await ctx.resolveTarget(environment);
  if (typeof target === "string") return refuse(target);

  const branch = branchForEnvironment(config, environment) ?? (await ctx.defaultBranch());
  const directory = config.migrations.directory;
  const { refs, problems } = indexMigrations(await listDirectory(ctx.github, ctx.repo, branch, directory), directory, config.migrations.layout);
  const errors = problems.filter((p) => p.severity === "error");
  if (errors.length) return refuse(`the migration files of \`${branch}\` have problems: ${errors.map((p) => `\`${p.path}\` ${p.message}`).join("; ")}`);

  const options = { databaseUrl: target.databaseUrl, refs, lockWaitSeconds: config.migrations.lock_wait_seconds };
  const result =
    command.verb === "baseline"
      ? await baselineHistory({ ...options, version: command.version!, by: `@${ctx.run.requestedBy ?? "unknown"}` })
      : await adoptForeignHistory({ ...options, contentsOf: (wanted) => contentsOf(ctx, wanted) });
  return { ok: result.kind === "recorded", text: renderTakeOver(verb, environment, branch, result) };
}

/** The files' contents by path, downloaded by blob SHA. */
async function contentsOf(ctx: RunContext, refs: MigrationRef[]): Promise<Map<string, Buffer>> {
  const blobs = await ctx.blobs(refs.map((r) => r.checksum));
  return new Map(refs.map((r) => [r.path, blobs.get(r.checksum)!]));
}
