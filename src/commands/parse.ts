// The slash-command language: `/autopilot <verb> [args]` lines in an issue or pull-request comment.
// Pure: text in, commands and errors out. Modelled on Atlantis's comment parser, but a comment may
// carry several commands (one per line), and every argument is checked against a closed grammar
// here, so the runbooks only ever see well-formed environments, versions and backup ids.
import { closest } from "../did-you-mean.js";

export type Verb =
  "help" | "status" | "plan" | "migrate" | "rollback" | "backup" | "lock" | "unlock" | "approve" | "heal" | "adopt" | "baseline" | "retry" | "cancel";

export const VERBS: readonly Verb[] = [
  "help",
  "status",
  "plan",
  "migrate",
  "rollback",
  "backup",
  "lock",
  "unlock",
  "approve",
  "heal",
  "adopt",
  "baseline",
  "retry",
  "cancel",
];

export type RollbackDestination =
  | { kind: "last" }
  | { kind: "version"; version: string }
  | { kind: "backup"; id: string }
  // Only from a Roll back button: that migrate run, refused unless it is still the latest applied.
  | { kind: "run"; runId: number };

export interface Command {
  verb: Verb;
  environment?: string;
  rollback?: RollbackDestination;
  /** `rollback … --confirm`: restore even when the restore discards writes. */
  confirm?: boolean;
  reason?: string;
  /** `baseline <version>`: the last file the database already has. */
  version?: string;
  /** `migrate --accept-drift`: apply even though the environment's schema drifted (drift.on_push: block). */
  acceptDrift?: boolean;
  /** `retry <run>`: the run to resume (without it, the repository's latest failed run); `cancel <run>`: the run to cancel. */
  runId?: number;
  line: number;
  text: string;
}

export type CommandErrorCode = "unknown-verb" | "unknown-environment" | "invalid-argument" | "missing-argument" | "too-many-arguments" | "too-many-commands";

export interface CommandError {
  line: number;
  text: string;
  message: string;
  /** A verb for `unknown-verb`, an environment for `unknown-environment`: "did you mean …". */
  suggestion?: string;
  code: CommandErrorCode;
}

export interface ParseResult {
  commands: Command[];
  errors: CommandError[];
}

export const MAX_COMMANDS_PER_COMMENT = 10;
export const MAX_ARGUMENT_LENGTH = 100;
export const MAX_REASON_LENGTH = 500;
export const MAX_TEXT_LENGTH = 200;

