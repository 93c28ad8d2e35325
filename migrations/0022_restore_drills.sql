-- Restore drills (README "Restore drills"): a backup fetched from its store, restored into a scratch
-- database on the shadow server, and its tables' row counts compared with those recorded when it was
-- taken. One row per drill, whether the scheduler or `autopilot backups verify` ran it (run_id null).
create table restore_drills (
  id bigserial primary key,
  backup_id text not null references backups (id) on delete cascade,
  repo text not null,
  environment text not null,
  run_id bigint references runs (id) on delete set null,
  started_at timestamptz not null,
  finished_at timestamptz not null default now(),
  ok boolean not null,
  -- One sentence for people: why it failed, or what was compared.
  details text not null,
  -- Per table: { table, recorded, restored } (recorded null: no statistics were recorded for it).
  tables jsonb not null default '[]'
);
create index restore_drills_latest on restore_drills (lower(repo), environment, finished_at desc);
