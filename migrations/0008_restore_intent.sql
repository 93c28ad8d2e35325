-- A migrate run that is about to restore its pre-run backup records that intent first (the backup,
-- the failure it reports, the safety backups taken, and at the end what the restore did), so that a
-- retry after a crash mid-restore finishes the restore instead of planning the migration again.
alter table runs add column restore_intent jsonb;
