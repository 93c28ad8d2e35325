-- Circuit breakers per outside destination (a Slack webhook, a deploy hook, the LLM endpoint), in
-- the store so every replica sees the same state: a dead hook is skipped by all of them, not
-- rediscovered by each.
create table circuit_breakers (
  destination text primary key,             -- a kind and a host with a short hash of the URL: never the URL (it may hold a token)
  failures int not null default 0,          -- consecutive
  opens int not null default 0,             -- consecutive openings: each doubles the open period
  open_until timestamptz,
  skipped bigint not null default 0,        -- calls failed fast while open, ever
  last_error text,
  updated_at timestamptz not null default now()
);

-- A deploy hook is retried before it counts as failed; how many calls it took, and whether an open
-- breaker skipped it.
alter table deployments add column attempts int not null default 1;
alter table deployments add column skipped boolean not null default false;
