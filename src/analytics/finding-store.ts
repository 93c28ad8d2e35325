// Findings of anomaly scans in the store. A finding's fingerprint (repo, check, kind) has at most one
// open row: a scan that sees it again updates that row, one that no longer sees it resolves it. The
// reporter keys its `anomaly` issue on the row, so an issue is updated, never duplicated.
import type pg from "pg";
import type { Finding, FindingKind, ScanReport, Severity } from "./anomalies.js";
import type { Queryable } from "./queries.js";

export interface StoredFinding {
  id: number;
  fingerprint: string;
  repo: string;
  check: string;
  kind: FindingKind;
  severity: Severity;
  summary: string;
  onsetAt: Date | null;
  cause: unknown;
  detail: Record<string, unknown>;
  firstSeenAt: Date;
  lastSeenAt: Date;
  seenCount: number;
  resolvedAt: Date | null;
  issueNumber: number | null;
}

export interface RecordedScan {
  /** Findings seen for the first time in this episode (post a new issue). */
  opened: StoredFinding[];
  /** Findings already open and seen again (update their issue). */
  updated: StoredFinding[];
  /** Open findings this scan no longer sees (close their issue). */
  resolved: StoredFinding[];
}

/** Persists a scan of one repository in one transaction. */
export async function recordFindings(pool: pg.Pool, report: ScanReport): Promise<RecordedScan> {
  const client = await pool.connect();
  try {
    await client.query("begin");
    const result: RecordedScan = { opened: [], updated: [], resolved: [] };
    for (const finding of report.findings) {
      const row = await upsertFinding(client, finding, report.at);
      (row.seenCount === 1 ? result.opened : result.updated).push(row);
    }
    result.resolved = await resolveUnseen(
      client,
      report.repo,
      report.findings.map((f) => f.fingerprint),
      report.at,
    );
    await client.query("commit");
    return result;
  } catch (error) {
    await client.query("rollback").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

async function upsertFinding(db: Queryable, finding: Finding, at: Date): Promise<StoredFinding> {
  // The first onset and cause are kept: later scans see the same episode from further away.
  const { rows } = await db.query(
    `insert into anomaly_findings
            (fingerprint, repo, check_name, kind, severity, summary, onset_at, cause, detail, first_seen_at, last_seen_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
     on conflict (fingerprint) where resolved_at is null do update
        set severity = excluded.severity, summary = excluded.summary, detail = excluded.detail,
            onset_at = coalesce(anomaly_findings.onset_at, excluded.onset_at),
            cause = coalesce(anomaly_findings.cause, excluded.cause),
            last_seen_at = excluded.last_seen_at, seen_count = anomaly_findings.seen_count + 1
     returning *`,
    [
      finding.fingerprint,
      finding.repo,
      finding.check,
      finding.kind,
      finding.severity,
      finding.summary,
      finding.onsetAt,
      finding.cause === null ? null : JSON.stringify(finding.cause),
      JSON.stringify(finding.detail),
      at,
    ],
  );
  return toFinding(rows[0]);
}

async function resolveUnseen(db: Queryable, repo: string, seen: string[], at: Date): Promise<StoredFinding[]> {
  const { rows } = await db.query(
    `update anomaly_findings set resolved_at = $3
      where repo = $1 and resolved_at is null and not (fingerprint = any($2::text[]))
      returning *`,
    [repo, seen, at],
  );
  return rows.map(toFinding);
}

/** Open findings, of one repository or all, newest first: for `/autopilot status` and the dashboard. */
export async function listOpenFindings(db: Queryable, repo?: string): Promise<StoredFinding[]> {
  const { rows } = await db.query(
    `select * from anomaly_findings where resolved_at is null and ($1::text is null or repo = $1)
      order by last_seen_at desc, id desc`,
    [repo ?? null],
  );
  return rows.map(toFinding);
}

/** Remembers which GitHub issue reports a finding. */
export async function setFindingIssue(db: Queryable, id: number, issueNumber: number): Promise<void> {
  await db.query("update anomaly_findings set issue_number = $2 where id = $1", [id, issueNumber]);
}

function toFinding(r: any): StoredFinding {
  return {
    id: Number(r.id),
    fingerprint: r.fingerprint,
    repo: r.repo,
    check: r.check_name,
    kind: r.kind,
    severity: r.severity,
    summary: r.summary,
    onsetAt: r.onset_at,
    cause: r.cause,
    detail: r.detail,
    firstSeenAt: r.first_seen_at,
    lastSeenAt: r.last_seen_at,
    seenCount: r.seen_count,
    resolvedAt: r.resolved_at,
    issueNumber: r.issue_number,
  };
}
