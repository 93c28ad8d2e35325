-- Which GitHub repository (by id, which survives renames and is never reused) each target serves.
-- Recorded the first time Autopilot acts on a target whose server config sets no repo_id, so a
-- repository re-created under the old name does not inherit production.
create table repository_bindings (
  repo text not null,            -- owner/name, lower-cased
  environment text not null,
  repository_id bigint not null,
  recorded_at timestamptz not null default now(),
  primary key (repo, environment)
);
