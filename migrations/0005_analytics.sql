-- Analytics: each alert rule's current state (what the next evaluation steps from), the history of
-- its transitions, and anomaly-scan findings.

-- One row per rule and subject (a check's name, or '' for a repository-wide rule such as migration
-- failures): the persisted "previous state" of the inactive → pending → firing → resolved machine.
create table alert_state (
  repo text not null,
  rule text not null,
  subject text not null default '',
  severity text not null,                   -- info, warning, critical
  state text not null,                      -- inactive, pending, firing, resolved
  value double precision,                   -- the rule's metric at the last evaluation
  active_since timestamptz,                 -- when the condition began to hold (pending since)
  fired_at timestamptz,
  resolved_at timestamptz,
  evaluated_at timestamptz not null,
  primary key (repo, rule, subject)
);
create index alert_state_firing on alert_state (rule, severity) where state = 'firing';

create table alert_history (
  id bigserial primary key,
  repo text not null,
  rule text not null,
  subject text not null default '',
  severity text not null,
  from_state text not null,
  to_state text not null,
  value double precision,
  threshold double precision,
  at timestamptz not null default now()
);
create index alert_history_repo_at on alert_history (repo, at desc);

-- A finding is identified by its fingerprint (repository, check, kind), so a scan that sees the same
-- anomaly again updates the open row (and its issue) instead of filing a twin. Once resolved, a new
-- episode starts a new row.
create table anomaly_findings (
  id bigserial primary key,
  fingerprint text not null,
  repo text not null,
  check_name text not null,
  kind text not null,                       -- latency_anomaly, error_rate_anomaly, latency_trend, uptime_trend, latency_forecast
  severity text not null,
  summary text not null,
  onset_at timestamptz,
  cause jsonb,                              -- the migration or deployment that preceded the onset
  detail jsonb not null default '{}',
  first_seen_at timestamptz not null,
  last_seen_at timestamptz not null,
  seen_count int not null default 1,
  resolved_at timestamptz,
  issue_number int                          -- the GitHub issue that reports it, set by the reporter
);
create unique index anomaly_findings_one_open on anomaly_findings (fingerprint) where resolved_at is null;
create index anomaly_findings_repo_open on anomaly_findings (repo) where resolved_at is null;
