// A dress rehearsal of pending migrations: a scratch database on the shadow server gets the
// target's schema (no data) or, without a target to copy, the repository's earlier migrations, and
// the pending files run there through the real migrator, so directives, timeouts, transactions and
// error positions are exactly those of a real run. The target is only read (pg_dump --schema-only).
// The scratch database is dropped whatever happens; one a crash leaves behind is dropped at the next
// start (dropLeftoverScratchDatabases).
//
// A fork's files are someone else's SQL on a shared server, so with `fork` limits they run in a
// sandbox (see createSandbox): as a throw-away unprivileged role that owns only its scratch
// database, no `-- autopilot:no-transaction`, a statement timeout the files cannot lower or lift, a
// ceiling on the whole rehearsal enforced from outside their session, and errors reduced to SQLSTATE
// and line (a file could RAISE whatever it reads from the catalogs into a public comment).
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { redact } from "../redact.js";
import { versionKey, type MigrationFile } from "./migration-files.js";
import { migrate, type MigrateResult, type ProgressEvent } from "./migrator.js";
import { isUnavailable } from "./connection-errors.js";
import { isValidDuration } from "./directives.js";
import { connectionEnv, runTool, ToolError } from "./pg-tools.js";
import {
  createSandbox,
  createScratchDatabase,
  dropSandbox,
  dropScratchDatabase,
  endSandboxSessions,
  scratchDatabaseName,
  scratchDatabaseUrl,
} from "./scratch-databases.js";

export { dropLeftoverScratchDatabases } from "./scratch-databases.js";

export interface RehearsalInput {
  /** A server where we may CREATE DATABASE; the URL's database is only where we connect to create and drop. */
  shadowUrl: string;
  /** The target: its schema is copied with `pg_dump --schema-only` (no data). */
  schemaSourceUrl?: string;
  /** Without a schema source (e.g. a fork's pull request): files applied first to build the schema, not reported. */
  baseline?: MigrationFile[];
  /** The files to rehearse, in order. */
  pending: MigrationFile[];
  lockTimeout?: string;
  statementTimeout?: string;
  /** The files come from a fork: run them sandboxed, under these server-chosen limits. */
  fork?: ForkLimits;
  onProgress?: (message: string) => void;
}

/** Chosen by the server's operator; nothing in the pull request or the repository's config changes them. */
export interface ForkLimits {
  /** Forced on every file, over its directives and the repository's config. Not 0. */
  statementTimeout: string;
  /** The whole rehearsal's ceiling: a file may SET its own statement_timeout, so past this its sessions are ended. */
  rehearsalTimeoutSeconds: number;
}

export interface RehearsedFile {
  path: string;
  version: string;
  name: string;
  status: "applied" | "failed" | "not-run";
  durationMs?: number;
  error?: { message: string; code?: string; line: number; column?: number; detail?: string; hint?: string };
}

export interface RehearsalResult {
  scratchDatabase: string;
  schemaFrom: "target" | "migrations" | "empty";
  files: RehearsedFile[];
  /** Every pending file applied, and no setup error. */
  ok: boolean;
  /** Why the rehearsal could not run to the end (scratch database, schema copy, baseline, lost connection). */
  setupError?: string;
  /** The scratch database could not be dropped; the next start's leftover cleanup will. Does not affect `ok`. */
  cleanupError?: string;
  /** Set when the files ran sandboxed as a fork's: the limits they ran under. */
  fork?: ForkLimits;
  durationMs: number;
}

export const NO_TRANSACTION_REFUSED = "-- autopilot:no-transaction is refused in a fork's rehearsal";

/** pg_dump waits at most this long for each table's ACCESS SHARE lock on the target. */
const SCHEMA_DUMP_LOCK_WAIT = "30s";
const TOOL_TIMEOUT_MS = 10 * 60_000;

