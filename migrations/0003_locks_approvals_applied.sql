-- Environment locks (`/autopilot lock`), approvals of waiting migrations, and which migrations each
-- run applied (what `/autopilot rollback last` reverts).

create table environment_locks (
  repo text not null,
  environment text not null,
  locked_by text not null,
  reason text,
  locked_at timestamptz not null default now(),
  primary key (repo, environment)
);

create table approvals (
  id bigserial primary key,
  run_id bigint not null references runs(id) on delete cascade,
  approver text not null,
  source text not null,                     -- command, button, review
  created_at timestamptz not null default now(),
  unique (run_id, approver)
);

create table run_migrations (
  run_id bigint not null references runs(id) on delete cascade,
  version text not null,
  name text not null,
  path text not null,
  primary key (run_id, version)
);

-- A slash command is a run too (for the audit trail and the queue), but it has no commit of its own.
alter table runs alter column commit_sha drop not null;
