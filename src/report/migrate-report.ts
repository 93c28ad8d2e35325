// Turns a migrate outcome into what users read: the Check Run, the PR comment and Slack.
import { driftHeadline, driftMarkdown } from "./drift-markdown.js";
import { formatProblem, type ConfigProblem } from "../config/yaml-errors.js";
import { statusOf, type MigrateOutcome, type Recovery } from "../runbooks/migrate-outcome.js";
import type { Annotation, CheckRunOutcome } from "./check-run.js";
import { describeLoss } from "../backups/loss-description.js";
import { describeLock } from "../store/locks.js";
import { verificationHeadline, verificationSection } from "./verify-report.js";
import { foreignHistorySentence } from "../database/target-origin.js";

const ms = (n: number) => (n >= 1000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`);
const size = (bytes: number | null) => (bytes === null ? "?" : bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MB` : `${(bytes / 1024).toFixed(1)} kB`);

/** The Check Run's text, before its conclusion (which is the run's status) is added. */
type CheckRunText = Omit<CheckRunOutcome, "conclusion">;

/** `runId`: the migrate run, named by its Roll back button so that pressing it reverts this run only. */
export function renderCheckRun(outcome: MigrateOutcome, runId?: number): CheckRunOutcome {
  return { conclusion: statusOf(outcome), ...describeOutcome(outcome, runId) };
}

function describeOutcome(outcome: MigrateOutcome, runId: number | undefined): CheckRunText {
  switch (outcome.kind) {
    case "config-invalid":
      return {
        title: `Invalid .github/autopilot.yml (${outcome.problems.length} problem${outcome.problems.length === 1 ? "" : "s"})`,
        summary: `Nothing was applied. Fix these and push again:\n\n${outcome.problems.map((p) => `- \`${formatProblem(p)}\``).join("\n")}`,
        annotations: outcome.problems.map((p) => ({ path: p.file, line: p.line ?? 1, level: "failure", message: `${p.key ? `${p.key}: ` : ""}${p.message}` })),
      };
    case "unbound":
      return {
        title: `No database bound for ${outcome.environment}`,
        summary: `Nothing was applied: ${outcome.reason}.\n\nAn operator binds a database to **${outcome.repo}** / **${outcome.environment}** in the server config (\`autopilot.server.yml\`, \`targets:\`).`,
      };
    case "wrong-repository":
      return {
        title: `Refused: ${outcome.repo} is not the repository ${outcome.environment} is bound to`,
        summary: `Nothing was applied to **${outcome.environment}**: ${outcome.reason}`,
      };
    case "refused":
      return {
        title: `Refused: ${outcome.problems[0]?.message ?? "migration files are inconsistent"}`.slice(0, 200),
        summary: `Nothing was applied to **${outcome.environment}**.\n\n${outcome.problems.map((p) => `- ${p.severity === "error" ? "❌" : "⚠️"} \`${p.path}${p.line ? `:${p.line}` : ""}\` ${p.message}`).join("\n")}`,
        annotations: outcome.problems.map((p) => ({
          path: p.path,
          line: p.line ?? 1,
          level: p.severity === "error" ? "failure" : "warning",
          message: p.message,
          title: p.code,
        })),
      };
    case "up-to-date":
      return {
        title: `Up to date (${outcome.appliedCount} applied)`,
        summary: `**${outcome.environment}** already has every migration of this commit.`,
      };
    case "backup-failed":
      return {
        title: "Backup failed; nothing applied",
        summary: `Autopilot backs up **${outcome.environment}** before applying anything. The backup failed, so none of the ${outcome.pending} pending migration(s) ran.\n\n\`\`\`\n${outcome.error}\n\`\`\``,
      };
    case "applied":
      return {
        title: `Applied ${outcome.applied.length} migration${outcome.applied.length === 1 ? "" : "s"} to ${outcome.environment}${outcome.verification ? `; ${verificationHeadline(outcome.verification)}` : ""}`,
        summary:
          `${appliedTable(outcome.applied)}\n\nBackup taken before applying: \`${outcome.backup.id}\` (${size(outcome.backup.sizeBytes)}). ${outcome.appliedCount} migrations applied in all.` +
          (outcome.verification ? `\n\n${verificationSection(outcome.verification)}` : ""),
        actions: [{ label: "Roll back", description: "Revert what this run applied", identifier: rollbackIdentifier(runId) }],
      };
    case "failed":
      return renderFailure(outcome);
    case "cancelled":
      return renderCancelled(outcome, runId);
    case "locked":
      return {
        title: `Locked: ${outcome.environment} is locked by @${outcome.lock.lockedBy}`,
        summary: `Nothing was applied: ${describeLock(outcome.lock)}.\n\nWhen it is unlocked (\`/autopilot unlock ${outcome.environment}\`), run \`/autopilot migrate ${outcome.environment}\`.`,
      };
    case "awaiting-approval":
      return {
        title: `Waiting for approval (${outcome.approvers.length} of ${outcome.needed})`,
        summary:
          `**${outcome.environment}** needs ${outcome.needed} approval(s) from users with write permission before it migrates.\n\n` +
          `Approved so far: ${outcome.approvers.length ? outcome.approvers.map((a) => `@${a}`).join(", ") : "nobody"}.\n\n` +
          "Approve with the button above, an approving review on the merged pull request, or `/autopilot approve` on it. The last approval starts the migration.",
        actions: [{ label: "Approve", description: "Approve this migration", identifier: "approve" }],
      };
    case "foreign-history":
    case "unmanaged-tables":
      return describeTakeOver(outcome);
    case "drift-blocked":
      return {
        title: `Held: ${driftHeadline(outcome.drift)}`.slice(0, 200),
        summary:
          `Nothing was applied: \`drift.on_push: block\` holds pushes to **${outcome.environment}** while its schema differs from its migrations. ` +
          `Resolve the drift (the SQL below), then push again or run \`/autopilot migrate ${outcome.environment}\`; or an admin runs ` +
          `\`/autopilot migrate ${outcome.environment} --accept-drift\` to apply anyway.\n\n${driftMarkdown(outcome.drift)}`,
      };
    case "unreachable":
      return {
        title: `Database unreachable after ${outcome.attempts} attempt${outcome.attempts === 1 ? "" : "s"}`,
        summary: `Nothing was applied to **${outcome.environment}**: the database could not be reached.\n\n\`\`\`\n${outcome.error}\n\`\`\`\n\nPush again or run \`/autopilot migrate\` once it is back.`,
      };
    case "crashed":
      return {
        title: `Autopilot failed after ${outcome.attempts} attempt${outcome.attempts === 1 ? "" : "s"}`,
        summary: `The run stopped with an internal error:\n\n\`\`\`\n${outcome.error}\n\`\`\``,
      };
  }
}

