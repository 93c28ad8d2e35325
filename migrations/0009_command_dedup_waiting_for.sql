-- A command runs once however GitHub delivers it: each command run claims its keys here (the
-- delivery id, and for a comment the comment id, which an edit or a redelivery repeats). A second
-- run claiming a taken key is not recorded. A table of keys rather than unique indexes on runs, so
-- the duplicates recorded before this migration do not stop it.
create table run_dedup_keys (
  key text primary key,
  run_id bigint not null references runs(id) on delete cascade,
  created_at timestamptz not null default now()
);

-- What a migrate run concluded action_required waits for: 'lock' (an environment lock) or
-- 'approval' (approvals: N). Approvals can only start the second kind.
alter table runs add column waiting_for text check (waiting_for in ('lock', 'approval'));
