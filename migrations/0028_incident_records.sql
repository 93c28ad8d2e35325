-- Incidents as the dashboard lists them: each incident issue the heal cycle opened, reopened or
-- closed, with when it started and ended (GitHub stays the source of truth for the issue itself).
create table incident_records (
  repo text not null,                       -- lower case, as the health tables key it
  issue_number int not null,
  check_name text not null,
  down_since timestamptz,
  opened_at timestamptz not null default now(),
  closed_at timestamptz,
  primary key (repo, issue_number)
);
create index incident_records_recent on incident_records (repo, opened_at desc);

-- How many files a migrate run found pending when it planned (null before it planned).
alter table runs add column pending_files int;
