-- Checkpoints: each step a run completed (config read, files planned, backup taken, each file applied,
-- deploy hook called, verification started and done), so that a retried job or `/autopilot retry`
-- continues after the last one instead of starting again (no second backup, no second deploy hook).
create table run_checkpoints (
  run_id bigint not null references runs (id) on delete cascade,
  name text not null,            -- config | planned | backup | applied:<version> | deployed | verify-started | verified
  detail jsonb not null default '{}'::jsonb,
  recorded_at timestamptz not null default now(),
  primary key (run_id, name)
);
