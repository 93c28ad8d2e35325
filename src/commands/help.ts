// The reply to `/autopilot help` and to a command Autopilot did not understand.
import { DEFAULT_PRODUCTION_ENVIRONMENTS, requirement, type CommandPolicy } from "./authorize.js";
import { VERBS, type CommandError, type Verb } from "./parse.js";

interface CommandDoc {
  usage: string;
  does: string;
  /** `{env}` stands for an environment of this repository. */
  example: string;
}

// A Record, so the compiler insists that every verb is documented.
const DOCS: Record<Verb, CommandDoc> = {
  help: { usage: "help", does: "Show this help.", example: "help" },
  status: { usage: "status [env]", does: "Applied version, pending files, last run, lock, last backup and open incidents.", example: "status" },
  plan: { usage: "plan [env]", does: "What would run now, with lint and a rehearsal.", example: "plan {env}" },
  migrate: {
    usage: "migrate [env]",
    does: "Back up, then apply the pending migrations. `--accept-drift` (admin) applies despite `drift.on_push: block`.",
    example: "migrate {env}",
  },
  rollback: {
    usage: "rollback [env] [last | <version> | <backup-id>] [--confirm]",
    does: "Undo the last run (the default), revert down to (not including) a version, or restore a backup. A fresh backup is taken first. A restore that would discard writes says what and waits for --confirm.",
    example: "rollback {env} 0042",
  },
  backup: { usage: "backup [env]", does: "Take a backup now.", example: "backup {env}" },
  lock: {
    usage: "lock <env> [reason…]",
    does: "Stop pushes and commands from changing the environment until it is unlocked.",
    example: "lock {env} release freeze until Monday",
  },
  unlock: { usage: "unlock <env>", does: "Lift a lock.", example: "unlock {env}" },
  approve: { usage: "approve", does: "Approve the migration of this merged pull request.", example: "approve" },
  heal: { usage: "heal [env]", does: "Run the health checks and heal now.", example: "heal" },
  adopt: {
    usage: "adopt [env]",
    does: "Take over another tool's migration history (Flyway, Supabase CLI, Prisma, …): record the files it applied, or list every mismatch.",
    example: "adopt {env}",
  },
  baseline: {
    usage: "baseline <version> [env]",
    does: "On a database with no history, record every file up to the version as applied, without running it.",
    example: "baseline 0042 {env}",
  },
  retry: {
    usage: "retry [run]",
    does: "Resume a failed migrate run (the latest by default) from its last checkpoint: its backup is reused, applied files are not applied again, the deploy hook is not called twice. Refused, with the reason, when its failure restored the database.",
    example: "retry 12",
  },
  cancel: {
    usage: "cancel [run]",
    does: "Cancel a queued or waiting run (the repository's latest migrate run by default); a running migration stops before its next file, and what it applied stays applied.",
    example: "cancel 12",
  },
};

/**
 * The Markdown help. Pass the effective `policy` so the "who" column shows this repository's rules;
 * without it, the built-in defaults are shown.
 */
export function helpText(opts: { environments: string[]; defaultEnvironment: string; policy?: CommandPolicy }): string {
  const exampleEnvironment = pickExampleEnvironment(opts.environments, opts.defaultEnvironment);
  const rows = VERBS.map((verb) => {
    const doc = DOCS[verb];
    const example = `/autopilot ${doc.example.replace("{env}", exampleEnvironment)}`;
    return tableRow([`\`/autopilot ${doc.usage}\``, doc.does, whoMay(verb, opts.policy), `\`${example}\``]);
  });
  return [
    "### Autopilot commands",
    "",
    "One command per line, anywhere in a comment; `@autopilot` works too. Lines in code blocks and quotes are ignored.",
    "",
    "| Command | What it does | Who may run it | Example |",
    "| --- | --- | --- | --- |",
    ...rows,
    "",
    environmentsLine(opts.environments, opts.defaultEnvironment),
    "",
    "A `<version>` is the number a migration file starts with (`0042`, `20250127000000`); a `<backup-id>` looks like `bk_20250127093000_1a2b3c`.",
  ].join("\n");
}

/** GFM splits cells at every unescaped pipe, even inside a code span. */
function tableRow(cells: string[]): string {
  return `| ${cells.map((cell) => cell.replace(/\|/g, "\\|")).join(" | ")} |`;
}

/** "write; admin on production" for the verbs whose requirement depends on the environment. */
function whoMay(verb: Verb, policy: CommandPolicy = { productionEnvironments: DEFAULT_PRODUCTION_ENVIRONMENTS }): string {
  const production = policy.productionEnvironments;
  const elsewhere = requirement(verb, false, policy);
  const onProduction = requirement(verb, true, policy);
  if (onProduction === elsewhere || production.length === 0) return elsewhere;
  return `${elsewhere}; ${onProduction} on ${production.join(", ")}`;
}

function environmentsLine(environments: string[], defaultEnvironment: string): string {
  if (environments.length === 0) return `Environments: none configured; \`[env]\` defaults to \`${defaultEnvironment}\`.`;
  const names = environments.map((name) => `\`${name}\``).join(", ");
  return `Environments: ${names}. \`[env]\` defaults to \`${defaultEnvironment}\`, the environment of the default branch.`;
}

/** A non-default environment shows best that `[env]` is optional; fall back to the default one. */
function pickExampleEnvironment(environments: string[], defaultEnvironment: string): string {
  return environments.find((name) => name !== defaultEnvironment) ?? defaultEnvironment;
}

/** The reply to a command that was not understood: "did you mean …" first, then why, then the help. */
export function unknownCommandReply(error: CommandError, help: string): string {
  const lines: string[] = [];
  const didYouMean = didYouMeanLine(error);
  if (didYouMean) lines.push(didYouMean, "");
  lines.push(`${inlineCode(error.text)}: ${escapeMarkdown(error.message)}`, "", help);
  return lines.join("\n");
}

function didYouMeanLine(error: CommandError): string | undefined {
  if (!error.suggestion) return undefined;
  if (error.code === "unknown-environment") return `Did you mean the environment ${inlineCode(error.suggestion)}?`;
  return `Did you mean ${inlineCode(`/autopilot ${error.suggestion}`)}?`;
}

/** A code span that no backtick inside `text` can close early (CommonMark: a longer fence). */
export function inlineCode(text: string): string {
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longestRun + 1);
  const padded = text.startsWith("`") || text.endsWith("`") ? ` ${text} ` : text;
  return `${fence}${padded}${fence}`;
}

/** Plain text in Markdown: no formatting, links, HTML or @-mentions (a zero-width joiner breaks them). */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]<>#|~]/g, "\\$&").replace(/@/g, "@\u200d");
}
