// The incident issues the heal cycle opened and closed, kept so the dashboard can list recent
// incidents with their duration and issue link without asking GitHub on every page view.
import type pg from "pg";

export interface IncidentChange {
  number: number;
  check: string;
  open: boolean;
  closedAt: Date | null;
  /** When the check went down: set when the issue is opened or reopened. */
  downSince?: Date | null;
}

export interface IncidentRecord {
  number: number;
  check: string;
  downSince: Date | null;
  openedAt: Date;
  closedAt: Date | null;
  /** The heal actions tried on the check while it was down (each kind once), e.g. "deploy_hook, repair". */
  healsTried: string[];
}

/** Records an incident issue as it now stands; a reopened issue is open again from its new start. */
export async function recordIncidentChange(db: pg.Pool, repo: string, change: IncidentChange, now: Date): Promise<void> {
  await db.query(
    `insert into incident_records (repo, issue_number, check_name, down_since, opened_at, closed_at) values ($1, $2, $3, $4, $5, $6)
     on conflict (repo, issue_number) do update set
       check_name = excluded.check_name,
       down_since = coalesce(excluded.down_since, incident_records.down_since),
       opened_at = case when $7 and incident_records.closed_at is not null then excluded.opened_at else incident_records.opened_at end,
       closed_at = excluded.closed_at`,
    [repo.toLowerCase(), change.number, change.check, change.downSince ?? null, now, change.open ? null : change.closedAt, change.open],
  );
}

/** Open incidents and those closed in the last `days` days, newest first. */
export async function recentIncidents(db: pg.Pool, repo: string, days = 30): Promise<IncidentRecord[]> {
  const { rows } = await db.query(
    `select issue_number, check_name, down_since, opened_at, closed_at,
            array(select distinct h.action from heal_actions h
                   where h.repo = i.repo and h.check_name = i.check_name
                     and h.at >= coalesce(i.down_since, i.opened_at) and h.at <= coalesce(i.closed_at, now())) as heals_tried
       from incident_records i
      where repo = $1 and (closed_at is null or closed_at > now() - make_interval(days => $2)) order by opened_at desc limit 50`,
    [repo.toLowerCase(), days],
  );
  return rows.map((r) => ({
    number: r.issue_number,
    check: r.check_name,
    downSince: r.down_since,
    openedAt: r.opened_at,
    closedAt: r.closed_at,
    healsTried: r.heals_tried,
  }));
}
