-- A job's fairness priority counts its repository's unfinished runs of its kind (store/run-jobs.ts)
-- on every send: by this index, a lookup of that repository's runs. Counted from pg-boss's job table
-- instead, each send scanned every job its kind's queue still held (pg-boss keeps finished ones for
-- 12 hours): a thousand heal cycles a minute made each send, and each webhook that records a run,
-- slower by the minute in drill:load.
create index runs_unfinished_by_repository on runs (kind, lower(repo)) where status in ('queued', 'in_progress');
