// One database health probe: connect, `select 1`, and optionally count the rows of a few named
// tables. It never throws, and its messages never carry the connection string's password: they end
// up in the health log and in incident issues.
import pg from "pg";
import { performance } from "node:perf_hooks";
import { BreakerOpen, throughBreaker } from "../breakers.js";
import { redact } from "../redact.js";
import type { CheckResult } from "./check-result.js";

export interface DatabaseProbeOptions {
  name: string;
  databaseUrl: string;
  /** Tables to count, `table` or `schema.table`; each is quoted as an identifier, never spliced in. */
  tableCounts?: string[];
  timeoutMs?: number;
  degradedMs?: number;
}

export const DB_PROBE_DEFAULTS = { timeoutMs: 5000, degradedMs: 2000 } as const;

export async function probeDatabase(opts: DatabaseProbeOptions): Promise<CheckResult> {
  const started = performance.now();
  let client: pg.Client | undefined;
  try {
    client = connectClient(opts);
    await client.connect();
    await client.query("select 1");
    const counts = opts.tableCounts?.length ? await countTables(client, opts.tableCounts) : undefined;
    return judge(opts, elapsedSince(started), counts);
  } catch (error) {
    return {
      check: opts.name,
      kind: "database",
      status: "unhealthy",
      error: scrub(describeError(error), opts.databaseUrl),
      latencyMs: elapsedSince(started),
      attempts: 1,
    };
  } finally {
    await client?.end().catch(() => {});
  }
}

/**
 * probeDatabase through the target database's circuit breaker (`destination`): an unhealthy answer
 * counts as a failure; while the breaker is open the database is not contacted and the check is
 * recorded unhealthy, saying it was skipped (no attempt made).
 */
export async function probeDatabaseThroughBreaker(opts: DatabaseProbeOptions & { destination: string }): Promise<CheckResult> {
  try {
    return await throughBreaker(
      opts.destination,
      () => probeDatabase(opts),
      (result) => (result.status === "unhealthy" ? (result.error ?? "unhealthy") : undefined),
    );
  } catch (error) {
    if (!(error instanceof BreakerOpen)) throw error;
    return { check: opts.name, kind: "database", status: "unhealthy", error: error.message, latencyMs: 0, attempts: 0 };
  }
}

function connectClient(opts: DatabaseProbeOptions): pg.Client {
  const timeoutMs = opts.timeoutMs ?? DB_PROBE_DEFAULTS.timeoutMs;
  const client = new pg.Client({
    connectionString: opts.databaseUrl,
    application_name: "autopilot-health",
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs, // client side: also ends a query the server never answers
    statement_timeout: timeoutMs,
  });
  client.on("error", () => {}); // a connection dropped after the probe must not crash the process
  return client;
}

interface TableCounts {
  parts: string[];
  failures: string[];
}

/** One query per table, outside a transaction, so a missing table does not hide the others' counts. */
async function countTables(client: pg.Client, tables: string[]): Promise<TableCounts> {
  const parts: string[] = [];
  const failures: string[] = [];
  for (const table of tables) {
    try {
      const sql = `select count(*)::bigint as n from ${quoteTableName(client, table)}`;
      const { rows } = await client.query<{ n: string }>(sql);
      parts.push(`${table}=${rows[0].n}`);
    } catch (error) {
      const failure = `${table}: ${describeError(error)}`;
      failures.push(failure);
      parts.push(failure);
    }
  }
  return { parts, failures };
}

/** `schema.table` → "schema"."table"; anything else with a dot is refused rather than guessed at. */
function quoteTableName(client: pg.Client, table: string): string {
  const parts = table.split(".");
  if (parts.length > 2 || parts.some((part) => part.length === 0)) {
    throw new Error(`invalid table name (expected table or schema.table)`);
  }
  return parts.map((part) => client.escapeIdentifier(part)).join(".");
}

/**
 * A table that cannot be counted (missing, no permission) makes the probe degraded, not unhealthy:
 * the database answers, so redeploying or migrating would not help, yet someone should look.
 */
function judge(opts: DatabaseProbeOptions, latencyMs: number, counts: TableCounts | undefined): CheckResult {
  const degradedMs = opts.degradedMs ?? DB_PROBE_DEFAULTS.degradedMs;
  const base = { check: opts.name, kind: "database" as const, latencyMs, attempts: 1 };
  const countDetail = counts && scrub(counts.parts.join("; "), opts.databaseUrl);
  if (counts?.failures.length) {
    const error = scrub(`cannot count ${counts.failures.join("; ")}`, opts.databaseUrl);
    return { ...base, status: "degraded", error, detail: countDetail };
  }
  if (latencyMs > degradedMs) return { ...base, status: "degraded", detail: [`slower than ${degradedMs} ms`, countDetail].filter(Boolean).join("; ") };
  return { ...base, status: "healthy", detail: countDetail };
}

function describeError(error: unknown): string {
  const e = error as { message?: string; code?: string; errors?: Array<{ message?: string }> };
  // pg connecting to "localhost" tries IPv4 and IPv6 and fails with an AggregateError whose message is empty.
  const message =
    e?.message ||
    e?.errors
      ?.map((inner) => inner.message)
      .filter(Boolean)
      .join("; ") ||
    e?.code;
  return message || String(error);
}

/** redact() plus the URL's own password, which may be a plain word no pattern recognises. */
function scrub(text: string, databaseUrl: string): string {
  let out = text;
  for (const secret of secretsOf(databaseUrl)) out = out.split(secret).join("***");
  return redact(out);
}

function secretsOf(databaseUrl: string): string[] {
  try {
    const { password } = new URL(databaseUrl);
    return [databaseUrl, password, decodeURIComponent(password)].filter((s) => s.length >= 3);
  } catch {
    return [databaseUrl];
  }
}

function elapsedSince(started: number): number {
  return Math.round(performance.now() - started);
}
