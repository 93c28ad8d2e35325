// Brings a target database back to exactly the state a backup recorded, all or nothing.
//
// pg_restore --clean only drops what the dump knows about, so a table a later migration created would
// survive it. Instead the dump is turned into SQL first (which also proves the archive is readable end
// to end before anything is touched), then one psql session runs, in a single transaction, a prelude
// that empties the database of every user schema followed by that SQL. Any error rolls the whole
// transaction back and leaves the database as it was.
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { sha256File } from "./backup.js";
import { connectionEnv, runTool, ToolError } from "./pg-tools.js";
import { redact } from "../redact.js";

export type RestoreStage = "verify" | "convert" | "apply";

export class RestoreError extends Error {
  constructor(
    readonly stage: RestoreStage,
    message: string,
  ) {
    super(message);
    this.name = "RestoreError";
  }
}

export interface RestoreOptions {
  databaseUrl: string;
  file: string;
  /** When given, the file must hash to this or nothing is touched. */
  expectedSha256?: string;
  onProgress?: (line: string) => void;
  /** How long to wait for each lock other sessions hold before giving up (default 10 s). */
  lockTimeoutMs?: number;
  /** Restore GRANTs as dumped (default true): applications depend on them. */
  keepPrivileges?: boolean;
}

export interface RestoreResult {
  durationMs: number;
  /** Owners of the backup the restoring role cannot become, so the restoring role owns their objects; empty when owners were kept. */
  ownersNotKept: string[];
}

/**
 * Restores `file` over the database. The backup's owners are kept when the restoring role can become
 * every one of them (an application role that owned its tables gets "permission denied" once another
 * role owns them); otherwise the restoring role owns everything, rather than the restore failing, and
 * the result names the owners not kept. It does not take the migration lock: callers that share the
 * database with migrations hold it around the restore (holdMigrationLock).
 */
