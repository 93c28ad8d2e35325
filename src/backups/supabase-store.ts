// Backups in a Supabase Storage bucket through @supabase/supabase-js. supabase-js uploads in one
// request; Supabase caps those at 6 MB and documents resumable (TUS) uploads for anything larger,
// which supabase-js does not implement: `tusUpload` speaks TUS 1.0.0 (POST, PATCH, HEAD) over fetch
// against /storage/v1/upload/resumable, in the 6 MB chunks Supabase requires, streamed.
// Downloads go through a signed URL so they stream too (supabase-js's download() buffers a Blob).
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { SupabaseSettings } from "../config/backup-config.js";
import { redact } from "../redact.js";
import { StoreUnavailableError, type BackupStore, type StoredObject } from "./store.js";

/** Supabase's limit of a standard upload, and the chunk size its resumable endpoint requires. */
export const TUS_CHUNK_BYTES = 6 * 1024 * 1024;
const PAGE = 1000;

export class SupabaseBackupStore implements BackupStore {
  readonly kind = "supabase" as const;
  /** A TUS upload is created with its length (Upload-Length): the dump must be complete first. */
  readonly streamsUnknownLength = false;
  readonly description: string;
  private readonly client: SupabaseClient;

  constructor(private readonly settings: SupabaseSettings) {
    this.description = `supabase bucket ${settings.bucket}/${settings.prefix} at ${settings.url}`;
    // Only Storage is used; Realtime would want a WebSocket (absent from Node 20) and is never connected.
    this.client = createClient(settings.url, settings.serviceKey, {
      auth: { persistSession: false, autoRefreshToken: false },
      realtime: { transport: NoRealtime as never },
    });
  }

  private get bucket() {
    return this.client.storage.from(this.settings.bucket);
  }

  async put(key: string, body: Readable, sizeBytes?: number): Promise<void> {
    if (sizeBytes === undefined) throw this.unavailable("upload", key, "Supabase Storage needs the object's size before the upload");
    if (sizeBytes > TUS_CHUNK_BYTES) return this.tusUpload(key, body, sizeBytes);
    const whole = await readAll(body, TUS_CHUNK_BYTES);
    await this.check("upload", key, this.bucket.upload(key, whole, { upsert: true, contentType: "application/octet-stream" }));
  }

  async get(key: string): Promise<Readable> {
    const { signedUrl } = await this.check("sign", key, this.bucket.createSignedUrl(key, 600));
    const response = await this.fetch("download", key, signedUrl, { method: "GET" });
    if (!response.ok || !response.body) throw this.unavailable("download", key, `HTTP ${response.status} ${await response.text().catch(() => "")}`);
    return Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  }

  async stat(key: string): Promise<StoredObject | undefined> {
    const slash = key.lastIndexOf("/");
    const folder = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const entries = await this.check("stat", key, this.bucket.list(folder, { search: name, limit: PAGE }));
    const entry = entries.find((e) => e.name === name && e.id);
    return entry ? { key, sizeBytes: Number(entry.metadata?.size ?? 0) } : undefined;
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const folder = prefix.replace(/\/+$/, "");
    const objects: StoredObject[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const page = await this.check("list", prefix, this.bucket.list(folder, { limit: PAGE, offset, sortBy: { column: "name", order: "asc" } }));
      for (const e of page) if (e.id) objects.push({ key: `${folder}/${e.name}`, sizeBytes: Number(e.metadata?.size ?? 0) });
      if (page.length < PAGE) return objects;
    }
  }

  async remove(key: string): Promise<void> {
    await this.check("delete", key, this.bucket.remove([key]));
  }

  async move(from: string, to: string): Promise<void> {
    await this.check("move", from, this.bucket.move(from, to));
  }

  /** TUS 1.0.0 creation + PATCHes of 6 MB; a failed PATCH asks the server (HEAD) where it stands and resends once. */
  private async tusUpload(key: string, body: Readable, sizeBytes: number): Promise<void> {
    const endpoint = `${this.settings.url}/storage/v1/upload/resumable`;
    const metadata = { bucketName: this.settings.bucket, objectName: key, contentType: "application/octet-stream", cacheControl: "3600" };
    const created = await this.fetch("upload", key, endpoint, {
      method: "POST",
      headers: {
        ...this.tusHeaders(),
        "x-upsert": "true",
        "Upload-Length": String(sizeBytes),
        "Upload-Metadata": Object.entries(metadata)
          .map(([k, v]) => `${k} ${Buffer.from(v).toString("base64")}`)
          .join(","),
      },
    });
    const location = created.headers.get("location");
    if (created.status !== 201 || !location) throw this.unavailable("upload", key, `HTTP ${created.status} ${await created.text().catch(() => "")}`);
    const uploadUrl = new URL(location, endpoint).toString();
    let offset = 0;
    for await (const chunk of chunks(body, TUS_CHUNK_BYTES)) {
      offset = await this.patchChunk(key, uploadUrl, offset, chunk);
    }
    if (offset !== sizeBytes) throw this.unavailable("upload", key, `sent ${offset} bytes of ${sizeBytes}`);
  }

