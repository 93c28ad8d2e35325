// Which backups retention may delete. Age decides, with two exceptions: the newest backup that
// succeeded is always kept, however old, because a target that stopped changing (or whose recent
// backups all failed) must still have something to roll back to; and the tiers (`keep`) keep the
// newest good backup of each of the last N days, weeks and months that have one, as restic and borg do.
export interface BackupEntry {
  id: string;
  createdAt: Date;
  ok: boolean;
  path: string;
}

export interface RetentionTiers {
  daily?: number;
  weekly?: number;
  monthly?: number;
}

export interface RetentionOptions {
  retentionDays: number;
  now: Date;
  /** Kept besides the retention window, whatever their age. */
  keep?: RetentionTiers;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Entries older than the retention window, oldest first; failed ones included, never the newest good one. */
export function selectExpired(entries: BackupEntry[], opts: RetentionOptions): BackupEntry[] {
  if (!Number.isFinite(opts.retentionDays) || opts.retentionDays < 0) {
    throw new Error(`retentionDays must be a number >= 0, got ${opts.retentionDays}`);
  }
  const cutoff = opts.now.getTime() - opts.retentionDays * DAY_MS;
  const keep = keptByTiers(entries, opts.keep ?? {});
  const newest = newestGood(entries);
  if (newest) keep.add(newest);
  return entries.filter((e) => !keep.has(e) && e.createdAt.getTime() < cutoff).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
}

/** The UTC day, ISO week (by its Monday) and month a backup falls in. */
const TIERS: Array<[keyof RetentionTiers, (d: Date) => string]> = [
  ["daily", (d) => d.toISOString().slice(0, 10)],
  ["weekly", (d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - ((d.getUTCDay() + 6) % 7))).toISOString().slice(0, 10)],
  ["monthly", (d) => d.toISOString().slice(0, 7)],
];

/** For each tier, the newest good backup of each of its last N periods that have one. */
function keptByTiers(entries: BackupEntry[], tiers: RetentionTiers): Set<BackupEntry> {
  const kept = new Set<BackupEntry>();
  const good = entries.filter((e) => e.ok).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  for (const [tier, periodOf] of TIERS) {
    const count = tiers[tier] ?? 0;
    if (!Number.isInteger(count) || count < 0) throw new Error(`keep.${tier} must be a whole number >= 0, got ${count}`);
    const periods = new Set<string>();
    for (const e of good) {
      if (periods.size >= count) break;
      const period = periodOf(e.createdAt);
      if (periods.has(period)) continue;
      periods.add(period);
      kept.add(e);
    }
  }
  return kept;
}

function newestGood(entries: BackupEntry[]): BackupEntry | undefined {
  let best: BackupEntry | undefined;
  for (const e of entries) {
    if (e.ok && (!best || e.createdAt.getTime() > best.createdAt.getTime())) best = e;
  }
  return best;
}