// Arguments are separated by spaces and tabs only, so any other control character stays inside a
// token and is rejected there instead of silently splitting it.
const SEPARATOR = /[\p{Zs}\t]+/u;
const COMMAND_PREFIX = /^[\p{Zs}\t]*[/@]autopilot(?=[\p{Zs}\t]|$)/iu;
const BACKUP_ID = /^bk_\d{14}_[0-9a-f]{6}$/i;
const VERSION = /^\d+$/;
// Environments, versions and backup ids are all plain names; nothing else may reach a runbook.
const PLAIN_TOKEN = /^[\w.-]+$/;
const SHELL_METACHARACTERS = /[;|&$`'"<>\\(){}*?!#~]/;
// C0/C1 controls plus the invisible format characters that can disguise text (bidi overrides, zero-width).
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2028\u2029\u2060-\u2064\u2066-\u2069\ufeff]/;
const CONTROL_CHARACTERS_GLOBAL = new RegExp(CONTROL_CHARACTERS.source, "g");

export function parseCommands(body: string, opts: { environments: string[] }): ParseResult {
  const result: ParseResult = { commands: [], errors: [] };
  let seen = 0;
  for (const { line, content } of commandLines(body)) {
    seen += 1;
    const text = echoable(content);
    if (seen > MAX_COMMANDS_PER_COMMENT) {
      result.errors.push({
        line,
        text,
        code: "too-many-commands",
        message: `more than ${MAX_COMMANDS_PER_COMMENT} commands in one comment; this one was not run`,
      });
      continue;
    }
    const parsed = parseLine(content, opts.environments);
    if ("message" in parsed) result.errors.push({ ...parsed, line, text });
    else result.commands.push({ ...parsed, line, text });
  }
  return result;
}

// ── Which lines are commands ────────────────────────────────────────────────────────────────────

/** Lines that start with the prefix, outside fenced code blocks and quotes; 1-based line numbers. */
function* commandLines(body: string): Generator<{ line: number; content: string }> {
  let fence: { char: string; length: number } | undefined;
  const lines = body.split(/\r\n|\r|\n/);
  for (let index = 0; index < lines.length; index++) {
    const content = lines[index];
    const marker = fenceMarker(content);
    if (fence) {
      // A fence closes only with the same character, at least as long, and nothing after it.
      if (marker && marker.char === fence.char && marker.length >= fence.length && marker.rest.trim() === "") fence = undefined;
      continue;
    }
    if (marker && !(marker.char === "`" && marker.rest.includes("`"))) {
      fence = marker; // an unterminated fence hides the rest of the comment, as GitHub renders it
      continue;
    }
    if (/^\s*>/.test(content)) continue; // quoted from an earlier comment or an email reply
    if (COMMAND_PREFIX.test(content)) yield { line: index + 1, content };
  }
}

function fenceMarker(line: string): { char: string; length: number; rest: string } | undefined {
  // A fence may also open a list item ("- ```"), which GitHub renders as code all the same.
  const match = /^\s*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+)*(`{3,}|~{3,})(.*)$/.exec(line);
  if (!match) return undefined;
  return { char: match[1][0], length: match[1].length, rest: match[2] };
}

// ── One command line ────────────────────────────────────────────────────────────────────────────

type LineResult = Omit<Command, "line" | "text"> | Omit<CommandError, "line" | "text">;

function parseLine(content: string, environments: string[]): LineResult {
  const afterPrefix = content.replace(COMMAND_PREFIX, "");
  const [word, ...args] = tokens(afterPrefix);
  if (word === undefined) return { verb: "help" }; // a bare `/autopilot` asks for help
  const verb = word.toLowerCase();
  if (!isVerb(verb)) return unknownVerb(word);
  switch (verb) {
    case "help":
    case "approve":
      return noArguments(verb, args);
    case "migrate":
      return migrate(args, environments);
    case "status":
    case "plan":
    case "backup":
    case "heal":
    case "adopt":
      return optionalEnvironment(verb, args, environments);
    case "baseline":
      return baseline(args, environments);
    case "unlock":
      return requiredEnvironment(verb, args, environments);
    case "lock":
      return lock(afterPrefix, args, environments);
    case "rollback":
      return confirmable(args, (rest) => rollback(rest, environments));
    case "retry":
    case "cancel":
      return runNumber(verb, args);
  }
}

function tokens(text: string): string[] {
  return text.split(SEPARATOR).filter((token) => token !== "");
}

function isVerb(word: string): word is Verb {
  return (VERBS as readonly string[]).includes(word);
}

function unknownVerb(word: string): LineResult {
  const suggestion = word.length <= MAX_ARGUMENT_LENGTH ? closest(word.toLowerCase(), VERBS) : undefined;
  const known = VERBS.join(", ");
  return { code: "unknown-verb", message: `unknown command ${quoted(word)}; the commands are ${known}`, suggestion };
}

function noArguments(verb: Verb, args: string[]): LineResult {
  if (args.length > 0) return tooManyArguments(verb, 0);
  return { verb };
}

/** `migrate [env] [--accept-drift]`, the flag anywhere after the verb. */
function migrate(args: string[], environments: string[]): LineResult {
  const rest = args.filter((arg) => arg.toLowerCase() !== ACCEPT_DRIFT);
  const parsed = optionalEnvironment("migrate", rest, environments);
  return rest.length < args.length && "verb" in parsed ? { ...parsed, acceptDrift: true } : parsed;
}

const ACCEPT_DRIFT = "--accept-drift";

function optionalEnvironment(verb: Verb, args: string[], environments: string[]): LineResult {
  if (args.length > 1) return tooManyArguments(verb, 1);
  if (args.length === 0) return { verb };
  const environment = resolveEnvironment(args[0], environments);
  return typeof environment === "string" ? { verb, environment } : environment;
}

function requiredEnvironment(verb: Verb, args: string[], environments: string[]): LineResult {
  if (args.length === 0) return missingEnvironment(verb, environments);
  return optionalEnvironment(verb, args, environments);
}

/** `lock <env> [reason…]`: the reason is free text, stored and shown, never parsed or executed. */
function lock(afterPrefix: string, args: string[], environments: string[]): LineResult {
  if (args.length === 0) return missingEnvironment("lock", environments);
  const environment = resolveEnvironment(args[0], environments);
  if (typeof environment !== "string") return environment;
  const reason = reasonAfterEnvironment(afterPrefix);
  if (reason === "") return { verb: "lock", environment };
  if (CONTROL_CHARACTERS.test(reason)) return invalid("the lock reason contains control or invisible characters");
  if (reason.length > MAX_REASON_LENGTH) {
    return invalid(`the lock reason is ${reason.length} characters long; the limit is ${MAX_REASON_LENGTH}`);
  }
  return { verb: "lock", environment, reason };
}

/** `baseline <version> [env]`: the version comes first, as in `/autopilot baseline 0042 staging`. */
function baseline(args: string[], environments: string[]): LineResult {
  if (args.length === 0)
    return { code: "missing-argument", message: "baseline needs a version: the last migration the database already has, e.g. baseline 0042" };
  if (args.length > 2) return tooManyArguments("baseline", 2);
  const problem = unsafeArgument(args[0]);
  if (problem) return problem;
  if (!VERSION.test(args[0])) return invalid(`${quoted(args[0])} is not a version: use the digits a migration file starts with, e.g. 0042`);
  if (args.length === 1) return { verb: "baseline", version: args[0] };
  const environment = resolveEnvironment(args[1], environments);
  return typeof environment === "string" ? { verb: "baseline", version: args[0], environment } : environment;
}

/** `retry [run]`, `cancel [run]`: a run number, as `12` or `#12`. */
function runNumber(verb: "retry" | "cancel", args: string[]): LineResult {
  if (args.length > 1) return tooManyArguments(verb, 1);
  if (args.length === 0) return { verb };
  const number = args[0].replace(/^#/, "");
  const problem = unsafeArgument(number);
  if (problem) return problem;
  const runId = Number(number);
  if (!/^\d{1,15}$/.test(number) || runId === 0)
    return invalid(`${quoted(args[0])} is not a run number: use the number the run's Check Run and replies show, e.g. ${verb} 12`);
  return { verb, runId };
}

/** The rest of the line after `lock <env>`, verbatim but trimmed. */
function reasonAfterEnvironment(afterPrefix: string): string {
  const verbAndEnvironment = /^[\p{Zs}\t]*[^\p{Zs}\t]+[\p{Zs}\t]+[^\p{Zs}\t]+/u;
  return afterPrefix.replace(verbAndEnvironment, "").replace(/^[\p{Zs}\t]+|[\p{Zs}\t]+$/gu, "");
}

/**
 * `rollback [env] [last|<version>|<backup-id>]`. With two arguments the first is the environment;
 * with one, a destination form (last, digits, bk_…) wins over an environment of the same spelling.
 */
function rollback(args: string[], environments: string[]): LineResult {
  if (args.length > 2) return tooManyArguments("rollback", 2);
  if (args.length === 0) return { verb: "rollback", rollback: { kind: "last" } };
  if (args.length === 1) {
    const destination = rollbackDestination(args[0]);
    if (destination) return { verb: "rollback", rollback: destination };
    const environment = resolveEnvironment(args[0], environments);
    if (typeof environment !== "string") return explainRollbackArgument(args[0], environment);
    return { verb: "rollback", environment, rollback: { kind: "last" } };
  }
  const [first, second] = args;
  const environment = resolveEnvironment(first, environments);
  if (typeof environment !== "string") {
    if (rollbackDestination(first)) return misplacedDestination(first, second, environments);
    return environment;
  }
  const destination = rollbackDestination(second);
  if (destination) return { verb: "rollback", environment, rollback: destination };
  return invalidRollbackDestination(second);
}

/** `--confirm` anywhere among a rollback's arguments. */
function confirmable(args: string[], parse: (rest: string[]) => LineResult): LineResult {
  const rest = args.filter((a) => a.toLowerCase() !== "--confirm");
  const parsed = parse(rest);
  return rest.length < args.length && !("message" in parsed) ? { ...parsed, confirm: true } : parsed;
}

/** `rollback 0042 production` or `rollback 0042 0043`: a destination came first. */
function misplacedDestination(destination: string, next: string, environments: string[]): LineResult {
  const problem = unsafeArgument(next);
  if (problem) return problem;
  const environment = resolveEnvironment(next, environments);
  if (typeof environment === "string") return invalid(`put the environment first: rollback ${environment} ${destination}`);
  return invalid(`rollback takes one target, after the environment; got ${quoted(destination)} then ${quoted(next)}`);
}

function rollbackDestination(arg: string): RollbackDestination | undefined {
  if (!PLAIN_TOKEN.test(arg) || arg.length > MAX_ARGUMENT_LENGTH) return undefined;
  if (arg.toLowerCase() === "last") return { kind: "last" };
  if (VERSION.test(arg)) return { kind: "version", version: arg };
  if (BACKUP_ID.test(arg)) return { kind: "backup", id: arg.toLowerCase() };
  return undefined;
}

/** A lone argument that is neither a destination nor an environment: say what it was probably meant as. */
function explainRollbackArgument(arg: string, environmentError: Omit<CommandError, "line" | "text">): LineResult {
  if (environmentError.code !== "unknown-environment") return environmentError;
  if (/^bk_/i.test(arg)) return invalidRollbackDestination(arg);
  return { ...environmentError, message: `${environmentError.message}; nor is it last, a version (digits) or a backup id` };
}

function invalidRollbackDestination(arg: string): LineResult {
  const problem = unsafeArgument(arg);
  if (problem) return problem;
  return invalid(`${quoted(arg)} is not a rollback target: use last, a version (digits, e.g. 0042) or a backup id (bk_<14 digits>_<6 hex>)`);
}

// ── Arguments ───────────────────────────────────────────────────────────────────────────────────

/** The configured spelling of an environment, or an error: exact match first, then case-insensitive. */
function resolveEnvironment(arg: string, environments: string[]): string | Omit<CommandError, "line" | "text"> {
  const problem = unsafeArgument(arg);
  if (problem) return problem;
  if (environments.includes(arg)) return arg;
  const folded = environments.filter((name) => name.toLowerCase() === arg.toLowerCase());
  if (folded.length === 1) return folded[0];
  return unknownEnvironment(arg, environments);
}

function unknownEnvironment(arg: string, environments: string[]): Omit<CommandError, "line" | "text"> {
  if (environments.length === 0) {
    return { code: "unknown-environment", message: `unknown environment ${quoted(arg)}; this repository has no environments configured` };
  }
  const suggestion = closest(arg, environments);
  const hint = suggestion ? ` (did you mean ${suggestion}?)` : "";
  return {
    code: "unknown-environment",
    message: `unknown environment ${quoted(arg)}${hint}; known environments: ${environments.join(", ")}`,
    suggestion,
  };
}

/** Checks shared by every argument that names something: length, then character set. */
function unsafeArgument(arg: string): Omit<CommandError, "line" | "text"> | undefined {
  if (arg.length > MAX_ARGUMENT_LENGTH) {
    return invalid(`an argument is ${arg.length} characters long; the limit is ${MAX_ARGUMENT_LENGTH} (starts ${quoted(arg)})`);
  }
  if (CONTROL_CHARACTERS.test(arg)) return invalid(`argument ${quoted(arg)} contains control or invisible characters`);
  if (SHELL_METACHARACTERS.test(arg)) return invalid(`argument ${quoted(arg)} contains shell metacharacters; arguments are plain names`);
  if (!PLAIN_TOKEN.test(arg)) return invalid(`argument ${quoted(arg)} may only contain letters, digits, ".", "_" and "-"`);
  return undefined;
}

function missingEnvironment(verb: Verb, environments: string[]): LineResult {
  const known = environments.length > 0 ? `: one of ${environments.join(", ")}` : "";
  return { code: "missing-argument", message: `${verb} needs an environment${known}` };
}

function tooManyArguments(verb: Verb, max: number): LineResult {
  const allowed = max === 0 ? "takes no arguments" : `takes at most ${max} argument${max === 1 ? "" : "s"}`;
  return { code: "too-many-arguments", message: `${verb} ${allowed}; see /autopilot help` };
}

function invalid(message: string): Omit<CommandError, "line" | "text"> {
  return { code: "invalid-argument", message };
}

// ── Echoing user text safely ────────────────────────────────────────────────────────────────────

/** User text inside a message: short, one line, no invisible characters. The caller escapes Markdown. */
function quoted(value: string): string {
  return `"${shorten(value.replace(CONTROL_CHARACTERS_GLOBAL, "\ufffd"), 40)}"`;
}

/** The command line as it may be echoed: trimmed, no long words, no controls, at most 200 chars. */
function echoable(line: string): string {
  const visible = line.trim().replace(CONTROL_CHARACTERS_GLOBAL, "\ufffd");
  const shortWords = visible.replace(/\S{101,}/g, (word) => shorten(word, MAX_ARGUMENT_LENGTH));
  return shorten(shortWords, MAX_TEXT_LENGTH);
}

function shorten(value: string, max: number): string {
  const chars = Array.from(value); // by code point, so a cut never splits a surrogate pair
  return chars.length <= max ? value : `${chars.slice(0, max - 1).join("")}…`;
}
