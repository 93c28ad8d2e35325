// Dashboard sessions: who signed in, the repositories GitHub said they may reach (with their permission
// there), and the session's CSRF token. Looked up by a hash of the cookie's id, never by the id itself.
import { createHash } from "node:crypto";
import type pg from "pg";

export interface SessionRepo {
  /** owner/name as GitHub spells it. */
  repo: string;
  installationId: number;
  /** The user's permission on it: none, read, triage, write, maintain or admin. */
  permission: string;
}

export interface DashboardSession {
  login: string;
  repos: SessionRepo[];
  csrf: string;
  expiresAt: Date;
}

const hashOf = (sessionId: string) => createHash("sha256").update(sessionId).digest("hex");

export async function saveSession(db: pg.Pool, sessionId: string, session: DashboardSession): Promise<void> {
  await db.query(`delete from dashboard_sessions where expires_at < now()`);
  await db.query(`insert into dashboard_sessions (id_hash, login, repos, csrf, expires_at) values ($1, $2, $3, $4, $5)`, [
    hashOf(sessionId),
    session.login,
    JSON.stringify(session.repos),
    session.csrf,
    session.expiresAt,
  ]);
}

/** The session, unless it is unknown, signed out or expired. */
export async function findSession(db: pg.Pool, sessionId: string): Promise<DashboardSession | undefined> {
  const { rows } = await db.query(`select login, repos, csrf, expires_at from dashboard_sessions where id_hash = $1 and expires_at > now()`, [
    hashOf(sessionId),
  ]);
  const row = rows[0];
  return row ? { login: row.login, repos: row.repos, csrf: row.csrf, expiresAt: row.expires_at } : undefined;
}

export async function deleteSession(db: pg.Pool, sessionId: string): Promise<void> {
  await db.query(`delete from dashboard_sessions where id_hash = $1`, [hashOf(sessionId)]);
}