export async function restoreDatabase(opts: RestoreOptions): Promise<RestoreResult> {
  const started = Date.now();
  await checkFile(opts);
  const ownersNotKept = await ownersTheRoleCannotBecome(opts);
  const workDir = await mkdtemp(path.join(tmpdir(), "autopilot-restore-")); // mode 0700: the SQL holds data
  try {
    const sqlFile = await convertToSql(opts, workDir, ownersNotKept.length === 0);
    const preludeFile = path.join(workDir, "prelude.sql");
    await writeFile(preludeFile, resetPrelude(opts.lockTimeoutMs ?? 10_000), { mode: 0o600 });
    await apply(opts, preludeFile, sqlFile);
    return { durationMs: Date.now() - started, ownersNotKept };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/** The backup's owners that the restoring role cannot become (ALTER … OWNER TO would fail). */
async function ownersTheRoleCannotBecome(opts: RestoreOptions): Promise<string[]> {
  const owners = await ownersInArchive(opts.file);
  if (owners.length === 0) return [];
  const client = new pg.Client({ connectionString: opts.databaseUrl, application_name: "autopilot-restore" });
  client.on("error", () => undefined);
  try {
    await client.connect();
    // CASE, not AND: pg_has_role raises an error for a role that does not exist.
    const { rows } = await client.query<{ owner: string }>(
      `select owner from unnest($1::text[]) as o(owner)
        where not case
          when not exists (select 1 from pg_catalog.pg_roles where rolname = owner) then false
          when (select rolsuper from pg_catalog.pg_roles where rolname = current_user) then true
          else pg_catalog.pg_has_role(current_user, owner, 'MEMBER') end
        order by owner`,
      [owners],
    );
    return rows.map((r) => r.owner);
  } catch (error) {
    throw new RestoreError("verify", message("could not check which owners the restoring role can become; the database was not touched", error));
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The distinct owners the archive's table of contents names. Each entry line ends with
 * `<type> <schema> <name> <owner>`, the owner after the last space (empty for entries without one).
 */
async function ownersInArchive(file: string): Promise<string[]> {
  let listing: string;
  try {
    listing = (await runTool("pg_restore", ["--list", file])).stdout;
  } catch (error) {
    throw new RestoreError("convert", message("the backup file could not be read (corrupt or truncated?); the database was not touched", error));
  }
  const owners = new Set<string>();
  for (const line of listing.split("\n")) {
    if (!/^\d+; /.test(line)) continue;
    const owner = line.slice(line.lastIndexOf(" ") + 1);
    if (owner) owners.add(owner);
  }
  return [...owners].sort();
}

async function checkFile(opts: RestoreOptions): Promise<void> {
  const info = await stat(opts.file).catch(() => undefined);
  if (!info?.isFile()) throw new RestoreError("verify", `backup file not found: ${opts.file}`);
  if (!opts.expectedSha256) return;
  const actual = await sha256File(opts.file);
  if (actual !== opts.expectedSha256.toLowerCase()) {
    throw new RestoreError(
      "verify",
      `backup file checksum mismatch (expected sha256 ${opts.expectedSha256}, file has ${actual}); refusing to restore, the database was not touched`,
    );
  }
  opts.onProgress?.("checksum verified");
}

/** pg_restore reads the whole archive here; a truncated or corrupt dump fails before the database is touched. */
async function convertToSql(opts: RestoreOptions, workDir: string, keepOwners: boolean): Promise<string> {
  const sqlFile = path.join(workDir, "restore.sql");
  const args = ["--verbose", `--file=${sqlFile}`];
  if (!keepOwners) args.push("--no-owner");
  if (opts.keepPrivileges === false) args.push("--no-privileges");
  try {
    await runTool("pg_restore", [...args, opts.file], { onStderr: opts.onProgress });
  } catch (error) {
    throw new RestoreError("convert", message("the backup file could not be read (corrupt or truncated?); the database was not touched", error));
  }
  return sqlFile;
}

async function apply(opts: RestoreOptions, preludeFile: string, sqlFile: string): Promise<void> {
  let conn;
  try {
    conn = connectionEnv(opts.databaseUrl);
  } catch (error) {
    throw new RestoreError("apply", (error as Error).message);
  }
  const args = [
    "--no-psqlrc",
    "--quiet",
    "--no-password",
    "--single-transaction",
    "--set=ON_ERROR_STOP=1",
    ...conn.args,
    `--file=${preludeFile}`,
    `--file=${sqlFile}`,
  ];
  opts.onProgress?.("applying the backup in one transaction");
  try {
    await runTool("psql", args, { env: conn.env, secrets: conn.secrets, onStderr: opts.onProgress });
  } catch (error) {
    throw new RestoreError("apply", applyFailure(error));
  }
}

function applyFailure(error: unknown): string {
  const text = error instanceof ToolError ? error.stderr || error.message : String((error as Error)?.message ?? error);
  if (/lock timeout/i.test(text)) {
    return (
      "restore gave up waiting for a lock another session holds on the database (lock_timeout); " +
      "the transaction was rolled back and the database was not changed. Retry when those sessions are done."
    );
  }
  return message("restore failed and was rolled back; the database was not changed", error);
}

/**
 * SQL run first, inside the restore's transaction: empties the database of everything the dump will
 * recreate. Extensions go first (plpgsql is part of every database and the dump never recreates it),
 * then every user schema including `public`, which pg_dump assumes exists, so it is recreated the way
 * CREATE DATABASE makes it in PostgreSQL 15. Large objects and publications live outside schemas.
 * The lock_timeout covers these drops, which take every lock the restore needs; the dump's own
 * `SET lock_timeout = 0` comes after.
 */
export function resetPrelude(lockTimeoutMs: number): string {
  return `
SET lock_timeout = '${Math.max(1, Math.round(lockTimeoutMs))}ms';
SET client_min_messages = warning;
DO $autopilot_restore$
DECLARE r record;
BEGIN
  FOR r IN SELECT extname FROM pg_catalog.pg_extension WHERE extname <> 'plpgsql' LOOP
    EXECUTE format('DROP EXTENSION IF EXISTS %I CASCADE', r.extname);
  END LOOP;
  FOR r IN SELECT nspname FROM pg_catalog.pg_namespace
           WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
             AND nspname NOT LIKE 'pg\\_temp\\_%' AND nspname NOT LIKE 'pg\\_toast\\_temp\\_%' LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', r.nspname);
  END LOOP;
  PERFORM pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata;
  FOR r IN SELECT pubname FROM pg_catalog.pg_publication LOOP
    EXECUTE format('DROP PUBLICATION %I', r.pubname);
  END LOOP;
END
$autopilot_restore$;
CREATE SCHEMA public AUTHORIZATION pg_database_owner;
COMMENT ON SCHEMA public IS 'standard public schema';
GRANT USAGE ON SCHEMA public TO PUBLIC;
`;
}

function message(prefix: string, error: unknown): string {
  const detail = error instanceof ToolError ? error.detail : String((error as Error)?.message ?? error);
  return redact(`${prefix}: ${detail}`);
}
