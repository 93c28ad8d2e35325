// The target's own record of what ran: autopilot.schema_migrations, in the spirit of Flyway's
// schema history. Reads never create it, so planning against a database leaves no trace.
import pg from "pg";
import type { AppliedMigration } from "./planner.js";
import { compareVersions } from "./migration-files.js";

export const HISTORY_TABLE = "autopilot.schema_migrations";

const CREATE_HISTORY = `
create schema if not exists autopilot;
create table if not exists autopilot.schema_migrations (
  version     text primary key,
  name        text not null,
  checksum    text not null,
  applied_at  timestamptz not null default now(),
  duration_ms integer not null,
  applied_by  text not null,
  commit_sha  text,
  reverted_at timestamptz,
  reverted_by text
)`;

/** Callers serialize this under the migration advisory lock: concurrent CREATE … IF NOT EXISTS can still collide. */
export async function ensureHistory(client: pg.ClientBase): Promise<void> {
  await client.query(CREATE_HISTORY);
  await addRevertedByToOlderTables(client);
}

/**
 * Tables created before rollbacks recorded who reverted lack reverted_by. Checked in the catalog
 * first: ALTER … ADD COLUMN IF NOT EXISTS would take an exclusive lock on every run, and queue
 * behind any open transaction that read the history.
 */
async function addRevertedByToOlderTables(client: pg.ClientBase): Promise<void> {
  const { rows } = await client.query(
    `select 1 from pg_attribute where attrelid = '${HISTORY_TABLE}'::regclass and attname = 'reverted_by' and not attisdropped`,
  );
  if (rows.length === 0) await client.query(`alter table ${HISTORY_TABLE} add column if not exists reverted_by text`);
}

/** A history row as read back: what the planner needs, plus who reverted it (null while in effect). */
export interface HistoryRow extends AppliedMigration {
  revertedBy: string | null;
}

export async function readHistory(client: pg.ClientBase): Promise<HistoryRow[]> {
  const { rows } = await client.query(`select to_regclass('${HISTORY_TABLE}') is not null as present`);
  if (!rows[0].present) return [];
  // `*` rather than a column list: a read never alters the table, and an older one has no reverted_by.
  const result = await client.query(`select * from ${HISTORY_TABLE}`);
  return result.rows.map(toApplied).sort((a, b) => compareVersions(a.version, b.version));
}

export async function readHistoryFromUrl(url: string): Promise<HistoryRow[]> {
  const client = new pg.Client({ connectionString: url, application_name: "autopilot" });
  client.on("error", () => undefined); // a dropped connection surfaces as the query's error
  await client.connect();
  try {
    return await readHistory(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function toApplied(row: Record<string, any>): HistoryRow {
  return {
    version: row.version,
    name: row.name,
    checksum: row.checksum,
    appliedAt: row.applied_at,
    durationMs: row.duration_ms,
    appliedBy: row.applied_by,
    commitSha: row.commit_sha,
    revertedAt: row.reverted_at,
    revertedBy: row.reverted_by ?? null,
  };
}

export interface HistoryEntry {
  version: string;
  name: string;
  checksum: string;
  appliedBy: string;
  commitSha: string | null;
}

/**
 * The statement that records a file as applied, with values inlined as literals so it can ride in
 * the same round trip as the file itself. `durationSql` is an SQL expression. A reverted row of the
 * same version is replaced (the file was rolled back and is applied again).
 */
export function recordAppliedSql(entry: HistoryEntry, durationSql: string, escapeLiteral: (value: string) => string): string {
  const literal = (value: string | null) => (value === null ? "null" : escapeLiteral(value));
  return `insert into ${HISTORY_TABLE} (version, name, checksum, applied_at, duration_ms, applied_by, commit_sha, reverted_at)
values (${literal(entry.version)}, ${literal(entry.name)}, ${literal(entry.checksum)}, now(), ${durationSql}, ${literal(entry.appliedBy)}, ${literal(entry.commitSha)}, null)
on conflict (version) do update set name = excluded.name, checksum = excluded.checksum, applied_at = excluded.applied_at,
  duration_ms = excluded.duration_ms, applied_by = excluded.applied_by, commit_sha = excluded.commit_sha, reverted_at = null, reverted_by = null
returning duration_ms`;
}

/**
 * The statement that marks a row reverted, with values inlined so it can ride in the same round trip
 * as the down file. Only a row still in effect is touched; it returns the row it marked, so a caller
 * can tell "marked" from "was not applied". `durationSql` is an SQL expression.
 */
export function markRevertedSql(version: string, revertedBy: string, durationSql: string, escapeLiteral: (value: string) => string): string {
  return `update ${HISTORY_TABLE} set reverted_at = now(), reverted_by = ${escapeLiteral(revertedBy)}
where version = ${escapeLiteral(version)} and reverted_at is null
returning version, ${durationSql} as revert_ms`;
}

/** A file recorded without running it: adopted from another tool's history, or baselined. */
export interface TakenOverEntry {
  version: string;
  name: string;
  checksum: string;
  /** The original applied time where another tool kept one; now otherwise. */
  appliedAt?: Date;
  durationMs?: number;
  appliedBy: string;
}

/**
 * Records files as applied in one transaction, only while the history is still empty, so two
 * take-overs (or a take-over and a migration) never mix. Returns the history as recorded (so the
 * caller need not read it again), or undefined when the history was not empty. Callers hold the migration lock.
 */
export async function recordTakenOver(client: pg.ClientBase, entries: TakenOverEntry[]): Promise<HistoryRow[] | undefined> {
  await ensureHistory(client);
  await client.query("begin");
  try {
    const { rows } = await client.query(`select count(*)::int as n from ${HISTORY_TABLE}`);
    if (rows[0].n > 0) {
      await client.query("rollback");
      return undefined;
    }
    const recorded: HistoryRow[] = [];
    for (const entry of entries) {
      const inserted = await client.query(
        `insert into ${HISTORY_TABLE} (version, name, checksum, applied_at, duration_ms, applied_by, commit_sha) values ($1, $2, $3, coalesce($4, now()), $5, $6, null) returning *`,
        [entry.version, entry.name, entry.checksum, entry.appliedAt ?? null, entry.durationMs ?? 0, entry.appliedBy],
      );
      recorded.push(toApplied(inserted.rows[0]));
    }
    await client.query("commit");
    return recorded.sort((a, b) => compareVersions(a.version, b.version));
  } catch (error) {
    await client.query("rollback").catch(() => undefined);
    throw error;
  }
}
