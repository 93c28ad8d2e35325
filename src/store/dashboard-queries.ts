// The dashboard's reads, aggregated in SQL so a page costs a handful of queries whatever the history's
// size. Health tables key repositories in lower case; runs keep GitHub's spelling, so both are asked for.
// Health samples are read through the rollups (store/health-rollups.ts): whole hours and days from the
// aggregates, only the hours not rolled up yet from raw samples.
import type pg from "pg";
import { recentIncidents } from "./incident-records.js";
import { inTransaction } from "./transaction.js";
import { UPTIME_WINDOWS } from "../analytics/queries.js";
import { DAY_MS, floorTo, HOUR_MS, hourRows, hourRowsSql, rolledThrough, type HourRow, SqlParams, windowCountsSql } from "./health-rollups.js";

const spellings = (repos: string[]) => [...new Set(repos.flatMap((r) => [r, r.toLowerCase()]))];
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

export interface RepoHealth {
  repo: string;
  status: string;
  since: Date | null;
  uptime: { "24h": number | null; "7d": number | null; "30d": number | null };
}

/** Each repository's worst check status (and since when it is down), and its uptime over 24 h, 7 d and 30 d. */
export async function repoHealth(db: pg.Pool, repos: string[], now = new Date()): Promise<Map<string, RepoHealth>> {
  const lower = repos.map((r) => r.toLowerCase());
  const [states, uptimes] = await Promise.all([
    db.query(
      `select repo, max(case status when 'unhealthy' then 3 when 'degraded' then 2 when 'maintenance' then 1 else 0 end) as worst,
              min(down_since) as since
         from health_state where repo = any($1) group by repo`,
      [lower],
    ),
    repoUptimes(db, lower, now),
  ]);
  const health = new Map<string, RepoHealth>();
  const names = ["up", "maintenance", "degraded", "down"];
  for (const row of states.rows) {
    health.set(row.repo, { repo: row.repo, status: names[row.worst] ?? "up", since: row.since, uptime: { "24h": null, "7d": null, "30d": null } });
  }
  for (const [repo, uptime] of uptimes) {
    const entry = health.get(repo) ?? { repo, status: "unknown", since: null, uptime: { "24h": null, "7d": null, "30d": null } };
    entry.uptime = uptime;
    health.set(repo, entry);
  }
  return health;
}

/**
 * Each repository's uptime per window: answered samples over all its checks' samples, maintenance left
 * out. One grouped query for the three windows, each read from the rollups plus its raw edges.
 */
async function repoUptimes(db: pg.Pool, repos: string[], now: Date): Promise<Map<string, RepoHealth["uptime"]>> {
  const windows = Object.entries(UPTIME_WINDOWS) as Array<[keyof RepoHealth["uptime"], number]>;
  const params = new SqlParams();
  const rolled = await rolledThrough(db);
  const parts = windows.map(
    ([name, hours]) =>
      `select ${params.add(name)}::text as uptime_window, repo, healthy, degraded, failures
         from (${windowCountsSql(params, new Date(now.getTime() - hours * HOUR_MS), now, rolled, { repos })}) w`,
  );
  const sql = `select uptime_window, repo, sum(healthy + degraded)::float8 as up, sum(healthy + degraded + failures)::float8 as samples
       from (${parts.join("\n union all ")}) s
      group by uptime_window, repo`;
  // A few thousand rollup rows and raw edges: parallel workers cost more to start (much more on a busy
  // host) than they save, and the planner's estimate of a dozen union parts tempts it into them.
  const { rows } = await inTransaction(db, async (client) => {
    await client.query("set local max_parallel_workers_per_gather = 0");
    return client.query(sql, params.values);
  });
  const uptimes = new Map<string, RepoHealth["uptime"]>();
  for (const { uptime_window: name, repo, up, samples } of rows as Array<{
    uptime_window: keyof RepoHealth["uptime"];
    repo: string;
    up: number;
    samples: number;
  }>) {
    if (samples === 0) continue;
    const uptime = uptimes.get(repo) ?? uptimes.set(repo, { "24h": null, "7d": null, "30d": null }).get(repo)!;
    uptime[name] = up / samples;
  }
  return uptimes;
}

