-- Signed-in dashboard users. The row is keyed by a hash of the cookie's session id, so a copy of the
-- store cannot be replayed as cookies; the user's GitHub token is never stored (it is used once at
-- sign-in to list what the user may see, and dropped).
create table dashboard_sessions (
  id_hash text primary key,
  login text not null,
  repos jsonb not null,                     -- [{ repo, installationId, permission }]
  csrf text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index dashboard_sessions_expires on dashboard_sessions (expires_at);