/** Never throws: every failure ends up in `setupError` (or `cleanupError`), credentials redacted. */
export async function rehearse(input: RehearsalInput): Promise<RehearsalResult> {
  const started = performance.now();
  const scrub = scrubberFor([input.shadowUrl, input.schemaSourceUrl]);
  const say = (message: string) => {
    try {
      input.onProgress?.(scrub(message));
    } catch {
      // a failing progress listener must not stop the rehearsal or its clean-up
    }
  };
  const result: RehearsalResult = {
    scratchDatabase: scratchDatabaseName(),
    schemaFrom: input.schemaSourceUrl ? "target" : input.baseline?.length ? "migrations" : "empty",
    files: input.pending.map((file) => ({ path: file.path, version: file.version, name: file.name, status: "not-run" })),
    ok: false,
    durationMs: 0,
  };
  if (input.fork) result.fork = input.fork;
  // Refused before anything is created: the migrator would refuse it too, but only after the schema copy.
  const badTimeout = [input.lockTimeout, input.statementTimeout, input.fork?.statementTimeout].find((value) => value !== undefined && !isValidDuration(value));
  if (badTimeout !== undefined) result.setupError = `invalid timeout "${badTimeout}": use a duration like 5s, 500ms, 10min or 0`;
  else if (!(input.fork && refusesNoTransaction(input, result))) await rehearseInScratchDatabase(input, result, scrub, say);
  result.durationMs = Math.round(performance.now() - started);
  return result;
}

/**
 * A fork's no-transaction file would run statement by statement, where CREATE/DROP DATABASE and the
 * like are allowed: refused before anything is created. True when something was refused.
 */
function refusesNoTransaction(input: RehearsalInput, result: RehearsalResult): boolean {
  const baseline = input.baseline?.find((f) => f.directives.noTransaction);
  if (baseline) result.setupError = `earlier migration ${baseline.path}:1: ${NO_TRANSACTION_REFUSED}; nothing was run`;
  const refused = result.files.filter((entry, i) => input.pending[i].directives.noTransaction);
  for (const entry of refused) Object.assign(entry, { status: "failed", error: { line: 1, message: NO_TRANSACTION_REFUSED } });
  return baseline !== undefined || refused.length > 0;
}

async function rehearseInScratchDatabase(
  input: RehearsalInput,
  result: RehearsalResult,
  scrub: (text: string) => string,
  say: (m: string) => void,
): Promise<void> {
  const name = result.scratchDatabase;
  const sandboxPassword = input.fork ? randomBytes(24).toString("hex") : undefined;
  const scrubAll = sandboxPassword ? (text: string) => scrub(text.split(sandboxPassword).join("***")) : scrub;
  // Whether a drop is worth trying: after a failed CREATE the database may still exist (the reply
  // was lost), unless we never reached the server at all.
  let mayExist = true;
  let created = false;
  let watchdog: Watchdog | undefined;
  try {
    say(`creating scratch database ${name}${input.fork ? " and its sandbox role" : ""}`);
    const create = input.fork
      ? createSandbox(input.shadowUrl, name, sandboxPassword!, input.fork.statementTimeout)
      : createScratchDatabase(input.shadowUrl, name);
    const createdUrl = await create.catch((error) => {
      mayExist = !isUnavailable(error);
      const needs = input.fork ? " (a fork's rehearsal needs CREATEDB and CREATEROLE for the shadow URL's role)" : "";
      throw new Error(`could not create the scratch database${needs}: ${messageOf(error)}`);
    });
    created = true;
    const scratchUrl = typeof createdUrl === "string" ? createdUrl : scratchDatabaseUrl(input.shadowUrl, name);
    // The ceiling is for the fork's SQL (baseline and pending files), not for copying the target's own schema.
    const targetSchema = result.schemaFrom === "target";
    if (targetSchema) await prepareSchema(input, result.schemaFrom, scratchUrl, say);
    if (input.fork) watchdog = startWatchdog(input.shadowUrl, name, input.fork.rehearsalTimeoutSeconds);
    if (!targetSchema) await prepareSchema(input, result.schemaFrom, scratchUrl, say);
    await rehearsePending(input, scratchUrl, result.files, say);
    result.ok = result.files.every((f) => f.status === "applied");
  } catch (error) {
    result.setupError = scrubAll(messageOf(error));
  } finally {
    if (await watchdog?.stop()) {
      result.ok = false;
      result.setupError = `the fork's files ran longer than the ${input.fork!.rehearsalTimeoutSeconds} s a fork's rehearsal may take (server config \`forks.rehearsal_timeout_seconds\`); their session was ended`;
    }
    if (mayExist) {
      say(`dropping scratch database ${name}`);
      await (input.fork ? dropSandbox : dropScratchDatabase)(input.shadowUrl, name).catch((error) => {
        if (created) result.cleanupError = scrubAll(`could not drop scratch database ${name}: ${messageOf(error)}`);
      });
    }
  }
}

