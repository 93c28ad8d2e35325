// Circuit breakers per outside destination. After FAILURE_THRESHOLD consecutive failures a
// destination's breaker opens for a minute, doubling with each reopening up to 30 minutes; while it
// is open calls fail fast and are counted as skipped; the first call after the open period is the
// trial that closes or reopens it. The state lives in the store (every replica shares it).
//
// The app binds the store once at start-up (bindBreakerStore); without one (the CLI, unit code) every
// call goes through, as before breakers existed.
import { createHash } from "node:crypto";
import type pg from "pg";
import { redact } from "./redact.js";

export const FAILURE_THRESHOLD = 5;
export const FIRST_OPEN_MS = 60_000;
export const LONGEST_OPEN_MS = 30 * 60_000;

export interface BreakerState {
  destination: string;
  failures: number;
  openUntil: Date | null;
  skipped: number;
  lastError: string | null;
}

/** A call not made because its destination's breaker is open. */
export class BreakerOpen extends Error {
  constructor(
    readonly destination: string,
    readonly openUntil: Date,
  ) {
    super(`skipped: ${destination} failed ${FAILURE_THRESHOLD} times in a row; its circuit breaker is open until ${openUntil.toISOString()}`);
  }
}

let store: pg.Pool | undefined;

export function bindBreakerStore(db: pg.Pool | undefined): void {
  store = db;
}

/** A name for a URL that says where it goes without what it holds: "slack:hooks.slack.com#1a2b3c4d". */
export function destinationOf(kind: string, url: string): string {
  let host = "invalid-url";
  try {
    host = new URL(url).host;
  } catch {
    // An unparsable URL still gets its own breaker, by its hash.
  }
  return `${kind}:${host}#${createHash("sha256").update(url).digest("hex").slice(0, 8)}`;
}

/**
 * The breaker of the HTTP health checks of one host: "health:status.example.com:8443", the URL's
 * host and port only (never its path, query or credentials), so every check of every repository on
 * that host shares it: a dead status server costs 5 timeouts, not 5 per check per cycle.
 */
export function healthHostDestination(url: string): string {
  let host = "invalid-url";
  try {
    host = new URL(url).host;
  } catch {
    // The probe refuses an unparsable URL before it would reach the breaker.
  }
  return `health:${host}`;
}

/**
 * The breaker of a target database's non-migration work (health probes, scans' reads): named by the
 * target, never its connection string. Migrations never go through it.
 */
export function targetDatabaseDestination(repo: string, environment: string): string {
  return `database:${repo.toLowerCase()}/${environment}`;
}

/**
 * Runs `call` unless the destination's breaker is open (then throws BreakerOpen without calling).
 * `failed` says whether a result that did not throw still counts as a failure (an HTTP 5xx, say).
 */
export async function throughBreaker<T>(destination: string, call: () => Promise<T>, failed: (result: T) => string | undefined = () => undefined): Promise<T> {
  const db = store;
  if (!db) return call();
  await refuseWhileOpen(db, destination);
  let result: T;
  try {
    result = await call();
  } catch (error) {
    await recordResult(db, destination, redact((error as Error)?.message ?? String(error)));
    throw error;
  }
  await recordResult(db, destination, failed(result));
  return result;
}

async function refuseWhileOpen(db: pg.Pool, destination: string): Promise<void> {
  const { rows } = await db.query<{ open_until: Date }>(
    `update circuit_breakers set skipped = skipped + 1 where destination = $1 and open_until > now() returning open_until`,
    [destination],
  );
  if (rows[0]) throw new BreakerOpen(destination, rows[0].open_until);
}

/** A success closes the breaker; a failure counts, and the FAILURE_THRESHOLD-th (or a failed trial) opens it, each time for twice as long. */
async function recordResult(db: pg.Pool, destination: string, error: string | undefined): Promise<void> {
  if (error === undefined) {
    await db.query(`update circuit_breakers set failures = 0, opens = 0, open_until = null, updated_at = now() where destination = $1 and failures > 0`, [
      destination,
    ]);
    return;
  }
  await db.query(
    `insert into circuit_breakers as b (destination, failures, last_error) values ($1, 1, $2)
     on conflict (destination) do update set
       failures = b.failures + 1,
       last_error = $2,
       updated_at = now(),
       opens = case when b.failures + 1 >= $3 then b.opens + 1 else b.opens end,
       open_until = case when b.failures + 1 >= $3
                         then now() + least($4::bigint * (2 ^ b.opens)::bigint, $5::bigint) * interval '1 millisecond'
                         else b.open_until end`,
    [destination, error.slice(0, 500), FAILURE_THRESHOLD, FIRST_OPEN_MS, LONGEST_OPEN_MS],
  );
}

/** Every destination that has failed recently or is open, for /metrics and `/autopilot status`. */
export async function breakerStates(db: pg.Pool | Pick<pg.Pool, "query">): Promise<BreakerState[]> {
  const { rows } = await db.query(
    `select destination, failures, case when open_until > now() then open_until end as open_until, skipped, last_error
       from circuit_breakers order by destination`,
  );
  return rows.map((r) => ({ destination: r.destination, failures: r.failures, openUntil: r.open_until, skipped: Number(r.skipped), lastError: r.last_error }));
}

/** The open breakers among these URLs' destinations (a target's deploy hook and Slack webhook, say) and the named ones (its database's). */
export async function openBreakersOf(db: Pick<pg.Pool, "query">, urls: Array<string | undefined>, named: string[] = []): Promise<BreakerState[]> {
  const destinations = [...urls.filter((u): u is string => !!u).flatMap((url) => [destinationOf("deploy-hook", url), destinationOf("slack", url)]), ...named];
  if (destinations.length === 0) return [];
  return (await breakerStates(db)).filter((b) => b.openUntil && destinations.includes(b.destination));
}
