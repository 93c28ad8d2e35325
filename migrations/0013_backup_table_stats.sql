-- Per-table write counters of the target (pg_stat_user_tables) captured when a backup was taken, so a
-- restore of that backup can say what it discards. `stats_reset_at` is the database's counter reset
-- time then: a later reset makes the counters incomparable, and the loss report says so.
create table backup_table_stats (
  backup_id text primary key references backups (id) on delete cascade,
  captured_at timestamptz not null,
  stats_reset_at timestamptz,
  tables jsonb not null
);
