// Scratch databases on a shadow server: created for one plan rehearsal and dropped right after.
// The name carries its creation time (UTC), so databases a crash left behind can be recognized
// and dropped at the next start without any bookkeeping table.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { redact } from "../redact.js";

export const SCRATCH_PREFIX = "autopilot_scratch_";
/** Exactly what scratchDatabaseName produces: nothing else on the server ever matches. */
const SCRATCH_NAME = /^autopilot_scratch_(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})_[a-z0-9]+$/;

/** `autopilot_scratch_<yyyymmddhhmmss>_<random>`, the time in UTC. */
export function scratchDatabaseName(now = new Date()): string {
  const stamp = now.toISOString().replace(/\D/g, "").slice(0, 14);
  return `${SCRATCH_PREFIX}${stamp}_${randomBytes(4).toString("hex")}`;
}

/** When a scratch database was created, read from its name; undefined for any other name. */
export function scratchDatabaseCreatedAt(name: string): Date | undefined {
  const m = SCRATCH_NAME.exec(name);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number);
  const time = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // Date.UTC rolls month 13 over into the next year: only a stamp that reads back the same is a time.
  const readBack = time.toISOString().replace(/\D/g, "").slice(0, 14);
  return readBack === m.slice(1).join("") ? time : undefined;
}

/** The shadow URL pointed at another database on the same server, with the same credentials. */
export function scratchDatabaseUrl(shadowUrl: string, database: string): string {
  const url = new URL(shadowUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/**
 * template0: the scratch database starts without whatever the shadow server's template1 holds, so
 * what it contains comes from the target's schema (or the baseline) alone.
 */
export async function createScratchDatabase(shadowUrl: string, name: string): Promise<void> {
  await withShadowServer(shadowUrl, (client) => client.query(`create database ${client.escapeIdentifier(name)} template template0`));
}

/** FORCE: a session the rehearsal left open (or a crashed one) must not keep the database alive. */
export async function dropScratchDatabase(shadowUrl: string, name: string): Promise<void> {
  await withShadowServer(shadowUrl, (client) => client.query(`drop database if exists ${client.escapeIdentifier(name)} with (force)`));
}

/**
 * Drops scratch databases created more than `olderThanMinutes` ago (a crash left them behind).
 * Called at start-up; the age limit spares rehearsals that other replicas are running right now.
 * Returns the names dropped. A database that cannot be dropped (another role owns it) is left for
 * its owner; an unreachable shadow server throws, with credentials redacted.
 */
export async function dropLeftoverScratchDatabases(shadowUrl: string, olderThanMinutes = 60): Promise<string[]> {
  const cutoff = Date.now() - olderThanMinutes * 60_000;
  return withShadowServer(shadowUrl, async (client) => {
    const { rows } = await client.query<{ datname: string }>(`select datname from pg_database where datname like $1 order by datname`, [
      `${SCRATCH_PREFIX.replace(/_/g, "\\_")}%`,
    ]);
    const dropped: string[] = [];
    for (const { datname } of rows) {
      const createdAt = scratchDatabaseCreatedAt(datname);
      if (!createdAt || createdAt.getTime() > cutoff) continue;
      const ok = await client.query(`drop database if exists ${client.escapeIdentifier(datname)} with (force)`).then(
        () => true,
        () => false,
      );
      if (ok) dropped.push(datname);
    }
    return dropped;
  });
}

/** One short session on the shadow server's maintenance database (the one its URL names). */
async function withShadowServer<T>(shadowUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: shadowUrl, application_name: "autopilot-rehearsal", connectionTimeoutMillis: 10_000 });
  client.on("error", () => undefined); // a dropped connection surfaces as the pending query's error
  try {
    await client.connect();
    return await work(client);
  } catch (error) {
    // No `cause`: the original error may hold the URL (an invalid-URL TypeError carries its input).
    const failure = new Error(redact(`shadow server: ${(error as Error).message ?? String(error)}`)) as Error & { code?: string };
    failure.code = (error as { code?: string }).code; // kept for isUnavailable()
    throw failure;
  } finally {
    await client.end().catch(() => undefined);
  }
}
