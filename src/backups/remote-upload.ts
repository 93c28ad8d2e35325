// Moves a dump into a remote store: sealed (when a key is configured) and uploaded under a temporary
// key (while pg_dump still writes it, where the store takes a body of unknown length), read back and
// checked (size and sha256), and renamed to its final key once the local copy is verified too.
// Whatever fails, the temporary object is removed and the error says which store and step.
import { createHash } from "node:crypto";
import { PassThrough, Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { BackupKey } from "../config/backup-config.js";
import { encryptedSize, encryptStream } from "./encryption.js";
import type { BackupStore } from "./store.js";

export interface UploadedBackup {
  key: string;
  sizeBytes: number;
  sha256: string;
}

export class BackupVerifyError extends Error {}

/**
 * Uploads the plain dump `plain` (of `plainBytes` bytes, when known) under the temporary key, reads it
 * back, and commits it once `verified` (the local `pg_restore --list`) has resolved too: so the upload
 * can run while the dump is still being written. Whatever fails, the temporary object is removed.
 */
export async function uploadBackup(
  store: BackupStore,
  plain: Readable,
  plainBytes: number | undefined,
  keys: { key: string; temporaryKey: string },
  encryptionKey?: BackupKey,
  verified: Promise<unknown> = Promise.resolve(),
): Promise<UploadedBackup> {
  const sizeBytes = plainBytes === undefined ? undefined : encryptionKey ? encryptedSize(plainBytes) : plainBytes;
  const sent = digest();
  const body = new PassThrough();
  const sending = pipeline([plain, ...(encryptionKey ? [encryptStream(encryptionKey)] : []), sent.transform, body]);
  const putting = store.put(keys.temporaryKey, body, sizeBytes);
  try {
    // The read-back starts as soon as the object is there, while the local verification may still run.
    const readingBack = Promise.all([putting, sending]).then(() => readBack(store, keys.temporaryKey));
    const [stored] = await Promise.all([readingBack, verified]);
    if (sizeBytes !== undefined && sent.bytes() !== sizeBytes) {
      throw new BackupVerifyError(`sent ${sent.bytes()} bytes to ${store.description}, expected ${sizeBytes}`);
    }
    if (stored.sizeBytes !== sent.bytes() || stored.sha256 !== sent.hex()) {
      throw new BackupVerifyError(
        `${store.description} holds ${stored.sizeBytes} bytes (sha256 ${stored.sha256.slice(0, 12)}…) under ${keys.temporaryKey}, but ${sent.bytes()} bytes (sha256 ${sent.hex().slice(0, 12)}…) were sent`,
      );
    }
    await store.move(keys.temporaryKey, keys.key);
    return { key: keys.key, sizeBytes: sent.bytes(), sha256: sent.hex() };
  } catch (error) {
    // The upload must have stopped before its temporary object is removed, or it could land after.
    const stop = error instanceof Error ? error : new Error(String(error));
    plain.destroy(stop);
    body.destroy(stop);
    await Promise.allSettled([putting, sending]);
    await store.remove(keys.temporaryKey).catch(() => undefined);
    throw error;
  }
}

/** Reads an object back through the store, hashing it: proof it is there and whole. */
export async function readBack(store: BackupStore, key: string): Promise<{ sizeBytes: number; sha256: string }> {
  const read = digest();
  await pipeline(await store.get(key), read.transform, new PassThrough().resume());
  return { sizeBytes: read.bytes(), sha256: read.hex() };
}

function digest(): { transform: Transform; bytes: () => number; hex: () => string } {
  const hash = createHash("sha256");
  let bytes = 0;
  let hex: string | undefined;
  const transform = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  return { transform, bytes: () => bytes, hex: () => (hex ??= hash.digest("hex")) };
}