export interface EnvironmentFacts {
  repo: string;
  environment: string;
  lastRun?: { id: number; kind: string; status: string; title: string | null; at: Date };
  lock?: { lockedBy: string; reason: string | null; at: Date };
  lastBackup?: { id: string; at: Date; store: string; path: string | null };
  /** The last restore drill that passed, and the latest drill when it failed since. */
  lastVerified?: { backupId: string; at: Date };
  failedDrill?: { backupId: string; at: Date; details: string };
  appliedVersion?: string;
  /** Files the environment's latest planned migrate run left unapplied (its run id says as of when). */
  pending?: { files: number; runId: number };
}

/** Per repository and environment: the last run, the lock, the last good backup, the last version Autopilot applied. */
export async function environmentFacts(db: pg.Pool, repos: string[]): Promise<EnvironmentFacts[]> {
  const names = spellings(repos);
  const [runs, locks, backups, versions, pending, drills] = await Promise.all([
    db.query(
      `select distinct on (repo, environment) id, repo, environment, kind, status, title, coalesce(finished_at, created_at) as at
         from runs where repo = any($1) and environment is not null order by repo, environment, id desc`,
      [names],
    ),
    db.query(`select repo, environment, locked_by, reason, locked_at from environment_locks where repo = any($1)`, [names]),
    db.query(
      `select distinct on (repo, environment) repo, environment, id, created_at, store, path from backups
        where repo = any($1) and status = 'ok' order by repo, environment, created_at desc`,
      [names],
    ),
    db.query(
      `select distinct on (r.repo, r.environment) r.repo, r.environment, m.version from runs r join run_migrations m on m.run_id = r.id
        where r.repo = any($1) and r.kind = 'migrate' and r.status = 'success' order by r.repo, r.environment, r.id desc, m.version desc`,
      [names],
    ),
    db.query(
      `select distinct on (r.repo, r.environment) r.repo, r.environment, r.id,
              greatest(0, r.pending_files - (select count(*) from run_migrations m where m.run_id = r.id))::int as files
         from runs r where r.repo = any($1) and r.kind = 'migrate' and r.pending_files is not null and r.status <> 'in_progress'
        order by r.repo, r.environment, r.id desc`,
      [names],
    ),
    db.query(
      `select repo, environment,
              (array_agg(backup_id order by finished_at desc) filter (where ok))[1] as verified_backup, max(finished_at) filter (where ok) as verified_at,
              (array_agg(backup_id order by finished_at desc))[1] as last_backup, (array_agg(ok order by finished_at desc))[1] as last_ok,
              (array_agg(details order by finished_at desc))[1] as last_details, max(finished_at) as last_at
         from restore_drills where lower(repo) = any($1) group by repo, environment`,
      [repos.map((r) => r.toLowerCase())],
    ),
  ]);
  const facts = new Map<string, EnvironmentFacts>();
  const entry = (repo: string, environment: string) => {
    const key = `${repo.toLowerCase()} ${environment}`;
    const found = facts.get(key) ?? { repo, environment };
    facts.set(key, found);
    return found;
  };
  for (const r of runs.rows) entry(r.repo, r.environment).lastRun = { id: Number(r.id), kind: r.kind, status: r.status, title: r.title, at: r.at };
  for (const l of locks.rows) entry(l.repo, l.environment).lock = { lockedBy: l.locked_by, reason: l.reason, at: l.locked_at };
  for (const b of backups.rows) entry(b.repo, b.environment).lastBackup = { id: b.id, at: b.created_at, store: b.store, path: b.path };
  for (const d of drills.rows) {
    const found = entry(d.repo, d.environment);
    if (d.verified_backup) found.lastVerified = { backupId: d.verified_backup, at: d.verified_at };
    if (!d.last_ok) found.failedDrill = { backupId: d.last_backup, at: d.last_at, details: d.last_details };
  }
  for (const v of versions.rows) entry(v.repo, v.environment).appliedVersion = v.version;
  for (const p of pending.rows) entry(p.repo, p.environment).pending = { files: p.files, runId: Number(p.id) };
  return [...facts.values()];
}

export interface LatencyPoint {
  check: string;
  hour: Date;
  p50: number;
  p95: number;
}

/**
 * Response time (p50/p95 of answered samples) per check and UTC hour, over the hours since the one
 * `days` days ago; each point is labelled with its hour's start.
 */
export async function hourlyLatency(db: pg.Pool, repo: string, days = 7, now = new Date()): Promise<LatencyPoint[]> {
  return latencyPoints(await hourRows(db, new Date(now.getTime() - days * DAY_MS), now, { repos: [repo.toLowerCase()] }));
}

