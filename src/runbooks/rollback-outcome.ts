// What a rollback ended with, as plain data.
import type { BackupRecord } from "../store/backups.js";

export type { RollbackTarget } from "../commands/parse.js";

export type RollbackOutcome =
  | { kind: "refused"; environment: string; reason: string }
  | { kind: "reverted"; environment: string; reverted: Array<{ version: string; name: string; durationMs: number }>; safetyBackup: BackupRecord }
  /** `ownersNotKept`: owners of the backup the restoring role cannot become (it owns their objects now). */
  | { kind: "restored"; environment: string; restoredBackupId: string; safetyBackup: BackupRecord; historyCount: number; ownersNotKept: string[] }
  | {
      kind: "failed";
      environment: string;
      error: string;
      where?: { path: string; line: number };
      reverted: Array<{ version: string; name: string }>;
      safetyBackup: BackupRecord;
    }
  | { kind: "crashed"; error: string; attempts: number };