/** A database Autopilot did not migrate: nothing ran, and the summary says how to take it over. */
function describeTakeOver(outcome: Extract<MigrateOutcome, { kind: "foreign-history" | "unmanaged-tables" }>): CheckRunText {
  const env = outcome.environment;
  const baseline = `\`/autopilot baseline <version> ${env}\` (or \`migrations.baseline: <version>\` in .github/autopilot.yml)`;
  if (outcome.kind === "foreign-history") {
    const sentence = foreignHistorySentence(outcome.histories, `\`/autopilot adopt ${env}\``);
    return {
      title: `Nothing applied: ${sentence}`.replace(/`/g, "").slice(0, 200),
      summary:
        `Nothing was applied to **${env}**: ${sentence}.\n\n` +
        "`adopt` reads that tool's table, matches its versions to this repository's files and records them as applied (the other tool's table is left as it is); " +
        `it reports every mismatch instead of guessing. If the files do not match that history, ${baseline} records the files up to a version instead.`,
    };
  }
  const shown = outcome.tables.map((t) => `\`${t}\``).join(", ") + (outcome.tableCount > outcome.tables.length ? `, … (${outcome.tableCount} in all)` : "");
  return {
    title: `Nothing applied: ${env} has ${outcome.tableCount} table(s) but no migration history`,
    summary:
      `Nothing was applied to **${env}**: it already has tables (${shown}) but no migration history, so running the first of ${outcome.pending} file(s) against it could fail or damage data.\n\n` +
      `- If the database already has the schema of the files up to some version: ${baseline} records them as applied without running them; the later ones then apply.\n` +
      `- If another migration tool migrated it, keep its history table and run \`/autopilot adopt ${env}\`.`,
  };
}

/** GitHub caps an action's identifier at 20 characters: `rollback:` leaves room for 11 digits. */
export function rollbackIdentifier(runId: number | undefined): string {
  return runId === undefined ? "rollback" : `rollback:${runId}`;
}

function appliedTable(applied: Array<{ version: string; name: string; durationMs: number }>): string {
  if (applied.length === 0) return "No migration committed.";
  const rows = applied.map((a) => `| ${a.version} | ${a.name} | ${ms(a.durationMs)} |`);
  return ["| Version | Name | Duration |", "|---|---|---|", ...rows].join("\n");
}

/** Stopped between files by `/autopilot cancel`: what applied stays, the rest never ran. */
function renderCancelled(outcome: Extract<MigrateOutcome, { kind: "cancelled" }>, runId: number | undefined): CheckRunText {
  const { applied, remaining } = outcome;
  const files = (n: number) => `${n} migration${n === 1 ? "" : "s"}`;
  return {
    title: `Cancelled by @${outcome.by}: applied ${applied.length} of ${applied.length + remaining.length} migrations to ${outcome.environment}`,
    summary: [
      `@${outcome.by} cancelled this run with \`/autopilot cancel\`; it stopped between files, never inside one. ` +
        `**${outcome.environment}** keeps the ${files(applied.length)} applied before the cancel (nothing was restored); the other ${files(remaining.length)} did not run.`,
      `Applied:\n\n${appliedTable(applied)}`,
      `Cancelled, not applied: ${remaining.map((f) => `\`${f.version}_${f.name}\``).join(", ") || "none"}.`,
      `Backup taken before applying: \`${outcome.backup.id}\`. A new push, or \`/autopilot migrate ${outcome.environment}\`, applies the rest.`,
    ].join("\n\n"),
    actions: applied.length ? [{ label: "Roll back", description: "Revert what this run applied", identifier: rollbackIdentifier(runId) }] : undefined,
  };
}

