// `-- autopilot:<name> …` comments at the top of a migration file change how it runs. Anything that
// looks like a directive but is not one is an error: a typo must not silently run a file inside a
// transaction, or without a lock timeout. `-- autopilot:ignore` is the exception to "at the top":
// it silences a lint rule for the statement below it, so it may appear anywhere.
import type { Problem } from "./errors.js";
import { resolveRuleId, unknownRuleMessage } from "./lint/catalog.js";

export interface IgnoreDirective {
  rule: string;
  reason: string;
  line: number;
}

export interface Directives {
  noTransaction: boolean;
  lockTimeout?: string;
  statementTimeout?: string;
  ignores: IgnoreDirective[];
}

const DIRECTIVE = /^\s*--\s*autopilot:(\S*)\s*(.*?)\s*$/i;

/** PostgreSQL duration syntax accepted by lock_timeout/statement_timeout: `0`, `500`, `5s`, `10min`, `1.5h`. */
const DURATION = /^\d+(\.\d+)?\s*(us|ms|s|min|h|d)?$/;

export function isValidDuration(value: string): boolean {
  return DURATION.test(value.trim());
}

export function emptyDirectives(): Directives {
  return { noTransaction: false, ignores: [] };
}

/**
 * Reads the directives of a file. Only the leading block of `--` comment lines counts, except for
 * `ignore`; any other directive further down would be ignored by the migrator, so it is reported
 * rather than silently dropped.
 */
export function parseDirectives(sql: string, path: string): { directives: Directives; problems: Problem[] } {
  const directives = emptyDirectives();
  const problems: Problem[] = [];
  const problem = (line: number, message: string) => problems.push({ code: "bad-directive", path, line, message, severity: "error" });
  // Most files hold no directive: one scan of the text instead of one per line.
  if (!/autopilot:/i.test(sql)) return { directives, problems };

  let inHeader = true;
  sql.split(/\r?\n/).forEach((text, index) => {
    const line = index + 1;
    inHeader &&= /^\s*(--.*)?$/.test(text);
    const match = DIRECTIVE.exec(text);
    if (!match) return;
    if (!inHeader && match[1].toLowerCase() !== "ignore")
      return problem(line, "autopilot directives must be in the comment lines at the top of the file, before any statement");
    applyDirective(directives, match[1].toLowerCase(), match[2], line, problem);
  });
  return { directives, problems };
}

type Report = (line: number, message: string) => void;

function applyDirective(directives: Directives, name: string, argument: string, line: number, problem: Report): void {
  switch (name) {
    case "no-transaction":
      if (line !== 1) problem(line, "-- autopilot:no-transaction must be the first line of the file");
      else if (argument) problem(line, `-- autopilot:no-transaction takes no argument (got "${argument}")`);
      else directives.noTransaction = true;
      return;
    case "lock-timeout":
    case "statement-timeout":
      return applyTimeout(directives, name, argument, line, problem);
    case "ignore":
      return applyIgnore(directives, argument, line, problem);
    default:
      problem(line, `unknown directive "autopilot:${name}" (known: no-transaction, lock-timeout, statement-timeout, ignore)`);
  }
}

function applyTimeout(directives: Directives, name: "lock-timeout" | "statement-timeout", value: string, line: number, problem: Report): void {
  const key = name === "lock-timeout" ? "lockTimeout" : "statementTimeout";
  if (!isValidDuration(value)) {
    return problem(line, `-- autopilot:${name} needs a duration like 5s, 500ms, 10min or 0 (got "${value}")`);
  }
  if (directives[key] !== undefined) return problem(line, `-- autopilot:${name} is given twice`);
  directives[key] = value.replace(/\s+/g, "");
}

function applyIgnore(directives: Directives, argument: string, line: number, problem: Report): void {
  const match = /^(\S+)\s+(\S.*)$/.exec(argument);
  if (!match) return problem(line, "-- autopilot:ignore needs a rule id and a reason: -- autopilot:ignore <rule-id> <reason>");
  if (!resolveRuleId(match[1])) return problem(line, `-- autopilot:ignore names an ${unknownRuleMessage(match[1])}`);
  directives.ignores.push({ rule: match[1], reason: match[2], line });
}
