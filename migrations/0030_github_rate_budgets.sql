-- GitHub's rate-limit budget per installation, as the last response's x-ratelimit-* headers said:
-- shared by the replicas (non-urgent work is deferred while it is low) and read by /metrics.
create table github_rate_budgets (
  installation_id bigint primary key,
  remaining int not null,
  "limit" int not null,
  reset_at timestamptz not null,
  updated_at timestamptz not null default now()
);