function renderFailure(outcome: Extract<MigrateOutcome, { kind: "failed" }>): CheckRunText {
  const f = outcome.failure;
  const where = `${f.file.path}:${f.line}${f.column ? `:${f.column}` : ""}`;
  const pgError = [`ERROR: ${f.message}`, f.code && `SQLSTATE: ${f.code}`, f.detail && `DETAIL: ${f.detail}`, f.hint && `HINT: ${f.hint}`]
    .filter(Boolean)
    .join("\n");
  const annotation: Annotation = { path: f.file.path, line: f.line, level: "failure", title: `Migration ${f.file.version} failed`, message: pgError };
  return {
    title: `${f.file.version}_${f.file.name} failed: ${f.message}`.slice(0, 200),
    summary: [
      `Migration \`${where}\` failed on **${outcome.environment}**:`,
      "```\n" + pgError + (f.statement ? `\n\nStatement:\n${f.statement.slice(0, 2000)}` : "") + "\n```",
      `**What was done about it:** ${describeRecovery(outcome.recovery)}`,
      `Committed before the failure in this run:\n\n${appliedTable(outcome.applied)}`,
      `Backup taken before applying: \`${outcome.backup.id}\`.`,
    ].join("\n\n"),
    annotations: [annotation],
  };
}

export function describeRecovery(recovery: Recovery): string {
  switch (recovery.action) {
    case "nothing-committed":
      return "the failing file ran in a transaction that was rolled back; nothing of this run was committed, the database is as it was.";
    case "restored":
      return (
        `the database was restored from backup \`${recovery.backupId}\`; its history matches the database again (${recovery.historyCount} applied). ` +
        safetyBackups(recovery.backupId, recovery.safetyBackupIds) +
        ownersNotKept(recovery.ownersNotKept) +
        (recovery.loss ? `\n\n${describeLoss(recovery.loss)}` : "")
      );
    case "kept":
      return `\`on_failure: stop\` is set, so what committed before the failure was kept: ${recovery.committed.map((c) => `\`${c}\``).join(", ")}.`;
    case "not-restored":
      return (
        `⚠️ the database was NOT restored: the backup of its current state, taken first so that no write made since \`${recovery.backupId}\` is lost, failed: ${recovery.error}. ` +
        `What committed stays: ${recovery.committed.map((c) => `\`${c}\``).join(", ")}. To restore anyway: \`/autopilot rollback ${recovery.backupId}\`.`
      );
    case "restore-failed":
      return (
        `⚠️ restoring backup \`${recovery.backupId}\` FAILED: ${recovery.error}. The database may hold part of this run; restore it by hand with \`autopilot restore\`. ` +
        safetyBackups(recovery.backupId, recovery.safetyBackupIds)
      );
  }
}

function safetyBackups(backupId: string, ids: string[]): string {
  if (ids.length === 0) return "";
  const [latest, ...earlier] = [...ids].reverse();
  const others = earlier.length ? ` (and ${earlier.map((id) => `\`${id}\``).join(", ")}, by an earlier attempt that was interrupted)` : "";
  return `The state just before the restore was backed up first: \`${latest}\`${others}; writes made since \`${backupId}\` can be recovered from it.`;
}

function ownersNotKept(owners: string[]): string {
  if (owners.length === 0) return "";
  return ` ⚠️ The restoring role cannot become ${owners.map((o) => `\`${o}\``).join(", ")}, so it now owns what they owned: grant your application's role access again, or restore through a role that is a member of them.`;
}

/** One-paragraph text for Slack and the pull-request comment, from the Check Run as rendered (and shown). */
export function renderShort(check: CheckRunOutcome, repo: string, sha: string): { tone: "success" | "failure" | "warning"; headline: string; body: string } {
  const tone = check.conclusion === "success" ? "success" : check.conclusion === "failure" ? "failure" : "warning";
  return { tone, headline: `${repo}@${sha.slice(0, 7)}: ${check.title}`, body: check.summary };
}

/** A broken `health` section never stops a migration, but every push says what is wrong with it. */
export function withHealthWarnings(rendered: CheckRunOutcome, problems: ConfigProblem[]): CheckRunOutcome {
  if (problems.length === 0) return rendered;
  const list = problems.map((p) => `- \`${formatProblem(p)}\``).join("\n");
  return {
    ...rendered,
    summary: `${rendered.summary}\n\n⚠️ **The health section of .github/autopilot.yml is invalid; health checks are paused until it is fixed:**\n\n${list}`,
    annotations: [
      ...(rendered.annotations ?? []),
      ...problems.map((p) => ({ path: p.file, line: p.line ?? 1, level: "warning" as const, title: "health config", message: `${p.key}: ${p.message}` })),
    ],
  };
}