interface Watchdog {
  /** Disarms it (waiting for an ending it started); true if it fired. */
  stop(): Promise<boolean>;
}

/** Ends the sandbox role's sessions from the admin connection once `seconds` have passed. */
function startWatchdog(shadowUrl: string, name: string, seconds: number): Watchdog {
  let ending: Promise<void> | undefined;
  const timer = setTimeout(() => {
    ending = endSandboxSessions(shadowUrl, name).catch(() => undefined); // the drop that follows uses FORCE anyway
  }, seconds * 1000);
  return {
    async stop() {
      clearTimeout(timer);
      await ending;
      return ending !== undefined;
    },
  };
}

// ---- the schema ------------------------------------------------------------------------------

async function prepareSchema(input: RehearsalInput, from: RehearsalResult["schemaFrom"], scratchUrl: string, say: (m: string) => void): Promise<void> {
  if (from === "target") {
    say("copying the target's schema (pg_dump --schema-only)");
    await copySchema(input.schemaSourceUrl!, scratchUrl);
  } else if (from === "migrations") {
    say(`building the schema from ${input.baseline!.length} earlier migration file(s)`);
    await applyBaseline(input, scratchUrl);
  }
}

/** pg_dump into a private temporary file, then psql in one transaction that stops at the first error. */
async function copySchema(sourceUrl: string, scratchUrl: string): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), "autopilot-rehearsal-")); // mode 0700
  const file = path.join(dir, "schema.sql");
  try {
    await stage("could not read the target's schema", () => dumpSchema(sourceUrl, file));
    await stage("could not load the target's schema into the scratch database", () => loadSchema(scratchUrl, file));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function dumpSchema(sourceUrl: string, file: string): Promise<void> {
  const conn = connectionEnv(sourceUrl);
  const args = [
    "--schema-only",
    "--no-owner", // roles of the target need not exist on the shadow server
    "--no-privileges",
    "--no-comments", // COMMENT ON EXTENSION needs ownership the shadow role may lack; comments never change a migration's outcome
    "--no-subscriptions", // a copied subscription would connect to the target's publisher
    "--no-publications",
    "--no-tablespaces",
    "--no-security-labels",
    "--no-password",
    `--lock-wait-timeout=${SCHEMA_DUMP_LOCK_WAIT}`,
    `--file=${file}`,
    ...conn.args,
  ];
  await runTool("pg_dump", args, { env: conn.env, secrets: conn.secrets, timeoutMs: TOOL_TIMEOUT_MS });
}

async function loadSchema(scratchUrl: string, file: string): Promise<void> {
  const conn = connectionEnv(scratchUrl);
  const args = ["--no-psqlrc", "--quiet", "--no-password", "--set=ON_ERROR_STOP=1", "--single-transaction", `--file=${file}`, ...conn.args];
  try {
    await runTool("psql", args, { env: conn.env, secrets: conn.secrets, timeoutMs: TOOL_TIMEOUT_MS });
  } catch (error) {
    throw new Error(explainLoadFailure(error, file));
  }
}

function explainLoadFailure(error: unknown, file: string): string {
  // psql prefixes each error with the temporary file's path, which means nothing to a reader.
  const detail = (error instanceof ToolError ? error.detail : messageOf(error))
    .split(`psql:${file}:`)
    .join("schema dump line ")
    .split(file)
    .join("schema dump");
  const missingExtension = /extension "([^"]+)" is not available|could not open extension control file ".*?([^/]+)\.control"/.exec(detail);
  if (!missingExtension) return detail;
  const name = missingExtension[1] ?? missingExtension[2];
  return `the target uses the extension "${name}", which the shadow server does not have; install it there. ${detail}`;
}

/** Files the pending list also holds are left out: the rehearsal must run them, not skip them as applied. */
async function applyBaseline(input: RehearsalInput, scratchUrl: string): Promise<void> {
  const pendingVersions = new Set(input.pending.map((f) => versionKey(f.version)));
  const baseline = input.baseline!.filter((f) => !pendingVersions.has(versionKey(f.version)));
  const outcome = await stage("could not build the schema from the earlier migrations", () => migrateScratch(input, scratchUrl, baseline), input.fork);
  const failure = outcome.failure;
  if (failure) {
    const why = input.fork ? forkErrorText(failure.code) : failure.message;
    throw new Error(`earlier migration ${failure.file.path}:${failure.line} failed, so the schema could not be built: ${why}`);
  }
}

