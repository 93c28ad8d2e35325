// Which targets have scheduled backups: `backups.schedule`, server-wide or overridden by a target's
// own `targets[].backups.schedule`. Plain config in, plain list out; the scheduler runs them and the
// `backup_age_hours` alert measures them.
import { effectiveBackups } from "../config/backup-config.js";
import type { ServerConfig } from "../config/server-config.js";
import { targetsOf } from "../config/targets-of.js";

export interface ScheduledBackup {
  /** owner/name as the server config spells it. */
  repo: string;
  environment: string;
  /** node-cron expression. */
  schedule: string;
  /** The repository id the operator bound (`targets[].repo_id`), if any. */
  repoId?: number;
}

/** Every target with a backup schedule, or only those of `repo` (compared case-insensitively). */
export function scheduledBackups(config: ServerConfig, repo?: string): ScheduledBackup[] {
  return (repo === undefined ? config.targets : targetsOf(config, repo)).flatMap((t) => {
    const { schedule } = effectiveBackups(config, t);
    return schedule ? [{ repo: t.repo, environment: t.environment, schedule, repoId: t.repo_id }] : [];
  });
}
