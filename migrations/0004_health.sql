-- The self-heal monitor: every probe result, each check's current state, heal actions, and the
-- scheduler's claimed slots (one heal per repository per slot, however many replicas tick).

create table health_log (
  id bigserial primary key,
  repo text not null,
  check_name text not null,
  kind text not null,                       -- http, database
  status text not null,                     -- healthy, degraded, unhealthy, maintenance
  http_status int,
  error text,
  latency_ms int,
  detail text,
  at timestamptz not null default now()
);
create index health_log_repo_check_at on health_log (repo, check_name, at desc);
create index health_log_at on health_log (at);

create table health_state (
  repo text not null,
  check_name text not null,
  status text not null,
  down_since timestamptz,
  healthy_streak int not null default 0,
  last_reminder_at timestamptz,
  updated_at timestamptz not null default now(),
  primary key (repo, check_name)
);

create table heal_actions (
  id bigserial primary key,
  repo text not null,
  check_name text not null,
  action text not null,                     -- deploy_hook, repair, verify, escalate
  ok boolean not null,
  detail text,
  at timestamptz not null default now()
);
create index heal_actions_repo_at on heal_actions (repo, at desc);

create table heal_slots (
  repo text not null,
  slot timestamptz not null,
  primary key (repo, slot)
);