/** Uptime per UTC day (maintenance left out) and the hours that had maintenance results, over the hours since the one `days` days ago. */
export async function dailyUptime(db: pg.Pool, repo: string, days = 7, now = new Date()): Promise<DailyUptime> {
  return uptimePerDay(await hourRows(db, new Date(now.getTime() - days * DAY_MS), now, { repos: [repo.toLowerCase()] }));
}

/** Both charts of the repository page from one read of its hourly rows (hourlyLatency and dailyUptime in one query). */
export async function repositoryCharts(db: pg.Pool, repo: string, days = 7, now = new Date()): Promise<{ latency: LatencyPoint[]; uptime: DailyUptime }> {
  const rows = await hourRows(db, new Date(now.getTime() - days * DAY_MS), now, { repos: [repo.toLowerCase()] });
  return { latency: latencyPoints(rows), uptime: uptimePerDay(rows) };
}

export interface DailyUptime {
  days: Array<{ day: Date; uptime: number | null }>;
  maintenanceHours: Date[];
}

function latencyPoints(rows: HourRow[]): LatencyPoint[] {
  return rows.flatMap((r) => (r.answered > 0 ? [{ check: r.check, hour: r.start, p50: r.p50Ms!, p95: r.p95Ms! }] : []));
}

function uptimePerDay(rows: HourRow[]): DailyUptime {
  const perDay = new Map<number, { up: number; samples: number }>();
  const maintenance = new Set<number>();
  for (const r of rows) {
    const day = floorTo(r.start, DAY_MS).getTime();
    const sum = perDay.get(day) ?? perDay.set(day, { up: 0, samples: 0 }).get(day)!;
    sum.up += r.healthy + r.degraded;
    sum.samples += r.healthy + r.degraded + r.failures;
    if (r.maintenance > 0) maintenance.add(r.start.getTime());
  }
  return {
    days: [...perDay].sort(([a], [b]) => a - b).map(([day, { up, samples }]) => ({ day: new Date(day), uptime: samples ? up / samples : null })),
    maintenanceHours: [...maintenance].sort((a, b) => a - b).map((t) => new Date(t)),
  };
}

export interface TimelineMark {
  at: Date;
  kind: "migration" | "deployment";
  label: string;
}

/** Migrations (and rollbacks) and deployments of the last `days` days: the marks on the charts' time axis. */
export async function timelineMarks(db: pg.Pool, repo: string, days = 7): Promise<TimelineMark[]> {
  const names = spellings([repo]);
  const [runs, deployments] = await Promise.all([
    db.query(
      `select kind, environment, status, coalesce(finished_at, created_at) as at from runs
        where repo = any($1) and kind in ('migrate', 'rollback') and status not in ('queued', 'skipped') and created_at > now() - make_interval(days => $2)
        order by at`,
      [names, days],
    ),
    db.query(
      `select environment, hook, ok, created_at from deployments where repo = any($1) and created_at > now() - make_interval(days => $2) order by created_at`,
      [names, days],
    ),
  ]);
  return [
    ...runs.rows.map((r) => ({ at: r.at, kind: "migration" as const, label: `${r.kind} ${r.environment ?? ""} ${r.status}` })),
    ...deployments.rows.map((d) => ({ at: d.created_at, kind: "deployment" as const, label: `deploy ${d.environment} (${d.hook}) ${d.ok ? "ok" : "failed"}` })),
  ];
}

export interface CheckIncident {
  check: string;
  status: string;
  downSince: Date | null;
  updatedAt: Date;
}

/** Checks not healthy now, incident issues open or closed in the last 30 days, and the heal actions tried in the last 7 days. */
export async function incidents(db: pg.Pool, repo: string) {
  const [open, heals, alerts, issues] = await Promise.all([
    db.query(`select check_name, status, down_since, updated_at from health_state where repo = $1 and status <> 'healthy' order by down_since nulls last`, [
      repo.toLowerCase(),
    ]),
    db.query(`select check_name, action, ok, detail, at from heal_actions where repo = $1 and at > now() - interval '7 days' order by at desc limit 30`, [
      repo.toLowerCase(),
    ]),
    db.query(`select rule, subject, severity, value, fired_at from alert_state where repo = $1 and state = 'firing' order by fired_at desc`, [
      repo.toLowerCase(),
    ]),
    recentIncidents(db, repo),
  ]);
  return {
    open: open.rows.map((r) => ({ check: r.check_name, status: r.status, downSince: r.down_since, updatedAt: r.updated_at })) as CheckIncident[],
    issues,
    heals: heals.rows.map((r) => ({
      check: r.check_name as string,
      action: r.action as string,
      ok: r.ok as boolean,
      detail: r.detail as string | null,
      at: r.at as Date,
    })),
    alerts: alerts.rows.map((r) => ({
      rule: r.rule as string,
      subject: r.subject as string,
      severity: r.severity as string,
      value: num(r.value),
      firedAt: r.fired_at as Date | null,
    })),
  };
}

