-- The last drift check of each environment (scheduled, a plan's, or a push's with `drift.on_push:
-- block`), so `/autopilot status` shows it without building a scratch database, and the number of
-- the environment's open `drift` issue when the scheduled check filed one.
create table drift_checks (
  repo text not null,
  environment text not null,
  checked_at timestamptz not null default now(),
  source text not null,                     -- "scheduled check", "plan of #12", "push abc1234"
  result jsonb not null,                    -- { kind: "compared", differences, unknownVersions } | { kind: "failed", error }
  issue_number bigint,
  primary key (repo, environment)
);
