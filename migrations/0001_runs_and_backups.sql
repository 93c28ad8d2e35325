-- Autopilot's own store: every run, its steps, backups, deploy hooks and the audit trail.

create table runs (
  id bigserial primary key,
  kind text not null,                       -- migrate (later: plan, rollback, …)
  trigger text not null,                    -- push, command, rerun
  repo text not null,
  installation_id bigint not null,
  environment text,
  ref text,
  commit_sha text not null,
  requested_by text,
  delivery_id text,
  job_id text,
  check_run_id bigint,
  status text not null default 'queued',    -- queued, in_progress, success, failure, neutral, action_required, skipped
  title text,
  summary text,
  error text,
  backup_id text,
  attempts int not null default 0,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz
);
-- One push of one commit to one ref is one run, however often GitHub delivers it.
create unique index runs_one_per_push on runs (repo, ref, commit_sha) where trigger = 'push';
create index runs_repo_env on runs (repo, environment, created_at desc);
create index runs_unfinished on runs (status) where status in ('queued', 'in_progress');

create table run_steps (
  id bigserial primary key,
  run_id bigint not null references runs(id) on delete cascade,
  step text not null,
  status text not null,                     -- success, failure, skipped
  detail text,
  started_at timestamptz not null,
  duration_ms int not null
);
create index run_steps_run on run_steps (run_id, id);

create table backups (
  id text primary key,
  repo text not null,
  environment text not null,
  run_id bigint references runs(id) on delete set null,
  commit_sha text,
  status text not null,                     -- ok, failed, pruned
  path text,
  size_bytes bigint,
  sha256 text,
  duration_ms int,
  error text,
  created_at timestamptz not null default now(),
  pruned_at timestamptz
);
create index backups_repo_env on backups (repo, environment, created_at desc);

create table deployments (
  id bigserial primary key,
  run_id bigint references runs(id) on delete set null,
  repo text not null,
  environment text not null,
  hook text not null,                       -- deploy_hook
  http_status int,
  ok boolean not null,
  error text,
  duration_ms int,
  created_at timestamptz not null default now()
);

create table audit (
  id bigserial primary key,
  at timestamptz not null default now(),
  actor text,
  repo text,
  environment text,
  action text not null,
  outcome text not null,
  detail jsonb not null default '{}'
);
create index audit_repo_at on audit (repo, at desc);
