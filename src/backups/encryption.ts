// Client-side encryption of backups: AES-256-GCM, streamed in 1 MiB chunks.
//
// Layout: a header, then chunks. The header holds a magic, the id of the key that wraps the data key,
// and the data key (fresh per backup) wrapped with that key by AES-256-GCM. Each chunk is the
// ciphertext of up to 1 MiB followed by its 16-byte tag; its nonce is the chunk's index and a final
// flag, and the header is its additional data. So a chunk cannot be reordered, dropped, moved to
// another backup, and a backup cut at a chunk boundary fails (its last chunk was not sealed final).
// GCM's tag comes after its chunk, so nothing is ever released before it is authenticated.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import type { BackupKey } from "../config/backup-config.js";

const MAGIC = Buffer.from("APBKENC1", "ascii");
export const CHUNK_BYTES = 1024 * 1024;
const TAG_BYTES = 16;
const IV_BYTES = 12;
const KEY_ID_BYTES = 8;
/** magic, key id, wrap iv, wrapped data key, wrap tag */
const HEADER_BYTES = MAGIC.length + KEY_ID_BYTES + IV_BYTES + 32 + TAG_BYTES;

export class BackupKeyError extends Error {}
export class BackupIntegrityError extends Error {}

/** The size of the sealed form of `plainBytes` (known before sealing: object stores want it up front). */
export function encryptedSize(plainBytes: number): number {
  const chunks = plainBytes === 0 ? 1 : Math.ceil(plainBytes / CHUNK_BYTES);
  return HEADER_BYTES + plainBytes + chunks * TAG_BYTES;
}

function chunkNonce(index: number, final: boolean): Buffer {
  const nonce = Buffer.alloc(IV_BYTES);
  nonce.writeUIntBE(index, 0, 6);
  nonce[IV_BYTES - 1] = final ? 1 : 0;
  return nonce;
}

function header(key: BackupKey, dataKey: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const keyId = Buffer.from(key.id, "hex").subarray(0, KEY_ID_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key.key, iv);
  cipher.setAAD(Buffer.concat([MAGIC, keyId]));
  const wrapped = Buffer.concat([cipher.update(dataKey), cipher.final()]);
  return Buffer.concat([MAGIC, keyId, iv, wrapped, cipher.getAuthTag()]);
}

/** Seals a stream with a fresh data key wrapped by `key`. */
export function encryptStream(key: BackupKey): Transform {
  const dataKey = randomBytes(32);
  const head = header(key, dataKey);
  let pending: Buffer = Buffer.alloc(0);
  let index = 0;
  const seal = (plain: Buffer, final: boolean): Buffer => {
    const cipher = createCipheriv("aes-256-gcm", dataKey, chunkNonce(index++, final));
    cipher.setAAD(head);
    return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  };
  let started = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      if (!started) ((started = true), this.push(head));
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      // Keep at least one byte back: the last chunk is sealed final, so it is only known at the end.
      while (pending.length > CHUNK_BYTES) {
        this.push(seal(pending.subarray(0, CHUNK_BYTES), false));
        pending = pending.subarray(CHUNK_BYTES);
      }
      done();
    },
    flush(done: TransformCallback) {
      if (!started) this.push(head);
      this.push(seal(pending, true));
      done();
    },
  });
}

/** The key id a sealed backup names, from its first bytes; undefined when they are not a sealed backup's. */
export function sealedKeyId(first: Buffer): string | undefined {
  if (first.length < MAGIC.length + KEY_ID_BYTES || !first.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  return first.subarray(MAGIC.length, MAGIC.length + KEY_ID_BYTES).toString("hex");
}

/** Opens a sealed stream with whichever key of `keyRing` sealed it; `keyVariables` name where keys come from, for the error. */
export function decryptStream(keyRing: BackupKey[], keyVariables: string[]): Transform {
  let buffered: Buffer = Buffer.alloc(0);
  let head: Buffer | undefined;
  let dataKey: Buffer | undefined;
  let index = 0;
  const open = (sealed: Buffer, final: boolean): Buffer => {
    const decipher = createDecipheriv("aes-256-gcm", dataKey!, chunkNonce(index++, final));
    decipher.setAAD(head!);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new BackupIntegrityError(`the encrypted backup is corrupt or truncated (chunk ${index - 1} failed authentication)`);
    }
  };
  const readHeader = (): void => {
    head = buffered.subarray(0, HEADER_BYTES);
    buffered = buffered.subarray(HEADER_BYTES);
    dataKey = unwrap(head, keyRing, keyVariables);
  };
  const SEALED_CHUNK = CHUNK_BYTES + TAG_BYTES;
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      try {
        buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
        if (!head && buffered.length >= HEADER_BYTES) readHeader();
        while (head && buffered.length > SEALED_CHUNK) {
          this.push(open(buffered.subarray(0, SEALED_CHUNK), false));
          buffered = buffered.subarray(SEALED_CHUNK);
        }
        done();
      } catch (error) {
        done(error as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        if (!head) throw new BackupIntegrityError("the encrypted backup is truncated (no complete header)");
        if (buffered.length < TAG_BYTES) throw new BackupIntegrityError("the encrypted backup is truncated");
        this.push(open(buffered, true));
        done();
      } catch (error) {
        done(error as Error);
      }
    },
  });
}

function unwrap(head: Buffer, keyRing: BackupKey[], keyVariables: string[]): Buffer {
  const keyId = sealedKeyId(head);
  if (!keyId) throw new BackupIntegrityError("the backup is not an Autopilot encrypted backup (bad header)");
  const key = keyRing.find((k) => k.id.startsWith(keyId));
  const where = keyVariables.length ? keyVariables.map((v) => `$${v}`).join(" or ") : "no key (backups.encryption_key_env is not set)";
  if (!key) throw new BackupKeyError(`the backup was encrypted with key id ${keyId}, which is not among the keys of ${where}`);
  let offset = MAGIC.length + KEY_ID_BYTES;
  const iv = head.subarray(offset, (offset += IV_BYTES));
  const wrapped = head.subarray(offset, (offset += 32));
  const decipher = createDecipheriv("aes-256-gcm", key.key, iv);
  decipher.setAAD(head.subarray(0, MAGIC.length + KEY_ID_BYTES));
  decipher.setAuthTag(head.subarray(offset, offset + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(wrapped), decipher.final()]);
  } catch {
    throw new BackupKeyError(`the backup's data key does not open with key id ${keyId} (wrong key or a corrupt header)`);
  }
}
