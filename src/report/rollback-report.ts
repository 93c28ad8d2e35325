// Renders a rollback for the autopilot/rollback Check Run, the command reply and Slack.
import { statusOf, type RollbackOutcome } from "../runbooks/rollback-outcome.js";
import type { CheckRunOutcome } from "./check-run.js";
import { verificationHeadline, verificationSection } from "./verify-report.js";
import { describeLoss } from "../backups/loss-description.js";

export function renderRollback(outcome: RollbackOutcome): CheckRunOutcome {
  const described = describeOutcome(outcome);
  const verification = "verification" in outcome ? outcome.verification : undefined;
  if (!verification) return { conclusion: statusOf(outcome), ...described };
  return {
    conclusion: statusOf(outcome),
    ...described,
    title: `${described.title}; ${verificationHeadline(verification)}`,
    summary: `${described.summary}\n\n${verificationSection(verification)}`,
  };
}

function describeOutcome(outcome: RollbackOutcome): Omit<CheckRunOutcome, "conclusion"> {
  switch (outcome.kind) {
    case "refused":
      return {
        title: `Rollback refused: ${outcome.reason}`.slice(0, 200),
        summary: `Nothing was changed on **${outcome.environment}**: ${outcome.reason}.`,
      };
    case "reverted": {
      const rows = outcome.reverted.map((r) => `| ${r.version} | ${r.name} | ${Math.round(r.durationMs)} ms |`).join("\n");
      return {
        title: `Reverted ${outcome.reverted.length} migration${outcome.reverted.length === 1 ? "" : "s"} on ${outcome.environment}`,
        summary: `Down files applied, newest first, each in its own transaction; the history rows are marked reverted.\n\n| Version | Name | Duration |\n|---|---|---|\n${rows}\n\n${undoHint(outcome.safetyBackup.id)}`,
      };
    }
    case "restored":
      return {
        title: `Restored ${outcome.environment} from backup ${outcome.restoredBackupId}`,
        summary: `The database is back to backup \`${outcome.restoredBackupId}\`; its history shows ${outcome.historyCount} applied migration(s).${ownersWarning(outcome.ownersNotKept)}${outcome.loss ? `\n\n${describeLoss(outcome.loss)}` : ""}\n\n${undoHint(outcome.safetyBackup.id)}`,
      };
    case "unconfirmed":
      return {
        title: `Confirm: restoring ${outcome.environment} from backup ${outcome.loss.backupId} discards writes`,
        summary: [
          `Nothing was changed on **${outcome.environment}** yet.`,
          describeLoss(outcome.loss),
          "Before restoring, Autopilot takes a safety backup of the current state and names it, so these writes stay recoverable.",
          `To restore anyway, press **${CONFIRM_LABEL}** on the autopilot/rollback check run, or comment the same rollback command with \`--confirm\`.`,
        ].join("\n\n"),
        actions: [{ label: CONFIRM_LABEL, description: "Restore, discarding the writes listed", identifier: `confirm:${outcome.runId}` }],
      };
    case "failed":
      return {
        title: `Rollback failed${outcome.where ? ` at ${outcome.where.path}:${outcome.where.line}` : ""}`,
        summary: [
          `The rollback of **${outcome.environment}** stopped:`,
          "```\n" + outcome.error + "\n```",
          outcome.reverted.length
            ? `Already reverted before the failure: ${outcome.reverted.map((r) => `\`${r.version}_${r.name}\``).join(", ")}.`
            : "Nothing was reverted: the failing step rolled back.",
          undoHint(outcome.safetyBackup.id),
        ].join("\n\n"),
        annotations: outcome.where
          ? [{ path: outcome.where.path, line: outcome.where.line, level: "failure", message: outcome.error, title: "down migration failed" }]
          : [],
      };
    case "crashed":
      return { title: `Rollback failed after ${outcome.attempts} attempt(s)`, summary: "```\n" + outcome.error + "\n```" };
  }
}

const CONFIRM_LABEL = "Confirm restore";

function ownersWarning(owners: string[]): string {
  if (owners.length === 0) return "";
  return `\n\n⚠️ The restoring role cannot become ${owners.map((o) => `\`${o}\``).join(", ")}, so it now owns what they owned: grant your application's role access again, or restore through a role that is a member of them.`;
}

function undoHint(backupId: string): string {
  return `A backup of the state before this rollback was taken first: \`${backupId}\`. To undo the rollback: \`/autopilot rollback ${backupId}\`.`;
}
