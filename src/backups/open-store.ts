// The remote store a target's backups go to, from its resolved settings.
import type { BackupSettings, BackupStoreKind } from "../config/backup-config.js";
import { S3BackupStore } from "./s3-store.js";
import type { BackupStore } from "./store.js";
import { SupabaseBackupStore } from "./supabase-store.js";

/** The store of `kind` (the one a recorded backup names); undefined for local backups, which are plain files. */
export function openRemoteStore(settings: BackupSettings, kind: BackupStoreKind = settings.store): BackupStore | undefined {
  if (kind === "local") return undefined;
  if (kind === "s3" && settings.s3) return new S3BackupStore(settings.s3);
  if (kind === "supabase" && settings.supabase) return new SupabaseBackupStore(settings.supabase);
  throw new Error(
    `the backup lives in the ${kind} store, but this target's backups now go to ${settings.store}: put the ${kind} section back (backups.store: ${kind}) to reach it`,
  );
}
