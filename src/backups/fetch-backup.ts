// Brings a recorded backup to a local file a restore can read, from whichever store holds it:
// downloaded, checked against the recorded sha256 and opened (decrypted) into a private temporary
// folder. Every check happens here, before the caller touches the target.
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { BackupSettings } from "../config/backup-config.js";
import type { BackupRecord } from "../store/backups.js";
import { decryptStream } from "./encryption.js";
import { openRemoteStore } from "./open-store.js";

export interface FetchedBackup {
  file: string;
  /** The sha256 the file must have, when it is the stored file itself (local backups). */
  expectedSha256?: string;
}

export class BackupFetchError extends Error {}

/** Runs `use` with a local, verified, plain copy of the backup; the copy is removed afterwards. */
export async function withBackupFile<T>(backup: BackupRecord, settings: BackupSettings, use: (fetched: FetchedBackup) => Promise<T>): Promise<T> {
  if (!backup.path) throw new BackupFetchError(`backup ${backup.id} has no recorded location`);
  const store = openRemoteStore(settings, backup.store ?? "local");
  if (!store) return use({ file: backup.path, expectedSha256: backup.sha256 ?? undefined });
  await mkdir(settings.directory, { recursive: true, mode: 0o700 });
  const folder = await mkdtemp(path.join(path.resolve(settings.directory), ".restore-"));
  try {
    const file = path.join(folder, `${backup.id}.dump`);
    const hash = createHash("sha256");
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    const opening = backup.encryptionKeyId ? [decryptStream(settings.keyRing, settings.keyVariables)] : [];
    try {
      await pipeline([await store.get(backup.path), hashing, ...opening, createWriteStream(file, { mode: 0o600 })]);
    } catch (error) {
      throw new BackupFetchError(`backup ${backup.id} could not be fetched from ${store.description}: ${(error as Error).message}`);
    }
    const sha256 = hash.digest("hex");
    if (backup.sha256 && sha256 !== backup.sha256) {
      throw new BackupFetchError(
        `backup ${backup.id} in ${store.description} does not match its recorded sha256 (${backup.sha256.slice(0, 12)}…, got ${sha256.slice(0, 12)}…)`,
      );
    }
    return await use({ file });
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