  private async patchChunk(key: string, uploadUrl: string, offset: number, chunk: Buffer): Promise<number> {
    let from = offset;
    for (let attempt = 1; ; attempt++) {
      const response = await this.fetch("upload", key, uploadUrl, {
        method: "PATCH",
        headers: { ...this.tusHeaders(), "Upload-Offset": String(from), "Content-Type": "application/offset+octet-stream" },
        body: new Uint8Array(chunk.buffer as ArrayBuffer, chunk.byteOffset + (from - offset), chunk.length - (from - offset)),
      }).catch((error: Error) => error);
      if (!(response instanceof Error) && response.status === 204) return Number(response.headers.get("upload-offset"));
      const reason = response instanceof Error ? response.message : `HTTP ${response.status} ${await response.text().catch(() => "")}`;
      if (attempt > 1 || (!(response instanceof Error) && response.status < 500 && response.status !== 409)) throw this.unavailable("upload", key, reason);
      from = await this.serverOffset(key, uploadUrl);
      if (from < offset || from > offset + chunk.length) throw this.unavailable("upload", key, `${reason}; the server holds ${from} bytes`);
      if (from === offset + chunk.length) return from;
    }
  }

  private async serverOffset(key: string, uploadUrl: string): Promise<number> {
    const response = await this.fetch("upload", key, uploadUrl, { method: "HEAD", headers: this.tusHeaders() });
    const offset = response.headers.get("upload-offset");
    if (!response.ok || offset === null) throw this.unavailable("upload", key, `resuming: HTTP ${response.status}`);
    return Number(offset);
  }

  private tusHeaders(): Record<string, string> {
    return { authorization: `Bearer ${this.settings.serviceKey}`, apikey: this.settings.serviceKey, "Tus-Resumable": "1.0.0" };
  }

  private async fetch(what: string, key: string, url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, init);
    } catch (error) {
      const cause = (error as { cause?: Error }).cause;
      throw this.unavailable(what, key, `${(error as Error).message}${cause ? `: ${cause.message}` : ""}`);
    }
  }

  private async check<T>(what: string, key: string, call: Promise<{ data: T; error: null } | { data: null; error: Error }>): Promise<NonNullable<T>> {
    let result;
    try {
      result = await call;
    } catch (error) {
      throw this.unavailable(what, key, (error as Error).message);
    }
    if (result.error) {
      const e = result.error as Error & { status?: number; originalError?: Error & { cause?: Error } };
      const cause = e.originalError?.cause?.message ?? e.originalError?.message;
      throw this.unavailable(what, key, `${e.status ? `HTTP ${e.status}: ` : ""}${e.message}${cause && cause !== e.message ? ` (${cause})` : ""}`);
    }
    if (result.data === null || result.data === undefined) throw this.unavailable(what, key, "the response held no data");
    return result.data as NonNullable<T>;
  }

  private unavailable(what: string, key: string, detail: string): StoreUnavailableError {
    const text = `${this.description}: ${what} of ${key} failed: ${detail}`;
    return new StoreUnavailableError(redact(text.split(this.settings.serviceKey).join("***")));
  }
}

class NoRealtime {
  constructor() {
    throw new Error("backups do not use Supabase Realtime");
  }
}

/** Reads a stream in pieces of exactly `size` bytes (the last may be shorter), one piece in memory at a time. */
async function* chunks(body: Readable, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let length = 0;
  for await (const data of body) {
    let buffer = data as Buffer;
    while (length + buffer.length >= size) {
      const take = size - length;
      parts.push(buffer.subarray(0, take));
      yield Buffer.concat(parts);
      buffer = buffer.subarray(take);
      parts = [];
      length = 0;
    }
    if (buffer.length) (parts.push(buffer), (length += buffer.length));
  }
  if (length) yield Buffer.concat(parts);
}

async function readAll(body: Readable, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let length = 0;
  for await (const data of body) {
    parts.push(data as Buffer);
    length += (data as Buffer).length;
    if (length > limit) throw new Error(`a standard upload is limited to ${limit} bytes`);
  }
  return Buffer.concat(parts);
}
