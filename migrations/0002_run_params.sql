-- Runs other than pushes carry their own parameters (a plan's pull request, base ref, fork flag).
alter table runs add column params jsonb not null default '{}';

-- A pull request's head is planned once however many events announce it (pull_request and
-- check_suite both do); an explicit re-run or command plans it again.
create unique index runs_one_plan_per_head on runs (repo, commit_sha, (params->>'pull')) where kind = 'plan' and trigger = 'auto';