// ---- the pending files -----------------------------------------------------------------------

/**
 * Fills `files` in place from the migrator's progress events, so that files applied before a lost
 * connection are still reported as applied when migrate() throws.
 */
async function rehearsePending(input: RehearsalInput, scratchUrl: string, files: RehearsedFile[], say: (m: string) => void): Promise<void> {
  /** When each file (by path) started, so a failing file reports how long it ran. */
  const startedAt = new Map<string, number>();
  const onProgress = (event: ProgressEvent) => {
    if (event.kind === "waiting-for-lock") return;
    const entry = files[event.position - 1];
    if (event.kind === "applying" && entry) {
      startedAt.set(entry.path, performance.now());
      say(`rehearsing ${event.position}/${event.total} ${entry.path}`);
    } else if (event.kind === "applied" && entry) {
      Object.assign(entry, { status: "applied", durationMs: event.durationMs });
    }
  };
  const outcome = await stage("the rehearsal could not run to the end", () => migrateScratch(input, scratchUrl, input.pending, onProgress), input.fork);
  if (outcome.failure) recordFailure(files, outcome.failure, startedAt, Boolean(input.fork));
}

function recordFailure(files: RehearsedFile[], failure: NonNullable<MigrateResult["failure"]>, startedAt: Map<string, number>, fromFork: boolean): void {
  const entry = files.find((f) => f.path === failure.file.path);
  if (!entry) return;
  const began = startedAt.get(entry.path);
  entry.status = "failed";
  if (began !== undefined) entry.durationMs = Math.round(performance.now() - began);
  const { message, code, line, column, detail, hint } = failure;
  entry.error = fromFork ? withoutUndefined({ message: forkErrorText(code), code, line }) : withoutUndefined({ message, code, line, column, detail, hint });
}

/** All a fork's rehearsal tells of an error: its text may be anything the file chose to RAISE. */
function forkErrorText(code: string | undefined): string {
  return `failed with SQLSTATE ${code ?? "unknown"} (a fork's rehearsal shows no error text)`;
}

function migrateScratch(
  input: RehearsalInput,
  scratchUrl: string,
  migrations: MigrationFile[],
  onProgress?: (e: ProgressEvent) => void,
): Promise<MigrateResult> {
  const forced = input.fork?.statementTimeout;
  return migrate({
    databaseUrl: scratchUrl,
    migrations: forced ? migrations.map((file) => ({ ...file, directives: { ...file.directives, statementTimeout: forced } })) : migrations,
    lockTimeout: input.lockTimeout,
    statementTimeout: forced ?? input.statementTimeout,
    appliedBy: "autopilot-rehearsal",
    commitSha: null,
    onProgress,
  });
}

// ---- helpers ---------------------------------------------------------------------------------

/**
 * Runs one step; a failure becomes an Error whose message says which step failed. A step running a
 * fork's SQL tells only the SQLSTATE: a file can RAISE any text with a connection-class code.
 */
async function stage<T>(what: string, step: () => Promise<T>, fork?: ForkLimits): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw new Error(`${what}: ${fork ? forkErrorText((error as { code?: string }).code) : messageOf(error)}`);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Besides the generic redaction, removes the literal passwords of the URLs we were given, wherever
 * a tool or server might echo them. Values under 4 characters are left to the generic patterns, as
 * registerSecret does, since scrubbing them would mangle ordinary words.
 */
function scrubberFor(urls: Array<string | undefined>): (text: string) => string {
  const passwords = new Set<string>();
  for (const value of urls) {
    try {
      const url = new URL(value ?? "");
      for (const p of [url.password, decodeURIComponent(url.password), url.searchParams.get("password") ?? ""]) if (p.length >= 4) passwords.add(p);
    } catch {
      // not a URL: nothing literal to scrub; the generic patterns still apply
    }
  }
  const longestFirst = [...passwords].sort((a, b) => b.length - a.length);
  return (text) => redact(longestFirst.reduce((out, secret) => out.split(secret).join("***"), text));
}
