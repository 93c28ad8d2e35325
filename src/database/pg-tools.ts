// Runs PostgreSQL's client programs (pg_dump, pg_restore, psql) as child processes.
// A password never goes into argv, where `ps` and /proc would show it to every user of the machine:
// it travels in the child's environment as PGPASSWORD, and the URL on the command line has none.
import { spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { redact } from "../redact.js";

export type PgTool = "pg_dump" | "pg_restore" | "psql";

export interface ConnectionEnv {
  /** `--dbname=<url without password>`; the URL keeps host, port, user, database and options. */
  args: string[];
  /** process.env plus PGPASSWORD (when the URL carries one) and fail-fast connection defaults. */
  env: NodeJS.ProcessEnv;
  /** Literal values to scrub from anything the child prints, besides the generic redaction. */
  secrets: string[];
}

/** Splits a postgres:// URL into a password-free `--dbname` argument and a child environment. */
export function connectionEnv(databaseUrl: string): ConnectionEnv {
  const url = parsePostgresUrl(databaseUrl);
  // libpq also accepts the password as a query parameter; move it out of argv too.
  const password = url.password ? decodeURIComponent(url.password) : (url.searchParams.get("password") ?? undefined);
  url.password = "";
  url.searchParams.delete("password");

  const env: NodeJS.ProcessEnv = { ...process.env };
  if (password !== undefined) env.PGPASSWORD = password;
  // An unreachable host should fail in seconds, not after the OS's TCP timeout.
  env.PGCONNECT_TIMEOUT ??= "10";
  env.PGAPPNAME ??= "autopilot";
  const secrets = password ? [password, encodeURIComponent(password)] : [];
  return { args: [`--dbname=${url.toString()}`], env, secrets };
}

function parsePostgresUrl(databaseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    // Never echo the value: it may be a keyword string holding a password.
    throw new Error("database URL is not a valid postgres:// URL");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new Error(`database URL must start with postgres:// or postgresql:// (got ${url.protocol}//)`);
  }
  return url;
}

/** The database name in a URL, for messages and default file names. */
export function databaseName(databaseUrl: string): string {
  const name = decodeURIComponent(parsePostgresUrl(databaseUrl).pathname.replace(/^\//, ""));
  return name || "postgres";
}

export class ToolError extends Error {
  constructor(
    readonly tool: PgTool,
    message: string,
    /** Redacted stderr (tail), for reports. */
    readonly stderr: string,
    readonly exitCode: number | null,
    /** The few stderr lines that say what went wrong (or how the tool ended, when it said nothing). */
    readonly detail: string = message,
  ) {
    super(message);
    this.name = "ToolError";
  }
}

export interface RunToolOptions {
  env?: NodeJS.ProcessEnv;
  /** Extra literal secrets to scrub from stderr (see ConnectionEnv.secrets). */
  secrets?: string[];
  /** Called with each stderr line as it arrives, already redacted (pg_dump --verbose progress). */
  onStderr?: (line: string) => void;
  /** Kill the child after this long; undefined waits for ever. */
  timeoutMs?: number;
}

export interface ToolOutput {
  stdout: string;
  stderr: string;
}

/** Only the tail of stderr is kept: a verbose pg_dump of a big database prints a line per object. */
const STDERR_TAIL = 64 * 1024;

/** Runs a client program to completion. Rejects with a ToolError carrying redacted stderr. */
export async function runTool(tool: PgTool, args: string[], opts: RunToolOptions = {}): Promise<ToolOutput> {
  const started = startTool(tool, args, opts);
  const stdout: Buffer[] = [];
  started.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
  const { stderr } = await started.done;
  return { stdout: Buffer.concat(stdout).toString("utf8"), stderr };
}

export interface StartedTool {
  /** The program's output, to be read (or piped) by the caller: a dump streams through it. */
  stdout: Readable;
  /** Settles when the program has exited: its redacted stderr, or a ToolError. */
  done: Promise<{ stderr: string }>;
  /** Ends the program early (a consumer of its output failed). */
  kill(): void;
}

/** Starts a client program whose stdout the caller consumes; stderr is handled as runTool does. */
export function startTool(tool: PgTool, args: string[], opts: RunToolOptions = {}): StartedTool {
  const scrub = (text: string) => scrubSecrets(text, opts.secrets ?? []);
  // stdin is closed so a tool that wants a password fails instead of waiting for a keyboard.
  const child = spawn(tool, args, { env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  const lines = lineSplitter((line) => opts.onStderr?.(scrub(line)));
  const timer = opts.timeoutMs ? setTimeout(() => child.kill("SIGTERM"), opts.timeoutMs) : undefined;
  child.stderr.on("data", (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    stderr = (stderr + text).slice(-STDERR_TAIL);
    lines.push(text);
  });
  const done = new Promise<{ stderr: string }>((resolve, reject) => {
    child.on("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = error.code === "ENOENT" ? `${tool} was not found on PATH (install the PostgreSQL client)` : error.message;
      reject(new ToolError(tool, scrub(why), "", null));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      lines.flush();
      const cleanStderr = scrub(stderr).trim();
      if (code === 0) return resolve({ stderr: cleanStderr });
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const detail = cleanStderr ? lastErrorLines(cleanStderr) : `${tool} ${how}`;
      reject(new ToolError(tool, `${tool} ${how}${cleanStderr ? `: ${detail}` : ""}`, cleanStderr, code, detail));
    });
  });
  return { stdout: child.stdout, done, kill: () => void child.kill("SIGTERM") };
}

function scrubSecrets(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join("***");
  return redact(out);
}

/** Feeds complete lines to a callback as chunks arrive. */
function lineSplitter(onLine: (line: string) => void): { push(text: string): void; flush(): void } {
  let pending = "";
  return {
    push(text) {
      pending += text;
      const parts = pending.split(/\r?\n/);
      pending = parts.pop() ?? "";
      for (const line of parts) if (line.trim()) onLine(line);
    },
    flush() {
      if (pending.trim()) onLine(pending);
      pending = "";
    },
  };
}

/** The lines that explain a failure; verbose progress before them is noise in an error message. */
function lastErrorLines(stderr: string): string {
  const lines = stderr.split("\n").filter((l) => l.trim());
  const errors = lines.filter((l) => /error|fatal|failed|could not|psql:|detail:|hint:/i.test(l));
  return (errors.length ? errors : lines).slice(-6).join("\n");
}
