// The audit trail: who did what, when, and how it ended. Written for every user-visible action.
import type pg from "pg";
import { redactDeep } from "../redact.js";

export interface AuditEntry {
  actor: string | null;
  repo: string | null;
  environment?: string | null;
  action: string;
  outcome: string;
  detail?: Record<string, unknown>;
}

export async function audit(db: pg.Pool, entry: AuditEntry): Promise<void> {
  await db.query(`insert into audit (actor, repo, environment, action, outcome, detail) values ($1, $2, $3, $4, $5, $6)`, [
    entry.actor,
    entry.repo,
    entry.environment ?? null,
    entry.action,
    entry.outcome,
    JSON.stringify(redactDeep(entry.detail ?? {})),
  ]);
}

export async function readAudit(db: pg.Pool, repo?: string, limit = 100): Promise<Array<AuditEntry & { at: Date }>> {
  const { rows } = await db.query(
    `select at, actor, repo, environment, action, outcome, detail from audit
     where ($1::text is null or repo = $1) order by id desc limit $2`,
    [repo ?? null, limit],
  );
  return rows;
}
