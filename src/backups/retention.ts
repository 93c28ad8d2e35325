// Which backups retention may delete. Age alone decides, with one exception: the newest backup that
// succeeded is always kept, however old, because a target that stopped changing (or whose recent
// backups all failed) must still have something to roll back to.
export interface BackupEntry {
  id: string;
  createdAt: Date;
  ok: boolean;
  path: string;
}

export interface RetentionOptions {
  retentionDays: number;
  now: Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Entries older than the retention window, oldest first; failed ones included, never the newest good one. */
export function selectExpired(entries: BackupEntry[], opts: RetentionOptions): BackupEntry[] {
  if (!Number.isFinite(opts.retentionDays) || opts.retentionDays < 0) {
    throw new Error(`retentionDays must be a number >= 0, got ${opts.retentionDays}`);
  }
  const cutoff = opts.now.getTime() - opts.retentionDays * DAY_MS;
  const keep = newestGood(entries);
  return entries.filter((e) => e !== keep && e.createdAt.getTime() < cutoff).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
}

function newestGood(entries: BackupEntry[]): BackupEntry | undefined {
  let best: BackupEntry | undefined;
  for (const e of entries) {
    if (e.ok && (!best || e.createdAt.getTime() > best.createdAt.getTime())) best = e;
  }
  return best;
}