/** Per hour of the last 24: runs started, checks recorded (and failed), heal actions, alert transitions. */
export async function hourlyActivity(db: pg.Pool, repo: string, now = new Date()) {
  // Each table is grouped once by hour (not asked 24 times), then joined to the 24 hours; health
  // results come per hour from the rollups.
  const params = new SqlParams();
  params.add(spellings([repo]));
  params.add(repo.toLowerCase());
  params.add(now);
  const checks = await hourRowsSql(db, params, new Date(floorTo(now, HOUR_MS).getTime() - 23 * HOUR_MS), now, { repos: [repo.toLowerCase()] });
  const { rows } = await db.query(
    `with hours as (select generate_series(date_trunc('hour', $3::timestamptz, 'UTC') - interval '23 hours', date_trunc('hour', $3::timestamptz, 'UTC'), interval '1 hour') as hour),
     since as (select date_trunc('hour', $3::timestamptz, 'UTC') - interval '23 hours' as t),
     r as (select date_trunc('hour', created_at) as hour, count(*) as n from runs, since where repo = any($1) and created_at >= since.t group by 1),
     l as (select period_start as hour, sum(healthy + degraded + failures + maintenance) as n, sum(failures) as failed from (${checks}) c group by 1),
     h as (select date_trunc('hour', at) as hour, count(*) as n from heal_actions, since where repo = $2 and at >= since.t group by 1),
     a as (select date_trunc('hour', at) as hour, count(*) as n from alert_history, since where repo = $2 and at >= since.t group by 1)
     select hours.hour, coalesce(r.n, 0)::int as runs, coalesce(l.n, 0)::int as checks, coalesce(l.failed, 0)::int as failed,
            coalesce(h.n, 0)::int as heals, coalesce(a.n, 0)::int as alerts
       from hours left join r using (hour) left join l using (hour) left join h using (hour) left join a using (hour)
      order by hours.hour desc`,
    params.values,
  );
  return rows as Array<{ hour: Date; runs: number; checks: number; failed: number; heals: number; alerts: number }>;
}

export interface RunWithSteps {
  id: number;
  kind: string;
  trigger: string;
  environment: string | null;
  status: string;
  title: string | null;
  commitSha: string | null;
  checkRunId: string | null;
  backupId: string | null;
  requestedBy: string | null;
  createdAt: Date;
  steps: Array<{ step: string; status: string; durationMs: number }>;
}

/** The repository's latest runs, each with its steps and their timings. */
export async function recentRuns(db: pg.Pool, repo: string, limit = 20): Promise<RunWithSteps[]> {
  const { rows } = await db.query(
    `select r.id, r.kind, r.trigger, r.environment, r.status, r.title, r.commit_sha, r.check_run_id::text, r.backup_id, r.requested_by, r.created_at,
            coalesce((select json_agg(json_build_object('step', s.step, 'status', s.status, 'durationMs', s.duration_ms) order by s.id)
                        from run_steps s where s.run_id = r.id), '[]') as steps
       from runs r where r.repo = any($1) order by r.id desc limit $2`,
    [spellings([repo]), limit],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    kind: r.kind,
    trigger: r.trigger,
    environment: r.environment,
    status: r.status,
    title: r.title,
    commitSha: r.commit_sha,
    checkRunId: r.check_run_id,
    backupId: r.backup_id,
    requestedBy: r.requested_by,
    createdAt: r.created_at,
    steps: r.steps,
  }));
}

/** The repository's audit trail, newest first, refusals included. */
export async function auditTrail(db: pg.Pool, repo: string, limit = 50) {
  const { rows } = await db.query(`select at, actor, environment, action, outcome, detail from audit where repo = any($1) order by id desc limit $2`, [
    spellings([repo]),
    limit,
  ]);
  return rows as Array<{ at: Date; actor: string | null; environment: string | null; action: string; outcome: string; detail: Record<string, unknown> }>;
}
