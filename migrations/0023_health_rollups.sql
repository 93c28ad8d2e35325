-- Health samples rolled up per check into hourly and daily aggregates, so uptime, scans, alerts, the
-- dashboard and /metrics read a few rows per check and period instead of every 5-minute sample, and
-- raw samples can be pruned (store.retention.raw_days) without losing history.
--
-- A period is half-open on the left, like the analytics windows: the hour starting at period_start
-- holds samples with period_start < at <= period_start + 1 hour (UTC hours and days).
-- Latency statistics and the histogram are of answered samples (healthy or degraded, with a latency).
-- le_0 … le_8 count answered samples at or under the /metrics response-time buckets
-- (RESPONSE_BUCKETS_SECONDS in src/store/health-rollups.ts): changing those buckets needs a re-roll.
create table health_rollups (
  grain text not null check (grain in ('hour', 'day')),
  repo text not null,
  check_name text not null,
  period_start timestamptz not null,
  healthy int not null,
  degraded int not null,
  failures int not null,                    -- unhealthy samples
  maintenance int not null,                 -- samples taken in a maintenance window
  maintenance_minutes int not null,         -- 5-minute slots with a maintenance sample, in minutes
  answered int not null,
  latency_sum_ms bigint not null,
  p50_ms float8,
  p95_ms float8,
  p99_ms float8,
  le_0 int not null, le_1 int not null, le_2 int not null, le_3 int not null, le_4 int not null,
  le_5 int not null, le_6 int not null, le_7 int not null, le_8 int not null,
  primary key (grain, period_start, repo, check_name)
);
create index health_rollups_repo on health_rollups (grain, repo, period_start);

-- How far the rollup has gone: every closed hour up to rolled_through is in health_rollups, and every
-- health_log row up to last_id was seen. One row.
create table health_rollup_state (
  id boolean primary key default true check (id),
  last_id bigint not null default 0,
  rolled_through timestamptz
);
insert into health_rollup_state (id) values (true);

-- Pruning old rows by age reads these in small batches.
create index if not exists runs_created_at on runs (created_at);
create index if not exists audit_at on audit (at);
create index if not exists alert_history_at on alert_history (at);
create index if not exists heal_actions_at on heal_actions (at);
