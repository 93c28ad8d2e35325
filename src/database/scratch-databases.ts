// Scratch databases on a shadow server: created for one plan rehearsal and dropped right after.
// The name carries its creation time (UTC), so databases a crash left behind can be recognized
// and dropped at the next start without any bookkeeping table. A fork's rehearsal also gets a role
// of the same name (see createSandbox), dropped with its database and recognized the same way.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
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
 * A sandbox for SQL we do not trust (a fork's files): a fresh role `name` that can do nothing but
 * own the scratch database `name`, which no other role may connect to. Everything here runs over
 * the shadow URL's own (admin) connection, which needs CREATEDB and CREATEROLE. The role gets LOGIN
 * (with `password`) only once its database is ready. Returns the URL the untrusted SQL runs with.
 * A login of its own, not SET ROLE on an admin session: the files could RESET ROLE back to the admin.
 * On failure, half-made parts are left for dropSandbox, which the caller runs whatever happens.
 */
export async function createSandbox(shadowUrl: string, name: string, password: string, statementTimeout: string): Promise<string> {
  await withShadowServer(shadowUrl, async (client) => {
    const role = client.escapeIdentifier(name);
    await client.query(`create role ${role} nologin nosuperuser nocreatedb nocreaterole noreplication nobypassrls`);
    // Membership lets the admin create the database for the role, end its sessions and drop both.
    await client.query(`grant ${role} to current_user`);
    await client.query(`create database ${role} owner ${role} template template0`);
    // Every sandbox revokes PUBLIC, so no sandbox role can connect to another one's database.
    await client.query(`revoke all on database ${role} from public`);
    await client.query(`alter role ${role} set statement_timeout = ${client.escapeLiteral(statementTimeout)}`);
    // The verifier, not the password: ALTER ROLE is DDL, which log_statement = ddl writes to the server log.
    await client.query(`alter role ${role} login password ${client.escapeLiteral(scramVerifier(password))}`);
  });
  const url = new URL(scratchDatabaseUrl(shadowUrl, name));
  url.username = encodeURIComponent(name);
  url.password = encodeURIComponent(password);
  url.searchParams.delete("user");
  url.searchParams.delete("password");
  return url.toString();
}

/**
 * PostgreSQL's SCRAM-SHA-256 verifier of `password` (RFC 5802/7677), as the server would store it.
 * A role given a verifier keeps it as is, so the server, its logs and pg_stat_statements never see
 * the password; what they do see lets nobody log in. `password` must be ASCII (no SASLprep here).
 */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password, salt, iterations, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest("base64");
  const serverKey = createHmac("sha256", salted).update("Server Key").digest("base64");
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey}:${serverKey}`;
}

/** Stops the sandbox's role from connecting again and ends its sessions (a rehearsal past its time). */
export async function endSandboxSessions(shadowUrl: string, name: string): Promise<void> {
  await withShadowServer(shadowUrl, async (client) => {
    await client.query(`alter role ${client.escapeIdentifier(name)} nologin`);
    await client.query(`select pg_terminate_backend(pid) from pg_stat_activity where usename = $1`, [name]);
  });
}

/** The database first (FORCE ends the role's sessions), then the role, which then owns nothing. */
export async function dropSandbox(shadowUrl: string, name: string): Promise<void> {
  await dropScratchDatabase(shadowUrl, name);
  await withShadowServer(shadowUrl, (client) => client.query(`drop role if exists ${client.escapeIdentifier(name)}`));
}

/**
 * Drops scratch databases created more than `olderThanMinutes` ago (a crash left them behind), then
 * sandbox roles as old. Called at start-up; the age limit spares rehearsals that other replicas are
 * running right now. Returns the names of the databases dropped. A database or role that cannot be
 * dropped (another role owns it, or the shadow role lacks CREATEROLE) is left alone; an unreachable
 * shadow server throws, with credentials redacted.
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
    await dropLeftoverSandboxRoles(client, cutoff);
    return dropped;
  });
}

async function dropLeftoverSandboxRoles(client: pg.Client, cutoff: number): Promise<void> {
  const { rows } = await client.query<{ rolname: string }>(`select rolname from pg_roles where rolname like $1 order by rolname`, [
    `${SCRATCH_PREFIX.replace(/_/g, "\\_")}%`,
  ]);
  for (const { rolname } of rows) {
    const createdAt = scratchDatabaseCreatedAt(rolname);
    if (!createdAt || createdAt.getTime() > cutoff) continue;
    await client.query(`drop role if exists ${client.escapeIdentifier(rolname)}`).catch(() => undefined);
  }
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
