// Where backups live: one interface over a local directory, S3 and Supabase Storage. Keys are
// "/"-separated paths; each store maps them to its own names. Bodies are streams, never whole files.
import type { Readable } from "node:stream";
import type { BackupStoreKind } from "../config/backup-config.js";

export interface StoredObject {
  key: string;
  sizeBytes: number;
}

export interface BackupStore {
  readonly kind: BackupStoreKind;
  /** "s3://bucket/prefix", for messages (never a credential). */
  readonly description: string;
  /** Whether `put` takes a body of unknown length, so an upload can start before the dump has ended. */
  readonly streamsUnknownLength: boolean;
  /** Writes `body` (exactly `sizeBytes` bytes, when known) under `key`, replacing what was there. */
  put(key: string, body: Readable, sizeBytes?: number): Promise<void>;
  /** The object's bytes, streamed. */
  get(key: string): Promise<Readable>;
  /** The object's size; undefined when there is none. */
  stat(key: string): Promise<StoredObject | undefined>;
  /** Objects whose keys start with `prefix` (a folder ending in "/"). */
  list(prefix: string): Promise<StoredObject[]>;
  /** Deletes an object; one already gone is not an error (retention may run twice). */
  remove(key: string): Promise<void>;
  /** Renames an object: how a verified upload is committed under its final key. */
  move(from: string, to: string): Promise<void>;
}

/** A store that could not be reached or refused a request: the backup fails, never falls back to disk. */
export class StoreUnavailableError extends Error {}
