// Moves a verified local dump into a remote store: sealed (when a key is configured) and uploaded
// under a temporary key, read back and checked (size and sha256), then renamed to its final key.
// Whatever fails, the temporary object is removed and the error says which store and step.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { PassThrough, Transform } from "node:stream";
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

export async function uploadBackup(
  store: BackupStore,
  file: string,
  keys: { key: string; temporaryKey: string },
  encryptionKey?: BackupKey,
): Promise<UploadedBackup> {
  const plainBytes = (await stat(file)).size;
  const sizeBytes = encryptionKey ? encryptedSize(plainBytes) : plainBytes;
  const sent = digest();
  const body = new PassThrough();
  const sending = pipeline([createReadStream(file), ...(encryptionKey ? [encryptStream(encryptionKey)] : []), sent.transform, body]);
  try {
    await Promise.all([store.put(keys.temporaryKey, body, sizeBytes), sending]);
    if (sent.bytes() !== sizeBytes) throw new BackupVerifyError(`sent ${sent.bytes()} bytes to ${store.description}, expected ${sizeBytes}`);
    const stored = await readBack(store, keys.temporaryKey);
    if (stored.sizeBytes !== sizeBytes || stored.sha256 !== sent.hex()) {
      throw new BackupVerifyError(
        `${store.description} holds ${stored.sizeBytes} bytes (sha256 ${stored.sha256.slice(0, 12)}…) under ${keys.temporaryKey}, but ${sizeBytes} bytes (sha256 ${sent.hex().slice(0, 12)}…) were sent`,
      );
    }
    await store.move(keys.temporaryKey, keys.key);
    return { key: keys.key, sizeBytes, sha256: sent.hex() };
  } catch (error) {
    body.destroy();
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
