-- `/autopilot backup` runs at most once per environment per interval: the time of the last one let
-- through, per repository (lower case) and environment. A backup that fails gives its claim back.
create table backup_command_claims (
  repo text not null,
  environment text not null,
  claimed_at timestamptz not null,
  primary key (repo, environment)
);
