-- Where a backup lives: `store` says which (local, s3, supabase); `path` is then the file (local) or
-- the object key (remote). `encryption_key_id` names the key that sealed it (null: not encrypted).
alter table backups add column store text not null default 'local';
alter table backups add column encryption_key_id text;
